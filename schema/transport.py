"""Transport URLs and their defaults: where emitters send events and where the collector reads them.

`kafka://host:port[,host:port]/topic` (topic defaults to `DEFAULT_TOPIC`) or `spool:///dir` (the
embedded append-only spool). Emitter sinks (`collector/emit/sinks.py`) and collector sources
(`collector/ingest/sources.py`) parse the same URLs with these names.
"""

from __future__ import annotations

from typing import Final

DEFAULT_TOPIC: Final = "mcp-blackbox.events"
KAFKA_SCHEME: Final = "kafka"
SPOOL_SCHEME: Final = "spool"
KAFKA_PREFIX: Final = "kafka://"
SPOOL_PREFIX: Final = "spool://"
#: the URL prefixes a sink may start with
SINK_PREFIXES: Final = (KAFKA_PREFIX, SPOOL_PREFIX)


def spool_url(directory: object) -> str:
    """`spool://<directory>` for a path (absolute paths give `spool:///abs/dir`)."""
    return f"{SPOOL_PREFIX}{directory}"


def is_sink_url(url: str) -> bool:
    """Whether `url` names a sink we know (Kafka or spool)."""
    return url.startswith(SINK_PREFIXES)
