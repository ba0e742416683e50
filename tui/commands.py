"""The bench's commands in the command palette (ctrl+p): open finding, chain by id, jump to time, run saved
query, export case. Typing "chain" lists them; an id or a time typed after the command word is its argument."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from mcp_blackbox.forensics.safe import inert

if TYPE_CHECKING:
    from mcp_blackbox.tui.app import InvestigatorApp

_VERBS = (("chain", "chain by id: chain ID (event, trace, connection, finding or host process)"),
          ("time", "jump to time: time 2026-11-01T12:00:00Z (zooms the overview around it)"),
          ("open", "open finding: open RULE or FINDING_ID"),
          ("sql", "run saved query: sql WORDS"))


class BenchCommands(Provider):
    """Commands over what the bench holds (findings, saved queries) and over typed arguments."""

    @property
    def bench_app(self) -> InvestigatorApp:
        from mcp_blackbox.tui.app import InvestigatorApp

        assert isinstance(self.app, InvestigatorApp)  # noqa: S101
        return self.app

    def _commands(self, query: str) -> list[tuple[str, partial[None], str]]:
        app = self.bench_app
        out: list[tuple[str, partial[None], str]] = []
        for f in app.findings:
            out.append((inert(f"open finding: {f.severity} {f.rule_id} {f.finding_id}", limit=120),
                        partial(app.open_finding, f), inert(f.explanation, limit=100)))
        for sql in app.case.queries:
            out.append((inert(f"run saved query: {sql}", limit=120), partial(app.run_saved_query, sql),
                        "runs in the SQL tab"))
        out.append(("export case", partial(app.action_export_case), "stars, notes and saved queries, one archive"))
        out.append(("swimlanes of the chain", partial(app.action_swimlane), "host / client / server lanes"))
        verb, _, arg = query.strip().partition(" ")
        arg = arg.strip()
        if arg and verb.lower() == "chain":
            out.append((inert(f"chain by id: {arg}", limit=120), partial(app.open_chain, arg),
                        "builds the chain of this id"))
        if arg and verb.lower() == "time":
            out.append((inert(f"jump to time: {arg}", limit=120), partial(app.jump_to_time, arg),
                        "zooms the overview around this time"))
        return out

    async def discover(self) -> Hits:
        for verb, help_text in _VERBS:
            yield DiscoveryHit(f"{verb} …", partial(self._prefill, verb), help=help_text)
        for title, run, help_text in self._commands("")[:20]:
            yield DiscoveryHit(title, run, help=help_text)

    def _prefill(self, verb: str) -> None:
        self.bench_app.notify(f"type '{verb} ' and the argument in the palette (ctrl+p)")

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        verb, _, arg = query.strip().partition(" ")
        for title, run, help_text in self._commands(query):
            typed = arg and title.startswith(("chain by id:", "jump to time:")) and verb.lower() in ("chain", "time")
            score = 1.0 if typed else matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title) if not typed else title, run, help=help_text)
        for word, help_text in _VERBS:
            if not arg:
                score = matcher.match(help_text)
                if score > 0:
                    yield Hit(score / 2, matcher.highlight(help_text), partial(self._prefill, word), help=help_text)
