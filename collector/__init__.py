"""Getting events from MCP traffic into the store.

Two lives, two rooms: `emit/` runs inside other people's programs (normaliser, emitter, sinks, stdio
and HTTP proxies, SDK hooks, host configuration) and must stay light — no pyarrow, DuckDB or Textual
on its import path; `ingest/` is the collector service (consumer, Parquet sink, quarantine,
manifests, verify, compaction).
"""
