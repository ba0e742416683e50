"""The chain as a tree: one node per event, evidence highlighted, edges labelled."""

from __future__ import annotations

from collections.abc import Collection

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from mcp_blackbox.forensics.chain import Chain, ChainNode
from mcp_blackbox.forensics.safe import inert


def node_label(node: ChainNode, evidence: Collection[str], stars: Collection[str]) -> Text:
    """One event's line: time, edge, summary, status/duration/definition, flags, data flow, star."""
    style = "bold reverse red" if node.event_id in evidence else ""
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
    if node.data_from:
        text.append("  ⇠ data", style="bold magenta")
    if node.data_to:
        text.append("  data ⇢", style="bold magenta")
    if node.event_id in stars:
        text.append(" ★", style="yellow")
    return text


class ChainTree(Tree[str]):
    """A chain's events; node data is the event id."""

    def show(self, chain: Chain, evidence: Collection[str], stars: Collection[str]) -> TreeNode[str] | None:
        """Replace the tree by `chain`; returns the first evidence node (for the cursor)."""
        self.clear()
        n_evidence = sum(1 for e in chain.event_ids if e in evidence)
        label = (f"{chain.ident_kind} {inert(chain.ident)} — {len(chain.event_ids)} events, "
                 f"{len(chain.edges)} edges")
        if n_evidence:
            label += f", {n_evidence} evidence (highlighted)"
        self.root.set_label(Text(label))
        first: TreeNode[str] | None = None

        def add(parent: TreeNode[str], node: ChainNode) -> None:
            nonlocal first
            child = parent.add(node_label(node, evidence, stars), data=node.event_id, expand=True,
                               allow_expand=bool(node.children))
            if node.event_id in evidence and first is None:
                first = child
            for c in node.children:
                add(child, c)

        for root in chain.roots:
            add(self.root, root)
        self.root.expand()
        return first

    def find(self, event_id: str) -> TreeNode[str] | None:
        """The node of `event_id`."""

        def walk(node: TreeNode[str]) -> TreeNode[str] | None:
            if node.data == event_id:
                return node
            for child in node.children:
                hit = walk(child)
                if hit is not None:
                    return hit
            return None

        return walk(self.root)
