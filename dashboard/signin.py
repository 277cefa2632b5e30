"""`/api/v1/auth/...`: signing people in and out of the dashboard, invitations, resets, and MCP tokens.

| route | who | does |
| --- | --- | --- |
| `POST sign-in` `{email, password}` | anyone | a session cookie; 401 (alike for an unknown email); 429 + Retry-After |
| `GET session` | cookie | the person, the CSRF token (sent as `X-CSRF-Token`), tenant, cursor; `signed_in: false` |
| `POST sign-out` · `sign-out-everywhere` | cookie | ends this session · every session of the person |
| `POST accept` · `reset` `{token, password}` | a link | sets the password (the link works once), signs in |
| `POST forgot` `{email}` | anyone | 202 whatever the email; a reset link by email if it signs in |
| `POST invite` `{email, name}` | admin | adds an admin and emails a single-use invitation link |
| `POST token` `{ttl_seconds?}` | admin | an admin JWT for an MCP client or a script, shown once |

The routes a stranger may call (sign-in, accept, reset, forgot) refuse a page of another origin and take
JSON only (a cross-site HTML form cannot send it), so nobody can sign a browser into an account of theirs.

A signed-in answer (sign-in, accept, reset, session) also says what `GET /api/v1/me` says (`tenant`, `scopes`) and
`cursor`, the tenant's event-log head read before the answer: the page shows itself and reads its lists at once,
then follows the live feed from that cursor (so nothing written after the lists were read is missed), instead of
three round trips in sequence (session, /me, the socket's `ready`) before its first list request. The answer is
built in `dashboard.signed_in`; the `/dashboard` HTML carries the same for a request with a valid session cookie,
so a returning admin's page makes no sign-in request at all (`GET session` stays for the rest: a link followed
from another site, whose navigation carries no SameSite=Strict cookie).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio.to_thread
from pydantic import Field, ValidationError
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from dashboard.credentials import (
    check_origin,
    clear_session_cookie,
    is_secure,
    own_origins,
    request_principal,
    session_secret,
    set_session_cookie,
)
from dashboard.signed_in import SignedInAccess, signed_in_answer
from oratio.auth.passwords import PASSWORD_MAX
from oratio.errors import Forbidden, InvalidInput, InvalidState, OratioError, Unauthenticated
from oratio.http_json import PayloadTooLarge, handles_errors, parse_json
from oratio.services.oidc_signin import OidcSignIn
from oratio.services.signin import SECRET_MAX, SignedIn, SignInService
from schemas import Model, Name
from schemas.signin import LinkPurpose

logger = logging.getLogger("dashboard.signin")
MAX_BODY_BYTES = 4 * 1024
MINT_TTL_DEFAULT = 30 * 24 * 3600


class SignInBody(Model):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class LinkBody(Model):
    token: str = Field(min_length=1, max_length=SECRET_MAX)
    password: str = Field(min_length=1, max_length=PASSWORD_MAX)


class ForgotBody(Model):
    email: str = Field(min_length=1, max_length=254)


class InviteBody(Model):
    email: str = Field(min_length=3, max_length=254)
    name: Name


class MintBody(Model):
    ttl_seconds: int | None = Field(default=None, ge=1)


Handler = Callable[[Request], Awaitable[Response]]


class SignInDoorAccess(SignedInAccess, Protocol):
    """What the sign-in routes use: what a signed-in answer reads (`dashboard.signed_in`) and the OIDC sign-in."""

    @property
    def oidc(self) -> OidcSignIn | None: ...


def signin_routes(platform: SignInDoorAccess, public_url: str | None = None) -> list[BaseRoute]:
    door = SignInDoor(platform, public_url)
    posts: dict[str, Handler] = {
        "sign-in": door.sign_in,
        "sign-out": door.sign_out,
        "sign-out-everywhere": door.sign_out_everywhere,
        "accept": door.accept,
        "reset": door.reset,
        "forgot": door.forgot,
        "invite": door.invite,
        "token": door.mint_token,
    }
    return [
        Route("/api/v1/auth/session", handles_errors(door.session)),
        *(Route(f"/api/v1/auth/{name}", handles_errors(run), methods=["POST"]) for name, run in posts.items()),
    ]


class SignInDoor:
    def __init__(self, platform: SignInDoorAccess, public_url: str | None) -> None:
        self._p = platform
        self._public_url = public_url

    async def sign_in(self, request: Request) -> Response:
        body = await self._stranger(request, SignInBody)
        client = request.client.host if request.client else "unknown"
        signed = await anyio.to_thread.run_sync(self._p.signin.sign_in, body.email, body.password, client)
        return await self._signed_in(request, signed)

    async def session(self, request: Request) -> Response:
        """Who is signed in here: `{"signed_in": false}` (200, so the page's first look is no error) when
        nobody is, or the cookie's session has ended (the cookie is then cleared)."""
        secret = session_secret(request, self._public_url)
        nobody = JSONResponse({"signed_in": False}, headers={"Cache-Control": "no-store"})
        if secret is None:
            return nobody
        try:
            principal, session = await anyio.to_thread.run_sync(self._p.signin.principal, secret)
        except Unauthenticated:
            clear_session_cookie(nobody)
            return nobody
        answer = await anyio.to_thread.run_sync(signed_in_answer, self._p, principal, session, secret)
        return JSONResponse(answer, headers={"Cache-Control": "no-store"})

    async def sign_out(self, request: Request) -> Response:
        await request_principal(self._p, request, self._public_url)  # CSRF: no other site signs a person out
        secret = session_secret(request, self._public_url) or ""
        await anyio.to_thread.run_sync(self._p.signin.sign_out, secret)
        response = Response(status_code=204)
        clear_session_cookie(response)
        return response

    async def sign_out_everywhere(self, request: Request) -> Response:
        await request_principal(self._p, request, self._public_url)
        secret = session_secret(request, self._public_url)
        if secret is None:
            raise InvalidInput("sign-out-everywhere ends browser sessions: sign in to the dashboard first")
        await anyio.to_thread.run_sync(self._p.signin.sign_out_everywhere, secret)
        response = Response(status_code=204)
        clear_session_cookie(response)
        return response

    async def accept(self, request: Request) -> Response:
        return await self._follow(request, LinkPurpose.INVITE)

    async def reset(self, request: Request) -> Response:
        return await self._follow(request, LinkPurpose.RESET)

    async def forgot(self, request: Request) -> Response:
        """202 whatever the email, sent before any work on it: for a known email the link and its email are
        written in a transaction an unknown one never costs, and a stranger timing the answer over many tries
        would otherwise learn which emails sign in here. The work runs once the answer is out."""
        body = await self._stranger(request, ForgotBody)
        work = None
        if self._public_url:  # never a link built from a stranger's Host header (it would point at their site)
            work = BackgroundTask(_request_reset, self._p.signin, body.email, self._public_url.rstrip("/"))
        return JSONResponse(
            {"message": "if this email signs in here, a reset link is on its way"}, status_code=202, background=work
        )

    async def invite(self, request: Request) -> Response:
        principal = await request_principal(self._p, request, self._public_url)
        body = _parse(InviteBody, await _json_body(request))
        if not self._p.signin.email_on:
            raise InvalidState(
                "no email is configured (ORATIO_EMAIL); the operator can invite with `oratio admin invite`"
            )
        base = self._base_url(request)
        made = await anyio.to_thread.run_sync(lambda: self._p.signin.invite(principal, body.email, body.name, base))
        # The link goes by email only: whoever invites never holds the person's first password.
        return JSONResponse({"admin_id": made.admin.id, "email": made.admin.email, "emailed": True}, status_code=201)

    async def mint_token(self, request: Request) -> Response:
        """An admin JWT for an MCP client or a script: the page shows it once and forgets it."""
        principal = await request_principal(self._p, request, self._public_url)
        body = _parse(MintBody, await _json_body(request))
        ttl = body.ttl_seconds or MINT_TTL_DEFAULT
        token = await anyio.to_thread.run_sync(
            lambda: self._p.access.issue_admin_token(principal.tenant_id, principal.subject, ttl_seconds=ttl)
        )
        return JSONResponse(
            {"token": token, "ttl_seconds": ttl}, status_code=201, headers={"Cache-Control": "no-store"}
        )

    async def _follow(self, request: Request, purpose: LinkPurpose) -> Response:
        body = await self._stranger(request, LinkBody)
        signed = await anyio.to_thread.run_sync(self._p.signin.accept, body.token, body.password, purpose)
        return await self._signed_in(request, signed)

    async def _stranger(self, request: Request, model: type[Any]) -> Any:
        """A request from someone not signed in: only from our own page, only JSON; and only while passwords
        sign people in here (`ORATIO_SIGNIN_PASSWORDS=false` leaves the OIDC issuer the only way in)."""
        oidc = self._p.oidc
        if oidc is not None and not oidc.passwords:
            raise Forbidden(f"password sign-in is turned off here; sign in with {oidc.name}")
        check_origin(request, self._public_url, required=False)
        if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            raise InvalidInput("send JSON (Content-Type: application/json)", field="content-type")
        return _parse(model, await _json_body(request))

    async def _signed_in(self, request: Request, signed: SignedIn) -> Response:
        answer = await anyio.to_thread.run_sync(
            signed_in_answer, self._p, signed.principal, signed.session, signed.secret
        )
        response = JSONResponse(answer, headers={"Cache-Control": "no-store"})
        max_age = int((signed.session.expires_at - signed.session.created_at).total_seconds())
        set_session_cookie(response, signed.secret, max_age, secure=is_secure(request, self._public_url))
        return response

    def _base_url(self, request: Request) -> str:
        """Where links point: the public URL when set, else the origin this request reached."""
        if self._public_url:
            return self._public_url.rstrip("/")
        return sorted(own_origins(request, None))[0]


async def _request_reset(signin: SignInService, email: str, base: str) -> None:
    """`forgot`'s work after its answer: nobody is waiting to hear of a failure, so it is logged, never raised."""
    try:
        await anyio.to_thread.run_sync(signin.request_reset, email, base)
    except OratioError as exc:
        logger.warning("reset link not sent: %s", exc.message)


def _parse(model: type[Any], data: Any) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        raise InvalidInput(f"{field or 'input'}: {first['msg']}", field=field) from None


async def _json_body(request: Request) -> Any:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge.of(MAX_BODY_BYTES, "sign-in requests are small JSON bodies")
    return parse_json(bytes(body)) if body else {}
