"""`make bench` (benchmarks/run_all.py) runs every benchmark script in benchmarks/, none forgotten."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def test_every_benchmark_script_is_in_run_all() -> None:
    spec = importlib.util.spec_from_file_location("run_all", BENCHMARKS / "run_all.py")
    assert spec is not None and spec.loader is not None
    run_all = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_all)
    scripts = {p.name for p in BENCHMARKS.glob("*.py")}
    listed = set(run_all.ORDER)
    assert listed <= scripts, f"run_all lists scripts that do not exist: {sorted(listed - scripts)}"
    assert len(run_all.ORDER) == len(listed), "a script is listed twice"
    missing = scripts - listed - set(getattr(run_all, "NOT_BENCHMARKS", ()))
    assert not missing, f"benchmarks not run by `make bench`: {sorted(missing)}"
