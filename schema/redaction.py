"""Redaction: remove secrets from payloads before they leave the emitter.

Three mechanisms, applied together to any JSON-like value:
- **detectors**: regular expressions for cloud keys, tokens, JWTs, private keys, passwords in URLs,
  bearer/basic headers and `password=…` pairs in free text; only the secret part is replaced;
- **key names**: the whole value under a sensitive key (`password`, `api_key`, …) is replaced;
- **JSON paths**: configured paths (`$.arguments.ssn`, `$.content[*].text`) are replaced.

Every replacement is a marker `[REDACTED:<reason>]` that no detector matches, so redaction is
idempotent, and each is reported as `<reason>@<json path>` (the `redacted_paths` column). Hashes are
taken by the caller *before* redaction, so equal payloads still match across emitters.
"""

from __future__ import annotations

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
    _d("password_assignment",
       r"(?i)\b(?:password|passwd|pwd|secret|api[_-]?key|access[_-]?token|client[_-]?secret)"
       r"(?:\"|')?\s*[:=]\s*(?:\"|')?(?!\[REDACTED)([^\s\"'&,;}{]{4,})", 1),
)

DEFAULT_SECRET_KEYS: Final = frozenset({
    "password", "passwd", "pwd", "passphrase", "secret", "client_secret", "api_key", "apikey",
    "access_token", "refresh_token", "id_token", "token", "auth_token", "authorization",
    "private_key", "secret_key", "aws_secret_access_key", "cookie", "set_cookie", "session_token",
    "credentials", "x_api_key",
})


def _normalise_key(key: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")


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

    def _walk(self, value: Any, path: str, trail: tuple[str | int, ...], out: list[str]) -> Any:
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
                child = _child(path, key)
                if (
                    isinstance(key, str)
                    and _normalise_key(key) in self.policy.secret_keys
                    and item is not None
                    and not isinstance(item, bool)
                ):
                    if item == marker("secret_key"):
                        copy[key] = item
                    else:
                        out.append(f"secret_key@{child}")
                        copy[key] = marker("secret_key")
                    continue
                copy[key] = self._walk(item, child, (*trail, key), out)
            return copy
        if isinstance(value, list | tuple):
            return [self._walk(item, _child(path, i), (*trail, i), out) for i, item in enumerate(value)]
        return value

    def _scan(self, text: str, path: str, out: list[str]) -> str:
        if len(text) < 8:
            return text
        for detector in self.policy.detectors:
            if detector.pattern.search(text) is None:
                continue
            text = self._replace(detector, text, path, out)
        return text

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
