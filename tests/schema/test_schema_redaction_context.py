"""Key-name rules in context: values supplied for secret keys go, schema definitions and paths stay."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from mcp_blackbox.schema import Redactor, capture_payload, json_sha256
from mcp_blackbox.schema.canonical import canonical_bytes, tool_catalog_sha256, tool_definition_sha256
from mcp_blackbox.schema.hashing import PLAIN, ContentHasher

TOOLS_LIST = {"tools": [{"name": "login", "description": "Log in with an API key",
                         "inputSchema": {"type": "object",
                                         "properties": {"api_key": {"type": "string", "description": "key"},
                                                        "password": {"type": "string", "minLength": 8},
                                                        "accessToken": {"$ref": "#/$defs/tok"}},
                                         "required": ["api_key", "password"],
                                         "$defs": {"tok": {"type": "string"}}}}]}


def test_schema_properties_named_like_secrets_are_kept() -> None:
    result = Redactor().redact(TOOLS_LIST)
    assert result.paths == []
    assert result.value == TOOLS_LIST


def test_values_under_properties_are_still_redacted() -> None:
    # An argument object that happens to use the key "properties": its scalar values are supplied values.
    result = Redactor().redact({"properties": {"password": "hunter22", "colour": "red"}})
    assert result.value == {"properties": {"password": "[REDACTED:secret_key]", "colour": "red"}}


def test_env_listing_paths_kept_secrets_removed() -> None:
    env = {"PWD": "/home/alice/src", "OLDPWD": "/tmp", "HOME": "/home/alice", "SSH_AUTH_SOCK": "/tmp/ssh-a/agent.1",
           "DBUS_SESSION_BUS_ADDRESS": "unix:path=/run/user/1000/bus", "PASSWORD": "hunter22",
           "DEPLOY_SIGNING_KEY": "q8ZrT1xW9vB2nM4kL7pJ3hG6", "GIT_SHA_KEYWORDS": "main"}
    result = Redactor().redact({"env": env})
    out = result.value["env"]
    for name in ("PWD", "OLDPWD", "HOME", "SSH_AUTH_SOCK", "DBUS_SESSION_BUS_ADDRESS", "GIT_SHA_KEYWORDS"):
        assert out[name] == env[name], name
    assert out["PASSWORD"] == "[REDACTED:secret_key]"
    assert out["DEPLOY_SIGNING_KEY"] == "[REDACTED:high_entropy]"
    text = Redactor().redact_text('{"PWD": "/home/alice/src", "pwd": "hunter22"}').value
    assert "/home/alice/src" in text and "hunter22" not in text


def test_camel_case_keys_and_secrets_as_keys() -> None:
    token = "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"
    result = Redactor().redact({"accessToken": "abc", "clientSecret": "xyz", token: 1, token + "x": 2})
    out = result.value
    assert out["accessToken"] == out["clientSecret"] == "[REDACTED:secret_key]"
    assert not any(token in key for key in out)
    assert "[REDACTED:github_token]" in out and "[REDACTED:github_token]#2" in out
    assert not any(token in p for p in result.paths), "paths must not carry the secret key"
    again = Redactor().redact(out)
    assert again.value == out and again.paths == []


def test_argv_flags() -> None:
    argv = ["server", "--api-key", "abcd1234", "--token=zzzz9999", "--port", "8080", "--passphrase", "two words"]
    result = Redactor().redact(argv)
    assert result.value == ["server", "--api-key", "[REDACTED:cli_secret_flag]",
                            "--token=[REDACTED:cli_secret_flag]", "--port", "8080", "--passphrase",
                            "[REDACTED:cli_secret_flag]"]
    text = Redactor().redact_text("server --api-key abcd1234 --passphrase 'two words' --keyfile /k --port 80").value
    assert "abcd1234" not in text and "two words" not in text and "--keyfile /k --port 80" in text


def test_keyed_hashes_match_with_one_key_and_resist_a_dictionary() -> None:
    args = {"password": "hunter2"}
    key = b"deployment-key-0123456789abcdef"
    one, two = ContentHasher(key), ContentHasher(key)
    captured = capture_payload(args, redactor=Redactor(), hasher=one)
    assert captured.sha256 == two.json(args) == hmac.new(key, canonical_bytes(args), hashlib.sha256).hexdigest()
    assert captured.sha256 != json_sha256(args), "a plain SHA-256 dictionary must not match"
    assert ContentHasher(b"another-deployment-key-000000").json(args) != captured.sha256
    tool = TOOLS_LIST["tools"][0]
    assert one.tool_definition(tool) == two.tool_definition(tool) != tool_definition_sha256(tool)
    assert PLAIN.tool_definition(tool) == tool_definition_sha256(tool)
    assert PLAIN.tool_catalog([tool]) == tool_catalog_sha256([tool])
    with pytest.raises(ValueError, match="at least"):
        ContentHasher(b"short")


def test_identifiers_under_key_like_names_are_not_high_entropy_secrets() -> None:
    value = {"progressToken": "3f9c2a7e-1b4d-4e8a-9c0f-5d6e7a8b9c0d", "keyId": "k-8Fq2Zr91xLm3Tw7v",
             "sessionId": "0190aa3b-7c1d-7e2f-8a3b-4c5d6e7f8a9b", "tokenType": "Bearer",
             "deployToken": "q8ZrT1xW9vB2nM4kL7pJ3hG6"}
    out = Redactor().redact(value).value
    assert {k: out[k] for k in ("progressToken", "keyId", "sessionId", "tokenType")} == \
        {k: value[k] for k in ("progressToken", "keyId", "sessionId", "tokenType")}
    assert out["deployToken"] == "[REDACTED:high_entropy]"
