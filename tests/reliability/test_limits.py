"""Input limits hold at every door that takes the input: documents, turn text, customer details, bodies.

The limits are the schemas' (`schemas.Limits`) and the settings' (`ORATIO_MAX_DOCUMENT_BYTES`, set
small here so it is cheap to cross). Each is checked on both sides: at the limit accepted, one past
it refused with a clear 4xx / tool error, and nothing half-stored. The runtime's own 64 KiB body
limit (413, also for chunked bodies) is tested in tests/agentcore_apps/test_refusals.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client

from mcp_server._principal import OperatorPrincipal
from mcp_server.http import max_request_bytes
from mcp_server.server import build_server
from schemas import Limits
from tests.reliability.doors import tool_error
from tests.reliability.test_tenant_isolation import mcp_over_http
from tests.reliability.world import Served, Side, new_side, reliability_platform, serving

MAX_DOCUMENT_BYTES = 4096
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}


@dataclass(frozen=True)
class Site:
    served: Served
    side: Side


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    with reliability_platform(tmp_path, max_document_bytes=MAX_DOCUMENT_BYTES) as platform, serving(platform) as served:
        yield Site(served, new_side(platform, "Acme"))


def document(size: int) -> dict[str, Any]:
    return {"name": "big.md", "format": "markdown", "text": "# Big\n\n" + "a" * (size - 7)}


def test_document_size_is_limited_on_both_mcp_transports(site: Site) -> None:
    platform, side = site.served.platform, site.side
    agent = side.agent.id

    async def check(client: Client) -> None:
        at_limit = await client.call_tool("upload_document", {"agent_id": agent, "document": document(4096)})
        assert tool_error(at_limit) is None
        for tool, arguments in (
            ("upload_document", {"agent_id": agent, "document": {**document(4097), "name": "over.md"}}),
            (
                "create_agent",
                {"spec": {"name": "Over", "sop": "Answer briefly and politely."}, "documents": [document(4097)]},
            ),
        ):
            error = tool_error(await client.call_tool(tool, arguments))
            assert error is not None and "invalid_input" in error and str(MAX_DOCUMENT_BYTES) in error, error

    async def both() -> None:
        async with Client(build_server(platform, OperatorPrincipal(side.principal))) as in_memory:
            await check(in_memory)
        async with mcp_over_http(site.served.mcp_url, side.token) as over_http:
            await check(over_http)

    anyio.run(both)
    names = sorted(d.name for d in platform.documents.list(side.principal, agent).items)
    assert names == ["big.md", "faq.md"]  # nothing over the limit was stored
    assert [a.name for a in platform.agents.list(side.principal).items] == ["Support"]


def test_turn_text_is_limited_at_the_runtime_and_in_the_admin_chat(site: Site) -> None:
    side = site.side
    path = f"/runtime/agents/{side.agent.id}/invocations"
    with httpx.Client(base_url=site.served.base_url, timeout=30.0, headers={"X-Api-Key": side.secret}) as http:
        assert http.post(path, json={"message": "é" * Limits.TURN_TEXT_MAX}).status_code == 200
        over = http.post(path, json={"message": "é" * (Limits.TURN_TEXT_MAX + 1)})
        assert (over.status_code, over.json()["field"]) == (422, "message"), over.text
        details = {f"k{i}": "v" for i in range(Limits.METADATA_KEYS_MAX + 1)}
        crowded = http.post(path, json={"message": "hi", "customer": details})
        assert (crowded.status_code, crowded.json()["field"]) == (422, "customer"), crowded.text
        long_value = http.post(
            path, json={"message": "hi", "customer": {"note": "x" * (Limits.METADATA_VALUE_MAX + 1)}}
        )
        assert long_value.status_code == 422, long_value.text

    async def chat() -> None:
        async with mcp_over_http(site.served.mcp_url, side.token) as mcp:
            ok = await mcp.call_tool(
                "chat_with_agent", {"agent_id": side.agent.id, "message": "é" * Limits.TURN_TEXT_MAX}
            )
            assert tool_error(ok) is None
            error = tool_error(
                await mcp.call_tool(
                    "chat_with_agent", {"agent_id": side.agent.id, "message": "é" * (Limits.TURN_TEXT_MAX + 1)}
                )
            )
            assert error is not None and "message" in error and str(Limits.TURN_TEXT_MAX) in error, error

    anyio.run(chat)


def test_mcp_request_bodies_are_bounded(site: Site) -> None:
    limit = max_request_bytes(MAX_DOCUMENT_BYTES)
    headers = {"Authorization": f"Bearer {site.side.token}", **MCP_HEADERS, "Content-Type": "application/json"}
    with httpx.Client(base_url=site.served.base_url, timeout=30.0) as http:
        declared = http.post("/mcp", content=b"x" * (limit + 1), headers=headers)
        assert (declared.status_code, declared.json()["error"]) == (413, "payload_too_large"), declared.text

        def chunks() -> Iterator[bytes]:
            for _ in range(limit // 65536 + 2):
                yield b" " * 65536

        streamed = http.post("/mcp", content=chunks(), headers=headers)
        assert (streamed.status_code, streamed.json()["error"]) == (413, "payload_too_large"), streamed.text
        anonymous = http.post("/mcp", content=chunks(), headers={**MCP_HEADERS, "Content-Type": "application/json"})
        assert anonymous.status_code == 401  # refused before a byte of the body is read

    async def still_serving() -> None:
        async with mcp_over_http(site.served.mcp_url, site.side.token) as mcp:
            assert tool_error(await mcp.call_tool("list_agents", {})) is None

    anyio.run(still_serving)
