"""The last per-process limits, shared across replicas (ORATIO_RATE_LIMIT_STATE=store; issue 23, item 1).

The AgentCreator's re-runs per tenant, an agent tool's calls per minute and the phone webhook per agent
each take from one bucket in the store, whichever replica checks: behind two replicas the limit is the
configured one, not twice it. Replicas are platforms on one store (`tests.support.peers`), on SQLite and
on DynamoDB (moto_server); the clock is the test's, so a refill is a clock step, never a wait.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from oratio.errors import RateLimited
from oratio.platform import Platform
from schemas import ToolCallStatus
from tests.support.peers import peer_platform
from tests.support.platforms import MAX_DOCUMENT_BYTES, FakeClock
from tests.support.tenants import Tenancy
from tests.support.tool_server import ToolServer, http_tool, tool_request, tool_server
from tests.voice_bridge.twilio_client import (
    AUTH_TOKEN,
    PUBLIC_URL,
    incoming_params,
    new_call_sid,
    voice_agent_for,
    webhook_path,
)
from voice_bridge.app import create_voice_app
from voice_bridge.scripted import scripted_backend
from voice_bridge.settings import VoiceSettings
from voice_bridge.twilio_auth import twilio_signature

pytestmark = pytest.mark.anyio

RUNS = 2
TOOL_CALLS = 3
PHONE_BURST = 3


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {
        "max_document_bytes": MAX_DOCUMENT_BYTES,
        "rate_limit_state": "store",
        "simulation_runs_per_minute": RUNS,
        "tool_calls_per_minute": TOOL_CALLS,
        "webhook_allowed_hosts": "127.0.0.1",
        "voice_public_url": PUBLIC_URL,
        "secrets_key": base64.b64encode(bytes(range(32))).decode(),  # the Twilio token is a tenant secret
    }


@pytest.fixture
def peer(platform: Platform, tmp_path: Path) -> Iterator[Platform]:
    with peer_platform(platform, tmp_path) as opened:
        yield opened


@pytest.fixture
def server() -> Iterator[ToolServer]:
    with tool_server() as running:
        yield running


async def test_re_runs_of_a_tenant_share_one_budget_across_replicas(
    platform: Platform, peer: Platform, acme: Tenancy, globex: Tenancy, clock: FakeClock
) -> None:
    for replica in [platform, peer][:RUNS]:
        async with replica.simulations.run_slot(acme.tenant_id):
            pass
    for replica in (platform, peer):  # per process, each would still have had a run left
        with pytest.raises(RateLimited) as refused:
            async with replica.simulations.run_slot(acme.tenant_id):
                pass
        assert refused.value.retry_after is not None and refused.value.retry_after > 0
    async with peer.simulations.run_slot(globex.tenant_id):  # another tenant's budget is its own
        pass
    clock.advance(timedelta(seconds=60))  # a minute: the whole budget again
    async with peer.simulations.run_slot(acme.tenant_id):
        pass
    async with platform.simulations.run_slot(acme.tenant_id):  # its refusal left no run "in progress"
        pass


async def test_a_tools_calls_per_minute_are_counted_once_across_replicas(
    platform: Platform, peer: Platform, server: ToolServer, clock: FakeClock
) -> None:
    tool = http_tool(server.url("/orders/{order_id}"))
    replicas = [platform, peer, platform]
    for n, replica in enumerate(replicas[:TOOL_CALLS]):
        outcome = await replica.actions.run(tool_request(tool, {"order_id": f"A{n}"}))
        assert outcome.status is ToolCallStatus.OK, outcome
    for replica in (platform, peer):
        refused = await replica.actions.run(tool_request(tool, {"order_id": "A9"}))
        assert refused.status is ToolCallStatus.REFUSED
        assert f"at most {TOOL_CALLS} times a minute" in refused.content["error"]
    assert len(server.requests) == TOOL_CALLS  # the refused calls never left
    other = await peer.actions.run(tool_request(tool, {"order_id": "B1"}, tenant="t2"))
    assert other.status is ToolCallStatus.OK  # another tenant's tool has its own allowance
    clock.advance(timedelta(seconds=60 / TOOL_CALLS))
    again = await peer.actions.run(tool_request(tool, {"order_id": "A10"}))
    assert again.status is ToolCallStatus.OK


@pytest.fixture
async def webhooks(platform: Platform, peer: Platform) -> AsyncIterator[list[httpx.AsyncClient]]:
    """The phone webhook served by each replica (the bridge in-process, mounted at /voice as `oratio serve` does)."""
    settings = VoiceSettings(phone_calls_per_minute=1, phone_calls_burst=PHONE_BURST)
    async with AsyncExitStack() as stack:
        clients = []
        for replica in (platform, peer):
            app = Starlette()
            voice = create_voice_app(replica, backend=scripted_backend(replica.engine), settings=settings)
            app.mount("/voice", voice)
            transport = httpx.ASGITransport(app=app)
            client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
            clients.append(await stack.enter_async_context(client))
        yield clients


async def test_phone_webhooks_of_an_agent_share_one_rate_across_replicas(
    platform: Platform, acme: Tenancy, webhooks: list[httpx.AsyncClient], clock: FakeClock
) -> None:
    agent = voice_agent_for(platform, acme)
    path = webhook_path(acme.tenant_id, agent.id)

    async def ring(client: httpx.AsyncClient) -> httpx.Response:
        params = incoming_params(new_call_sid())
        signature = twilio_signature(AUTH_TOKEN, PUBLIC_URL + path, list(params.items()))
        return await client.post(path, data=params, headers={"X-Twilio-Signature": signature})

    answers = [await ring(webhooks[n % 2]) for n in range(PHONE_BURST)]
    assert [a.status_code for a in answers] == [200] * PHONE_BURST, [a.text for a in answers]
    for client in webhooks:  # per process, each replica would have answered its own burst
        refused = await ring(client)
        assert refused.status_code == 429, refused.text
        assert int(refused.headers["Retry-After"]) >= 1
    clock.advance(timedelta(seconds=60))
    assert (await ring(webhooks[1])).status_code == 200
