"""The detection evaluation as tests: public attack scenarios through the real `mcp-blackbox wrap`.

Each scenario (samples/attacks/scenarios.py: DVMCP's ten challenges, Invariant Labs' injection
experiments, a wrap-only host) is played by the naive agent against our servers, each behind
`mcp-blackbox wrap`; every expected finding must fire (at its minimum severity) and its evidence must
be inside the chain that `mcp-blackbox chain FINDING_ID` opens. Benign controls: real PyPI/npm
servers used normally give no high or critical finding. `benchmarks/eval_detections.py` prints the
same as a table.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from samples import thirdparty  # noqa: E402
from samples.attacks.controls import CONTROLS, run_control  # noqa: E402
from samples.attacks.runner import SEVERITY_RANK, run_scenario  # noqa: E402
from samples.attacks.scenarios import SCENARIOS  # noqa: E402

BIN = Path(sys.executable).parent


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.sid for s in SCENARIOS])
def test_scenario_is_detected_with_its_chain(scenario: object, tmp_path: Path) -> None:
    outcome = run_scenario(scenario, tmp_path)  # type: ignore[arg-type]
    assert outcome.error is None, outcome.error
    fired = {e: (str(f.severity) if f else None) for e, f in outcome.matched.items()}
    assert all(fired.values()), f"missed: {fired}; steps: {outcome.steps}; findings: " + "; ".join(
        f"{f.rule_id}/{f.severity}: {f.explanation[:100]}" for f in outcome.findings)
    assert all(outcome.chained.values()), f"evidence outside the finding's chain: {outcome.chained}"


def test_wrap_only_host_is_joined_by_host_process_and_chain_accepts_key_and_finding(tmp_path: Path) -> None:
    scenario = next(s for s in SCENARIOS if s.mode == "wrap")
    outcome = run_scenario(scenario, tmp_path)
    inj = outcome.matched["injection_chain:critical"]
    assert inj is not None and inj.entities["scope"].startswith("hp-")
    assert "host process" in inj.entities["scope_kind"]
    exe = str(BIN / "mcp-blackbox")
    by_key = subprocess.run([exe, "chain", "--store", str(tmp_path / "store"), inj.entities["scope"], "--format",
                             "json"], capture_output=True, text=True, check=True, timeout=120)
    servers = {n.get("server") for n in _nodes(json.loads(by_key.stdout))}
    assert {"notes", "crm", "relay"} <= servers
    by_finding = subprocess.run([exe, "chain", "--store", str(tmp_path / "store"), inj.finding_id],
                                capture_output=True, text=True, check=True, timeout=120)
    assert "export_contacts" in by_finding.stdout and "post" in by_finding.stdout


def _nodes(tree: dict[str, object]) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    stack = list(tree.get("roots", []))  # type: ignore[arg-type]
    while stack:
        node = stack.pop()
        out.append(node)
        stack.extend(node.get("children", []))
    return out


@pytest.mark.parametrize("control", CONTROLS, ids=[c.cid for c in CONTROLS])
def test_benign_real_servers_give_no_high_or_critical_finding(control: object, tmp_path: Path) -> None:
    outcome = run_control(control, tmp_path)  # type: ignore[arg-type]
    assert outcome.error is None, outcome.error
    assert not {"mcp-server-time", "mcp-server-git", "mcp-server-fetch"} & set(outcome.skipped)  # dev group
    if thirdparty.required():  # CI: the npm servers too (make test installs them); never a silent skip
        assert not outcome.skipped, f"third-party servers missing in CI: {outcome.skipped}"
    bad = [f"{f.rule_id}/{f.severity}: {f.explanation}" for f in outcome.findings
           if SEVERITY_RANK[str(f.severity)] >= SEVERITY_RANK["high"]]
    assert bad == []
