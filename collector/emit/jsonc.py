"""JSONC (JSON with comments and trailing commas, as VS Code, Cursor and Zed accept) with source spans.

`parse` returns a tree whose nodes know where they sit in the text, so a configuration can be edited
by splicing a few spans (`apply_edits`): comments, trailing commas, indentation, key order and line
endings elsewhere in the file stay byte for byte. Plain JSON is JSONC, so one parser serves all hosts.
Only stdlib: this runs in `mcp-blackbox hosts`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

_scanstring: Any = getattr(json.decoder, "scanstring")  # noqa: B009 - public in CPython, untyped in typeshed
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_LITERALS = {"true": True, "false": False, "null": None}


class JsoncError(ValueError):
    """Not JSON/JSONC; the message names line and column."""


@dataclass
class Node:
    """A value and its span `text[start:end]`."""

    kind: str  # object | array | string | number | literal
    start: int
    end: int
    scalar: Any = None
    members: list[Member] = field(default_factory=list)  # objects
    items: list[Node] = field(default_factory=list)  # arrays

    def get(self, key: str) -> Member | None:
        """The last member named `key` (what JSON.parse keeps), or None."""
        found = None
        for member in self.members:
            if member.key == key:
                found = member
        return found

    def value(self) -> Any:
        """The plain Python value (duplicate keys: the last wins, as JSON.parse does)."""
        if self.kind == "object":
            return {m.key: m.value.value() for m in self.members}
        if self.kind == "array":
            return [item.value() for item in self.items]
        return self.scalar


@dataclass
class Member:
    """`"key": value` inside an object; `key_start` is the opening quote."""

    key: str
    key_start: int
    value: Node


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, what: str, pos: int | None = None) -> JsoncError:
        at = self.pos if pos is None else pos
        line = self.text.count("\n", 0, at) + 1
        col = at - (self.text.rfind("\n", 0, at) + 1) + 1
        return JsoncError(f"{what} at line {line} column {col}")

    def skip(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n:
            char = text[self.pos]
            if char in " \t\r\n\ufeff":
                self.pos += 1
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = n if end < 0 else end + 1
            elif text.startswith("/*", self.pos):
                end = text.find("*/", self.pos + 2)
                if end < 0:
                    msg = "unterminated comment"
                    raise self.fail(msg)
                self.pos = end + 2
            else:
                return

    def value(self) -> Node:
        self.skip()
        if self.pos >= len(self.text):
            msg = "unexpected end of text"
            raise self.fail(msg)
        char = self.text[self.pos]
        start = self.pos
        if char == "{":
            return self.container("object", "}")
        if char == "[":
            return self.container("array", "]")
        if char == '"':
            string, end = self.string()
            return Node("string", start, end, string)
        match = _NUMBER.match(self.text, self.pos)
        if match:
            self.pos = match.end()
            number = json.loads(match.group())
            return Node("number", start, self.pos, number)
        for word, literal in _LITERALS.items():
            if self.text.startswith(word, self.pos):
                self.pos += len(word)
                return Node("literal", start, self.pos, literal)
        msg = f"unexpected {char!r}"
        raise self.fail(msg)

    def string(self) -> tuple[str, int]:
        try:
            string, end = _scanstring(self.text, self.pos + 1, True)
        except json.JSONDecodeError as exc:
            raise self.fail(exc.msg, exc.pos) from None
        self.pos = end
        return string, end

    def container(self, kind: str, close: str) -> Node:
        node = Node(kind, self.pos, self.pos)
        self.pos += 1
        while True:
            self.skip()
            if self.text.startswith(close, self.pos):
                self.pos += 1
                node.end = self.pos
                return node
            if kind == "object":
                if not self.text.startswith('"', self.pos):
                    msg = "expected a string key"
                    raise self.fail(msg)
                key_start = self.pos
                key, _ = self.string()
                self.skip()
                if not self.text.startswith(":", self.pos):
                    msg = "expected ':'"
                    raise self.fail(msg)
                self.pos += 1
                node.members.append(Member(key, key_start, self.value()))
            else:
                node.items.append(self.value())
            self.skip()
            if self.text.startswith(",", self.pos):
                self.pos += 1  # a trailing comma before the close is JSONC
            elif not self.text.startswith(close, self.pos):
                msg = f"expected ',' or {close!r}"
                raise self.fail(msg)


def parse(text: str) -> Node:
    """Parse JSONC text (comments `//` and `/* */`, trailing commas) into a spanned tree."""
    parser = _Parser(text)
    root = parser.value()
    parser.skip()
    if parser.pos != len(text):
        msg = "extra data"
        raise parser.fail(msg)
    return root


def loads(text: str) -> Any:
    """The plain value of a JSONC text."""
    return parse(text).value()


def apply_edits(text: str, edits: list[tuple[int, int, str]]) -> str:
    """Replace `text[start:end]` by each replacement (spans must not overlap)."""
    out = text
    last = len(text) + 1
    for start, end, replacement in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        if end > last:
            msg = "overlapping edits"
            raise ValueError(msg)
        out = out[:start] + replacement + out[end:]
        last = start
    return out


def dumps_value(value: Any) -> str:
    """A JSON scalar or compact array as it is spliced into a configuration."""
    if isinstance(value, list):
        return "[" + ", ".join(json.dumps(v, ensure_ascii=False) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)
