"""Oratio's MCP server over streamable HTTP: admin bearer tokens, RFC 9728 metadata, Host checks.

`oratio serve` mounts the app built here beside its own routes (see `oratio_app.web.create_app`), so
`/mcp` is served by the same process, on the same port, with the same admin tokens as `/api/v1`.

* Auth: every request to `/mcp` must carry `Authorization: Bearer <admin token>`. The token is
  verified by `OratioTokenVerifier` (signature, expiry, admin still enabled, rate limit); a missing
  or bad one gets 401 with `WWW-Authenticate: Bearer ..., resource_metadata="<url>"` pointing at
  `/.well-known/oauth-protected-resource/mcp` (RFC 9728), which names Oratio itself as the issuer.
  Oratio is that authorization server (`authorization_server_routes`, the SDK's handlers over
  `oratio.services.oauth`): an MCP client registers, sends the person through the dashboard's consent
  page, and gets short-lived access tokens bound to /mcp, accepted beside admin JWTs.
  A valid token over the rate limit gets 429 with Retry-After, not 401.
* Bodies: at most one document at `ORATIO_MAX_DOCUMENT_BYTES` base64-encoded plus 1 MiB (JSON 413
  past it); the SDK's own, smaller default limit is raised to the same size.
* DNS rebinding: the Host header must name this server: the public URL's host, or the bound
  address and port (plus `localhost`/`[::1]` at that port when bound to a loopback or wildcard
  address). Anything else gets 421. Browser Origins are limited the same way (403).
* The tenant comes from the token only; tools read it with `TokenPrincipal`.

The returned app's lifespan runs the MCP session manager: a parent app that mounts it must enter
`app.router.lifespan_context(app)` in its own lifespan (Starlette does not run a mounted app's).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from mcp.server.auth.routes import (
    AUTHORIZATION_PATH,
    REGISTRATION_PATH,
    REVOCATION_PATH,
    TOKEN_PATH,
    create_auth_routes,
)
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcp_server._context import McpServices
from mcp_server._principal import OratioTokenVerifier, TokenPrincipal
from mcp_server.client_credentials import ClientCredentials, metadata_route
from mcp_server.oauth import OratioOAuthProvider
from mcp_server.server import build_server
from oratio.auth.rate_limit import RateLimiter, check_on_loop
from oratio.errors import OratioError, RateLimited
from oratio.http_json import PayloadTooLarge, error_response

MCP_PATH = "/mcp"
AUTHORIZATION_SERVER_METADATA_PATH = "/.well-known/oauth-authorization-server"
MCP_PATHS = (
    MCP_PATH,
    "/.well-known/oauth-protected-resource" + MCP_PATH,
    AUTHORIZATION_SERVER_METADATA_PATH,
    AUTHORIZATION_PATH,
    TOKEN_PATH,
    REGISTRATION_PATH,
    REVOCATION_PATH,
)
"""The paths the MCP app answers when mounted at the root beside other routes."""
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
WILDCARD_HOSTS = ("0.0.0.0", "::", "")


def default_public_url(host: str, port: int) -> str:
    """The URL a local client uses to reach a server bound to host:port (wildcard binds -> loopback)."""
    reachable = "127.0.0.1" if host in WILDCARD_HOSTS else host
    return f"http://{_netloc(reachable, port)}"


def transport_security(public_url: str, host: str, port: int) -> TransportSecuritySettings:
    """Host/Origin allow-lists for DNS-rebinding protection, always on: exact host:port, no wildcards."""
    public = urlsplit(public_url)
    hosts = {public.netloc}
    origins = {f"{public.scheme}://{public.netloc}"}
    names = [host] if host not in WILDCARD_HOSTS else []
    if host in LOOPBACK_HOSTS or host in WILDCARD_HOSTS:
        names.extend(LOOPBACK_HOSTS)
    for name in names:
        netloc = _netloc(name, port)
        hosts.add(netloc)
        origins.add(f"http://{netloc}")
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=sorted(hosts), allowed_origins=sorted(origins)
    )


def create_mcp_http_app(platform: McpServices, *, public_url: str, host: str, port: int) -> Starlette:
    """The MCP server as an ASGI app serving `/mcp` and its protected-resource metadata.

    `public_url` is the URL clients reach Oratio at (no trailing slash, no `/mcp`); `host` and
    `port` are the address the server is bound to.
    """
    public_url = public_url.rstrip("/")
    auth = AuthSettings(
        issuer_url=public_url,
        resource_server_url=public_url + MCP_PATH,
        required_scopes=None,  # scopes are enforced per call by the service layer, like every other door
    )
    resource = public_url + MCP_PATH
    verifier = OratioTokenVerifier(platform.access, platform.oauth, resource, platform.service_accounts)
    server = build_server(platform, TokenPrincipal(), token_verifier=verifier, auth=auth)
    max_bytes = max_request_bytes(platform.settings.max_document_bytes)
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        transport_security=transport_security(public_url, host, port),
        host=host,
        # The SDK's own limit (4 MiB by default, answered in plain text) sits behind ours: set it to
        # the same size, so `BodyLimit` (JSON 413) is the only one a request can meet.
        max_request_body_size=max_bytes,
    )
    app.user_middleware.insert(0, Middleware(Refusals))
    app.user_middleware.insert(0, Middleware(BodyLimit, max_bytes=max_bytes))
    app.router.routes.extend(authorization_server_routes(platform, issuer=auth.issuer_url, resource=resource))
    return app


def authorization_server_routes(platform: McpServices, *, issuer: AnyHttpUrl, resource: str) -> list[Route]:
    """The SDK's authorization server (metadata, register, authorize, token, revoke) over `OAuthService`.

    Registration is open (RFC 7591, as MCP clients expect) but bounded: per-address rate limit
    (`AddressLimit`, also on authorize), a cap on clients and redirect-URI checks in the service.
    """
    settings = platform.settings
    routes = create_auth_routes(
        OratioOAuthProvider(platform.oauth, public_url=str(issuer), resource=resource),
        issuer_url=issuer,  # as `AuthSettings` keeps it: no trailing slash (RFC 8414 compares exactly)
        client_registration_options=ClientRegistrationOptions(enabled=True),
        revocation_options=RevocationOptions(enabled=True),
    )
    limits = {
        # Registration stores a client; authorize stores a consent request: both bounded per address.
        REGISTRATION_PATH: AddressLimit(
            platform.rate_limits.limiter(
                "oauth_register", settings.oauth_register_per_minute, settings.oauth_register_burst
            )
        ),
        AUTHORIZATION_PATH: AddressLimit(
            platform.rate_limits.limiter(
                "oauth_authorize", settings.oauth_authorize_per_minute, settings.oauth_authorize_burst
            )
        ),
    }
    # Service accounts (machine clients): the client-credentials grant in front of the SDK's token
    # handler, rate limited per client_id, and listed in the metadata (mcp_server.client_credentials).
    credentials = ClientCredentials.of(
        platform.service_accounts,
        resource=resource,
        limiter=platform.rate_limits.limiter(
            "client_credentials", settings.oauth_client_credentials_per_minute, settings.oauth_client_credentials_burst
        ),
    )
    replaced = {
        AUTHORIZATION_SERVER_METADATA_PATH: lambda r: metadata_route(issuer, r.path),
        TOKEN_PATH: lambda r: Route(r.path, credentials(r.app), methods=r.methods),
    }
    served = [
        Route(r.path, limits[r.path].wrap(r.app), methods=r.methods)
        if r.path in limits
        else replaced[r.path](r)
        if r.path in replaced
        else r
        for r in routes
        if isinstance(r, Route)
    ]
    # Anyone may call these, with no token: their bodies are small forms and JSON, so a stranger may not make
    # the server read the /mcp bound (a whole base64 document) per request.
    hint = "OAuth requests are small forms and JSON"
    return [Route(r.path, BodyLimit(r.app, OAUTH_BODY_BYTES, hint), methods=r.methods) for r in served]


class AddressLimit:
    """429 (JSON, Retry-After) for a client address calling an endpoint faster than the configured rate."""

    def __init__(self, limiter: RateLimiter) -> None:
        self._limiter = limiter

    def wrap(self, app: ASGIApp) -> ASGIApp:
        return _Limited(app, self._limiter)


class _Limited:
    """An ASGI app (a class, so Starlette's `Route` does not wrap it as a request handler)."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter) -> None:
        self._app = app
        self._limiter = limiter

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope.get("method") in ("GET", "POST"):
            client = scope.get("client")
            try:
                await check_on_loop(self._limiter, client[0] if client else "?")
            except RateLimited as exc:
                await error_response(exc)(scope, receive, send)
                return
        await self._app(scope, receive, send)


class Refusals:
    """Oratio's refusals raised while authenticating (429 rate limited, 503) as its JSON answers.

    The SDK's auth middleware knows only "valid token" or 401; the token verifier raises the rest
    before any response has started, and this turns them into `error_response`s.
    """

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await self._app(scope, receive, tracked)
        except OratioError as exc:
            if scope["type"] != "http" or started:
                raise
            await error_response(exc)(scope, receive, send)


OAUTH_BODY_BYTES = 64 * 1024
"""The largest body of the authorization server's endpoints (register, authorize, token, revoke)."""


def max_request_bytes(max_document_bytes: int) -> int:
    """The largest MCP request: one document at the size limit, base64-encoded, plus 1 MiB for the rest."""
    return 4 * -(-max_document_bytes // 3) + 1024 * 1024


class BodyLimit:
    """413 for a request body over `max_bytes`, counted as it arrives; nothing past the limit is read.

    The SDK reads a whole body into memory before looking at it, so without a bound one request
    could hold any amount of memory. /mcp bodies are only read once the bearer token has been checked
    (the auth middleware answers 401 first); the authorization server's endpoints, which anyone may call,
    get their own, small bound (`OAUTH_BODY_BYTES`).
    """

    def __init__(
        self, app: ASGIApp, max_bytes: int, hint: str = "a document may be at most ~3/4 of that (base64)"
    ) -> None:
        self._app = app
        self._max = max_bytes
        self._hint = hint

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        too_large = error_response(PayloadTooLarge.of(self._max, self._hint))
        declared = dict(scope.get("headers", [])).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self._max:
            await too_large(scope, receive, send)
            return
        size = 0
        refused = started = False

        async def counted() -> Message:
            nonlocal size, refused
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > self._max:
                    if not refused and not started:
                        refused = True
                        await too_large(scope, receive, send)
                    # The app sees an empty last chunk (a body it refuses quietly); its answer is dropped.
                    return {"type": "http.request", "body": b"", "more_body": False}
            return message

        async def guarded(message: Message) -> None:
            nonlocal started
            if refused:
                return  # the 413 is the answer
            started = True
            await send(message)

        await self._app(scope, counted, guarded)


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
