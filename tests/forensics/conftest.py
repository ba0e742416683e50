"""Forensics test fixtures: deterministic stores written straight to Parquet in the store layout."""

from __future__ import annotations

from pathlib import Path

import pytest
from forensics_fixtures import incident_events, write_store


@pytest.fixture(scope="session")
def incident_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo incident, captured once by the real emitters and frozen in tests/data/incident.jsonl."""
    root = tmp_path_factory.mktemp("incident")
    write_store(root, incident_events())
    return root
