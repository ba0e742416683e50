"""Secret kinds and the MCP fields they are seeded into, for the end-to-end redaction test.

Every (kind, field) pair gets its own secret value (the random part is derived from the pair), so a
value found in stored bytes names the field that leaked it. `text` is what is put in the field and
`core` the part that must never be stored.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _rand(tag: str, n: int, alphabet: str = _ALNUM) -> str:
    out, counter = [], 0
    while len(out) < n:
        digest = hashlib.sha256(f"{tag}/{counter}".encode()).digest()
        out.extend(alphabet[b % len(alphabet)] for b in digest)
        counter += 1
    return "".join(out[:n])


def _jwt(tag: str) -> tuple[str, str]:
    def seg(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    token = f"{seg({'alg': 'HS256', 'typ': 'JWT'})}.{seg({'sub': _rand(tag, 12)})}.{_rand(tag + 's', 43)}"
    return token, token


def _pem(tag: str) -> tuple[str, str]:
    body = _rand(tag, 64, _ALNUM + "+/")
    return f"-----BEGIN RSA PRIVATE KEY-----\nMIIEow{body}\n-----END RSA PRIVATE KEY-----", "MIIEow" + body


def _same(make: Callable[[str], str]) -> Callable[[str], tuple[str, str]]:
    return lambda tag: (make(tag), make(tag))


def _core_after(prefix: str, make: Callable[[str], str]) -> Callable[[str], tuple[str, str]]:
    return lambda tag: (prefix + make(tag), make(tag))


#: kind → tag → (text seeded, core that must not be stored). Free-text capable kinds.
TEXT_KINDS: dict[str, Callable[[str], tuple[str, str]]] = {
    "aws_access_key": _same(lambda t: "AKIA" + _rand(t, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")),
    "aws_secret_key": _core_after("aws_secret_access_key=", lambda t: _rand(t, 40, _ALNUM + "/+")),
    "github_token": _same(lambda t: "ghp_" + _rand(t, 36)),
    "github_pat": _same(lambda t: "github_pat_11A" + _rand(t, 60)),
    "gitlab_token": _same(lambda t: "glpat-" + _rand(t, 20)),
    "slack_token": _same(lambda t: "xoxb-" + _rand(t, 12, "0123456789") + "-" + _rand(t + "b", 24)),
    "stripe_key": _same(lambda t: "sk_live_" + _rand(t, 24)),
    "openai_key": _same(lambda t: "sk-proj-" + _rand(t, 48)),
    "anthropic_key": _same(lambda t: "sk-ant-api03-" + _rand(t, 80)),
    "gcp_api_key": _same(lambda t: "AIza" + _rand(t, 35)),
    "google_oauth_token": _same(lambda t: "ya29." + _rand(t, 60)),
    "npm_token": _same(lambda t: "npm_" + _rand(t, 36)),
    "jwt": _jwt,
    "private_key_pem": _pem,
    "url_password": lambda t: (f"postgres://admin:{_rand(t, 14)}@db.internal:5432/prod", _rand(t, 14)),
    "bearer_token": _core_after("Authorization: Bearer ", lambda t: _rand(t, 32)),
    "basic_auth": _core_after("Basic ", lambda t: base64.b64encode(f"admin:{_rand(t, 12)}".encode()).decode()),
    "azure_storage_key": _core_after("DefaultEndpointsProtocol=https;AccountName=x;AccountKey=",
                                     lambda t: _rand(t, 86, _ALNUM + "+/") + "=="),
    "password_assignment": _core_after("password=", lambda t: "Pw" + _rand(t, 10)),
    "cli_secret_flag": _core_after("--api-token ", lambda t: _rand(t, 18)),
}

#: Kinds that are secrets only by the key they are supplied under: seeded as {key: value}.
KEYED_KINDS: dict[str, tuple[str, Callable[[str], str]]] = {
    "high_entropy_key_like": ("DEPLOY_SIGNING_KEY", lambda t: _rand(t, 32, _ALNUM + "-_")),
    "secret_key_name": ("passphrase", lambda t: "correct horse " + _rand(t, 6)),
}

ALL_KINDS = (*TEXT_KINDS, *KEYED_KINDS)


@dataclass(frozen=True)
class Seed:
    kind: str
    field: str
    text: str
    core: str


def seed(kind: str, field: str) -> Seed:
    tag = f"{kind}|{field}"
    if kind in TEXT_KINDS:
        text, core = TEXT_KINDS[kind](tag)
        return Seed(kind, field, text, core)
    _, make = KEYED_KINDS[kind]
    value = make(tag)
    return Seed(kind, field, value, value)


def keyed(kind: str, field: str) -> tuple[str, Seed]:
    """(key, seed) of a key-supplied kind."""
    return KEYED_KINDS[kind][0], seed(kind, field)
