"""Chain pictures: a chain as Mermaid (`flowchart`), Graphviz DOT, or a self-contained SVG — pure Python.

The tree edges (parent → child, labelled with the edge kind) and the data-flow edges (dashed) are drawn;
each node shows time, summary, status and duration. Every label is evidence: made inert first
(`schema/textsafe.py`), then escaped for the target language, so no label can close a quote, open a
tag or inject a directive. The SVG is laid out as the text tree is (one row per event, indented by
depth), so it needs no layout engine.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from mcp_blackbox.forensics.chain import Chain, ChainNode
from mcp_blackbox.forensics.edgekinds import EdgeKind
from mcp_blackbox.schema.textsafe import inert

FORMATS = ("mermaid", "dot", "svg")
_LABEL_LIMIT = 100


def _label(n: ChainNode) -> str:
    extras = [x for x in (n.status, f"{n.duration_ms:.1f}ms" if n.duration_ms is not None else None) if x]
    tail = f" ({'; '.join(extras)})" if extras else ""
    return inert(f"{n.event_time.strftime('%H:%M:%S.%f')[:-3]} {n.summary}{tail}", limit=_LABEL_LIMIT)


def _numbered(chain: Chain) -> tuple[list[tuple[int, ChainNode, int]], dict[str, int]]:
    """(index, node, depth) depth first, and event id → index."""
    out: list[tuple[int, ChainNode, int]] = []
    stack = [(r, 0) for r in reversed(chain.roots)]
    while stack:
        node, depth = stack.pop()
        out.append((len(out), node, depth))
        stack.extend((c, depth + 1) for c in reversed(node.children))
    return out, {n.event_id: i for i, n, _ in out}


def _tree_edges(nodes: list[tuple[int, ChainNode, int]], index: dict[str, int]) -> list[tuple[int, int, str]]:
    return [(i, index[c.event_id], inert(c.edge_kind or "", limit=40)) for i, n, _ in nodes for c in n.children]


def _flow_edges(chain: Chain, index: dict[str, int]) -> list[tuple[int, int, str]]:
    return [(index[e.src_event_id], index[e.dst_event_id], inert(e.inferred_by, limit=40)) for e in chain.edges
            if e.kind == EdgeKind.DATA_FLOW and e.src_event_id in index and e.dst_event_id in index]


def _mermaid_text(text: str) -> str:
    # Mermaid entity codes: no quote, bracket or angle bracket survives into the diagram source
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("|", "#124;"),
                       ("[", "#91;"), ("]", "#93;"), ("{", "#123;"), ("}", "#125;"), ("`", "#96;")):
        text = text.replace(char, code)
    return text


def to_mermaid(chain: Chain) -> str:
    """The chain as a Mermaid flowchart (top-down)."""
    nodes, index = _numbered(chain)
    title = _mermaid_text(inert(f"{chain.ident_kind} {chain.ident}"))
    lines = ["flowchart TD", f"  %% chain of {title}"]
    lines += [f'  n{i}["{_mermaid_text(_label(n))}"]' for i, n, _ in nodes]
    for src, dst, kind in _tree_edges(nodes, index):
        lines.append(f'  n{src} -->|"{_mermaid_text(kind)}"| n{dst}' if kind else f"  n{src} --> n{dst}")
    lines += [f'  n{src} -.->|"data flow: {_mermaid_text(by)}"| n{dst}' for src, dst, by in _flow_edges(chain, index)]
    return "\n".join(lines) + "\n"


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def to_dot(chain: Chain) -> str:
    """The chain as a Graphviz digraph."""
    nodes, index = _numbered(chain)
    lines = [f'digraph "{_dot_text(inert(chain.ident))}" {{', "  rankdir=TB;",
             '  node [shape=box, fontname="monospace", fontsize=10];']
    lines += [f'  n{i} [label="{_dot_text(_label(n))}"];' for i, n, _ in nodes]
    lines += [f'  n{src} -> n{dst} [label="{_dot_text(kind)}"];' for src, dst, kind in _tree_edges(nodes, index)]
    lines += [f'  n{src} -> n{dst} [style=dashed, color=red, label="data flow: {_dot_text(by)}"];'
              for src, dst, by in _flow_edges(chain, index)]
    lines.append("}")
    return "\n".join(lines) + "\n"


_ROW, _INDENT, _CHAR, _PAD = 28, 28, 7.2, 12


def to_svg(chain: Chain) -> str:
    """The chain as a standalone SVG: one row per event, indented by depth, elbow connectors, data flow dashed."""
    nodes, index = _numbered(chain)
    labels = {i: _label(n) for i, n, _ in nodes}
    depth = {i: d for i, _, d in nodes}
    width = int(max([_PAD * 2 + d * _INDENT + len(labels[i]) * _CHAR + 16 for i, _, d in nodes] or [200])) + 60
    height = _PAD * 2 + _ROW * max(len(nodes), 1) + 24
    title = escape(inert(f"{chain.ident_kind} {chain.ident}", limit=_LABEL_LIMIT))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="monospace" font-size="12">',
           f"<title>{title}</title>", '<rect width="100%" height="100%" fill="#ffffff"/>',
           f'<text x="{_PAD}" y="{_PAD + 10}" font-weight="bold">{title}</text>']

    def box(i: int) -> tuple[float, float, float]:
        x = _PAD + depth[i] * _INDENT
        y = _PAD + 24 + i * _ROW
        return x, y, len(labels[i]) * _CHAR + 16

    for src, dst, kind in _tree_edges(nodes, index):
        sx, sy, _ = box(src)
        dx, dy, _ = box(dst)
        out.append(f'<path d="M{sx + 8} {sy + 20} V{dy + 10} H{dx}" fill="none" stroke="#888888"/>')
        if kind:
            out.append(f'<text x="{dx - _INDENT + 10}" y="{dy + 4}" font-size="8" fill="#666666">'
                       f"{escape(kind)}</text>")
    for src, dst, by in _flow_edges(chain, index):
        sx, sy, sw = box(src)
        dx, dy, dw = box(dst)
        right = max(sx + sw, dx + dw) + 20
        out.append(f'<path d="M{sx + sw} {sy + 10} H{right} V{dy + 10} H{dx + dw}" fill="none" stroke="#cc0000" '
                   f'stroke-dasharray="4 3"><title>data flow: {escape(by)}</title></path>')
    for i, n, _ in nodes:
        x, y, w = box(i)
        fill = "#fde8e8" if n.flags or (n.status and n.status != "ok") else "#eef3fb"
        out.append(f'<rect x="{x}" y="{y}" width="{w:.0f}" height="20" rx="3" fill="{fill}" stroke="#4a6fa5"/>')
        out.append(f'<text x="{x + 8}" y="{y + 14}">{escape(labels[i])}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def draw(chain: Chain, fmt: str) -> str:
    """`mermaid`, `dot` or `svg` text of `chain`."""
    return {"mermaid": to_mermaid, "dot": to_dot, "svg": to_svg}[fmt](chain)
