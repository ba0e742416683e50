"""A receiver on a free port writing to a spool, and readers for what it stored."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mcp_blackbox.collector.emit.config import load_config
from mcp_blackbox.collector.emit.otlp import OtlpEmitter, OtlpHTTPServer, serve
from mcp_blackbox.collector.emit.sinks import Sink
from mcp_blackbox.collector.spool import list_writers, read_records
from mcp_blackbox.schema.enums import EmitterRole
from mcp_blackbox.schema.wire import parse_event


@contextmanager
def receiver(spool: Path, *, sink: Sink | None = None, queue_size: int | None = None,
             **options: Any) -> Iterator[tuple[str, OtlpHTTPServer]]:
    """(base URL, server) of a running receiver; stopped and flushed on exit."""
    config = load_config(None, sink=f"spool://{spool}")
    if queue_size is not None:
        config = dataclasses.replace(config, queue_size=queue_size)
    emitter = OtlpEmitter(EmitterRole.GATEWAY, "otlp", sink, config=config, install_signal_handler=False)
    server = serve("127.0.0.1", 0, emitter, **options)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server
    finally:
        server.shutdown()
        server.server_close()
        emitter.close(5.0)


def stored(spool: Path) -> list[dict[str, Any]]:
    """Every event in the spool, validated against schema v1."""
    out = []
    for writer in list_writers(spool):
        for record in read_records(spool, writer):
            parse_event(record.value)
            out.append(json.loads(record.value))
    return out


def attrs(event: dict[str, Any]) -> dict[str, Any]:
    return json.loads(event.get("attributes_json") or "{}")
