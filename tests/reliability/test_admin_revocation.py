"""Disabling an admin and revoking its tokens take effect at every door at once (issue 15, item 14).

Threat: an admin's token leaks (a shared terminal, a log, a laptop left behind) or a person leaves
the organisation. Until now a token lived until it expired and nobody could stop it. A fellow admin
(MCP `disable_admin` / `revoke_admin_tokens`) or the operator (`oratio admin disable|revoke`) now
cuts it off: MCP over HTTP, the dashboard API and `/ws/dashboard` refuse it on the next request, and
a dashboard stream already open is closed with 4401 and the reason (within one poll of the event
log, not at the next periodic recheck). Only admins of the same tenant can do this, and the last
enabled admin of a tenant cannot be disabled.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from schemas import Admin
from tests.reliability.doors import tool_error
from tests.reliability.test_tenant_isolation import mcp_over_http
from tests.reliability.world import JWT_SECRET, Served, Side, new_side, reliability_platform, serving

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Site:
    served: Served
    acme: Side
    bob: Admin
    bob_token: str
    globex: Side


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with reliability_platform(tmp_path) as platform, serving(platform) as served:
        acme = new_side(platform, "Acme")
        bob = platform.tenants.create_admin(acme.tenant_id, "bob@acme.example", "Bob")
        yield Site(served, acme, bob, platform.access.token_for(bob), new_side(platform, "Globex"))


async def _mcp_tool(served: Served, token: str, tool: str, arguments: dict[str, str]) -> str | None:
    async with mcp_over_http(served.mcp_url, token) as mcp:
        return tool_error(await mcp.call_tool(tool, arguments))


def _doors(served: Served, token: str) -> dict[str, int]:
    """The HTTP status each admin door gives this token (MCP initialize, dashboard API, /api/v1/me)."""
    headers = {"Authorization": f"Bearer {token}"}
    mcp_headers = {**headers, "Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
    initialize = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    with httpx.Client(base_url=served.base_url, timeout=30.0) as http:
        statuses = {
            "mcp": http.post("/mcp", json=initialize, headers=mcp_headers).status_code,
            "dashboard-api": http.get("/api/v1/agents", headers=headers).status_code,
            "me": http.get("/api/v1/me", headers=headers).status_code,
        }
        refused = http.get("/api/v1/agents", headers=headers)
        if refused.status_code == 401:
            assert refused.json()["error"] == "unauthenticated", refused.text
    return statuses


async def _stream_open(served: Served, token: str) -> str:
    """Open /ws/dashboard with the token: 'ready', or the close code and reason it got."""
    async with connect(f"{served.ws_base}/ws/dashboard", open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token, "after": None}))
        try:
            with anyio.fail_after(15):
                return str(json.loads(await ws.recv())["type"])
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return f"{closed.rcvd.code} {closed.rcvd.reason}"


async def _cut_off_while_streaming(served: Served, token: str, act: tuple[str, str, dict[str, str]]) -> str:
    """Open a dashboard stream with `token`, then have `act` (token, tool, arguments) run; how the stream ended."""
    async with connect(f"{served.ws_base}/ws/dashboard", open_timeout=10) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token, "after": None}))
        with anyio.fail_after(15):
            assert json.loads(await ws.recv())["type"] == "ready"
        actor, tool, arguments = act
        assert await _mcp_tool(served, actor, tool, arguments) is None
        with anyio.fail_after(15):  # a poll is 0.25 s; the periodic recheck (60 s) would be far too late
            try:
                while True:
                    await ws.recv()
            except ConnectionClosed as closed:
                assert closed.rcvd is not None
                return f"{closed.rcvd.code} {closed.rcvd.reason}"


ALL_OK = {"mcp": 200, "dashboard-api": 200, "me": 200}
ALL_REFUSED = {"mcp": 401, "dashboard-api": 401, "me": 401}


def test_a_disabled_admin_is_refused_at_every_door_and_its_open_stream_is_closed(site: Site) -> None:
    served, acme = site.served, site.acme
    assert _doors(served, site.bob_token) == ALL_OK

    ended = anyio.run(
        _cut_off_while_streaming, served, site.bob_token, (acme.token, "disable_admin", {"admin_id": site.bob.id})
    )
    assert ended == "4401 token's admin no longer has access"
    assert _doors(served, site.bob_token) == ALL_REFUSED
    assert anyio.run(_stream_open, served, site.bob_token) == "4401 token's admin no longer has access"
    assert _doors(served, acme.token) == ALL_OK  # the other admin is untouched

    assert anyio.run(_mcp_tool, served, acme.token, "enable_admin", {"admin_id": site.bob.id}) is None
    assert _doors(served, site.bob_token) == ALL_OK  # enabled again: its unrevoked token works again
    assert anyio.run(_stream_open, served, site.bob_token) == "ready"


def test_revoked_tokens_are_refused_at_every_door_and_a_new_token_works(site: Site) -> None:
    served, acme, platform = site.served, site.acme, site.served.platform
    ended = anyio.run(
        _cut_off_while_streaming, served, site.bob_token, (acme.token, "revoke_admin_tokens", {"admin_id": site.bob.id})
    )
    assert ended == "4401 token was revoked; ask for a new one"
    assert _doors(served, site.bob_token) == ALL_REFUSED

    fresh = platform.access.token_for(platform.tenants.get_admin(acme.tenant_id, site.bob.id))
    assert _doors(served, fresh) == ALL_OK  # minted in the same second as the revocation, still valid
    assert anyio.run(_stream_open, served, fresh) == "ready"
    assert _doors(served, acme.token) == ALL_OK

    # An admin may revoke its own tokens (e.g. it leaked): the token in hand is refused from then on.
    platform.tenants.revoke_admin_tokens(acme.principal, acme.admin.id)
    assert _doors(served, acme.token) == ALL_REFUSED


def test_only_the_same_tenants_admins_and_never_the_last_enabled_one(site: Site) -> None:
    served, acme, globex = site.served, site.acme, site.globex
    for tool in ("disable_admin", "revoke_admin_tokens", "enable_admin"):
        error = anyio.run(_mcp_tool, served, globex.token, tool, {"admin_id": site.bob.id})
        assert error is not None and f"not_found: admin '{site.bob.id}' was not found" in error, error
    assert _doors(served, site.bob_token) == ALL_OK

    assert anyio.run(_mcp_tool, served, acme.token, "disable_admin", {"admin_id": site.bob.id}) is None
    last = anyio.run(_mcp_tool, served, acme.token, "disable_admin", {"admin_id": acme.admin.id})
    assert last is not None and "invalid_state" in last and "last enabled admin" in last, last
    assert _doors(served, acme.token) == ALL_OK
    # A disabled admin cannot use the tools (its token is refused before any tool runs).
    assert _doors(served, site.bob_token)["mcp"] == 401


def _cli(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        "ORATIO_DATA_DIR": str(data_dir),
        "PATH": "/usr/bin:/bin",
        "ORATIO_JWT_SECRET": JWT_SECRET,  # the served platform's, so the tokens the CLI mints are its tokens
        "ORATIO_JWT_MAX_TTL_SECONDS": "86400",
        "ORATIO_EMBEDDINGS": "false",
    }
    return subprocess.run(
        [sys.executable, "-m", "oratio_app.cli", *args], env=env, cwd=REPO, capture_output=True, text=True, timeout=60
    )


def test_the_operator_disables_enables_and_revokes_from_the_cli(site: Site, tmp_path: Path) -> None:
    """The CLI works on the same store as the running server (another process): the server obeys at once."""
    served, acme, bob = site.served, site.acme, site.bob
    tenant = ["--tenant", acme.tenant_id, "--admin", bob.id]

    disabled = _cli(tmp_path, "admin", "disable", *tenant)
    assert (disabled.returncode, disabled.stdout.strip()) == (0, f"admin {bob.id}: disabled"), disabled.stderr
    assert _doors(served, site.bob_token) == ALL_REFUSED
    refused = _cli(tmp_path, "admin", "token", *tenant)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "disabled" in refused.stderr, refused.stderr

    assert _cli(tmp_path, "admin", "enable", *tenant).returncode == 0
    assert _doors(served, site.bob_token) == ALL_OK
    revoked = _cli(tmp_path, "admin", "revoke", *tenant)
    assert revoked.returncode == 0 and "refused" in revoked.stdout, revoked.stderr
    assert _doors(served, site.bob_token) == ALL_REFUSED
    minted = _cli(tmp_path, "admin", "token", *tenant, "--ttl", "86400")
    assert minted.returncode == 0, minted.stderr
    assert _doors(served, minted.stdout.strip()) == ALL_OK

    other = _cli(tmp_path, "admin", "disable", "--tenant", site.globex.tenant_id, "--admin", bob.id)
    assert other.returncode == 2 and f"admin '{bob.id}' was not found" in other.stderr, other.stderr
    unknown = _cli(tmp_path, "admin", "revoke", "--tenant", "nonsense", "--admin", bob.id)
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1 and "Traceback" not in unknown.stderr


@pytest.mark.parametrize("ttl", ["0", "86401"])
def test_admin_token_ttl_outside_the_cap_is_one_line_and_exit_2(site: Site, tmp_path: Path, ttl: str) -> None:
    result = _cli(tmp_path, "admin", "token", "--tenant", site.acme.tenant_id, "--admin", site.bob.id, "--ttl", ttl)
    assert result.returncode == 2, result
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    if ttl == "0":  # refused by the parser, before the data dir is opened
        assert "--ttl 0 must be at least 1 second" in result.stderr
    else:
        assert "1 to 86400 seconds" in result.stderr and "ORATIO_JWT_MAX_TTL_SECONDS" in result.stderr
