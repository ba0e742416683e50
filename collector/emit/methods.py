"""Every MCP method and notification of both protocol eras, and what an audit event takes from it.

The table is the normaliser's single dispatch: each method names its category (what it acts on and
which params become `target`), the side that sends it, and the eras it exists in. Tests check that
every method in the official schema.json files (2025-11-25, 2026-07-28) and in the installed
`mcp_types` method maps is here — nothing falls into a generic bucket. Anything else on the wire is
recorded verbatim with the risk flag `unknown_method`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Category = Literal["lifecycle", "tool", "resource", "prompt", "completion", "logging", "sampling",
                   "elicitation", "roots", "task", "subscription", "notification"]
Sender = Literal["client", "server", "both"]
Era = Literal["legacy", "modern"]

BOTH: Final = ("legacy", "modern")
LEGACY: Final = ("legacy",)
MODERN: Final = ("modern",)


@dataclass(frozen=True)
class MethodInfo:
    """How the normaliser treats one method."""

    name: str
    category: Category
    sender: Sender
    eras: tuple[Era, ...]
    notification: bool = False
    target_param: str | None = None  # params key naming what the method acts on
    catalog: bool = False  # result is (part of) a catalog the emitter tracks


def _m(name: str, category: Category, sender: Sender, eras: tuple[Era, ...], **kw: object) -> MethodInfo:
    return MethodInfo(name, category, sender, eras, **kw)  # type: ignore[arg-type]


_TABLE: Final[tuple[MethodInfo, ...]] = (
    # lifecycle
    _m("initialize", "lifecycle", "client", LEGACY),
    _m("notifications/initialized", "lifecycle", "client", LEGACY, notification=True),
    _m("ping", "lifecycle", "both", LEGACY),
    _m("server/discover", "lifecycle", "client", MODERN),
    # tools
    _m("tools/list", "tool", "client", BOTH, catalog=True),
    _m("tools/call", "tool", "client", BOTH, target_param="name"),
    _m("notifications/tools/list_changed", "tool", "server", BOTH, notification=True),
    # resources
    _m("resources/list", "resource", "client", BOTH, catalog=True),
    _m("resources/templates/list", "resource", "client", BOTH, catalog=True),
    _m("resources/read", "resource", "client", BOTH, target_param="uri"),
    _m("resources/subscribe", "resource", "client", LEGACY, target_param="uri"),
    _m("resources/unsubscribe", "resource", "client", LEGACY, target_param="uri"),
    _m("notifications/resources/list_changed", "resource", "server", BOTH, notification=True),
    _m("notifications/resources/updated", "resource", "server", BOTH, notification=True, target_param="uri"),
    # prompts
    _m("prompts/list", "prompt", "client", BOTH, catalog=True),
    _m("prompts/get", "prompt", "client", BOTH, target_param="name"),
    _m("notifications/prompts/list_changed", "prompt", "server", BOTH, notification=True),
    # completion, logging
    _m("completion/complete", "completion", "client", BOTH),
    _m("logging/setLevel", "logging", "client", LEGACY, target_param="level"),
    _m("notifications/message", "logging", "server", BOTH, notification=True, target_param="logger"),
    # server → client requests (legacy) / MRTR input requests (modern, inside results)
    _m("sampling/createMessage", "sampling", "server", BOTH),
    _m("elicitation/create", "elicitation", "server", BOTH),
    _m("notifications/elicitation/complete", "elicitation", "server", LEGACY, notification=True,
       target_param="elicitationId"),
    _m("roots/list", "roots", "server", BOTH),
    _m("notifications/roots/list_changed", "roots", "client", LEGACY, notification=True),
    # tasks: core in 2025-11-25, the io.modelcontextprotocol/tasks extension in 2026-07-28
    _m("tasks/get", "task", "both", BOTH, target_param="taskId"),
    _m("tasks/result", "task", "both", LEGACY, target_param="taskId"),
    _m("tasks/list", "task", "both", LEGACY),
    _m("tasks/cancel", "task", "both", BOTH, target_param="taskId"),
    _m("tasks/update", "task", "client", MODERN, target_param="taskId"),
    _m("notifications/tasks/status", "task", "both", LEGACY, notification=True, target_param="taskId"),
    _m("notifications/tasks", "task", "both", MODERN, notification=True, target_param="taskId"),
    # subscriptions (modern)
    _m("subscriptions/listen", "subscription", "client", MODERN),
    _m("notifications/subscriptions/acknowledged", "subscription", "server", MODERN, notification=True),
    # both eras
    _m("notifications/cancelled", "notification", "both", BOTH, notification=True, target_param="requestId"),
    _m("notifications/progress", "notification", "both", BOTH, notification=True, target_param="progressToken"),
)

METHODS: Final[dict[str, MethodInfo]] = {m.name: m for m in _TABLE}


def lookup(method: str) -> MethodInfo | None:
    """The table entry for `method`, or None for a method no MCP revision defines."""
    return METHODS.get(method)
