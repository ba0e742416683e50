"""Edge kinds of an action chain: how one event caused or fed another (`edges` view and `build_chain`).

One `StrEnum`, so a kind is its plain string in SQL, JSON and the TUI, and every place that makes or
matches an edge names it from here.
"""

from __future__ import annotations

from enum import StrEnum


class EdgeKind(StrEnum):
    """Why a chain has an edge from `src_event_id` to `dst_event_id`."""

    RESPONSE = "response"  # a request and the result/error answering it (same emitter, JSON-RPC id)
    CLIENT_SERVER = "client_server"  # the client's request and the server's sighting of it (trace)
    HOST_DECISION = "host_decision"  # the host's tool choice and the call it made
    APPROVAL = "approval"  # a host decision and its approval
    PROMPT = "prompt"  # the user prompt and the host decisions that followed
    MRTR_ROUND = "mrtr_round"  # a multi round-trip request's input_required round and the retry
    CANCEL = "cancel"  # a request and its cancellation
    PROGRESS = "progress"  # a request and its progress notifications
    TASK = "task"  # a task-creating call and later task requests
    TOOL_DEFINITION = "tool_definition"  # the catalog event whose definition was in force for a call
    DATA_FLOW = "data_flow"  # content returned by one call reappearing in a later call's arguments
