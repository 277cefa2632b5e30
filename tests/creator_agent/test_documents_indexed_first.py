"""With background ingestion, the AgentCreator tests an agent on its documents once they are indexed:
`create_agent` returns with its documents `ingesting`, and the simulate stage waits for them (bounded)."""

from __future__ import annotations

from typing import Any

import pytest

from creator_agent.pipeline import AgentCreator
from oratio.models.scripted import Data
from oratio.platform import Platform
from oratio_app.cli import load_example
from schemas import DocumentStatus, Principal, Scope
from tests.creator_agent.test_pipeline import APPROVED, EXAMPLE, PARSED, PLAN, _model

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    # One worker: the example's documents are indexed one after the other while the creator runs.
    return {"model": "scripted", "ingest_background": True, "ingest_workers": 1}


async def test_the_simulations_ask_about_the_documents_once_they_are_ready(platform: Platform) -> None:
    tenant = platform.tenants.create_tenant("Acme")
    owner = Principal(tenant_id=tenant.tenant_id, subject="owner", scopes=frozenset({Scope.ADMIN}))
    agent = platform.agents.create(owner, load_example(EXAMPLE))
    model = _model(Data(PARSED), Data(PLAN), Data({**APPROVED, "cycle": 1}), Data({**APPROVED, "cycle": 2}))

    record = await AgentCreator(platform, lambda: model).create(owner.tenant_id, agent.id, None)

    assert record.succeeded is True, record.failure
    documents = platform.documents.list(owner, agent.id).items
    assert documents and {d.status for d in documents} == {DocumentStatus.READY}
    assert record.simulation is not None
    asked = [m for r in record.simulation.results for m in r.transcript if m.role == "customer"]
    assert any("What does your" in m.text for m in asked), asked
