"""kill -9 of `oratio serve` during 50 concurrent conversations loses nothing it acknowledged.

The server is a real child process on a temporary data directory, running the offline `scripted`
model slowed down a little so that turns are in flight when it dies. Fifty customers talk to one
agent over HTTP at once (some ask for a person, some say goodbye and start again); every HTTP 200
is an acknowledged turn. Once enough are acknowledged the server is SIGKILLed mid-stride, then
started again on the same directory. Afterwards:

- every acknowledged turn is in the store: the customer's words, followed by the reply they got;
- no session is `active`: those the crash cut off are `interrupted` ("platform restarted"), ended
  ones stay ended, and those waiting for a person stay `handoff_requested` (a person is on them,
  exactly as the idle sweeper leaves them; see SECURITY.md);
- a subscriber that tailed the tenant's event log from a cursor taken before the crash, and goes
  on from its last cursor after the restart, sees every event once: seq strictly increasing,
  nothing it saw before the crash missing or changed afterwards, and no turn announced twice.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx

from oratio.config import load_settings
from oratio.platform import open_platform
from oratio.store.sqlite import SqliteDatabase, SqliteEventLog
from schemas import Event, EventType, Role, SessionFilter, SessionStatus
from tests.reliability.serve import Server, clean_env, oratio_serve
from tests.reliability.world import PLAN, new_side

CONVERSATIONS = 50
KILL_AFTER_ACKS = 120
RUN_TIMEOUT_S = 120.0
HANDOFF_TEXT = "Can I talk to a person please"


@dataclass(frozen=True)
class Ack:
    session_id: str
    text: str
    reply: str
    paused: bool = False
    """The agent was paused (a handoff was asked for earlier): the customer's words are stored, nobody answered yet."""


class Subscriber:
    """Tails one tenant's event log by cursor, as a live view does, straight from the SQLite file."""

    def __init__(self, log: SqliteEventLog, tenant_id: str) -> None:
        self._log = log
        self._tenant = tenant_id
        (self.start,) = log.head(tenant_id).positions  # one shard on SQLite: seqs are the tenant's order
        self.seen: list[Event] = []

    @property
    def cursor(self) -> int:
        return self.seen[-1].seq if self.seen else self.start

    def poll(self) -> None:
        while page := self._log.read(self._tenant, after=self.cursor, limit=200):
            self.seen.extend(page)


def text_for(conversation: int, turn: int) -> str:
    if conversation % 7 == 3 and turn == 1:
        return HANDOFF_TEXT
    if conversation % 5 == 1 and turn == 1:
        return "bye"
    return f"conversation {conversation} turn {turn}: what is your refund policy?"


async def converse(
    conversation: int, http: httpx.AsyncClient, path: str, key: str, acks: list[Ack], on_ack: Server | None
) -> None:
    """Turns one after another until the server dies; a session that ended is followed by a new one."""
    session_id: str | None = None
    for turn in range(10_000):
        body = {"message": text_for(conversation, turn)} | ({"session_id": session_id} if session_id else {})
        try:
            response = await http.post(path, json=body, headers={"X-Api-Key": key})
        except httpx.TransportError:
            return  # the server is gone
        assert response.status_code == 200, response.text
        reply = response.json()
        acks.append(Ack(reply["session_id"], body["message"], reply["reply"], bool(reply.get("paused"))))
        session_id = None if reply["ended"] else reply["session_id"]
        if on_ack is not None and len(acks) >= KILL_AFTER_ACKS:
            on_ack.kill()
            on_ack = None


def test_kill_9_during_50_conversations_loses_no_acknowledged_turn(tmp_path: Path) -> None:
    settings_env = {
        "ORATIO_DATA_DIR": str(tmp_path / "data"),
        "ORATIO_JWT_SECRET": "k" * 40,
        "ORATIO_MODEL": "scripted?delay=0.01",
        "ORATIO_EMBEDDINGS": "false",
        "ORATIO_KEY_RATE_PER_MINUTE": "1000000",
        "ORATIO_KEY_BURST": "1000000",
    }
    settings = load_settings(settings_env)
    with open_platform(settings) as platform:
        side = new_side(platform, "Acme")
    assert PLAN.tools  # the agent can hand off and end sessions
    db = SqliteDatabase(settings.database_path)
    subscriber = Subscriber(SqliteEventLog(db), side.tenant_id)
    path = f"/runtime/agents/{side.agent.id}/invocations"
    acks: list[Ack] = []

    with oratio_serve(clean_env(**settings_env), tmp_path / "first.log") as server:

        async def run() -> None:
            limits = httpx.Limits(max_connections=CONVERSATIONS + 5)
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30.0, limits=limits) as http:
                with anyio.fail_after(RUN_TIMEOUT_S):
                    async with anyio.create_task_group() as group:
                        for n in range(CONVERSATIONS):
                            group.start_soon(converse, n, http, path, side.secret, acks, server)

        anyio.run(run)
        server.process.wait(timeout=30)
        assert server.process.returncode == -9
    subscriber.poll()
    seen_before = list(subscriber.seen)
    assert len(acks) >= KILL_AFTER_ACKS and seen_before

    with oratio_serve(clean_env(**settings_env), tmp_path / "second.log") as server:
        restarted = server.wait_line("after restart: ")
        assert " session(s) marked interrupted" in restarted
        interrupted = int(restarted.split()[2])
        assert interrupted > 0, restarted  # turns were in flight: some sessions were cut off
        # An interrupted session cannot be continued; a new conversation can start.
        with httpx.Client(base_url=server.base_url, timeout=30.0, headers={"X-Api-Key": side.secret}) as http:
            cut_off = http.post(path, json={"message": "still there?", "session_id": acks[-1].session_id})
            assert cut_off.status_code in (409, 200), cut_off.text
            fresh = http.post(path, json={"message": "hello again"})
            assert fresh.status_code == 200, fresh.text
        subscriber.poll()

    # Every acknowledged turn is stored, with the reply the customer got right after it.
    with open_platform(settings) as platform:
        transcripts = {ack.session_id: platform.sessions.get(side.principal, ack.session_id) for ack in acks}
        for ack in acks:
            turns = transcripts[ack.session_id].turns
            asked = [t for t in turns if t.role is Role.CUSTOMER and t.text == ack.text]
            assert asked, f"acknowledged turn {ack} is missing"
            answer = next((t for t in turns if t.seq == asked[0].seq + 1), None)
            if ack.paused and not ack.reply:  # waiting for a person: the agent said nothing, and nothing claims it did
                assert answer is None or answer.role is not Role.AGENT, ack
                continue
            assert answer is not None and answer.role is Role.AGENT and answer.text == ack.reply, ack
        sessions = platform.sessions.list(side.principal, SessionFilter(limit=200)).items
        statuses = Counter(s.status for s in sessions)
        assert statuses[SessionStatus.ACTIVE] <= 1, statuses  # only the one started after the restart
        assert statuses[SessionStatus.INTERRUPTED] == interrupted, statuses
        assert statuses[SessionStatus.HANDOFF_REQUESTED] > 0 and statuses[SessionStatus.COMPLETED] > 0, statuses
        for session in sessions:
            if session.status is SessionStatus.INTERRUPTED:
                assert session.end_reason == "platform restarted"

    # The subscriber saw each event once, and nothing it saw before the crash went missing or changed.
    seqs = [event.seq for event in subscriber.seen]
    assert seqs == sorted(set(seqs)), "an event was repeated or came out of order"
    assert subscriber.seen[: len(seen_before)] == seen_before
    log = SqliteEventLog(db)
    whole: list[Event] = []
    while page := log.read(side.tenant_id, after=whole[-1].seq if whole else subscriber.start, limit=200):
        whole.extend(page)
    assert whole == subscriber.seen
    turns_announced = Counter((e.subject, e.data["seq"]) for e in subscriber.seen if e.type is EventType.SESSION_TURN)
    assert max(turns_announced.values()) == 1, "a turn was announced twice"
    db.close()
