"""Capture configuration: file < environment < flags, per-server overrides, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from mcp_blackbox.collector.emit.config import load_config
from mcp_blackbox.collector.emit.emitter import Emitter
from mcp_blackbox.schema.enums import PayloadMode
from mcp_blackbox.schema.errors import UsageError

CONFIG = """
sink = "kafka://k1:9092,k2:9092/audit"
payload_mode = "full"
environment = "prod"

[redaction]
extra_keys = ["ssn"]
patterns = { employee_id = "EMP-[0-9]{6}" }

[kafka]
security_protocol = "SASL_SSL"
sasl_plain_password_env = "TEST_KAFKA_PASSWORD"

[servers.customers]
payload_mode = "hashes"
"""


def test_precedence_and_per_server_overrides(tmp_path: Path) -> None:
    path = tmp_path / "capture.toml"
    path.write_text(CONFIG)
    env = {"MCP_BLACKBOX_CONFIG": str(path), "MCP_BLACKBOX_ENVIRONMENT": "staging", "TEST_KAFKA_PASSWORD": "s3cret"}
    config = load_config(env=env)
    assert config.sink == "kafka://k1:9092,k2:9092/audit"
    assert config.environment == "staging"  # environment beats the file
    assert config.kafka_options == {"security_protocol": "SASL_SSL", "sasl_plain_password": SecretStr("s3cret")}
    assert isinstance(config.kafka_options["sasl_plain_password"], SecretStr)  # a secret, not a plain string
    assert config.payload_mode is PayloadMode.FULL
    assert config.for_server("customers").payload_mode is PayloadMode.HASHES
    assert config.for_server("weather").payload_mode is PayloadMode.FULL
    assert load_config(env=env, sink=f"spool://{tmp_path}").sink == f"spool://{tmp_path}"  # the flag wins


def test_policy_and_payload_mode_reach_the_events(tmp_path: Path) -> None:
    from emit_helpers import spooled

    path = tmp_path / "capture.toml"
    path.write_text(f'sink = "spool://{tmp_path / "spool"}"\n[redaction]\nextra_keys = ["ssn"]\n'
                    '[servers.customers]\npayload_mode = "hashes"\n')
    config = load_config(path, env={})
    with Emitter("gateway", "test", config=config, server_config_name="notes") as em:
        em.emit("message", connection_id="c", arguments={"ssn": "123-45-6789", "q": "EMP-000123"})
    with Emitter("gateway", "test", config=config, server_config_name="customers") as em:
        em.emit("message", connection_id="c", arguments={"q": "anything"})
    notes, customers = spooled(tmp_path / "spool")[0], spooled(tmp_path / "spool")[1]
    assert "123-45-6789" not in notes["arguments_json"] and notes["redacted"]
    assert "arguments_json" not in customers and customers["arguments_sha256"]


@pytest.mark.parametrize(("text", "message"), [
    ('payload_mode = "everything"', "payload_mode must be one of"),
    ('sink = "http://nope"', "sink must be"),
    ("queue_size = -1", "positive integer"),
    ("colour = 1", "unknown setting 'colour'"),
    ("[redaction]\npatterns = { bad = \"([\" }", "[redaction]"),
    ("this is = not toml =", "capture config"),
])
def test_bad_configuration_is_one_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message.replace("[", r"\[").replace("(", r"\(")):
        load_config(path, env={})
