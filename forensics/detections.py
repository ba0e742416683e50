"""Threat detections: named rules mapped to CoSAI threats, run over all stored history.

Each rule is a function over a `RuleContext` (the store, an optional time scope, an optional
inventory) that returns findings: time, entities, evidence event ids and a one-line explanation.
Rules are SQL over the views (DuckDB does the scanning), with Python only where SQL is a poor fit
(content fingerprints for exfiltration). Running them over months of history is the point: a new
rule retro-hunts everything ever stored.

The rules themselves live in `rules_*.py`; this module is the registry and the runner.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from mcp_blackbox.forensics.store import Store
from mcp_blackbox.schema.enums import Severity
from mcp_blackbox.schema.errors import UsageError


@dataclass(frozen=True)
class Rule:
    """A detection rule."""

    rule_id: str
    title: str
    cosai_threats: tuple[str, ...]
    severity: Severity
    description: str
    run: Callable[[RuleContext], list[Finding]] = field(compare=False, repr=False)


@dataclass
class Finding:
    """One thing an investigator should look at, with the evidence that proves it."""

    finding_id: str
    rule_id: str
    title: str
    severity: Severity
    cosai_threats: tuple[str, ...]
    time: datetime
    entities: dict[str, str]
    evidence_event_ids: list[str]
    explanation: str

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {"finding_id": self.finding_id, "rule_id": self.rule_id, "title": self.title,
                "severity": str(self.severity), "cosai_threats": list(self.cosai_threats),
                "time": self.time.isoformat(), "entities": self.entities,
                "evidence_event_ids": self.evidence_event_ids, "explanation": self.explanation}


@dataclass
class Inventory:
    """Approved servers: config names, URLs, code hashes and packages (`name` or `name@version`)."""

    names: set[str] = field(default_factory=set)
    urls: set[str] = field(default_factory=set)
    binary_sha256: set[str] = field(default_factory=set)
    packages: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, path: Path) -> Inventory:
        """TOML or JSON with keys `names`, `urls`, `binary_sha256`, `packages` (lists of strings)."""
        try:
            text = path.read_bytes()
        except OSError as exc:
            msg = f"cannot read inventory {path}: {exc.strerror or exc}"
            raise UsageError(msg) from exc
        try:
            data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            msg = f"inventory {path} is not valid {'JSON' if path.suffix == '.json' else 'TOML'}: {exc}"
            raise UsageError(msg) from exc
        return cls(set(data.get("names", [])), set(data.get("urls", [])), set(data.get("binary_sha256", [])),
                   set(data.get("packages", [])))


@dataclass
class RuleContext:
    """What a rule runs against."""

    store: Store
    since: datetime | None = None
    until: datetime | None = None
    inventory: Inventory | None = None
    #: share work between rules: intermediate relations become temp tables, computed once per run
    materialize: bool = False
    shared: set[str] = field(default_factory=set)

    def cte(self, name: str, body: str) -> str:
        """`WITH name AS (body)` for a rule's SQL; with `materialize`, body runs once into a temp table."""
        if not self.materialize:
            return f"WITH {name} AS ({body})\n"
        if name not in self.shared:
            self.store.con.execute(f"CREATE OR REPLACE TEMP TABLE scope_{name} AS {body}")
            self.shared.add(name)
        return f"WITH {name} AS (SELECT * FROM scope_{name})\n"  # noqa: S608 - name is a constant

    def drop_shared(self) -> None:
        """Free the temp tables of this run."""
        for name in self.shared:
            self.store.con.execute(f"DROP TABLE IF EXISTS scope_{name}")
        self.shared.clear()

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        """Run `sql` (which reads `scope_events` / `scope_calls`) and return dict rows."""
        cur = self.store.con.execute(sql, params or [])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


RULES: dict[str, Rule] = {}
RuleFn = Callable[[RuleContext], list[Finding]]


def rule(rule_id: str, title: str, threats: tuple[str, ...], severity: Severity,
         description: str) -> Callable[[RuleFn], RuleFn]:
    """Register a rule function."""
    def wrap(fn: RuleFn) -> RuleFn:
        RULES[rule_id] = Rule(rule_id, title, threats, severity, description, fn)
        return fn
    return wrap


def finding(rule_id: str, time: datetime, entities: dict[str, Any], evidence: list[str], explanation: str,
            severity: Severity | None = None) -> Finding:
    """A finding of a registered rule; its id is stable for the same rule and evidence."""
    spec = RULES[rule_id]
    evidence = [e for e in dict.fromkeys(evidence) if e]
    digest = hashlib.sha256((rule_id + "|" + "|".join(sorted(evidence))).encode()).hexdigest()[:16]
    return Finding(f"{rule_id}-{digest}", rule_id, spec.title, severity or spec.severity, spec.cosai_threats, time,
                   {k: str(v) for k, v in entities.items() if v is not None}, evidence, explanation)


def _drop(con: Any, name: str) -> None:
    """Drop the temp view or table `name`, whichever it is."""
    kinds = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = ? "
                        "AND table_catalog = 'temp'", [name]).fetchall()
    for (kind,) in kinds:
        con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} IF EXISTS temp.{name}")


def _scope(ctx: RuleContext, *, materialize: bool = False) -> None:
    clauses, params = [], []
    if ctx.since:
        clauses.append("event_time >= ?")
        params.append(ctx.since)
    if ctx.until:
        clauses.append("event_time < ?")
        params.append(ctx.until)
    where = " AND ".join(clauses) or "true"
    con = ctx.store.con
    # Prepared parameters are not allowed in view definitions: bind the bounds as typed literals.
    for value in params:
        where = where.replace("?", f"TIMESTAMPTZ '{value.isoformat()}'", 1)
    con.execute(f"CREATE OR REPLACE TEMP VIEW scope_events AS SELECT * FROM events WHERE {where}")  # noqa: S608
    # Several rules read `calls` (a request/response join over the whole scope): when they run together it is
    # joined once into this session's memory (~0.7 s and ~0.4 GB per million events) instead of once per rule.
    kind = "TABLE" if materialize else "VIEW"
    _drop(con, "scope_calls")
    con.execute(f"CREATE TEMP {kind} scope_calls AS SELECT * FROM calls WHERE "  # noqa: S608
                f"{where.replace('event_time', 'start_time')}")


def _load_rules() -> None:
    # The rule modules register themselves on import.
    from mcp_blackbox.forensics import rules_behavior, rules_catalog, rules_evidence, rules_identity  # noqa: F401


#: severity → rank (0 = most severe), from the enum's own order (`schema.enums.SEVERITY_ORDER`)
SEVERITY_ORDER = {level: level.rank for level in Severity}


def run_detections(store: Store, rule_ids: list[str] | None = None, since: datetime | None = None,
                   until: datetime | None = None, inventory: Path | None = None,
                   stop: Callable[[], bool] | None = None) -> list[Finding]:
    """Run the rules (all by default) and return findings, most severe and earliest first.

    Several rules share their intermediate relations (calls, logical tool calls) through temp tables made
    once per run in this session's memory. `stop` is asked between rules; when it says so the run ends
    and returns nothing (the TUI's quit and cancel).
    """
    _load_rules()
    unknown = [r for r in rule_ids or [] if r not in RULES]
    if unknown:
        msg = f"unknown rule(s) {', '.join(unknown)}; known: {', '.join(sorted(RULES))}"
        raise UsageError(msg)
    selected = rule_ids or sorted(RULES)
    ctx = RuleContext(store, since, until, Inventory.load(inventory) if inventory else None,
                      materialize=len(selected) > 1)
    _scope(ctx, materialize=ctx.materialize)
    out: list[Finding] = []
    try:
        for rule_id in selected:
            if stop is not None and stop():
                return []
            out.extend(RULES[rule_id].run(ctx))
    finally:
        ctx.drop_shared()
        if ctx.materialize:
            _drop(store.con, "scope_calls")  # give the memory back
    out.sort(key=lambda f: (SEVERITY_ORDER[Severity(f.severity)], f.time, f.rule_id))
    return out


def register_findings(store: Store, findings: list[Finding]) -> None:
    """Fill the session's `findings` table (in memory; the evidence is never written)."""
    con = store.con
    con.execute("DELETE FROM findings")
    if not findings:
        return
    con.executemany(
        "INSERT INTO findings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(f.finding_id, f.rule_id, f.title, str(f.severity), list(f.cosai_threats), f.time,
          json.dumps(f.entities, sort_keys=True), f.evidence_event_ids, f.explanation) for f in findings])


def all_rules() -> dict[str, Rule]:
    """The registry, loaded."""
    _load_rules()
    return RULES
