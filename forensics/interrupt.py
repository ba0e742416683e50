"""Run a DuckDB job so that a timeout or Ctrl-C stops it at once.

While DuckDB executes, the calling thread is inside C and Python's SIGINT handler only runs when the
call returns (Ctrl-C looked ignored for as long as the query ran). So the job runs on a worker thread;
the main thread waits, and on Ctrl-C or when `timeout` seconds pass it calls `interrupt()` (DuckDB's
`connection.interrupt()`, safe from another thread) until the worker has stopped.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

from mcp_blackbox.schema.errors import BlackboxError

T = TypeVar("T")


class QueryTimeout(BlackboxError):
    """The query ran longer than --timeout and was interrupted."""

    exit_code = 124  # like timeout(1)


def run_interruptible(job: Callable[[], T], interrupt: Callable[[], object], timeout: float | None = None,
                      *, what: str = "query") -> T:
    """`job()` on a worker thread; `interrupt()` on Ctrl-C (re-raised) or after `timeout` (QueryTimeout)."""
    if timeout is not None and timeout <= 0:
        msg = f"--timeout must be a positive number of seconds, not {timeout:g}"
        raise QueryTimeout(msg)
    box: dict[str, object] = {}
    done = threading.Event()

    def work() -> None:
        try:
            box["value"] = job()
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread and re-raised there
            box["error"] = exc
        finally:
            done.set()

    worker = threading.Thread(target=work, name=f"mcp-blackbox-{what}", daemon=True)
    worker.start()

    def stop() -> None:
        while not done.wait(0.05):  # a job of several queries: interrupt each one as it starts
            interrupt()

    try:
        if not done.wait(timeout):
            stop()
            msg = f"{what} timed out after {timeout:g} s (interrupted)"
            raise QueryTimeout(msg)
    except KeyboardInterrupt:
        interrupt()
        stop()
        raise
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
