"""Every service call is scoped to the caller's tenant and refused without the scope it needs.

Another tenant's ids must read as unknown (NotFound), never as "exists but not yours" (Forbidden):
the difference would tell an attacker which ids exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from oratio.errors import Forbidden, NotFound, OratioError
from oratio.platform import Platform
from schemas import (
    AgentSpec,
    AgentUpdate,
    Channel,
    CreateAgent,
    MintKeyRequest,
    NotificationType,
    Principal,
    Role,
    Scope,
    SessionFilter,
    SessionStatus,
)
from tests.support.tenants import SOP, Tenancy, active_agent, doc, event_types, narrow


@dataclass(frozen=True)
class Owned:
    """One record of every kind, all belonging to one tenant."""

    agent_id: str
    document_id: str
    key_id: str
    session_id: str
    notification_id: str


def _populate(platform: Platform, tenancy: Tenancy) -> Owned:
    agent = active_agent(platform, tenancy)
    document = platform.documents.upload(tenancy.principal, agent.id, doc("faq.md", b"# FAQ\nOpen 9-5."))
    key = platform.keys.mint(tenancy.principal, MintKeyRequest(agent_id=agent.id, name="prod")).key
    session = platform.sessions.start(tenancy.tenant_id, agent.id, Channel.TEXT)
    platform.sessions.append_turn(tenancy.tenant_id, session.id, Role.CUSTOMER, "hello")
    notification = platform.notifications.notify(
        tenancy.tenant_id, NotificationType.HANDOFF, "Customer asks for a human", session_id=session.id
    )
    return Owned(agent.id, document.id, key.id, session.id, notification.id)


Call = Callable[[Platform, Principal, Owned], object]

# Admin-side calls: the principal of another tenant is passed with the first tenant's ids.
FOREIGN_CALLS: dict[str, Call] = {
    "agents.get": lambda p, who, o: p.agents.get(who, o.agent_id),
    "agents.update": lambda p, who, o: p.agents.update(who, o.agent_id, AgentUpdate(description="mine now")),
    "agents.pause": lambda p, who, o: p.agents.pause(who, o.agent_id),
    "agents.resume": lambda p, who, o: p.agents.resume(who, o.agent_id),
    "agents.delete": lambda p, who, o: p.agents.delete(who, o.agent_id),
    "documents.upload": lambda p, who, o: p.documents.upload(who, o.agent_id, doc("x.md", b"x")),
    "documents.get": lambda p, who, o: p.documents.get(who, o.document_id),
    "documents.read_content": lambda p, who, o: p.documents.read_content(who, o.document_id),
    "documents.list": lambda p, who, o: p.documents.list(who, o.agent_id),
    "documents.delete": lambda p, who, o: p.documents.delete(who, o.document_id),
    "keys.mint": lambda p, who, o: p.keys.mint(who, MintKeyRequest(agent_id=o.agent_id, name="stolen")),
    "keys.revoke": lambda p, who, o: p.keys.revoke(who, o.key_id),
    "sessions.get": lambda p, who, o: p.sessions.get(who, o.session_id),
    "notifications.get": lambda p, who, o: p.notifications.get(who, o.notification_id),
    "notifications.mark_read": lambda p, who, o: p.notifications.mark_read(who, o.notification_id),
    "notifications.acknowledge": lambda p, who, o: p.notifications.acknowledge(who, o.notification_id),
}

# Runtime-side calls take a tenant id (resolved from an API key) instead of a principal.
FOREIGN_RUNTIME_CALLS: dict[str, Call] = {
    "sessions.start": lambda p, who, o: p.sessions.start(who.tenant_id, o.agent_id, Channel.TEXT),
    "sessions.append_turn": lambda p, who, o: p.sessions.append_turn(who.tenant_id, o.session_id, Role.CUSTOMER, "hi"),
    "sessions.set_status": lambda p, who, o: p.sessions.set_status(
        who.tenant_id, o.session_id, SessionStatus.HANDOFF_REQUESTED
    ),
    "sessions.end": lambda p, who, o: p.sessions.end(who.tenant_id, o.session_id),
}


def _outcome(call: Call, platform: Platform, principal: Principal, owned: Owned) -> str:
    try:
        call(platform, principal, owned)
    except OratioError as exc:
        return type(exc).__name__
    return "allowed"


def test_another_tenant_gets_not_found_for_every_id(platform: Platform, acme: Tenancy, globex: Tenancy) -> None:
    owned = _populate(platform, acme)
    before = event_types(platform, acme.tenant_id)
    calls = {**FOREIGN_CALLS, **FOREIGN_RUNTIME_CALLS}

    outcomes = {name: _outcome(call, platform, globex.principal, owned) for name, call in calls.items()}

    assert outcomes == dict.fromkeys(calls, "NotFound")
    # Nothing of the first tenant changed, and nothing was logged against it.
    assert platform.agents.get(acme.principal, owned.agent_id).spec.description == ""
    assert platform.documents.read_content(acme.principal, owned.document_id) == b"# FAQ\nOpen 9-5."
    assert [k.id for k in platform.keys.list(acme.principal).items] == [owned.key_id]
    assert platform.keys.list(acme.principal).items[0].revoked_at is None
    transcript = platform.sessions.get(acme.principal, owned.session_id)
    assert transcript.session.status is SessionStatus.ACTIVE
    assert [t.text for t in transcript.turns] == ["hello"]
    assert platform.notifications.get(acme.principal, owned.notification_id).read_at is None
    assert event_types(platform, acme.tenant_id) == before
    assert event_types(platform, globex.tenant_id) == []


def test_another_tenant_lists_nothing(platform: Platform, acme: Tenancy, globex: Tenancy) -> None:
    _populate(platform, acme)
    who = globex.principal

    assert platform.agents.list(who).items == []
    assert platform.keys.list(who).items == []
    assert platform.sessions.list(who, SessionFilter()).items == []
    assert platform.sessions.list_live(who).items == []
    assert platform.notifications.list(who).items == []
    assert [a.email for a in platform.tenants.list_admins(who)] == [globex.admin.email]
    # ...while the owner sees its records.
    assert len(platform.agents.list(acme.principal).items) == 1
    assert len(platform.sessions.list_live(acme.principal).items) == 1


def test_same_agent_name_is_allowed_in_two_tenants(platform: Platform, acme: Tenancy, globex: Tenancy) -> None:
    first = active_agent(platform, acme, "Support")
    second = active_agent(platform, globex, "Support")
    assert first.id != second.id
    assert [a.id for a in platform.agents.list(acme.principal).items] == [first.id]
    assert [a.id for a in platform.agents.list(globex.principal).items] == [second.id]


# Which calls a principal holding only `agents:read` may make, and which it may not.
READ_ONLY_REFUSED: dict[str, Call] = {
    "agents.create": lambda p, who, o: p.agents.create(who, _create_request()),
    "agents.update": lambda p, who, o: p.agents.update(who, o.agent_id, AgentUpdate(description="x")),
    "agents.pause": lambda p, who, o: p.agents.pause(who, o.agent_id),
    "agents.resume": lambda p, who, o: p.agents.resume(who, o.agent_id),
    "agents.delete": lambda p, who, o: p.agents.delete(who, o.agent_id),
    "documents.upload": lambda p, who, o: p.documents.upload(who, o.agent_id, doc("new.md", b"new")),
    "documents.delete": lambda p, who, o: p.documents.delete(who, o.document_id),
    "keys.mint": lambda p, who, o: p.keys.mint(who, MintKeyRequest(agent_id=o.agent_id, name="more")),
    "keys.revoke": lambda p, who, o: p.keys.revoke(who, o.key_id),
    "sessions.get": lambda p, who, o: p.sessions.get(who, o.session_id),
    "sessions.list": lambda p, who, o: p.sessions.list(who, SessionFilter()),
    "notifications.list": lambda p, who, o: p.notifications.list(who),
    "notifications.acknowledge": lambda p, who, o: p.notifications.acknowledge(who, o.notification_id),
    "tenants.list_admins": lambda p, who, o: p.tenants.list_admins(who),
    "tenants.add_admin": lambda p, who, o: p.tenants.add_admin(who, "intruder@example.com", "Intruder"),
}
READ_ONLY_ALLOWED: dict[str, Call] = {
    "agents.get": lambda p, who, o: p.agents.get(who, o.agent_id),
    "agents.list": lambda p, who, o: p.agents.list(who),
    "documents.get": lambda p, who, o: p.documents.get(who, o.document_id),
    "documents.list": lambda p, who, o: p.documents.list(who, o.agent_id),
    "keys.list": lambda p, who, o: p.keys.list(who),
}


def _create_request() -> CreateAgent:
    return CreateAgent(spec=AgentSpec(name="Sneaky", sop=SOP), documents=[doc("a.md", b"a")])


def test_a_missing_scope_is_forbidden_and_changes_nothing(platform: Platform, acme: Tenancy) -> None:
    owned = _populate(platform, acme)
    before = event_types(platform, acme.tenant_id)
    reader = narrow(acme, Scope.AGENTS_READ)

    refused = {name: _outcome(call, platform, reader, owned) for name, call in READ_ONLY_REFUSED.items()}
    allowed = {name: _outcome(call, platform, reader, owned) for name, call in READ_ONLY_ALLOWED.items()}

    assert refused == dict.fromkeys(READ_ONLY_REFUSED, "Forbidden")
    assert allowed == dict.fromkeys(READ_ONLY_ALLOWED, "allowed")
    assert event_types(platform, acme.tenant_id) == before
    assert [a.id for a in platform.agents.list(acme.principal).items] == [owned.agent_id]
    assert [d.id for d in platform.documents.list(acme.principal, owned.agent_id).items] == [owned.document_id]
    assert len(platform.tenants.list_admins(acme.principal)) == 1


def test_a_principal_without_scopes_may_do_nothing(platform: Platform, acme: Tenancy) -> None:
    owned = _populate(platform, acme)
    nobody = narrow(acme)
    with pytest.raises(Forbidden, match="agents:read"):
        platform.agents.get(nobody, owned.agent_id)
    with pytest.raises(Forbidden, match="sessions:read"):
        platform.notifications.get(nobody, owned.notification_id)


def test_scope_is_checked_before_the_id_is_looked_up(platform: Platform, acme: Tenancy, globex: Tenancy) -> None:
    owned = _populate(platform, acme)
    # A foreign reader asking to write learns only that it may not write, not whether the id exists.
    with pytest.raises(Forbidden):
        platform.agents.delete(narrow(globex, Scope.AGENTS_READ), owned.agent_id)
    with pytest.raises(NotFound):
        platform.agents.delete(narrow(globex, Scope.AGENTS_WRITE), owned.agent_id)
    assert platform.agents.get(acme.principal, owned.agent_id).id == owned.agent_id


def test_each_narrow_scope_unlocks_only_its_own_calls(platform: Platform, acme: Tenancy) -> None:
    owned = _populate(platform, acme)
    keys_writer = narrow(acme, Scope.KEYS_WRITE)
    minted = platform.keys.mint(keys_writer, MintKeyRequest(agent_id=owned.agent_id, name="ci"))
    assert minted.key.agent_id == owned.agent_id
    with pytest.raises(Forbidden):
        platform.keys.list(keys_writer)  # listing needs agents:read

    sessions_reader = narrow(acme, Scope.SESSIONS_READ)
    assert [s.id for s in platform.sessions.list_live(sessions_reader).items] == [owned.session_id]
    assert platform.notifications.mark_read(sessions_reader, owned.notification_id).read_at is not None
    with pytest.raises(Forbidden):
        platform.agents.get(sessions_reader, owned.agent_id)
