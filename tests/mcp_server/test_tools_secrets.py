"""Secret tools: set (the value goes in, only the name and dates come out), list (names only), delete."""

from __future__ import annotations

import json
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult

from mcp_server.tools.secrets import SecretList
from oratio.platform import Platform
from schemas import Principal
from schemas.tools import SECRET_VALUE_MAX, SecretInfo
from tests.support.mcp import call_as, call_error

pytestmark = pytest.mark.anyio

VALUE = "mcp-secret-value-7f3a9c"


def everything(result: CallToolResult) -> str:
    """All a client receives from a call: text content and structured content."""
    return json.dumps([c.model_dump(mode="json") for c in result.content]) + json.dumps(result.structured_content)


async def set_secret(client: Client, name: str, value: str = VALUE) -> SecretInfo:
    return await call_as(client, "set_secret", {"name": name, "value": value}, SecretInfo)


async def test_set_answers_with_the_name_never_the_value(client: Client, platform: Platform, acme: Principal) -> None:
    result = await client.call_tool("set_secret", {"name": "ORDERS_API_TOKEN", "value": VALUE})

    assert not result.is_error
    assert VALUE not in everything(result)
    assert set(result.structured_content or {}) == {"name", "created_at", "updated_at"}
    assert platform.secrets.resolve(acme.tenant_id, "ORDERS_API_TOKEN") == VALUE


async def test_list_shows_names_and_delete_removes(client: Client) -> None:
    await set_secret(client, "ORDERS_API_TOKEN")
    await set_secret(client, "CRM_KEY")

    listed = await call_as(client, "list_secrets", {}, SecretList)
    assert [s.name for s in listed.secrets] == ["CRM_KEY", "ORDERS_API_TOKEN"]
    result = await client.call_tool("list_secrets", {})
    assert VALUE not in everything(result)

    deleted = await call_as(client, "delete_secret", {"name": "CRM_KEY"}, SecretInfo)
    assert deleted.name == "CRM_KEY"
    assert [s.name for s in (await call_as(client, "list_secrets", {}, SecretList)).secrets] == ["ORDERS_API_TOKEN"]
    assert "secret 'CRM_KEY' was not found" in await call_error(client, "delete_secret", {"name": "CRM_KEY"})


@pytest.mark.parametrize(
    ("arguments", "expected"),
    [
        ({"name": "orders", "value": VALUE}, "invalid_input: a secret's name"),
        ({"name": "ORDERS_API_TOKEN", "value": VALUE * 1000}, f"at most {SECRET_VALUE_MAX} bytes"),
        ({"name": "ORDERS_API_TOKEN", "value": ""}, "cannot be empty"),
    ],
)
async def test_refusals_never_quote_the_value(client: Client, arguments: dict[str, Any], expected: str) -> None:
    text = await call_error(client, "set_secret", arguments)

    assert expected in text
    assert VALUE not in text


async def test_another_tenant_cannot_see_or_delete_them(client: Client, rival: Client) -> None:
    await set_secret(client, "ORDERS_API_TOKEN")

    assert (await call_as(rival, "list_secrets", {}, SecretList)).secrets == []
    assert "not found" in await call_error(rival, "delete_secret", {"name": "ORDERS_API_TOKEN"})
    assert [s.name for s in (await call_as(client, "list_secrets", {}, SecretList)).secrets] == ["ORDERS_API_TOKEN"]


async def test_hints_say_set_and_delete_change_things_and_list_only_reads(client: Client) -> None:
    tools = {t.name: t for t in (await client.list_tools()).tools}

    for name, read_only, destructive in (
        ("set_secret", False, True),
        ("delete_secret", False, True),
        ("list_secrets", True, False),
    ):
        annotations = tools[name].annotations
        assert annotations is not None
        assert (annotations.read_only_hint, annotations.destructive_hint) == (read_only, destructive), name
    description = tools["set_secret"].description or ""
    assert "{{secret:NAME}}" in description and "never be read back" in description


@pytest.mark.parametrize(
    "arguments",
    [
        {"value": VALUE},  # name missing: the SDK would quote the whole arguments object
        {"name": 42, "value": VALUE},
        {"name": "ORDERS_API_TOKEN", "value": {"token": VALUE}},
        {"name": "ORDERS_API_TOKEN", "value": [VALUE]},
    ],
)
async def test_arguments_of_the_wrong_shape_are_refused_by_name_only(
    client: Client, platform: Platform, acme: Principal, arguments: dict[str, Any]
) -> None:
    result = await client.call_tool("set_secret", arguments)

    assert result.is_error
    assert VALUE not in everything(result)
    assert "`name` and `value`" in everything(result)
    assert platform.secrets.list(acme) == []
