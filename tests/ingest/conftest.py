"""Ingest test fixtures: a per-test signing key so tests never touch ~/.config."""

from __future__ import annotations

from pathlib import Path

import pytest

# Helper modules of this folder (ingest_eventgen, ingest_helpers) import by their plain names.


@pytest.fixture
def signing_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Path of a fresh Ed25519 key (created on first use), also exported for subprocesses."""
    path = tmp_path / "keys" / "manifest.pem"
    monkeypatch.setenv("MCP_BLACKBOX_SIGNING_KEY", str(path))
    return path


@pytest.fixture(params=["kafka-python", "confluent"])
def kafka_client(request: pytest.FixtureRequest) -> str:
    """Each Kafka test runs with both client libraries (confluent only where it is installed)."""
    from mcp_blackbox.collector.ingest.sources_confluent import available

    if request.param == "confluent" and not available():
        pytest.skip("confluent-kafka is not installed (optional fast client)")
    return str(request.param)
