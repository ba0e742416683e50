"""The one exception hierarchy of mcp-blackbox.

Every error a user can cause (bad arguments, a missing store, malformed input, a tampered file)
is a `BlackboxError` whose message is one complete line; the command line prints it and exits with
`exit_code`. Messages are built before `raise` so they can be tested and logged.
"""

from __future__ import annotations

_EXTRAS = {
    "pyarrow": "collector",
    "cryptography": "collector",
    "duckdb": "forensics",
    "textual": "tui",
    "mcp": "mcp",
    "opentelemetry": "otlp",
    "google": "otlp",  # protobuf, pulled in by opentelemetry-proto
}


class BlackboxError(Exception):
    """A problem a user can understand and act on; printed as one line."""

    exit_code: int = 2


class UsageError(BlackboxError):
    """Bad command-line arguments or configuration."""


class ValidationFailed(BlackboxError):
    """An event or a value does not satisfy the event contract; the message names the field."""


class StoreError(BlackboxError):
    """The store is missing, unreadable, or not a store."""


class MissingExtraError(BlackboxError):
    """An optional dependency is not installed; says which extra brings it."""

    @classmethod
    def for_module(cls, module: str) -> MissingExtraError:
        """Build the error for a missing top-level module name."""
        top = module.split(".")[0]
        extra = _EXTRAS.get(top)
        if extra is None:
            return cls(f"required module '{top}' is not installed")
        return cls(f"'{top}' is not installed: pip install 'mcp-blackbox[{extra}]'")
