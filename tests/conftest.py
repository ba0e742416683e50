"""Shared fixtures: a real Kafka broker, fresh topics, the broker's log on failure.

Broker choice, in order: `MCP_BLACKBOX_KAFKA` (bootstrap servers of an existing broker); else
testcontainers' Kafka module when a Docker engine answers; else a local JVM broker from the
Kafka 4.3.1 jars (tests/kafka_harness.py) when `java` and `mvn` exist; else the Kafka tests skip
with the reason — unless `MCP_BLACKBOX_REQUIRE_KAFKA=1`, then they fail with it (CI sets it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kafka_harness import BrokerError, KafkaBroker


@dataclass
class BrokerInfo:
    """Where the test broker is, and the harness object when we started it ourselves."""

    bootstrap: str
    kind: str  # env | testcontainers | jvm
    harness: KafkaBroker | None = None


def _unavailable(reason: str) -> None:
    if os.environ.get("MCP_BLACKBOX_REQUIRE_KAFKA") == "1":
        pytest.fail(f"Kafka broker required (MCP_BLACKBOX_REQUIRE_KAFKA=1) but unavailable: {reason}")
    pytest.skip(f"no Kafka broker: {reason}")


def _docker_answers() -> bool:
    docker = shutil.which("docker")
    if docker is None:
        return False
    try:
        proc = subprocess.run([docker, "info", "--format", "{{.ServerVersion}}"], capture_output=True,
                              timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0 and bool(proc.stdout.strip())


_broker_holder: dict[str, Any] = {}


@pytest.fixture(scope="session")
def kafka_broker_info() -> Iterator[BrokerInfo]:
    """A reachable Kafka broker for the whole test session."""
    env = os.environ.get("MCP_BLACKBOX_KAFKA")
    if env:
        yield BrokerInfo(env, "env")
        return
    if _docker_answers():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer(f"apache/kafka:{'4.3.1'}").with_kraft() as container:
            yield BrokerInfo(container.get_bootstrap_server(), "testcontainers")
        return
    missing = [tool for tool in ("java", "mvn") if shutil.which(tool) is None]
    if missing:
        _unavailable(f"no MCP_BLACKBOX_KAFKA, no Docker engine, and {', '.join(missing)} not installed")
    broker = KafkaBroker()
    try:
        broker.start()
    except BrokerError as exc:
        _unavailable(str(exc))
    _broker_holder["broker"] = broker
    try:
        yield BrokerInfo(broker.bootstrap, "jvm", broker)
    finally:
        broker.stop(keep_data=False)


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker_info: BrokerInfo) -> str:
    """Bootstrap servers of the test broker."""
    return kafka_broker_info.bootstrap


@pytest.fixture
def kafka_harness_broker(kafka_broker_info: BrokerInfo) -> KafkaBroker:
    """The local broker object, for tests that stop and restart it."""
    if kafka_broker_info.harness is None:
        _unavailable(f"the broker ({kafka_broker_info.kind}) is not one this test run can restart")
    assert kafka_broker_info.harness is not None
    return kafka_broker_info.harness


@pytest.fixture
def make_topic(kafka_bootstrap: str) -> Callable[..., str]:
    """Factory: `make_topic(partitions=N)` creates a fresh uniquely named topic."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    def create(partitions: int = 1, prefix: str = "t") -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:12]}"
        admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap, client_id="mcp-blackbox-tests")
        try:
            admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        finally:
            admin.close()
        return name

    return create


@pytest.fixture
def kafka_topic(make_topic: Callable[..., str]) -> str:
    """A fresh single-partition topic."""
    return make_topic()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Attach the broker's log tail to a failing test that used the broker."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    broker = _broker_holder.get("broker")
    uses_kafka = "kafka_broker_info" in getattr(item, "fixturenames", ())
    if report.failed and broker is not None and uses_kafka:
        report.sections.append(("kafka broker log (tail)", broker.log_tail(60)))


@pytest.fixture(autouse=True)
def _known_stores(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """`verify` pins store keys outside the store: tests pin into a fresh temp file, never ~/.config."""
    monkeypatch.setenv("MCP_BLACKBOX_KNOWN_STORES", str(tmp_path_factory.mktemp("known") / "known_stores"))
