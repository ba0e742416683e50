"""Case work (stars, notes, saved queries): the model lives in `forensics/cases.py` (no Textual), so the
case bundle (`forensics/casebundle.py`) and the CLI can read cases too; re-exported here for the TUI."""

from __future__ import annotations

from mcp_blackbox.forensics.cases import Case, _load, case_dir

__all__ = ["Case", "_load", "case_dir"]
