"""Each shared contract is written once (issue 12): a grep for the old literals outside its module.

The contracts: store layout (`schema/layout.py`), transport URLs and defaults (`schema/transport.py`),
server identity (`schema/identity.py`), severities (`schema/enums.py`), chain edge kinds
(`forensics/edgekinds.py`) and the CoSAI threat catalogue (`forensics/cosai.py`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mcp_blackbox.forensics.cosai import COSAI_THREATS, describe
from mcp_blackbox.forensics.edgekinds import EdgeKind
from mcp_blackbox.schema.enums import SEVERITY_ORDER, Severity
from mcp_blackbox.schema.identity import SERVER_KEY, server_key, server_key_sql

REPO = Path(__file__).resolve().parents[1]
CODE = ("cli", "collector", "forensics", "tui", "schema", "samples", "benchmarks")
_KINDS = "|".join(k.value for k in EdgeKind)

# (what, pattern, the module that owns it, an old line the pattern must catch)
CONTRACTS = [
    ("default topic", r"""["']mcp-blackbox\.events["']""", "schema/transport.py",
     'DEFAULT_TOPIC = "mcp-blackbox.events"'),
    ("sink URL prefixes", r"""startswith\(\(?["'](kafka|spool)://""", "schema/transport.py",
     'if not sink.startswith(("spool://", "kafka://")):'),
    ("store directories", r"""/\s*["'](events|quarantine|manifests|cases|integrity)["']""", "schema/layout.py",
     'return sum(1 for _ in (self.path / "events").glob("**/*.parquet"))'),
    ("store sub-paths", r"""["'](integrity/(runs|completeness\.parquet)|cases/exports|events/\*\*)""",
     "schema/layout.py",
     'COMPLETENESS = "integrity/completeness.parquet"'),
    ("store directory constants", r"""^\w+(_DIR)?(: Final)? = ["'](events|quarantine|manifests|cases)["']""",
     "schema/layout.py", 'EVENTS_DIR = "events"'),
    ("server identity in SQL", r"coalesce\(\s*(\w+\.)?server_config_name", "schema/identity.py",
     '_COUNT_DIMS = (("server", "coalesce(server_config_name, server_name)"), ("tool", "tool_name"),'),
    ("server identity in Python", r"""get\(["']server_config_name["']\)\s*or""", "schema/identity.py",
     'server = self.row.get("server_config_name") or self.row.get("server_name")'),
    ("severity order", r"""["']critical["']\s*[:,]\s*(0|["']high["'])""", "schema/enums.py",
     'order = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}'),
    ("edge kind comparisons", rf"""\bkind\s*[!=]=\s*["']({_KINDS})["']""", "forensics/edgekinds.py",
     'edges = [e for e in self.chain.edges if e.kind == "data_flow"'),
    ("edge kinds made", rf"""ChainEdge\([^)]*["']({_KINDS})["']|'({_KINDS})' AS kind""", "forensics/edgekinds.py",
     'edges.append(ChainEdge(c["event_id"], s["event_id"], "client_server", "trace", 0.95))'),
    ("CoSAI threat names", r"""["']#\d+["']\s*:\s*["']""", "forensics/cosai.py",
     'COSAI = {"#1": "Identity Spoofing", "#2": "Tool Poisoning", "#3": "Full Schema Poisoning",'),
]


def _sources() -> list[Path]:
    return sorted(p for top in CODE for p in (REPO / top).rglob("*.py"))


@pytest.mark.parametrize(("what", "pattern", "owner", "old"), CONTRACTS, ids=[c[0] for c in CONTRACTS])
def test_old_literals_only_in_the_contract_module(what: str, pattern: str, owner: str, old: str) -> None:
    regex = re.compile(pattern, re.MULTILINE)
    assert regex.search(old), f"the {what} pattern no longer catches the literal it was written for"
    hits = []
    for path in _sources():
        rel = path.relative_to(REPO).as_posix()
        if rel == owner:
            continue
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if regex.search(line):
                hits.append(f"{rel}:{n}: {line.strip()}")
    assert not hits, f"{what} written outside {owner}:\n" + "\n".join(hits)


def test_severity_rank_is_most_severe_first() -> None:
    assert [s.rank for s in SEVERITY_ORDER] == [0, 1, 2, 3, 4]
    assert SEVERITY_ORDER[0] is Severity.CRITICAL and SEVERITY_ORDER[-1] is Severity.INFO
    assert sorted(Severity, key=lambda s: s.rank) == list(SEVERITY_ORDER)


def test_server_identity_sql_and_python_agree() -> None:
    assert SERVER_KEY == "coalesce(server_config_name, server_name, server_url, 'unknown')"
    assert server_key_sql("req", unknown=False) == "coalesce(req.server_config_name, req.server_name, req.server_url)"
    assert server_key({"server_config_name": None, "server_name": None, "server_url": "https://x/mcp"}) == "https://x/mcp"
    assert server_key({"server_config_name": "crm", "server_name": "CRM", "server_url": "https://x"}) == "crm"
    assert server_key({}) == "unknown" and server_key({}, unknown=False) is None


def test_server_identity_matches_duckdb() -> None:
    duckdb = pytest.importorskip("duckdb")
    rows = [(None, None, "https://x/mcp"), ("crm", "CRM", None), (None, "self", "https://y"), (None, None, None)]
    con = duckdb.connect()
    got = con.execute(f"SELECT {SERVER_KEY} FROM (VALUES {', '.join('(?, ?, ?)' for _ in rows)}) "  # noqa: S608
                      "AS t(server_config_name, server_name, server_url)", [v for r in rows for v in r]).fetchall()
    names = ("server_config_name", "server_name", "server_url")
    assert [g[0] for g in got] == [server_key(dict(zip(names, r, strict=True))) for r in rows]


def test_cosai_catalogue_names_every_threat_the_rules_cite() -> None:
    from mcp_blackbox.forensics.detections import all_rules

    cited = {t for rule in all_rules().values() for t in rule.cosai_threats}
    assert cited and cited <= set(COSAI_THREATS)
    assert describe(("#2", "#32")) == "#2 Tool Poisoning; #32 Dependency/Update Attack (rug pull)"
