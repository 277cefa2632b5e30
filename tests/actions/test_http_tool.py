"""HttpToolRunner against a real HTTP service on 127.0.0.1 (allow-listed by the operator, as on-premise)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from oratio.actions.http_tool import HttpToolRunner, preview
from oratio.actions.openapi import import_operations
from oratio.actions.schema_check import REQUEST_BODY_MARKER, check_http_tool
from oratio.errors import InvalidInput
from oratio.notify.address_policy import WebhookPolicy
from schemas import HttpTool, ToolCallStatus
from tests.net import free_port
from tests.support.tool_server import DictSecrets, ToolServer, http_tool, tool_request, tool_server

pytestmark = pytest.mark.anyio

TOKEN = "tok_9f8E7d6C5b4A3z2Y1x0W"
LOOPBACK = WebhookPolicy.of(False, "127.0.0.1")
CORPUS = Path(__file__).parent / "openapi_corpus"


@pytest.fixture
def server() -> Iterator[ToolServer]:
    with tool_server() as running:
        yield running


@pytest.fixture
def secrets() -> DictSecrets:
    return DictSecrets({("t1", "ORDERS_TOKEN"): TOKEN})


@pytest.fixture
def runner(secrets: DictSecrets) -> HttpToolRunner:
    return HttpToolRunner(secrets, LOOPBACK)


async def test_a_lookup_fills_the_path_encoded_and_the_rest_goes_in_the_query(
    server: ToolServer, runner: HttpToolRunner
) -> None:
    tool = http_tool(server.url("/orders/{order_id}"))
    with anyio.fail_after(10):
        outcome = await runner.run(tool_request(tool, {"order_id": "A1/../admin?x=1", "verbose": True, "n": 3}))
    assert outcome.status is ToolCallStatus.OK
    [seen] = server.requests
    assert seen.method == "GET" and seen.path == "/orders/A1%2F..%2Fadmin%3Fx%3D1"
    assert seen.query == {"verbose": ["true"], "n": ["3"]}
    assert outcome.content["status"] == "shipped"  # JSON answers reach the model parsed
    assert outcome.summary.startswith("HTTP 200, ") and len(outcome.summary) <= 500


async def test_a_write_posts_the_other_arguments_as_a_json_body(server: ToolServer, runner: HttpToolRunner) -> None:
    tool = http_tool(server.url("/returns"), name="start_return", method="POST", write=True)
    with anyio.fail_after(10):
        outcome = await runner.run(tool_request(tool, {"order_id": "A123", "reason": "damaged"}))
    assert outcome.status is ToolCallStatus.OK
    [seen] = server.requests
    assert json.loads(seen.body) == {"order_id": "A123", "reason": "damaged"}
    assert seen.headers["content-type"] == "application/json" and seen.query == {}
    assert outcome.content == {"received": {"order_id": "A123", "reason": "damaged"}}


@pytest.mark.parametrize("value", [".", "..", "", {"nested": 1}])
async def test_a_path_value_that_would_change_the_path_is_invalid(
    server: ToolServer, runner: HttpToolRunner, value: Any
) -> None:
    tool = http_tool(server.url("/orders/{order_id}"))
    outcome = await runner.run(tool_request(tool, {"order_id": value}))
    assert outcome.status is ToolCallStatus.INVALID_ARGUMENTS and "order_id" in outcome.content["error"]
    assert server.requests == []


async def test_secrets_fill_headers_at_call_time_and_never_come_back(
    server: ToolServer, runner: HttpToolRunner, secrets: DictSecrets
) -> None:
    tool = http_tool(server.url("/headers"), headers={"Authorization": "Bearer {{secret:ORDERS_TOKEN}}"})
    outcome = await runner.run(tool_request(tool, {}))
    [seen] = server.requests
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert secrets.asked == [("t1", "ORDERS_TOKEN")]
    # The endpoint echoed the header: the model and the transcript see it masked.
    assert TOKEN not in json.dumps(outcome.content) and TOKEN not in outcome.summary
    assert outcome.content["authorization"] == "Bearer [redacted]"


async def test_a_missing_secret_is_an_error_naming_it_and_nothing_is_sent(
    server: ToolServer, runner: HttpToolRunner
) -> None:
    tool = http_tool(server.url("/headers"), headers={"X-Key": "{{secret:NOT_SET}}"})
    outcome = await runner.run(tool_request(tool, {}))
    assert outcome.status is ToolCallStatus.ERROR and "NOT_SET" in outcome.summary
    assert "unavailable" in outcome.content["error"] and server.requests == []


async def test_an_answer_over_the_cap_is_cut_with_a_note(server: ToolServer, runner: HttpToolRunner) -> None:
    tool = http_tool(server.url("/big"), max_response_bytes=1000, parameters={"type": "object"})
    outcome = await runner.run(tool_request(tool, {"n": 5000}))
    assert outcome.status is ToolCallStatus.OK
    assert outcome.content == "x" * 1000 + "\n[cut at 1000 bytes]"
    assert "[cut at 1000 bytes]" in outcome.summary


async def test_text_and_broken_json_reach_the_model_as_text(server: ToolServer, runner: HttpToolRunner) -> None:
    text = await runner.run(tool_request(http_tool(server.url("/text")), {}))
    broken = await runner.run(tool_request(http_tool(server.url("/badjson")), {}))
    assert (text.status, text.content) == (ToolCallStatus.OK, "hello from the tool")
    assert (broken.status, broken.content) == (ToolCallStatus.OK, "{not json")


async def test_a_failing_endpoint_gives_the_status_and_an_excerpt_never_the_url_path(
    server: ToolServer, runner: HttpToolRunner
) -> None:
    tool = http_tool(server.url("/fail?api_key=in-the-query"))
    outcome = await runner.run(tool_request(tool, {}))
    assert outcome.status is ToolCallStatus.ERROR
    assert outcome.content["status"] == 500 and "HTTP 500" in outcome.content["error"]
    assert "database exploded" in outcome.summary
    assert "in-the-query" not in outcome.summary + json.dumps(outcome.content)


async def test_an_unreachable_endpoint_is_an_error_naming_only_the_origin(runner: HttpToolRunner) -> None:
    port = free_port()
    tool = http_tool(f"http://127.0.0.1:{port}/secret/path?token=abc")
    outcome = await runner.run(tool_request(tool, {}))
    assert outcome.status is ToolCallStatus.ERROR
    assert outcome.summary == f"error: http://127.0.0.1:{port}: connection refused"


async def test_a_response_schema_mismatch_is_reported_to_the_model_not_fatal(
    server: ToolServer, runner: HttpToolRunner
) -> None:
    schema = {"type": "object", "required": ["eta"], "properties": {"eta": {"type": "string"}}}
    tool = http_tool(server.url("/orders/{order_id}"), response_schema=schema)
    outcome = await runner.run(tool_request(tool, {"order_id": "A123"}))
    assert outcome.status is ToolCallStatus.OK
    assert outcome.content["result"]["order_id"] == "A123"
    assert "'eta' is a required property" in outcome.content["note"]


async def test_a_same_origin_redirect_is_followed_with_the_headers(server: ToolServer, runner: HttpToolRunner) -> None:
    server.redirects["/old"] = "/orders/A123"
    tool = http_tool(server.url("/old"), headers={"Authorization": "Bearer {{secret:ORDERS_TOKEN}}"})
    outcome = await runner.run(tool_request(tool, {}))
    assert outcome.status is ToolCallStatus.OK and outcome.content["order_id"] == "A123"
    assert [r.path for r in server.requests] == ["/old", "/orders/A123"]
    assert server.requests[1].headers["authorization"] == f"Bearer {TOKEN}"


async def test_a_redirect_to_another_origin_drops_the_admins_headers(runner: HttpToolRunner) -> None:
    with tool_server() as first, tool_server() as second:
        first.redirects["/moved"] = second.url("/orders/B7")
        tool = http_tool(first.url("/moved"), headers={"Authorization": "Bearer {{secret:ORDERS_TOKEN}}"})
        outcome = await runner.run(tool_request(tool, {}))
        assert outcome.status is ToolCallStatus.OK and outcome.content["order_id"] == "B7"
        [elsewhere] = second.requests
        assert "authorization" not in elsewhere.headers


async def test_a_redirect_loop_stops_after_three(server: ToolServer, runner: HttpToolRunner) -> None:
    server.redirects["/loop"] = "/loop"
    outcome = await runner.run(tool_request(http_tool(server.url("/loop")), {}))
    assert outcome.status is ToolCallStatus.ERROR and "more than 3 redirects" in outcome.summary
    assert len(server.requests) == 4


async def test_the_admin_cannot_set_framing_headers(server: ToolServer, runner: HttpToolRunner) -> None:
    tool = http_tool(server.url("/headers"), headers={"Host": "admin.internal", "Transfer-Encoding": "chunked"})
    outcome = await runner.run(tool_request(tool, {}))
    assert outcome.status is ToolCallStatus.OK
    assert outcome.content["host"] == f"127.0.0.1:{server.port}" and "transfer-encoding" not in outcome.content


def test_a_dry_run_shows_what_would_be_sent_with_secret_references_unresolved() -> None:
    tool = http_tool(
        "https://orders.example.com/orders/{order_id}",
        method="PATCH",
        headers={"Authorization": "Bearer {{secret:ORDERS_TOKEN}}"},
    )
    shown = preview(tool, {"order_id": "A 1", "reason": "late"})
    assert shown["method"] == "PATCH" and shown["url"] == "https://orders.example.com/orders/A%201"
    assert shown["headers"]["Authorization"] == "Bearer {{secret:ORDERS_TOKEN}}"
    assert shown["body"] == {"reason": "late"}
    with pytest.raises(InvalidInput, match="order_id is required"):
        preview(tool, {})


async def test_an_argument_cannot_override_a_query_parameter_the_admin_fixed(
    server: ToolServer, runner: HttpToolRunner
) -> None:
    tool = http_tool(server.url("/orders/{order_id}?scope=read&region={region}"))
    outcome = await runner.run(tool_request(tool, {"order_id": "A1", "region": "eu", "scope": "admin"}))
    assert outcome.status is ToolCallStatus.INVALID_ARGUMENTS and "scope is fixed" in outcome.content["error"]
    assert server.requests == []
    fine = await runner.run(tool_request(tool, {"order_id": "A1", "region": "eu west", "page": 2}))
    assert fine.status is ToolCallStatus.OK
    assert server.requests[0].query == {"scope": ["read"], "region": ["eu west"], "page": ["2"]}


async def test_the_transcript_summary_masks_tokens_in_the_answer(server: ToolServer, runner: HttpToolRunner) -> None:
    tool = http_tool(server.url("/headers"), headers={"X-Session": "sess_8Hq2LmZ0pR7tV4wX9yB3nC6d"})
    outcome = await runner.run(tool_request(tool, {}))
    assert outcome.content["x-session"] == "sess_8Hq2LmZ0pR7tV4wX9yB3nC6d"  # the model reads the answer as is
    assert "8Hq2LmZ0pR7tV4wX9yB3nC6d" not in outcome.summary and "[redacted]" in outcome.summary


def imported(document: str, operation: str, url: str) -> HttpTool:
    """An operation imported from the OpenAPI corpus, pointed at the loopback service (on-premise)."""
    [tool] = import_operations((CORPUS / document).read_text(), [operation])
    return tool.model_copy(update={"url": url, "headers": {}})


async def test_an_imported_array_body_is_sent_as_the_whole_body_and_the_preview_shows_the_same(
    server: ToolServer, runner: HttpToolRunner
) -> None:
    tool = imported("orders31.json", "PUT /orders/{id}/lines", server.url("/returns?order={id}"))
    assert tool.parameters[REQUEST_BODY_MARKER] == "body"
    check_http_tool(tool, "tools[0]")
    lines = [{"sku": "K-1", "qty": 2}, {"sku": "K-2", "qty": 1}]
    arguments = {"id": "A1", "body": lines}

    with anyio.fail_after(10):
        outcome = await runner.run(tool_request(tool, arguments))

    assert outcome.status is ToolCallStatus.OK and outcome.content == {"received": lines}
    [seen] = server.requests
    assert (seen.method, seen.query, json.loads(seen.body)) == ("PUT", {"order": ["A1"]}, lines)
    assert seen.headers["content-type"] == "application/json"
    shown = preview(tool, arguments)
    assert (shown["method"], shown["body"]) == ("PUT", lines)
    assert shown["url"] == server.url("/returns?order=A1")


async def test_an_imported_body_that_clashes_with_a_parameter_is_sent_unwrapped(
    server: ToolServer, runner: HttpToolRunner
) -> None:
    tool = imported("petstore30.yaml", "adoptPet", server.url("/returns?pet={petId}&notify={notify}"))
    body = {"petId": "p-in-body", "customer": "c-7"}

    with anyio.fail_after(10):
        outcome = await runner.run(tool_request(tool, {"petId": "p-9", "notify": True, "body": body}))

    assert outcome.status is ToolCallStatus.OK
    [seen] = server.requests
    assert json.loads(seen.body) == body  # not {"body": {...}}
    assert seen.query == {"pet": ["p-9"], "notify": ["true"]}
    assert preview(tool, {"petId": "p-9", "notify": True, "body": body})["body"] == body


async def test_a_marked_body_left_out_sends_no_body_and_other_arguments_go_in_the_query(
    server: ToolServer, runner: HttpToolRunner
) -> None:
    parameters = {
        "type": "object",
        "properties": {"body": {"type": "array"}, "dry_run": {"type": "boolean"}},
        REQUEST_BODY_MARKER: "body",
    }
    tool = http_tool(server.url("/returns"), method="PATCH", parameters=parameters)

    with anyio.fail_after(10):
        await runner.run(tool_request(tool, {"dry_run": True}))

    [seen] = server.requests
    assert (seen.body, seen.query) == (b"", {"dry_run": ["true"]})
    assert "content-type" not in seen.headers
