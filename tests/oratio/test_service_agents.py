"""AgentService: creation with documents, unique names, the status lifecycle, updates and deletion."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from pydantic import ValidationError

from oratio.errors import Conflict, InvalidInput, InvalidState, NotFound, Unauthenticated
from oratio.platform import Platform
from schemas import (
    AgentSpec,
    AgentStatus,
    AgentType,
    AgentUpdate,
    Channel,
    CreateAgent,
    HandoffConfig,
    Limits,
    MintKeyRequest,
    TextConfig,
)
from tests.support.platforms import FakeClock
from tests.support.tenants import SOP, Tenancy, active_agent, create_agent, doc, event_types, events

FAQ = doc("faq.md", b"# FAQ\nWe are open 9 to 5.")
PRICES = doc("prices.md", b"# Prices\nBasic: 10 EUR a month.")


def test_create_stores_a_creating_agent_with_its_documents(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    spec = AgentSpec(name="Support", description="Front desk", sop=SOP, agent_type=AgentType.BOTH)

    agent = platform.agents.create(acme.principal, CreateAgent(spec=spec, documents=[FAQ, PRICES]))

    assert agent.status is AgentStatus.CREATING
    assert agent.tenant_id == acme.tenant_id
    assert agent.version == 1
    assert agent.created_at == agent.updated_at == clock()
    assert platform.agents.get(acme.principal, agent.id) == agent
    documents = platform.documents.list(acme.principal, agent.id).items
    assert sorted((d.name, d.size_bytes, d.sha256) for d in documents) == [
        ("faq.md", len(FAQ.content), hashlib.sha256(FAQ.content).hexdigest()),
        ("prices.md", len(PRICES.content), hashlib.sha256(PRICES.content).hexdigest()),
    ]
    for document in documents:
        assert document.agent_id == agent.id
        expected = FAQ.content if document.name == "faq.md" else PRICES.content
        assert platform.documents.read_content(acme.principal, document.id) == expected
    logged = events(platform, acme.tenant_id)
    ingest = ["document.added", "document.status", "document.status"]
    assert [e.type.value for e in logged] == ["agent.created", *ingest, *ingest]
    assert logged[0].subject == agent.id
    assert logged[0].data == {"name": "Support", "status": "creating"}
    assert {e.data["name"] for e in logged[1:] if e.type.value == "document.added"} == {"faq.md", "prices.md"}


def test_a_taken_name_is_a_conflict_whatever_its_case(platform: Platform, acme: Tenancy) -> None:
    first = create_agent(platform, acme, "Support", documents=(FAQ,))
    before = event_types(platform, acme.tenant_id)

    with pytest.raises(Conflict, match="already exists") as refused:
        create_agent(platform, acme, "SUPPORT", documents=(PRICES,))

    assert refused.value.field == "name"
    assert [a.id for a in platform.agents.list(acme.principal).items] == [first.id]
    assert [d.name for d in platform.documents.list(acme.principal, first.id).items] == ["faq.md"]
    assert len(platform.backends.blobs.list(f"{acme.tenant_id}/")) == 1
    assert event_types(platform, acme.tenant_id) == before


def test_a_refused_request_stores_nothing(platform: Platform, acme: Tenancy) -> None:
    twins = CreateAgent(spec=AgentSpec(name="Twins", sop=SOP), documents=[FAQ, doc("FAQ.md", b"other")])
    with pytest.raises(InvalidInput, match="same name"):
        platform.agents.create(acme.principal, twins)

    too_big = doc("big.md", b"x" * (platform.settings.max_document_bytes + 1))
    with pytest.raises(InvalidInput, match="limit"):
        platform.agents.create(
            acme.principal, CreateAgent(spec=AgentSpec(name="Big", sop=SOP), documents=[FAQ, too_big])
        )

    assert platform.agents.list(acme.principal).items == []
    assert platform.backends.blobs.list(f"{acme.tenant_id}/") == []
    assert event_types(platform, acme.tenant_id) == []


@pytest.mark.parametrize(
    ("fields", "where"),
    [
        ({"name": "Support", "sop": "x" * (Limits.SOP_MAX + 1)}, ("sop",)),
        ({"name": "Support", "sop": "too short"}, ("sop",)),
        ({"name": "/etc/passwd", "sop": SOP}, ("name",)),
        ({"name": "x" * (Limits.NAME_MAX + 1), "sop": SOP}, ("name",)),
        (
            {
                "name": "Support",
                "sop": SOP,
                "handoff": {"enabled": True, "conditions": [f"condition {i}" for i in range(21)]},
            },
            ("handoff", "conditions"),
        ),
        (
            {"name": "Support", "sop": SOP, "handoff": {"conditions": ["the customer asks for a human"]}},
            ("handoff",),
        ),
        ({"name": "Support", "sop": SOP, "unknown_field": 1}, ("unknown_field",)),
    ],
    ids=[
        "oversize-sop",
        "short-sop",
        "bad-name",
        "long-name",
        "too-many-conditions",
        "conditions-disabled",
        "extra",
    ],
)
def test_a_bad_spec_is_refused_at_the_schema(fields: dict[str, object], where: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as refused:
        AgentSpec.model_validate(fields)
    assert [error["loc"] for error in refused.value.errors()] == [where]


def test_a_bad_update_is_refused_at_the_schema() -> None:
    with pytest.raises(ValidationError):
        AgentUpdate(sop="x" * (Limits.SOP_MAX + 1))
    with pytest.raises(ValidationError):
        AgentUpdate.model_validate({"name": "Renamed"})  # names are not changed by update


def test_lifecycle_moves_only_along_allowed_transitions(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    tenant_id = acme.tenant_id

    with pytest.raises(InvalidState, match="creating and cannot become paused"):
        platform.agents.transition(tenant_id, agent.id, AgentStatus.PAUSED, reason=None)
    with pytest.raises(InvalidState):
        platform.agents.pause(acme.principal, agent.id)
    assert platform.agents.get(acme.principal, agent.id) == agent  # refusals change nothing

    active = platform.agents.transition(tenant_id, agent.id, AgentStatus.ACTIVE, reason="built", artifact_version=1)
    assert (active.status, active.status_reason, active.artifact_version) == (AgentStatus.ACTIVE, "built", 1)
    with pytest.raises(InvalidState, match="only a paused agent can be resumed"):
        platform.agents.resume(acme.principal, agent.id)

    paused = platform.agents.pause(acme.principal, agent.id)
    assert (paused.status, paused.status_reason) == (AgentStatus.PAUSED, "paused by an admin")
    with pytest.raises(InvalidState):
        platform.agents.pause(acme.principal, agent.id)

    resumed = platform.agents.resume(acme.principal, agent.id)
    assert (resumed.status, resumed.status_reason, resumed.artifact_version) == (AgentStatus.ACTIVE, None, 1)
    assert resumed.version == agent.version + 3

    statuses = [(e.type.value, e.data.get("status")) for e in events(platform, tenant_id)]
    assert statuses == [
        ("agent.created", "creating"),
        ("agent.status", "active"),
        ("agent.status", "paused"),
        ("agent.status", "active"),
    ]


def test_list_by_status(platform: Platform, acme: Tenancy) -> None:
    creating = create_agent(platform, acme, "Drafting")
    active = active_agent(platform, acme, "Live")
    assert [a.id for a in platform.agents.list(acme.principal, status=AgentStatus.ACTIVE).items] == [active.id]
    assert [a.id for a in platform.agents.list(acme.principal, status=AgentStatus.CREATING).items] == [creating.id]
    assert platform.agents.list(acme.principal, status=AgentStatus.PAUSED).items == []


def test_update_merges_the_given_fields_only(platform: Platform, acme: Tenancy, clock: FakeClock) -> None:
    agent = create_agent(platform, acme)
    later = clock.advance(timedelta(minutes=5))
    handoff = HandoffConfig(enabled=True, conditions=["the customer asks for a human"])

    updated = platform.agents.update(
        acme.principal,
        agent.id,
        AgentUpdate(description="Night shift", handoff=handoff, text=TextConfig(streaming=False)),
    )

    assert updated.spec.description == "Night shift"
    assert updated.spec.handoff == handoff
    assert updated.spec.text.streaming is False
    assert (updated.spec.name, updated.spec.sop, updated.spec.agent_type) == ("Support", SOP, AgentType.TEXT)
    assert (updated.status, updated.version, updated.created_at, updated.updated_at) == (
        AgentStatus.CREATING,
        agent.version + 1,
        agent.created_at,
        later,
    )
    assert platform.agents.get(acme.principal, agent.id) == updated
    last = events(platform, acme.tenant_id)[-1]
    assert (last.type.value, last.subject, last.data) == (
        "agent.updated",
        agent.id,
        {"fields": ["description", "handoff", "text"]},
    )


def test_an_empty_update_is_refused(platform: Platform, acme: Tenancy) -> None:
    agent = create_agent(platform, acme)
    for empty in (AgentUpdate(), AgentUpdate(description=None)):
        with pytest.raises(InvalidInput, match="nothing to update"):
            platform.agents.update(acme.principal, agent.id, empty)
    assert platform.agents.get(acme.principal, agent.id).version == agent.version
    with pytest.raises(NotFound):
        platform.agents.update(acme.principal, "agt_0000000000unknown", AgentUpdate(description="x"))


def test_delete_cascades_to_keys_and_documents(platform: Platform, acme: Tenancy, globex: Tenancy) -> None:
    agent = create_agent(platform, acme, documents=(FAQ, PRICES))
    platform.agents.transition(acme.tenant_id, agent.id, AgentStatus.ACTIVE, reason=None)
    minted = platform.keys.mint(acme.principal, MintKeyRequest(agent_id=agent.id, name="prod"))
    assert platform.keys.authenticate(minted.reveal(), agent.id).agent_id == agent.id
    session = platform.sessions.start(acme.tenant_id, agent.id, Channel.TEXT)
    keep = create_agent(platform, acme, "Other", documents=(FAQ,))
    document_ids = [d.id for d in platform.documents.list(acme.principal, agent.id).items]

    with pytest.raises(NotFound):
        platform.agents.delete(globex.principal, agent.id)
    assert platform.agents.get(acme.principal, agent.id).id == agent.id

    platform.agents.delete(acme.principal, agent.id)

    with pytest.raises(NotFound):
        platform.agents.get(acme.principal, agent.id)
    with pytest.raises(Unauthenticated):
        platform.keys.authenticate(minted.reveal(), agent.id)
    assert platform.keys.list(acme.principal).items == []
    for document_id in document_ids:
        with pytest.raises(NotFound):
            platform.documents.get(acme.principal, document_id)
    assert platform.backends.blobs.list(f"{acme.tenant_id}/documents/{agent.id}/") == []
    # Other agents keep their documents; past sessions stay for the record.
    assert [d.name for d in platform.documents.list(acme.principal, keep.id).items] == ["faq.md"]
    assert len(platform.backends.blobs.list(f"{acme.tenant_id}/documents/{keep.id}/")) == 1
    assert platform.sessions.get(acme.principal, session.id).session.agent_id == agent.id
    assert event_types(platform, acme.tenant_id)[-1] == "agent.deleted"
    with pytest.raises(NotFound):
        platform.agents.delete(acme.principal, agent.id)
