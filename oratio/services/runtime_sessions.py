"""Durable AgentCore runtime session ids: a client-chosen id continues its Oratio session on any replica.

The runtime door keeps a small memory cache in front (`agentcore_apps.contract.SessionBindings`);
this is what the cache falls back to, so a turn that lands on another replica, a new microVM or a
restarted process still continues the conversation. First bind wins (a conditional insert): when two
replicas race on one fresh id, both end up naming the first stored session from then on.
"""

from __future__ import annotations

from datetime import timedelta

from oratio.errors import Conflict
from oratio.services._common import Backends
from oratio.store.ports import DeleteOutcome
from oratio.store.tables import RUNTIME_SESSION_EXPIRY_BUCKETS, RUNTIME_SESSIONS
from schemas.outbox import sortable
from schemas.runtime_sessions import RuntimeSessionAlias

ALIAS_TTL = timedelta(hours=8)
"""AgentCore ends a runtime session after 8 hours at most; its id means nothing after that."""


class RuntimeSessionAliases:
    """get / bind / sweep over the `runtime_sessions` table. Blocking: call from a worker thread."""

    def __init__(self, backends: Backends, ttl: timedelta = ALIAS_TTL) -> None:
        self._b = backends
        self._ttl = ttl

    def get(self, tenant_id: str, agent_id: str, runtime_id: str) -> str | None:
        """The Oratio session `runtime_id` continues, or None (never bound, or expired)."""
        alias = self._b.store.get(RUNTIME_SESSIONS, tenant_id, f"{agent_id}#{runtime_id}")
        if alias is None or alias.expires_at <= self._b.clock():
            return None
        return alias.session_id

    def bind(self, tenant_id: str, agent_id: str, runtime_id: str, session_id: str) -> str:
        """Bind `runtime_id` to `session_id` unless a live binding exists; returns the session that won."""
        now = self._b.clock()
        alias = RuntimeSessionAlias(
            tenant_id=tenant_id,
            agent_id=agent_id,
            runtime_id=runtime_id,
            session_id=session_id,
            created_at=now,
            expires_at=now + self._ttl,
        )
        for _ in range(3):  # an expired row is replaced; a live one (ours or a racer's) wins
            try:
                return self._b.store.insert(RUNTIME_SESSIONS, alias).session_id
            except Conflict:
                stored = self._b.store.get(RUNTIME_SESSIONS, tenant_id, f"{agent_id}#{runtime_id}")
                if stored is None:
                    continue  # swept between our insert and read: try again
                if stored.expires_at > now:
                    return stored.session_id
                try:
                    return self._b.store.replace(
                        RUNTIME_SESSIONS, alias.model_copy(update={"version": stored.version})
                    ).session_id
                except Conflict:
                    continue
        raise Conflict("this runtime session id is being bound by another request; retry")

    def sweep(self, limit: int = 200) -> int:
        """Delete up to `limit` expired bindings per expiry bucket (the session sweeper calls this).

        Each delete is conditional on the binding still being the one read (`delete_unchanged`): a
        replica may rebind the id between the query and the delete (and on DynamoDB the expiry index
        may still show a row rebound a moment ago), and a delete by key would drop that live binding,
        so the conversation's next message would start a new session. Returns how many were deleted."""
        until = f"{sortable(self._b.clock())}#~"
        gone = 0
        for bucket in range(RUNTIME_SESSION_EXPIRY_BUCKETS):
            page = self._b.store.query(
                RUNTIME_SESSIONS, f"runtime_sessions#{bucket}", index="by_expiry", sort_to=until, limit=limit
            )
            for alias in page.items:
                if self._b.store.delete_unchanged(RUNTIME_SESSIONS, alias) is DeleteOutcome.DELETED:
                    gone += 1
        return gone
