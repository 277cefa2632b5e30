"""`/ws/dashboard` with a real `websockets` client against a real uvicorn: auth, replay, cross-process, tenancy."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
import pytest
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from dashboard import LiveSettings, dashboard_routes
from oratio.platform import Platform
from oratio.store.tables import ADMINS
from schemas import Channel, Role
from tests.dashboard.dash import Dash, token_for
from tests.support.platforms import JWT_SECRET
from tests.support.serving import Served, serving_built

pytestmark = pytest.mark.anyio
WAIT = 15.0
Frame = dict[str, Any]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def ws_url(served: Served) -> str:
    return served.base_url.replace("http://", "ws://") + "/ws/dashboard"


@asynccontextmanager
async def feed(
    served: Served, token: str, after: int | str | None = None
) -> AsyncIterator[tuple[ClientConnection, Frame]]:
    """An authenticated stream and its `ready` frame."""
    async with connect(ws_url(served)) as ws:
        await ws.send(json.dumps({"type": "auth", "token": token, "after": after}))
        ready = await receive(ws)
        assert ready["type"] == "ready", ready
        yield ws, ready


async def receive(ws: ClientConnection) -> Frame:
    with anyio.fail_after(WAIT):
        frame: Frame = json.loads(await ws.recv())
        return frame


async def until(ws: ClientConnection, done: Callable[[Frame], bool]) -> list[Frame]:
    """Frames up to and including the first one `done` accepts."""
    frames: list[Frame] = []
    while not frames or not done(frames[-1]):
        frames.append(await receive(ws))
    return frames


async def closed_with(ws: ClientConnection) -> tuple[int, str]:
    with anyio.fail_after(WAIT), pytest.raises(ConnectionClosed) as closed:
        while True:
            await ws.recv()
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


async def in_thread(call: Callable[[], Any]) -> Any:
    return await anyio.to_thread.run_sync(call)


async def test_a_bad_or_expired_token_is_closed_with_4401(served: Served, dash: Dash) -> None:
    expired = token_for(dash.platform, dash.acme.principal, expired=True)
    for token, fragment in [("garbage", ""), (expired, "expired")]:
        async with connect(ws_url(served)) as ws:
            await ws.send(json.dumps({"type": "auth", "token": token, "after": None}))
            code, reason = await closed_with(ws)
            assert code == 4401 and fragment in reason


@pytest.mark.parametrize(
    "first",
    [
        "not json",
        json.dumps({"type": "hello"}),
        json.dumps({"type": "auth", "after": 3}),
        json.dumps({"type": "auth", "token": "t", "after": -1}),
        json.dumps({"type": "auth", "token": "t", "after": "not-a-cursor"}),
        json.dumps({"type": "auth", "token": "t", "after": 3.5}),
        b"\x00binary",
        "x" * 20_000,
    ],
)
async def test_a_bad_first_message_is_closed_with_4422_and_a_reason(
    served: Served, dash: Dash, first: str | bytes
) -> None:
    async with connect(ws_url(served)) as ws:
        await ws.send(first)
        code, reason = await closed_with(ws)
    assert code == 4422 and reason


async def test_no_auth_message_in_time_is_closed_with_4408(platform: Platform, dash: Dash) -> None:
    app = Starlette(routes=dashboard_routes(platform, LiveSettings(auth_timeout=0.3)))
    with serving_built(lambda port: app) as served:
        async with connect(ws_url(served)) as ws:
            code, reason = await closed_with(ws)
    assert code == 4408 and "auth" in reason


async def test_replay_after_a_cursor_loses_and_repeats_nothing_across_a_reconnect(served: Served, dash: Dash) -> None:
    p, tenant = dash.platform, dash.acme.tenant_id
    async with feed(served, dash.token) as (ws, ready):
        head = p.backends.events.head(tenant)
        assert ready["resumed"] is False and ready["cursor"] == ready["head"] == head.token()
        (start,) = head.positions  # one shard on SQLite: seqs are the tenant's order
        session = await in_thread(lambda: p.sessions.start(tenant, dash.agent.id, Channel.TEXT))
        await in_thread(lambda: p.sessions.append_turn(tenant, session.id, Role.CUSTOMER, "first words"))
        seen = await until(ws, lambda f: f["event"] == "session.turn")
    assert [f["event"] for f in seen] == ["session.started", "session.turn"]
    assert seen[1]["subject"] == session.id and seen[1]["data"]["text"] == "first words"

    # While the page is away, more happens; it comes back with the last cursor it got.
    def replies() -> None:
        for n in range(5):
            p.sessions.append_turn(tenant, session.id, Role.AGENT, f"reply {n}")

    await in_thread(replies)
    async with feed(served, dash.token, after=seen[-1]["cursor"]) as (ws, ready):
        assert ready["resumed"] is True and ready["cursor"] == seen[-1]["cursor"]
        await in_thread(lambda: p.sessions.end(tenant, session.id))
        seen += await until(ws, lambda f: f["event"] == "session.status")

    seqs = [f["seq"] for f in seen]
    assert seqs == list(range(start + 1, p.backends.events.head(tenant).positions[0] + 1))
    turns = [f["data"]["text"] for f in seen if f["event"] == "session.turn"]
    assert turns == ["first words"] + [f"reply {n}" for n in range(5)]


async def test_a_cursor_ahead_of_the_log_starts_at_the_head(served: Served, dash: Dash) -> None:
    head = dash.platform.backends.events.head(dash.acme.tenant_id)
    async with feed(served, dash.token, after=head.positions[0] + 1000) as (_, ready):  # an old number cursor
        assert (ready["resumed"], ready["cursor"]) == (False, head.token())


async def test_a_cursor_this_log_did_not_issue_asks_the_page_to_subscribe_again(served: Served, dash: Dash) -> None:
    async with connect(ws_url(served)) as ws:
        await ws.send(json.dumps({"type": "auth", "token": dash.token, "after": "v1.MS4yLjM"}))  # three shards
        code, reason = await closed_with(ws)
    assert code == 4422 and "subscribe again" in reason


WRITER = """
import sys
from pathlib import Path
from pydantic import SecretStr
from oratio.config import Settings
from oratio.platform import open_platform
from schemas import Channel

data_dir, secret, tenant, agent = sys.argv[1:5]
settings = Settings(data_dir=Path(data_dir), jwt_secret=SecretStr(secret), embeddings=False, model="scripted")
with open_platform(settings) as platform:
    result = platform.engine.turn(tenant, agent, None, "hello from another process", Channel.TEXT)
print(result.session_id)
"""


async def test_events_written_by_another_process_arrive(served: Served, dash: Dash) -> None:
    data_dir = dash.platform.settings.data_dir
    assert dash.platform.settings.database_path == data_dir / "oratio.db"
    async with feed(served, dash.token) as (ws, _):
        done = await in_thread(
            lambda: subprocess.run(
                [sys.executable, "-c", WRITER, str(data_dir), JWT_SECRET, dash.acme.tenant_id, dash.agent.id],
                capture_output=True,
                text=True,
                timeout=60,
            )
        )
        assert done.returncode == 0, done.stderr
        session_id = done.stdout.strip()
        frames = await until(ws, lambda f: f["event"] == "session.turn" and f["data"]["role"] == "agent")
    assert [(f["event"], f["subject"]) for f in frames] == [
        ("session.started", session_id),
        ("session.turn", session_id),
        ("session.turn", session_id),
    ]
    assert frames[1]["data"]["text"] == "hello from another process" and frames[2]["data"]["text"]


async def test_another_tenants_events_never_arrive(served: Served, dash: Dash) -> None:
    p = dash.platform
    async with feed(served, dash.token) as (acme_ws, _), feed(served, dash.globex_token) as (globex_ws, _):
        theirs = await in_thread(
            lambda: p.engine.turn(dash.globex.tenant_id, dash.globex_agent.id, None, "a person please", Channel.TEXT)
        )
        ours = await in_thread(lambda: p.engine.turn(dash.acme.tenant_id, dash.agent.id, None, "hi", Channel.TEXT))
        acme = await until(acme_ws, lambda f: f["event"] == "session.turn" and f["data"]["role"] == "agent")
        globex = await until(globex_ws, lambda f: f["event"] == "notification.created")
    assert {f["subject"] for f in acme if f["event"].startswith("session.")} == {ours.session_id}
    assert theirs.session_id not in json.dumps(acme)
    assert {f["subject"] for f in globex if f["event"].startswith("session.")} == {theirs.session_id}
    assert ours.session_id not in json.dumps(globex)


async def test_a_stream_ends_with_4401_once_its_admin_loses_access(platform: Platform, dash: Dash) -> None:
    """The token is checked again while the stream is open, so disabling an admin cuts them off."""
    app = Starlette(routes=dashboard_routes(platform, LiveSettings(recheck_seconds=0.2)))
    admin = platform.tenants.get_admin(dash.acme.tenant_id, dash.acme.principal.subject)
    with serving_built(lambda port: app) as served:
        async with feed(served, dash.token) as (ws, _):
            # No service disables admins yet: the operator's change is made on the record itself.
            await in_thread(
                lambda: platform.backends.store.replace(ADMINS, admin.model_copy(update={"disabled": True}))
            )
            code, reason = await closed_with(ws)
    assert code == 4401 and "no longer has access" in reason
