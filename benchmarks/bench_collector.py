"""Collector benchmark: Kafka → Parquet end to end vs the raw kafka-python consume rate, and Parquet size vs JSONL.

One command:  .venv/bin/python benchmarks/bench_collector.py [--events 1000000] [--partitions 4]

Uses the broker in MCP_BLACKBOX_KAFKA, else starts a local Kafka 4.3.1 broker (tests/kafka_harness.py).
Produces N realistic schema-v1 events (~450 B of JSON each, hash-chained per emitter; cached under
.cache/ after the first run) to a fresh topic, then in the same run measures:
  1. raw:       a minimal kafka-python loop that only counts records (same fetch settings as the collector);
  2. collector: `Collector` + `KafkaSource` (decode, validate, hash, sort, zstd Parquet, runs files,
                signed manifests, offset commits) until every record is durable;
and prints events/s, the collector/raw ratio, and Parquet bytes vs the same events as JSONL.
Targets (DESIGN §7): >= 100k events/s, >= 0.8x raw, Parquet <= 0.15x JSONL.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "ingest"))

from ingest_eventgen import EventFactory  # noqa: E402
from kafka_harness import KafkaBroker  # noqa: E402


def cached_events(n: int) -> list[bytes]:
    cache = Path(os.environ.get("MCP_BLACKBOX_CACHE") or REPO / ".cache") / f"bench-events-{n}.jsonl"
    if cache.exists():
        return cache.read_bytes().splitlines()
    started = time.monotonic()
    values = [v for _, v in EventFactory(seed=2026, emitters=300).wire(n)]
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(b"\n".join(values) + b"\n")
    print(f"generated {n:,} events in {time.monotonic() - started:.1f}s (cached in {cache})", flush=True)
    return values


def produce(bootstrap: str, topic: str, values: list[bytes], partitions: int) -> float:
    import json

    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import NewTopic

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=20, batch_size=1024 * 1024,
                             compression_type="lz4", max_request_size=8 * 1024 * 1024)
    started = time.monotonic()
    for value in values:
        # Key = connection_id, as emitters send it (cheap slice instead of a JSON parse per event).
        start = value.find(b'"connection_id":"') + 17
        producer.send(topic, key=value[start:value.find(b'"', start)], value=value)
    producer.flush()
    producer.close()
    del json
    return time.monotonic() - started


def raw_consume(bootstrap: str, topic: str, n: int) -> float:
    from kafka import KafkaConsumer

    from mcp_blackbox.collector.ingest.sources import KafkaSource

    config = KafkaSource(bootstrap, topic, f"raw-{topic}").config
    consumer = KafkaConsumer(topic, **config)
    count = 0
    started = time.monotonic()
    while count < n:
        for records in consumer.poll(timeout_ms=1000).values():
            count += len(records)
    elapsed = time.monotonic() - started
    consumer.close(autocommit=False)
    return elapsed


def collect(bootstrap: str, topic: str, n: int, store: Path, key: Path, client: str) -> float:
    from mcp_blackbox.collector.ingest.consumer import Collector, Settings
    from mcp_blackbox.collector.ingest.sources import open_source

    source = open_source(f"kafka://{bootstrap}/{topic}", f"collector-{client}-{topic}", client=client)
    collector = Collector(store, source, Settings(key_path=key))
    done_at: list[float] = []
    after_write = collector._after_write

    def timed_after_write(partition: str, committed_last: int | None) -> None:
        after_write(partition, committed_last)  # offsets committed: this batch is fully durable
        if collector.totals["events"] + collector.totals["quarantined"] >= n and not done_at:
            done_at.append(time.monotonic())
            collector.stopping = True

    collector._after_write = timed_after_write
    started = time.monotonic()
    collector.run(until_idle=5.0)
    if collector.totals["events"] != n:
        raise SystemExit(f"collector stored {collector.totals['events']} of {n} events")
    return (done_at[0] if done_at else time.monotonic()) - started


def clients() -> list[str]:
    from mcp_blackbox.collector.ingest import sources_confluent

    return ["kafka-python", "confluent"] if sources_confluent.available() else ["kafka-python"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--partitions", type=int, default=4)
    args = parser.parse_args()
    values = cached_events(args.events)
    n = len(values)
    jsonl_bytes = sum(len(v) + 1 for v in values)
    broker = None
    bootstrap = os.environ.get("MCP_BLACKBOX_KAFKA")
    if not bootstrap:
        broker = KafkaBroker(heap="1g").start()
        bootstrap = broker.bootstrap
    try:
        topic = f"bench-{int(time.time())}"
        produce_s = produce(bootstrap, topic, values, args.partitions)
        print(f"produced {n:,} events ({jsonl_bytes / 1e6:.0f} MB JSONL) in {produce_s:.1f}s", flush=True)
        del values
        raw_s = raw_consume(bootstrap, topic, n)
        results = {}
        for client in clients():
            with tempfile.TemporaryDirectory(prefix="bench-collector-") as tmp:
                store = Path(tmp) / "store"
                seconds = collect(bootstrap, topic, n, store, Path(tmp) / "key.pem", client)
                parquet = sum(p.stat().st_size for p in (store / "events").rglob("*.parquet"))
                other = sum(p.stat().st_size for p in store.rglob("*") if p.is_file()) - parquet
                results[client] = (seconds, parquet, other)
    finally:
        if broker is not None:
            broker.stop(keep_data=False)
    raw_rate = n / raw_s
    print(f"raw kafka-python consume             : {raw_rate:>10,.0f} events/s ({raw_s:.2f}s)")
    for client, (seconds, _parquet, _other) in results.items():
        rate = n / seconds
        print(f"collector -> Parquet ({client:<12}): {rate:>10,.0f} events/s ({seconds:.2f}s)  target >= 100,000; "
              f"{rate / raw_rate:.2f}x raw  target >= 0.80x")
    seconds, parquet, other = next(iter(results.values()))
    print(f"Parquet events bytes                 : {parquet / 1e6:>10.1f} MB = {parquet / jsonl_bytes:.3f}x JSONL "
          f"({jsonl_bytes / 1e6:.0f} MB)  target <= 0.15x; + {other / 1e6:.1f} MB runs/manifests/integrity")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
