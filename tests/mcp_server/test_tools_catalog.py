"""What a model sees of the tools: names, descriptions, schemas, hints, and short, safe error texts."""

from __future__ import annotations

import inspect
from typing import Any

import pytest
from mcp import Client
from mcp.types import Tool

from schemas import Agent
from tests.support.mcp import call_as, call_error, spec

pytestmark = pytest.mark.anyio

READ_ONLY = {
    "list_documents",
    "get_document",
    "list_api_keys",
    "list_sessions",
    "list_live_sessions",
    "get_session",
    "get_session_analysis",
    "export_sessions",
    "list_notifications",
    "list_deliveries",
    "list_agent_tools",
    "list_openapi_operations",
}
DESTRUCTIVE = {"delete_document", "revoke_api_key", "close_session"}
WRITES = {
    "upload_document",
    "mint_api_key",
    "mark_notification_read",
    "acknowledge_handoff",
    "retry_delivery",
    "take_over_session",
    "send_human_message",
    "return_session_to_agent",
}
AGENT_TOOLS = {
    "create_agent",
    "get_agent",
    "list_agents",
    "update_agent",
    "pause_agent",
    "resume_agent",
    "delete_agent",
}
ACTION_TOOLS = {"add_agent_tool", "update_agent_tool", "remove_agent_tool", "test_agent_tool", "import_openapi_tools"}
TOOLS = READ_ONLY | DESTRUCTIVE | WRITES | AGENT_TOOLS | ACTION_TOOLS


async def tools(client: Client) -> dict[str, Tool]:
    return {tool.name: tool for tool in (await client.list_tools()).tools}


async def test_every_tool_is_listed_with_a_description_and_schemas(client: Client) -> None:
    listed = await tools(client)

    assert TOOLS <= listed.keys()
    for tool in listed.values():
        assert tool.description is not None and len(tool.description) >= 30, tool.name
        assert tool.input_schema["type"] == "object", tool.name
        assert tool.output_schema is not None and tool.output_schema["type"] == "object", tool.name


def properties(tool: Tool) -> dict[str, Any]:
    props: dict[str, Any] = tool.input_schema.get("properties", {})
    return props


async def test_input_schemas_name_the_parameters(client: Client) -> None:
    listed = await tools(client)

    expected = {
        "upload_document": ({"agent_id", "document", "rebuild"}, {"agent_id", "document"}),
        "list_documents": ({"agent_id", "limit", "cursor"}, {"agent_id"}),
        "get_document": ({"document_id"}, {"document_id"}),
        "delete_document": ({"document_id", "rebuild"}, {"document_id"}),
        "mint_api_key": ({"agent_id", "name", "ttl_days"}, {"agent_id", "name"}),
        "list_api_keys": ({"agent_id", "limit", "cursor"}, set()),
        "revoke_api_key": ({"key_id"}, {"key_id"}),
        "list_sessions": (
            {"agent_id", "status", "channel", "started_after", "started_before", "outcome", "limit", "cursor"},
            set(),
        ),
        "list_live_sessions": ({"limit", "cursor"}, set()),
        "get_session": ({"session_id"}, {"session_id"}),
        "get_session_analysis": ({"session_id"}, {"session_id"}),
        "export_sessions": (
            {"started_after", "started_before", "format", "agent_id", "outcome"},
            {"started_after", "started_before"},
        ),
        "list_notifications": ({"status", "limit", "cursor"}, set()),
        "mark_notification_read": ({"notification_id"}, {"notification_id"}),
        "acknowledge_handoff": ({"notification_id"}, {"notification_id"}),
        "take_over_session": ({"session_id"}, {"session_id"}),
        "send_human_message": ({"session_id", "text"}, {"session_id", "text"}),
        "return_session_to_agent": ({"session_id"}, {"session_id"}),
        "close_session": ({"session_id"}, {"session_id"}),
        "list_deliveries": ({"status", "limit", "cursor"}, set()),
        "retry_delivery": ({"delivery_id"}, {"delivery_id"}),
        "list_agent_tools": ({"agent_id"}, {"agent_id"}),
        "add_agent_tool": ({"agent_id", "tool", "wait"}, {"agent_id", "tool"}),
        "update_agent_tool": ({"agent_id", "name", "changes", "wait"}, {"agent_id", "name", "changes"}),
        "remove_agent_tool": ({"agent_id", "name", "wait"}, {"agent_id", "name"}),
        "test_agent_tool": (
            {"agent_id", "name", "arguments", "send", "confirm_write"},
            {"agent_id", "name", "arguments"},
        ),
        "list_openapi_operations": ({"spec"}, {"spec"}),
        "import_openapi_tools": (
            {"agent_id", "spec", "operations", "base_url", "replace", "wait"},
            {"agent_id", "spec", "operations"},
        ),
    }
    for name, (params, required) in expected.items():
        tool = listed[name]
        assert set(properties(tool)) == params, name
        assert set(tool.input_schema.get("required", [])) == required, name
    assert "doc_" in properties(listed["get_document"])["document_id"]["description"]
    assert "ses_" in properties(listed["get_session"])["session_id"]["description"]
    assert "timezone" in str(properties(listed["list_sessions"])["started_after"])


async def test_hints_say_which_tools_only_read_and_which_destroy(client: Client) -> None:
    listed = await tools(client)

    for name in READ_ONLY:
        annotations = listed[name].annotations
        assert annotations is not None and annotations.read_only_hint is True, name
    for name in DESTRUCTIVE:
        annotations = listed[name].annotations
        assert annotations is not None and annotations.destructive_hint is True, name
        assert not annotations.read_only_hint, name
    for name in WRITES:
        annotations = listed[name].annotations
        assert annotations is not None and not annotations.read_only_hint, name
    for name in ("mint_api_key", "mark_notification_read", "acknowledge_handoff"):
        annotations = listed[name].annotations
        assert annotations is not None and annotations.destructive_hint is False, name
    for name in ("upload_document", "mark_notification_read"):
        annotations = listed[name].annotations
        assert annotations is not None and annotations.idempotent_hint is True, name


async def test_every_tool_has_a_title_all_four_hints_and_a_dedented_description(client: Client) -> None:
    listed = await tools(client)

    assert len(listed) >= len(TOOLS)
    for name, tool in listed.items():  # every tool, so a tool added later is held to this too
        assert tool.title, name
        annotations = tool.annotations
        assert annotations is not None, name
        assert annotations.title == tool.title, name
        hints = (
            annotations.read_only_hint,
            annotations.destructive_hint,
            annotations.idempotent_hint,
            annotations.open_world_hint,
        )
        assert all(isinstance(hint, bool) for hint in hints), (name, hints)
        if annotations.read_only_hint:
            assert (annotations.destructive_hint, annotations.idempotent_hint) == (False, True), name
        description = tool.description or ""
        assert description == inspect.cleandoc(description), name
        assert not any(line.startswith(" ") for line in description.splitlines()), name


async def test_deleting_and_revoking_are_destructive_and_model_calls_reach_the_open_world(client: Client) -> None:
    listed = await tools(client)

    for name in (
        "delete_agent",
        "delete_document",
        "revoke_api_key",
        "update_agent",
        "upload_document",
        "update_agent_tool",
        "remove_agent_tool",
        "test_agent_tool",  # send=true makes a real call
        "import_openapi_tools",
    ):
        annotations = listed[name].annotations
        assert annotations is not None and annotations.destructive_hint is True, name
    for name in ("create_agent", "update_agent", "chat_with_agent", "add_agent_tool", "test_agent_tool"):
        annotations = listed[name].annotations
        assert annotations is not None and annotations.open_world_hint is True, name
    for name in ("pause_agent", "resume_agent", "delete_agent", "reingest_document"):
        annotations = listed[name].annotations
        assert annotations is not None and annotations.idempotent_hint is True, name


async def test_handoff_and_secret_tools_explain_themselves(client: Client) -> None:
    listed = await tools(client)

    assert "handoff" in (listed["acknowledge_handoff"].description or "")
    assert "Secrets are never shown" in (listed["list_api_keys"].description or "")
    assert "not its content" in (listed["get_document"].description or "")


async def test_errors_are_short_single_messages_without_internals(client: Client) -> None:
    agent = await call_as(client, "create_agent", {"spec": spec()}, Agent)
    unknown = "agt_01aaaaaaaaaaaaaaaaaaaaaaaa"
    failing: list[tuple[str, dict[str, Any]]] = [
        ("get_agent", {"agent_id": unknown}),
        ("create_agent", {"spec": spec()}),
        ("pause_agent", {"agent_id": agent.id}),
        ("update_agent", {"agent_id": agent.id, "change": {}}),
        ("list_agents", {"cursor": "not-a-cursor"}),
        ("get_document", {"document_id": "doc_01aaaaaaaaaaaaaaaaaaaaaaaa"}),
        ("upload_document", {"agent_id": agent.id, "document": {"name": "a", "format": "pdf", "base64": "!!"}}),
        ("revoke_api_key", {"key_id": "key_01aaaaaaaaaaaaaaaaaaaaaaaa"}),
        ("get_session", {"session_id": "ses_01aaaaaaaaaaaaaaaaaaaaaaaa"}),
        ("acknowledge_handoff", {"notification_id": "ntf_01aaaaaaaaaaaaaaaaaaaaaaaa"}),
        ("retry_delivery", {"delivery_id": "dlv_01aaaaaaaaaaaaaaaaaaaaaaaa"}),
    ]

    for name, arguments in failing:
        text = await call_error(client, name, arguments)
        assert text.startswith(f"Error executing tool {name}: "), text
        code = text.removeprefix(f"Error executing tool {name}: ").split(":")[0]
        assert code in {"not_found", "conflict", "invalid_state", "invalid_input"}, text
        assert "\n" not in text and len(text) < 200, text
        for leak in ("Traceback", 'File "', "sqlite", "oratio.", ".py"):
            assert leak not in text, text


async def test_argument_errors_name_the_field_without_a_traceback(client: Client) -> None:
    text = await call_error(client, "get_session", {"session_id": "not an id"})

    assert text.startswith("Error executing tool get_session: ")
    assert "session_id" in text
    assert "Traceback" not in text and 'File "' not in text
    assert len(text) < 500
