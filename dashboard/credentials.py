"""Who is asking: the dashboard accepts a person's cookie session or, as before, a bearer admin JWT.

A bearer token is sent by scripts and MCP clients, never attached by a browser on its own, so it needs no
CSRF defence. A cookie is attached by the browser to any request to this origin, so a cookie-authenticated
request that changes state must also prove it comes from our page:

* its `Origin` (sent by browsers on every POST) must be this server's own origin, and
* it carries `X-CSRF-Token`, the session's token (`oratio.services.signin.csrf_token`), which only a
  page of this origin can read (`GET /api/v1/auth/session`: JSON, no CORS).

The cookie itself is HttpOnly, SameSite=Strict, Secure over https (`__Host-` prefixed then, so no
subdomain can set it), and holds an opaque random id stored only as its SHA-256. Over https only the
`__Host-` cookie is read: a plain `oratio_session` there can only have been planted (by a sibling subdomain,
or by a network attacker through any plain-http answer for this host) to sign the browser in to the
planter's own account, whose page the person would then trust with their data.
"""

from __future__ import annotations

from typing import Protocol

import anyio.to_thread
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from oratio.errors import Forbidden, Unauthenticated
from oratio.http_json import admin_principal
from oratio.services import AccessService
from oratio.services.signin import SignInService, csrf_matches
from schemas import Principal

COOKIE = "oratio_session"
SECURE_COOKIE = "__Host-oratio_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInAccess(Protocol):
    @property
    def access(self) -> AccessService: ...

    @property
    def signin(self) -> SignInService: ...


def session_secret(connection: HTTPConnection, public_url: str | None = None) -> str | None:
    """The session cookie's value, if the request has one (`our_cookie`)."""
    return our_cookie(connection, public_url, SECURE_COOKIE, COOKIE)


def our_cookie(connection: HTTPConnection, public_url: str | None, secure_name: str, plain_name: str) -> str | None:
    """A cookie we set under `secure_name` over https and `plain_name` over http: over https (`is_secure`) only
    the first is read, since only it is ours there (the plain one can only have been planted)."""
    if is_secure(connection, public_url):
        return connection.cookies.get(secure_name)
    return connection.cookies.get(secure_name) or connection.cookies.get(plain_name)


def is_secure(connection: HTTPConnection, public_url: str | None) -> bool:
    """Served over https: by the request itself, or by the public URL a TLS proxy serves us at."""
    return connection.url.scheme in ("https", "wss") or bool(public_url and public_url.startswith("https://"))


def own_origins(connection: HTTPConnection, public_url: str | None) -> set[str]:
    """The origins our own page has: the one this request was addressed to, and the public URL's."""
    scheme = "https" if connection.url.scheme in ("https", "wss") else "http"
    origins = {f"{scheme}://{connection.headers.get('host', '')}"}
    if public_url:
        origins.add("/".join(public_url.split("/", 3)[:3]))
    return origins


def check_origin(connection: HTTPConnection, public_url: str | None, *, required: bool) -> None:
    """Forbidden when the request comes from a page of another origin (or, if `required`, says no origin)."""
    origin = connection.headers.get("origin")
    if origin is None:
        if required:
            raise Forbidden("this request must come from the dashboard page (no Origin header)")
        return
    if origin not in own_origins(connection, public_url):
        raise Forbidden("this request came from another site's page; refused (cross-site request)")


async def request_principal(platform: SignInAccess, request: Request, public_url: str | None = None) -> Principal:
    """The admin of a bearer token, else of the session cookie (with the CSRF checks when the method
    changes state); 401 when there is neither."""
    secret = session_secret(request, public_url)
    if "authorization" in request.headers or secret is None:
        return await admin_principal(platform, request)
    if request.method not in SAFE_METHODS:
        check_origin(request, public_url, required=False)
        if not csrf_matches(secret, request.headers.get(CSRF_HEADER, "")):
            raise Forbidden("missing or wrong X-CSRF-Token; reload the dashboard")
    principal, _ = await anyio.to_thread.run_sync(platform.signin.principal, secret)
    return principal


def set_session_cookie(response: Response, secret: str, max_age: int, *, secure: bool) -> None:
    response.set_cookie(
        SECURE_COOKIE if secure else COOKIE,
        secret,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=True,
        samesite="strict",
    )


def clear_session_cookie(response: Response) -> None:
    for name, secure in ((COOKIE, False), (SECURE_COOKIE, True)):
        response.delete_cookie(name, path="/", secure=secure, httponly=True, samesite="strict")


def session_from_cookie(platform: SignInAccess, connection: HTTPConnection, public_url: str | None = None) -> Principal:
    """Blocking: the admin of the connection's session cookie (for the WebSocket, which has no CSRF header:
    its Origin is checked instead, `check_origin(..., required=True)`)."""
    secret = session_secret(connection, public_url)
    if secret is None:
        raise Unauthenticated("send a token, or sign in to the dashboard first")
    principal, _ = platform.signin.principal(secret)
    return principal
