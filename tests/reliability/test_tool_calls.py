"""Agents' HTTP tools under attack: SSRF (private addresses, redirects, DNS rebinding), hanging endpoints,
backtracking patterns. Real HTTP service on 127.0.0.1; DNS answers scripted so no test needs the network."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence

import anyio
import anyio.to_thread
import pytest

from oratio.actions.http_tool import HttpToolRunner, vet_http_tool
from oratio.actions.limits import ToolLimits, ToolLimitSettings
from oratio.actions.runner import PlatformActionRunner
from oratio.errors import InvalidInput
from oratio.notify.address_policy import WebhookPolicy
from schemas import HttpTool, ToolCallStatus
from tests.notify.servers import silent_listener
from tests.support.tool_server import DictSecrets, ToolServer, http_tool, tool_request, tool_server

pytestmark = pytest.mark.anyio

LOOPBACK = WebhookPolicy.of(False, "127.0.0.1")


class ScriptedDns:
    """Answers from a script per host, one answer list per lookup (the last repeats); records lookups."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self._answers = answers
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.calls.append(host)
        script = self._answers[host]
        return script.pop(0) if len(script) > 1 else script[0]


@pytest.fixture
def server() -> Iterator[ToolServer]:
    with tool_server() as running:
        yield running


def runner(policy: WebhookPolicy = LOOPBACK, resolve: ScriptedDns | None = None) -> HttpToolRunner:
    if resolve is None:
        return HttpToolRunner(DictSecrets({}), policy)
    return HttpToolRunner(DictSecrets({}), policy, resolve=resolve)


async def test_loopback_is_refused_unless_the_operator_allow_lists_it(server: ToolServer) -> None:
    tool = http_tool(server.url("/orders/{order_id}"))
    outcome = await runner(WebhookPolicy()).run(tool_request(tool, {"order_id": "A1"}))
    assert outcome.status is ToolCallStatus.REFUSED
    assert "private or reserved address" in outcome.summary and "address policy" in outcome.content["error"]
    assert server.requests == []
    allowed = await runner(LOOPBACK).run(tool_request(tool, {"order_id": "A1"}))
    assert allowed.status is ToolCallStatus.OK


@pytest.mark.parametrize("address", ["10.0.0.7", "169.254.169.254", "100.64.0.1", "::ffff:127.0.0.1", "fd00::1"])
async def test_a_name_resolving_to_a_private_address_is_refused_before_any_connection(address: str) -> None:
    dns = ScriptedDns({"orders.example.com": [[address]]})
    tool = http_tool("http://orders.example.com/orders/{order_id}")
    outcome = await runner(WebhookPolicy(), dns).run(tool_request(tool, {"order_id": "A1"}))
    assert outcome.status is ToolCallStatus.REFUSED and dns.calls == ["orders.example.com"]
    assert "/orders" not in outcome.summary


async def test_a_redirect_to_the_metadata_service_is_refused(server: ToolServer) -> None:
    server.redirects["/r"] = "http://169.254.169.254/latest/meta-data/iam/security-credentials/"
    outcome = await runner().run(tool_request(http_tool(server.url("/r")), {}))
    assert outcome.status is ToolCallStatus.REFUSED
    assert "169.254.169.254" in outcome.summary and "meta-data" not in outcome.summary
    assert len(server.requests) == 1


async def test_a_redirect_to_another_scheme_or_to_a_rebinding_name_is_refused(server: ToolServer) -> None:
    server.redirects["/file"] = "file:///etc/passwd"
    server.redirects["/rebind"] = "http://rebind.example.com/x"
    dns = ScriptedDns({"rebind.example.com": [["127.0.0.1"]]})
    for path in ("/file", "/rebind"):
        outcome = await runner(LOOPBACK, dns).run(tool_request(http_tool(server.url(path)), {}))
        assert outcome.status is ToolCallStatus.REFUSED, path
    assert dns.calls == ["rebind.example.com"]  # looked up, found private, never connected


async def test_the_connection_goes_to_the_checked_address_when_dns_changes_its_answer(server: ToolServer) -> None:
    """`tools.internal` answers 127.0.0.1 (allow-listed) to the check, then an unreachable address: the
    request reached the service only because it went to the address that was checked."""
    dns = ScriptedDns({"tools.internal": [["127.0.0.1"], ["10.255.255.1"]]})
    tool = http_tool(f"http://tools.internal:{server.port}/orders/{{order_id}}")
    outcome = await runner(WebhookPolicy.of(False, "tools.internal"), dns).run(tool_request(tool, {"order_id": "Z9"}))
    assert outcome.status is ToolCallStatus.OK and outcome.content["order_id"] == "Z9"
    assert dns.calls == ["tools.internal"]
    assert server.requests[0].headers["host"] == f"tools.internal:{server.port}"


async def test_arguments_never_choose_the_host() -> None:
    """The schema refuses a placeholder in the host; a definition that skipped validation is refused too."""
    tool = HttpTool.model_construct(**{**http_tool("http://placeholder.example/x").__dict__, "url": "http://{h}/x"})
    outcome = await runner().run(tool_request(tool, {"h": "169.254.169.254"}))
    assert outcome.status is ToolCallStatus.REFUSED and "host must be fixed" in outcome.summary


async def test_a_hanging_endpoint_is_cut_at_the_tools_timeout(server: ToolServer) -> None:
    tool = http_tool(server.url("/hang"), timeout_seconds=0.5)
    with anyio.fail_after(10):
        outcome = await runner().run(tool_request(tool, {}))
    assert outcome.status is ToolCallStatus.TIMEOUT and "within 0.5 seconds" in outcome.content["error"]
    assert len(server.requests) == 1


async def test_the_turn_deadline_cuts_before_the_tools_own_timeout() -> None:
    with silent_listener() as port:
        tool = http_tool(f"http://127.0.0.1:{port}/orders", timeout_seconds=30)
        with anyio.fail_after(10):
            outcome = await runner().run(tool_request(tool, {}, deadline_s=0.3))
    assert outcome.status is ToolCallStatus.TIMEOUT and "within 0.3 seconds" in outcome.content["error"]


async def test_a_backtracking_pattern_cannot_stall_a_call_and_bad_arguments_are_never_sent(
    server: ToolServer,
) -> None:
    actions = PlatformActionRunner(http=runner(), mcp=None, limits=ToolLimits(ToolLimitSettings()))
    schema = {"type": "object", "properties": {"order_id": {"type": "string", "pattern": "^(a+)+$"}}}
    tool = http_tool(server.url("/orders/{order_id}"), parameters=schema)
    with anyio.fail_after(10):
        outcome = await actions.run(tool_request(tool, {"order_id": "a" * 4000 + "!"}))
    assert outcome.status is ToolCallStatus.INVALID_ARGUMENTS and server.requests == []
    assert "a" * 100 not in outcome.summary + json.dumps(outcome.content)  # values are quoted cut short


def test_a_tool_is_vetted_against_the_address_policy_when_saved() -> None:
    dns = ScriptedDns({"metadata.example.com": [["169.254.169.254"]], "down.example.com": [[]]})
    with pytest.raises(
        InvalidInput,
        match=r"^tools\[0\]\.url: refused by the address policy \(the same as for webhooks\): tool host "
        r"metadata\.example\.com resolves to a priv",
    ):
        vet_http_tool(http_tool("http://metadata.example.com/orders/{order_id}"), "tools[0]", WebhookPolicy(), dns)
    with pytest.raises(InvalidInput, match=r"^tools\[0\]\.url: .*http or https"):
        vet_http_tool(
            HttpTool.model_construct(**{**http_tool("http://x.example/a").__dict__, "url": "ftp://x.example/a"}),
            "tools[0]",
            WebhookPolicy(),
            dns,
        )
    # Decided (issue 18, D2): a name that does not resolve is refused at save, so the admin learns of a typo
    # now rather than at a customer's first call (each call still checks again: DNS answers change).
    with pytest.raises(InvalidInput, match=r"^tools\[0\]\.url: the host down\.example\.com does not resolve") as caught:
        vet_http_tool(http_tool("http://down.example.com/orders/{order_id}"), "tools[0]", WebhookPolicy(), dns)
    assert caught.value.field == "tools[0].url"


async def test_hanging_tools_hold_only_the_tool_threads_and_a_queued_call_still_ends_at_its_deadline(
    server: ToolServer,
) -> None:
    tools = HttpToolRunner(DictSecrets({}), LOOPBACK, threads=1)
    held = http_tool(server.url("/hang"), name="slow_tool", timeout_seconds=10)
    queued = http_tool(server.url("/text"), timeout_seconds=0.5)
    outcomes: list[ToolCallStatus] = []

    async def hold() -> None:
        outcomes.append((await tools.run(tool_request(held, {}))).status)

    with anyio.fail_after(20):
        async with anyio.create_task_group() as group:
            group.start_soon(hold)
            assert await anyio.to_thread.run_sync(server.wait_for, 1)  # the loop's own threads are free
            late = await tools.run(tool_request(queued, {}))
            server.release.set()
    assert late.status is ToolCallStatus.TIMEOUT and outcomes == [ToolCallStatus.OK]
    assert [r.path for r in server.requests] == ["/hang"]  # the queued call never went out late
