"""Detection evaluation: public attack scenarios through `mcp-blackbox wrap`, benign controls, and the corpus.

    PYTHONPATH=. .venv/bin/python benchmarks/eval_detections.py [--only SID ...] [--no-controls] [--json OUT]

Prints, per scenario, whether every expected finding fired and whether its evidence is inside the
chain its finding id opens; per rule, recall (expected findings that fired) and precision (high or
critical findings of the rule that were expected, over scenarios and benign controls); and the
tool-poisoning precision/recall on the labelled corpus (tests/data/tool_corpus/).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from samples.attacks.controls import CONTROLS, run_control  # noqa: E402
from samples.attacks.corpus import load_corpus, score_corpus  # noqa: E402
from samples.attacks.runner import SEVERITY_RANK, run_scenario  # noqa: E402
from samples.attacks.scenarios import SCENARIOS  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", default=None, help="scenario ids to run")
    parser.add_argument("--no-controls", action="store_true", help="skip the benign controls (real servers)")
    parser.add_argument("--json", help="also write the results as JSON here")
    args = parser.parse_args()
    started = time.perf_counter()
    work = Path(tempfile.mkdtemp(prefix="eval-detections-"))
    outcomes = [run_scenario(s, work / s.sid) for s in SCENARIOS if not args.only or s.sid in args.only]
    controls = [] if args.no_controls else [run_control(c, work / f"control-{c.cid}") for c in CONTROLS]

    print(f"{'scenario':<22} {'detected':<8} {'chain':<6} expected → fired (severity)")
    for o in outcomes:
        fired = all(o.matched.get(e) is not None for e in o.scenario.expect)
        chain = all(o.chained.get(e) for e in o.scenario.expect)
        parts = []
        for e in o.scenario.expect:
            f = o.matched.get(e)
            shown = f"{f.severity}{'' if o.chained.get(e) else ' nochain'}" if f else "MISSED"
            parts.append(f"{e}→{shown}")
        print(f"{o.scenario.sid:<22} {'y' if fired else 'n':<8} {'y' if chain else 'n':<6} "
              f"{'; '.join(parts)}{'  ERROR ' + o.error if o.error else ''}")
    for c in controls:
        bad = [f for f in c.findings if SEVERITY_RANK[str(f.severity)] >= SEVERITY_RANK["high"]]
        print(f"control {c.control.cid:<14} high/critical findings: {len(bad)}"
              f"{' ' + '; '.join(f'{f.rule_id}: {f.explanation[:80]}' for f in bad) if bad else ''}"
              f"{'  ERROR ' + c.error if c.error else ''}")

    rules = sorted({e.partition(':')[0] for o in outcomes for e in o.scenario.expect}
                   | {f.rule_id for o in outcomes for f in o.findings})
    print(f"\n{'rule':<24} {'recall':>8} {'precision':>10}   (expected fired / expected; expected / high+ fired)")
    table = {}
    for rule in rules:
        exp = [(o, e) for o in outcomes for e in o.scenario.expect if e.partition(':')[0] == rule]
        hit = sum(1 for o, e in exp if o.matched.get(e) is not None)
        high = [(o.scenario.sid, f) for o in outcomes for f in o.findings
                if f.rule_id == rule and SEVERITY_RANK[str(f.severity)] >= SEVERITY_RANK["high"]]
        high += [(f"control-{c.control.cid}", f) for c in controls for f in c.findings
                 if f.rule_id == rule and SEVERITY_RANK[str(f.severity)] >= SEVERITY_RANK["high"]]
        expected_sids = {o.scenario.sid for o, _e in exp}
        good = sum(1 for sid, _f in high if sid in expected_sids)
        recall = hit / len(exp) if exp else float("nan")
        precision = good / len(high) if high else float("nan")
        table[rule] = {"expected": len(exp), "fired": hit, "high_findings": len(high), "expected_high": good}
        print(f"{rule:<24} {recall:>8.2f} {precision:>10.2f}   ({hit}/{len(exp)}; {good}/{len(high)})")

    corpus = load_corpus()
    score = score_corpus(work / "corpus", corpus)
    print(f"\ntool_poisoning on the corpus ({len(corpus)} definitions, "
          f"{sum(r['label'] == 'poisoned' for r in corpus)} poisoned): precision {score.precision:.2f}, "
          f"recall {score.recall:.2f} (tp {score.tp}, fp {score.fp}, fn {score.fn}, tn {score.tn})")
    for m in score.missed:
        print(f"  missed: {m}")
    for fa in score.false_alarms:
        print(f"  false alarm: {fa[:140]}")
    detected = sum(o.detected for o in outcomes)
    print(f"\nscenarios detected with their chain: {detected}/{len(outcomes)}; "
          f"wall time {time.perf_counter() - started:.1f} s")
    if args.json:
        Path(args.json).write_text(json.dumps({
            "scenarios": {o.scenario.sid: {"detected": o.detected, "error": o.error,
                                           "expect": {e: (str(o.matched[e].severity) if o.matched.get(e) else None)
                                                      for e in o.scenario.expect}} for o in outcomes},
            "rules": table, "corpus": {"precision": score.precision, "recall": score.recall, "missed": score.missed,
                                       "false_alarms": score.false_alarms}}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
