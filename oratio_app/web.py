"""The HTTP app of `oratio serve`: the platform's own routes with every door mounted beside them.

MCP is served at /mcp (`mcp_server.http`); the agent runtime, the voice bridge and the dashboard
mount beside these routes. This is composition (it imports the doors), so it lives in `oratio_app`;
the door-neutral helpers every door shares (error mapping, bearer parsing, JSON 404/405) are in
`oratio.http_json`, which the doors import instead of this module.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from agentcore_apps.app import create_runtime_app
from dashboard import AgentAdminSettings, dashboard_routes
from dashboard.consent import consent_routes
from dashboard.credentials import request_principal
from mcp_server.http import MCP_PATHS, create_mcp_http_app, default_public_url
from oratio.http_json import handles_errors
from oratio.platform import Platform
from oratio.services.ingestion import resuming_in_background
from schemas import Document
from voice_bridge.app import create_voice_app

__all__ = ["create_app"]

logger = logging.getLogger("oratio_app.web")


def create_app(
    platform: Platform, *, host: str = "127.0.0.1", port: int = 8000, resume: Sequence[Document] = ()
) -> Starlette:
    """Oratio's HTTP app for a server bound to host:port: health, the admin API and MCP at /mcp.

    The public URL (`ORATIO_PUBLIC_URL`, default http://host:port) names this server in MCP's
    auth metadata and in the Host headers `/mcp` accepts. `resume`: documents a previous run left
    unfinished, re-ingested in the background once the app starts (the server does not wait).
    """
    public_url = platform.settings.public_url or default_public_url(host, port)
    mcp_app = create_mcp_http_app(platform, public_url=public_url, host=host, port=port)
    runtime_app = create_runtime_app(platform)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def me(request: Request) -> Response:
        principal = await request_principal(platform, request, public_url)
        # The event log's head, read before the answer: the dashboard reads its lists after it and follows the
        # live feed from this cursor (as after GET /api/v1/auth/session), so it misses no later event.
        cursor = await anyio.to_thread.run_sync(platform.tailer().events.head, principal.tenant_id)
        tenant = await anyio.to_thread.run_sync(platform.tenants.get_tenant, principal)
        body: dict[str, Any] = {
            "tenant": {"id": tenant.tenant_id, "name": tenant.name},
            "subject": principal.subject,
            "scopes": sorted(s.value for s in principal.scopes),
            "cursor": cursor.token(),
        }
        return JSONResponse(body)

    own_routes = [
        Route("/healthz", health),
        Route("/api/v1/me", handles_errors(me)),
        # /dashboard, /api/v1/..., /ws/dashboard
        *dashboard_routes(
            platform,
            voice_url=platform.settings.voice_public_url,
            public_url=public_url,
            agent_admin=AgentAdminSettings(body_bytes=platform.settings.dashboard_agent_body_bytes),
        ),
        # The consent page MCP clients' OAuth sign-in sends a person to (mcp_server.oauth).
        *consent_routes(platform, public_url),
    ]
    return Starlette(
        routes=[
            *own_routes,
            # Customer agents under the AgentCore contract: /runtime/invocations, /runtime/agents/{id}/invocations.
            Mount("/runtime", app=runtime_app),
            # Voice calls (WS /voice/{agent_id}) and the browser page (GET /voice/client).
            Mount("/voice", app=create_voice_app(platform)),
            # Last: the MCP app answers /mcp and its OAuth metadata (mcp_server.http.MCP_PATHS); JSON 404/405 otherwise.
            Mount("", app=_mcp_paths_only(mcp_app, [r for r in own_routes if isinstance(r, Route)])),
        ],
        lifespan=_run_lifespans(
            mcp_app, runtime_app, background=lambda: resuming_in_background(platform.ingestion, list(resume))
        ),
    )


def _mcp_paths_only(mcp_app: ASGIApp, routes: Sequence[Route]) -> ASGIApp:
    """The MCP app for its own paths; every other request gets the JSON 404/405 all Oratio refusals have.

    Mounted at the root, the MCP app would otherwise answer any unknown path (or a wrong method on
    /healthz) with Starlette's plain-text "Not Found". A path one of `routes` serves with another
    method reaches here too (the root mount matches every path in full): that is a 405 naming the
    methods the route allows, not a 404.
    """

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.rstrip("/") in MCP_PATHS:
            await mcp_app(scope, receive, send)
            return
        allowed = sorted({m for r in routes if r.methods and r.matches(scope)[0] is Match.PARTIAL for m in r.methods})
        if allowed:
            body = {"error": "method_not_allowed", "message": f"{scope['method']} is not allowed here"}
            response = JSONResponse(body, status_code=405, headers={"Allow": ", ".join(allowed)})
        else:
            message = "no such endpoint: /healthz, /dashboard, /api/v1/..., /runtime/..., /voice/..., /mcp"
            response = JSONResponse({"error": "not_found", "message": message}, status_code=404)
        await response(scope, receive, send)

    return app


def _run_lifespans(
    *apps: Starlette, background: Callable[[], AbstractAsyncContextManager[object]]
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """A lifespan that runs mounted apps' lifespans, which Starlette's Mount never enters itself.

    `background` is entered last, so it is stopped first, before the doors it may rely on.
    """

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for app in apps:
                await stack.enter_async_context(app.router.lifespan_context(app))
            await stack.enter_async_context(background())
            yield

    return lifespan
