"""Typed settings (pydantic-settings) for the collector, forensics and the Kafka clients of both sides.

Precedence, highest first — the same as the emitters' capture configuration (`collector/emit/config.py`):
explicit arguments (command-line flags) > `MCP_BLACKBOX_*` environment variables > the TOML file
(`MCP_BLACKBOX_CONFIG`, or `config_file=`) > defaults. One file serves every component: the emitters
read its top level, `[kafka]` is shared by producers and consumers, `[collect]` and `[forensics]`
belong to those commands:

    [kafka]                                  # TLS / SASL for emitters (producers) and the collector (consumer)
    security_protocol = "SASL_SSL"
    ssl_cafile = "/etc/ssl/kafka-ca.pem"
    sasl_mechanism = "SCRAM-SHA-512"
    sasl_plain_username = "collector"
    sasl_plain_password_env = "KAFKA_PASSWORD"  # *_env: read from that environment variable

    [collect]
    source = "kafka://broker1:9092/mcp-blackbox.events"
    store = "/var/lib/mcp-blackbox/store"

Secrets are `SecretStr`: they print as `**********` (`mcp-blackbox config show`) and are revealed only
when handed to a Kafka client.
"""

from __future__ import annotations

import os
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ClassVar, Final, Literal, Self

from pydantic import AliasChoices, Field, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from mcp_blackbox.schema.errors import UsageError
from mcp_blackbox.schema.kafka_security import KafkaSecurity

ENV_PREFIX: Final = "MCP_BLACKBOX_"
ENV_CONFIG: Final = "MCP_BLACKBOX_CONFIG"
MASK: Final = "**********"
DEFAULT_GROUP: Final = "mcp-blackbox-collector"


def _file_section(section: str, path: str | os.PathLike[str] | None) -> dict[str, Any]:
    """`[section]` of the settings file (empty without a file); `<name>_env` values read that variable."""
    file = path or os.environ.get(ENV_CONFIG)
    if not file:
        return {}
    try:
        with open(file, "rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        msg = f"settings file not found: {file}"
        raise UsageError(msg) from None
    except tomllib.TOMLDecodeError as exc:
        msg = f"settings file {file}: {exc}"
        raise UsageError(msg) from exc
    raw = data.get(section, {})
    if not isinstance(raw, dict):
        msg = f"settings file {file}: [{section}] must be a table"
        raise UsageError(msg)
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key.endswith("_env") and isinstance(value, str):
            out[key[: -len("_env")]] = os.environ.get(value, "")
        else:
            out[key] = value
    return out


class _FileSection(PydanticBaseSettingsSource):
    """One table of the TOML settings file as a pydantic-settings source."""

    def __init__(self, settings_cls: type[BaseSettings], section: str, path: str | None) -> None:
        super().__init__(settings_cls)
        self.data = _file_section(section, path)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self.data.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self.data.items() if k in self.settings_cls.model_fields}


#: the settings file of the `load()` in progress (nested settings, e.g. `CollectorSettings.kafka`, read it too)
_CONFIG_FILE: ContextVar[str | None] = ContextVar("mcp_blackbox_settings_file", default=None)


class _Layered(BaseSettings):
    """Arguments > environment > file section > defaults."""

    section: ClassVar[str] = ""

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
                                   env_settings: PydanticBaseSettingsSource,
                                   dotenv_settings: PydanticBaseSettingsSource,
                                   file_secret_settings: PydanticBaseSettingsSource,
                                   ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, env_settings, _FileSection(settings_cls, cls.section, _CONFIG_FILE.get())

    @classmethod
    def load(cls, config_file: str | os.PathLike[str] | None = None, **arguments: Any) -> Self:
        """The effective settings; `arguments` that are None are left to the lower layers."""
        token = _CONFIG_FILE.set(str(config_file) if config_file else None)
        try:
            return cls(**{k: v for k, v in arguments.items() if v is not None})
        finally:
            _CONFIG_FILE.reset(token)


class KafkaSettings(_Layered, KafkaSecurity):
    """TLS and SASL settings of every Kafka client (`MCP_BLACKBOX_KAFKA_*`, `[kafka]`), kafka-python names.

    The fields and `kafka_python()` / `librdkafka()` are `schema.kafka_security.KafkaSecurity`'s.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX + "KAFKA_", extra="ignore")
    section: ClassVar[str] = "kafka"


class CollectorSettings(_Layered):
    """`mcp-blackbox collect` (`MCP_BLACKBOX_COLLECT_*`, `[collect]`); flags override."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX + "COLLECT_", extra="ignore")
    section: ClassVar[str] = "collect"

    source: str | None = None
    store: Path | None = None
    group: str = DEFAULT_GROUP
    client: Literal["auto", "kafka-python", "confluent"] = "auto"
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)


class ForensicsSettings(_Layered):
    """Argument defaults of `sql`, `detect`, `chain`, `export`, `verify`, `investigate`.

    `MCP_BLACKBOX_FORENSICS_*` (and `MCP_BLACKBOX_STORE` for the store), `[forensics]`; flags override.
    """

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX + "FORENSICS_", extra="ignore", populate_by_name=True)
    section: ClassVar[str] = "forensics"

    store: Path | None = Field(default=None, validation_alias=AliasChoices(
        ENV_PREFIX + "FORENSICS_STORE", ENV_PREFIX + "STORE"))
    #: seconds before `sql` / `detect` interrupt the query (None: no limit)
    timeout: float | None = Field(default=None, gt=0)
    #: the known stores file of `verify` (None: $MCP_BLACKBOX_KNOWN_STORES, else the user's config directory)
    known_stores: Path | None = None
    threads: int | None = Field(default=None, ge=1)


def forensics_defaults() -> ForensicsSettings:
    """The forensics commands' argument defaults (`$MCP_BLACKBOX_CONFIG`, environment); errors are one line."""
    from pydantic import ValidationError

    try:
        return ForensicsSettings.load()
    except ValidationError as exc:
        msg = f"forensics settings: {_first_error(exc)}"
        raise UsageError(msg) from None


class ProxySettings(_Layered):
    """`mcp-blackbox proxy` (`MCP_BLACKBOX_PROXY_*`, `[proxy]`); flags override; no sink: the emitters' sink."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX + "PROXY_", extra="ignore")
    section: ClassVar[str] = "proxy"

    listen: str = "127.0.0.1:8808"
    upstream: str | None = None
    name: str | None = None
    #: None: the capture configuration's sink (MCP_BLACKBOX_SINK, the file's top level, else the user's spool)
    sink: str | None = None
    #: seconds to wait for the upstream server (None: no limit, SSE streams stay open)
    upstream_timeout: float | None = Field(default=None, gt=0)


def _first_error(exc: Any) -> str:
    err = exc.errors()[0]
    where = ".".join(str(part) for part in err.get("loc", ())) or "value"
    return f"{where}: {err.get('msg', exc)}"


def masked(value: Any) -> Any:
    """A settings value for printing: SecretStr (and dict keys naming a secret) as `**********`."""
    if isinstance(value, SecretStr):
        return MASK if value.get_secret_value() else ""
    if isinstance(value, BaseSettings):
        return {k: masked(getattr(value, k)) for k in type(value).model_fields}
    if isinstance(value, dict):
        return {k: MASK if _is_secret_name(str(k)) and v else masked(v) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value)
    return value


def _is_secret_name(name: str) -> bool:
    return any(word in name.lower() for word in ("password", "secret", "token", "credential"))


def add_store_argument(parser: Any, *, required: bool = True, help: str = "store directory",
                       **kwargs: Any) -> ForensicsSettings:
    """`--store` of a forensics command, defaulting to the forensics settings; returns those settings.

    Still required (when `required`) if neither MCP_BLACKBOX_STORE / MCP_BLACKBOX_FORENSICS_STORE nor the
    file's `[forensics] store` gives one.
    """
    found = forensics_defaults()
    default: Any = found.store if kwargs.get("type") is Path else str(found.store) if found.store else None
    parser.add_argument("--store", default=default, required=required and default is None,
                        help=f"{help} (default: $MCP_BLACKBOX_STORE or [forensics] store"
                             f"{f'; now {found.store}' if found.store else ''})", **kwargs)
    return found
