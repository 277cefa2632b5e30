"""The entry points the AgentCore package launches start as real processes (loopback, a free port)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import httpx

from deploy.package import LAUNCHERS, build_package
from oratio_app.doors import DOORS
from tests.net import free_port
from tests.support.processes import running


def test_python_m_mcp_server_serves_mcp_and_refuses_a_missing_token(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "ORATIO_DATA_DIR": str(tmp_path), "ORATIO_EMBEDDINGS": "false"}
    command = [sys.executable, "-m", "oratio_app", "serve-door", "mcp", "--host", "127.0.0.1", "--port", str(port)]
    ready = f"http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp"
    with running(
        [*command, "--agentcore"], ready_url=ready, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ):
        response = httpx.post(f"http://127.0.0.1:{port}/mcp", json={}, timeout=10.0)
        assert response.status_code == 401


def test_a_bad_configuration_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "ORATIO_DATA_DIR": str(tmp_path), "ORATIO_BLOBS": "s3"}
    env.pop("ORATIO_S3_BUCKET", None)
    result = subprocess.run(
        [sys.executable, "-m", "oratio_app", "serve-door", "mcp", "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("oratio mcp: invalid configuration:") and "needs ORATIO_S3_BUCKET" in line


def test_every_launcher_calls_an_existing_main_with_agentcore_s_address() -> None:
    package = build_package([])
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        for launcher, door in (
            ("oratio_mcp_server.py", "mcp"),
            ("oratio_creator.py", "creator"),
            ("oratio_agents.py", "runtime"),
        ):
            text = archive.read(launcher).decode()
            assert "from oratio_app.doors import main" in text
            assert f'main(["{door}", "--host", "0.0.0.0"' in text
            assert door in DOORS
            assert "oratio_app/doors.py" in archive.namelist()
    assert set(LAUNCHERS) == {"oratio_mcp_server.py", "oratio_creator.py", "oratio_agents.py"}
