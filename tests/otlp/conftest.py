"""OTLP receiver test fixtures."""

from __future__ import annotations

import sys
from pathlib import Path

# Helper modules of this folder import by their plain names.
sys.path.insert(0, str(Path(__file__).resolve().parent))
