"""Redaction: no detector hit survives, redaction is idempotent, hashes come before redaction."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mcp_blackbox.schema import PayloadMode, RedactionPolicy, Redactor, capture_payload, json_sha256
from mcp_blackbox.schema.redaction import DEFAULT_DETECTORS, MARKER_PREFIX, parse_json_path


def _jwt() -> str:
    def seg(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")
    header, claims = seg({"alg": "HS256", "typ": "JWT"}), seg({"sub": "alice", "iat": 1700000000})
    return f"{header}.{claims}.c2lnbmF0dXJlX2J5dGVzX2hlcmU"


SECRETS = {
    "aws_access_key": "AKIAIOSFODNN7EXAMPLE",
    "aws_secret_key": "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "github_token": "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8",
    "jwt": _jwt(),
    "private_key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7xV1cK2mX9abcdefghijklmnop\n"
                   "qrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTU\n-----END RSA PRIVATE KEY-----",
    "url_password": "postgres://admin:S3cr3tP4ss@db.internal:5432/prod",
    "bearer_token": "Authorization: Bearer abcDEF0123456789ghiJKL.mnoPQR",
    "slack_token": "xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx",
    "stripe_key": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "gcp_api_key": "AIza" + "SyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    "openai_key": "sk-proj-" + "abcdefghijklmnopqrstuvwxyz012345",
}
SECRET_CORES = {
    "aws_secret_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "url_password": "S3cr3tP4ss",
    "bearer_token": "abcDEF0123456789ghiJKL.mnoPQR",
    "private_key": "MIIEowIBAAKCAQEA7xV1cK2mX9abcdefghijklmnop",
}


@pytest.mark.parametrize("name", sorted(SECRETS))
def test_each_detector_removes_its_secret(name: str) -> None:
    text = f"prefix {SECRETS[name]} suffix"
    result = Redactor().redact({"args": {"note": text}})
    dumped = json.dumps(result.value)
    assert SECRET_CORES.get(name, SECRETS[name]) not in dumped
    assert result.paths and all(p.endswith("@$.args.note") for p in result.paths)
    assert "prefix" in dumped and "suffix" in dumped


def test_key_names_and_json_paths() -> None:
    policy = RedactionPolicy.from_settings(extra_keys=["SSN"], json_paths=["$.rows[*].email", "$.meta['x y']"])
    value = {"password": "hunter22", "Api-Key": 12345, "ssn": "078-05-1120", "enabled": True,
             "rows": [{"email": "a@example.com"}, {"email": "b@example.com", "name": "B"}],
             "meta": {"x y": "hidden", "z": "kept"}}
    result = Redactor(policy).redact(value)
    out = result.value
    assert out["password"] == out["Api-Key"] == out["ssn"] == "[REDACTED:secret_key]"
    assert out["enabled"] is True
    assert [r["email"] for r in out["rows"]] == ["[REDACTED:json_path]"] * 2
    assert out["rows"][1]["name"] == "B" and out["meta"] == {"x y": "[REDACTED:json_path]", "z": "kept"}
    assert "json_path@$.rows[1].email" in result.paths and "secret_key@$['Api-Key']" in result.paths
    assert value["password"] == "hunter22", "input must not be mutated"


def test_json_path_parser() -> None:
    assert parse_json_path("$.a.b[0][*]['x y']") == ("a", "b", 0, None, "x y")
    with pytest.raises(ValueError, match="JSON path"):
        parse_json_path("a.b")


secret_text = st.sampled_from(sorted(SECRETS.values()))
noise = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
documents = st.recursive(
    st.builds(lambda a, s, b: a + " " + s + " " + b, noise, secret_text, noise) | noise | st.integers(),
    lambda ch: st.lists(ch, max_size=4) | st.dictionaries(st.sampled_from(["note", "data", "x", "body"]), ch,
                                                          max_size=4),
    max_leaves=12,
)


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@given(documents)
@settings(max_examples=300, deadline=None)
def test_no_detector_hit_survives_and_redaction_is_idempotent(doc: object) -> None:
    redactor = Redactor()
    once = redactor.redact(doc)
    for text in _strings(once.value):
        for detector in DEFAULT_DETECTORS:
            for match in detector.pattern.finditer(text):
                hit = match.group(detector.group)
                assert hit.startswith(MARKER_PREFIX), f"{detector.name} survived: {hit!r}"
    twice = redactor.redact(once.value)
    assert twice.value == once.value
    assert twice.paths == []


def test_capture_hashes_before_redaction_and_caps_size() -> None:
    args = {"query": "select 1", "password": "hunter22"}
    captured = capture_payload(args, redactor=Redactor())
    assert captured.sha256 == json_sha256(args)
    assert captured.json_text is not None and "hunter22" not in captured.json_text
    assert captured.redacted_paths == ["secret_key@$.password"]
    hashes = capture_payload(args, redactor=Redactor(), mode=PayloadMode.HASHES)
    assert hashes.json_text is None and hashes.sha256 == captured.sha256
    assert capture_payload(args, redactor=Redactor(), mode=PayloadMode.NONE).sha256 is None
    big = {"blob": "y" * 500_000, "items": list(range(50_000))}
    capped = capture_payload(big, redactor=Redactor(), max_bytes=10_000)
    assert capped.truncated and capped.json_text is not None
    assert len(capped.json_text.encode()) <= 10_000
    json.loads(capped.json_text)
    assert capped.size_bytes == len(json.dumps(big, separators=(",", ":")).encode())
