"""Who is calling a tool: the bearer token's principal over HTTP, the local operator over stdio.

The HTTP transport verifies the admin JWT once (`OratioTokenVerifier`) and carries the tenant in
the access token's claims; tools read it back here. Over stdio there is no token: the operator who
started `oratio mcp` chose the tenant, and `OperatorPrincipal` returns it.
"""

from __future__ import annotations

from typing import Protocol

import anyio.to_thread
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.provider import AccessToken

from oratio.auth.principals import token_principal
from oratio.errors import BackendUnavailable, OratioError, RateLimited
from oratio.services import AccessService
from oratio.services.oauth import ACCESS_PREFIX, OAuthService
from oratio.services.service_accounts import ACCESS_PREFIX as SERVICE_PREFIX
from oratio.services.service_accounts import ServiceAccountService
from schemas import Principal

TENANT_CLAIM = "tid"


class PrincipalSource(Protocol):
    def current(self) -> Principal | None:
        """The principal of the request being served, or None if it has none."""
        ...


class TokenPrincipal:
    """Reads the principal the token verifier stored on the request's access token."""

    def current(self) -> Principal | None:
        token = get_access_token()
        if token is None or token.claims is None or token.subject is None:
            return None
        return token_principal(str(token.claims[TENANT_CLAIM]), token.subject, token.scopes)


class OperatorPrincipal:
    """A fixed principal for a local, single-operator transport (stdio, in-process tests)."""

    def __init__(self, principal: Principal) -> None:
        self._principal = principal

    def current(self) -> Principal | None:
        from_token = TokenPrincipal().current()
        return from_token if from_token is not None else self._principal


class OratioTokenVerifier:
    """MCP `TokenVerifier` over Oratio's admin JWTs and OAuth access tokens: same checks, same rate limit
    as every door. An OAuth token (`oat_...`) is accepted only for `resource`, the /mcp URL it was issued for."""

    def __init__(
        self,
        access: AccessService,
        oauth: OAuthService | None = None,
        resource: str = "",
        service_accounts: ServiceAccountService | None = None,
    ) -> None:
        self._access = access
        self._oauth = oauth
        self._resource = resource
        self._service_accounts = service_accounts

    async def verify_token(self, token: str) -> AccessToken | None:
        """The token's access, or None (401) for a token that is not valid.

        A valid token over the rate limit, or a store that does not answer, is not a bad token: those
        errors propagate, and `mcp_server.http.Refusals` answers them (429 with Retry-After, 503), so
        a client waits and retries instead of discarding a good token.
        """
        try:
            principal = await anyio.to_thread.run_sync(self._principal, token)
        except (RateLimited, BackendUnavailable):
            raise
        except OratioError:
            return None
        return AccessToken(
            token=token,
            client_id=principal.subject,
            subject=principal.subject,
            scopes=sorted(s.value for s in principal.scopes),
            claims={TENANT_CLAIM: principal.tenant_id},
        )

    def _principal(self, token: str) -> Principal:
        if self._oauth is not None and token.startswith(ACCESS_PREFIX):
            principal = self._oauth.access(token, self._resource)
            self._access.check_rate(principal)
            return principal
        if self._service_accounts is not None and token.startswith(SERVICE_PREFIX):
            principal = self._service_accounts.access(token, self._resource)
            self._access.check_rate(principal)  # per account, like an admin's tokens
            return principal
        return self._access.admin_principal(token)
