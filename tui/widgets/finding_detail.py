"""The highlighted finding: title, CoSAI threats, the rule's description, entities, evidence."""

from __future__ import annotations

import json

from rich.text import Text
from textual.widgets import Static

from mcp_blackbox.forensics.cosai import describe
from mcp_blackbox.forensics.detections import Finding, all_rules
from mcp_blackbox.forensics.safe import inert


class FindingDetail(Static):
    """What a finding says, and how to open its evidence."""

    def show(self, finding: Finding) -> None:
        """Describe `finding`."""
        rule = all_rules().get(finding.rule_id)
        text = Text()
        text.append(f"{finding.title}\n", style="bold")
        text.append(f"CoSAI: {describe(finding.cosai_threats)}\n", style="cyan")
        text.append(inert(rule.description if rule else "") + "\n")
        text.append(f"entities: {inert(json.dumps(finding.entities), limit=200)}\n", style="dim")
        text.append(f"evidence ({len(finding.evidence_event_ids)} events, enter opens them): "
                    f"{inert(', '.join(finding.evidence_event_ids[:6]))}", style="dim")
        self.update(text)
