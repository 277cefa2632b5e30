"""Creation records and call recordings are written through services, never by a door (issue 16, item 2)."""

from __future__ import annotations

import tempfile

import pytest

from oratio.errors import NotFound
from oratio.platform import Platform
from oratio.recordings import new_call_id
from oratio.services.agents import artifact_key
from oratio.services.creations import record_key
from schemas import Channel, CreationRecord, StageName, StageRecord, StageStatus
from tests.support.tenants import Tenancy, active_agent, events


def test_records_are_stored_per_version_and_listed_oldest_first(
    platform: Platform, acme: Tenancy, globex: Tenancy
) -> None:
    agent = active_agent(platform, acme)
    stage = StageRecord(stage=StageName.DEPLOY, status=StageStatus.PASSED)
    runs = [
        CreationRecord(tenant_id=acme.tenant_id, agent_id=agent.id, version=v, stages=[stage], succeeded=v == 2)
        for v in (2, 1)
    ]
    for run in runs:
        platform.creations.record(run)

    assert platform.creations.records(acme.tenant_id, agent.id) == sorted(runs, key=lambda r: r.version)
    assert platform.creations.load(acme.tenant_id, agent.id, 2) == runs[0]
    assert platform.backends.blobs.head(record_key(acme.tenant_id, agent.id, 1)) is not None
    assert platform.creations.records(globex.tenant_id, agent.id) == []  # another tenant sees none
    with pytest.raises(NotFound):
        platform.creations.load(acme.tenant_id, agent.id, 3)


def test_progress_is_an_event_and_a_failed_version_leaves_nothing(platform: Platform, acme: Tenancy) -> None:
    agent = active_agent(platform, acme)
    plan = artifact_key(acme.tenant_id, agent.id, 2)
    kept = artifact_key(acme.tenant_id, agent.id, 1)
    for key in (plan, kept):
        platform.backends.blobs.put(key, b"{}", content_type="application/json")

    platform.creations.progress(acme.tenant_id, agent.id, stage="deploy", status="failed", detail="boom")
    assert platform.creations.discard_version(acme.tenant_id, agent.id, 2) == 1

    last = events(platform, acme.tenant_id)[-1]
    assert (last.type.value, last.subject, last.data) == (
        "agent.progress",
        agent.id,
        {"stage": "deploy", "status": "failed", "detail": "boom"},
    )
    assert platform.backends.blobs.head(plan) is None
    assert platform.backends.blobs.head(kept) is not None  # the live version stays


def test_save_recording_streams_the_call_and_announces_it(platform: Platform, acme: Tenancy) -> None:
    agent = active_agent(platform, acme)
    session = platform.sessions.start(acme.tenant_id, agent.id, Channel.VOICE)
    with tempfile.TemporaryFile() as wav:  # a file on disk, as the voice bridge assembles it
        wav.write(b"RIFF" + bytes(1000))
        wav.seek(0)
        key = platform.sessions.save_recording(acme.tenant_id, agent.id, session.id, new_call_id(), wav, seconds=1.234)

    assert platform.backends.blobs.get(key) == b"RIFF" + bytes(1000)
    assert platform.sessions.get(acme.principal, session.id).recordings == [key]
    last = events(platform, acme.tenant_id)[-1]
    assert (last.type.value, last.subject, last.data["key"], last.data["seconds"]) == (
        "session.recording",
        session.id,
        key,
        1.23,
    )
