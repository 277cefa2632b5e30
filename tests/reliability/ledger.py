"""What each tenant owns, as far as a property test knows, and the checks that nothing crossed over.

A `Ledger` is updated only from what a door answered (an id in a successful reply), so it is the
test's independent model of the tenant: every id the other tenant ever had must read as unknown,
and must never appear in anything this tenant gets back or in this tenant's event log.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.reliability.world import Side

KINDS = ("agent", "document", "key", "session", "notification")


@dataclass
class Ledger:
    """One tenant's records: live ids by kind, what was deleted, and every id it ever had."""

    tenant_id: str
    live: dict[str, list[str]] = field(default_factory=lambda: {kind: [] for kind in KINDS})
    gone: set[str] = field(default_factory=set)
    children: dict[str, set[str]] = field(default_factory=dict)
    """agent id -> its documents and keys, which go when it goes (sessions and notifications stay)."""
    secrets: dict[str, str] = field(default_factory=dict)
    """key id -> secret, for every key minted through a door."""
    key_agent: dict[str, str] = field(default_factory=dict)
    revoked: set[str] = field(default_factory=set)
    customer_sessions: dict[str, str] = field(default_factory=dict)
    """session id -> agent id, for sessions a customer's key started: only those a key of that agent may go on
    with (an admin's test chat, or another agent's session, is "not found" to a customer's key)."""
    protected: set[str] = field(default_factory=set)
    """Ids no operation deletes or revokes (the tenant's main agent and its first key), so every door keeps
    something to work on: with them gone, a run's key-holding doors could only be refused from then on."""
    everything: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, side: Side, document_id: str) -> Ledger:
        ledger = cls(tenant_id=side.tenant_id)
        ledger.everything |= {side.tenant_id, side.admin.id}
        ledger.add("agent", side.agent.id)
        ledger.add("document", document_id, parent=side.agent.id)
        ledger.add_key(side.key_id, side.secret, side.agent.id)
        ledger.protected |= {side.agent.id, side.key_id}
        return ledger

    def add(self, kind: str, ident: str, *, parent: str | None = None) -> None:
        if ident not in self.live[kind]:
            self.live[kind].append(ident)
        self.everything.add(ident)
        if parent is not None:
            self.children.setdefault(parent, set()).add(ident)

    def add_key(self, key_id: str, secret: str, agent_id: str) -> None:
        self.add("key", key_id, parent=agent_id)
        self.secrets[key_id] = secret
        self.key_agent[key_id] = agent_id

    def add_customer_session(self, session_id: str, agent_id: str) -> None:
        self.add("session", session_id)
        self.customer_sessions[session_id] = agent_id

    def pick_customer_session(self, agent_id: str, index: int) -> str | None:
        choices = [s for s, agent in self.customer_sessions.items() if agent == agent_id and s in self.live["session"]]
        return choices[index % len(choices)] if choices else None

    def remove(self, ident: str) -> None:
        for kind in KINDS:
            if ident in self.live[kind]:
                self.live[kind].remove(ident)
        self.gone.add(ident)
        for child in self.children.pop(ident, set()):
            self.remove(child)

    def pick(self, kind: str, index: int, *, deletable: bool = False) -> str | None:
        choices = [i for i in self.live[kind] if not (deletable and i in self.protected)]
        return choices[index % len(choices)] if choices else None


def unknown_id(kind: str) -> str:
    """A well-formed id nobody has: the baseline another tenant's ids must be indistinguishable from."""
    prefix = {"agent": "agt", "document": "doc", "key": "key", "session": "ses", "notification": "ntf"}[kind]
    return f"{prefix}_{secrets.token_hex(13)}"


def assert_nothing_of(theirs: Ledger, payload: Any, where: str, *, asked: str = "") -> None:
    """No id of the other tenant (nor its tenant id) anywhere in `payload`, and no foreign tenant_id field.

    `asked` is the id the caller sent: a refusal may echo it back ("agent '...' was not found").
    """
    text = json.dumps(payload, default=str)
    leaked = sorted(ident for ident in theirs.everything if ident in text and ident != asked)
    assert not leaked, f"{where}: the other tenant's ids {leaked} leaked into {text[:500]}"
    for owner in _tenant_fields(payload):
        assert owner != theirs.tenant_id, f"{where}: a record of the other tenant came back: {text[:500]}"


def _tenant_fields(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "tenant_id" and isinstance(item, str):
                yield item
            else:
                yield from _tenant_fields(item)
    elif isinstance(value, list):
        for item in value:
            yield from _tenant_fields(item)
