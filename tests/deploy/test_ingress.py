"""AgentCoreIngress: Oratio's token moves from AgentCore's custom header into Authorization; Host is the bound one."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from deploy.plan import CUSTOM_AUTHORIZATION
from oratio.agentcore_ingress import CUSTOM_AUTHORIZATION as INGRESS_HEADER
from oratio.agentcore_ingress import AgentCoreIngress


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse({"authorization": request.headers.get("authorization"), "host": request.headers["host"]})


APP = Starlette(routes=[Route("/mcp", _echo, methods=["POST"])])


async def _post(headers: dict[str, str]) -> dict[str, str | None]:
    transport = httpx.ASGITransport(app=AgentCoreIngress(APP, "0.0.0.0", 8000))
    async with httpx.AsyncClient(transport=transport, base_url="https://bedrock-agentcore.example") as client:
        response = await client.post("/mcp", headers=headers)
    body: dict[str, str | None] = response.json()
    return body


def test_the_deployment_allow_lists_the_header_the_ingress_reads() -> None:
    assert CUSTOM_AUTHORIZATION.lower().encode() == INGRESS_HEADER


@pytest.mark.anyio
async def test_the_custom_header_becomes_authorization_and_host_the_bound_address() -> None:
    seen = await _post({"Authorization": "Bearer cognito", CUSTOM_AUTHORIZATION: "Bearer oratio-admin"})
    assert seen == {"authorization": "Bearer oratio-admin", "host": "127.0.0.1:8000"}


@pytest.mark.anyio
async def test_without_the_custom_header_no_authorization_reaches_the_door() -> None:
    """AgentCore's own JWT is never mistaken for an Oratio token."""
    seen = await _post({"Authorization": "Bearer cognito"})
    assert seen == {"authorization": None, "host": "127.0.0.1:8000"}
