"""A build keeps its creation record current at every stage, so a page opened mid-build (or reloaded) reads
the stages so far from storage, from any process (the dashboard's progress view, `dashboard.agent_admin`)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest

from creator_agent.models import attach_creator
from oratio.platform import Platform
from schemas import CreationRecord, StageName, StageStatus
from tests.support.tenants import Tenancy, create_agent

pytestmark = pytest.mark.anyio


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"model": "scripted"}


async def test_the_stored_record_shows_each_stage_while_the_build_runs(platform: Platform, acme: Tenancy) -> None:
    built = attach_creator(platform)
    agent = create_agent(platform, acme, "Desk")
    seen: list[tuple[str, list[tuple[str, str]], bool | None]] = []

    async def progress(done: int, total: int, message: str) -> None:
        records = await anyio.to_thread.run_sync(platform.creations.records, acme.tenant_id, agent.id)
        record: CreationRecord = records[-1]
        stages = [(s.stage.value, s.status.value) for s in record.stages]
        seen.append((message, stages, record.succeeded))

    assert built.builder is not None
    final = await built.builder.create(acme.tenant_id, agent.id, progress)

    assert final.succeeded is True
    first_message, first_stages, first_outcome = seen[0]
    assert first_message.startswith("parse_sop: running")
    assert first_stages == [(StageName.PARSE_SOP.value, StageStatus.RUNNING.value)] and first_outcome is None
    review_running = next(stages for message, stages, _ in seen if message.startswith("review_plan: running"))
    assert review_running[-1] == (StageName.REVIEW_PLAN.value, StageStatus.RUNNING.value)
    assert [outcome for _, _, outcome in seen[:-1]] == [None] * (len(seen) - 1)
    stored = platform.creations.records(acme.tenant_id, agent.id)
    assert [(r.version, r.succeeded) for r in stored] == [(1, True)]  # the running record was replaced, not added


def test_latest_is_the_newest_version_by_number_and_per_tenant(
    platform: Platform, acme: Tenancy, globex: Tenancy
) -> None:
    agent = create_agent(platform, acme, "Desk")
    assert platform.creations.latest(acme.tenant_id, agent.id) is None
    for version in (2, 10, 9):
        platform.creations.record(CreationRecord(tenant_id=acme.tenant_id, agent_id=agent.id, version=version))
    latest = platform.creations.latest(acme.tenant_id, agent.id)
    assert latest is not None and latest.version == 10  # by number: v10 sorts before v9 as text
    assert platform.creations.latest(globex.tenant_id, agent.id) is None
