"""Terminal safety: event text is evidence, never instructions for the investigator's terminal.

The one definition of how hostile text is shown, used by every printer of the CLI (`forensics`,
`verify`) and by the TUI (through `mcp_blackbox.forensics.safe`). It lives in `schema` because the
collector's `verify` prints too and may import nothing of `forensics`.

Rendering (`inert`): every character a terminal or a reader could be fooled by becomes a visible marker —
ESC (which starts ANSI CSI/OSC sequences) as `␛`, every other control character (C0, DEL, C1 such as
U+009B, the 8-bit CSI), bidi embeddings/overrides/isolates (U+202A-202E, U+2066-2069), zero-width and
other invisible format characters (Unicode category Cf: U+200B-200F, U+2060-206F, U+FEFF, soft hyphen,
Arabic letter mark, …), line/paragraph separators, Hangul fillers, lone surrogates and Unicode tag
characters as `⟨U+XXXX⟩`. Newlines are shown as `⏎` or kept (`keep_newlines`); a tab becomes a space or
is kept. Markers are ordinary visible characters, so `inert` is idempotent.

`inert` is for eyes, not for round trips: JSON output instead escapes the same characters as `\\uXXXX`
(`json_text`), which stays valid JSON and decodes to the exact stored value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any, Final

_BMP_SET: Final = ("\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891"
                   "\u08e2\u115f\u1160\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ud800-\udfff\ufeff"
                   "\ufff9-\ufffb\uffa0")
_ASTRAL_SET: Final = ("\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
                      "\U000e0000-\U000e007f")
#: Every character `inert` marks and `json_text` escapes; tab and newline are handled apart (tests check
#: the set against all of Unicode's Cc, Cf, Zl, Zp and Cs).
HIDDEN: Final = re.compile(f"[{_BMP_SET}{_ASTRAL_SET}]")
# Speed (benchmarks/bench_textsafe.py): a class holding astral ranges makes `re` ~10× slower per character,
# so the BMP part runs alone and the astral part only on text that has astral characters; and text that
# is printable (no Cc/Cf/Zl/Zp/Cs at all) and holds no Hangul filler needs no regex.
_BMP: Final = re.compile(f"[{_BMP_SET}]")
_ASTRAL: Final = re.compile(f"[{_ASTRAL_SET}]")
_FILLERS: Final = ("\u115f", "\u1160", "\u3164", "\uffa0")  # letters by category, blank on screen


def _clean(text: str) -> bool:
    """No character of HIDDEN (nor newline or tab) in `text`: str methods in C, no regex."""
    return text.isprintable() and (text.isascii() or not any(f in text for f in _FILLERS))


def _sub(repl: Callable[[re.Match[str]], str], text: str) -> str:
    out = _BMP.sub(repl, text)
    if not out.isascii() and len(out.encode("utf-16-le", "surrogatepass")) != 2 * len(out):  # astral present
        out = _ASTRAL.sub(repl, out)
    return out


def _mark(match: re.Match[str]) -> str:
    char = match.group(0)
    if char == "\x1b":
        return "␛"
    return f"⟨U+{ord(char):04X}⟩"


def inert(text: str | None, *, keep_newlines: bool = False, limit: int | None = None) -> str:
    """`text` with control, bidi and invisible characters made visible; optionally cut to `limit`.

    `keep_newlines` keeps `\\n` and `\\t` (multi-line output: reports, trees, pretty JSON); otherwise a
    newline shows as `⏎` and a tab as a space. A `\\r` is always marked, so nothing can return the cursor
    to overwrite what was printed before it on the line.
    """
    if not text:
        return ""
    if limit is not None and len(text) > limit:
        text = text[:limit] + "…"
    if _clean(text):
        return text
    out = _sub(_mark, text)
    if not keep_newlines:
        out = out.replace("\n", "⏎").replace("\t", " ")
    return out


def has_hidden(text: str | None) -> bool:
    """Whether `text` contains characters `inert` would mark (newline and tab excepted)."""
    if not text:
        return False
    probe = text.replace("\n", "").replace("\t", "")
    return not _clean(probe) and (_BMP.search(probe) is not None or _ASTRAL.search(probe) is not None)


def for_terminal(text: str) -> str:
    """A whole multi-line output (table, tree, report, message) made safe to print: lines and tabs kept."""
    return inert(text, keep_newlines=True)


def _json_escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if code > 0xFFFF:  # a surrogate pair, as JSON spells characters outside the BMP
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def json_text(value: Any, **kwargs: Any) -> str:
    """`json.dumps` (UTF-8 text, `ensure_ascii=False` unless given) with every hidden character escaped.

    json.dumps escapes C0 itself but writes DEL, C1 (U+009B is an 8-bit CSI), bidi and zero-width characters
    raw; they are escaped here as `\\uXXXX`. Outside strings JSON text is ASCII, so every such character sits
    inside a string, where the escape means exactly the same character: the output is valid JSON, decodes to
    the exact value, and is inert on a terminal.
    """
    kwargs.setdefault("ensure_ascii", False)
    text = json.dumps(value, **kwargs)
    if text.isascii():  # json.dumps escaped C0; DEL is the only hidden ASCII character left
        return text.replace("\x7f", "\\u007f") if "\x7f" in text else text
    if _clean(text.replace("\n", "")):  # newlines here are the indentation's, outside strings
        return text
    return _sub(_json_escape, text)
