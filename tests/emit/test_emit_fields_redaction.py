"""The emitter applies the redaction policy to every content field, not only arguments and results."""

from __future__ import annotations

import json
from pathlib import Path

from emit_helpers import spool_bytes, spooled

from mcp_blackbox.collector.emit.config import load_config
from mcp_blackbox.collector.emit.emitter import Emitter

TOKEN = "ghp_" + "Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2"


def test_columns_lists_attribute_keys_and_ready_made_json_texts_are_redacted(tmp_path: Path) -> None:
    config = load_config(sink=f"spool://{tmp_path}", env={"MCP_BLACKBOX_HASH_KEY": "fields-test-key-000000"})
    with Emitter("client", "test", config=config) as em:
        em.emit("message", connection_id="c", tool_name=f"tool {TOKEN}", resource_uri=f"mem://{TOKEN}",
                jsonrpc_id=TOKEN, client_info_name=TOKEN, oauth_scopes=["read", TOKEN],
                arguments_json=json.dumps({"note": TOKEN}), delegation_json=json.dumps({"sub": TOKEN}),
                attributes={TOKEN: {"argv": ["srv", "--api-key", "abcd1234"]}, "meta_baggage": f"k={TOKEN}"})
    raw = spool_bytes(tmp_path)
    assert TOKEN.encode() not in raw and b"abcd1234" not in raw
    (event,) = spooled(tmp_path)
    assert event["redacted"] is True
    assert event["tool_name"] == "tool [REDACTED:github_token]"
    assert event["oauth_scopes"] == ["read", "[REDACTED:github_token]"]
    assert json.loads(event["arguments_json"]) == {"note": "[REDACTED:github_token]"}
    attrs = json.loads(event["attributes_json"])
    assert attrs["[REDACTED:github_token]"]["argv"] == ["srv", "--api-key", "[REDACTED:cli_secret_flag]"]
    assert "github_token@$.tool_name" in event["redacted_paths"]
