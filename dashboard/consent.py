"""`/oauth/consent`: the page where a signed-in person lets an MCP client act for them (issue 22 item 6).

The MCP door's authorization endpoint sends the person here (`mcp_server.oauth`); the page reuses the
dashboard session (a person who is not signed in is sent to the dashboard first). It shows who asks
(the client's self-declared name, marked as such), for which tenant, and with which scopes. Approve and
Deny are one form POST carrying the session's CSRF token (a page of another site cannot read it) and
checked against our own Origin; either answer uses the request up, and the browser is sent back to the
client's registered redirect URI with a code or `error=access_denied`.
"""

from __future__ import annotations

import html
from typing import Any, Protocol
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from dashboard.credentials import check_origin, session_secret
from oratio.errors import InvalidInput, Unauthenticated
from oratio.http_json import PayloadTooLarge, handles_errors
from oratio.services.oauth import CONSENT_PATH, OAuthService
from oratio.services.signin import SignInService, csrf_matches, csrf_token
from oratio.services.tenants import TenantService

MAX_FORM_BYTES = 2 * 1024
HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",  # no clickjacking of the Approve button
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' https: http:",
}


class ConsentServices(Protocol):
    """What the consent page needs (the `Platform` satisfies it structurally)."""

    @property
    def oauth(self) -> OAuthService: ...

    @property
    def signin(self) -> SignInService: ...

    @property
    def tenants(self) -> TenantService: ...


def consent_routes(services: ConsentServices, public_url: str | None = None) -> list[BaseRoute]:
    page = ConsentPage(services, public_url)
    return [Route(CONSENT_PATH, handles_errors(page.handle), methods=["GET", "POST"])]


class ConsentPage:
    def __init__(self, services: ConsentServices, public_url: str | None) -> None:
        self._s = services
        self._public_url = public_url

    async def handle(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._answer(request)
        request_id = request.query_params.get("request", "")
        secret = session_secret(request, self._public_url)
        if secret is None:
            return _sign_in_first()
        try:
            principal, _ = await anyio.to_thread.run_sync(self._s.signin.principal, secret)
        except Unauthenticated:
            return _sign_in_first()
        pending, client = await anyio.to_thread.run_sync(self._s.oauth.pending, request_id)
        tenant = await anyio.to_thread.run_sync(self._s.tenants.get_tenant, principal)
        scopes = ", ".join(sorted(s.value for s in principal.scopes)) or "(none)"
        e = html.escape
        body = f"""<!doctype html><html><head><meta charset="utf-8"><title>Allow access?</title></head>
<body><h1>Allow an MCP client to act for you?</h1>
<p>Client (name as it describes itself): <strong>{e(client.name or client.client_id)}</strong></p>
<p>It will return to: <code>{e(pending.redirect_uri)}</code></p>
<p>Tenant: <strong>{e(tenant.name)}</strong> &middot; signed in as {e(principal.subject)}</p>
<p>Scopes: {e(scopes)}</p>
<form method="post" action="{CONSENT_PATH}">
<input type="hidden" name="request" value="{e(request_id)}">
<input type="hidden" name="csrf_token" value="{e(csrf_token(secret))}">
<button name="decision" value="approve">Approve</button>
<button name="decision" value="deny">Deny</button>
</form></body></html>"""
        return HTMLResponse(body, headers=HEADERS)

    async def _answer(self, request: Request) -> Response:
        check_origin(request, self._public_url, required=False)
        form = await _form(request)
        secret = session_secret(request, self._public_url)
        if secret is None:
            raise Unauthenticated("sign in to the dashboard first")
        if not csrf_matches(secret, form.get("csrf_token", "")):
            raise Unauthenticated("missing or wrong CSRF token; reload the consent page")
        decision = form.get("decision")
        if decision not in ("approve", "deny"):
            raise InvalidInput("decision must be approve or deny", field="decision")
        principal, _ = await anyio.to_thread.run_sync(self._s.signin.principal, secret)
        answered, code = await anyio.to_thread.run_sync(
            lambda: self._s.oauth.answer(form.get("request", ""), principal, approve=decision == "approve")
        )
        params: dict[str, Any] = {"code": code} if code is not None else {"error": "access_denied"}
        if answered.state is not None:
            params["state"] = answered.state
        return RedirectResponse(_with_query(answered.redirect_uri, params), status_code=303, headers=HEADERS)


def _sign_in_first() -> Response:
    body = (
        '<!doctype html><html><head><meta charset="utf-8"><title>Sign in</title></head><body>'
        '<p>Sign in to the <a href="/dashboard">dashboard</a> first, then reload this page.</p></body></html>'
    )
    return HTMLResponse(body, status_code=401, headers=HEADERS)


async def _form(request: Request) -> dict[str, str]:
    """A small urlencoded form, read within `MAX_FORM_BYTES` (one value per name, the first)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise PayloadTooLarge.of(MAX_FORM_BYTES, "a consent answer is a small form")
    try:
        parsed = parse_qs(bytes(body).decode("utf-8"), max_num_fields=8)
    except (UnicodeDecodeError, ValueError):
        raise InvalidInput("the consent answer is not a form") from None
    return {name: values[0] for name, values in parsed.items()}


def _with_query(uri: str, params: dict[str, Any]) -> str:
    parts = urlsplit(uri)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


__all__ = ["CONSENT_PATH", "ConsentServices", "consent_routes"]
