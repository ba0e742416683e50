"""Kafka TLS/SASL options (kafka-python names) as a plain pydantic model: the light path for emitters.

`schema.settings.KafkaSettings` (pydantic-settings: `MCP_BLACKBOX_KAFKA_*`, the file's `[kafka]`) is
this model plus its sources, so the collector's consumer and the emitters' producers are checked by the
same fields. The emitters validate their `[kafka]` table with this class directly: importing it costs
only pydantic (which an emitter imports anyway for event validation), not pydantic-settings.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, SecretStr

#: the option names of this model (`collector/emit/config.py` splits the `[kafka]` table with them)
SECURITY_KEYS: Final = frozenset({"security_protocol", "ssl_cafile", "ssl_certfile", "ssl_keyfile", "ssl_password",
                                  "ssl_check_hostname", "sasl_mechanism", "sasl_plain_username",
                                  "sasl_plain_password"})


class KafkaSecurity(BaseModel):
    """TLS and SASL settings of a Kafka client; secrets are SecretStr."""

    model_config = ConfigDict(extra="ignore")

    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_password: SecretStr | None = None
    ssl_check_hostname: bool = True
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"] | None = None
    sasl_plain_username: str | None = None
    sasl_plain_password: SecretStr | None = None

    def kafka_python(self, *, reveal: bool = True) -> dict[str, Any]:
        """Options for kafka-python's producer/consumer (only what differs from its defaults).

        `reveal=False` keeps secrets as `SecretStr` (the emitters' `CaptureConfig.kafka_options`: they are
        revealed only where the KafkaProducer is built).
        """
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None or value == type(self).model_fields[name].default:
                continue
            out[name] = (value.get_secret_value() if reveal else value) if isinstance(value, SecretStr) else \
                str(value) if isinstance(value, Path) else value
        return out

    def librdkafka(self) -> dict[str, Any]:
        """The same for confluent-kafka (librdkafka property names)."""
        names = {"security_protocol": "security.protocol", "ssl_cafile": "ssl.ca.location",
                 "ssl_certfile": "ssl.certificate.location", "ssl_keyfile": "ssl.key.location",
                 "ssl_password": "ssl.key.password", "sasl_mechanism": "sasl.mechanisms",
                 "sasl_plain_username": "sasl.username", "sasl_plain_password": "sasl.password"}
        out = {names[k]: v for k, v in self.kafka_python().items() if k in names}
        if not self.ssl_check_hostname:
            out["ssl.endpoint.identification.algorithm"] = "none"
        return out
