"""API key tools: mint, list and revoke the keys a customer app uses to talk to one agent."""

from __future__ import annotations

from typing import Annotated

from mcp.server.mcpserver import MCPServer
from pydantic import Field

from mcp_server._context import ToolContext
from mcp_server.tools._register import reads, tool, writes
from oratio.store.ports import Page
from schemas import ApiKey, Identifier, MintKeyRequest, Model, Name


class NewApiKey(Model):
    """A freshly minted key: its public record and, this one time only, its secret."""

    key: ApiKey
    secret: str = Field(
        description=(
            "The API key itself, in plain text. It is shown only this once and cannot be retrieved "
            "again: the caller must store it now (e.g. in the customer app's secret store)."
        )
    )


class ApiKeyList(Model):
    keys: list[ApiKey]
    next_cursor: str | None = Field(description="Pass back as `cursor` for the next page; null at the end")


def _key_list(page: Page[ApiKey]) -> ApiKeyList:
    return ApiKeyList(keys=page.items, next_cursor=page.next_cursor)


AgentId = Annotated[Identifier, Field(description="Id of the agent the key opens, e.g. agt_01...")]
KeyId = Annotated[Identifier, Field(description="API key id, e.g. key_01... (not the secret)")]


def register(server: MCPServer, tc: ToolContext) -> None:
    platform = tc.platform

    @tool(server, writes("Mint API key", destructive=False, idempotent=False))
    async def mint_api_key(
        agent_id: AgentId,
        name: Annotated[Name, Field(description="A label to recognise the key by, e.g. 'website widget'")],
        ttl_days: Annotated[
            int | None, Field(ge=1, le=3650, description="Days until the key expires; null never expires")
        ] = None,
    ) -> NewApiKey:
        """Create an API key that lets a customer-facing app talk to one agent.

        The result holds the secret in plain text. It is shown once, here, and never again: store
        it right away (hand it to the person or secret store that needs it). A lost secret cannot
        be recovered; revoke the key and mint a new one instead.
        """
        principal = tc.principal()
        request = MintKeyRequest(agent_id=agent_id, name=name, ttl_days=ttl_days)
        minted = await tc.call(lambda: platform.keys.mint(principal, request))
        return NewApiKey(key=minted.key, secret=minted.reveal())

    @tool(server, reads("List API keys"))
    async def list_api_keys(
        agent_id: Annotated[Identifier | None, Field(description="Only this agent's keys; null lists all")] = None,
        limit: Annotated[int, Field(ge=1, le=200)] = 50,
        cursor: str | None = None,
    ) -> ApiKeyList:
        """List API keys with their name, prefix, expiry, revocation and last use. Secrets are never shown."""
        principal = tc.principal()
        page = await tc.call(lambda: platform.keys.list(principal, agent_id=agent_id, limit=limit, cursor=cursor))
        return _key_list(page)

    @tool(server, writes("Revoke API key", destructive=True, idempotent=True))
    async def revoke_api_key(key_id: KeyId) -> ApiKey:
        """Revoke an API key: apps using it are refused from now on. Cannot be undone; mint a new key instead."""
        principal = tc.principal()
        return await tc.call(lambda: platform.keys.revoke(principal, key_id))
