"""Oratio's MCP server over streamable HTTP: admin bearer tokens, RFC 9728 metadata, Host checks.

`oratio serve` mounts the app built here beside its own routes (see `oratio.web.create_app`), so
`/mcp` is served by the same process, on the same port, with the same admin tokens as `/api/v1`.

* Auth: every request to `/mcp` must carry `Authorization: Bearer <admin token>`. The token is
  verified by `OratioTokenVerifier` (signature, expiry, admin still enabled, rate limit); a missing
  or bad one gets 401 with `WWW-Authenticate: Bearer ..., resource_metadata="<url>"` pointing at
  `/.well-known/oauth-protected-resource/mcp` (RFC 9728), which names Oratio itself as the issuer.
* DNS rebinding: the Host header must name this server: the public URL's host, or the bound
  address and port (plus `localhost`/`[::1]` at that port when bound to a loopback or wildcard
  address). Anything else gets 421. Browser Origins are limited the same way (403).
* The tenant comes from the token only; tools read it with `TokenPrincipal`.

The returned app's lifespan runs the MCP session manager: a parent app that mounts it must enter
`app.router.lifespan_context(app)` in its own lifespan (Starlette does not run a mounted app's).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette

from mcp_server._principal import OratioTokenVerifier, TokenPrincipal
from mcp_server.server import build_server
from oratio.platform import Platform

MCP_PATH = "/mcp"
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


def create_mcp_http_app(platform: Platform, *, public_url: str, host: str, port: int) -> Starlette:
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
    server = build_server(platform, TokenPrincipal(), token_verifier=OratioTokenVerifier(platform), auth=auth)
    return server.streamable_http_app(
        streamable_http_path=MCP_PATH,
        transport_security=transport_security(public_url, host, port),
        host=host,
    )


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
