"""Sessions and transcripts: started and appended to by the runtime, queried by admins.

A turn is written before the session's counters, so an acknowledged turn is never lost even if
the counter update does not happen; `message_count` is informational, the turns are the truth.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from pydantic import TypeAdapter, ValidationError

from oratio.auth.principals import service_principal
from oratio.errors import Conflict, InvalidInput, InvalidState, NotFound
from oratio.ids import new_id
from oratio.recordings import recording_key, session_recordings
from oratio.services._common import Backends, all_items, authorize, check_limit, require, update_with_retry
from oratio.store.ports import Insert, Page, Replace, Unchanged, Write
from oratio.store.tables import AGENTS, ANALYSES, SESSIONS, TURNS
from schemas import (
    AgentStatus,
    Channel,
    EventType,
    NewEvent,
    PendingAction,
    Principal,
    Role,
    Scope,
    Session,
    SessionFilter,
    SessionOrigin,
    SessionStatus,
    SessionWithTranscript,
    Source,
    ToolCallRecord,
    Turn,
    TurnLock,
)
from schemas._base import Limits, Metadata

TURN_APPEND_ATTEMPTS = 20
RECENT_TURNS = 100
"""Turns `continued` returns by default: the most a runtime restores into a model's context."""
MAX_PAGES_PER_LIST = 20
SEARCH_TEXT_MAX = 200
SEARCH_SCAN_MAX = 500
"""Sessions whose transcripts one `search` call reads at most; the caller pages on with the cursor."""
SEARCH_TURNS_MAX = 1000
"""Turns of one session that search reads; a longer transcript is searched in its first 1000 turns."""


class Keep:
    """`append_next(pending_action=KEEP)`: leave the session's held write action as it is."""


KEEP = Keep()


class RecordMoved(Conflict):
    """`append_next(unchanged=...)`: a record the turn was checked against moved; nothing was stored."""


class TurnContended(Conflict):
    """`append_next(take=...)`: the session moved since it was read (another turn took it, say); nothing was
    stored. The engine reads the session again and waits for the lock it will then see."""


class _AlreadyThere(Exception):
    """Raised inside a compare-and-set to leave the session untouched (`set_status_once`, `release_turn`,
    `interrupt_orphans`)."""


ENDED = frozenset({SessionStatus.COMPLETED, SessionStatus.INTERRUPTED, SessionStatus.ERROR})

_CUSTOMER: TypeAdapter[dict[str, str]] = TypeAdapter(Metadata)
CUSTOMER_LIMITS = (
    f"customer details: up to {Limits.METADATA_KEYS_MAX} fields, names of 1-{Limits.METADATA_KEY_MAX} "
    f"characters (no control characters), values up to {Limits.METADATA_VALUE_MAX} characters"
)
"""Short enough (< 123 bytes) to be a WebSocket close reason whole."""


def checked_customer(customer: Mapping[str, str] | None) -> dict[str, str]:
    """The customer details a caller sent, within `Limits`, or InvalidInput saying what the limits are.

    Checked here, where every door's new session passes (text runtime, voice bridge, test chat), so
    no door can store an unbounded field name by forgetting a schema.
    """
    try:
        return _CUSTOMER.validate_python(dict(customer or {}))
    except (ValidationError, TypeError, ValueError):
        raise InvalidInput(CUSTOMER_LIMITS, field="customer") from None


class SessionService:
    def __init__(self, backends: Backends, owner: Callable[[], str | None] = lambda: None) -> None:
        self._b = backends
        self._owner = owner
        """This process's lease owner id while it holds a lease (else None), stamped on the sessions it starts."""

    # -- runtime side: acts for a customer whose key was already checked -------------------------

    def start(
        self,
        tenant_id: str,
        agent_id: str,
        channel: Channel,
        customer: Mapping[str, str] | None = None,
        *,
        tester: str | None = None,
    ) -> Session:
        """Open a session; `tester` (an admin id) marks it as that admin's test chat, which no API key continues."""
        details = checked_customer(customer)
        agent = require(self._b.store.get(AGENTS, tenant_id, agent_id), "agent", agent_id)
        if agent.status is not AgentStatus.ACTIVE:
            raise InvalidState(f"agent '{agent_id}' is {agent.status.value} and is not taking conversations")
        now = self._b.clock()
        session = Session(
            tenant_id=tenant_id,
            id=new_id("session"),
            agent_id=agent_id,
            channel=channel,
            started_at=now,
            last_activity_at=now,
            customer=details,
            owner=self._owner(),
            origin=SessionOrigin.CUSTOMER if tester is None else SessionOrigin.ADMIN_TEST,
            tester=tester,
        )
        stored = self._b.store.insert(SESSIONS, session)
        self._b.emit(tenant_id, EventType.SESSION_STARTED, stored.id, agent_id=agent_id, channel=channel.value)
        return stored

    def continued(
        self, tenant_id: str, agent_id: str, session_id: str, *, as_tester: bool = False, recent: int = RECENT_TURNS
    ) -> SessionWithTranscript:
        """The session a caller asks to go on with, and its last `recent` turns, if that caller may continue it.

        Two reads, whatever the transcript's length: the session record and one page of its newest
        turns (a runtime sends no more than that to a model). Recordings are not listed.

        A customer's key never continues an admin's test chat: it gets the same NotFound as an unknown
        id, so it learns nothing (not even that the id exists). An admin's test chat does not speak in
        a customer's session either (it may read it, as any session); it is told so plainly, since an
        admin of the tenant may know the session exists.
        """
        session = require(self._b.store.get(SESSIONS, tenant_id, session_id), "session", session_id)
        if session.agent_id != agent_id:
            raise NotFound.of("session", session_id)
        if session.origin is SessionOrigin.ADMIN_TEST and not as_tester:
            raise NotFound.of("session", session_id)
        if as_tester and session.origin is not SessionOrigin.ADMIN_TEST:
            raise InvalidState("only test sessions started with chat_with_agent can be continued here")
        if session.status in ENDED:
            ended = session.status.value
            raise InvalidState(f"session '{session.id}' has ended ({ended}); send no session id to start anew")
        return SessionWithTranscript(session=session, turns=self.recent_turns(tenant_id, session_id, recent))

    def open_or_continue(
        self,
        tenant_id: str,
        agent_id: str,
        session_id: str | None,
        channel: Channel,
        customer: Mapping[str, str] | None = None,
        *,
        tester: str | None = None,
        recent: int = RECENT_TURNS,
    ) -> SessionWithTranscript:
        """The one way a door opens a conversation: continue `session_id` (with its last `recent` turns) or,
        when it is None, start a session (no turns yet).

        Text, voice and the admin's test chat all come through here, so the continuation rules of
        `continued` (a key never continues a test chat, an ended session is refused) and the start
        rules of `start` (an active agent, checked customer details) hold for every door alike.
        """
        if session_id is None:
            session = self.start(tenant_id, agent_id, channel, customer, tester=tester)
            return SessionWithTranscript(session=session, turns=[])
        return self.continued(tenant_id, agent_id, session_id, as_tester=tester is not None, recent=recent)

    def status(self, tenant_id: str, session_id: str) -> SessionStatus:
        """The session's status now: one read of its record, never its transcript (a voice call deciding
        how it ends needs no more). NotFound for an unknown session."""
        return self.record(tenant_id, session_id).status

    def record(self, tenant_id: str, session_id: str) -> Session:
        """The session record now (status, handoff, `paused`), without its transcript: one read, cheap enough
        for a voice call to check on every caller utterance whether a person has the conversation."""
        return require(self._b.store.get(SESSIONS, tenant_id, session_id), "session", session_id)

    def recent_turns(self, tenant_id: str, session_id: str, count: int = RECENT_TURNS) -> list[Turn]:
        """The session's last `count` turns (at most one page), oldest first: one query, not the whole transcript."""
        if count <= 0:
            return []
        page = self._b.store.query(
            TURNS, f"{tenant_id}#{session_id}", descending=True, limit=min(count, Limits.PAGE_SIZE_MAX)
        )
        return page.items[::-1]

    def append_next(
        self,
        session: Session,
        seq: int,
        role: Role,
        text: str,
        sources: Sequence[Source] = (),
        *,
        failed_turns: int | None = None,
        tool_calls: Sequence[ToolCallRecord] = (),
        pending_action: PendingAction | None | Keep = KEEP,
        unchanged: Sequence[Unchanged[Any]] = (),
        take: TurnLock | None = None,
        release: TurnLock | None = None,
    ) -> tuple[Session, Turn]:
        """Add turn `seq` to a session the caller has just read (or written): one transaction, no reads.

        The runtime holds the session record and its last turn's seq, so it need not read them again:
        the turn and the session's counters are written together, on the condition that the session
        is still the version the caller holds and `seq` is still free. If anything moved meanwhile
        (another turn, a handoff, an ending), this falls back to `append_turn`, which reads afresh and
        refuses an ended session, so behaviour is the same as always appending with `append_turn`.
        Returns the stored session (for the next call) and the stored turn. `failed_turns`, when given
        (with an agent turn), is the session's new count of consecutive turns the agent could not help.
        `tool_calls` (an agent turn) are stored on the turn and announced as `session.tool_call` events in
        the same commit; `pending_action` (unless KEEP) replaces the session's held write action, also in
        the same commit: the confirmation gate's state moves with the turn that moved it.
        `unchanged` are records the turn was checked against (the agent, read in an earlier turn): it is
        stored only while they are still those versions, in the same commit; RecordMoved, with nothing
        stored, when one moved.
        `take` (the customer's turn) sets the session's turn lock in the same commit, which is conditional
        on the version read, so of two processes that read the session unlocked at once only one takes it;
        the other gets TurnContended with nothing stored (no fallback: it must read afresh and wait). The
        session's `owner` becomes this process, which now serves it (crash recovery follows the last turn).
        `release` (the agent's turn) clears that lock in the same commit: taking and releasing cost no
        write of their own.
        """
        tenant_id, session_id = session.tenant_id, session.id
        if session.status in ENDED:
            raise InvalidState(f"session '{session_id}' has ended ({session.status.value})")
        now = self._b.clock()
        turn = Turn(
            tenant_id=tenant_id,
            session_id=session_id,
            seq=seq,
            role=role,
            text=text,
            sources=list(sources),
            tool_calls=list(tool_calls),
            started_at=now,
        )
        changes: dict[str, object] = {}
        if failed_turns is not None:
            changes["failed_turns"] = failed_turns
        if not isinstance(pending_action, Keep):
            changes["pending_action"] = pending_action
        counters: dict[str, object] = {"message_count": max(session.message_count, seq), "last_activity_at": now}
        locking: dict[str, object] = {}
        if take is not None:
            locking = {"turn_lock": take, "owner": self._owner() or session.owner}
        elif release is not None:
            locking = {"turn_lock": None}
        counted = session.model_copy(update={**counters, **changes, **locking})
        try:
            # The turn, the session's counters, the turn's events and the records it was checked against: one commit.
            writes: list[Write] = [Insert(TURNS, turn), Replace(SESSIONS, counted), *unchanged]
            stored, updated, *_ = self._b.transact(writes, [_turn_event(turn), *_tool_call_events(session, turn)])
        except Conflict:
            if any(self._moved(record) for record in unchanged):
                raise RecordMoved("a record this turn was checked against changed; check it again") from None
            if take is not None:
                raise TurnContended(f"session '{session_id}' moved since it was read; read it again") from None
            stored = self.append_turn(tenant_id, session_id, role, text, sources, tool_calls=tool_calls)
            if changes or release is not None:

                def apply(s: Session) -> Session:
                    mine = release is not None and s.turn_lock is not None and s.turn_lock.token == release.token
                    return s.model_copy(update={**changes, **({"turn_lock": None} if mine else {})})

                update_with_retry(self._b.store, SESSIONS, tenant_id, session_id, "session", apply)
            for event in _tool_call_events(session, stored):
                self._b.append(event)
            updated = require(self._b.store.get(SESSIONS, tenant_id, session_id), "session", session_id)
            return updated, stored
        return updated, stored

    def new_turn_lock(self, seconds: float) -> TurnLock:
        """A lock for a turn about to start here, lapsing `seconds` from now (`append_next(take=...)` takes it)."""
        owner = self._owner() or f"unleased-{os.getpid()}"
        return TurnLock(owner=owner, token=new_id("turn"), until=self._b.clock() + timedelta(seconds=seconds))

    def release_turn(self, tenant_id: str, session_id: str, lock: TurnLock) -> None:
        """Clear the session's turn lock if `lock` still holds it: a turn that ended without storing an agent
        turn (a paused session, a client gone mid-stream, a failure) frees its session for the next at once.
        Another turn's lock (ours lapsed and was taken over) is left alone; a session gone is nothing to free."""

        def apply(s: Session) -> Session:
            if s.turn_lock is None or s.turn_lock.token != lock.token:
                raise _AlreadyThere
            return s.model_copy(update={"turn_lock": None})

        try:
            update_with_retry(self._b.store, SESSIONS, tenant_id, session_id, "session", apply)
        except (_AlreadyThere, NotFound):
            return

    def _moved(self, condition: Unchanged[Any]) -> bool:
        table, item = condition.table, condition.item
        current = self._b.store.get(table, table.partition(item), table.sort(item))
        return current is None or current.version != item.version

    def append_turn(
        self,
        tenant_id: str,
        session_id: str,
        role: Role,
        text: str,
        sources: Sequence[Source] = (),
        *,
        tool_calls: Sequence[ToolCallRecord] = (),
    ) -> Turn:
        """Durably add a turn with the session's next seq; returns once it is stored."""
        session = require(self._b.store.get(SESSIONS, tenant_id, session_id), "session", session_id)
        if session.status in ENDED:
            raise InvalidState(f"session '{session_id}' has ended ({session.status.value})")
        partition = f"{tenant_id}#{session_id}"
        for _ in range(TURN_APPEND_ATTEMPTS):
            last = self._b.store.query(TURNS, partition, descending=True, limit=1).items
            seq = last[0].seq + 1 if last else 1
            turn = Turn(
                tenant_id=tenant_id,
                session_id=session_id,
                seq=seq,
                role=role,
                text=text,
                sources=list(sources),
                tool_calls=list(tool_calls),
                started_at=self._b.clock(),
            )
            try:
                stored = self._b.store.insert(TURNS, turn)
                break
            except Conflict:
                continue
        else:
            raise Conflict(f"session '{session_id}' is receiving turns too fast; try again")

        def count(s: Session) -> Session:
            return s.model_copy(
                update={"message_count": max(s.message_count, seq), "last_activity_at": self._b.clock()}
            )

        update_with_retry(self._b.store, SESSIONS, tenant_id, session_id, "session", count)
        self._turn_event(stored)
        for event in _tool_call_events(session, stored):
            self._b.append(event)
        return stored

    def hold_action(self, tenant_id: str, session_id: str, action: PendingAction | None) -> Session:
        """Set (or clear, with None) the session's held write action outside a turn's commit.

        The text engine moves it with its turns (`append_next`); a speech-to-speech call, whose turns
        are stored as transcripts complete, keeps it here as the confirmation gate moves.
        """
        return update_with_retry(
            self._b.store,
            SESSIONS,
            tenant_id,
            session_id,
            "session",
            lambda s: s.model_copy(update={"pending_action": action}),
        )

    def _turn_event(self, turn: Turn) -> None:
        self._b.append(_turn_event(turn))

    def set_status(self, tenant_id: str, session_id: str, status: SessionStatus, reason: str | None = None) -> Session:
        """Move a session on: ended sessions stay ended; handoff can be requested once it is live."""
        return self._move(tenant_id, session_id, status, reason, once=False)

    def set_status_once(
        self, tenant_id: str, session_id: str, status: SessionStatus, reason: str | None = None
    ) -> Session | None:
        """Like `set_status`, but None (no write, no event) if the session already has `status`.

        Checked on the version being replaced, so of several racing callers exactly one moves the
        session: the one that should, e.g., alert people about a handoff.
        """
        try:
            return self._move(tenant_id, session_id, status, reason, once=True)
        except _AlreadyThere:
            return None

    def _move(
        self,
        tenant_id: str,
        session_id: str,
        status: SessionStatus,
        reason: str | None,
        *,
        once: bool,
        owned_by: str | None | Keep = KEEP,
    ) -> Session:
        def apply(s: Session) -> Session:
            if once and s.status is status:
                raise _AlreadyThere
            if not isinstance(owned_by, Keep) and (s.owner != owned_by or s.status is not SessionStatus.ACTIVE):
                raise _AlreadyThere  # another process took the session over since it was read: it is live
            if s.status in ENDED:
                raise InvalidState(f"session '{session_id}' has already ended ({s.status.value})")
            update: dict[str, object] = {"status": status, "last_activity_at": self._b.clock()}
            if status in ENDED:
                update |= {"ended_at": self._b.clock(), "end_reason": reason}
            return s.model_copy(update=update)

        updated = update_with_retry(self._b.store, SESSIONS, tenant_id, session_id, "session", apply)
        self._b.emit(tenant_id, EventType.SESSION_STATUS, session_id, status=status.value, reason=reason)
        return updated

    def record_collected(self, tenant_id: str, session_id: str, values: Mapping[str, str]) -> Session:
        """Merge what the agent collected (e.g. an account number) into the session; later values win."""

        def apply(s: Session) -> Session:
            return s.model_copy(update={"collected": {**s.collected, **values}})

        updated = update_with_retry(self._b.store, SESSIONS, tenant_id, session_id, "session", apply)
        self._b.emit(tenant_id, EventType.SESSION_COLLECTED, session_id, fields=sorted(values))
        return updated

    def end(self, tenant_id: str, session_id: str, reason: str = "ended") -> Session:
        return self.set_status(tenant_id, session_id, SessionStatus.COMPLETED, reason)

    def interrupt_orphans(
        self, owner_alive: Callable[[str | None], bool] = lambda _: False, *, unowned: bool = True
    ) -> int:
        """After a crash: mark `active` sessions whose owning process is not alive `interrupted`. Returns how many.

        `owner_alive` is `LeaseService.is_alive`: a session served by a running process is never touched.
        The default treats every owner as gone (a single process recovering its own previous run).
        `unowned=False` leaves sessions no leased process started (a stateless runtime's) to a start-up.
        The owner is checked again in the compare-and-set itself: a session a live replica took over between
        the read and the write (its next turn, `append_next(take=...)`, makes that replica its owner) is left
        alone, so no process ever ends a session another live process serves.
        """
        count = 0
        for session in all_items(self._b.store, SESSIONS, "active", index="open"):
            if (session.owner is None and not unowned) or owner_alive(session.owner):
                continue
            try:
                self._move(
                    session.tenant_id,
                    session.id,
                    SessionStatus.INTERRUPTED,
                    "platform restarted",
                    once=False,
                    owned_by=session.owner,
                )
                count += 1
            except (InvalidState, _AlreadyThere):
                continue
        return count

    # -- admin side ----------------------------------------------------------------------------

    def save_recording(
        self, tenant_id: str, agent_id: str, session_id: str, call_id: str, wav: BinaryIO, *, seconds: float
    ) -> str:
        """Store one call's recording (streamed, never whole in memory) and announce it; returns its key.

        Each call of a session keeps its own object (`oratio.recordings`), so a caller who rings back
        never overwrites the first call. The `session.recording` event tells the dashboard where it is.
        """
        key = recording_key(tenant_id, agent_id, session_id, call_id)
        self._b.blobs.put_stream(key, wav, content_type="audio/wav")
        self._b.emit(
            tenant_id,
            EventType.SESSION_RECORDING,
            session_id,
            key=key,
            seconds=round(seconds, 2),
            format="wav, 16 kHz stereo: left customer, right agent",
        )
        return key

    def get(self, principal: Principal, session_id: str) -> SessionWithTranscript:
        tenant_id = authorize(principal, Scope.SESSIONS_READ)
        session = require(self._b.store.get(SESSIONS, tenant_id, session_id), "session", session_id)
        turns = all_items(self._b.store, TURNS, f"{tenant_id}#{session_id}")
        recordings = session_recordings(self._b.blobs, tenant_id, session.agent_id, session_id)
        analysis = self._b.store.get(ANALYSES, tenant_id, session_id) if session.analysed else None
        return SessionWithTranscript(session=session, turns=turns, recordings=recordings, analysis=analysis)

    def recording(self, principal: Principal, session_id: str, index: int) -> tuple[str, bytes]:
        """The session's `index`-th recording (0 = oldest) as (key, WAV bytes), for the dashboard's player.

        The key is found from the session the principal's tenant owns, never taken from the caller, so an
        admin can only ever play recordings of their own tenant's sessions; any miss is a NotFound.
        """
        tenant_id = authorize(principal, Scope.SESSIONS_READ)
        session = require(self._b.store.get(SESSIONS, tenant_id, session_id), "session", session_id)
        keys = session_recordings(self._b.blobs, tenant_id, session.agent_id, session_id)
        if not 0 <= index < len(keys):
            raise NotFound(f"session '{session_id}' has no recording {index}")
        try:
            return keys[index], self._b.blobs.get(keys[index])
        except NotFound:  # deleted between the listing and the read; the blob's message would name the key
            raise NotFound(f"session '{session_id}' has no recording {index}") from None

    def recent(self, principal: Principal, session_id: str, count: int) -> SessionWithTranscript:
        """The session and only its last `count` turns (at most one page), oldest first: what a follower of a
        live conversation reads again on every change, at the cost of one query however long the call."""
        tenant_id = authorize(principal, Scope.SESSIONS_READ)
        session = require(self._b.store.get(SESSIONS, tenant_id, session_id), "session", session_id)
        return SessionWithTranscript(session=session, turns=self.recent_turns(tenant_id, session_id, count))

    def list_live(self, principal: Principal, *, limit: int = 50, cursor: str | None = None) -> Page[Session]:
        return self.list(principal, SessionFilter(status=SessionStatus.ACTIVE, limit=limit, cursor=cursor))

    def live(self, principal: Principal, *, limit: int = 50, turns: int = 0) -> list[SessionWithTranscript]:
        """Conversations in progress for the Live tab: those waiting for a person, then the active ones (up to
        `limit` of each), each with its last `turns` turns, oldest first (none when `turns` is 0).

        Two listing queries, then one turns query per session: a session listed is not read again unless its
        turns show it moved since (a turn past its `message_count`), so a card's status and transcript still
        agree, and twenty cards cost about 22 queries, not 2 + 2 x 20 (each session re-read with its turns).
        """
        tenant_id = authorize(principal, Scope.SESSIONS_READ)
        waiting = self.list(principal, SessionFilter(status=SessionStatus.HANDOFF_REQUESTED, limit=limit)).items
        found = waiting + self.list_live(principal, limit=limit).items
        shown: list[SessionWithTranscript] = []
        for session in found:
            recent = self.recent_turns(tenant_id, session.id, turns)
            if recent and recent[-1].seq > session.message_count:  # a turn landed since the listing
                session = self._b.store.get(SESSIONS, tenant_id, session.id) or session
            shown.append(SessionWithTranscript(session=session, turns=recent))
        return shown

    def list(self, principal: Principal, query: SessionFilter) -> Page[Session]:
        """Newest first. Uses the narrowest index, then filters the rest page by page."""
        tenant_id = authorize(principal, Scope.SESSIONS_READ)
        check_limit(query.limit)
        if query.started_after and query.started_before and query.started_after > query.started_before:
            raise InvalidInput("started_after is later than started_before", field="started_after")
        sort_from = _iso(query.started_after)
        sort_to = _iso(query.started_before, upper=True)
        if query.outcome is not None:
            return self._list_by_outcome(tenant_id, query)
        if query.agent_id is not None:
            partition, index = f"{tenant_id}#{query.agent_id}", "by_agent"
        elif query.status is not None:
            partition, index = f"{tenant_id}#{query.status.value}", "by_status"
        else:
            partition, index, sort_from, sort_to = tenant_id, None, None, None

        wanted = _matcher(query)
        found: list[Session] = []
        cursor = query.cursor
        for _ in range(MAX_PAGES_PER_LIST):
            page = self._b.store.query(
                SESSIONS,
                partition,
                index=index,
                sort_from=sort_from,
                sort_to=sort_to,
                descending=True,
                limit=query.limit - len(found),
                cursor=cursor,
            )
            found.extend(s for s in page.items if wanted(s))
            cursor = page.next_cursor
            if cursor is None or len(found) >= query.limit:
                break
        return Page(items=found, next_cursor=cursor)

    def _list_by_outcome(self, tenant_id: str, query: SessionFilter) -> Page[Session]:
        """Ended sessions analysed with `query.outcome`, newest first (the analyses' outcome index), each
        read and held to the query's other filters: at most `limit` session reads per page."""
        wanted = _matcher(query)
        found: list[Session] = []
        cursor = query.cursor
        partition = f"{tenant_id}#{query.outcome.value if query.outcome else ''}"
        for _ in range(MAX_PAGES_PER_LIST):
            page = self._b.store.query(
                ANALYSES, partition, index="by_outcome", descending=True, limit=query.limit - len(found), cursor=cursor
            )
            for analysis in page.items:
                session = self._b.store.get(SESSIONS, tenant_id, analysis.id)
                if session is not None and wanted(session):
                    found.append(session)
            cursor = page.next_cursor
            if cursor is None or len(found) >= query.limit:
                break
        return Page(items=found, next_cursor=cursor)

    def search(self, principal: Principal, query: SessionFilter, text: str) -> Page[Session]:
        """Sessions matching `query` whose transcript contains `text` (case-insensitive), newest first.

        A scan, not an index: it reads the transcripts of at most SEARCH_SCAN_MAX candidate sessions
        per call, so a page may hold fewer than `query.limit` sessions while `next_cursor` is set.
        """
        tenant_id = authorize(principal, Scope.SESSIONS_READ)
        needle = text.strip().casefold()
        if not needle:
            raise InvalidInput("search text is empty", field="q")
        if len(needle) > SEARCH_TEXT_MAX:
            raise InvalidInput(f"search text is longer than {SEARCH_TEXT_MAX} characters", field="q")
        found: list[Session] = []
        scanned = 0
        cursor = query.cursor
        while True:
            # Ask for no more candidates than can still be kept, so the cursor never skips a match.
            want = min(query.limit - len(found), SEARCH_SCAN_MAX - scanned)
            page = self.list(principal, query.model_copy(update={"limit": want, "cursor": cursor}))
            scanned += len(page.items)
            found.extend(s for s in page.items if self._transcript_has(tenant_id, s.id, needle))
            cursor = page.next_cursor
            if cursor is None or len(found) >= query.limit or scanned >= SEARCH_SCAN_MAX or not page.items:
                return Page(items=found, next_cursor=cursor)

    def _transcript_has(self, tenant_id: str, session_id: str, needle: str) -> bool:
        partition, cursor = f"{tenant_id}#{session_id}", None
        for _ in range(SEARCH_TURNS_MAX // 200):
            page = self._b.store.query(TURNS, partition, limit=200, cursor=cursor)
            if any(needle in turn.text.casefold() for turn in page.items):
                return True
            cursor = page.next_cursor
            if cursor is None:
                break
        return False


def _turn_event(turn: Turn) -> NewEvent:
    return NewEvent(
        tenant_id=turn.tenant_id,
        type=EventType.SESSION_TURN,
        subject=turn.session_id,
        data={
            "seq": turn.seq,
            "role": turn.role.value,
            "text": turn.text,
            "sources": [s.model_dump(mode="json") for s in turn.sources],
        },
    )


def _tool_call_events(session: Session, turn: Turn) -> list[NewEvent]:
    """One `session.tool_call` per call: what ran, how it went, never its arguments or result."""
    return [
        NewEvent(
            tenant_id=turn.tenant_id,
            type=EventType.SESSION_TOOL_CALL,
            subject=turn.session_id,
            data={
                "session_id": turn.session_id,
                "agent_id": session.agent_id,
                "call_id": call.id,
                "name": call.name,
                "status": call.status.value,
                "duration_ms": call.duration_ms,
                "write": call.write,
                "confirmed": call.confirmed,
            },
        )
        for call in turn.tool_calls
    ]


def _matcher(query: SessionFilter) -> Callable[[Session], bool]:
    """The query's filters on one session (the index narrows by one of them; this checks them all)."""

    def wanted(s: Session) -> bool:
        return (
            (query.agent_id is None or s.agent_id == query.agent_id)
            and (query.status is None or s.status is query.status)
            and (query.channel is None or s.channel is query.channel)
            and (query.started_after is None or s.started_at >= query.started_after)
            and (query.started_before is None or s.started_at <= query.started_before)
        )

    return wanted


def _reader(tenant_id: str) -> Principal:
    """The runtime reads a session as a tenant-scoped service, never with more than it needs."""
    return service_principal(tenant_id, "oratio-runtime", Scope.SESSIONS_READ)


def _iso(moment: datetime | None, *, upper: bool = False) -> str | None:
    if moment is None:
        return None
    # Index sort keys are "<iso time>#<id>"; "~" sorts after every id character.
    return moment.isoformat() + ("#~" if upper else "")
