"""`mcp-blackbox config show [--config TOML]`: the effective settings of every component, secrets masked.

Each section is what that component would use right now from the same layers it reads (flags are not
part of this view): the emitters' capture configuration (`collector/emit/config.py`), the Kafka
TLS/SASL settings shared by producers and consumers, the collector, the HTTP proxy and forensics
(`schema/settings.py`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `mcp-blackbox config`."""
    parser.add_argument("action", choices=["show"], help="show: print the effective settings (secrets masked)")
    parser.add_argument("--config", metavar="TOML", help="settings file (default: $MCP_BLACKBOX_CONFIG)")


def effective(config_file: str | None = None) -> dict[str, Any]:
    """Every component's effective settings as plain data, secrets masked."""
    from mcp_blackbox.collector.emit.config import load_config
    from mcp_blackbox.schema.settings import (
        CollectorSettings,
        ForensicsSettings,
        KafkaSettings,
        ProxySettings,
        masked,
    )

    capture = load_config(config_file)
    emit = {f.name: getattr(capture, f.name) for f in dataclasses.fields(capture) if f.name != "redaction"}
    policy = capture.redaction
    emit["redaction"] = {"detectors": sorted({getattr(d, "name", str(d)) for d in policy.detectors}),
                         "redacted_keys": sorted(policy.secret_keys), "json_paths": list(policy.json_paths),
                         "enabled": policy.enabled}
    return {
        "emit": masked({k: str(v) if hasattr(v, "value") else v for k, v in emit.items()}),
        "kafka": masked(KafkaSettings.load(config_file)),
        "collect": masked(CollectorSettings.load(config_file)),
        "proxy": masked(ProxySettings.load(config_file)),
        "forensics": masked(ForensicsSettings.load(config_file)),
    }


def run(args: argparse.Namespace) -> int:
    """Print the effective settings."""
    print(json.dumps(effective(args.config), indent=1, default=str, ensure_ascii=False))
    return 0
