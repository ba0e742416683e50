"""Collector benchmark: Kafka → Parquet end to end vs the raw kafka-python consume rate, and Parquet size vs JSONL.

One command:  .venv/bin/python benchmarks/bench_collector.py [--events 1000000] [--partitions 4]
              [--stages | --only-stages]

Uses the broker in MCP_BLACKBOX_KAFKA, else starts a local Kafka 4.3.1 broker (tests/kafka_harness.py).
Produces N realistic schema-v1 events (~870 B of canonical JSON each, as emitters send them; hash-chained
per emitter; cached under .cache/ after the first run) to a fresh topic, then in the same run measures:
  1. raw:       a minimal kafka-python loop that only counts records (same fetch settings as the collector),
                and the same loop on confluent-kafka when it is installed;
  2. collector: `Collector` + `KafkaSource` (decode, validate, hash, sort, zstd Parquet, runs files,
                signed manifests, offset commits) until every record is durable;
and prints events/s, the collector/raw ratios, and Parquet bytes vs the same events as JSONL.
With --stages it first prints the CPU time of each collector stage on 200k cached events (no broker),
with the strict decode path (records that are not canonical) as a baseline; --only-stages stops there.
Targets (DESIGN §7): >= 100k events/s, >= 0.8x raw, Parquet <= 0.15x JSONL.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "ingest"))

from ingest_eventgen import EventFactory  # noqa: E402
from kafka_harness import KafkaBroker  # noqa: E402

from mcp_blackbox.schema.layout import EVENTS  # noqa: E402

CPU: dict[str, float] = {}  # process CPU seconds (all threads) of each measured run


def cached_events(n: int) -> list[bytes]:
    cache = Path(os.environ.get("MCP_BLACKBOX_CACHE") or REPO / ".cache") / f"bench-events-canonical-{n}.jsonl"
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
    started, cpu = time.monotonic(), time.process_time()
    while count < n:
        for records in consumer.poll(timeout_ms=1000).values():
            count += len(records)
    elapsed = time.monotonic() - started
    CPU["raw kafka-python"] = time.process_time() - cpu
    consumer.close(autocommit=False)
    return elapsed


def raw_consume_confluent(bootstrap: str, topic: str, n: int) -> float:
    """The same minimal counting loop on confluent-kafka, with the collector's consumer settings."""
    from confluent_kafka import Consumer

    from mcp_blackbox.collector.ingest.sources_confluent import ConfluentSource

    source = ConfluentSource(bootstrap, topic, f"raw-confluent-{topic}")
    consumer = Consumer(source.config)
    consumer.subscribe([topic])
    count = 0
    started, cpu = time.monotonic(), time.process_time()
    while count < n:
        count += sum(1 for m in consumer.consume(num_messages=source.max_poll_records, timeout=1.0)
                     if m.error() is None)
    elapsed = time.monotonic() - started
    CPU["raw confluent"] = time.process_time() - cpu
    consumer.close()
    return elapsed


def stage_profile(values: list[bytes], rows: int = 200_000) -> dict[str, float]:
    """CPU seconds (all threads) per collector stage for `rows` cached events, no broker involved."""
    from mcp_blackbox.collector.ingest.decode import Decoder

    sample = values[:rows]
    decoder = Decoder()
    clock = time.process_time
    out: dict[str, float] = {}
    # Second round counts: the first pays one-off costs (regex compiles, the allocator growing its pools).
    for _ in range(2):
        out = _stages(decoder, sample, clock)
    return out


def _stages(decoder: Any, sample: list[bytes], clock: Callable[[], float]) -> dict[str, float]:
    """The steps of `Decoder.decode` + `batchwriter.write_batch`, each timed on its own."""
    from datetime import UTC, datetime

    import pyarrow as pa

    from mcp_blackbox.collector.ingest.batchwriter import HASH_COLUMN, take_hash_column
    from mcp_blackbox.collector.ingest.decode import Decoder
    from mcp_blackbox.collector.ingest.gaps import emitter_runs
    from mcp_blackbox.collector.ingest.hashing import event_hashes, merkle_root
    from mcp_blackbox.collector.ingest.parquet_sink import SORT_KEYS, sort_events, write_parquet
    from mcp_blackbox.schema.arrow import arrow_schema

    out: dict[str, float] = {}
    t = clock()
    strict = Decoder(canonical=False).decode(sample, datetime.now(UTC)).table
    out["(baseline) strict decode"], t = clock() - t, clock()
    event_hashes(strict)
    out["(baseline) hashes from rows"], t = clock() - t, clock()
    decoded = decoder.decode(sample, datetime.now(UTC))
    out["decode+validate+hash (canonical path)"], t = clock() - t, clock()
    table = decoded.table.append_column(HASH_COLUMN, pa.array(decoded.hashes, pa.binary(32)))
    out["hash column"], t = clock() - t, clock()
    table = sort_events(table)
    out["sort"], t = clock() - t, clock()
    hashes = take_hash_column(table) or []
    table = table.drop_columns([HASH_COLUMN])
    out["hashes back from the column"], t = clock() - t, clock()
    root = merkle_root(hashes)
    out["merkle root"], t = clock() - t, clock()
    emitter_runs(table, hashes)
    out["gap/chain runs"], t = clock() - t, clock()
    with tempfile.TemporaryDirectory() as tmp:
        write_parquet(table, Path(tmp) / "x.parquet", schema=arrow_schema(), sorted_by=SORT_KEYS,
                      metadata={"mcp_blackbox.merkle_root": root})
    out["parquet write+fsync"] = clock() - t
    return out


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
    started, cpu = time.monotonic(), time.process_time()
    collector.run(until_idle=5.0)
    CPU[f"collector {client}"] = time.process_time() - cpu  # includes the idle wait at the end (~0 CPU)
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
    parser.add_argument("--stages", action="store_true", help="also print CPU time per collector stage")
    parser.add_argument("--only-stages", action="store_true", help="print the stages, skip the broker runs")
    args = parser.parse_args()
    values = cached_events(args.events)
    n = len(values)
    jsonl_bytes = sum(len(v) + 1 for v in values)
    if args.stages or args.only_stages:
        stages = stage_profile(values)
        rows = min(n, 200_000)
        total = sum(v for k, v in stages.items() if not k.startswith("(baseline)"))
        for name, cpu in stages.items():
            print(f"stage {name:<38}: {cpu:6.2f} CPU-s / {rows:,} events = {cpu / rows * 1e6:5.2f} µs/event")
        print(f"stage total (without the baselines)         : {total / rows * 1e6:5.2f} µs/event "
              f"= {rows / total:,.0f} events/s per core", flush=True)
        if args.only_stages:
            return 0
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
        raw_rates = {"kafka-python": n / raw_s}
        results = {}
        for client in clients():
            if client == "confluent":
                raw_rates[client] = n / raw_consume_confluent(bootstrap, topic, n)
            with tempfile.TemporaryDirectory(prefix="bench-collector-") as tmp:
                store = Path(tmp) / "store"
                seconds = collect(bootstrap, topic, n, store, Path(tmp) / "key.pem", client)
                parquet = sum(p.stat().st_size for p in (store / EVENTS).rglob("*.parquet"))
                other = sum(p.stat().st_size for p in store.rglob("*") if p.is_file()) - parquet
                results[client] = (seconds, parquet, other)
    finally:
        if broker is not None:
            broker.stop(keep_data=False)
    raw_rate = n / raw_s
    for client, rate in raw_rates.items():
        print(f"raw {client:<12} consume            : {rate:>10,.0f} events/s ({n / rate:.2f}s)")
    for client, (seconds, _parquet, _other) in results.items():
        rate = n / seconds
        print(f"collector -> Parquet ({client:<12}): {rate:>10,.0f} events/s ({seconds:.2f}s)  target >= 100,000; "
              f"{rate / raw_rate:.2f}x raw kafka-python  target >= 0.80x; "
              f"{rate / raw_rates[client]:.2f}x raw {client}")
    print(f"CPU per event (all threads of this process; the broker runs beside it on the same {os.cpu_count()} "
          "cores): " + ", ".join(f"{k} {v / n * 1e6:.1f} µs = {n / v:,.0f} events per CPU-second"
                                for k, v in CPU.items()))
    seconds, parquet, other = next(iter(results.values()))
    print(f"Parquet events bytes                 : {parquet / 1e6:>10.1f} MB = {parquet / jsonl_bytes:.3f}x JSONL "
          f"({jsonl_bytes / 1e6:.0f} MB)  target <= 0.15x; + {other / 1e6:.1f} MB runs/manifests/integrity")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
