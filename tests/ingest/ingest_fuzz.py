"""A mutation fuzzer over valid canonical events, for the decode path (test and benchmark).

`FuzzRecords(seed).batch(n)` returns n records: a share stay valid, the rest are valid canonical events
mutated at the byte level (flips, inserts, deletes, truncation, splices, hostile bytes) or at the JSON
level (a field replaced by a hostile value: other types, deep nesting, giant or non-finite numbers,
escapes, surrogates, implausible times; keys duplicated, dropped or added), or generated from scratch
(non-object JSON, empty and whitespace lines, random bytes). Deterministic for a seed.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable

from ingest_eventgen import EventFactory

from mcp_blackbox.schema.canonical import canonical_bytes

# Hostile JSON values (raw bytes) to put in place of a field's value.
HOSTILE_VALUES: list[bytes] = [
    b"null", b"true", b"false", b"0", b"-0", b"1", b"-1", b"1.0", b"1e400", b"-1e400", b"1e-400", b"NaN",
    b"Infinity", b"-Infinity", b"9" * 30, b"9" * 5000, b"-" + b"9" * 19, b"9223372036854775808", b"0x10",
    b'"5"', b'"yes"', b'"true"', b'""', b'" "', b'"\\u0000"', b'"\\ud800"', b'"\\udc00\\ud800"', b'"\\ud83d\\ude00"',
    b'"\x00"', b'"\x1b[2J"', b'"\xc3\x28"', b'"\xed\xa0\x80"', b'"\xf4\x90\x80\x80"', b'"\xff"',
    b'"\\u202e"', b"[]", b"{}", b'["x"]', b'[1]', b"[null]", b'{"a":1}', b"[" * 1000 + b"]" * 1000,
    b'{"a":' * 1000 + b"1" + b"}" * 1000, b"[" * 100_000 + b"]" * 100_000, b'"0001-01-01T00:00:00.000000Z"',
    b'"9999-12-31T23:59:59.999999Z"', b'"2026-13-01T00:00:00.000000Z"', b'"2026-02-30T00:00:00.000000Z"',
    b'"2099-01-01T00:00:00.000000Z"', b'"2026-11-25T01:00:00"', b'"2026-11-25T01:00:00+99:00"', b"1700000000",
    b'"' + b"A" * 70_000 + b'"', b'"\\"', b"'x'", b"tru", b"nul", b"",
]
EXTRA_KEYS: list[bytes] = [b"surprise", b"", b"\\u0000", b"schema_version", b"__proto__", b"event_id\\u0000"]
NOISE: list[bytes] = [b"\x00", b"\n", b"\r", b"\r\n", b"\xff", b"\xef\xbb\xbf", b"\\", b'"', b"{", b"}", b"[", b"]",
                      b",", b":", b"\xed\xa0\x80", b"\xc0\x80", b" ", b"\t", b"\x1b"]
STANDALONE: list[bytes] = [b"", b" ", b"\t\t", b"null", b"true", b"0", b'"x"', b"[]", b"[{}]", b"{}",
                           b"[" * 1000 + b"]" * 1000, b"{" * 5000, b"\xef\xbb\xbf{}", b"\x00" * 64, b"null\x00"]


class FuzzRecords:
    """Deterministic stream of fuzzed records from `EventFactory` events."""

    def __init__(self, seed: int = 1, valid_share: float = 0.1) -> None:
        self.rnd = random.Random(seed)
        self.valid_share = valid_share
        self.events = [json.loads(v) for _, v in EventFactory(seed=seed, emitters=20).wire(2000)]
        self.mutators: list[Callable[[dict[str, object]], bytes]] = [
            self.flip, self.insert, self.delete, self.truncate, self.splice, self.replace_value,
            self.replace_value, self.replace_value, self.duplicate_key, self.drop_key, self.extra_key,
            self.respell, self.standalone,
        ]

    def batch(self, n: int) -> list[bytes]:
        out = []
        for _ in range(n):
            ev = self.rnd.choice(self.events)
            if self.rnd.random() < self.valid_share:
                out.append(canonical_bytes(ev))
            else:
                out.append(self.rnd.choice(self.mutators)(ev))
        return out

    # -- byte level ---------------------------------------------------------------------------------
    def flip(self, ev: dict[str, object]) -> bytes:
        data = bytearray(canonical_bytes(ev))
        for _ in range(self.rnd.randint(1, 4)):
            data[self.rnd.randrange(len(data))] ^= 1 << self.rnd.randrange(8)
        return bytes(data)

    def insert(self, ev: dict[str, object]) -> bytes:
        data = canonical_bytes(ev)
        at = self.rnd.randrange(len(data) + 1)
        return data[:at] + self.rnd.choice(NOISE) * self.rnd.randint(1, 3) + data[at:]

    def delete(self, ev: dict[str, object]) -> bytes:
        data = canonical_bytes(ev)
        at = self.rnd.randrange(len(data))
        return data[:at] + data[at + self.rnd.randint(1, 8):]

    def truncate(self, ev: dict[str, object]) -> bytes:
        data = canonical_bytes(ev)
        return data[: self.rnd.randrange(len(data))]

    def splice(self, ev: dict[str, object]) -> bytes:
        a, b = canonical_bytes(ev), canonical_bytes(self.rnd.choice(self.events))
        return a[: self.rnd.randrange(len(a))] + b[self.rnd.randrange(len(b)):]

    # -- JSON level ---------------------------------------------------------------------------------
    def _with_raw(self, ev: dict[str, object], key: str, raw: bytes) -> bytes:
        rest = canonical_bytes({k: v for k, v in ev.items() if k != key})
        return rest[:-1] + (b"," if len(rest) > 2 else b"") + json.dumps(key).encode() + b":" + raw + b"}"

    def replace_value(self, ev: dict[str, object]) -> bytes:
        key = self.rnd.choice(list(ev))
        return self._with_raw(ev, key, self.rnd.choice(HOSTILE_VALUES))

    def duplicate_key(self, ev: dict[str, object]) -> bytes:
        key = self.rnd.choice(list(ev))
        data = canonical_bytes(ev)
        return data[:-1] + b"," + json.dumps(key).encode() + b":" + json.dumps(ev[key]).encode() + b"}"

    def drop_key(self, ev: dict[str, object]) -> bytes:
        key = self.rnd.choice(list(ev))
        return canonical_bytes({k: v for k, v in ev.items() if k != key})

    def extra_key(self, ev: dict[str, object]) -> bytes:
        data = canonical_bytes(ev)
        return data[:-1] + b',"' + self.rnd.choice(EXTRA_KEYS) + b'":' + self.rnd.choice(HOSTILE_VALUES) + b"}"

    def respell(self, ev: dict[str, object]) -> bytes:
        """Valid JSON, not canonical: other key order, ASCII escapes, indentation, spaces."""
        items = list(ev.items())
        self.rnd.shuffle(items)
        return json.dumps(dict(items), ensure_ascii=self.rnd.random() < 0.5,
                          indent=self.rnd.choice([None, 1])).encode()

    def standalone(self, ev: dict[str, object]) -> bytes:
        if self.rnd.random() < 0.5:
            return self.rnd.choice(STANDALONE)
        return bytes(self.rnd.getrandbits(8) for _ in range(self.rnd.randint(0, 200)))
