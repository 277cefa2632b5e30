"""The MCP SDK's authorization server (`mcp.server.auth`) over Oratio's `OAuthService`.

The SDK's handlers own the wire protocol (RFC 8414 metadata, RFC 7591 registration, the authorize
and token endpoints with PKCE S256 checks, RFC 7009 revocation); this provider only translates
between their models and the core service, which owns the state and the rules. `authorize` sends the
person to the dashboard's consent page (`CONSENT_PATH`), which reuses their signed-in session.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import anyio.to_thread
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    RegistrationError,
    TokenError,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import AnyUrl

from oratio.errors import InvalidInput, OratioError, Unauthenticated
from oratio.services.oauth import CONSENT_PATH, Issued, OAuthService


class _Code(AuthorizationCode):
    """The SDK's code with the stored record's identity, so the exchange uses exactly that record up."""

    code_hash: str


class _Refresh(RefreshToken):
    token_hash: str


class OratioOAuthProvider:
    """`OAuthAuthorizationServerProvider` for the embedded default (and any store behind `OAuthService`)."""

    def __init__(self, oauth: OAuthService, *, public_url: str, resource: str) -> None:
        self._oauth = oauth
        self._public_url = public_url.rstrip("/")
        self._resource = resource

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        stored = await anyio.to_thread.run_sync(self._oauth.client, client_id)
        return None if stored is None else OAuthClientInformationFull.model_validate_json(stored.metadata)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        uris = [str(u) for u in client_info.redirect_uris or []]
        metadata = client_info.model_dump_json(exclude_none=True)
        try:
            await anyio.to_thread.run_sync(
                lambda: self._oauth.register(str(client_info.client_id), client_info.client_name or "", uris, metadata)
            )
        except InvalidInput as exc:
            if "redirect" in exc.message:
                raise RegistrationError("invalid_redirect_uri", exc.message) from None
            raise RegistrationError("invalid_client_metadata", exc.message) from None

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        resource = params.resource or self._resource
        if resource.rstrip("/") != self._resource.rstrip("/"):
            raise AuthorizeError("invalid_target", f"this server issues tokens for {self._resource} only")
        try:
            request_id = await self._start(client, params)
        except InvalidInput as exc:
            raise AuthorizeError("invalid_request", exc.message) from None
        return f"{self._public_url}{CONSENT_PATH}?request={request_id}"

    async def _start(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        request_id: str = await anyio.to_thread.run_sync(
            lambda: self._oauth.start(
                str(client.client_id),
                scopes=params.scopes or [],
                code_challenge=params.code_challenge,
                redirect_uri=str(params.redirect_uri),
                redirect_uri_explicit=params.redirect_uri_provided_explicitly,
                state=params.state,
                resource=self._resource,
            )
        )
        return request_id

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> _Code | None:
        found = await anyio.to_thread.run_sync(self._oauth.code, str(client.client_id), authorization_code)
        if found is None:
            return None
        return _Code(
            code=authorization_code,
            code_hash=found.code_hash,
            scopes=found.scopes,
            expires_at=self._wall(found.expires_at),
            client_id=found.client_id,
            code_challenge=found.code_challenge,
            redirect_uri=AnyUrl(found.redirect_uri),
            redirect_uri_provided_explicitly=found.redirect_uri_explicit,
            resource=found.resource,
            subject=found.admin_id,
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: _Code
    ) -> OAuthToken:
        def exchange() -> Issued:
            found = self._oauth.code(str(client.client_id), authorization_code.code)
            if found is None or found.code_hash != authorization_code.code_hash:
                raise Unauthenticated("authorization code was already used")
            return self._oauth.exchange_code(found)

        return _token(await _granting(exchange))

    async def load_refresh_token(self, client: OAuthClientInformationFull, refresh_token: str) -> _Refresh | None:
        found = await anyio.to_thread.run_sync(self._oauth.refresh_token, str(client.client_id), refresh_token)
        if found is None:
            return None
        return _Refresh(
            token=refresh_token,
            token_hash=found.token_hash,
            client_id=found.client_id,
            scopes=found.scopes,
            expires_at=int(self._wall(found.expires_at)),
            subject=found.admin_id,
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: _Refresh, scopes: list[str]
    ) -> OAuthToken:
        def rotate() -> Issued:
            found = self._oauth.refresh_token(str(client.client_id), refresh_token.token)
            if found is None:
                raise Unauthenticated("refresh token is not valid")
            return self._oauth.rotate(found, scopes)

        return _token(await _granting(rotate))

    async def load_access_token(self, token: str) -> AccessToken | None:
        """Revocation's lookup only: /mcp verifies tokens with `OratioTokenVerifier` (resource-bound)."""
        found = await anyio.to_thread.run_sync(self._oauth.token, token)
        if found is None or found.kind != "access" or found.revoked:
            return None
        return AccessToken(token=token, client_id=found.client_id, scopes=found.scopes, resource=found.resource)

    def _wall(self, moment: datetime) -> float:
        """`moment` on the wall clock the SDK's handlers compare expiries with (the service may keep another)."""
        return time.time() + (moment - self._oauth.now()).total_seconds()

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        def revoke() -> None:
            found = self._oauth.token(token.token)
            if found is not None:
                self._oauth.revoke_family(found.family)

        await anyio.to_thread.run_sync(revoke)

    async def exchange_identity_assertion(self, client: OAuthClientInformationFull, params: Any) -> OAuthToken:
        raise TokenError("unsupported_grant_type", "identity assertions are not supported")


async def _granting(call: Any) -> Issued:
    try:
        issued: Issued = await anyio.to_thread.run_sync(call)
    except Unauthenticated as exc:
        raise TokenError("invalid_grant", exc.message) from None
    except OratioError as exc:
        raise TokenError("invalid_request", exc.message) from None
    return issued


def _token(issued: Issued) -> OAuthToken:
    return OAuthToken(
        access_token=issued.access_token,
        token_type="Bearer",
        expires_in=issued.expires_in,
        refresh_token=issued.refresh_token,
        scope=" ".join(issued.scopes) or None,
    )
