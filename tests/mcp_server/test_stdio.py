"""`oratio mcp` as a local MCP client starts it: a subprocess speaking MCP on stdin/stdout.

Each test prepares a data directory, launches the real command against it, and checks the result
through a second, independent `open_platform` on the same directory.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import CallToolResult

from oratio.config import Settings
from oratio.platform import open_platform
from schemas import Admin, Principal, Scope

pytestmark = pytest.mark.anyio

REPO = Path(__file__).resolve().parents[2]
SOP = "Greet the customer, answer from the knowledge base, and hand off when asked."
COMMAND = [sys.executable, "-m", "oratio_app"]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def admin(data_dir: Path) -> Admin:
    """A tenant and its admin, created in the data directory before any `oratio mcp` starts."""
    with open_platform(Settings(data_dir=data_dir)) as platform:
        tenant = platform.tenants.create_tenant("Acme")
        return platform.tenants.create_admin(tenant.tenant_id, "ops@acme.example", "Ops")


def server(data_dir: Path, *args: str, env: dict[str, str] | None = None) -> StdioServerParameters:
    return StdioServerParameters(
        command=COMMAND[0],
        args=[*COMMAND[1:], *args],
        env={"ORATIO_DATA_DIR": str(data_dir), **(env or {})},
        cwd=REPO,
    )


def run_cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"ORATIO_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"}
    return subprocess.run([*COMMAND, *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=60)


def structured(result: CallToolResult) -> dict[str, object]:
    assert not result.is_error, result.content
    content: dict[str, object] = result.structured_content
    assert content is not None
    return content


async def test_a_stdio_client_creates_an_agent_in_the_tenant(data_dir: Path, admin: Admin, tmp_path: Path) -> None:
    with (tmp_path / "stderr.log").open("w") as errlog:
        transport = stdio_client(server(data_dir, "-v", "mcp", "--tenant", admin.tenant_id), errlog=errlog)
        async with Client(transport) as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            assert {"create_agent", "list_agents", "get_agent"} <= tools
            agent = structured(await client.call_tool("create_agent", {"spec": {"name": "Support", "sop": SOP}}))
            listed = structured(await client.call_tool("list_agents", {}))

    assert listed["agents"] == [agent]
    operator = Principal(tenant_id=admin.tenant_id, subject=admin.id, scopes=frozenset({Scope.ADMIN}))
    with open_platform(Settings(data_dir=data_dir)) as platform:
        stored = platform.agents.get(operator, str(agent["id"]))
    assert (stored.name, stored.tenant_id) == ("Support", admin.tenant_id)
    # -v logs at INFO, and every line of it went to stderr: stdout carried only protocol.
    assert f"MCP over stdio for tenant {admin.tenant_id}" in (tmp_path / "stderr.log").read_text()


async def test_the_tenant_and_admin_may_come_from_the_environment(data_dir: Path, admin: Admin) -> None:
    env = {"ORATIO_MCP_TENANT": admin.tenant_id, "ORATIO_MCP_ADMIN": admin.id}
    async with Client(server(data_dir, "mcp", env=env)) as client:
        listed = structured(await client.call_tool("list_agents", {}))
        agent = structured(await client.call_tool("create_agent", {"spec": {"name": "Sales", "sop": SOP}}))

    assert listed["agents"] == []
    assert agent["tenant_id"] == admin.tenant_id


def test_an_unknown_tenant_exits_2_with_one_clear_line(data_dir: Path, admin: Admin) -> None:
    unknown = "ten_" + "0" * 26

    result = run_cli(data_dir, "mcp", "--tenant", unknown)

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"oratio: tenant '{unknown}' was not found (create one with: oratio init) (data dir {data_dir})\n"
    )  # names the data dir it searched (issue 15 item 18)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "needs --tenant"),
        (("--tenant", "Acme"), "needs a tenant id"),
        (("--tenant", "ten_NOT-VALID"), "not a valid tenant id"),
    ],
)
def test_a_missing_or_malformed_tenant_exits_2(data_dir: Path, args: tuple[str, ...], message: str) -> None:
    result = run_cli(data_dir, "mcp", *args)

    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("oratio: ") and message in result.stderr


def test_an_unknown_admin_exits_2(data_dir: Path, admin: Admin) -> None:
    result = run_cli(data_dir, "mcp", "--tenant", admin.tenant_id, "--admin", "adm_" + "0" * 26)

    assert (result.returncode, result.stdout) == (2, "")
    assert "admin 'adm_00000000000000000000000000' was not found" in result.stderr
