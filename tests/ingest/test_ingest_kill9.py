"""`kill -9` of the collector at random moments while it ingests: nothing lost, nothing stored twice."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ingest_eventgen import EventFactory, malformed_values
from ingest_helpers import event_ids, produce, quarantine, start_collect

from mcp_blackbox.collector.ingest.verify import verify_store

pytestmark = pytest.mark.kafka

KILLS = 20


def paced(records: list[tuple[bytes, bytes]], chunk: int, pause: float) -> Iterator[tuple[bytes, bytes]]:
    for start in range(0, len(records), chunk):
        yield from records[start:start + chunk]
        time.sleep(pause)


def test_kill9_twenty_times_loses_and_duplicates_nothing(kafka_bootstrap: str, make_topic: Callable[..., str],
                                                        tmp_path: Path, signing_key: Path, kafka_client: str) -> None:
    topic = make_topic(partitions=3)
    factory = EventFactory(seed=404, emitters=30)
    first = factory.wire(30_000)
    late = factory.wire(90_000)
    bad = [(b"bad", v) for v, _ in malformed_values(600, oversize=70_000)]
    produce(kafka_bootstrap, topic, first + bad)
    # More events keep arriving (~2,500/s) during the whole kill loop, so every kill hits live ingest.
    producer = threading.Thread(target=produce, args=(kafka_bootstrap, topic, paced(late, 500, 0.2)), daemon=True)
    store = tmp_path / "store"
    args = ["--source", f"kafka://{kafka_bootstrap}/{topic}", "--store", str(store), "--group", "g-" + topic,
            "--instance-id", "collector-under-test", "--session-timeout-ms", "10000", "--flush-rows", "1500",
            "--max-poll-records", "500", "--flush-idle", "0.3", "--max-record-bytes", "65536", "--no-stats",
            "--client", kafka_client]
    env = {"MCP_BLACKBOX_SIGNING_KEY": str(signing_key)}
    rnd = random.Random(1234)
    manifests_at_kill = []
    for attempt in range(KILLS):
        before = len(list((store / "manifests").glob("*.json")))
        proc = start_collect(args, env)
        if attempt == 0:
            producer.start()
        if attempt % 2:
            # Every other kill waits for fresh commits first, so half the kills surely hit live ingest
            # however slow the machine; the others land anywhere, start-up and group join included.
            deadline = time.monotonic() + 30
            while len(list((store / "manifests").glob("*.json"))) <= before and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(rnd.uniform(0.0, 1.0))
        else:
            time.sleep(rnd.uniform(0.3, 3.0))
        proc.kill()  # SIGKILL: no flush, no cleanup, possibly mid-write or between rename and manifest
        proc.wait(timeout=30)
        manifests_at_kill.append(len(list((store / "manifests").glob("*.json"))))
    producer.join(timeout=120)
    final = start_collect([*args, "--until-idle", "4"], env)
    assert final.wait(timeout=300) == 0, final.stderr.read() if final.stderr else ""
    # The kills really happened while work was being committed.
    assert len({m for m in manifests_at_kill if m}) >= KILLS // 2, manifests_at_kill
    ids = event_ids(store)
    assert len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} duplicated events"
    assert set(ids) == {json.loads(v)["event_id"] for _, v in first + late}
    q = quarantine(store)
    assert q is not None and sorted(q.column("raw").to_pylist()) == sorted(v for _, v in bad)
    assert verify_store(store, deep=False).problems == []
    assert not list(store.rglob(".tmp-*")), "temp files of killed runs must be cleaned up"
