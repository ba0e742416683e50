"""What content says, for the behaviour rules: instructions addressed to the model, sensitive data, destinations.

Name keywords (tags.py) say what a tool is called; attackers choose names. These functions look at
the text that actually went through: `instruction_signals` (instruction-like text in a result,
resource or prompt, with the poisoning signals plus references to the session's tools),
`sensitive_kinds` (secrets and redaction markers, e-mail addresses, phone numbers, card numbers,
key-like names with high-entropy values, bulk records), `destinations` (URL/e-mail/phone/channel
shaped values in arguments), and `content_flows` (pieces of one text reappearing in another,
including raw lines of JSON-in-text results, which `dataflow.chunks` unpacks into short leaves).

Every function is applied only to rows an SQL pre-filter (`*_SQL_RE`) already selected, so the
rules stay set-based over all events.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterator
from typing import Any, Final

from mcp_blackbox.forensics.dataflow import MIN_CHUNK, chunks
from mcp_blackbox.forensics.poisoning import Signal, text_signals

#: SQL (RE2) pre-filter: text that may carry instructions for the model.
INSTRUCTION_SQL_RE: Final = (
    r"(?i)(ignore (all |any )?(the )?(previous|prior|above)|instructions? for the (assistant|ai|model)|"
    r"(note|message) to (the )?(assistant|ai|model)|assistant[,:]|\bsystem:|<important>|<system>|\[important\]|"
    r"<hidden>|<!--|you (must|should|are now)|do not (tell|mention|inform)|don't (tell|mention)|"
    r"\b(call|run|use|invoke|execute) (the )?`?[a-z0-9_.\-]+`? (tool )?(with|first|before|to)|"
    r"\bsend (it|them|this|the [a-z ]+) to|\bforward (it|them|all|the)|\bplease (run|call|use|send|read)|"
    r"\b(access|read) the (resource|file) at|before (summari[sz]ing|answering|responding|replying))"
)
#: SQL (RE2) pre-filter: content that may be sensitive (personal data, secrets, redaction markers).
SENSITIVE_SQL_RE: Final = (
    r"(?i)(\[REDACTED|[a-z0-9._%+\-]+@[a-z0-9\-]+\.[a-z.]{2,}|\+\d[\d \-]{6,16}\d|\b\d{3}[ \-.]\d{3}[ \-.]\d{4}\b|"
    r"(api[_ -]?key|secret|token|passw(or)?d|credential|private key|access[_ ]key)|-----BEGIN|eyJ[a-z0-9_\-]{10,}\.)"
)
#: SQL (RE2) pre-filter: a key-like name assigned a value (the entropy check is `keylike_secrets`).
KEYLIKE_SQL_RE: Final = (r"(?i)(api[_\-]?key|secret|token|passw(or)?d|passphrase|access[_\-]?key|private[_\-]?key|"
                         r"credential)[\w\-]*[\\\"']*\s*[:=]\s*[\\\"']*[^\s\"',;\\]{8}")
#: SQL (RE2): an argument value shaped like a destination outside the organisation.
DESTINATION_SQL_RE: Final = r"(?i)(https?://|[a-z0-9._%+\-]+@[a-z0-9\-]+\.[a-z]{2,}|\+\d{8,15}|\"#[a-z][a-z0-9_\-]+\")"

_EMAIL = re.compile(r"[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.[a-z]{2,}", re.I)
_PHONE = re.compile(r"(?<![\w.+])(?:\+\d[\d \-().]{6,16}\d|\(\d{3}\)\s?\d{3}-\d{4}|"
                    r"\d{3}[ \-.]\d{3}[ \-.]\d{4})(?![\w.])")
_CARD = re.compile(r"(?<!\d)(?:\d[ \-]?){13,19}(?!\d)")
_URL = re.compile(r"https?://[^\s\"'<>]+", re.I)
_CHANNEL = re.compile(r"^#[a-z][\w\-]+$", re.I)
_REDACTED = re.compile(r"\[REDACTED:[a-z_]+\]")
_SECRET_FORMS = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY|\beyJ[\w\-]{10,}\.[\w\-]{10,}\.|\bAKIA[0-9A-Z]{16}\b|"
                           r"\b(?:sk|pk|rk)_(?:live|test)_\w{10,}|\bgh[pousr]_\w{20,}|\bxox[baprs]-[\w\-]{10,}")
_KEYLIKE = re.compile(r"(?i)\b[\w\-]*(?:api[_\-]?key|secret|token|passw(?:or)?d|passphrase|access[_\-]?key|"
                      r"private[_\-]?key|credential)[\w\-]*[\"']?\s*[:=]\s*[\"']?([^\s\"',;]{8,})")
_TOOLISH = re.compile(r"\b[a-z][a-z0-9]*(?:[_\-][a-z0-9]+)+\b")


def _luhn(digits: str) -> bool:
    total, alt = 0, False
    for ch in reversed(digits):
        d = int(ch)
        if alt:
            d = d * 2 - 9 if d > 4 else d * 2
        total, alt = total + d, not alt
    return total % 10 == 0


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    if not value:
        return 0.0
    counts = Counter(value)
    return -sum(c / len(value) * math.log2(c / len(value)) for c in counts.values())


def keylike_secrets(text: str) -> list[str]:
    """Values assigned to key-like names that look random enough to be secrets (not 'changeme')."""
    out = []
    for m in _KEYLIKE.finditer(text or ""):
        value = m.group(1)
        if len(value) >= 8 and entropy(value) >= 3.0 and not value.startswith("[REDACTED") \
                and not re.fullmatch(r"[a-z]+|\d+|<[^>]*>|\$\{?\w+\}?", value):
            out.append(value)
    return out


def sensitive_kinds(text: str | None) -> set[str]:
    """What personal or secret data a text contains."""
    if not text:
        return set()
    kinds: set[str] = set()
    if _REDACTED.search(text) or _SECRET_FORMS.search(text) or keylike_secrets(text):
        kinds.add("secret")
    emails = set(_EMAIL.findall(text))
    if emails:
        kinds.add("email")
    phones = {p for p in _PHONE.findall(text) if sum(ch.isdigit() for ch in p) >= 9}
    if phones:
        kinds.add("phone")
    if any(_luhn(re.sub(r"\D", "", c)) for c in _CARD.findall(text) if 13 <= len(re.sub(r"\D", "", c)) <= 19):
        kinds.add("card")
    if len(emails) + len(phones) >= 3:
        kinds.add("bulk_records")
    return kinds


def destinations(arguments_json: str | None) -> list[str]:
    """Argument values shaped like a destination: URL, e-mail address, phone number, channel."""
    out = []
    for leaf in leaves(arguments_json):
        value = leaf.strip()
        if _URL.fullmatch(value) or _EMAIL.fullmatch(value) or _CHANNEL.fullmatch(value) or \
                re.fullmatch(r"\+\d[\d \-]{7,16}\d", value):
            out.append(value)
    return out


def leaves(text: str | None) -> Iterator[str]:
    """String leaves of a JSON text (JSON-in-text unpacked), the raw text when it is not JSON."""
    if not text:
        return
    try:
        value: Any = json.loads(text)
    except ValueError:
        yield text
        return
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
            stripped = item.strip()
            if stripped[:1] in "[{":
                try:
                    inner = json.loads(stripped)
                except ValueError:
                    continue
                if not isinstance(inner, str):
                    stack.append(inner)
        elif isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def pieces(result_json: str | None) -> set[str]:
    """Distinctive pieces of a result: `dataflow.chunks`, plus raw lines and fields of each text leaf."""
    out = set(chunks(result_json))
    for leaf in leaves(result_json):
        for piece in re.split(r"[\n\r]+|\",\s*\"|(?<=[.!?;])\s+|\[REDACTED:[a-z_]+\]", leaf):
            piece = piece.strip(" \"'{}[]:,")
            if len(piece) >= MIN_CHUNK and len(set(piece)) >= 5 and not piece.replace(".", "").isdigit():
                out.add(piece)
    return out


def content_flows(result_json: str | None, arguments_json: str | None) -> list[str]:
    """Pieces of the result that reappear in the arguments (longest first)."""
    args = [leaf for leaf in leaves(arguments_json) if len(leaf) >= MIN_CHUNK]
    if not args or not result_json:
        return []
    found = {p for p in pieces(result_json) if any(p in a for a in args)}
    # an argument copied out of a longer result text (an instruction quoted from a page)
    text = "\n".join(leaves(result_json))
    found |= {a for a in args if len(a) >= 16 and len(set(a)) >= 6 and a in text}
    return sorted(found, key=len, reverse=True)


def instruction_signals(text: str | None, session_tools: set[str]) -> list[Signal]:
    """Poisoning-style signals of a result text, plus references to tools of the session."""
    if not text:
        return []
    body = "\n".join(leaves(text))
    signals = text_signals(body, "content")
    named = sorted(t for t in session_tools if len(t) > 3 and re.search(rf"(?<![\w-]){re.escape(t)}(?![\w-])", body))
    if named and re.search(r"\b(?:call|run|use|invoke|execute|send|post|forward|export)\b", body, re.I):
        signals.append(Signal("session_tool_reference", "content", ", ".join(named)[:60]))
    invoked = next((n for n in named if re.search(rf"\b(?:call|run|use|invoke|execute)\s+(?:the\s+)?[`'\"]?"
                                                  rf"{re.escape(n)}[`'\"]?\s+(?:tool\s+)?(?:with|using|on)\b", body,
                                                  re.I)), None)
    if invoked:
        signals.append(Signal("tool_invocation", "content", invoked))
    if re.search(r"(?i)\b(?:assistant|ai|model|llm)\b\s*[:,]|\binstructions? for the (?:assistant|ai|model)\b|"
                 r"<!--[^>]*\b(?:assistant|ai|call|send)\b", body):
        signals.append(Signal("addressed_to_model", "content", "assistant"))
    return signals


def followed_by(text: str | None, tool_name: str | None, target: str | None, arguments_json: str | None) -> list[str]:
    """What of a later call appears in the content: its tool name, its resource, its argument values."""
    if not text:
        return []
    body = "\n".join(leaves(text))
    out = []
    if tool_name and len(tool_name) > 3 and re.search(rf"(?<![\w-]){re.escape(tool_name)}(?![\w-])", body):
        out.append(f"tool {tool_name}")
    if target and len(target) > 5 and target in body:
        out.append(f"target {target}")
    for leaf in leaves(arguments_json):
        value = leaf.strip()
        if len(value) >= 6 and value in body and not value.isdigit():
            out.append(f"argument {value[:40]}")
    return out
