"""A real Apache Kafka 4.3.1 broker for tests and benchmarks: single-node KRaft, from Maven Central.

No Docker needed: `fetch()` resolves `org.apache.kafka:kafka_2.13:4.3.1` and its runtime dependencies
with `mvn` into a cache directory (once); `KafkaBroker` formats a KRaft storage directory, starts the
broker with Java 17 on free loopback ports, waits until it answers a metadata request, and stops it
cleanly. Its log file is kept so a failing test can show it.

Command line (for the Makefile, benchmarks and the demo):
    python tests/kafka_harness.py fetch            # download the jars into the cache
    python tests/kafka_harness.py start            # start a broker in the background, print bootstrap
    python tests/kafka_harness.py status|stop      # the background broker started by `start`
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import TracebackType

KAFKA_VERSION = "4.3.1"
# Logging bridge for the broker's slf4j calls, so its log says why it failed to start.
LOG4J_VERSION = "2.25.4"
SLF4J_VERSION = "2.0.17"
REPO = Path(__file__).resolve().parents[1]
JAVA = shutil.which("java") or "java"
MVN = shutil.which("mvn") or "mvn"

POM = f"""<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.mcpblackbox</groupId><artifactId>kafka-broker-jars</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId>
      <version>{KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-api</artifactId>
      <version>{SLF4J_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j2-impl</artifactId>
      <version>{LOG4J_VERSION}</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId>
      <version>{LOG4J_VERSION}</version></dependency>
  </dependencies>
</project>
"""

LOG4J2_CONFIG = """Configuration:
  status: warn
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.request.logger
        level: WARN
      - name: org.apache.kafka.controller
        level: WARN
      - name: state.change.logger
        level: WARN
"""


class BrokerError(RuntimeError):
    """The broker could not be fetched, started or reached; the message includes the log tail."""


def cache_dir() -> Path:
    """Where the jars live: $MCP_BLACKBOX_CACHE/kafka-4.3.1 or <repo>/.cache/kafka-4.3.1."""
    base = Path(os.environ.get("MCP_BLACKBOX_CACHE") or REPO / ".cache")
    return base / f"kafka-{KAFKA_VERSION}"


def fetch(quiet: bool = False) -> Path:
    """Resolve the broker jars with Maven into the cache (idempotent); returns the libs directory."""
    root = cache_dir()
    libs = root / "libs"
    marker = root / "complete"
    if marker.exists() and any(libs.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")):
        return libs
    if shutil.which("mvn") is None:
        msg = "cannot fetch the Kafka jars: 'mvn' (Maven) is not installed"
        raise BrokerError(msg)
    root.mkdir(parents=True, exist_ok=True)
    (root / "pom.xml").write_text(POM, encoding="utf-8")
    started = time.monotonic()
    cmd = [MVN, "-B", "-q", "-f", str(root / "pom.xml"), "dependency:copy-dependencies",
           f"-DoutputDirectory={libs}", "-DincludeScope=runtime"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        msg = "mvn could not fetch org.apache.kafka:kafka_2.13:" + KAFKA_VERSION + ":\n" + "\n".join(tail)
        raise BrokerError(msg)
    if not any(libs.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")):
        msg = f"mvn finished but kafka_2.13-{KAFKA_VERSION}.jar is not in {libs}"
        raise BrokerError(msg)
    marker.write_text(f"fetched in {time.monotonic() - started:.1f}s\n", encoding="utf-8")
    if not quiet:
        print(f"kafka {KAFKA_VERSION} jars in {libs} ({time.monotonic() - started:.1f}s)", file=sys.stderr)
    return libs


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class KafkaBroker:
    """One single-node KRaft broker (broker + controller) on loopback ports."""

    def __init__(self, workdir: Path | None = None, *, heap: str = "768m", partitions: int = 1) -> None:
        self._owns_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="mcp-blackbox-kafka-"))
        self.heap = heap
        self.partitions = partitions
        self.port = free_port()
        self.controller_port = free_port()
        self.log_path = self.workdir / "broker.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.started_in: float | None = None
        self._formatted = False

    @property
    def bootstrap(self) -> str:
        """Bootstrap servers string for clients."""
        return f"127.0.0.1:{self.port}"

    def _classpath(self) -> str:
        return str(fetch(quiet=True)) + "/*"

    def _write_config(self) -> Path:
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(data),
            "num.partitions": str(self.partitions),
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "4",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "min.insync.replicas": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "true",
            "log.flush.interval.messages": "9223372036854775807",
            "message.max.bytes": str(16 * 1024 * 1024),
        }
        path = self.workdir / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()), encoding="utf-8")
        (self.workdir / "log4j2.yaml").write_text(LOG4J2_CONFIG, encoding="utf-8")
        return path

    def _java(self, main: str, *args: str, heap: str = "256m") -> list[str]:
        return [JAVA, f"-Xmx{heap}", "-XX:+UseG1GC", "-Djava.awt.headless=true",
                f"-Dlog4j2.configurationFile={self.workdir / 'log4j2.yaml'}",
                "-cp", self._classpath(), main, *args]

    def _format(self, config: Path) -> None:
        cluster_id = uuid.uuid4().bytes
        import base64

        cid = base64.urlsafe_b64encode(cluster_id).decode().rstrip("=")
        # `=`: a base64url id may begin with "-", which the tool would take for an option (1 run in 32)
        cmd = self._java("kafka.tools.StorageTool", "format", f"--cluster-id={cid}", "-c", str(config),
                         "--standalone")
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            # Older formats of the tool take no --standalone with controller.quorum.voters set.
            cmd = [c for c in cmd if c != "--standalone"]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            msg = f"kafka storage format failed: {(proc.stdout + proc.stderr).strip()[-2000:]}"
            raise BrokerError(msg)
        self._formatted = True

    def start(self, timeout: float = 120.0) -> KafkaBroker:
        """Format (first time), start, and wait until the broker answers."""
        if self.process is not None and self.process.poll() is None:
            return self
        started = time.monotonic()
        config = self._write_config()
        if not self._formatted:
            self._format(config)
        log = open(self.log_path, "ab")
        self.process = subprocess.Popen(
            self._java("kafka.Kafka", str(config), heap=self.heap),
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )
        log.close()
        self._wait_ready(started + timeout)
        self.started_in = time.monotonic() - started
        return self

    def _wait_ready(self, deadline: float) -> None:
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        last_error = "no answer"
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                msg = f"kafka broker exited with {self.process.returncode}:\n{self.log_tail()}"
                raise BrokerError(msg)
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    pass
                admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=5000,
                                         client_id="mcp-blackbox-harness")
                try:
                    admin.list_topics()
                finally:
                    admin.close()
                return
            except (OSError, KafkaError) as exc:
                last_error = f"{type(exc).__name__}: {exc}"
                time.sleep(0.3)
        self.stop()
        msg = f"kafka broker did not answer on {self.bootstrap} ({last_error}):\n{self.log_tail()}"
        raise BrokerError(msg)

    def stop(self, keep_data: bool = True, grace: float = 20.0) -> None:
        """SIGTERM, wait, SIGKILL after `grace` seconds; with keep_data=False remove the work dir."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        self.process = None
        if not keep_data and self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def restart(self, down_for: float = 0.0) -> None:
        """Stop and start again with the same data and ports (a broker outage mid-stream)."""
        self.stop(keep_data=True)
        if down_for:
            time.sleep(down_for)
        self.start()

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the broker log."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no broker log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> KafkaBroker:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop(keep_data=False)


def _state_file() -> Path:
    return cache_dir() / "background-broker.json"


def main(argv: list[str] | None = None) -> int:
    """`fetch`, `start`, `status`, `stop` for a background broker."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["fetch", "start", "status", "stop"])
    parser.add_argument("--partitions", type=int, default=1, help="default partitions of new topics")
    args = parser.parse_args(argv)
    try:
        if args.action == "fetch":
            fetch()
            return 0
        state = _state_file()
        if args.action == "start":
            broker = KafkaBroker(partitions=args.partitions)
            broker.start()
            assert broker.process is not None
            state.write_text(json.dumps({"pid": broker.process.pid, "bootstrap": broker.bootstrap,
                                         "workdir": str(broker.workdir)}), encoding="utf-8")
            print(broker.bootstrap)
            return 0
        if not state.exists():
            print("no background broker", file=sys.stderr)
            return 1
        info = json.loads(state.read_text(encoding="utf-8"))
        if args.action == "status":
            print(info["bootstrap"])
            return 0
        try:
            os.killpg(int(info["pid"]), signal.SIGTERM)
        except ProcessLookupError:
            pass
        shutil.rmtree(info["workdir"], ignore_errors=True)
        state.unlink()
        return 0
    except BrokerError as exc:
        print(f"kafka_harness: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
