"""ASGI middleware for a door running behind Bedrock AgentCore Runtime's proxy.

Why it exists: AgentCore checks its own inbound JWT (from the OIDC issuer in `customJWTAuthorizer`) on
the `Authorization` header and does not pass that header on unless allow-listed. Oratio's doors check
Oratio's own admin token on the same header. So behind AgentCore a client sends two tokens: the
issuer's in `Authorization` (checked at AgentCore's edge) and Oratio's in
`X-Amzn-Bedrock-AgentCore-Runtime-Custom-Authorization` (forwarded, because the deployment allow-lists
it). This middleware moves the second into `Authorization`, so the door verifies it exactly as it does
locally: same verifier, same tenant rules, nothing trusted because it came through AgentCore.

It also rewrites `Host` to the bound address. The MCP door's DNS-rebinding check protects servers a
browser can reach by name; a microVM is reachable only through AgentCore's authenticated proxy, whose
`Host` is AgentCore's own, so the check would refuse every legitimate request there.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

CUSTOM_AUTHORIZATION = b"x-amzn-bedrock-agentcore-runtime-custom-authorization"


class AgentCoreIngress:
    def __init__(self, app: ASGIApp, host: str, port: int) -> None:
        self._app = app
        bound = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104 - a name, not a bind
        self._host = f"{bound}:{port}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self._app(scope, receive, send)
            return
        headers = list(scope["headers"])
        custom = [value for name, value in headers if name == CUSTOM_AUTHORIZATION]
        kept = [(n, v) for n, v in headers if n not in (b"host", b"authorization", CUSTOM_AUTHORIZATION)]
        kept.append((b"host", self._host))
        if custom:
            kept.append((b"authorization", custom[0]))
        await self._app({**scope, "headers": kept}, receive, send)


__all__ = ["CUSTOM_AUTHORIZATION", "AgentCoreIngress"]
