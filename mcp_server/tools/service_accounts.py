"""Service account tools: machine clients (other agents) of your tenant, with client-credentials tokens.

An admin creates an account with scopes no wider than their own and gets its client secret once;
the account then asks `/token` for short-lived access tokens (`grant_type=client_credentials`) and
calls `/mcp` as itself. Revoking it refuses its secret and every token it holds at once.
"""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from mcp_server._context import ToolContext
from mcp_server.tools._register import reads, tool, writes
from schemas import Identifier, Model, Scope
from schemas.oauth import ServiceAccountView


class CreatedServiceAccount(Model):
    account: ServiceAccountView
    client_secret: str = Field(description="Shown this once: Oratio keeps only its hash")
    token_endpoint: str = Field(description="POST grant_type=client_credentials here (client_secret_basic or _post)")


class ServiceAccountList(Model):
    service_accounts: list[ServiceAccountView]


def register(server: MCPServer, tc: ToolContext) -> None:
    accounts = tc.platform.service_accounts

    @tool(server, writes("Create a service account", destructive=False, idempotent=False))
    async def create_service_account(
        name: Annotated[str, Field(min_length=1, max_length=100, description="What this machine client is")],
        scopes: Annotated[
            list[Scope], Field(min_length=1, max_length=16, description="Its scopes: each one must be one you hold")
        ],
    ) -> CreatedServiceAccount:
        """Create a service account for another agent: it gets a client_id and a client_secret (shown once)
        and exchanges them at /token (grant_type=client_credentials) for short-lived /mcp tokens."""
        principal = tc.principal()
        created = await tc.call(lambda: accounts.create(principal, name, [s.value for s in scopes]))
        return CreatedServiceAccount(
            account=ServiceAccountView.of(created.account),
            client_secret=created.client_secret,
            token_endpoint="/token",
        )

    @tool(server, reads("List service accounts"))
    async def list_service_accounts() -> ServiceAccountList:
        """List your tenant's service accounts (revoked ones included), without their secrets."""
        principal = tc.principal()
        found = await tc.call(lambda: accounts.list(principal))
        return ServiceAccountList(service_accounts=[ServiceAccountView.of(a) for a in found])

    @tool(server, writes("Revoke a service account", destructive=True, idempotent=True))
    async def revoke_service_account(
        account_id: Annotated[Identifier, Field(description="Id of a service account of your tenant (svc_...)")],
    ) -> ServiceAccountView:
        """Revoke a service account: its secret and every token it holds are refused from the next request."""
        principal = tc.principal()
        return ServiceAccountView.of(await tc.call(lambda: accounts.revoke(principal, account_id)))
