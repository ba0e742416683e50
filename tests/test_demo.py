"""`mcp-blackbox demo --no-tui`: the incident played live through the real capture paths, then investigated."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

CLI = str(Path(sys.executable).parent / "mcp-blackbox")
EXPECTED = ("injection_chain", "exfiltration", "rug_pull", "tool_poisoning", "secret_exposure")


def _demo(tmp_path: Path, *extra: str) -> str:
    env = {**os.environ, "MCP_BLACKBOX_SIGNING_KEY": str(tmp_path / "key.pem")}
    proc = subprocess.run([CLI, "demo", "--no-tui", "--store", str(tmp_path / "store"), *extra], capture_output=True,
                          text=True, timeout=240, env=env, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _check(out: str) -> set[str]:
    rules = set(re.findall(r"\]\s+(\w+)\s+#", out))
    for rule in EXPECTED:
        assert rule in rules, f"{rule} missing from:\n{out}"
    chain = out.split("action chain of conversation", 1)[1]
    for tool in ("list_tickets", "get_ticket", "customers.query", "send_webhook", "resolve_ticket", "get_forecast"):
        assert tool in chain
    assert chain.count("host tool_choice") == 7
    assert "customers.query result" in chain and "⇢ notify.send_webhook" in chain  # the exfiltration data flow
    assert "catalog CHANGED weather" in chain  # the rug pull
    return rules


def test_demo_on_the_embedded_spool(tmp_path: Path) -> None:
    rules = _check(_demo(tmp_path))
    verify = subprocess.run([CLI, "verify", "--store", str(tmp_path / "store")], capture_output=True, text=True,
                            check=False)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert "unapproved_destructive" in rules


@pytest.mark.kafka
def test_demo_through_the_real_kafka_broker_gives_the_same_findings(tmp_path: Path, kafka_bootstrap: str,
                                                                     kafka_topic: str) -> None:
    spool_rules = _check(_demo(tmp_path / "a"))
    kafka_rules = _check(_demo(tmp_path / "b", "--sink", f"kafka://{kafka_bootstrap}/{kafka_topic}"))
    assert kafka_rules == spool_rules
