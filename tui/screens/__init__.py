"""The bench's screens: event detail (with the definition diff), swimlanes, notes, errors, help."""

from mcp_blackbox.tui.screens.error import ErrorDialog
from mcp_blackbox.tui.screens.event_detail import EventDetail
from mcp_blackbox.tui.screens.help import HELP, HelpScreen
from mcp_blackbox.tui.screens.note import NoteScreen
from mcp_blackbox.tui.screens.swimlane import SwimlaneScreen

__all__ = ["HELP", "ErrorDialog", "EventDetail", "HelpScreen", "NoteScreen", "SwimlaneScreen"]
