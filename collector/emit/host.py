"""Host events API: what the agent host decides — prompts, tool choices, approvals — linked to MCP calls.

An agent framework records the user's prompt, the model's choice of a tool (with the model's
`tool_call_id`), and the approval or denial by a user or policy. The MCP call the choice causes is
linked in two ways, both understood by the normaliser and the client hook:

* `call_meta(choice)` returns `_meta` keys to send with the call (`io.mcp-blackbox/tool_call_id`,
  `…/parent_event_id`, `…/conversation_id`) — they travel to the server, so even a server-side
  emitter in another process can link the call to the host decision;
* `with host.calling(choice): …` sets a context variable the client hook reads, for frameworks that
  cannot add `_meta`.

Prompt text and arguments are captured like any payload: hashed before redaction, then redacted and
size-capped according to the emitter's payload mode.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from mcp_blackbox.collector.emit.emitter import Emitter
from mcp_blackbox.collector.emit.normalizer import META_CONVERSATION, META_PARENT_EVENT, META_TOOL_CALL_ID
from mcp_blackbox.schema.enums import Approval, Direction, EventType, Status
from mcp_blackbox.schema.ids import uuid7

#: The host decision in force for MCP calls made in this context (read by the client hook).
CURRENT_CALL: contextvars.ContextVar[dict[str, str] | None] = contextvars.ContextVar(
    "mcp_blackbox_current_call", default=None)

_DENIED = {Approval.USER_DENIED, Approval.POLICY_DENIED}


@dataclass(frozen=True)
class ToolChoice:
    """The model chose to call `tool` on `server`; `event_id` is the host event that recorded it."""

    tool_call_id: str
    event_id: str
    server: str
    tool: str
    conversation_id: str


class HostRecorder:
    """Records one conversation's host decisions through an emitter (role `host`)."""

    def __init__(self, emitter: Emitter, conversation_id: str | None = None, **static: Any) -> None:
        self.emitter = emitter
        self.conversation_id = conversation_id or f"conv-{uuid7()}"
        self.connection_id = f"host:{self.conversation_id}"
        self.static = static

    def _emit(self, subtype: str, **fields: Any) -> str:
        data = {"connection_id": self.connection_id, "conversation_id": self.conversation_id,
                "direction": Direction.INTERNAL, "event_subtype": subtype, **self.static, **fields}
        return self.emitter.emit(EventType.HOST, **data)

    def user_prompt(self, text: str, **fields: Any) -> str:
        """The user's message to the agent."""
        return self._emit("user_prompt", arguments={"prompt": text}, **fields)

    def model_response(self, text: str, **fields: Any) -> str:
        """The model's answer to the user (closing a turn)."""
        return self._emit("model_response", result={"text": text}, **fields)

    def tool_choice(self, server: str, tool: str, arguments: dict[str, Any] | None = None, *,
                    reason: str | None = None, tool_call_id: str | None = None, **fields: Any) -> ToolChoice:
        """The model chose a tool; returns the handle that links approval and the MCP call."""
        call_id = tool_call_id or f"call_{uuid7().hex[:24]}"
        attrs = {"reason": reason} if reason else {}
        event_id = self._emit("tool_choice", tool_call_id=call_id, tool_name=tool, target=tool,
                              server_config_name=server, arguments=arguments or {},
                              **({"attributes": attrs} if attrs else {}), **fields)
        return ToolChoice(call_id, event_id, server, tool, self.conversation_id)

    def approval(self, choice: ToolChoice, approval: Approval | str, *, by: str | None = None,
                 policy_id: str | None = None, **fields: Any) -> str:
        """The user or a policy allowed or refused the chosen call."""
        decision = Approval(approval)
        extra: dict[str, Any] = {"status": Status.DENIED} if decision in _DENIED else {}
        if by:
            extra["attributes"] = {"decided_by": by}
        return self._emit("approval", tool_call_id=choice.tool_call_id, parent_event_id=choice.event_id,
                          tool_name=choice.tool, target=choice.tool, server_config_name=choice.server,
                          approval=decision, policy_id=policy_id, **extra, **fields)

    def call_meta(self, choice: ToolChoice) -> dict[str, Any]:
        """`_meta` entries to send with the MCP call this choice causes."""
        return {META_TOOL_CALL_ID: choice.tool_call_id, META_PARENT_EVENT: choice.event_id,
                META_CONVERSATION: choice.conversation_id}

    @contextmanager
    def calling(self, choice: ToolChoice) -> Iterator[None]:
        """MCP calls made inside this block are linked to `choice` by the client hook."""
        token = CURRENT_CALL.set({"tool_call_id": choice.tool_call_id, "parent_event_id": choice.event_id,
                                  "conversation_id": choice.conversation_id})
        try:
            yield
        finally:
            CURRENT_CALL.reset(token)
