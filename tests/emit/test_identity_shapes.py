"""`resolve_identity` on launcher shapes this machine cannot run for real (no uvx/pipx, no image):
on-disk layouts built here — a uv cache entry, a jar with a manifest, an image pinned by digest."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

from mcp_blackbox.collector.emit.identity import resolve_identity


def test_uvx_package_from_the_uv_cache(tmp_path: Path) -> None:
    site = tmp_path / "uv" / "archive-v0" / "x1" / "lib" / "python3.12" / "site-packages"
    dist = site / "mcp_server_fetch-1.2.3.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mcp-server-fetch\nVersion: 1.2.3\n\n")
    (dist / "RECORD").write_text("mcp_server_fetch/__init__.py,sha256=x,1\n")
    env = {**os.environ, "UV_CACHE_DIR": str(tmp_path / "uv")}
    ident = resolve_identity(["uvx", "mcp-server-fetch"], env=env)
    assert (ident.launcher, ident.package_name, ident.package_version) == ("uvx", "mcp-server-fetch", "1.2.3")
    assert ident.code_sha256 == hashlib.sha256((dist / "RECORD").read_bytes()).hexdigest()
    pinned = resolve_identity(["uvx", "--from", "mcp-server-fetch==9.9", "mcp-server-fetch"], env=env)
    assert pinned.package_version == "9.9" and not pinned.complete, "another version is not this one"


def test_java_jar_and_docker_digest(tmp_path: Path) -> None:
    jar = tmp_path / "server.jar"
    with zipfile.ZipFile(jar, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\nImplementation-Title: mcp-jira\n"
                                                 "Implementation-Version: 0.4.1\n")
    ident = resolve_identity(["java", "-Xmx64m", "-jar", str(jar)])
    assert (ident.package_name, ident.package_version) == ("mcp-jira", "0.4.1")
    assert ident.code_sha256 == hashlib.sha256(jar.read_bytes()).hexdigest()
    digest = "sha256:" + "ab" * 32
    image = resolve_identity(["docker", "run", "-i", "--rm", "-e", "TOKEN", f"mcp/github@{digest}", "stdio"])
    assert image.image == f"mcp/github@{digest}" and image.image_digest == digest and image.code_sha256 == "ab" * 32
    assert "interpreter_sha256" in image.attributes()["server_package"] or image.binary_sha256 is None
