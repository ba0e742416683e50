"""The one settings system reaches every component (issue 12, build item 3).

Emitters: Kafka TLS/SASL checked by the collector's fields, secrets and the hash key as SecretStr.
Proxy: flags > MCP_BLACKBOX_PROXY_* > [proxy]. Forensics commands: argument defaults from
MCP_BLACKBOX_STORE / [forensics]. `config show`: a secret given by environment or file never printed.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from mcp_blackbox.collector.emit.config import load_config, resolve_hash_key
from mcp_blackbox.schema.errors import UsageError
from mcp_blackbox.schema.kafka_security import SECURITY_KEYS
from mcp_blackbox.schema.settings import MASK, KafkaSettings, ProxySettings

CLI = str(Path(sys.executable).with_name("mcp-blackbox"))
FILE_SECRET = "file-secret-5b9e1d77"
ENV_SECRET = "env-secret-c03a41f2"
HASH_KEY = "env-hash-key-6f1d0c9a8b7e"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("MCP_BLACKBOX_") and name not in ("MCP_BLACKBOX_REQUIRE_KAFKA", "MCP_BLACKBOX_KAFKA"):
            monkeypatch.delenv(name)


def test_the_emitters_kafka_security_is_the_collectors(tmp_path: Path) -> None:
    assert set(KafkaSettings.model_fields) == SECURITY_KEYS  # one list of TLS/SASL options for both sides
    path = tmp_path / "c.toml"
    path.write_text('sink = "kafka://k:9092/t"\n[kafka]\nsecurity_protocol = "SASL_SSL"\nssl_cafile = "/ca.pem"\n'
                    f'ssl_password = "{FILE_SECRET}"\nlinger_ms = 20\n')
    config = load_config(path, env={"MCP_BLACKBOX_KAFKA_SASL_PLAIN_PASSWORD": ENV_SECRET,
                                    "MCP_BLACKBOX_KAFKA_SASL_MECHANISM": "PLAIN"})
    options = config.kafka_options
    assert options["linger_ms"] == 20  # not a security option: passed through to the producer as given
    assert options["ssl_cafile"] == "/ca.pem" and options["sasl_mechanism"] == "PLAIN"
    assert isinstance(options["ssl_password"], SecretStr) and options["ssl_password"].get_secret_value() == FILE_SECRET
    assert isinstance(options["sasl_plain_password"], SecretStr)
    assert options["sasl_plain_password"].get_secret_value() == ENV_SECRET
    assert FILE_SECRET not in repr(config) and ENV_SECRET not in repr(config)


@pytest.mark.parametrize(("text", "env", "message"), [
    ('[kafka]\nsecurity_protocol = "TELNET"', {}, r"config file\[kafka\]: security_protocol"),
    ("", {"MCP_BLACKBOX_KAFKA_SASL_MECHANISM": "ROT13"}, r"environment\[kafka\]: sasl_mechanism"),
])
def test_bad_kafka_security_is_one_clear_error(tmp_path: Path, text: str, env: dict[str, str], message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        load_config(path, env=env)


def test_the_hash_key_is_a_secret_until_hashing(tmp_path: Path) -> None:
    config = load_config(sink=f"spool://{tmp_path}", env={"MCP_BLACKBOX_HASH_KEY": f"  {HASH_KEY}\n"})
    assert isinstance(config.hash_key, SecretStr) and HASH_KEY not in str(config.hash_key)
    assert resolve_hash_key(config) == HASH_KEY.encode()  # stripped, revealed for the HMAC only


def _proxy_args(*argv: str) -> argparse.Namespace:
    from mcp_blackbox.collector.emit import http_proxy_cli

    parser = argparse.ArgumentParser()
    http_proxy_cli.add_arguments(parser)
    return parser.parse_args(list(argv))


def test_proxy_settings_flags_then_environment_then_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mcp_blackbox.collector.emit.http_proxy_cli import settings

    path = tmp_path / "s.toml"
    path.write_text('[proxy]\nupstream = "http://file:1/"\nlisten = "127.0.0.1:9001"\nupstream_timeout = 30\n')
    found = settings(_proxy_args("--config", str(path)))
    assert (found.upstream, found.listen, found.upstream_timeout, found.sink) == ("http://file:1/", "127.0.0.1:9001",
                                                                                  30.0, None)
    monkeypatch.setenv("MCP_BLACKBOX_PROXY_UPSTREAM", "http://env:2/")
    assert settings(_proxy_args("--config", str(path))).upstream == "http://env:2/"
    flagged = settings(_proxy_args("--config", str(path), "--upstream", "http://flag:3/", "--upstream-timeout", "5"))
    assert flagged.upstream == "http://flag:3/" and flagged.upstream_timeout == 5.0
    assert ProxySettings.load().listen == "127.0.0.1:8808"  # the default without file or variable
    monkeypatch.delenv("MCP_BLACKBOX_PROXY_UPSTREAM")
    with pytest.raises(UsageError, match="--upstream is required"):
        settings(_proxy_args())
    monkeypatch.setenv("MCP_BLACKBOX_PROXY_UPSTREAM_TIMEOUT", "-1")
    with pytest.raises(UsageError, match="upstream_timeout"):
        settings(_proxy_args("--upstream", "http://x/"))


def test_the_proxy_command_takes_its_upstream_from_the_environment(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MCP_BLACKBOX_PROXY_UPSTREAM": "ftp://from-env/"}
    out = subprocess.run([CLI, "proxy", "--listen", "127.0.0.1:0"], capture_output=True, text=True, env=env,
                         timeout=120, check=False)
    assert out.returncode == 2 and "'ftp://from-env/'" in out.stderr  # the variable reached the URL check


FORENSICS = ["mcp_blackbox.forensics.cli_sql", "mcp_blackbox.forensics.cli_detect", "mcp_blackbox.forensics.cli_chain",
             "mcp_blackbox.forensics.cli_export", "mcp_blackbox.collector.ingest.verify_cli", "mcp_blackbox.tui.cli"]


def _parse(module: str, *argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    importlib.import_module(module).add_arguments(parser)  # type: ignore[attr-defined]
    return parser.parse_args(list(argv))


@pytest.mark.parametrize("module", FORENSICS)
def test_forensics_store_default_from_environment_and_file(module: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    extra = ["--format", "jsonl"] if module.endswith("cli_export") else []
    if not module.endswith("cli_detect"):  # detect's --store is optional (--list-rules)
        with pytest.raises(SystemExit):
            _parse(module, *extra)  # no flag, no variable, no file: still required
    path = tmp_path / "s.toml"
    path.write_text('[forensics]\nstore = "/from/file"\ntimeout = 7.5\nknown_stores = "/pins"\n')
    monkeypatch.setenv("MCP_BLACKBOX_CONFIG", str(path))
    args = _parse(module, *extra)
    assert str(args.store) == "/from/file"
    if hasattr(args, "timeout"):
        assert args.timeout == 7.5
    if hasattr(args, "known_stores"):
        assert args.known_stores == Path("/pins")
    monkeypatch.setenv("MCP_BLACKBOX_STORE", "/from/env")
    assert str(_parse(module, *extra).store) == "/from/env"
    assert str(_parse(module, *extra, "--store", "/from/flag").store) == "/from/flag"


def test_sql_uses_the_store_from_the_environment(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-store"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MCP_BLACKBOX_STORE": str(missing)}
    out = subprocess.run([CLI, "sql", "SELECT 1"], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert out.returncode == 2 and str(missing) in out.stderr


def test_config_show_never_prints_a_secret_from_environment_or_file(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text(f'sink = "kafka://k:9092/t"\n[kafka]\nsecurity_protocol = "SASL_SSL"\n'
                    f'ssl_password = "{FILE_SECRET}"\n[proxy]\nupstream = "http://up:1/"\n'
                    '[forensics]\nstore = "/srv/store"\n')
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "MCP_BLACKBOX_KAFKA_SASL_PLAIN_PASSWORD": ENV_SECRET,
           "MCP_BLACKBOX_HASH_KEY": HASH_KEY, "MCP_BLACKBOX_STORE": "/env/store"}
    out = subprocess.run([CLI, "config", "show", "--config", str(path)], capture_output=True, text=True, env=env,
                         check=True, timeout=120)
    for secret in (FILE_SECRET, ENV_SECRET, HASH_KEY):
        assert secret not in out.stdout and secret not in out.stderr
    shown = json.loads(out.stdout)
    assert shown["emit"]["hash_key"] == MASK
    assert shown["emit"]["kafka_options"]["ssl_password"] == MASK == shown["kafka"]["ssl_password"]
    assert shown["emit"]["kafka_options"]["sasl_plain_password"] == MASK == shown["kafka"]["sasl_plain_password"]
    assert shown["proxy"]["upstream"] == "http://up:1/" and shown["proxy"]["listen"] == "127.0.0.1:8808"
    assert shown["forensics"]["store"] == "/env/store"  # the variable beats the file
