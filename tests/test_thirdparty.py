"""The pinned third-party servers (samples/thirdparty.py): installed once, and never a silent skip in CI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from samples import thirdparty

REPO = Path(__file__).resolve().parents[1]
NPM_TEST = ("tests/emit/test_emit_redaction_real_servers.py::"
            "test_npm_filesystem_and_everything_listings_and_env_stored_as_sent")


def _run_without_npm(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The npm-based test in a fresh pytest, on a machine with no npm and an empty npm prefix."""
    bare = tmp_path / "bin"
    bare.mkdir(exist_ok=True)
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "MCP_BLACKBOX_REQUIRE_KAFKA")}
    clean.update({"PATH": str(bare), "MCP_BLACKBOX_NPM_PREFIX": str(tmp_path / "empty-npm"), **env})
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", NPM_TEST],
                          cwd=REPO, env=clean, capture_output=True, text=True, check=False, timeout=300)


def test_missing_npm_server_fails_in_ci_and_skips_elsewhere(tmp_path: Path) -> None:
    ci = _run_without_npm(tmp_path, CI="true")
    assert ci.returncode == 1 and "1 failed" in ci.stdout, ci.stdout[-2000:]
    assert "required in CI" in ci.stdout
    kafka_ci = _run_without_npm(tmp_path, MCP_BLACKBOX_REQUIRE_KAFKA="1")
    assert kafka_ci.returncode == 1 and "1 failed" in kafka_ci.stdout, kafka_ci.stdout[-2000:]
    local = _run_without_npm(tmp_path)
    assert local.returncode == 0 and "1 skipped" in local.stdout, local.stdout[-2000:]


def test_pinned_set_is_installed_once_per_cache_dir(monkeypatch: pytest.MonkeyPatch) -> None:
    prefix = thirdparty.ensure_npm_servers()
    if prefix is None:
        if thirdparty.required():
            pytest.fail("npm and node are required in CI")
        pytest.skip("npm/node not installed")
    for package, version in thirdparty.NPM_SERVERS.items():
        manifest = json.loads((prefix / "node_modules" / package / "package.json").read_text())
        assert manifest["version"] == version, package
    monkeypatch.setenv("PATH", "/nonexistent")  # a second call must not need (or run) npm
    assert thirdparty.ensure_npm_servers() == prefix
    assert thirdparty.npm_bin("mcp-server-everything") is not None
