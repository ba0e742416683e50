"""Redaction: remove secrets from payloads before they leave the emitter.

Three mechanisms, applied together to any JSON-like value:
- **detectors**: regular expressions for cloud keys, tokens, JWTs, private keys, passwords in URLs,
  bearer/basic headers and `password=…` pairs in free text; only the secret part is replaced;
- **key names**: the whole value under a sensitive key (`password`, `api_key`, `accessToken`, …) is
  replaced, and a high-entropy token under a key-like name (`MY_SERVICE_KEY`, `deployToken`) too;
- **JSON paths**: configured paths (`$.arguments.ssn`, `$.content[*].text`) are replaced.

Object keys are scanned by the detectors as well (a token used as a key is replaced by a marker key).
Key-name rules apply to *values supplied* for those keys, never to schema definitions (a JSON Schema
`properties` map naming a `password` property, a `required` list) nor to values that are plainly not
secrets (an environment listing's `"PWD": "/home/alice"`: absolute paths and empty strings).

Every replacement is a marker `[REDACTED:<reason>]` that no detector matches, so redaction is
idempotent, and each is reported as `<reason>@<json path>` (the `redacted_paths` column; the path
is built from redacted keys). Hashes are taken by the caller *before* redaction and are keyed
(`schema.hashing`), so equal payloads still match across the emitters of one deployment while a
dictionary of guessed payloads does not match a stored hash.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

MARKER_PREFIX: Final = "[REDACTED:"


def marker(reason: str) -> str:
    """The text that replaces a secret."""
    return f"{MARKER_PREFIX}{reason}]"


@dataclass(frozen=True)
class Detector:
    """A named secret pattern. With `group`, only that group is replaced (keeps e.g. 'Bearer ')."""

    name: str
    pattern: re.Pattern[str]
    group: int = 0


def _d(name: str, regex: str, group: int = 0, flags: int = 0) -> Detector:
    return Detector(name, re.compile(regex, flags), group)


# Order matters: longer, more specific patterns first (a PEM block before anything inside it).
DEFAULT_DETECTORS: Final[tuple[Detector, ...]] = (
    _d("private_key",
       r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?"
       r"-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----"),
    _d("private_key", r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[A-Za-z0-9+/=\s\\n]{40,}"),  # cut-off PEM
    _d("jwt", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    _d("bearer_token", r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{16,}=*)", 1),
    _d("basic_auth", r"(?i)\bbasic\s+([A-Za-z0-9+/]{12,}={0,2})", 1),
    _d("url_password", r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s:/@\"'<>]+:([^\s@/\"'<>]+)@", 1),
    _d("aws_access_key", r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|ABIA|ACCA)[A-Z0-9]{16}\b"),
    _d("aws_secret_key",
       r"(?i)aws.{0,20}?(?:secret|sk).{0,20}?['\"=:\s]\s*['\"]?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])", 1),
    _d("gcp_api_key", r"\bAIza[0-9A-Za-z_\-]{35}"),
    _d("azure_storage_key", r"(?i)AccountKey=([A-Za-z0-9+/=]{40,})", 1),
    _d("github_token", r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36,}"),
    _d("github_token", r"\bgithub_pat_[A-Za-z0-9_]{22,}"),
    _d("gitlab_token", r"\bglpat-[A-Za-z0-9_\-]{20,}"),
    _d("slack_token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}"),
    _d("stripe_key", r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"),
    _d("anthropic_key", r"\bsk-ant-[A-Za-z0-9_\-]{20,}"),
    _d("openai_key", r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_\-]{20,}"),
    _d("google_oauth_token", r"\bya29\.[A-Za-z0-9_\-]{20,}"),
    _d("npm_token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    _d("cli_secret_flag",
       r"(?i)(?<![A-Za-z0-9_-])--?(?:[a-z0-9]+[-_])*(?:password|passwd|passphrase|pwd|pass|token|secret|api[-_]?key|"
       r"apikey|key|auth|credentials?)(?:=|\s+)(?!-)(?!\[REDACTED)('[^']{4,}'|\"[^\"]{4,}\"|[^\s\"']{4,})", 1),
    _d("password_assignment",
       r"(?i)\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|client[_-]?secret)"
       r"(?:\"|')?\s*[:=]\s*(?:\"|')?(?!\[REDACTED)(?![/~])([^\s\"'&,;}{]{4,})", 1),  # not a path (PWD=/home/…)
)

DEFAULT_SECRET_KEYS: Final = frozenset({
    "password", "passwd", "pwd", "passphrase", "secret", "client_secret", "api_key", "apikey",
    "access_token", "refresh_token", "id_token", "token", "auth_token", "authorization",
    "private_key", "secret_key", "aws_secret_access_key", "cookie", "set_cookie", "session_token",
    "credentials", "x_api_key",
})


#: Words that make a key name key-like: a high-entropy token under such a name is redacted.
KEY_LIKE_WORDS: Final = frozenset({
    "key", "keys", "token", "tokens", "secret", "secrets", "password", "passwd", "pwd", "passphrase", "pass",
    "credential", "credentials", "cred", "creds", "auth", "apikey", "cookie", "session", "signature", "private",
    "pat", "bearer", "jwt", "otp", "pin", "sig", "hmac", "salt",
})

# Keys whose mapping value is a map of JSON Schema definitions (names of properties, not values).
_SCHEMA_MAP_KEYS: Final = frozenset({"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"})
_SCHEMA_WORDS: Final = frozenset({
    "type", "description", "$ref", "enum", "anyOf", "oneOf", "allOf", "not", "items", "properties", "format",
    "title", "const", "pattern", "minLength", "maxLength", "minimum", "maximum", "additionalProperties",
    "required", "nullable", "examples", "default", "deprecated", "readOnly", "writeOnly", "contentEncoding",
})
_CACHED_TEXT: Final = 256  # strings up to this length have their scan result cached (per Redactor)
_FLAG = re.compile(r"--?([A-Za-z][A-Za-z0-9_-]*)")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_PLAIN_PATH = re.compile(r"(?:/|~/|\./|\.\./|[A-Za-z]:[\\/])[^\n]*")
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9_\-+/=.]{16,}")


def _normalise_key(key: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", _CAMEL.sub("_", key).lower()).strip("_")


def _plainly_not_secret(value: object) -> bool:
    """Values a key-name rule leaves alone: empty strings and filesystem paths (`"PWD": "/home/x"`)."""
    return isinstance(value, str) and (not value.strip() or _PLAIN_PATH.fullmatch(value) is not None)


def _entropy(text: str) -> float:
    counts: dict[str, int] = {}
    for char in text:
        counts[char] = counts.get(char, 0) + 1
    size = len(text)
    return -sum(n / size * math.log2(n / size) for n in counts.values())


def high_entropy_token(value: str) -> bool:
    """A random-looking token: 16+ token characters, mixed classes, over 3.3 bits of entropy per char."""
    if len(value) > 4096 or _TOKEN_CHARS.fullmatch(value) is None or value.startswith(("/", ".", "~")):
        return False
    classes = sum((any(c.islower() for c in value), any(c.isupper() for c in value),
                   any(c.isdigit() for c in value)))
    return classes >= 2 and _entropy(value) >= 3.3


# A key-like word followed by one of these names something about a secret, not the secret (`keyId`,
# `tokenType`, `sessionId`, `keyFile`); MCP's own `progressToken` is a correlation id.
_NOT_A_SECRET_SUFFIX: Final = frozenset({
    "id", "ids", "type", "name", "names", "count", "url", "uri", "path", "file", "dir", "hint", "length", "size",
    "version", "format", "kind", "expiry", "expires", "ttl", "scope", "scopes",
})
_PROTOCOL_IDS: Final = frozenset({"progress_token"})


def _key_like(normalised: str) -> bool:
    words = normalised.split("_")
    if normalised in _PROTOCOL_IDS or words[-1] in _NOT_A_SECRET_SUFFIX:
        return False
    return any(word in KEY_LIKE_WORDS for word in words)


def _looks_like_schema(value: object) -> bool:
    return isinstance(value, Mapping) and (not value or any(k in _SCHEMA_WORDS for k in value))


@dataclass(frozen=True)
class RedactionPolicy:
    """What to remove. Built from configuration; the defaults cover common secrets."""

    detectors: tuple[Detector, ...] = DEFAULT_DETECTORS
    secret_keys: frozenset[str] = DEFAULT_SECRET_KEYS
    json_paths: tuple[str, ...] = ()
    enabled: bool = True

    @classmethod
    def from_settings(
        cls,
        *,
        extra_keys: Iterable[str] = (),
        json_paths: Iterable[str] = (),
        extra_patterns: Mapping[str, str] | None = None,
        defaults: bool = True,
    ) -> RedactionPolicy:
        """A policy from configuration: more key names, JSON paths and named regular expressions."""
        detectors = list(DEFAULT_DETECTORS if defaults else ())
        for name, regex in (extra_patterns or {}).items():
            detectors.append(Detector(name, re.compile(regex)))
        keys = set(DEFAULT_SECRET_KEYS if defaults else ())
        keys.update(_normalise_key(k) for k in extra_keys)
        return cls(tuple(detectors), frozenset(keys), tuple(json_paths))


@dataclass
class RedactionResult:
    """The redacted value and what was removed (`reason@path`, in document order)."""

    value: Any
    paths: list[str] = field(default_factory=list)

    @property
    def redacted(self) -> bool:
        """Whether anything was removed."""
        return bool(self.paths)


_PATH_TOKEN = re.compile(r"\.([^.\[\]]+)|\[(\*|\d+|'[^']*'|\"[^\"]*\")\]")


def parse_json_path(path: str) -> tuple[str | int | None, ...]:
    """`$.a.b[0][*]['x y']` → ('a', 'b', 0, None, 'x y'); None is the wildcard."""
    if not path.startswith("$"):
        msg = f"JSON path must start with '$': {path!r}"
        raise ValueError(msg)
    parts: list[str | int | None] = []
    pos = 1
    while pos < len(path):
        match = _PATH_TOKEN.match(path, pos)
        if match is None:
            msg = f"cannot parse JSON path {path!r} at position {pos}"
            raise ValueError(msg)
        name, index = match.groups()
        if name is not None:
            parts.append(None if name == "*" else name)
        elif index == "*":
            parts.append(None)
        elif index is not None and index[0] in "'\"":
            parts.append(index[1:-1])
        elif index is not None:
            parts.append(int(index))
        pos = match.end()
    return tuple(parts)


def _child(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key):
        return f"{path}.{key}"
    escaped = key.replace("\\", "\\\\").replace("'", "\\'")
    return f"{path}['{escaped}']"


class Redactor:
    """Applies a `RedactionPolicy` to JSON-like values. Thread-safe (no mutable state)."""

    def __init__(self, policy: RedactionPolicy | None = None) -> None:
        self.policy = policy or RedactionPolicy()
        self._paths = [parse_json_path(p) for p in self.policy.json_paths]
        self._scan_short = functools.lru_cache(maxsize=8192)(self._scan_uncached)

    def redact(self, value: Any, root: str = "$") -> RedactionResult:
        """Return a redacted copy of `value` (never mutates it) and the reasons@paths removed."""
        result = RedactionResult(value)
        if not self.policy.enabled:
            return result
        result.value = self._walk(value, root, (), result.paths)
        return result

    def redact_text(self, text: str, path: str = "$") -> RedactionResult:
        """Redact a free-text string (log lines, error messages, headers)."""
        paths: list[str] = []
        return RedactionResult(self._scan(text, path, paths), paths)

    def _path_hit(self, trail: Sequence[str | int]) -> bool:
        for pattern in self._paths:
            if len(pattern) == len(trail) and all(p is None or p == t for p, t in zip(pattern, trail, strict=True)):
                return True
        return False

    def _walk(self, value: Any, path: str, trail: tuple[str | int, ...], out: list[str],
              schema_map: bool = False) -> Any:
        if trail and self._paths and self._path_hit(trail):
            if isinstance(value, str) and value == marker("json_path"):
                return value
            out.append(f"json_path@{path}")
            return marker("json_path")
        if isinstance(value, str):
            return self._scan(value, path, out)
        if isinstance(value, Mapping):
            copy: dict[str, Any] = {}
            for key, item in value.items():
                shown = self._key(key, path, out, copy) if isinstance(key, str) else key
                child = _child(path, shown)
                reason = None if schema_map and _looks_like_schema(item) else self._key_rule(key, item)
                if reason is not None:
                    if item == marker(reason):
                        copy[shown] = item
                    else:
                        out.append(f"{reason}@{child}")
                        copy[shown] = marker(reason)
                    continue
                copy[shown] = self._walk(item, child, (*trail, key), out,
                                         isinstance(key, str) and key in _SCHEMA_MAP_KEYS)
            return copy
        if isinstance(value, list | tuple):
            items = [self._walk(item, _child(path, i), (*trail, i), out) for i, item in enumerate(value)]
            for i in range(len(items) - 1):  # argv style: ["--api-key", "<value>"]
                flag, item = items[i], items[i + 1]
                if isinstance(flag, str) and isinstance(item, str) and not item.startswith(("-", MARKER_PREFIX)):
                    match = _FLAG.fullmatch(flag)
                    if match and self._key_rule(match.group(1), item) is not None:
                        out.append(f"cli_secret_flag@{_child(path, i + 1)}")
                        items[i + 1] = marker("cli_secret_flag")
            return items
        return value

    def _key_rule(self, key: object, item: Any) -> str | None:
        """`secret_key` / `high_entropy` when the value supplied for this key must go, else None."""
        if not isinstance(key, str) or item is None or isinstance(item, bool) or _plainly_not_secret(item):
            return None
        name = _normalise_key(key)
        if name in self.policy.secret_keys:
            return "secret_key"
        if isinstance(item, str) and _key_like(name) and not item.startswith(MARKER_PREFIX) \
                and high_entropy_token(item):
            return "high_entropy"
        return None

    def _key(self, key: str, path: str, out: list[str], taken: Mapping[str, Any]) -> str:
        """An object key with any secret in it replaced (kept unique among its siblings)."""
        if len(key) < 8:
            return key
        hits: list[str] = []
        shown = self._scan(key, path, hits)
        if not hits:
            return shown
        base, n = shown, 2
        while shown in taken:
            shown, n = f"{base}#{n}", n + 1
        out.extend(f"{hit.split('@', 1)[0]}@{_child(path, shown)}" for hit in hits)
        return shown

    def _scan(self, text: str, path: str, out: list[str]) -> str:
        if len(text) < 8:
            return text
        if len(text) <= _CACHED_TEXT:  # method, tool and server names, ids: the same few strings again
            redacted, reasons = self._scan_short(text)
            out.extend(f"{reason}@{path}" for reason in reasons)
            return redacted
        return self._scan_all(text, path, out)

    def _scan_all(self, text: str, path: str, out: list[str]) -> str:
        for detector in self.policy.detectors:
            if detector.pattern.search(text) is None:
                continue
            text = self._replace(detector, text, path, out)
        return text

    def _scan_uncached(self, text: str) -> tuple[str, tuple[str, ...]]:
        hits: list[str] = []
        redacted = self._scan_all(text, "", hits)
        return redacted, tuple(hit.rsplit("@", 1)[0] for hit in hits)

    @staticmethod
    def _replace(detector: Detector, text: str, path: str, out: list[str]) -> str:
        pieces: list[str] = []
        last = 0
        replacement = marker(detector.name)
        for match in detector.pattern.finditer(text):
            start, end = match.span(detector.group)
            if start < 0 or text[start:end] == replacement:
                continue
            pieces.append(text[last:start])
            pieces.append(replacement)
            last = end
            out.append(f"{detector.name}@{path}")
        if not pieces:
            return text
        pieces.append(text[last:])
        return "".join(pieces)
