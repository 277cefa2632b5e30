"""What a continuing turn costs the store: the session and its recent turns read once, the plan read
from blob storage and checked against its reviewed sha256 (parsed once per version), both turns appended
without reading again.

The services run over the real SQLite store and blob directory, each port wrapped in a counter
(every call goes through to the adapter), so the counts are what a server does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from oratio.blobs.local import LocalBlobStore
from oratio.blobs.ports import BlobStore
from oratio.errors import InvalidState
from oratio.knowledge.index import HybridIndex
from oratio.knowledge.local import LocalKnowledgeBase
from oratio.models import Say, ScriptedModel
from oratio.platform import Platform, build_services
from oratio.services import Backends
from oratio.store.ports import EventLog, Insert, RecordStore
from oratio.store.sqlite import SqliteDatabase, SqliteEventLog, SqliteRecordStore
from oratio.store.tables import AGENTS, TURNS
from schemas import AgentPlan, Channel, Role, SessionStatus, Turn
from tests.support.counting import Counting
from tests.support.engine import PLAN, deployed_agent, engine_over
from tests.support.platforms import test_settings
from tests.support.tenants import new_principal

pytestmark = pytest.mark.anyio


class Counted:
    def __init__(self, platform: Platform, tally: Counter[str]) -> None:
        self.platform, self.tally = platform, tally


@pytest.fixture
def counted(tmp_path: Path) -> Iterator[Counted]:
    settings = test_settings(tmp_path)
    db = SqliteDatabase(settings.database_path, synchronous="normal")
    tally: Counter[str] = Counter()
    backends = Backends(
        store=cast(RecordStore, Counting("store", SqliteRecordStore(db), tally, by_table=True)),
        events=cast(EventLog, Counting("events", SqliteEventLog(db), tally, by_table=True)),
        blobs=cast(BlobStore, Counting("blobs", LocalBlobStore(settings.blob_root), tally, by_table=True)),
    )
    knowledge = LocalKnowledgeBase(HybridIndex(settings.knowledge_path, embedder=None))
    platform = build_services(settings, backends, knowledge)
    try:
        yield Counted(platform, tally)
    finally:
        platform.handoff.close()
        knowledge.close()
        db.close()


def _engine(platform: Platform, model: ScriptedModel) -> Any:
    return engine_over(platform, lambda spec: model)


async def test_a_continuing_turn_reads_the_session_and_its_turns_once_and_the_agent_not_at_all(
    counted: Counted,
) -> None:
    platform = counted.platform
    principal = new_principal(platform, "Acme")
    agent = deployed_agent(platform, principal)
    model = ScriptedModel(rules=[lambda prompt: Say("Noted.")])
    engine = _engine(platform, model)
    first = await engine.turn_async(principal.tenant_id, agent.id, None, "hello", Channel.TEXT)
    await engine.turn_async(principal.tenant_id, agent.id, first.session_id, "second", Channel.TEXT)

    counted.tally.clear()
    result = await engine.turn_async(principal.tenant_id, agent.id, first.session_id, "third", Channel.TEXT)

    ops = counted.tally
    assert result.reply == "Noted."
    assert ops["store.get:sessions"] == 1  # was 5: continued, and a read-modify-write per appended turn
    # The agent record and plan served the last turn; the customer's turn is stored only while the record
    # is still that version (a condition in its commit), and the plan's bytes were hashed moments ago.
    assert ops["store.get:agents"] == 0  # was 1
    assert ops["store.query:turns"] == 1  # one page of recent turns, not every turn, no "last seq" reads
    assert ops["blobs.get"] == 0 and ops["blobs.list"] == 0  # was 1: the plan's bytes; recordings not listed
    # Each turn with the session's counters and its event, in one transaction (the log is in the same file).
    assert ops["store.transact_logged"] == 2 and ops["store.transact"] == 0
    assert ops["events.append"] == 0
    assert sum(ops.values()) == 4, ops
    # Nothing was lost by not re-reading: the transcript and counters are what they always were.
    stored = platform.sessions.get(principal, first.session_id)
    assert [t.seq for t in stored.turns] == [1, 2, 3, 4, 5, 6]
    assert [t.text for t in stored.turns][-2:] == ["third", "Noted."]
    assert stored.session.message_count == 6


async def test_history_is_one_page_of_the_last_100_turns_of_a_long_session(counted: Counted) -> None:
    platform = counted.platform
    principal = new_principal(platform, "Acme")
    agent = deployed_agent(platform, principal)
    model = ScriptedModel(rules=[lambda prompt: Say("Noted.")])
    engine = _engine(platform, model)
    first = await engine.turn_async(principal.tenant_id, agent.id, None, "hello", Channel.TEXT)
    tenant_id = principal.tenant_id
    # 248 more stored turns, 25 a transaction (as fast as the store takes them).
    turns = [
        Turn(
            tenant_id=tenant_id,
            session_id=first.session_id,
            seq=seq,
            role=Role.CUSTOMER if seq % 2 else Role.AGENT,
            text=f"turn {seq}",
            started_at=platform.backends.clock(),
        )
        for seq in range(3, 251)
    ]
    for start in range(0, len(turns), 25):
        platform.backends.store.transact([Insert(TURNS, t) for t in turns[start : start + 25]])

    counted.tally.clear()
    model.prompts.clear()
    result = await engine.turn_async(tenant_id, agent.id, first.session_id, "and now?", Channel.TEXT)

    assert counted.tally["store.query:turns"] == 1
    [prompt] = model.prompts
    texts = [block["text"] for message in prompt.messages for block in message["content"] if "text" in block]
    assert "turn 250" in texts and "turn 151" in texts and "turn 150" not in texts
    assert texts[-1] == "and now?"
    # The new turns follow the last stored one, though the session's counter never saw turns 3-250.
    stored = platform.sessions.recent_turns(tenant_id, first.session_id, 2)
    assert [(t.seq, t.text) for t in stored] == [(251, "and now?"), (252, result.reply)]


async def test_a_deploy_is_served_from_the_next_turn_also_by_another_process(tmp_path: Path) -> None:
    """Two platforms over one data directory, as two server processes: the plan cache of one is keyed by
    the version in the agent record, so the other's deploy is served from the next turn."""
    from oratio.platform import open_platform

    model = ScriptedModel(rules=[lambda prompt: Say("Hi.")])
    with open_platform(test_settings(tmp_path)) as serving, open_platform(test_settings(tmp_path)) as deploying:
        principal = new_principal(serving, "Acme")
        agent = deployed_agent(serving, principal)
        engine = _engine(serving, model)
        first = await engine.turn_async(principal.tenant_id, agent.id, None, "hello", Channel.TEXT)
        assert model.prompts[-1].system_prompt == PLAN.system_prompt

        changed = PLAN.model_copy(update={"system_prompt": "You are Acme's new assistant."})
        deploying.agents.deploy(principal.tenant_id, agent.id, changed)
        await engine.turn_async(principal.tenant_id, agent.id, first.session_id, "again", Channel.TEXT)
        assert model.prompts[-1].system_prompt == "You are Acme's new assistant."

        # And this process's own deploy drops its cached versions of the agent.
        own = AgentPlan.model_validate({**changed.model_dump(), "system_prompt": "You are Acme's third."})
        serving.agents.deploy(principal.tenant_id, agent.id, own)
        await engine.turn_async(principal.tenant_id, agent.id, first.session_id, "once more", Channel.TEXT)
        assert model.prompts[-1].system_prompt == "You are Acme's third."


async def test_a_pause_by_another_process_refuses_the_next_turn_and_stores_nothing(tmp_path: Path) -> None:
    """The serving process answers the agent record from memory, under a condition in the turn's commit: a
    pause made elsewhere fails that condition, the record is read afresh, and the turn is refused."""
    from oratio.platform import open_platform

    model = ScriptedModel(rules=[lambda prompt: Say("Hi.")])
    with open_platform(test_settings(tmp_path)) as serving, open_platform(test_settings(tmp_path)) as admin:
        principal = new_principal(serving, "Acme")
        agent = deployed_agent(serving, principal)
        engine = _engine(serving, model)
        first = await engine.turn_async(principal.tenant_id, agent.id, None, "hello", Channel.TEXT)
        await engine.turn_async(principal.tenant_id, agent.id, first.session_id, "again", Channel.TEXT)

        admin.agents.pause(principal, agent.id)
        with pytest.raises(InvalidState, match="paused"):
            await engine.turn_async(principal.tenant_id, agent.id, first.session_id, "still there?", Channel.TEXT)
        assert [t.text for t in serving.sessions.get(principal, first.session_id).turns] == [
            "hello",
            "Hi.",
            "again",
            "Hi.",
        ]

        admin.agents.resume(principal, agent.id)
        later = await engine.turn_async(principal.tenant_id, agent.id, first.session_id, "back?", Channel.TEXT)
        assert later.reply == "Hi."


async def test_an_edit_by_another_process_is_served_from_the_next_turn(tmp_path: Path) -> None:
    from oratio.platform import open_platform

    model = ScriptedModel(rules=[lambda prompt: Say("Hi.")])
    with open_platform(test_settings(tmp_path)) as serving, open_platform(test_settings(tmp_path)) as admin:
        principal = new_principal(serving, "Acme")
        agent = deployed_agent(serving, principal)
        engine = _engine(serving, model)
        first = await engine.turn_async(principal.tenant_id, agent.id, None, "hello", Channel.TEXT)
        await engine.turn_async(principal.tenant_id, agent.id, first.session_id, "again", Channel.TEXT)
        record = admin.backends.store.get(AGENTS, principal.tenant_id, agent.id)
        assert record is not None
        admin.backends.store.replace(AGENTS, record.model_copy(update={"status_reason": "edited elsewhere"}))

        result = await engine.turn_async(principal.tenant_id, agent.id, first.session_id, "third", Channel.TEXT)
        assert result.reply == "Hi."
        remembered, _, _ = serving.agents.serving(principal.tenant_id, agent.id)
        assert remembered.status_reason == "edited elsewhere"  # read afresh when the condition failed


async def test_an_append_after_the_session_moved_on_reads_afresh_and_keeps_order(counted: Counted) -> None:
    platform = counted.platform
    principal = new_principal(platform, "Acme")
    agent = deployed_agent(platform, principal)
    tenant_id = principal.tenant_id
    session = platform.sessions.start(tenant_id, agent.id, Channel.TEXT)
    session, turn = platform.sessions.append_next(session, 1, Role.CUSTOMER, "hello")
    assert turn.seq == 1 and session.message_count == 1

    # Another process appends and requests a handoff meanwhile: what this caller holds is stale.
    platform.sessions.append_turn(tenant_id, session.id, Role.AGENT, "from elsewhere")
    platform.sessions.set_status(tenant_id, session.id, SessionStatus.HANDOFF_REQUESTED, "asked")
    moved, late = platform.sessions.append_next(session, 2, Role.AGENT, "late reply")

    assert late.seq == 3
    assert (moved.status, moved.message_count) == (SessionStatus.HANDOFF_REQUESTED, 3)
    stored = platform.sessions.recent_turns(tenant_id, session.id)
    assert [(t.seq, t.text) for t in stored] == [(1, "hello"), (2, "from elsewhere"), (3, "late reply")]

    # An ending is never written over: the stale holder is refused as `append_turn` refuses.
    platform.sessions.end(tenant_id, session.id, "done")
    from oratio.errors import InvalidState

    with pytest.raises(InvalidState):
        platform.sessions.append_next(moved, 4, Role.AGENT, "too late")
    assert len(platform.sessions.recent_turns(tenant_id, session.id)) == 3
