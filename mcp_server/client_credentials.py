"""The client-credentials grant (RFC 6749 §4.4) at the token endpoint, for service accounts.

The SDK's `TokenHandler` knows authorization codes and refresh tokens only, so `ClientCredentials`
sits in front of it at `/token`: it reads the (small, bounded) form once, answers
`grant_type=client_credentials` itself and replays every other request to the SDK's handler
unchanged. Client authentication is `client_secret_basic` or `client_secret_post` (§2.3.1); a
`resource` (RFC 8707) other than this server's `/mcp` is `invalid_target`; each client_id is rate
limited (429 with Retry-After). Tokens are access tokens only, no refresh token (§4.4.3).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote

import anyio.to_thread
from mcp.server.auth.handlers.metadata import MetadataHandler
from mcp.server.auth.routes import build_metadata, cors_middleware
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions
from pydantic import AnyHttpUrl
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from oratio.auth.rate_limit import RateLimiter, check_on_loop
from oratio.errors import BackendUnavailable, Forbidden, RateLimited, Unauthenticated
from oratio.http_json import error_response
from oratio.services.service_accounts import CLIENT_REFUSED, ServiceAccountService

GRANT = "client_credentials"
MAX_FORM_BYTES = 8 * 1024
NO_STORE = [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]


def metadata_route(issuer: AnyHttpUrl, path: str) -> Route:
    """RFC 8414 metadata as the SDK builds it, with `client_credentials` among the grants."""
    metadata = build_metadata(issuer, None, ClientRegistrationOptions(enabled=True), RevocationOptions(enabled=True))
    metadata.grant_types_supported = [*(metadata.grant_types_supported or []), GRANT]
    return Route(
        path, endpoint=cors_middleware(MetadataHandler(metadata).handle, ["GET", "OPTIONS"]), methods=["GET", "OPTIONS"]
    )


class ClientCredentials:
    """An ASGI app in front of the SDK's token handler (a class, so `Route` does not wrap it)."""

    @classmethod
    def of(
        cls, accounts: ServiceAccountService, *, resource: str, limiter: RateLimiter
    ) -> Callable[[ASGIApp], ClientCredentials]:
        """A factory that puts the grant in front of a given SDK token app."""
        return lambda sdk: cls(sdk, accounts, resource=resource, limiter=limiter)

    def __init__(self, sdk: ASGIApp, accounts: ServiceAccountService, *, resource: str, limiter: RateLimiter) -> None:
        self._sdk = sdk
        self._accounts = accounts
        self._resource = resource
        self._limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self._sdk(scope, receive, send)
            return
        body, complete = await _read(receive, MAX_FORM_BYTES)
        if not complete:
            await _oauth_error(send, 413, "invalid_request", f"the request body may be at most {MAX_FORM_BYTES} bytes")
            return
        form = {k: v[0] for k, v in parse_qs(body.decode("latin-1"), keep_blank_values=True).items()}
        if form.get("grant_type") != GRANT:
            await self._sdk(scope, _replay(body), send)
            return
        await self._grant(scope, form, send)

    async def _grant(self, scope: Scope, form: dict[str, str], send: Send) -> None:
        headers = dict(scope.get("headers", []))
        client_id, secret, basic = _client(headers.get(b"authorization", b"").decode("latin-1"), form)
        if client_id is None or secret is None:
            await _oauth_error(send, 401, "invalid_client", "client authentication is required", basic=basic)
            return
        resource = form.get("resource")
        if resource is not None and resource.rstrip("/") != self._resource.rstrip("/"):
            await _oauth_error(send, 400, "invalid_target", f"this server issues tokens for {self._resource} only")
            return
        try:
            await check_on_loop(self._limiter, client_id[:160])
        except RateLimited as exc:
            await error_response(exc)(scope, _replay(b""), send)
            return
        try:
            issued = await anyio.to_thread.run_sync(lambda: self._issue(client_id, secret, form.get("scope")))
        except Unauthenticated:
            await _oauth_error(send, 401, "invalid_client", CLIENT_REFUSED, basic=basic)
            return
        except Forbidden as exc:
            await _oauth_error(send, 400, "invalid_scope", exc.message)
            return
        except BackendUnavailable as exc:
            await error_response(exc)(scope, _replay(b""), send)
            return
        await _json(send, 200, issued)

    def _issue(self, client_id: str, secret: str, scope: str | None) -> dict[str, Any]:
        account = self._accounts.authenticate(client_id, secret)
        issued = self._accounts.issue(account, scope, self._resource)
        return {
            "access_token": issued.access_token,
            "token_type": "Bearer",
            "expires_in": issued.expires_in,
            "scope": " ".join(issued.scopes),
        }


def _client(authorization: str, form: dict[str, str]) -> tuple[str | None, str | None, bool]:
    """(client_id, secret, whether Basic was used): Basic (ids and secrets form-urlencoded, §2.3.1) or the form."""
    if authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None, None, True
        client_id, colon, secret = decoded.partition(":")
        return (unquote(client_id), unquote(secret), True) if colon else (None, None, True)
    return form.get("client_id"), form.get("client_secret"), False


async def _read(receive: Receive, limit: int) -> tuple[bytes, bool]:
    body = b""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return body, False
        body += message.get("body", b"")
        if len(body) > limit:
            return b"", False
        if not message.get("more_body", False):
            return body, True


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _oauth_error(send: Send, status: int, error: str, description: str, *, basic: bool = False) -> None:
    extra = [(b"www-authenticate", b'Basic realm="oratio"')] if basic and status == 401 else []
    await _json(send, status, {"error": error, "error_description": description[:200]}, extra)


async def _json(
    send: Send, status: int, payload: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *NO_STORE]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})
