"""Tenant isolation as a property: random operations by two tenants through every door never cross over.

Hypothesis drives a state machine over one real platform served on 127.0.0.1. Each step picks a
door's operation (`tests/reliability/doors.py`), an actor, and whether to aim at the actor's own
records or the other tenant's. Each operation checks its own answer (the other tenant's ids read as
unknown; nothing of the other tenant's comes back; an API key never opens another tenant's agent);
an MCP call or read aimed at the actor's own record is first made, word for word, by the other
tenant, which must get `not_found` (so a leak through a cache or a stale index shows up at once);
and after every step both tenants' event logs are read on from their cursors: every new event is
the tenant's own, in order, and names nothing of the other tenant's.

Doors: MCP tools in memory and over streamable HTTP (each with its own admin's JWT), the agent
runtime (`/runtime/agents/{id}/invocations`, JSON and SSE) with API keys, `/api/v1/me`, the voice
bridge (`WS /voice/{agent_id}`, on the `scripted` speech backend) and the dashboard's JSON API.
The dashboard's `WS /ws/dashboard` is open for each tenant the whole run: the invariant checks what
it delivered like the event log, and at the end that it delivered exactly the tenant's log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import ExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import httpx2
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from mcp_server._principal import OperatorPrincipal
from mcp_server.server import build_server
from oratio.platform import Platform
from schemas import Event
from tests.reliability.dashboard_door import DashboardFeed, DashboardHttpDoor, dashboard_feed
from tests.reliability.doors import AdminHttpDoor, Door, McpDoor, Operation, RuntimeDoor, Step
from tests.reliability.ledger import Ledger, assert_nothing_of
from tests.reliability.voice_door import VoiceDoor
from tests.reliability.world import Served, Side, new_side, reliability_platform, serving

TEXTS = ("hello", "What is your refund policy?", "I want to talk to a person", "bye", "ünïcødé ✓ 🎧")


@dataclass
class Tenants:
    platform: Platform
    portal: BlockingPortal
    sides: tuple[Side, Side]
    ledgers: dict[str, Ledger]
    cursors: dict[str, int]
    doors: Sequence[Door]
    feeds: dict[str, DashboardFeed]
    """tenant id -> its dashboard WebSocket, open for the whole run."""
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    """(door, served | refused | unknown) -> how many steps went that way."""


@asynccontextmanager
async def mcp_over_http(url: str, token: str) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30.0) as http:
        async with Client(streamable_http_client(url, http_client=http)) as client:
            yield client


def doors(served: Served, sides: Sequence[Side], portal: BlockingPortal, stack: ExitStack) -> list[Door]:
    """Every door of this branch, with a client per tenant where the door is stateful."""
    in_memory = {
        side.tenant_id: stack.enter_context(
            portal.wrap_async_context_manager(Client(build_server(served.platform, OperatorPrincipal(side.principal))))
        )
        for side in sides
    }
    over_http = {
        side.tenant_id: stack.enter_context(
            portal.wrap_async_context_manager(mcp_over_http(served.mcp_url, side.token))
        )
        for side in sides
    }
    http = stack.enter_context(
        portal.wrap_async_context_manager(httpx.AsyncClient(base_url=served.base_url, timeout=30.0))
    )
    return [
        McpDoor("mcp", in_memory),
        McpDoor("mcp-http", over_http),
        RuntimeDoor(http),
        AdminHttpDoor(http),
        VoiceDoor(served.ws_base),
        DashboardHttpDoor(http),
    ]


@pytest.fixture
def tenants(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Tenants]:
    monkeypatch.setenv("ORATIO_VOICE_BACKEND", "scripted")  # the cascade over engines that need no models
    with ExitStack() as stack:
        platform = stack.enter_context(reliability_platform(tmp_path))
        sides = (new_side(platform, "Acme"), new_side(platform, "Globex"))
        served = stack.enter_context(serving(platform))
        portal = stack.enter_context(start_blocking_portal(backend="asyncio"))
        ledgers = {}
        for side in sides:
            [document] = platform.documents.list(side.principal, side.agent.id).items
            ledgers[side.tenant_id] = Ledger.of(side, document.id)
        cursors = {side.tenant_id: 0 for side in sides}
        feeds = {
            side.tenant_id: stack.enter_context(portal.wrap_async_context_manager(dashboard_feed(served.ws_base, side)))
            for side in sides
        }
        yield Tenants(platform, portal, sides, ledgers, cursors, doors(served, sides, portal, stack), feeds)


def new_events(tenants: Tenants, tenant_id: str) -> list[Event]:
    found: list[Event] = []
    while page := tenants.platform.backends.events.read(tenant_id, after=tenants.cursors[tenant_id], limit=200):
        found.extend(page)
        tenants.cursors[tenant_id] = page[-1].seq
    return found


def test_no_read_write_or_event_crosses_tenants(tenants: Tenants) -> None:
    # A door first, then one of its operations: each door gets its share whatever its size.
    by_door = [list(door.operations()) for door in tenants.doors]
    operations = st.sampled_from(by_door).flatmap(st.sampled_from)
    acme, globex = tenants.sides

    class Isolation(RuleBasedStateMachine):
        @rule(
            operation=operations,
            acts_for_globex=st.booleans(),
            cross=st.booleans(),
            pick=st.integers(min_value=0, max_value=1_000),
            text=st.sampled_from(TEXTS),
        )
        def act(self, operation: Operation, acts_for_globex: bool, cross: bool, pick: int, text: str) -> None:
            actor, other = (globex, acme) if acts_for_globex else (acme, globex)
            mine, theirs = tenants.ledgers[actor.tenant_id], tenants.ledgers[other.tenant_id]
            outcome = tenants.portal.call(operation.run, Step(actor, other, mine, theirs, cross, pick, text))
            tenants.outcomes[operation.door, outcome] += 1

        @invariant()
        def events_stay_home(self) -> None:
            for side, other in ((acme, globex), (globex, acme)):
                last = tenants.cursors[side.tenant_id]
                for event in new_events(tenants, side.tenant_id):
                    assert event.tenant_id == side.tenant_id
                    assert event.seq > last, f"seq {event.seq} after {last}: out of order or repeated"
                    last = event.seq
                    payload = event.model_dump(mode="json", exclude={"tenant_id"})
                    assert_nothing_of(tenants.ledgers[other.tenant_id], payload, f"{side.name}'s event log")
                check_feed(tenants, side, other)

    run_state_machine_as_test(
        Isolation,
        settings=settings(
            max_examples=30,
            stateful_step_count=15,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    # Every door served its own tenant and turned the other away (a vacuous run proves nothing).
    for door in tenants.doors:
        assert tenants.outcomes[door.name, "served"] > 0, tenants.outcomes
        assert tenants.outcomes[door.name, "unknown"] > 0 or door.name == "admin-http", tenants.outcomes
    # Whatever a later id of one tenant is, no earlier event of the other named it.
    for side, other in ((acme, globex), (globex, acme)):
        tenants.cursors[side.tenant_id] = 0
        logged = new_events(tenants, side.tenant_id)
        for event in logged:
            payload = event.model_dump(mode="json", exclude={"tenant_id"})
            assert_nothing_of(tenants.ledgers[other.tenant_id], payload, f"{side.name}'s whole event log")
        # The dashboard feed delivered exactly the tenant's log: nothing lost, repeated or foreign.
        feed = tenants.feeds[side.tenant_id]
        tenants.portal.call(feed.wait_for, logged[-1].seq)
        check_feed(tenants, side, other)
        delivered = [m for m in feed.received if m["type"] == "event"]
        assert [m["seq"] for m in delivered] == [e.seq for e in logged]
        assert [m["event"] for m in delivered] == [e.type for e in logged]
        for message in delivered:
            assert_nothing_of(tenants.ledgers[other.tenant_id], message, f"{side.name}'s whole dashboard feed")


def check_feed(tenants: Tenants, side: Side, other: Side) -> None:
    """What the tenant's dashboard WebSocket delivered since the last check: its own events, in order."""
    feed = tenants.feeds[side.tenant_id]
    assert not feed.closed, f"{side.name}'s dashboard feed closed: {feed.closed}"
    events = [m for m in feed.received if m["type"] == "event"]
    last = events[feed.checked - 1]["seq"] if feed.checked else 0
    for message in events[feed.checked :]:
        assert message["seq"] > last, f"dashboard seq {message['seq']} after {last}: out of order or repeated"
        last = message["seq"]
        assert_nothing_of(tenants.ledgers[other.tenant_id], message, f"{side.name}'s dashboard feed")
    feed.checked = len(events)
