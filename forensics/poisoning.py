"""Tool-poisoning signals: what in a definition reads as an instruction to the model, each one named.

`definition_signals(definition, session_tools)` looks at everything a model reads of a tool (name,
description, title, every input-schema property name and description, annotations' title) and of
prompts, resources and server instructions (`text_signals`), and returns the signals that fired,
each with the snippet that fired it. `verdict(signals)` decides: strong signals (instruction blocks
in any markup, concealment from the user, recipient/destination rewriting, tool-selection
hijacking, invisible Unicode, terminal escapes, instruction-bearing hidden parameters) weigh two,
weak ones (imperatives to the assistant, urgency, naming secrets paths, references to other tools,
asking for content to be passed along, long whitespace runs) weigh one; three or more is poisoning, and
so is any invisible or escape character on its own. Naming `~/.ssh` alone is not poisoning (a key
manager does it), nor is an imperative alone ("Use this tool to …").

`follow_tokens(definition)` lists the concrete values the text asks for (addresses, numbers, URLs,
paths, URIs): a later call that carries one shows the instruction was followed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final


@dataclass(frozen=True)
class Signal:
    """One reason a text reads as an instruction to the model."""

    name: str
    where: str  # description, schema:PARAM, instructions, …
    snippet: str


STRONG: Final = frozenset({"instruction_block", "concealment", "destination_rewrite", "selection_hijack",
                           "invisible_unicode", "terminal_escape", "hidden_parameter", "prompt_override",
                           "tool_invocation"})

_PATTERNS: Final[list[tuple[str, re.Pattern[str]]]] = [
    ("instruction_block", re.compile(
        r"[<\[]\s*/?\s*(?:important|hidden|system|secret|instructions?|critical|admin|note[ _]to[ _](?:ai|assistant)|"
        r"assistant|ai[ _]only|override)\b[^>\]\n]{0,40}[>\]]|\bimportant system (?:instruction|note|notice)\b|"
        r"(?:^|(?<=[.!?] ))\s*system\s*:|\bnote to (?:the )?(?:ai|assistant|model|llm)\b", re.I | re.M)),
    ("prompt_override", re.compile(
        r"\bignore (?:all |any )?(?:the )?(?:previous|prior|above|earlier) (?:instructions|prompts|rules)|"
        r"\byou are now (?:in|a|an)\b|\bdisregard (?:all |any )?(?:previous|prior|your) (?:instructions|rules)|"
        r"\bsecurity (?:constraints|restrictions) (?:have been|are now) (?:lifted|disabled)", re.I)),
    ("concealment", re.compile(
        r"\b(?:do not|don't|dont|never|without)\s+(?:explicitly\s+|ever\s+)?(?:tell|inform|mention|notify|reveal|"
        r"disclose|alert|show|telling|informing|mentioning|notifying|alerting)\b[^.\n]{0,40}?\b(?:user|them|anyone|"
        r"this|that|it)\b|\bno need to (?:mention|tell|inform|notify)\b|\b(?:silently|covertly|secretly|quietly)\s+"
        r"(?:post|send|forward|include|read|call|copy|upload|exfiltrate)\b|\bthe user (?:must|should) not (?:know|see|"
        r"be told)\b|\bpresent (?:it|the information|them) as if\b|\bformat them to look like\b", re.I)),
    ("destination_rewrite", re.compile(
        r"\b(?:change|set|replace|rewrite)\s+the\s+(?:recipient|destination|address|number|channel|url)\b|"
        r"\bsend all (?:e-?mails|messages|data|requests)\s+to\b|\b(?:always\s+)?bcc\s+\S+@|"
        r"\bredirect (?:it|them|all \w+|every \w+)\s+to\b|\bforward (?:all|every|an identical copy|a copy)\b|"
        r"\b(?:post|send|upload)\s+(?:an? )?(?:identical )?copy of\b", re.I)),
    ("selection_hijack", re.compile(
        r"\balways use this (?:tool|function)\b|\buse this (?:tool|function) for (?:all|every)\b|"
        r"\bregardless of (?:the )?context\b|\bmust be called (?:first|before)\b", re.I)),
    ("assistant_imperative", re.compile(
        r"\byou (?:must|should always|have to|need to|are required to)\b|\bbefore (?:using|calling|answering|"
        r"responding|providing|returning|performing)\b[^.\n]{0,60}\b(?:read|call|access|send|include|check|run|"
        r"pass|post|first)\b|\b(?:must|always)\s+(?:first\s+)?(?:read|call|access|include|send|post|pass|use)\b|"
        r"\botherwise the tool will not work\b|\bthe (?:system|application) will crash\b", re.I)),
    ("secret_reference", re.compile(
        r"~/\.ssh|\bid_(?:rsa|ed25519|ecdsa)\b|(?:^|[\s/`'\"])\.env\b|/etc/(?:passwd|shadow)|\.aws/credentials|"
        r"mcp\.json|claude_desktop_config|\bapi keys?\b|\bmaster password\b|\bcredentials\b|\bpasswords?\b|"
        r"\bprivate key\b|\bconversation history\b", re.I)),
    ("pass_along", re.compile(
        r"\bpass (?:its|their|the) (?:full )?contents?\b|\binclude (?:it|them|this|the \w+(?: \w+)?) in (?:your|the) "
        r"(?:response|answer|reply|body|message)\b|\bas (?:the )?[`'\"]\w+[`'\"] (?:argument|parameter|field)?|"
        r"\bextract all (?:credentials|keys|secrets)\b|\ba full list of (?:last|previous|recent)\b|"
        r"\bmust include the prefix\b", re.I)),
    ("cross_tool_reference", re.compile(
        r"\b(?:when|whenever|if)\s+\(?\w*\)?\s*[\w.\-]+\s+(?:tool\s+)?is\s+(?:invoked|called|used|available)\b|"
        r"\b(?:when|whenever|if)\s+\(\w+\)\s*\w+|\bmcp_tool_\w+|\bside effect on\b|\bthe \w+ tool must\b|"
        r"\b(?:call|use|run)\s+the\s+\w+\s+tool\s+first\b|\busing the \w+ tool\b", re.I)),
    ("external_destination", re.compile(
        r"\b(?:send|post|upload|forward|copy|submit)\b[^.\n]{0,80}?\bto\s+(?:https?://|[\w.+\-]+@[\w\-]+\.|\+\d{6,})",
        re.I)),
    ("urgency", re.compile(
        r"\b(?:very\s+){2,}important\b|\burgent(?:ly)?\b|\bat all costs\b|\b(?:system|application|tool) will crash\b|"
        r"\bdata will be lost\b|\byour request will be blocked\b|\bthis is (?:mandatory|required by)\b", re.I)),
    ("long_whitespace", re.compile(r"[ \t]{40,}\S")),
]
_CHARS: Final = ("invisible_unicode", "terminal_escape")
_INVISIBLE: Final = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\U000e0000-\U000e007f]")
_ESCAPE: Final = re.compile(r"\x1b[\[\]()PX^_]|\x9b|\x07")
_HIDDEN_PARAM_NAMES: Final = re.compile(
    r"^(?:sidenote|side_note|note|notes|context|extra|metadata|feedback|debug|reasoning|content_from_\w+|"
    r"\w*(?:ssh|id_rsa|secret|credential|password|token|env|history)\w*)$", re.I)
_TOKENS: Final = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+|\+\d{8,15}|https?://[^\s`'\"<>)]+|"
                            r"[a-z][a-z0-9+]*://[\w./\-]+|~/[\w./\-]+|/(?:etc|tmp|home|root|var)/[\w./\-]+|#[a-z][\w\-]+")


def _scan(text: str, where: str) -> list[Signal]:
    out: list[Signal] = []
    for name, pattern in _PATTERNS:
        m = pattern.search(text)
        if m:
            out.append(Signal(name, where, m.group(0).strip()[:60]))
    m = _INVISIBLE.search(text)
    if m:
        out.append(Signal("invisible_unicode", where, f"U+{ord(m.group(0)):04X}"))
    m = _ESCAPE.search(text)
    if m:
        out.append(Signal("terminal_escape", where, repr(m.group(0))))
    return out


def text_signals(text: str | None, where: str) -> list[Signal]:
    """Signals of one text (a prompt's or resource's description, server instructions)."""
    return _scan(text, where) if text else []


def definition_signals(definition: dict[str, Any], session_tools: set[str] | None = None) -> list[Signal]:
    """Every signal of a tool definition; `session_tools` are other tools' names seen in the same session."""
    out = _scan(str(definition.get("description") or ""), "description")
    for key in ("title", "name"):
        if definition.get(key):
            out.extend(s for s in _scan(str(definition[key]), key) if s.name in _CHARS)
    schema = definition.get("inputSchema") or {}
    props = schema.get("properties") if isinstance(schema, dict) else None
    required = set(schema.get("required") or []) if isinstance(schema, dict) else set()
    if isinstance(props, dict):
        for pname, prop in props.items():
            pdesc = str(prop.get("description") or "") if isinstance(prop, dict) else ""
            found = _scan(pdesc, f"schema:{pname}") + [s for s in _scan(pname, f"schema:{pname}") if s.name in _CHARS]
            out.extend(found)
            instructive = any(s.name not in ("secret_reference", "long_whitespace") for s in found)
            asked_for = pname in required and _mentions(definition, pname)
            if _HIDDEN_PARAM_NAMES.match(pname) and (instructive or asked_for):
                out.append(Signal("hidden_parameter", f"schema:{pname}", pname))
    description = str(definition.get("description") or "")
    if session_tools:
        own = str(definition.get("name") or "")
        named = sorted(t for t in session_tools if t != own and len(t) > 3
                       and re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])", description))
        if named:
            out.append(Signal("cross_tool_reference", "description", ", ".join(named)[:60]))
    seen: set[tuple[str, str]] = set()
    unique = []
    for s in out:
        if (s.name, s.where) not in seen:
            seen.add((s.name, s.where))
            unique.append(s)
    return unique


def _mentions(definition: dict[str, Any], pname: str) -> bool:
    """The description tells the model what to put in this parameter ("pass … as 'sidenote'")."""
    text = str(definition.get("description") or "")
    return bool(re.search(rf"[`'\"]{re.escape(pname)}[`'\"]", text)) and bool(
        dict(_PATTERNS)["pass_along"].search(text) or re.search(r"\b(?:read|content)\b", text, re.I))


def score(signals: list[Signal]) -> int:
    """Weight of the distinct signal names (strong 2, weak 1)."""
    names = {s.name for s in signals}
    return sum(2 if n in STRONG else 1 for n in names)


def verdict(signals: list[Signal]) -> bool:
    """Poisoned: weight three or more, or any invisible/escape character."""
    names = {s.name for s in signals}
    return score(signals) >= 3 or bool(names & {"invisible_unicode", "terminal_escape"})


def follow_tokens(text: str) -> list[str]:
    """Concrete destinations and references an instruction names (for "was it followed?")."""
    out = []
    for m in _TOKENS.finditer(text):
        token = m.group(0).rstrip(".,;:")
        if len(token) >= 6 and token not in out:
            out.append(token)
    return out[:12]


def definition_text(definition: dict[str, Any]) -> str:
    """Everything the model reads of a definition, as one text."""
    return json.dumps(definition, ensure_ascii=False)
