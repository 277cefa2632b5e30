"""Live updates: `subscriptions/listen` streams notified from the event log, tenant by tenant.

Tests never sleep: they wait for the notification itself, bounded by `anyio.fail_after`. The tailer
polls every `POLL` seconds, so a notification normally arrives within one poll.
"""

from __future__ import annotations

import socket
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import anyio
import httpx2
import pytest
import uvicorn
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ResourceUpdated, Subscription
from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import ServerEvent, ToolsListChanged
from pydantic import SecretStr

from mcp_server._principal import TENANT_CLAIM, OperatorPrincipal, TokenPrincipal
from mcp_server.http import create_mcp_http_app
from mcp_server.live import Change, EventTailer, LiveUpdates, TenantBus, changes_for
from mcp_server.server import build_server
from oratio.config import Settings
from oratio.platform import Platform, open_platform
from oratio.services.live import EventTail, TailSettings
from oratio.store.ports import EventCursor
from schemas import (
    Agent,
    AgentSpec,
    AgentStatus,
    AgentUpdate,
    Channel,
    CreateAgent,
    Event,
    EventType,
    NewEvent,
    NotificationType,
    Principal,
    Role,
    Scope,
)
from tests.support.platforms import JWT_SECRET
from tests.support.tenants import SOP, new_principal

pytestmark = pytest.mark.anyio

POLL = 0.05
WAIT = 10.0
"""Upper bound on any wait: generous for a loaded CI machine; a passing run waits about one poll."""


def make_agent(platform: Platform, principal: Principal, name: str = "Support") -> Agent:
    return platform.agents.create(principal, CreateAgent(spec=AgentSpec(name=name, sop=SOP)))


async def next_event(subscription: Subscription) -> ServerEvent:
    with anyio.fail_after(WAIT):
        return await anext(subscription)


async def events_until(subscription: Subscription, wanted: ServerEvent) -> list[ServerEvent]:
    """Every event up to and including `wanted`, in arrival order."""
    seen: list[ServerEvent] = []
    while not seen or seen[-1] != wanted:
        seen.append(await next_event(subscription))
    return seen


@contextmanager
def acting_as(principal: Principal) -> Iterator[None]:
    """Carry `principal`'s verified admin token, exactly as the HTTP transport's auth middleware does.

    In-process requests run in the caller's context, so everything started inside (a listen stream
    included) is that tenant's: one server then serves several tenants, as over HTTP.
    """
    token = AccessToken(
        token="verified",
        client_id=principal.subject,
        subject=principal.subject,
        scopes=sorted(s.value for s in principal.scopes),
        claims={TENANT_CLAIM: principal.tenant_id},
    )
    reset = auth_context_var.set(AuthenticatedUser(token))
    try:
        yield
    finally:
        auth_context_var.reset(reset)


@asynccontextmanager
async def listening(client: Client, principal: Principal, *uris: str) -> AsyncIterator[Subscription]:
    with acting_as(principal):
        async with client.listen(resource_subscriptions=uris) as subscription:
            yield subscription


@pytest.fixture
def shared(platform: Platform) -> MCPServer:
    """One server for every tenant, the principal coming from each request's token (as over HTTP)."""
    return build_server(platform, TokenPrincipal(), live_poll_seconds=POLL)


@pytest.fixture
async def acme_client(platform: Platform, acme: Principal) -> AsyncIterator[Client]:
    async with Client(build_server(platform, OperatorPrincipal(acme), live_poll_seconds=POLL)) as connected:
        yield connected


# -- through MCP ---------------------------------------------------------------------------------


async def test_agent_update_through_the_service_notifies(
    acme_client: Client, platform: Platform, acme: Principal
) -> None:
    agent = make_agent(platform, acme)
    uri = f"oratio://agents/{agent.id}"
    async with acme_client.listen(resource_subscriptions=[uri]) as subscription:
        assert subscription.honored.resource_subscriptions == [uri]
        await anyio.to_thread.run_sync(lambda: platform.agents.update(acme, agent.id, AgentUpdate(description="New")))
        assert await next_event(subscription) == ResourceUpdated(uri)
        body = await acme_client.read_resource(uri)
        assert '"description":"New"' in str(body.contents[0])


async def test_agent_update_through_a_tool_notifies(acme_client: Client, platform: Platform, acme: Principal) -> None:
    agent = make_agent(platform, acme)
    uris = [f"oratio://agents/{agent.id}", "oratio://agents"]
    async with acme_client.listen(resource_subscriptions=uris) as subscription:
        result = await acme_client.call_tool("update_agent", {"agent_id": agent.id, "change": {"description": "x"}})
        assert not result.is_error
        seen = {await next_event(subscription), await next_event(subscription)}
        assert seen == {ResourceUpdated(uri) for uri in uris}


async def test_change_from_a_second_platform_instance_notifies(
    acme_client: Client, platform: Platform, acme: Principal, tmp_path: Path
) -> None:
    """Another platform on the same SQLite file is another writer: only the event log connects them."""
    agent = make_agent(platform, acme)
    uri = f"oratio://agents/{agent.id}"
    async with acme_client.listen(resource_subscriptions=[uri]) as subscription:
        settings = Settings(data_dir=tmp_path, jwt_secret=SecretStr(JWT_SECRET))

        def elsewhere() -> None:
            with open_platform(settings) as other:
                other.agents.update(acme, agent.id, AgentUpdate(description="changed elsewhere"))

        await anyio.to_thread.run_sync(elsewhere)
        assert await next_event(subscription) == ResourceUpdated(uri)
    assert platform.agents.get(acme, agent.id).spec.description == "changed elsewhere"


OTHER_PROCESS = textwrap.dedent(
    """
    import sys
    from pydantic import SecretStr
    from oratio.config import Settings
    from oratio.platform import open_platform
    from schemas import AgentUpdate, Principal, Scope

    data_dir, tenant_id, subject, agent_id = sys.argv[1:]
    operator = Principal(tenant_id=tenant_id, subject=subject, scopes=frozenset({Scope.ADMIN}))
    with open_platform(Settings(data_dir=data_dir, jwt_secret=SecretStr("x" * 40))) as platform:
        platform.agents.update(operator, agent_id, AgentUpdate(description="changed by another process"))
    """
)


async def test_change_from_another_process_notifies(
    acme_client: Client, platform: Platform, acme: Principal, tmp_path: Path
) -> None:
    agent = make_agent(platform, acme)
    uri = f"oratio://agents/{agent.id}"
    async with acme_client.listen(resource_subscriptions=[uri, "oratio://agents"]) as subscription:
        with anyio.fail_after(60):
            done = await anyio.run_process(
                [sys.executable, "-c", OTHER_PROCESS, str(tmp_path), acme.tenant_id, acme.subject, agent.id],
                check=False,
            )
        assert done.returncode == 0, done.stderr.decode()
        seen = {await next_event(subscription), await next_event(subscription)}
        assert seen == {ResourceUpdated(uri), ResourceUpdated("oratio://agents")}
    assert platform.agents.get(acme, agent.id).spec.description == "changed by another process"


async def test_sessions_and_notifications_notify(acme_client: Client, platform: Platform, acme: Principal) -> None:
    agent = make_agent(platform, acme)
    platform.agents.transition(acme.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)  # takes sessions
    async with acme_client.listen(resource_subscriptions=["oratio://sessions/live"]) as live:
        session = await anyio.to_thread.run_sync(
            lambda: platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
        )
        assert await next_event(live) == ResourceUpdated("oratio://sessions/live")

    uris = [f"oratio://sessions/{session.id}", "oratio://notifications"]
    async with acme_client.listen(resource_subscriptions=uris) as subscription:

        def customer_asks_for_a_person() -> None:
            platform.sessions.append_turn(acme.tenant_id, session.id, Role.CUSTOMER, "A person, please")
            platform.notifications.notify(acme.tenant_id, NotificationType.HANDOFF, "Handoff", session_id=session.id)

        await anyio.to_thread.run_sync(customer_asks_for_a_person)
        seen = {await next_event(subscription), await next_event(subscription)}
        assert seen == {ResourceUpdated(uri) for uri in uris}


async def test_history_is_not_replayed(acme_client: Client, platform: Platform, acme: Principal) -> None:
    """A stream starts at the log's head: changes made before it opened are not announced."""
    old = make_agent(platform, acme, "Old")
    platform.agents.update(acme, old.id, AgentUpdate(description="before listening"))
    new = make_agent(platform, acme, "New")
    uris = [f"oratio://agents/{old.id}", f"oratio://agents/{new.id}"]
    async with acme_client.listen(resource_subscriptions=uris) as subscription:
        await anyio.to_thread.run_sync(lambda: platform.agents.update(acme, new.id, AgentUpdate(description="now")))
        assert await next_event(subscription) == ResourceUpdated(f"oratio://agents/{new.id}")


async def test_other_tenants_changes_never_reach_a_listener(
    shared: MCPServer, platform: Platform, acme: Principal, globex: Principal
) -> None:
    """Globex listens on one server with Acme, even on Acme's agent URI: it hears only its own changes.

    Acme's own listener proves Acme's change was published before Globex changes anything; events
    on one stream arrive in order, so anything leaked to Globex would come before Globex's own.
    """
    acme_agent = make_agent(platform, acme)
    acme_uri = f"oratio://agents/{acme_agent.id}"
    async with Client(shared) as acme_side, Client(shared) as globex_side:
        async with (
            listening(acme_side, acme, acme_uri) as acme_stream,
            listening(globex_side, globex, acme_uri, "oratio://agents", "oratio://notifications") as globex_stream,
        ):
            await anyio.to_thread.run_sync(lambda: platform.agents.update(acme, acme_agent.id, AgentUpdate(sop=SOP)))
            assert await next_event(acme_stream) == ResourceUpdated(acme_uri)

            await anyio.to_thread.run_sync(
                lambda: platform.notifications.notify(globex.tenant_id, NotificationType.SYSTEM, "Globex only")
            )
            assert await next_event(globex_stream) == ResourceUpdated("oratio://notifications")


async def test_same_uri_for_two_tenants_notifies_only_the_owner(
    shared: MCPServer, platform: Platform, acme: Principal, globex: Principal
) -> None:
    async with Client(shared) as acme_side, Client(shared) as globex_side:
        async with (
            listening(acme_side, acme, "oratio://notifications") as acme_stream,
            listening(globex_side, globex, "oratio://notifications", "oratio://agents") as globex_stream,
        ):
            await anyio.to_thread.run_sync(
                lambda: platform.notifications.notify(acme.tenant_id, NotificationType.HANDOFF, "Acme handoff")
            )
            assert await next_event(acme_stream) == ResourceUpdated("oratio://notifications")
            await anyio.to_thread.run_sync(lambda: make_agent(platform, globex))
            assert await next_event(globex_stream) == ResourceUpdated("oratio://agents")


async def test_listener_without_the_scope_hears_nothing_of_that_kind(
    shared: MCPServer, platform: Platform, acme: Principal
) -> None:
    agents_only = acme.model_copy(update={"scopes": frozenset({Scope.AGENTS_READ})})
    async with Client(shared) as client:
        async with listening(client, agents_only, "oratio://notifications", "oratio://agents") as stream:

            def changes() -> None:
                platform.notifications.notify(acme.tenant_id, NotificationType.HANDOFF, "Needs sessions:read")
                make_agent(platform, acme)

            await anyio.to_thread.run_sync(changes)
            assert await next_event(stream) == ResourceUpdated("oratio://agents")


async def test_listen_without_a_principal_is_refused(shared: MCPServer) -> None:
    async with Client(shared) as client:
        with pytest.raises(MCPError, match="not authenticated"):
            async with client.listen(resource_subscriptions=["oratio://agents"]):
                pass  # pragma: no cover


async def test_server_stops_cleanly_with_open_streams(platform: Platform, acme: Principal) -> None:
    server = build_server(platform, OperatorPrincipal(acme), live_poll_seconds=POLL)
    with anyio.fail_after(WAIT):
        async with Client(server) as first, Client(server) as second:
            async with first.listen(resource_subscriptions=["oratio://agents"]) as one:
                async with second.listen(resource_subscriptions=["oratio://agents"]) as two:
                    await anyio.to_thread.run_sync(lambda: make_agent(platform, acme))
                    assert await next_event(one) == ResourceUpdated("oratio://agents")
                    assert await next_event(two) == ResourceUpdated("oratio://agents")


async def test_over_http_each_token_hears_only_its_own_tenant(platform: Platform) -> None:
    """The real door: `oratio serve`'s MCP app on a socket, one server for both tenants' admin tokens."""
    tokens: dict[str, str] = {}
    for name in ("Acme", "Globex"):
        tenant = platform.tenants.create_tenant(name)
        tokens[name] = platform.access.token_for(platform.tenants.create_admin(tenant.tenant_id, "o@example.com", "O"))
    globex_id = platform.access.admin_principal(tokens["Globex"]).tenant_id
    acme = platform.access.admin_principal(tokens["Acme"])
    agent = make_agent(platform, acme)
    uri = f"oratio://agents/{agent.id}"

    def connect(port: int, name: str) -> Client:
        headers = {"Authorization": f"Bearer {tokens[name]}"}
        http = httpx2.AsyncClient(headers=headers, timeout=WAIT)
        return Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http))

    with socket.socket() as sock, anyio.fail_after(WAIT * 3):
        sock.bind(("127.0.0.1", 0))
        sock.listen()  # connections queue until uvicorn accepts them: no waiting for it to start
        port = sock.getsockname()[1]
        app = create_mcp_http_app(platform, public_url=f"http://127.0.0.1:{port}", host="127.0.0.1", port=port)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(server.serve, [sock])
            try:
                async with connect(port, "Acme") as acme_side, connect(port, "Globex") as globex_side:
                    with pytest.raises(MCPError, match="not_found"):
                        await globex_side.read_resource(uri)
                    globex_uris = [uri, "oratio://agents", "oratio://notifications"]
                    async with (
                        acme_side.listen(resource_subscriptions=[uri]) as acme_stream,
                        globex_side.listen(resource_subscriptions=globex_uris) as globex_stream,
                    ):
                        change = AgentUpdate(sop=SOP)
                        await anyio.to_thread.run_sync(lambda: platform.agents.update(acme, agent.id, change))
                        assert await next_event(acme_stream) == ResourceUpdated(uri)
                        await anyio.to_thread.run_sync(
                            lambda: platform.notifications.notify(globex_id, NotificationType.SYSTEM, "Globex only")
                        )
                        assert await next_event(globex_stream) == ResourceUpdated("oratio://notifications")
            finally:
                server.should_exit = True


# -- the pieces, driven by hand --------------------------------------------------------------


def event(type_: EventType, subject: str, seq: int = 1) -> Event:
    return Event(tenant_id="ten_1", type=type_, subject=subject, seq=seq)


def test_events_map_to_resource_uris() -> None:
    assert changes_for(event(EventType.AGENT_STATUS, "agt_1")) == (
        Change("oratio://agents/agt_1", Scope.AGENTS_READ),
        Change("oratio://agents", Scope.AGENTS_READ),
    )
    assert changes_for(event(EventType.SESSION_TURN, "ses_1")) == (
        Change("oratio://sessions/ses_1", Scope.SESSIONS_READ),
        Change("oratio://sessions/ses_1/events", Scope.SESSIONS_READ),
        Change("oratio://sessions/live", Scope.SESSIONS_READ),
    )
    assert changes_for(event(EventType.NOTIFICATION_UPDATED, "ntf_1")) == (
        Change("oratio://notifications", Scope.SESSIONS_READ),
    )
    for quiet in (EventType.DOCUMENT_ADDED, EventType.KEY_MINTED, EventType.ERROR):
        assert changes_for(event(quiet, "x_1")) == ()


class Collector:
    def __init__(self) -> None:
        self.events: list[ServerEvent] = []

    def __call__(self, event: ServerEvent) -> None:
        self.events.append(event)


async def test_tailer_follows_only_tenants_with_listeners(platform: Platform, acme: Principal) -> None:
    globex = new_principal(platform, "Globex")
    bus = TenantBus(OperatorPrincipal(acme))
    tailer = EventTailer(EventTail(platform.backends.events), bus)
    heard = Collector()
    bus.subscribe(heard)
    agent = make_agent(platform, acme)

    await tailer.poll()  # nobody followed: nothing is read
    assert tailer.tenants == frozenset() and heard.events == []

    await tailer.follow(acme.tenant_id)
    await tailer.follow(acme.tenant_id)  # a second stream of the same tenant
    await tailer.poll()
    assert heard.events == []  # the creation happened before the follow: no replay

    platform.agents.update(acme, agent.id, AgentUpdate(description="a"))
    platform.agents.update(acme, agent.id, AgentUpdate(description="b"))
    make_agent(platform, globex)
    await tailer.poll()
    # Two updates, one announcement per URI; Globex's agent is neither read nor announced.
    assert heard.events == [ResourceUpdated(f"oratio://agents/{agent.id}"), ResourceUpdated("oratio://agents")]
    assert tailer.tenants == {acme.tenant_id}

    tailer.unfollow(acme.tenant_id)
    assert tailer.tenants == {acme.tenant_id}
    tailer.unfollow(acme.tenant_id)
    assert tailer.tenants == frozenset()


async def test_bus_stamps_direct_publishes_with_the_publishers_tenant(platform: Platform, acme: Principal) -> None:
    globex = new_principal(platform, "Globex")
    bus = TenantBus(TokenPrincipal())
    acme_heard, globex_heard, anonymous = Collector(), Collector(), Collector()
    with acting_as(acme):
        bus.subscribe(acme_heard)
    with acting_as(globex):
        unsubscribe = bus.subscribe(globex_heard)
    bus.subscribe(anonymous)

    with acting_as(acme):
        await bus.publish(ResourceUpdated("oratio://agents"))
    await bus.publish(ResourceUpdated("oratio://agents"))  # outside a request: no tenant, dropped
    await bus.publish(ToolsListChanged())  # carries nothing: everyone with a principal hears it
    unsubscribe()
    unsubscribe()  # idempotent
    with acting_as(globex):
        await bus.publish(ResourceUpdated("oratio://notifications"))

    assert acme_heard.events == [ResourceUpdated("oratio://agents"), ToolsListChanged()]
    assert globex_heard.events == [ToolsListChanged()]
    assert anonymous.events == []


async def test_a_raising_listener_does_not_starve_the_others(acme: Principal) -> None:
    bus = TenantBus(OperatorPrincipal(acme))
    heard = Collector()

    def broken(event: ServerEvent) -> None:
        raise RuntimeError("listener bug")

    bus.subscribe(broken)
    bus.subscribe(heard)
    await bus.publish_change(acme.tenant_id, Change("oratio://agents", Scope.AGENTS_READ))
    assert heard.events == [ResourceUpdated("oratio://agents")]


async def test_tailer_survives_a_failing_read_and_stops_when_cancelled(platform: Platform, acme: Principal) -> None:
    class FlakyLog:
        """The platform's log, failing its first read as a busy database might."""

        def __init__(self) -> None:
            self.reads = 0

        shards = 1  # the platform's SQLite log

        def append(self, new: NewEvent) -> Event:  # pragma: no cover - the tailer never writes
            raise NotImplementedError

        def read(self, tenant_id: str, after: EventCursor | int = 0, limit: int = 100) -> list[Event]:
            self.reads += 1
            if self.reads == 1:
                raise OSError("database is locked")
            return platform.backends.events.read(tenant_id, after, limit)

        def head(self, tenant_id: str) -> EventCursor:
            return platform.backends.events.head(tenant_id)

        def close(self) -> None:  # pragma: no cover
            pass

    log = FlakyLog()
    live = LiveUpdates(EventTail(log, TailSettings(poll_interval=POLL)), OperatorPrincipal(acme))
    heard = anyio.Event()
    live.bus.subscribe(lambda e: heard.set())
    await live.tailer.follow(acme.tenant_id)
    with anyio.fail_after(WAIT):
        async with live.lifespan():
            await anyio.to_thread.run_sync(lambda: make_agent(platform, acme))
            await heard.wait()
    assert log.reads >= 2


async def test_a_second_lifespan_takes_over_the_tailer(platform: Platform, acme: Principal) -> None:
    """In-process, each connection enters the lifespan: one tailer polls, the next takes over when it ends."""
    live = LiveUpdates(EventTail(platform.backends.events, TailSettings(poll_interval=POLL)), OperatorPrincipal(acme))
    heard: list[ServerEvent] = []
    published = anyio.Event()

    def listener(event: ServerEvent) -> None:
        heard.append(event)
        if len(heard) == 2:
            published.set()

    live.bus.subscribe(listener)
    await live.tailer.follow(acme.tenant_id)

    async def hold(opened: anyio.Event, leave: anyio.Event, left: anyio.Event) -> None:
        async with live.lifespan():
            opened.set()
            await leave.wait()
        left.set()

    first = anyio.Event(), anyio.Event(), anyio.Event()
    second = anyio.Event(), anyio.Event(), anyio.Event()
    with anyio.fail_after(WAIT):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(hold, *first)
            tasks.start_soon(hold, *second)
            await first[0].wait()
            await second[0].wait()
            first[1].set()
            await first[2].wait()  # the first lifespan (and the tailer it ran) is gone

            agent = await anyio.to_thread.run_sync(lambda: make_agent(platform, acme))
            await published.wait()
            second[1].set()
    assert heard == [ResourceUpdated(f"oratio://agents/{agent.id}"), ResourceUpdated("oratio://agents")]


async def test_listeners_and_dashboard_pages_share_one_read_per_poll(platform: Platform, acme: Principal) -> None:
    """MCP listeners and dashboard pages of a tenant are fed by one tailer: one read of its log per poll."""

    class CountingLog:
        def __init__(self) -> None:
            self.reads = 0

        shards = 1  # the platform's SQLite log

        def append(self, new: NewEvent) -> Event:  # pragma: no cover - the tailer never writes
            raise NotImplementedError

        def read(self, tenant_id: str, after: EventCursor | int = 0, limit: int = 100) -> list[Event]:
            self.reads += 1
            return platform.backends.events.read(tenant_id, after, limit)

        def head(self, tenant_id: str) -> EventCursor:
            return platform.backends.events.head(tenant_id)

        def close(self) -> None:  # pragma: no cover
            pass

    log = CountingLog()
    tail = EventTail(log)
    bus = TenantBus(OperatorPrincipal(acme))
    tailer = EventTailer(tail, bus)
    heard = Collector()
    bus.subscribe(heard)
    await tailer.follow(acme.tenant_id)
    await tailer.follow(acme.tenant_id)
    pages = [await tail.open(acme.tenant_id) for _ in range(3)]

    agent = make_agent(platform, acme)
    await tailer.poll()

    assert log.reads == 1
    assert heard.events == [ResourceUpdated(f"oratio://agents/{agent.id}"), ResourceUpdated("oratio://agents")]
    for page in pages:
        assert [event.subject for event in await page.ready()] == [agent.id]


async def test_a_listener_left_behind_catches_up_even_when_its_own_read_fails(
    platform: Platform, acme: Principal
) -> None:
    """A burst larger than the queue leaves the listener to read the log itself; a failing read is retried."""

    class ArmedLog:
        def __init__(self) -> None:
            self.fail_after: EventCursor | None = None

        shards = 1  # the platform's SQLite log

        def append(self, new: NewEvent) -> Event:  # pragma: no cover - the tailer never writes
            raise NotImplementedError

        def read(self, tenant_id: str, after: EventCursor | int = 0, limit: int = 100) -> list[Event]:
            if after == self.fail_after:
                self.fail_after = None
                raise OSError("database is locked")
            return platform.backends.events.read(tenant_id, after, limit)

        def head(self, tenant_id: str) -> EventCursor:
            return platform.backends.events.head(tenant_id)

        def close(self) -> None:  # pragma: no cover
            pass

    log = ArmedLog()
    live = LiveUpdates(EventTail(log, TailSettings(poll_interval=POLL, queue_limit=1)), OperatorPrincipal(acme))
    heard: list[ServerEvent] = []
    published = anyio.Event()

    def listener(event: ServerEvent) -> None:
        heard.append(event)
        if len(heard) == 2:
            published.set()

    live.bus.subscribe(listener)
    await live.tailer.follow(acme.tenant_id)
    head = platform.backends.events.head(acme.tenant_id)
    agent = make_agent(platform, acme)
    platform.agents.update(acme, agent.id, AgentUpdate(description="a"))
    await live.tailer.tail.poll()  # two events, a queue of one: the listener is left behind
    log.fail_after = head  # its own read from its cursor fails once
    with anyio.fail_after(WAIT):
        async with live.lifespan():
            await published.wait()
    assert log.fail_after is None
    assert heard == [ResourceUpdated(f"oratio://agents/{agent.id}"), ResourceUpdated("oratio://agents")]
