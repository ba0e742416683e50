"""The investigator's bench: overview, findings, sessions, chains, SQL — keyboard first.

Every query runs in a worker thread on its own DuckDB cursor (escape interrupts them), so the UI never
freezes; the first screen asks only cheap questions (row counts, a time histogram over the raw files)
and the detection suite fills the Findings tab when it is done.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import (
    DataTable,
    Footer,
    Header,
    Input,
    Sparkline,
    Static,
    TabbedContent,
    TabPane,
    Tree,
)
from textual.widgets.tree import TreeNode

from mcp_blackbox.forensics.chain import Chain, ChainNode, build_chain
from mcp_blackbox.forensics.detections import Finding, all_rules, register_findings, run_detections
from mcp_blackbox.forensics.output import csv_cell
from mcp_blackbox.forensics.safe import has_hidden, inert, json_text
from mcp_blackbox.forensics.sqlguard import SQLFailed, SQLRefused
from mcp_blackbox.forensics.views import DEDUP_COPIES
from mcp_blackbox.schema.errors import StoreError
from mcp_blackbox.tui.cases import Case, case_dir
from mcp_blackbox.tui.data import Bench
from mcp_blackbox.tui.render import SEVERITY_STYLE, SafeInput, safe, stamp
from mcp_blackbox.tui.screens import EventDetail, HelpScreen, NoteScreen

CSS = """
#overview-top { height: 9; }
#histogram { height: 5; border: round $accent; }
#summary { height: 3; }
.counts { width: 1fr; height: 1fr; border: round $panel; }
#finding-detail, #chain-detail { height: 8; border: round $accent; }
#chips { height: 1; }
#timeline { height: 7; border: round $panel; }
#sql-status { height: 1; }
#dialog { width: 90%; height: auto; max-height: 90%; border: thick $accent; background: $surface; padding: 1; }
#detail { width: 95%; height: 90%; border: thick $accent; background: $surface; }
EventDetail, HelpScreen, NoteScreen { align: center middle; }
"""

COSAI = {"#1": "Identity Spoofing", "#2": "Tool Poisoning", "#3": "Full Schema Poisoning",
         "#4": "Resource Content Poisoning", "#5": "Typosquatting/Confusion", "#6": "Shadow MCP Servers",
         "#8": "Privilege Escalation / Confused Deputy", "#9": "Insecure Human-in-the-Loop",
         "#11": "Prompt Injection", "#13": "Consent Fatigue", "#14": "Resource Exhaustion & Denial of Wallet",
         "#15": "Invisible Agent Activity", "#16": "Credential/Token Theft", "#18": "OAuth/Legacy Auth Weaknesses",
         "#19": "Session/Token/Handle Leakage", "#20": "Excessive Permissions", "#21": "Command Injection",
         "#22": "File System Exposure/Path Traversal", "#23": "Insufficient Integrity Checks",
         "#24": "Data Exfiltration & Corruption", "#25": "Supply Chain Compromise", "#27": "Protocol Security Gaps",
         "#32": "Dependency/Update Attack (rug pull)", "#33": "Payload Limit/DoS", "#34": "Lack of Observability"}
#: separates an event id from the number of its conflicting copy in chain tree node data ("ID#copy1")
COPY_SEP = "#copy"
_COUNT_DIMS = (("server", "coalesce(server_config_name, server_name)"), ("tool", "tool_name"),
               ("agent", "agent_id"), ("user", "user_id"))


class InvestigatorApp(App[int]):
    """`mcp-blackbox investigate`."""

    TITLE = "mcp-blackbox"
    CSS = CSS
    BINDINGS = [
        Binding("question_mark", "help", "Help"), Binding("q", "quit", "Quit"),
        Binding("1", "tab('overview')", "Overview", show=False), Binding("2", "tab('findings')", "Findings"),
        Binding("3", "tab('sessions')", "Sessions"), Binding("4", "tab('chain')", "Chain"),
        Binding("5", "tab('sql')", "SQL"), Binding("escape", "cancel", "Cancel", show=False),
        Binding("p", "pivot(True)", "Pivot"), Binding("x", "pivot(False)", "Exclude", show=False),
        Binding("s", "star", "Star"), Binding("n", "note", "Note", show=False),
        Binding("l", "toggle_live", "Live", show=False), Binding("z", "zoom(True)", "Zoom", show=False),
        Binding("Z", "zoom(False)", "Unzoom", show=False), Binding("f", "follow(True)", "Follow", show=False),
        Binding("b", "follow(False)", "Back", show=False), Binding("c", "copy", "Copy id", show=False),
        Binding("e", "export", "Export", show=False), Binding("ctrl+s", "save_query", "Save query", show=False),
    ]

    def __init__(self, store: Path, *, focus_finding: str | None = None, live: bool = False) -> None:
        super().__init__()
        self.bench = Bench(Path(store))
        self.case = Case.open(Path(store))
        self.focus_finding = focus_finding
        self.live = live
        self.findings: list[Finding] = []
        self.chain: Chain | None = None
        self.evidence: set[str] = set()
        self.chips: list[tuple[str, str, bool]] = []  # (column, value, include)
        self.window: tuple[datetime, datetime] | None = None
        self.full_window: tuple[datetime, datetime] | None = None
        self.sql_history: list[str] = list(self.case.queries)
        self.sql_index = len(self.sql_history)
        self.last_result: tuple[list[str], list[tuple[Any, ...]]] | None = None
        self._files = 0
        self.first_screen_seconds: float | None = None
        self._started = time.perf_counter()

    # -- layout -----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="overview"):
            with TabPane("Overview", id="overview"):
                yield Static("loading…", id="summary")
                yield Sparkline([], id="histogram")
                with Horizontal():
                    for dim, _ in _COUNT_DIMS:
                        table: DataTable[Any] = DataTable(id=f"count-{dim}", classes="counts", cursor_type="row")
                        table.border_title = f"by {dim}"
                        yield table
                    sev: DataTable[Any] = DataTable(id="count-severity", classes="counts", cursor_type="row")
                    sev.border_title = "findings"
                    yield sev
            with TabPane("Findings", id="findings"):
                yield DataTable(id="findings-table", cursor_type="row")
                yield Static("", id="finding-detail")
            with TabPane("Sessions", id="sessions"):
                yield SafeInput(placeholder="SQL condition on sessions, e.g. errors > 0 AND server = 'notify'",
                                id="session-filter")
                yield Static("", id="chips")
                yield DataTable(id="sessions-table", cursor_type="row")
            with TabPane("Chain", id="chain"):
                with Vertical():
                    yield Tree("no chain yet: open a finding or a session", id="chain-tree")
                    yield Static("", id="timeline")
                    yield Static("", id="chain-detail")
            with TabPane("SQL", id="sql"):
                yield SafeInput(placeholder="SELECT … (read-only; enter runs, ctrl+s saves, e exports)", id="sql-input")
                yield Static("", id="sql-status")
                yield DataTable(id="sql-table")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = inert(self.bench.path.name)
        self.load_overview()  # findings and sessions start once the first screen is painted (2 cores)
        self._files = self.bench.file_count()
        self.set_interval(2.0, self._live_tick)

    # -- overview ---------------------------------------------------------------------------------

    def _window_sql(self) -> tuple[str, list[Any]]:
        if self.window is None:
            return "true", []
        return "event_time >= ? AND event_time <= ?", [self.window[0], self.window[1]]

    @work(thread=True, exclusive=True, group="overview")
    def load_overview(self) -> None:
        where, params = self._window_sql()
        # raw_events: the first screen needs no deduplication; count/min/max come from Parquet statistics
        head = self.bench.query(f"SELECT count(*), min(event_time), max(event_time), epoch_us(min(event_time)), "  # noqa: S608
                                f"epoch_us(max(event_time)) FROM raw_events WHERE {where}", params, prepared=False)
        total, first, last, first_us, last_us = head.rows[0]
        buckets: list[float] = []
        conns = 0
        if first is not None and last is not None:
            if self.full_window is None:
                self.full_window = (first, last)
            # integer microseconds: interval arithmetic per row made this scan 14× slower (2.2 s on 10M events);
            # the connection count rides on the same scan (the empty grouping set). Divided by the bucket
            # width, never multiplied: `(t - first) * 60` overflows INT64 once the range spans ~4,900 years
            # (one event dated 9999-12-31 crashed the first screen)
            width = -(-max(last_us - first_us, 1) // 60)  # ceil: 60 buckets cover the range
            hist = self.bench.query(
                f"SELECT least(59, (epoch_us(event_time) - ?) // ?) AS b, count(*) AS n, "  # noqa: S608
                f"count(DISTINCT connection_id) AS conns, grouping(b) = 1 AS whole FROM raw_events WHERE {where} "
                f"GROUP BY GROUPING SETS ((b), ())", [first_us, width, *params],
                prepared=False)
            counts: dict[int, int] = {}
            for b, n, distinct, whole in hist.rows:
                if whole:
                    conns = int(distinct)
                else:
                    counts[int(b)] = int(n)
            buckets = [float(counts.get(i, 0)) for i in range(60)]
        # one scan for all four dimensions (grouping sets) instead of four
        cols = ", ".join(f"{expr} AS {dim}" for dim, expr in _COUNT_DIMS)
        sets = ", ".join(f"({dim})" for dim, _ in _COUNT_DIMS)
        grouped = self.bench.query(
            f"SELECT {cols}, count(*) AS n FROM raw_events WHERE {where} "  # noqa: S608
            f"GROUP BY GROUPING SETS ({sets})", params, prepared=False).rows
        dims: dict[str, list[tuple[Any, ...]]] = {dim: [] for dim, _ in _COUNT_DIMS}
        for row in grouped:
            values, n = row[: len(_COUNT_DIMS)], row[-1]
            # exactly one dimension is grouped per row; its value may be NULL (not shown)
            for (dim, _), value in zip(_COUNT_DIMS, values, strict=True):
                if value is not None:
                    dims[dim].append((value, n))
        for dim in dims:
            dims[dim] = sorted(dims[dim], key=lambda r: (-r[1], str(r[0])))[:50]  # ties in a stable order
        self.call_from_thread(self._show_overview, total, first, last, conns, buckets, dims)

    def _show_overview(self, total: int, first: datetime | None, last: datetime | None, conns: int,
                       buckets: list[float], dims: dict[str, list[tuple[Any, ...]]]) -> None:
        span = f"{stamp(first)} → {stamp(last)}" if first and last else "empty store"
        zoom = " (zoomed: Z resets)" if self.window else ""
        live = "  ● live" if self.live else ""
        self.query_one("#summary", Static).update(Text(f"{total:,} events · {conns:,} connections · {span}{zoom}"
                                                       f"{live}"))
        self.query_one("#histogram", Sparkline).data = buckets or [0.0]
        for dim, rows in dims.items():
            table = self.query_one(f"#count-{dim}", DataTable)
            cursor = table.cursor_row
            table.clear(columns=True)
            table.add_columns(dim, "events")
            for value, n in rows:
                table.add_row(safe(value, limit=40), f"{n:,}", key=f"{dim}\x00{value}")
            if rows and cursor < len(rows):
                table.move_cursor(row=cursor)  # live refresh never steals the cursor
        if self.first_screen_seconds is None:
            self.first_screen_seconds = time.perf_counter() - self._started
            self.log(f"first screen in {self.first_screen_seconds:.3f}s")
            self.load_findings()
            self.load_sessions()

    def action_zoom(self, zoom_in: bool) -> None:
        if not zoom_in or self.full_window is None:
            self.window = None
        else:
            lo, hi = self.window or self.full_window
            quarter = (hi - lo) / 4
            self.window = (lo + quarter, hi - quarter)
        self.load_overview()

    # -- findings ---------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="findings")
    def load_findings(self) -> None:
        started = time.perf_counter()
        self.bench.ensure_prepared()
        cur_store = self.bench.worker_store()
        try:
            # one run, so rules share their intermediate tables; quitting stops it between rules (and an
            # interrupt ends the current statement)
            findings = run_detections(cur_store, stop=self.bench.closing.is_set)
            if self.bench.closing.is_set():
                return
            register_findings(cur_store, findings)
            self.bench.set_findings(findings)  # the SQL console's sandbox shows them too
        except (StoreError, duckdb.Error) as exc:
            # cancelled (escape / quit interrupts the cursor) or a store problem: say so, never crash
            if self.is_running:
                self.call_from_thread(self.notify, f"detections stopped: {exc}", severity="error")
            return
        finally:
            self.bench.release(cur_store)
        self.call_from_thread(self._show_findings, findings, time.perf_counter() - started)

    def _show_findings(self, findings: list[Finding], seconds: float) -> None:
        self.findings = findings
        table = self.query_one("#findings-table", DataTable)
        table.clear(columns=True)
        table.add_columns("", "severity", "rule", "CoSAI", "time", "explanation")
        keys: set[str] = set()
        for index, f in enumerate(findings):
            # a row key per row: two findings sharing an id (evidence can make rules repeat one) must not
            # crash the table; `_finding` maps the suffixed key back
            key = f.finding_id if f.finding_id not in keys else f"{f.finding_id}\x00{index}"
            keys.add(key)
            star = "★" if f.finding_id in self.case.stars else ""
            table.add_row(star, Text(str(f.severity), style=SEVERITY_STYLE.get(str(f.severity), "")), f.rule_id,
                          " ".join(f.cosai_threats), f.time.strftime("%Y-%m-%d %H:%M:%S"),
                          safe(f.explanation, limit=140), key=key)
        sev = self.query_one("#count-severity", DataTable)
        sev.clear(columns=True)
        sev.add_columns("severity", "findings")
        for level in ("critical", "high", "medium", "low", "info"):
            n = sum(1 for f in findings if str(f.severity) == level)
            if n:
                sev.add_row(Text(level, style=SEVERITY_STYLE[level]), str(n), key=f"severity\x00{level}")
        self.notify(f"{len(findings)} findings")
        self.log(f"detections took {seconds:.2f}s")
        if self.focus_finding:
            target = next((f for f in findings if f.finding_id == self.focus_finding), None)
            self.focus_finding = None
            if target is not None:
                self.action_tab("findings")
                table.move_cursor(row=findings.index(target))
                self.open_finding(target)

    @on(DataTable.RowHighlighted, "#findings-table")
    def _finding_highlighted(self, event: DataTable.RowHighlighted) -> None:
        finding = self._finding(event.row_key.value)
        if finding is None:
            return
        rule = all_rules().get(finding.rule_id)
        threats = "; ".join(f"{t} {COSAI.get(t, '')}" for t in finding.cosai_threats)
        text = Text()
        text.append(f"{finding.title}\n", style="bold")
        text.append(f"CoSAI: {threats}\n", style="cyan")
        text.append(inert(rule.description if rule else "") + "\n")
        text.append(f"entities: {inert(json.dumps(finding.entities), limit=200)}\n", style="dim")
        text.append(f"evidence: {inert(', '.join(finding.evidence_event_ids[:6]))}", style="dim")
        self.query_one("#finding-detail", Static).update(text)

    def _finding(self, key: str | None) -> Finding | None:
        ident, _, index = (key or "").partition("\x00")
        if index.isdigit() and int(index) < len(self.findings):
            return self.findings[int(index)]
        return next((f for f in self.findings if f.finding_id == ident), None)

    @on(DataTable.RowSelected, "#findings-table")
    def _finding_selected(self, event: DataTable.RowSelected) -> None:
        finding = self._finding(event.row_key.value)
        if finding is not None:
            self.open_finding(finding)

    def open_finding(self, finding: Finding) -> None:
        """Show the finding's chain with its evidence highlighted."""
        self.evidence = set(finding.evidence_event_ids)
        ident = next((e for e in finding.evidence_event_ids if not e.startswith("emitter:")), None)
        if ident:
            self.load_chain(ident)

    # -- sessions ---------------------------------------------------------------------------------

    def _session_where(self) -> tuple[str, list[Any]]:
        clauses, params = [], []
        for column, value, include in self.chips:
            if column in ("server", "agent_id", "user_id", "connection_id", "host_name", "client_info_name"):
                clauses.append(f"{'' if include else 'NOT '}coalesce({column} = ?, false)")
                params.append(value)
            elif column == "tool":
                clauses.append(f"{'' if include else 'NOT '}list_contains(tools_used, ?)")
                params.append(value)
        condition = self.query_one("#session-filter", Input).value.strip()
        if condition:
            clauses.append(f"({condition})")
        return " AND ".join(clauses) or "true", params

    @work(thread=True, exclusive=True, group="sessions")
    def load_sessions(self) -> None:
        where, params = self._session_where()
        sql = (f"SELECT connection_id, first_time, server, agent_id, user_id, events, calls, errors, "  # noqa: S608
               f"emitter_roles, conversation_ids FROM sessions WHERE {where} ORDER BY first_time DESC LIMIT 1000")
        try:
            self.bench.check(sql)
            # a typed filter condition is user SQL: it runs in the sandbox like the console's
            typed = bool(self.query_one("#session-filter", Input).value.strip())
            result = self.bench.sql(sql, params) if typed else self.bench.query(sql, params)
        except (SQLRefused, SQLFailed) as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
            return
        except Exception as exc:  # noqa: BLE001 - a bad filter condition is the user's to fix, not a crash
            self.call_from_thread(self.notify, " ".join(str(exc).split())[:200], severity="error")
            return
        self.call_from_thread(self._show_sessions, result.columns, result.rows)

    def _show_sessions(self, columns: list[str], rows: list[tuple[Any, ...]]) -> None:
        table = self.query_one("#sessions-table", DataTable)
        table.clear(columns=True)
        table.add_columns(*columns)
        for row in rows:
            table.add_row(*(safe(v, limit=40) for v in row), key=str(row[0]))
        chips = Text()
        for column, value, include in self.chips:
            chips.append(f" {'+' if include else '−'}{column}={inert(value, limit=30)} ",
                         style="black on green" if include else "white on red")
            chips.append(" ")
        self.query_one("#chips", Static).update(chips or Text("no filters (p pivots on a cell, x excludes)",
                                                              style="dim"))

    @on(Input.Submitted, "#session-filter")
    def _filter_submitted(self) -> None:
        self.load_sessions()

    @on(DataTable.RowSelected, "#sessions-table")
    def _session_selected(self, event: DataTable.RowSelected) -> None:
        if event.row_key.value:
            self.evidence = set()
            self.load_chain(event.row_key.value)

    @on(DataTable.RowSelected, ".counts")
    def _count_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value or ""
        dim, _, value = key.partition("\x00")
        if dim == "severity":
            self.action_tab("findings")
            return
        column = {"server": "server", "tool": "tool", "agent": "agent_id", "user": "user_id"}[dim]
        self._add_chip(column, value, True)

    def _add_chip(self, column: str, value: str, include: bool) -> None:
        self.chips.append((column, value, include))
        self.action_tab("sessions")
        self.load_sessions()

    def action_pivot(self, include: bool) -> None:
        table = self.focused if isinstance(self.focused, DataTable) else None
        if table is None or table.row_count == 0:
            return
        coord = table.cursor_coordinate
        column = str(table.ordered_columns[coord.column].label)
        value = table.get_cell_at(coord)
        text = value.plain if isinstance(value, Text) else str(value)
        mapping = {"server": "server", "agent_id": "agent_id", "user_id": "user_id", "connection_id": "connection_id",
                   "agent": "agent_id", "user": "user_id", "tool": "tool"}
        if column not in mapping:
            self.notify(f"pivot works on server, tool, agent, user and connection cells, not {column}")
            return
        self._add_chip(mapping[column], text, include)

    # -- chain ------------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="chain")
    def load_chain(self, ident: str) -> None:
        work = self.bench.worker_store()  # chains read raw_events: no need to wait for preparation
        try:
            chain = build_chain(work, ident)
        except (StoreError, duckdb.Error) as exc:
            if self.is_running:
                self.call_from_thread(self.notify, str(exc), severity="error")
            return
        finally:
            self.bench.release(work)
        self.call_from_thread(self._show_chain, chain)

    def _label(self, node: ChainNode) -> Text:
        style = "bold reverse red" if node.event_id in self.evidence else ""
        text = Text(style=style)
        text.append(node.event_time.strftime("%H:%M:%S.%f")[:-3] + " ", style="dim")
        if node.edge_kind:
            text.append(f"[{node.edge_kind}/{node.inferred_by}] ", style="cyan")
        text.append(inert(node.summary, limit=110))
        extras = []
        if node.status:
            extras.append(node.status)
        if node.duration_ms is not None:
            extras.append(f"{node.duration_ms:.1f}ms")
        if node.tool_definition_sha256:
            extras.append(f"def {node.tool_definition_sha256[:10]}")
        if extras:
            text.append(f"  ({'; '.join(extras)})", style="green")
        if node.flags:
            text.append("  ⚑ " + ",".join(node.flags), style="bold yellow")
        if node.conflict:
            text.append(f"  ⚠ conflicting copy {node.copy + 1}/{node.copies}", style="bold red")
        if node.data_from:
            text.append("  ⇠ data", style="bold magenta")
        if node.data_to:
            text.append("  data ⇢", style="bold magenta")
        if node.event_id in self.case.stars:
            text.append(" ★", style="yellow")
        return text

    def _show_chain(self, chain: Chain) -> None:
        self.chain = chain
        tree: Tree[str] = self.query_one("#chain-tree", Tree)
        tree.clear()
        tree.root.set_label(Text(f"{chain.ident_kind} {inert(chain.ident)} — {len(chain.event_ids)} events, "
                                 f"{len(chain.edges)} edges"))
        first_evidence: TreeNode[str] | None = None

        def add(parent: TreeNode[str], node: ChainNode) -> None:
            nonlocal first_evidence
            data = f"{node.event_id}{COPY_SEP}{node.copy}" if node.copy else node.event_id  # which conflicting copy
            child = parent.add(self._label(node), data=data, expand=True, allow_expand=bool(node.children))
            if node.event_id in self.evidence and first_evidence is None:
                first_evidence = child
            for c in node.children:
                add(child, c)

        for root in chain.roots:
            add(tree.root, root)
        tree.root.expand()
        self._show_timeline(chain)
        self.action_tab("chain")
        tree.focus()
        if first_evidence is not None:
            self.call_after_refresh(tree.move_cursor, first_evidence)  # after layout gives nodes their lines

    def _show_timeline(self, chain: Chain) -> None:
        """Per-session spans: one bar per call, scaled to the chain's time range."""
        calls = [chain.rows[e] for e in chain.event_ids if chain.rows[e]["method"] == "tools/call"
                 and chain.rows[e]["message_kind"] in ("result", "error") and chain.rows[e]["duration_ms"] is not None
                 and chain.rows[e]["emitter_role"] == "client"]
        out = Text()
        if calls:
            t0 = min(r["event_time"].timestamp() - r["duration_ms"] / 1000 for r in calls)
            t1 = max(r["event_time"].timestamp() for r in calls)
            width = 60
            for r in calls[:5]:
                start = r["event_time"].timestamp() - r["duration_ms"] / 1000
                a = int((start - t0) / max(t1 - t0, 1e-6) * width)
                b = max(a + 1, int((r["event_time"].timestamp() - t0) / max(t1 - t0, 1e-6) * width))
                out.append(f"{inert(str(r['server']), limit=10):>10}.{inert(str(r['tool_name']), limit=14):<14} ")
                out.append(" " * a + "█" * (b - a), style="red" if r["event_id"] in self.evidence else "green")
                out.append(f" {r['duration_ms']:.1f}ms\n")
            if len(calls) > 5:
                out.append(f"… {len(calls) - 5} more calls", style="dim")
        self.query_one("#timeline", Static).update(out)

    @on(Tree.NodeHighlighted, "#chain-tree")
    def _node_highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        event_id, _, copy = str(event.node.data).partition(COPY_SEP)
        if self.chain is None or event_id not in self.chain.rows:
            return
        row = self.chain.conflicts[event_id][int(copy)] if copy else self.chain.rows[event_id]
        text = Text()
        text.append(f"{row['event_id']}  {row['emitter_role']} {row['event_type']}", style="bold")
        text.append(f"  trace {inert(row['trace_id'] or '—')}  tool_call {inert(row['tool_call_id'] or '—')}\n",
                    style="dim")
        if row["tool_definition_sha256"]:
            text.append(f"definition in force: {row['tool_definition_sha256']}\n", style="cyan")
        text.append(inert(row["arguments_json"] or row["result_json"] or "", limit=300))
        self.query_one("#chain-detail", Static).update(text)

    @on(Tree.NodeSelected, "#chain-tree")
    def _node_selected(self, event: Tree.NodeSelected[str]) -> None:
        if event.node.data and not str(event.node.data).startswith("connection:"):
            self.open_event(str(event.node.data))

    @work(thread=True, group="detail")
    def open_event(self, event_id: str) -> None:
        """Event detail for any event id."""
        # one event: filter raw_events, deduplicate after (no need to wait for `events` to be prepared); copies
        # with different content (an evidence conflict) are all kept, in ingest order: "ID#copy" picks one
        event_id, _, copy = event_id.partition(COPY_SEP)
        res = self.bench.query(f"SELECT * EXCLUDE (date) FROM raw_events WHERE event_id = ? {DEDUP_COPIES} "  # noqa: S608
                               "ORDER BY ingest_time NULLS LAST", [event_id], prepared=False)
        index = int(copy) if copy.isdigit() else 0
        if res.rows:
            row = res.rows[min(index, len(res.rows) - 1)]
            self.call_from_thread(self.push_screen, EventDetail(dict(zip(res.columns, row, strict=True))))

    def action_follow(self, forward: bool) -> None:
        if self.chain is None:
            return
        tree: Tree[str] = self.query_one("#chain-tree", Tree)
        current = tree.cursor_node.data if tree.cursor_node else None
        edges = [e for e in self.chain.edges if e.kind == "data_flow"
                 and (e.src_event_id if forward else e.dst_event_id) in self._call_ids(current)]
        if not edges:
            self.notify("no data-flow edge " + ("from" if forward else "into") + " this call")
            return
        target = edges[0].dst_event_id if forward else edges[0].src_event_id

        def find(node: TreeNode[str]) -> TreeNode[str] | None:
            if node.data == target:
                return node
            for child in node.children:
                hit = find(child)
                if hit is not None:
                    return hit
            return None

        hit = find(tree.root)
        if hit is not None:
            tree.move_cursor(hit)

    def _call_ids(self, event_id: str | None) -> set[str]:
        """The event and its request/response partner (data flows from results to requests)."""
        if not event_id or self.chain is None:
            return set()
        ids = {event_id}
        for e in self.chain.edges:
            if e.kind == "response" and event_id in (e.src_event_id, e.dst_event_id):
                ids |= {e.src_event_id, e.dst_event_id}
        return ids

    # -- SQL --------------------------------------------------------------------------------------

    @on(Input.Submitted, "#sql-input")
    def _sql_submitted(self, event: Input.Submitted) -> None:
        sql = event.value.strip()
        if not sql:
            return
        self.sql_history.append(sql)
        self.sql_index = len(self.sql_history)
        self.query_one("#sql-status", Static).update(Text("running… (escape cancels)", style="yellow"))
        self.run_sql(sql)

    @work(thread=True, exclusive=True, group="sql")
    def run_sql(self, sql: str) -> None:
        try:
            result = self.bench.sql(sql)  # the sandbox: no file access, catalog read-only
        except (SQLRefused, SQLFailed) as exc:
            self.call_from_thread(self._sql_status, str(exc), "red")
            return
        except Exception as exc:  # noqa: BLE001 - DuckDB errors and interrupts are shown, never raised
            self.call_from_thread(self._sql_status, " ".join(str(exc).split())[:300], "red")
            return
        if result is not None:
            self.call_from_thread(self._show_sql, result.columns, result.rows, result.seconds)

    def _sql_status(self, text: str, style: str) -> None:
        self.query_one("#sql-status", Static).update(Text(inert(text), style=style))

    def _show_sql(self, columns: list[str], rows: list[tuple[Any, ...]], seconds: float) -> None:
        self.last_result = (columns, rows)
        table = self.query_one("#sql-table", DataTable)
        table.clear(columns=True)
        table.add_columns(*(safe(c, limit=60) for c in columns))  # a str label would be parsed as markup
        for row in rows[:5000]:
            table.add_row(*(safe(v, limit=60) for v in row))
        more = f" (showing 5,000 of {len(rows):,})" if len(rows) > 5000 else ""
        self._sql_status(f"{len(rows):,} rows in {seconds:.3f}s{more}", "green")

    def on_key(self, event: Any) -> None:
        sql_input = self.query_one("#sql-input", Input)
        if self.focused is sql_input and event.key in ("up", "down") and self.sql_history:
            self.sql_index = max(0, min(len(self.sql_history), self.sql_index + (-1 if event.key == "up" else 1)))
            sql_input.value = self.sql_history[self.sql_index] if self.sql_index < len(self.sql_history) else ""
            event.stop()

    def action_save_query(self) -> None:
        sql = self.query_one("#sql-input", Input).value.strip()
        if sql:
            if self.case_write(self.case.save_query, sql) is not None:
                self.notify("query saved to the case")

    def action_export(self) -> None:
        if self.last_result is None:
            self.notify("run a query first (SQL tab)")
            return
        columns, rows = self.last_result
        try:
            out_dir = case_dir(self.bench.path, "exports")  # refuses a symbolic link out of the store
        except StoreError as exc:
            self.notify(str(exc), severity="error")
            return
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = out_dir / f"query-{time.strftime('%Y%m%dT%H%M%S')}"
        # the CLI's policy (forensics/output.py): CSV inert and formula-guarded, JSONL exact with escapes
        with open(stem.with_suffix(".csv"), "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow([csv_cell(c) for c in columns])
            writer.writerows([csv_cell(v) for v in row] for row in rows)
        with open(stem.with_suffix(".jsonl"), "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json_text(dict(zip(columns, row, strict=True)), default=str, ensure_ascii=False) + "\n")
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.table({c: [None if v is None else str(v) for v in col] for c, col in
                          zip(columns, zip(*rows, strict=True) if rows else [[] for _ in columns], strict=True)})
        pq.write_table(table, stem.with_suffix(".parquet"))
        self.notify(f"exported {len(rows):,} rows to {stem}.{{csv,jsonl,parquet}}")

    # -- case work, live, misc --------------------------------------------------------------------

    def _selected_ident(self) -> tuple[str, str] | None:
        focused = self.focused
        if isinstance(focused, Tree) and focused.cursor_node and focused.cursor_node.data:
            return str(focused.cursor_node.data).partition(COPY_SEP)[0], "event"
        if isinstance(focused, DataTable) and focused.id == "findings-table" and focused.row_count:
            key = focused.coordinate_to_cell_key(focused.cursor_coordinate).row_key.value
            finding = self._finding(key)
            return (finding.finding_id, "finding") if finding else None
        return None

    def action_star(self) -> None:
        selected = self._selected_ident()
        if selected is None:
            self.notify("select a finding or a chain node to star")
            return
        starred = self.case_write(self.case.toggle_star, *selected)
        if starred is None:
            return
        self.notify(("starred " if starred else "unstarred ") + selected[0])

    def action_note(self) -> None:
        selected = self._selected_ident()
        if selected is None:
            self.notify("select a finding or a chain node first")
            return

        def save(text: str | None) -> None:
            if text:
                if self.case_write(self.case.add_note, selected[0], text) is not None:
                    self.notify("note saved")

        self.push_screen(NoteScreen(selected[0]), save)

    def action_copy(self) -> None:
        selected = self._selected_ident()
        if selected:
            self.copy_ident(selected[0])

    def case_write(self, write: Callable[..., Any], *args: Any) -> Any:
        """Run a case write (star, note, saved query); a refused or failed write is a notification, not a crash.

        Returns the write's result (True when it returns nothing), None when it failed.
        """
        try:
            result = write(*args)
        except (StoreError, OSError) as exc:
            self.notify(f"case not saved: {exc}", severity="error")
            return None
        return True if result is None else result

    def copy_ident(self, ident: str) -> None:
        """Copy an id; one holding control/bidi/invisible characters is copied in its inert form.

        The clipboard travels safely (OSC 52 is base64), but pasting raw ESC sequences into a shell or an
        editor would replay them (`\x1b[201~` even ends a bracketed paste); the exact value stays in the
        event detail and in `sql --format json`.
        """
        if has_hidden(ident):
            self.copy_to_clipboard(inert(ident))
            self.notify(f"copied {inert(ident)} (inert form: the id holds hidden or control characters)",
                        severity="warning")
        else:
            self.copy_to_clipboard(ident)
            self.notify(f"copied {ident}")

    def notify(self, message: str, *, title: str = "", severity: Any = "information", timeout: float | None = None,
               markup: bool = True) -> None:
        """Every toast inert: messages quote evidence (ids, error texts), never markup or escapes.

        Textual parses a toast's message as markup (`[@click=app.quit]` would be a live action) and writes its
        characters to the terminal as they are (an OSC sequence would set the title or the clipboard).
        """
        del markup
        super().notify(inert(message), title=inert(title), severity=severity, timeout=timeout, markup=False)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    _TAB_FOCUS = {"overview": "#count-server", "findings": "#findings-table", "sessions": "#sessions-table",
                  "chain": "#chain-tree", "sql": "#sql-input"}

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.query_one(self._TAB_FOCUS[tab]).focus()

    def action_cancel(self) -> None:
        n = self.bench.cancel_all()
        if n:
            self.notify(f"cancelled {n} running quer{'y' if n == 1 else 'ies'}")

    def action_toggle_live(self) -> None:
        self.live = not self.live
        self.notify("live mode " + ("on: new files are picked up" if self.live else "off"))
        self.load_overview()

    def _live_tick(self) -> None:
        if not self.live:
            return
        files = self.bench.file_count()
        if files != self._files:
            self._files = files
            self.load_overview()
            self.load_sessions()  # its query re-prepares `events` for the new files first

    def on_unmount(self) -> None:
        self.bench.cancel_all()
        self.bench.close()
