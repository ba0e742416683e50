"""Capture configuration: sink, payload mode, redaction policy, Kafka options — per server.

Precedence, highest first: explicit arguments > `MCP_BLACKBOX_*` environment variables > the TOML file
(`MCP_BLACKBOX_CONFIG` or the `path` argument) > defaults. The file looks like:

    sink = "kafka://broker1:9092,broker2:9092/mcp-blackbox.events"
    payload_mode = "full"            # full | hashes | none
    max_payload_bytes = 65536
    environment = "prod"
    tenant_id = "acme"

    [redaction]
    extra_keys = ["ssn", "card_number"]
    json_paths = ["$.arguments.body"]
    patterns = { employee_id = "EMP-[0-9]{6}" }

    [kafka]                          # TLS/SASL: `schema.kafka_security` (the collector's KafkaSettings);
                                     # other keys pass through to kafka-python's KafkaProducer
    security_protocol = "SASL_SSL"
    sasl_mechanism = "SCRAM-SHA-512"
    sasl_plain_username = "emitter"
    sasl_plain_password_env = "KAFKA_PASSWORD"   # *_env: read from that environment variable

    [servers.customers]              # overrides for one server (its config name / --name)
    payload_mode = "hashes"

    hash_key_file = "/etc/mcp-blackbox/hash.key"   # the deployment's payload-hash key (see below)

Payload and tool-definition hashes are HMAC-SHA-256 with the deployment's hash key, so the emitters
of one deployment still match each other and a dictionary of guessed payloads matches nothing. The
key, first found wins: `MCP_BLACKBOX_HASH_KEY` (the key text itself), `MCP_BLACKBOX_HASH_KEY_FILE` or
`hash_key_file` (a file holding the key text), else `$XDG_CONFIG_HOME/mcp-blackbox/keys/hash.key`
(default `~/.config/...`), generated on first use (32 random bytes as 64 hex characters, mode 0600).
Every machine of a deployment must get the same key: copy that file (or its text into the variable)
to each of them. A key shorter than 16 bytes is refused.

Secrets are `pydantic.SecretStr` (the hash key, the Kafka passwords): masked when printed, revealed
only where used (`resolve_hash_key`, the sink building its KafkaProducer). The Kafka security keys
(`[kafka]`, `MCP_BLACKBOX_KAFKA_*`) are validated by `schema.kafka_security.KafkaSecurity`, the
fields of the collector's `KafkaSettings`, as a plain pydantic model: pydantic-settings is not imported
here, as this module runs inside other people's programs (pydantic is, as by the emitter anyway).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import threading
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from mcp_blackbox.schema.enums import PayloadMode
from mcp_blackbox.schema.errors import UsageError
from mcp_blackbox.schema.kafka_security import SECURITY_KEYS, KafkaSecurity
from mcp_blackbox.schema.payload import DEFAULT_MAX_PAYLOAD_BYTES
from mcp_blackbox.schema.redaction import RedactionPolicy
from mcp_blackbox.schema.transport import DEFAULT_TOPIC as DEFAULT_TOPIC  # re-exported
from mcp_blackbox.schema.transport import SINK_PREFIXES, spool_url

ENV_PREFIX = "MCP_BLACKBOX_"
HASH_KEY_ENV = ENV_PREFIX + "HASH_KEY"
HASH_KEY_FILE_ENV = ENV_PREFIX + "HASH_KEY_FILE"
MIN_HASH_KEY_BYTES = 16
#: tables of the one settings file that belong to other components
OTHER_SECTIONS = ("collect", "forensics", "proxy")

log = logging.getLogger(__name__)


def state_dir() -> Path:
    """Where an emitter keeps its spool when nothing else is configured."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "mcp-blackbox"


@dataclass(frozen=True)
class CaptureConfig:
    """Everything an emitter needs to know; immutable, cheap to copy per server."""

    sink: str = ""
    payload_mode: PayloadMode = PayloadMode.FULL
    max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    redaction: RedactionPolicy = field(default_factory=RedactionPolicy)
    #: KafkaProducer options: the TLS/SASL ones validated by `KafkaSettings` (secrets as SecretStr), the rest as given
    kafka_options: dict[str, Any] = field(default_factory=dict)
    queue_size: int = 10_000
    spool_fallback_dir: Path = field(default_factory=lambda: state_dir() / "overflow")
    environment: str | None = None
    tenant_id: str | None = None
    flush_timeout: float = 5.0
    server_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)
    hash_key: SecretStr | None = field(default=None, repr=False)  # None: from hash_key_file / the default file
    hash_key_file: Path | None = None

    def for_server(self, server_config_name: str | None) -> CaptureConfig:
        """This configuration with the `[servers.<name>]` overrides applied."""
        if not server_config_name or server_config_name not in self.server_overrides:
            return self
        return _apply(self, self.server_overrides[server_config_name], where=f"[servers.{server_config_name}]")


def _payload_mode(value: Any, where: str) -> PayloadMode:
    try:
        return PayloadMode(str(value).lower())
    except ValueError:
        msg = f"{where}: payload_mode must be one of full, hashes, none, not {value!r}"
        raise UsageError(msg) from None


def _positive_int(value: Any, name: str, where: str) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number <= 0:
        msg = f"{where}: {name} must be a positive integer, not {value!r}"
        raise UsageError(msg)
    return number


def _redaction(section: dict[str, Any], where: str) -> RedactionPolicy:
    unknown = set(section) - {"extra_keys", "json_paths", "patterns", "defaults"}
    if unknown:
        msg = f"{where}[redaction]: unknown setting(s) {', '.join(sorted(unknown))}"
        raise UsageError(msg)
    try:
        return RedactionPolicy.from_settings(
            extra_keys=section.get("extra_keys", ()), json_paths=section.get("json_paths", ()),
            extra_patterns=section.get("patterns"), defaults=bool(section.get("defaults", True)),
        )
    except (ValueError, TypeError, re.error) as exc:  # a bad regular expression or JSON path
        msg = f"{where}[redaction]: {exc}"
        raise UsageError(msg) from exc


def _kafka_options(current: dict[str, Any], section: dict[str, Any], environ: dict[str, str],
                   where: str) -> dict[str, Any]:
    """Producer options: `current` updated by `section`; `<name>_env` reads a secret from `environ`.

    The TLS/SASL keys go through `KafkaSecurity` (the fields of the collector's `KafkaSettings`: same
    names, same checks; secrets become SecretStr); the others pass through to kafka-python unchanged.
    """
    options = dict(current)
    for key, value in section.items():
        if key.endswith("_env") and isinstance(value, str):
            options[key[: -len("_env")]] = environ.get(value, "")
        else:
            options[key] = value
    security = {k: v for k, v in options.items() if k in SECURITY_KEYS}
    if not security:
        return options
    try:
        checked = KafkaSecurity.model_validate(security)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = f"{where}[kafka]: {'.'.join(str(p) for p in err['loc'])}: {err['msg']}"
        raise UsageError(msg) from None
    passthrough = {k: v for k, v in options.items() if k not in SECURITY_KEYS}
    return {**passthrough, **checked.kafka_python(reveal=False)}


def _apply(config: CaptureConfig, data: dict[str, Any], *, where: str,
           environ: dict[str, str] | None = None) -> CaptureConfig:
    changes: dict[str, Any] = {}
    for key, value in data.items():
        if key == "sink":
            changes["sink"] = str(value)
        elif key == "payload_mode":
            changes["payload_mode"] = _payload_mode(value, where)
        elif key in ("max_payload_bytes", "queue_size"):
            changes[key] = _positive_int(value, key, where)
        elif key == "flush_timeout":
            changes[key] = float(value)
        elif key in ("environment", "tenant_id"):
            changes[key] = str(value)
        elif key in ("spool_fallback_dir", "hash_key_file"):
            changes[key] = Path(str(value)).expanduser()
        elif key == "hash_key" and where == "environment":
            text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
            _checked_key(text.strip().encode("utf-8"), HASH_KEY_ENV)
            changes[key] = SecretStr(text.strip())
        elif key == "redaction":
            changes["redaction"] = _redaction(dict(value), where)
        elif key == "kafka":
            changes["kafka_options"] = _kafka_options(config.kafka_options, dict(value),
                                                      dict(os.environ) if environ is None else environ, where)
        elif key == "servers" and where == "config file":
            changes["server_overrides"] = {str(k): dict(v) for k, v in dict(value).items()}
        elif key in OTHER_SECTIONS and where == "config file":
            continue  # the collector's, forensics' and proxy's tables of the shared file (`schema/settings.py`)
        else:
            msg = f"{where}: unknown setting {key!r}"
            raise UsageError(msg)
    return replace(config, **changes)


def _from_env(config: CaptureConfig, env: dict[str, str]) -> CaptureConfig:
    data: dict[str, Any] = {}
    for name in ("sink", "payload_mode", "max_payload_bytes", "queue_size", "environment", "tenant_id",
                 "spool_fallback_dir", "flush_timeout", "hash_key", "hash_key_file"):
        value = env.get(ENV_PREFIX + name.upper())
        if value:
            data[name] = value
    kafka = {k[len(ENV_PREFIX + "KAFKA_"):].lower(): v for k, v in env.items() if k.startswith(ENV_PREFIX + "KAFKA_")}
    if kafka:
        data["kafka"] = kafka
    extra_keys = env.get(ENV_PREFIX + "REDACT_KEYS")
    if extra_keys:
        data["redaction"] = {"extra_keys": [k.strip() for k in extra_keys.split(",") if k.strip()]}
    return _apply(config, data, where="environment", environ=env) if data else config


def _checked_key(key: bytes, where: str) -> bytes:
    if len(key) < MIN_HASH_KEY_BYTES:
        msg = f"{where}: the hash key must be at least {MIN_HASH_KEY_BYTES} bytes (got {len(key)})"
        raise UsageError(msg)
    return key


def default_hash_key_path() -> Path:
    """Where the deployment's hash key is generated unless configured."""
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "mcp-blackbox" / "keys" / "hash.key"


_KEYS: dict[Path, bytes] = {}
_KEYS_LOCK = threading.Lock()


def _read_or_create_key(path: Path, create: bool) -> bytes:
    try:
        return _checked_key(path.read_bytes().strip(), str(path))
    except FileNotFoundError:
        if not create:
            raise
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = secrets.token_hex(32).encode("ascii")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another emitter created it first: use theirs
        return _checked_key(path.read_bytes().strip(), str(path))
    with os.fdopen(fd, "wb") as fh:
        fh.write(text + b"\n")
    log.info("mcp-blackbox: generated the deployment hash key %s (copy it to every emitter host)", path)
    return text


def resolve_hash_key(config: CaptureConfig) -> bytes:
    """The key of the payload-hash HMAC (module docstring: where it comes from). Never raises.

    A configured key file that cannot be read, or a default one that cannot be created, gives a
    per-process random key with a warning: hashes then match only within this process, but a
    dictionary still cannot recover a payload.
    """
    if config.hash_key is not None:
        return config.hash_key.get_secret_value().encode("utf-8")  # revealed here, for the HMAC only
    path = config.hash_key_file or default_hash_key_path()
    with _KEYS_LOCK:
        if path in _KEYS:
            return _KEYS[path]
        try:
            key = _read_or_create_key(path, create=config.hash_key_file is None)
        except (OSError, UsageError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            log.warning("mcp-blackbox: hash key %s unusable (%s); payload hashes of this process use a "
                        "random key and will not match other emitters", path, reason)
            key = secrets.token_hex(32).encode("ascii")
        _KEYS[path] = key
        return key


def load_config(path: str | os.PathLike[str] | None = None, *, sink: str | None = None,
                env: dict[str, str] | None = None) -> CaptureConfig:
    """The effective configuration (see the module docstring for precedence)."""
    environ = dict(os.environ if env is None else env)
    config = CaptureConfig()
    file = path or environ.get(ENV_PREFIX + "CONFIG")
    if file:
        try:
            with open(file, "rb") as fh:
                data = tomllib.load(fh)
        except FileNotFoundError:
            msg = f"capture config file not found: {file}"
            raise UsageError(msg) from None
        except tomllib.TOMLDecodeError as exc:
            msg = f"capture config {file}: {exc}"
            raise UsageError(msg) from exc
        config = _apply(config, data, where="config file", environ=environ)
    config = _from_env(config, environ)
    if sink:
        config = replace(config, sink=sink)
    if not config.sink:
        config = replace(config, sink=spool_url(state_dir() / "spool"))
    if not config.sink.startswith(SINK_PREFIXES):
        msg = f"sink must be kafka://host:port[,host:port]/topic or spool:///dir, not {config.sink!r}"
        raise UsageError(msg)
    return config
