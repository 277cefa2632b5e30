"""`/api/v1/auth/oidc/...`: signing a person in to the dashboard through the configured OIDC issuer.

| route | does |
| --- | --- |
| `GET /api/v1/auth/methods` | how people sign in: `password` (bool), `oidc` (null, or name, start, end_session_url) |
| `GET /api/v1/auth/oidc/start` | 303 to the issuer (code flow, PKCE S256, state, nonce) and the flow cookie |
| `GET /api/v1/auth/oidc/callback` | checks state against the flow cookie, exchanges the code, verifies the ID token, |
| | sets the same session cookie as the password sign-in and 303s to /dashboard; a page saying why otherwise |

The flow cookie is HttpOnly and `SameSite=Lax`: the issuer sends the browser back with a top-level GET from
its own site, which a Strict cookie would not ride on. It lives 10 minutes, and every callback clears it, so
one sign-in's state works once. Over http it is scoped to `/api/v1/auth/oidc`; over https it is
`__Host-oratio_oidc_flow` (so `Path=/`, no `Domain`) and the only flow cookie read: a sibling subdomain, or a
network attacker answering any plain-http request for this host, could otherwise plant a flow cookie holding
the state of a sign-in of their own, then send the person to the callback with their own code and have the
browser signed in to the planter's account (login CSRF). The session cookie set by the callback is
the password sign-in's own (Strict): the redirect to /dashboard may arrive without it, but the page's own
requests (same site) carry it, which is all the page needs. Refusals are small HTML pages (no script) a
person can read, with a way back; never a 500.
"""

from __future__ import annotations

import html
from typing import Protocol

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from dashboard.credentials import SignInAccess, is_secure, our_cookie, set_session_cookie
from oratio.errors import (
    BackendUnavailable,
    Forbidden,
    InvalidInput,
    NotFound,
    OratioError,
    RateLimited,
    Unauthenticated,
)
from oratio.http_json import handles_errors
from oratio.services.oidc_signin import FLOW_TTL, OidcSignIn

FLOW_COOKIE = "oratio_oidc_flow"
SECURE_FLOW_COOKIE = "__Host-oratio_oidc_flow"
FLOW_PATH = "/api/v1/auth/oidc"
CALLBACK = "/api/v1/auth/oidc/callback"
PAGE_CSP = "default-src 'none'; style-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


class OidcDoorAccess(SignInAccess, Protocol):
    @property
    def oidc(self) -> OidcSignIn | None: ...


def oidc_routes(platform: OidcDoorAccess, public_url: str | None) -> list[BaseRoute]:
    door = OidcDoor(platform, public_url)
    return [
        Route("/api/v1/auth/methods", handles_errors(door.methods)),
        Route(f"{FLOW_PATH}/start", handles_errors(door.start)),
        Route(CALLBACK, handles_errors(door.callback)),
    ]


class OidcDoor:
    def __init__(self, platform: OidcDoorAccess, public_url: str | None) -> None:
        self._p = platform
        self._public_url = public_url

    async def methods(self, request: Request) -> Response:
        oidc = self._p.oidc
        if oidc is None:
            return JSONResponse({"password": True, "oidc": None}, headers={"Cache-Control": "no-store"})
        try:
            end_session = await anyio.to_thread.run_sync(oidc.end_session_url, f"{self._base(request)}/dashboard")
        except BackendUnavailable:
            end_session = None  # the issuer is down: the page still offers the button, which will say so
        return JSONResponse(
            {
                "password": oidc.passwords,
                "oidc": {"name": oidc.name, "start": f"{FLOW_PATH}/start", "end_session_url": end_session},
            },
            headers={"Cache-Control": "no-store"},
        )

    async def start(self, request: Request) -> Response:
        oidc = self._configured()
        try:
            started = await anyio.to_thread.run_sync(oidc.start, self._callback(request))
        except OratioError as exc:
            return _refusal(exc, oidc.name)
        response = RedirectResponse(started.redirect, status_code=303, headers={"Cache-Control": "no-store"})
        secure = is_secure(request, self._public_url)
        response.set_cookie(
            SECURE_FLOW_COOKIE if secure else FLOW_COOKIE,
            started.cookie,
            max_age=int(FLOW_TTL.total_seconds()),
            path="/" if secure else FLOW_PATH,
            secure=secure,
            httponly=True,
            samesite="lax",
        )
        return response

    async def callback(self, request: Request) -> Response:
        oidc = self._configured()
        query = request.query_params
        cookie = our_cookie(request, self._public_url, SECURE_FLOW_COOKIE, FLOW_COOKIE)
        response: Response
        try:
            if "error" in query:
                reason = query.get("error", "")[:60]
                raise Unauthenticated(f"{oidc.name} did not sign you in ({reason}); start again")
            client = request.client.host if request.client else "unknown"
            signed = await anyio.to_thread.run_sync(
                oidc.finish, query.get("code"), query.get("state"), cookie, self._callback(request), client
            )
        except OratioError as exc:
            response = _refusal(exc, oidc.name)
        else:
            response = RedirectResponse("/dashboard", status_code=303, headers={"Cache-Control": "no-store"})
            max_age = int((signed.session.expires_at - signed.session.created_at).total_seconds())
            set_session_cookie(response, signed.secret, max_age, secure=is_secure(request, self._public_url))
        for name, path, secure in ((FLOW_COOKIE, FLOW_PATH, False), (SECURE_FLOW_COOKIE, "/", True)):
            response.delete_cookie(name, path=path, secure=secure, httponly=True, samesite="lax")
        return response

    def _configured(self) -> OidcSignIn:
        if self._p.oidc is None:
            raise NotFound("no sign-in issuer is configured here (ORATIO_OIDC_DISCOVERY_URL)")
        return self._p.oidc

    def _callback(self, request: Request) -> str:
        return f"{self._base(request)}{CALLBACK}"

    def _base(self, request: Request) -> str:
        """The public URL when set (what the issuer has registered), else the origin this request reached."""
        if self._public_url:
            return self._public_url.rstrip("/")
        return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


_STATUS: dict[type[OratioError], int] = {
    RateLimited: 429,
    InvalidInput: 400,
    Unauthenticated: 401,
    Forbidden: 403,
    BackendUnavailable: 502,
}


def _refusal(error: OratioError, issuer: str) -> HTMLResponse:
    status = next((code for kind, code in _STATUS.items() if isinstance(error, kind)), 400)
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign-in refused - Oratio</title>'
        '<link rel="stylesheet" href="/dashboard/style.css"></head><body><main class="login"><div class="card">'
        f'<h1>Sign-in with {html.escape(issuer)} refused</h1><p id="oidc-refusal">{html.escape(str(error))}</p>'
        '<p><a href="/dashboard">Back to the sign-in page</a></p></div></main></body></html>'
    )
    headers = {"Content-Security-Policy": PAGE_CSP, "Cache-Control": "no-store"}
    if isinstance(error, RateLimited):
        headers["Retry-After"] = error.retry_after_header
    return HTMLResponse(body, status_code=status, headers=headers)


__all__ = ["CALLBACK", "FLOW_COOKIE", "OidcDoorAccess", "oidc_routes"]
