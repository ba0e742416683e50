"""Typed messages between the bench's parts: widgets and screens post these, `app.py` routes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.message import Message

from mcp_blackbox.forensics.detections import Finding


@dataclass
class OpenFinding(Message):
    """Open a finding on its evidence (its chain, evidence highlighted)."""

    finding: Finding


@dataclass
class OpenChain(Message):
    """Build and show the chain of any id (event, trace, connection, finding, host process)."""

    ident: str


@dataclass
class OpenEvent(Message):
    """Show one event's detail."""

    event_id: str


@dataclass
class AddChip(Message):
    """Pivot the Sessions view on a value (`include` False excludes it)."""

    column: str
    value: str
    include: bool = True


@dataclass
class Brushed(Message):
    """A time range picked on the histogram (None: the whole store)."""

    window: tuple[datetime, datetime] | None


@dataclass
class QueryFailed(Message):
    """A worker's query failed: the app shows it in a dialog."""

    title: str
    error: str
