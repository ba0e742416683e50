"""Secrets seeded into every field an MCP message can carry never reach Kafka, spool, Parquet or quarantine.

A real `mcp-blackbox wrap` runs a stdio server (`seeded_server.py`) whose argv and every server-side
field (serverInfo, instructions, tool names and descriptions, results, env listings, error messages,
string ids of its own requests) carry secrets; the client side seeds arguments, object keys, tool
names, resource URIs, prompt names, string JSON-RPC ids, `_meta` (progressToken, tracestate, baggage),
clientInfo and cancellation ids. Each (kind, field) pair has its own value, so a hit names its field.
The real collector stores the spool and the Kafka topic as Parquet (and, with a small record cap,
quarantines the big records with their raw bytes). Every value must have been on the wire, and none
may be found in stored bytes or in the emitter's and the collector's stderr.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from emit_helpers import spool_bytes, spooled
from seeded_secrets import ALL_KINDS, KEYED_KINDS, TEXT_KINDS, Seed, keyed, seed

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
CLI = [str(REPO / ".venv" / "bin" / "mcp-blackbox")] if (REPO / ".venv" / "bin" / "mcp-blackbox").exists() \
    else [sys.executable, "-m", "mcp_blackbox"]
HASH_KEY = "test-deployment-hash-key-0123456789"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _argv_seeds() -> tuple[list[str], list[Seed]]:
    args: list[str] = []
    seeds: list[Seed] = []
    for kind in TEXT_KINDS:
        s = seed(kind, "argv")
        seeds.append(s)
        args.extend(s.text.split(" ", 1) if kind == "cli_secret_flag" else [s.text])
    for kind in KEYED_KINDS:
        key, s = keyed(kind, "argv")
        seeds.append(s)
        args.extend([f"--{key.lower().replace('_', '-')}", s.text])
    return args, seeds


def _client_messages() -> tuple[list[dict[str, Any]], list[Seed]]:
    seeds: list[Seed] = []

    def take(kind: str, field: str) -> str:
        s = seed(kind, field)
        seeds.append(s)
        return s.text

    msgs: list[dict[str, Any]] = [{
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                   "clientInfo": {"name": " ".join(take(k, "client_info_name") for k in TEXT_KINDS), "version": "1"},
                   "_meta": {"traceparent": TRACEPARENT,
                             "tracestate": ",".join(f"v{i}={take(k, 'meta_tracestate')}"
                                                    for i, k in enumerate(TEXT_KINDS)),
                             "baggage": ",".join(f"b{i}={take(k, 'meta_baggage')}"
                                                 for i, k in enumerate(TEXT_KINDS))}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}},
    ]
    keyed_args: dict[str, Any] = {}
    keyed_env: dict[str, Any] = {"PWD": "/home/alice"}
    for kind in KEYED_KINDS:
        key, s = keyed(kind, "arguments")
        seeds.append(s)
        keyed_args[key] = s.text
        key, s = keyed(kind, "env")
        keyed_env[key] = s.text  # the server's env listing seeds the same (kind, env) value
    for kind in TEXT_KINDS:
        arguments: dict[str, Any] = {"query": take(kind, "arguments"), take(kind, "object_keys"): 1,
                                     "env": {"PWD": "/home/alice", "SEEDED": seed(kind, "env").text,
                                             **keyed_env}}
        arguments.update(keyed_args)
        msgs.append({"jsonrpc": "2.0", "id": take(kind, "jsonrpc_id"), "method": "tools/call",
                     "params": {"name": seed(kind, "tool_name").text, "arguments": arguments,
                                "_meta": {"progressToken": take(kind, "progress_token"),
                                          "traceparent": TRACEPARENT}}})
        msgs.append({"jsonrpc": "2.0", "id": f"r-{kind}", "method": "resources/read",
                     "params": {"uri": f"mem://x/{take(kind, 'resource_uri')}"}})
        msgs.append({"jsonrpc": "2.0", "id": f"p-{kind}", "method": "prompts/get",
                     "params": {"name": take(kind, "prompt_name"), "arguments": {}}})
        msgs.append({"jsonrpc": "2.0", "method": "notifications/cancelled",
                     "params": {"requestId": take(kind, "cancel_request_id"), "reason": "seeded"}})
    msgs.append({"jsonrpc": "2.0", "id": "fail-1", "method": "tools/call", "params": {"name": "fail"}})
    return msgs, seeds


def _server_seeds() -> list[Seed]:
    out = [seed(k, f) for k in TEXT_KINDS for f in ("server_info_name", "instructions", "tool_name",
                                                    "tool_description", "results", "env", "error_message",
                                                    "jsonrpc_id_server")]
    out += [keyed(k, f)[1] for k in KEYED_KINDS for f in ("results", "env")]
    return out


def _drive(sink: str, tmp: Path) -> tuple[bytes, bytes]:
    """Run the session through `wrap`; returns (everything the client saw and sent, wrap's stderr)."""
    argv, _ = _argv_seeds()
    command = [*CLI, "wrap", "--name", "seeded", "--sink", sink, "--",
               sys.executable, str(HERE / "seeded_server.py"), *argv]
    env = {**os.environ, "MCP_BLACKBOX_HASH_KEY": HASH_KEY, "XDG_STATE_HOME": str(tmp / "state"),
           "MCP_BLACKBOX_SPOOL_FALLBACK_DIR": str(tmp / "overflow")}
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=env)
    assert proc.stdin is not None and proc.stdout is not None
    transcript = bytearray()
    msgs, _ = _client_messages()
    for msg in msgs:
        line = (json.dumps(msg) + "\n").encode()
        transcript += line
        proc.stdin.write(line)
        proc.stdin.flush()
        if "id" not in msg:
            continue
        while True:  # read until this request's response, answering the server's own requests
            got = proc.stdout.readline()
            assert got, "server closed stdout early"
            transcript += got
            reply = json.loads(got)
            if "method" in reply and "id" in reply:
                answer = (json.dumps({"jsonrpc": "2.0", "id": reply["id"], "result": {"roots": []}}) + "\n").encode()
                transcript += answer
                proc.stdin.write(answer)
                proc.stdin.flush()
            elif reply.get("id") == msg["id"]:
                break
    proc.stdin.close()
    transcript += proc.stdout.read()
    assert proc.stderr is not None
    err = proc.stderr.read()
    proc.wait(timeout=60)
    assert proc.returncode == 0, err.decode(errors="replace")
    return bytes(transcript), err


def _collect(source: str, store: Path, tmp: Path, *extra: str) -> bytes:
    proc = subprocess.run([*CLI, "collect", "--source", source, "--store", str(store), "--key",
                           str(tmp / "signing.pem"), "--until-idle", "3", "--flush-idle", "0.5", "--no-stats",
                           *extra], capture_output=True, timeout=180, check=False,
                          env={**os.environ, "XDG_CONFIG_HOME": str(tmp / "config")})
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout + proc.stderr


def _parquet_text(root: Path, sub: str) -> tuple[str, int]:
    """All stored values of the Parquet files under root/sub as text (binary columns decoded), and rows."""
    parts, rows = [], 0
    for path in sorted((root / sub).rglob("*.parquet")):
        table = pq.read_table(path)
        rows += table.num_rows
        for row in table.to_pylist():
            parts.append(json.dumps({k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
                                     for k, v in row.items()}, default=str, ensure_ascii=False))
    return "\n".join(parts), rows


def _found(seeds: list[Seed], where: dict[str, str]) -> list[tuple[str, str, str]]:
    return [(s.kind, s.field, name) for s in seeds for name, text in where.items() if s.core in text]


def _all_seeds() -> list[Seed]:
    return [*_client_messages()[1], *_server_seeds(), *_argv_seeds()[1]]


def _write_table(leaks: list[tuple[str, str, str]], where: list[str], path: str) -> None:
    lines = ["| kind | field | " + " | ".join(where) + " |", "|---|---|" + "---|" * len(where)]
    leaked = set(leaks)
    for s in sorted(_all_seeds(), key=lambda s: (ALL_KINDS.index(s.kind), s.field)):
        cells = ["FOUND" if (s.kind, s.field, w) in leaked else "not found" for w in where]
        lines.append(f"| {s.kind} | {s.field} | " + " | ".join(cells) + " |")
    Path(path).write_text("\n".join(lines) + "\n")


def _check_spool_and_collector(tmp: Path, wire: bytes, wrap_err: bytes) -> dict[str, str]:
    spool = tmp / "spool"
    raw = spool_bytes(spool).decode("utf-8", "replace")
    events = spooled(spool)
    assert len(events) > 150, "the whole session must be recorded"
    assert any(e.get("redacted") for e in events)
    store, qstore = tmp / "store", tmp / "qstore"
    log = _collect(f"spool://{spool}", store, tmp)
    events_text, rows = _parquet_text(store, "events")
    assert rows == len(events), "the collector stored every spooled event"
    # A small record cap sends the big records (catalog, results, initialize) to quarantine, raw bytes kept.
    qlog = _collect(f"spool://{spool}", qstore, tmp, "--max-record-bytes", "3000")
    quarantine_text, qrows = _parquet_text(qstore, "quarantine")
    assert qrows > 0, "some records must have been quarantined for the quarantine check to mean anything"
    return {"spool": raw, "parquet(spool)": events_text + _parquet_text(store, "runs")[0],
            "quarantine": quarantine_text, "stderr": (wrap_err + log + qlog).decode("utf-8", "replace")}


def test_seeded_secrets_never_stored_spool_parquet_quarantine(tmp_path: Path) -> None:
    wire, err = _drive(f"spool://{tmp_path / 'spool'}", tmp_path)
    seeds = _all_seeds()
    assert len({s.kind for s in seeds}) >= 20
    argv_text = " ".join(_argv_seeds()[0])
    missing = [(s.kind, s.field) for s in seeds if s.core not in wire.decode() and s.core not in argv_text]
    assert not missing, f"seeds that never reached the wire (test is broken): {missing}"
    where = _check_spool_and_collector(tmp_path, wire, err)
    leaks = _found(seeds, where)
    if os.environ.get("MCP_BLACKBOX_SEED_TABLE"):
        _write_table(leaks, list(where), os.environ["MCP_BLACKBOX_SEED_TABLE"] + ".spool.md")
    assert not leaks, f"{len(leaks)} seeded secrets stored: {sorted(set(leaks))[:40]}"


@pytest.mark.kafka
def test_seeded_secrets_never_in_kafka_bytes_or_store(kafka_bootstrap: str, kafka_topic: str, tmp_path: Path) -> None:
    from kafka import KafkaConsumer

    _, err = _drive(f"kafka://{kafka_bootstrap}/{kafka_topic}", tmp_path)
    consumer = KafkaConsumer(kafka_topic, bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest",
                             enable_auto_commit=False, consumer_timeout_ms=3000)
    records: list[bytes] = []
    deadline = time.monotonic() + 60
    try:
        while len(records) < 150 and time.monotonic() < deadline:
            records.extend((m.key or b"") + b"\n" + m.value for m in consumer)
    finally:
        consumer.close()
    assert len(records) > 150, f"only {len(records)} records on the topic"
    store = tmp_path / "kstore"
    log = _collect(f"kafka://{kafka_bootstrap}/{kafka_topic}", store, tmp_path, "--group", f"g-{kafka_topic}")
    events_text, rows = _parquet_text(store, "events")
    assert rows >= len(records)
    where = {"kafka": b"\n".join(records).decode("utf-8", "replace"), "parquet(kafka)": events_text,
             "stderr": (err + log).decode("utf-8", "replace")}
    leaks = _found(_all_seeds(), where)
    if os.environ.get("MCP_BLACKBOX_SEED_TABLE"):
        _write_table(leaks, list(where), os.environ["MCP_BLACKBOX_SEED_TABLE"] + ".kafka.md")
    assert not leaks, f"{len(leaks)} seeded secrets stored: {sorted(set(leaks))[:40]}"
