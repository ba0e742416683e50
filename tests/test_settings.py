"""One typed settings system (issue 12): flags > MCP_BLACKBOX_* > file > defaults, secrets masked, Kafka TLS/SASL."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_blackbox.collector.emit.config import load_config
from mcp_blackbox.collector.ingest.sources import KafkaSource, open_source
from mcp_blackbox.schema.settings import MASK, CollectorSettings, KafkaSettings, masked

CLI = str(Path(sys.executable).with_name("mcp-blackbox"))
FILE = """
sink = "kafka://k1:9092/audit"

[kafka]
security_protocol = "SASL_SSL"
ssl_cafile = "/etc/ssl/kafka-ca.pem"
sasl_mechanism = "SCRAM-SHA-512"
sasl_plain_username = "collector"
sasl_plain_password_env = "TEST_KAFKA_PASSWORD"

[collect]
source = "kafka://k1:9092/audit"
store = "/srv/store"
group = "from-file"
"""
SECRET = "hunter2-not-for-logs"


@pytest.fixture
def settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "settings.toml"
    path.write_text(FILE)
    monkeypatch.setenv("TEST_KAFKA_PASSWORD", SECRET)
    for name in ("MCP_BLACKBOX_CONFIG", "MCP_BLACKBOX_COLLECT_GROUP", "MCP_BLACKBOX_KAFKA_SECURITY_PROTOCOL"):
        monkeypatch.delenv(name, raising=False)
    return path


def test_precedence_flags_then_environment_then_file(settings_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert CollectorSettings.load().group == "mcp-blackbox-collector"  # no file: the default
    assert CollectorSettings.load(settings_file).group == "from-file"
    monkeypatch.setenv("MCP_BLACKBOX_COLLECT_GROUP", "from-env")
    assert CollectorSettings.load(settings_file).group == "from-env"
    assert CollectorSettings.load(settings_file, group="from-flag").group == "from-flag"
    assert CollectorSettings.load(settings_file, group=None).group == "from-env"  # an unset flag is no value
    monkeypatch.setenv("MCP_BLACKBOX_CONFIG", str(settings_file))
    assert CollectorSettings.load().store == Path("/srv/store")


def test_kafka_security_for_both_clients_and_secret_masked(settings_file: Path) -> None:
    kafka = CollectorSettings.load(settings_file).kafka
    assert kafka.sasl_plain_password is not None and kafka.sasl_plain_password.get_secret_value() == SECRET
    assert SECRET not in repr(kafka) and SECRET not in str(masked(kafka))
    assert masked(kafka)["sasl_plain_password"] == MASK
    assert kafka.kafka_python() == {"security_protocol": "SASL_SSL", "ssl_cafile": "/etc/ssl/kafka-ca.pem",
                                    "sasl_mechanism": "SCRAM-SHA-512", "sasl_plain_username": "collector",
                                    "sasl_plain_password": SECRET}
    assert kafka.librdkafka() == {"security.protocol": "SASL_SSL", "ssl.ca.location": "/etc/ssl/kafka-ca.pem",
                                  "sasl.mechanisms": "SCRAM-SHA-512", "sasl.username": "collector",
                                  "sasl.password": SECRET}


def test_the_collectors_consumer_gets_the_security_settings(settings_file: Path) -> None:
    source = open_source("kafka://k1:9092/audit", "g", client="kafka-python",
                         security=CollectorSettings.load(settings_file).kafka)
    assert isinstance(source, KafkaSource)  # constructed only: the consumer connects in start()
    assert source.config["security_protocol"] == "SASL_SSL" and source.config["sasl_plain_password"] == SECRET
    assert source.config["group_id"] == "g"
    plain = open_source("kafka://k1:9092/audit", "g", client="kafka-python", security=KafkaSettings.load())
    assert "security_protocol" not in plain.config  # PLAINTEXT is kafka-python's default: nothing added


def test_bad_values_are_refused(settings_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MCP_BLACKBOX_KAFKA_SECURITY_PROTOCOL", "TELNET")
    with pytest.raises(ValueError, match="security_protocol"):
        KafkaSettings.load(settings_file)


def test_the_emitters_read_the_same_file(settings_file: Path) -> None:
    config = load_config(settings_file, env={"TEST_KAFKA_PASSWORD": SECRET})  # [collect] is not theirs: skipped
    assert config.sink == "kafka://k1:9092/audit"
    assert config.kafka_options["sasl_plain_password"].get_secret_value() == SECRET


def test_config_show_prints_effective_settings_with_secrets_masked(settings_file: Path, tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "TEST_KAFKA_PASSWORD": SECRET,
           "MCP_BLACKBOX_COLLECT_GROUP": "from-env"}
    out = subprocess.run([CLI, "config", "show", "--config", str(settings_file)], capture_output=True, text=True,
                         env=env, check=True, timeout=120)
    assert SECRET not in out.stdout and SECRET not in out.stderr
    shown = json.loads(out.stdout)
    assert shown["collect"]["group"] == "from-env" and shown["collect"]["store"] == "/srv/store"
    assert shown["kafka"]["sasl_plain_password"] == MASK and shown["collect"]["kafka"]["sasl_plain_password"] == MASK
    assert shown["emit"]["kafka_options"]["sasl_plain_password"] == MASK
    assert shown["emit"]["sink"] == "kafka://k1:9092/audit"
