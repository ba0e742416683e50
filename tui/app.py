"""The investigator's bench: overview, findings, sessions, chains, SQL — keyboard first.

`app.py` composes the parts (`widgets/`, `screens/`, `commands.py`, `app.tcss`) and routes their
messages (`messages.py`); the queries are forensics' (`forensics/overview.py`, `investigate.py`,
`finding_chain.py`, `detections.py`). Every query runs in a worker thread on its own DuckDB cursor
(escape interrupts them; `exit_on_error=False`, a failure is a dialog), so the UI never freezes; the
first screen asks only cheap questions (row counts, a time histogram over the raw files) and the
detection suite fills the Findings tab when it is done.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, Footer, Header, Input, Static, TabbedContent, TabPane, Tree
from textual.worker import Worker, WorkerState

from mcp_blackbox.forensics.chain import Chain, build_chain
from mcp_blackbox.forensics.detections import Finding, register_findings, run_detections
from mcp_blackbox.forensics.edgekinds import EdgeKind
from mcp_blackbox.forensics.export_result import export_query_result
from mcp_blackbox.forensics.finding_chain import chain_for_found
from mcp_blackbox.forensics.investigate import event_row, sessions_sql
from mcp_blackbox.forensics.overview import COUNT_DIMS, overview
from mcp_blackbox.forensics.safe import has_hidden, inert
from mcp_blackbox.forensics.sqlguard import SQLFailed, SQLRefused
from mcp_blackbox.forensics.timeparse import parse_time
from mcp_blackbox.schema.enums import SEVERITY_ORDER
from mcp_blackbox.schema.errors import StoreError, UsageError
from mcp_blackbox.tui.cases import Case, case_dir
from mcp_blackbox.tui.commands import BenchCommands
from mcp_blackbox.tui.data import Bench
from mcp_blackbox.tui.messages import AddChip, Brushed, OpenChain, OpenEvent, OpenFinding, QueryFailed
from mcp_blackbox.tui.render import SEVERITY_STYLE, SafeInput, safe, stamp
from mcp_blackbox.tui.screens import ErrorDialog, EventDetail, HelpScreen, NoteScreen, SwimlaneScreen
from mcp_blackbox.tui.widgets.chain_tree import ChainTree
from mcp_blackbox.tui.widgets.finding_detail import FindingDetail
from mcp_blackbox.tui.widgets.histogram import TimeHistogram
from mcp_blackbox.tui.widgets.search_bar import SearchBar
from mcp_blackbox.tui.widgets.timeline import ChainTimeline

_COUNT_DIMS = COUNT_DIMS
#: separates an event id from the number of its conflicting copy in chain tree node data ("ID#copy1")
COPY_SEP = "#copy"


def _plain(value: Any) -> str:
    return value.plain if isinstance(value, Text) else str(value)


class InvestigatorApp(App[int]):
    """`mcp-blackbox investigate`."""

    TITLE = "mcp-blackbox"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {BenchCommands}
    BINDINGS = [
        Binding("question_mark", "help", "Help"), Binding("q", "quit", "Quit"),
        Binding("1", "tab('overview')", "Overview", show=False), Binding("2", "tab('findings')", "Findings"),
        Binding("3", "tab('sessions')", "Sessions"), Binding("4", "tab('chain')", "Chain"),
        Binding("5", "tab('sql')", "SQL"), Binding("escape", "cancel", "Cancel", show=False),
        Binding("slash", "search", "Search"), Binding("ctrl+n", "search_step(True)", "Next hit", show=False),
        Binding("ctrl+b", "search_step(False)", "Previous hit", show=False),
        Binding("w", "swimlane", "Swimlanes", show=False), Binding("d", "diff", "Diff", show=False),
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
        self.search_text = ""
        self._search_target: Any = None
        self._files = 0
        self.first_screen_seconds: float | None = None
        self._started = time.perf_counter()

    # -- layout -----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="overview"):
            with TabPane("Overview", id="overview"):
                yield Static("loading…", id="summary")
                yield TimeHistogram(id="time-histogram")
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
                yield FindingDetail("", id="finding-detail")
            with TabPane("Sessions", id="sessions"):
                yield SafeInput(placeholder="SQL condition on sessions, e.g. errors > 0 AND server = 'notify'",
                                id="session-filter")
                yield Static("", id="chips")
                yield DataTable(id="sessions-table", cursor_type="row")
            with TabPane("Chain", id="chain"):
                with VerticalScroll(id="chain-pane"):
                    yield ChainTree("no chain yet: open a finding or a session", id="chain-tree")
                    yield Static("", id="chain-diff")
                    yield Static("", id="chain-detail")
                    yield ChainTimeline("", id="timeline")
            with TabPane("SQL", id="sql"):
                yield SafeInput(placeholder="SELECT … (read-only; enter runs, ctrl+s saves, e exports)", id="sql-input")
                yield Static("", id="sql-status")
                yield DataTable(id="sql-table")
        yield SearchBar(id="search-bar")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = inert(self.bench.path.name)
        self.load_overview()  # findings and sessions start once the first screen is painted (2 cores)
        self._files = self.bench.file_count()
        self.set_interval(2.0, self._live_tick)

    # -- errors -----------------------------------------------------------------------------------

    def fail(self, title: str, exc: BaseException | str) -> None:
        """From a worker thread: show a failed query in a dialog (the app goes on)."""
        if self.is_running:
            self.call_from_thread(self.post_message, QueryFailed(title, str(exc)))

    @on(QueryFailed)
    def _query_failed(self, message: QueryFailed) -> None:
        if isinstance(self.screen, ErrorDialog):
            return  # one dialog at a time; the first failure is the one to read
        self.push_screen(ErrorDialog(message.title, message.error))

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that raised something no handler expected: a dialog, never an ended app."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.post_message(QueryFailed(f"{event.worker.name or 'query'} failed", str(event.worker.error)))

    # -- overview ---------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="overview", exit_on_error=False)
    def load_overview(self) -> None:
        # the queries are forensics' (`forensics/overview.py`); they run on this bench's cancellable cursors
        try:
            view = overview(lambda sql, params: self.bench.query(sql, params, prepared=False).rows, self.window)
        except (StoreError, duckdb.Error) as exc:
            self.fail("overview query failed", exc)
            return
        if view.first is not None and view.last is not None and self.full_window is None:
            self.full_window = (view.first, view.last)
        self.call_from_thread(self._show_overview, view.total, view.first, view.last, view.connections,
                              view.buckets, view.dims)

    def _show_overview(self, total: int, first: datetime | None, last: datetime | None, conns: int,
                       buckets: list[float], dims: dict[str, list[tuple[Any, ...]]]) -> None:
        span = f"{stamp(first)} → {stamp(last)}" if first and last else "empty store"
        zoom = " (zoomed: Z resets)" if self.window else ""
        live = "  ● live" if self.live else ""
        self.query_one("#summary", Static).update(Text(f"{total:,} events · {conns:,} connections · {span}{zoom}"
                                                       f"{live}"))
        lo, hi = self.window or (first, last)
        self.query_one(TimeHistogram).show(buckets, lo, hi)
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

    @on(Brushed)
    def _brushed(self, message: Brushed) -> None:
        self.window = message.window
        self.load_overview()

    def jump_to_time(self, text: str) -> None:
        """Zoom the overview to a window around a time (an eighth of the store's span, at least a minute)."""
        try:
            at = parse_time(text)
        except UsageError as exc:
            self.notify(str(exc), severity="error")
            return
        if at is None:
            return
        span = (self.full_window[1] - self.full_window[0]) / 16 if self.full_window else timedelta(minutes=1)
        span = max(span, timedelta(minutes=1))
        self.window = (at - span, at + span)
        self.action_tab("overview")
        self.load_overview()

    # -- findings ---------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="findings", exit_on_error=False)
    def load_findings(self) -> None:
        started = time.perf_counter()
        try:
            self.bench.ensure_prepared()
        except (StoreError, duckdb.Error) as exc:
            self.fail("preparing the store failed", exc)
            return
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
            if self.is_running and not self.bench.closing.is_set():
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
        for level in SEVERITY_ORDER:
            n = sum(1 for f in findings if str(f.severity) == level)
            if n:
                sev.add_row(Text(str(level), style=SEVERITY_STYLE[level]), str(n), key=f"severity\x00{level}")
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
        if finding is not None:
            self.query_one(FindingDetail).show(finding)

    def _finding(self, key: str | None) -> Finding | None:
        ident, _, index = (key or "").partition("\x00")
        if index.isdigit() and int(index) < len(self.findings):
            return self.findings[int(index)]
        return next((f for f in self.findings if f.finding_id == ident), None)

    @on(DataTable.RowSelected, "#findings-table")
    def _finding_selected(self, event: DataTable.RowSelected) -> None:
        finding = self._finding(event.row_key.value)
        if finding is not None:
            self.post_message(OpenFinding(finding))

    @on(OpenFinding)
    def _open_finding_message(self, message: OpenFinding) -> None:
        self.open_finding(message.finding)

    def open_finding(self, finding: Finding) -> None:
        """Show the chain of every evidence event of the finding, the evidence highlighted (and, when the
        evidence holds a changed tool definition, its diff)."""
        self.evidence = {e for e in finding.evidence_event_ids if e}
        self.load_finding_chain(finding)

    @work(thread=True, exclusive=True, group="chain", exit_on_error=False)
    def load_finding_chain(self, finding: Finding) -> None:
        from mcp_blackbox.forensics.investigate import definition_diff

        work = self.bench.worker_store()
        try:
            chain = chain_for_found(work, finding)
        except (StoreError, duckdb.Error) as exc:
            self.fail(f"the chain of {finding.finding_id} failed", exc)
            return
        finally:
            self.bench.release(work)
        self.call_from_thread(self._show_chain, chain)
        # the definition change the evidence proves: a changed listing first, else a call under a definition
        rows = [chain.rows[e] for e in chain.event_ids if e in self.evidence]
        candidates = [r for r in rows if r["event_type"] == "catalog" and "catalog_changed" in (r["risk_flags"] or [])]
        candidates += [r for r in rows if r["tool_definition_sha256"] and r["message_kind"] == "request"]
        for candidate in candidates[:3]:
            try:
                # the chain's rows hold the columns a chain needs; the diff reads the whole event
                row = event_row(lambda sql, params: self.bench.query(sql, params, prepared=False).rows,
                                candidate["event_id"])
                if row is None:
                    continue
                diff = definition_diff(lambda sql, params: self.bench.query(sql, params).rows, row)
            except (StoreError, duckdb.Error) as exc:
                self.fail("definition diff failed", exc)
                return
            if diff.lines:
                from mcp_blackbox.tui.screens.event_detail import diff_text

                text = Text()
                text.append(f"evidence: {inert(diff.message)} (d on the listing: the whole detail)\n", style="bold")
                text.append_text(diff_text(diff))
                self.call_from_thread(self._show_chain_diff, text)
                return

    def _show_chain_diff(self, text: Text) -> None:
        chain_diff = self.query_one("#chain-diff", Static)
        chain_diff.update(text)
        chain_diff.display = True
        tree = self.query_one(ChainTree)
        if tree.cursor_node is not None:  # the tree got shorter: keep the evidence under the cursor in sight
            self.call_after_refresh(tree.scroll_to_node, tree.cursor_node, False)

    # -- sessions ---------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="sessions", exit_on_error=False)
    def load_sessions(self) -> None:
        condition = self.query_one("#session-filter", Input).value.strip()
        sql, params = sessions_sql(self.chips, condition)
        try:
            self.bench.check(sql)
            # a typed filter condition is user SQL: it runs in the sandbox like the console's
            result = self.bench.sql(sql, params) if condition else self.bench.query(sql, params)
        except (SQLRefused, SQLFailed) as exc:
            self.call_from_thread(self.notify, str(exc), severity="error")
            return
        except (StoreError, duckdb.Error) as exc:  # a bad filter condition is the user's to fix, not a crash
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
            self.post_message(OpenChain(event.row_key.value))

    @on(DataTable.RowSelected, ".counts")
    def _count_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value or ""
        dim, _, value = key.partition("\x00")
        if dim == "severity":
            self.action_tab("findings")
            return
        column = {"server": "server", "tool": "tool", "agent": "agent_id", "user": "user_id"}[dim]
        self.post_message(AddChip(column, value, True))

    @on(AddChip)
    def _add_chip_message(self, message: AddChip) -> None:
        self._add_chip(message.column, message.value, message.include)

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
        text = _plain(table.get_cell_at(coord))
        mapping = {"server": "server", "agent_id": "agent_id", "user_id": "user_id", "connection_id": "connection_id",
                   "agent": "agent_id", "user": "user_id", "tool": "tool"}
        if column not in mapping:
            self.notify(f"pivot works on server, tool, agent, user and connection cells, not {column}")
            return
        self._add_chip(mapping[column], text, include)

    # -- chain ------------------------------------------------------------------------------------

    @on(OpenChain)
    def _open_chain_message(self, message: OpenChain) -> None:
        self.load_chain(message.ident)

    def open_chain(self, ident: str) -> None:
        """The chain of any id (the palette's "chain by id"); a finding id opens on its evidence."""
        finding = next((f for f in self.findings if f.finding_id == ident), None)
        if finding is not None:
            self.open_finding(finding)
            return
        self.evidence = set()
        self.load_chain(ident)

    @work(thread=True, exclusive=True, group="chain", exit_on_error=False)
    def load_chain(self, ident: str) -> None:
        work = self.bench.worker_store()  # chains read raw_events: no need to wait for preparation
        try:
            chain = build_chain(work, ident)
        except (StoreError, duckdb.Error) as exc:
            self.fail(f"no chain for {ident}", exc)
            return
        finally:
            self.bench.release(work)
        self.call_from_thread(self._show_chain, chain)

    def _show_chain(self, chain: Chain) -> None:
        self.chain = chain
        tree = self.query_one(ChainTree)
        first_evidence = tree.show(chain, self.evidence, self.case.stars)
        self.query_one(ChainTimeline).show(chain, self.evidence)
        chain_diff = self.query_one("#chain-diff", Static)
        chain_diff.update("")
        chain_diff.display = False
        self.action_tab("chain")
        tree.focus()
        if first_evidence is not None:
            self.call_after_refresh(tree.move_cursor, first_evidence)  # after layout gives nodes their lines

    @on(Tree.NodeHighlighted, "#chain-tree")
    def _node_highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        event_id, _, copy = str(event.node.data).partition(COPY_SEP)
        if self.chain is None or event_id not in self.chain.rows:
            return
        row = self.chain.conflicts[event_id][int(copy)] if copy else self.chain.rows[event_id]
        text = Text()
        if row["event_id"] in self.evidence:
            text.append("⚑ evidence  ", style="bold red")
        text.append(f"{row['event_id']}  {row['emitter_role']} {row['event_type']}", style="bold")
        text.append(f"  trace {inert(row['trace_id'] or '—')}  tool_call {inert(row['tool_call_id'] or '—')}\n",
                    style="dim")
        if row["tool_definition_sha256"]:
            text.append(f"definition in force: {row['tool_definition_sha256']}  (d: diff)\n", style="cyan")
        if row["event_type"] == "catalog":
            text.append("tool listing  (d: diff with the previous listing)\n", style="cyan")
        text.append(inert(row["arguments_json"] or row["result_json"] or "", limit=300))
        self.query_one("#chain-detail", Static).update(text)

    @on(Tree.NodeSelected, "#chain-tree")
    def _node_selected(self, event: Tree.NodeSelected[str]) -> None:
        if event.node.data and not str(event.node.data).startswith("connection:"):
            self.post_message(OpenEvent(str(event.node.data)))

    @on(OpenEvent)
    def _open_event_message(self, message: OpenEvent) -> None:
        self.open_event(message.event_id)

    @work(thread=True, group="detail", exit_on_error=False)
    def open_event(self, event_id: str, *, diff: bool = False) -> None:
        """Event detail for any event id (`diff`: with the definition diff shown)."""
        try:
            row = event_row(lambda sql, params: self.bench.query(sql, params, prepared=False).rows, event_id)
        except (StoreError, duckdb.Error) as exc:
            self.fail(f"event {event_id} could not be read", exc)
            return
        if row is not None:
            self.call_from_thread(self.push_screen, EventDetail(row, diff=diff))
        else:
            self.call_from_thread(self.notify, f"no event {event_id} in the store", severity="warning")

    def action_diff(self) -> None:
        """`d` on a chain node (a catalog event or a call): its detail, opened on the definition diff."""
        tree = self.query_one(ChainTree)
        if self.focused is not tree or tree.cursor_node is None or not tree.cursor_node.data:
            self.notify("d diffs definitions from a chain node or an event detail")
            return
        self.open_event(str(tree.cursor_node.data), diff=True)

    def action_swimlane(self) -> None:
        if self.chain is None:
            self.notify("open a finding or a session first: swimlanes draw the current chain")
            return
        self.push_screen(SwimlaneScreen(self.chain, self.evidence))

    def action_follow(self, forward: bool) -> None:
        if self.chain is None:
            return
        tree = self.query_one(ChainTree)
        current = tree.cursor_node.data if tree.cursor_node else None
        edges = [e for e in self.chain.edges if e.kind == EdgeKind.DATA_FLOW
                 and (e.src_event_id if forward else e.dst_event_id) in self._call_ids(current)]
        if not edges:
            self.notify("no data-flow edge " + ("from" if forward else "into") + " this call")
            return
        hit = tree.find(edges[0].dst_event_id if forward else edges[0].src_event_id)
        if hit is not None:
            tree.move_cursor(hit)

    def _call_ids(self, event_id: str | None) -> set[str]:
        """The event and its request/response partner (data flows from results to requests)."""
        if not event_id or self.chain is None:
            return set()
        ids = {event_id}
        for e in self.chain.edges:
            if e.kind == EdgeKind.RESPONSE and event_id in (e.src_event_id, e.dst_event_id):
                ids |= {e.src_event_id, e.dst_event_id}
        return ids

    # -- search -----------------------------------------------------------------------------------

    _TAB_VIEW = {"overview": "#count-server", "findings": "#findings-table", "sessions": "#sessions-table",
                 "chain": "#chain-tree", "sql": "#sql-table"}

    def _search_view(self) -> Any:
        """The table or tree the investigator looks at: the focused one if it is on the visible tab."""
        tabs = self.query_one(TabbedContent)
        focused = self.focused
        pane = tabs.active_pane
        if isinstance(focused, DataTable | Tree) and pane is not None and pane in focused.ancestors:
            return focused
        return self.query_one(self._TAB_VIEW[tabs.active])

    def action_search(self) -> None:
        if self.screen is not self.screen_stack[0]:
            return
        self._search_target = self._search_view()
        self.query_one(SearchBar).open()

    @on(SearchBar.Search)
    def _search(self, message: SearchBar.Search) -> None:
        self.search_text = message.text
        self.search_step(message.forward)

    @on(SearchBar.Closed)
    def _search_closed(self) -> None:
        if self._search_target is not None:
            self._search_target.focus()

    def action_search_step(self, forward: bool) -> None:
        if self.search_text:
            self.search_step(forward)

    def search_step(self, forward: bool = True) -> bool:
        """Move the view's cursor to the next (previous) row or node holding the search text."""
        view = self._search_target or self._search_view()
        needle = self.search_text.casefold()
        bar = self.query_one(SearchBar)
        if isinstance(view, DataTable):
            lines = [" ".join(_plain(c) for c in view.get_row_at(i)) for i in range(view.row_count)]
            current = view.cursor_row
        else:
            lines = []
            for i in range(view.last_line + 1):
                node = view.get_node_at_line(i)
                lines.append(_plain(node.label) if node is not None else "")
            current = view.cursor_line
        hits = [i for i, line in enumerate(lines) if needle in line.casefold()]
        if not hits:
            bar.status("no match")
            return False
        after = [i for i in hits if (i > current if forward else i < current)]
        target = (after[0] if forward else after[-1]) if after else (hits[0] if forward else hits[-1])
        if isinstance(view, DataTable):
            view.move_cursor(row=target)
        else:
            view.cursor_line = target
        bar.status(f"{hits.index(target) + 1}/{len(hits)}")
        return True

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

    @work(thread=True, exclusive=True, group="sql", exit_on_error=False)
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

    def run_saved_query(self, sql: str) -> None:
        """The palette's "run saved query": into the SQL tab, and run."""
        self.action_tab("sql")
        self.query_one("#sql-input", Input).value = sql
        self.sql_history.append(sql)
        self.sql_index = len(self.sql_history)
        self.query_one("#sql-status", Static).update(Text("running… (escape cancels)", style="yellow"))
        self.run_sql(sql)

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
        stem = export_query_result(out_dir, columns, rows)
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

    def action_export_case(self) -> None:
        """Stars, notes and saved queries with their evidence, one archive (`forensics/casebundle.py`)."""
        self.export_case_worker()

    @work(thread=True, exclusive=True, group="case", exit_on_error=False)
    def export_case_worker(self) -> None:
        from mcp_blackbox.forensics import casebundle

        try:
            out = casebundle.default_out(self.bench.path, self.case.path.stem)
            path = casebundle.export_case(self.bench.path, self.case.path.stem, out)
        except (StoreError, OSError, duckdb.Error) as exc:
            self.fail("case export failed", exc)
            return
        self.call_from_thread(self.notify, f"case exported to {path}")

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    _TAB_FOCUS = {"overview": "#count-server", "findings": "#findings-table", "sessions": "#sessions-table",
                  "chain": "#chain-tree", "sql": "#sql-input"}

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.query_one(self._TAB_FOCUS[tab]).focus()

    _INPUT_LEAVES_TO = {"sql-input": "#sql-table", "session-filter": "#sessions-table"}

    def action_cancel(self) -> None:
        """Escape: leave an input first (then digits switch tabs again), else cancel running queries."""
        focused = self.focused
        if isinstance(focused, Input) and focused.id in self._INPUT_LEAVES_TO:
            self.query_one(self._INPUT_LEAVES_TO[focused.id]).focus()
            return
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
