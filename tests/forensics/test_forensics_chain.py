"""Chain inference on hand-made events: every edge kind, how it was inferred, and the tree built from them.

The incident tests check the demo's chain as a whole; these pin each inference rule on its own, so a
change to one shows which link it broke.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from forensics_fixtures import EventMaker, write_store

from mcp_blackbox.forensics.chain import Chain, ChainNode, build_chain
from mcp_blackbox.forensics.edgekinds import EdgeKind
from mcp_blackbox.forensics.store import open_store
from mcp_blackbox.schema.errors import StoreError

CONV = "conv-chain-1"
TRACE = "0af7651916cd43dd8448eb211c80319c"
SHA = "a" * 64
STATE = "b" * 64
LEAK = "ledger entry ACME-7781 owes 12000 EUR to the supplier"


def _events() -> dict[str, dict[str, Any]]:
    """Named events of one conversation: host decisions, client calls, the server side of one call."""
    host, client, server = EventMaker("host"), EventMaker("client"), EventMaker("server")
    ev: dict[str, dict[str, Any]] = {}
    hostf = {"event_type": "host", "emitter_role": "host", "direction": "internal", "conversation_id": CONV,
             "connection_id": "host-1"}
    ev["prompt"] = host(0, event_subtype="user_prompt", **hostf)
    ev["choice"] = host(1, event_subtype="tool_choice", tool_call_id="call-1", tool_name="lookup",
                        server_config_name="crm", **hostf)
    ev["approval"] = host(1.1, event_subtype="approval", tool_call_id="call-1", approval="auto",
                          parent_event_id=ev["choice"]["event_id"], **hostf)
    common = {"conversation_id": CONV, "server_config_name": "crm"}
    ev["catalog"] = client(0.5, event_type="catalog", tool_definitions_json=json.dumps([{"name": "lookup"}]),
                           attributes_json=json.dumps({"tool_hashes": {"lookup": SHA}}), **common)
    ev["call"], ev["result"] = client.call(2, "lookup", {"id": 7}, {"content": [{"type": "text", "text": LEAK}]},
                                           rid="r1", trace_id=TRACE, tool_call_id="call-1",
                                           tool_definition_sha256=SHA, **common)
    ev["srv_call"], ev["srv_result"] = server.call(2.001, "lookup", {"id": 7}, {"content": []}, rid="r1",
                                                   trace_id=TRACE, connection_id="srv-1", server_name="crm")
    ev["send"], ev["send_result"] = client.call(3, "send_webhook", {"body": f"FYI: {LEAK}"}, rid="r2", **common)
    ev["slow"] = client(4, message_kind="request", method="tools/call", tool_name="report", jsonrpc_id="r3",
                        initiator="client", arguments_json="{}", **common)
    ev["progress"] = client(4.5, message_kind="notification", method="notifications/progress",
                            related_request_id="r3", initiator="server", **common)
    ev["cancel"] = client(5, message_kind="notification", method="notifications/cancelled",
                          related_request_id="r3", initiator="client", **common)
    ev["ask"], ev["ask_result"] = client.call(6, "book", {"day": "mon"}, {"inputRequests": {}}, rid="r4", **common)
    ev["ask_result"].update(status="input_required", request_state_sha256=STATE)
    ev["retry"] = client(7, message_kind="request", method="tools/call", tool_name="book", jsonrpc_id="r5",
                         initiator="client", request_state_sha256=STATE, arguments_json="{}", **common)
    ev["job"], ev["job_result"] = client.call(8, "export", {}, {"task": {"taskId": "task-9"}}, rid="r6",
                                              task_id="task-9", **common)
    ev["poll"] = client(9, message_kind="request", method="tasks/get", jsonrpc_id="r7", initiator="client",
                        task_id="task-9", **common)
    return ev


@pytest.fixture(scope="module")
def chain_and_events(tmp_path_factory: pytest.TempPathFactory) -> tuple[Chain, dict[str, str]]:
    events = _events()
    root = write_store(tmp_path_factory.mktemp("chain") / "store", list(events.values()))
    store = open_store(root)
    try:
        chain = build_chain(store, CONV)
    finally:
        store.close()
    return chain, {name: e["event_id"] for name, e in events.items()}


def _named_edges(chain: Chain, ids: dict[str, str]) -> set[tuple[str, str, str, str]]:
    names = {v: k for k, v in ids.items()}
    return {(str(e.kind), e.inferred_by, names[e.src_event_id], names[e.dst_event_id]) for e in chain.edges}


def test_every_edge_kind_with_how_it_was_inferred(chain_and_events: tuple[Chain, dict[str, str]]) -> None:
    chain, ids = chain_and_events
    assert chain.ident_kind == "conversation_id"
    assert set(chain.event_ids) == set(ids.values())  # the server side joined by trace, the catalog by connection
    edges = _named_edges(chain, ids)
    expected = {
        (EdgeKind.RESPONSE, "jsonrpc_id", "call", "result"),
        (EdgeKind.RESPONSE, "jsonrpc_id", "srv_call", "srv_result"),
        (EdgeKind.RESPONSE, "jsonrpc_id", "send", "send_result"),
        (EdgeKind.RESPONSE, "jsonrpc_id", "ask", "ask_result"),
        (EdgeKind.RESPONSE, "jsonrpc_id", "job", "job_result"),
        (EdgeKind.CLIENT_SERVER, "trace", "call", "srv_call"),
        (EdgeKind.APPROVAL, "parent_event_id", "choice", "approval"),
        (EdgeKind.HOST_DECISION, "tool_call_id", "choice", "call"),
        (EdgeKind.PROMPT, "conversation_order", "prompt", "choice"),
        (EdgeKind.PROGRESS, "progress_token", "slow", "progress"),
        (EdgeKind.CANCEL, "related_request_id", "slow", "cancel"),
        (EdgeKind.MRTR_ROUND, "request_state_sha256", "ask_result", "retry"),
        (EdgeKind.TASK, "task_id", "job_result", "poll"),  # the latest event carrying the task id created it
        (EdgeKind.TOOL_DEFINITION, "tool_definition_sha256", "catalog", "call"),
        (EdgeKind.DATA_FLOW, "content_fingerprint", "result", "send"),
    }
    assert edges == expected
    flow = next(e for e in chain.edges if e.kind == EdgeKind.DATA_FLOW)
    assert 0 < flow.confidence <= 1


def _find(nodes: list[ChainNode], event_id: str) -> ChainNode | None:
    for node in nodes:
        if node.event_id == event_id:
            return node
        hit = _find(node.children, event_id)
        if hit is not None:
            return hit
    return None


def test_the_tree_hangs_each_event_under_its_strongest_cause(chain_and_events: tuple[Chain, dict[str, str]]) -> None:
    chain, ids = chain_and_events
    prompt = _find(chain.roots, ids["prompt"])
    assert prompt is not None and prompt in chain.roots  # host events start the story
    choice = _find(prompt.children, ids["choice"])
    assert choice is not None and (choice.edge_kind, choice.inferred_by) == (EdgeKind.PROMPT, "conversation_order")
    assert {c.event_id for c in choice.children} >= {ids["approval"], ids["call"]}
    call = _find(choice.children, ids["call"])
    # the call has a host decision and a catalog cause; the host decision ranks higher
    assert call is not None and call.edge_kind == EdgeKind.HOST_DECISION
    assert {c.event_id: c.edge_kind for c in call.children} == {ids["result"]: EdgeKind.RESPONSE,
                                                                 ids["srv_call"]: EdgeKind.CLIENT_SERVER}
    result = _find(call.children, ids["result"])
    send = _find(chain.roots, ids["send"])
    assert result is not None and send is not None
    assert result.data_to == [ids["send"]] and send.data_from == [ids["result"]]  # data flow marks, not parents
    cancel = _find(chain.roots, ids["cancel"])
    assert cancel is not None and cancel.edge_kind == EdgeKind.CANCEL
    retry = _find(chain.roots, ids["retry"])
    assert retry is not None and retry.edge_kind == EdgeKind.MRTR_ROUND


def test_other_ids_resolve_to_their_kind(tmp_path: Path) -> None:
    events = _events()
    store = open_store(write_store(tmp_path / "store", list(events.values())))
    try:
        assert build_chain(store, "call-1").ident_kind == "tool_call_id"
        by_trace = build_chain(store, TRACE)
        assert by_trace.ident_kind == "trace_id"
        assert set(by_trace.event_ids) >= {events[n]["event_id"] for n in ("call", "result", "srv_call", "srv_result")}
        assert build_chain(store, "srv-1").ident_kind == "connection_id"
        with pytest.raises(StoreError, match="no event, conversation"):
            build_chain(store, "no-such-id")
    finally:
        store.close()
