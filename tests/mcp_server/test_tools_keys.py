"""API key tools: mint (secret shown once), list (never secrets or hashes), revoke."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from mcp import Client
from mcp.types import TextContent

from mcp_server.tools.keys import ApiKeyList, NewApiKey
from oratio.auth.api_keys import hash_secret, looks_like_api_key
from oratio.errors import Unauthenticated
from oratio.platform import Platform
from schemas import Agent, ApiKey
from tests.support.mcp import call, call_as, call_error, spec

pytestmark = pytest.mark.anyio

UNKNOWN_AGENT = "agt_01aaaaaaaaaaaaaaaaaaaaaaaa"
UNKNOWN_KEY = "key_01aaaaaaaaaaaaaaaaaaaaaaaa"


@pytest.fixture
async def agent(client: Client) -> Agent:
    return await call_as(client, "create_agent", {"spec": spec()}, Agent)


async def mint(client: Client, agent_id: str, name: str = "website widget", **extra: object) -> NewApiKey:
    return await call_as(client, "mint_api_key", {"agent_id": agent_id, "name": name, **extra}, NewApiKey)


async def test_mint_returns_a_working_secret_once(client: Client, agent: Agent, platform: Platform) -> None:
    minted = await mint(client, agent.id)

    assert looks_like_api_key(minted.secret)
    assert minted.secret.startswith(minted.key.prefix)
    assert (minted.key.agent_id, minted.key.name, minted.key.expires_at, minted.key.revoked_at) == (
        agent.id,
        "website widget",
        None,
        None,
    )
    grant = platform.keys.authenticate(minted.secret, agent.id)
    assert (grant.tenant_id, grant.agent_id, grant.key_id) == (agent.tenant_id, agent.id, minted.key.id)


async def test_mint_with_a_lifetime_sets_the_expiry(client: Client, agent: Agent) -> None:
    minted = await mint(client, agent.id, ttl_days=30)

    assert minted.key.expires_at is not None
    assert minted.key.expires_at - minted.key.created_at == timedelta(days=30)


async def test_mint_tells_the_caller_to_store_the_secret(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}
    tool = tools["mint_api_key"]

    assert tool.description is not None and "shown once" in tool.description
    assert tool.output_schema is not None
    secret_schema = tool.output_schema["properties"]["secret"]
    assert secret_schema["type"] == "string"
    assert "shown only this once" in secret_schema["description"]
    assert "store" in secret_schema["description"]


async def test_mint_refuses_bad_input_and_an_unknown_agent(client: Client, agent: Agent) -> None:
    assert "not_found" in await call_error(client, "mint_api_key", {"agent_id": UNKNOWN_AGENT, "name": "w"})
    assert "name" in await call_error(client, "mint_api_key", {"agent_id": agent.id, "name": "<script>"})
    assert "ttl_days" in await call_error(client, "mint_api_key", {"agent_id": agent.id, "name": "w", "ttl_days": 0})
    assert "ttl_days" in await call_error(client, "mint_api_key", {"agent_id": agent.id, "name": "w", "ttl_days": 3651})
    assert (await call(client, "list_api_keys"))["keys"] == []


async def test_list_never_shows_a_secret_or_its_hash(client: Client, agent: Agent) -> None:
    minted = await mint(client, agent.id)

    result = await client.call_tool("list_api_keys", {})

    assert not result.is_error and result.structured_content is not None
    everything = json.dumps(result.structured_content) + "".join(
        c.text for c in result.content if isinstance(c, TextContent)
    )
    assert minted.secret not in everything
    assert hash_secret(minted.secret) not in everything
    assert "secret" not in everything
    assert ApiKeyList.model_validate(result.structured_content) == ApiKeyList(keys=[minted.key], next_cursor=None)


async def test_list_filters_by_agent_and_pages(client: Client, agent: Agent) -> None:
    other = await call_as(client, "create_agent", {"spec": spec("Other")}, Agent)
    mine = [(await mint(client, agent.id, f"key {i}")).key for i in range(3)]
    theirs = (await mint(client, other.id, "their key")).key

    first = await call_as(client, "list_api_keys", {"agent_id": agent.id, "limit": 2}, ApiKeyList)
    second = await call_as(
        client, "list_api_keys", {"agent_id": agent.id, "limit": 2, "cursor": first.next_cursor}, ApiKeyList
    )
    everyone = await call_as(client, "list_api_keys", {}, ApiKeyList)

    assert first.next_cursor is not None and second.next_cursor is None
    assert sorted(k.id for k in first.keys + second.keys) == sorted(k.id for k in mine)
    assert sorted(k.id for k in everyone.keys) == sorted(k.id for k in [*mine, theirs])
    assert (await call_as(client, "list_api_keys", {"agent_id": UNKNOWN_AGENT}, ApiKeyList)).keys == []


async def test_revoke_stops_the_key_for_good(client: Client, agent: Agent, platform: Platform) -> None:
    minted = await mint(client, agent.id)
    kept = await mint(client, agent.id, "mobile app")

    revoked = await call_as(client, "revoke_api_key", {"key_id": minted.key.id}, ApiKey)

    assert revoked.id == minted.key.id and revoked.revoked_at is not None
    with pytest.raises(Unauthenticated):
        platform.keys.authenticate(minted.secret, agent.id)
    assert platform.keys.authenticate(kept.secret, agent.id).key_id == kept.key.id
    listed = {k.id: k for k in (await call_as(client, "list_api_keys", {}, ApiKeyList)).keys}
    assert listed[minted.key.id].revoked_at == revoked.revoked_at
    assert listed[kept.key.id].revoked_at is None
    assert "invalid_state" in await call_error(client, "revoke_api_key", {"key_id": minted.key.id})
    assert "not_found" in await call_error(client, "revoke_api_key", {"key_id": UNKNOWN_KEY})
