"""Oratio's data on disk is the owner's only: data dir and folders 0700, every file 0600.

Threat: another local user reading `oratio.db` (transcripts, customer metadata, key hashes),
`knowledge.db`, the WAL files, uploaded documents or the generated signing keys. Checked after a
real `oratio serve` run with an upload over MCP and a conversation; and an older, world-readable
data dir is tightened at start.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import anyio
import httpx

from oratio.config import load_settings
from oratio.platform import open_platform
from tests.reliability.serve import clean_env, oratio_serve
from tests.reliability.test_tenant_isolation import mcp_over_http
from tests.reliability.world import new_side

ENV = {"ORATIO_JWT_SECRET": "k" * 40, "ORATIO_MODEL": "scripted", "ORATIO_EMBEDDINGS": "false"}


def modes(data_dir: Path) -> dict[str, int]:
    return {
        str(path.relative_to(data_dir)) or ".": stat.S_IMODE(path.lstat().st_mode)
        for path in (data_dir, *data_dir.rglob("*"))
    }


def too_open(data_dir: Path) -> dict[str, str]:
    found = {}
    for name, mode in modes(data_dir).items():
        wanted = 0o700 if (data_dir / name).is_dir() else 0o600
        if mode & ~wanted:
            found[name] = oct(mode)
    return found


def test_a_serve_run_leaves_only_private_files(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"  # created by serve itself
    env = ENV | {"ORATIO_DATA_DIR": str(data_dir)}
    with oratio_serve(clean_env(**env), tmp_path / "serve.log") as server:
        server.wait_line("Admin token (")
        with open_platform(load_settings(env)) as platform:
            side_agent = new_side(platform, "Acme")  # an agent with an API key and an admin token

        async def upload() -> None:
            async with mcp_over_http(f"{server.base_url}/mcp", side_agent.token) as mcp:
                document = {"name": "hours.md", "format": "markdown", "text": "# Hours\n\nWe open at nine."}
                stored = await mcp.call_tool(
                    "upload_document", {"agent_id": side_agent.agent.id, "document": document, "rebuild": False}
                )
                assert not stored.is_error, stored.content

        before_upload = set(modes(data_dir))
        anyio.run(upload)
        path = f"/runtime/agents/{side_agent.agent.id}/invocations"
        with httpx.Client(base_url=server.base_url, timeout=30.0, headers={"X-Api-Key": side_agent.secret}) as http:
            reply = http.post(path, json={"message": "When do you open?"})
        assert reply.status_code == 200, reply.text
        present = modes(data_dir)  # while serving: the WAL and shared-memory files exist
    assert {"oratio.db", "oratio.db-wal", "knowledge.db", "operator.json", "blobs"} <= set(present), sorted(present)
    assert any(name.startswith("blobs/") for name in set(present) - before_upload)  # the upload wrote blobs
    assert too_open(data_dir) == {}, too_open(data_dir)


def test_an_older_world_readable_data_dir_is_tightened_at_start_with_one_log_line(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = ENV | {"ORATIO_DATA_DIR": str(data_dir)}
    with open_platform(load_settings(env)) as platform:
        new_side(platform, "Acme")
    for path in (data_dir, *data_dir.rglob("*")):  # how an older Oratio left it
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    assert too_open(data_dir)  # the starting point really is open

    with oratio_serve(clean_env(**env), tmp_path / "serve.log") as server:
        server.wait_line("Admin token (")
        assert too_open(data_dir) == {}
    tightened = [line for line in server.stderr().splitlines() if "made the data dir private" in line]
    assert len(tightened) == 1, server.stderr()
