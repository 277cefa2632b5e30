"""The HTTP door shared by `oratio serve`: error mapping, bearer auth and the platform's own routes.

MCP is served at /mcp (`mcp_server.http`); later doors (the agent runtime, the voice bridge, the
dashboard) mount beside these routes. Every OratioError becomes its 4xx/5xx JSON body here, with
Retry-After on 429 and WWW-Authenticate on 401, so no door hand-writes error responses.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mcp_server.http import MCP_PATHS, create_mcp_http_app, default_public_url
from oratio.errors import OratioError, Unauthenticated
from oratio.http_json import error_response
from oratio.platform import Platform
from schemas import Principal

__all__ = ["admin_principal", "bearer_token", "create_app", "error_response", "handles_errors", "json_http_errors"]

logger = logging.getLogger("oratio.web")


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("send an admin token as 'Authorization: Bearer <token>'")
    return token.strip()


async def admin_principal(platform: Platform, request: Request) -> Principal:
    token = bearer_token(request)
    return await anyio.to_thread.run_sync(platform.access.admin_principal, token)


def json_http_errors(not_found: str) -> Callable[[Request, Exception], Awaitable[Response]]:
    """A Starlette exception handler answering its own 404/405 as JSON, like every other Oratio refusal.

    `not_found` tells the caller which endpoints the app does serve.
    """

    async def handler(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "error")
        message = {404: not_found, 405: f"{request.method} is not allowed here"}.get(exc.status_code, str(exc.detail))
        return JSONResponse({"error": code, "message": message}, status_code=exc.status_code, headers=exc.headers)

    return handler


Handler = Callable[[Request], Awaitable[Response]]


def handles_errors(handler: Handler) -> Handler:
    async def wrapped(request: Request) -> Response:
        try:
            return await handler(request)
        except OratioError as exc:
            return error_response(exc)

    return wrapped


def create_app(platform: Platform, *, host: str = "127.0.0.1", port: int = 8000) -> Starlette:
    """Oratio's HTTP app for a server bound to host:port: health, the admin API and MCP at /mcp.

    The public URL (`ORATIO_PUBLIC_URL`, default http://host:port) names this server in MCP's
    auth metadata and in the Host headers `/mcp` accepts.
    """
    # Imported here: the runtime and the dashboard render their errors with this module's error_response.
    from agentcore_apps.app import create_runtime_app
    from oratio.dashboard import dashboard_routes
    from voice_bridge.app import create_voice_app

    public_url = platform.settings.public_url or default_public_url(host, port)
    mcp_app = create_mcp_http_app(platform, public_url=public_url, host=host, port=port)
    runtime_app = create_runtime_app(platform)

    async def health(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def me(request: Request) -> Response:
        principal = await admin_principal(platform, request)
        tenant = await anyio.to_thread.run_sync(platform.tenants.get_tenant, principal)
        body: dict[str, Any] = {
            "tenant": {"id": tenant.tenant_id, "name": tenant.name},
            "subject": principal.subject,
            "scopes": sorted(s.value for s in principal.scopes),
        }
        return JSONResponse(body)

    own_routes = [
        Route("/healthz", health),
        Route("/api/v1/me", handles_errors(me)),
        *dashboard_routes(platform),  # /dashboard, /api/v1/..., /ws/dashboard
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
        lifespan=_run_lifespans(mcp_app, runtime_app),
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


def _run_lifespans(*apps: Starlette) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    """A lifespan that runs mounted apps' lifespans, which Starlette's Mount never enters itself."""

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            for app in apps:
                await stack.enter_async_context(app.router.lifespan_context(app))
            yield

    return lifespan
