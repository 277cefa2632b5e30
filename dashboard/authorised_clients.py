"""The MCP clients a signed-in person has authorised, in the dashboard API: `GET /api/v1/auth/clients`,
`POST /api/v1/auth/clients/{consent}/revoke`.

Each is one consent given on the OAuth consent page (docs/mcp-oauth.md); revoking it ends every token of
that consent at once. A person sees and revokes only their own (`OAuthService.authorised`,
`revoke_authorised`: another id, a colleague's included, is 404). The admin is the bearer token's or the
signed-in person's (CSRF-checked on POST, as every dashboard write).
"""

from __future__ import annotations

from typing import Protocol

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dashboard.credentials import SignInAccess, request_principal
from oratio.http_json import handles_errors
from oratio.services.oauth import OAuthService


class AuthorisedClientsAccess(SignInAccess, Protocol):
    @property
    def oauth(self) -> OAuthService: ...


def authorised_client_routes(platform: AuthorisedClientsAccess, public_url: str | None = None) -> list[BaseRoute]:
    api = _AuthorisedClients(platform, public_url)
    return [
        Route("/api/v1/auth/clients", handles_errors(api.clients)),
        Route("/api/v1/auth/clients/{consent}/revoke", handles_errors(api.revoke), methods=["POST"]),
    ]


class _AuthorisedClients:
    def __init__(self, platform: AuthorisedClientsAccess, public_url: str | None) -> None:
        self._p = platform
        self._public_url = public_url

    async def clients(self, request: Request) -> Response:
        principal = await request_principal(self._p, request, self._public_url)
        found = await anyio.to_thread.run_sync(lambda: self._p.oauth.authorised(principal))
        return JSONResponse({"clients": [c.model_dump(mode="json") for c in found]})

    async def revoke(self, request: Request) -> Response:
        principal = await request_principal(self._p, request, self._public_url)
        consent = str(request.path_params["consent"])
        revoked = await anyio.to_thread.run_sync(lambda: self._p.oauth.revoke_authorised(principal, consent))
        return JSONResponse({"revoked_tokens": revoked})


__all__ = ["AuthorisedClientsAccess", "authorised_client_routes"]
