"""The conversation engine: one customer message in, one stored, sourced agent reply out.

Every door (the AgentCore runtime, the voice bridge, the admin's MCP test chat) runs a turn through
here, so text and voice behave alike. The store is the truth: the customer's words are stored before
anything else happens, history is rebuilt from stored turns on every turn (nothing lives in Strands
or in this process), and the reply is stored before it is returned. A continuing turn reads the
session record and its last HISTORY_TURNS turns once each, then appends both turns without reading
them again (`SessionService.append_next`). The agent record and its plan are read too, unless this
process served them moments ago: then the customer's turn is stored only while the record is still
that version, a condition in the same commit (`AgentService.serving`), so a pause applies at once.
A model that fails or hangs costs the customer an apology within `turn_timeout_seconds`, never a
hung request or a 500.

A session's turns never interleave, even across replicas sharing one store: the customer's turn takes
the session's turn lock in its own commit (`Session.turn_lock`, conditional on the version read) and the
agent's turn clears it in its own, so the lock costs no write of its own on the common path. A second
message of the same session waits up to `turn_wait_seconds` for it, then gets Busy (409, Retry-After);
a lock whose process died mid-turn lapses after `turn_lock_s`. See docs/runtime.md.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import anyio
import anyio.to_thread

from oratio.actions import ActionRunner
from oratio.actions.schema_check import ArgumentValidator
from oratio.config import Settings
from oratio.errors import Busy, ConfigError, InvalidInput, ModelUnavailable, OratioError
from oratio.languages import messages
from oratio.models.gate import ModelGate
from oratio.models.spec import parse_model_spec
from oratio.runtime.action_turn import ActionTurn, Settled, catalog
from oratio.runtime.confirmation import Gate, Verdict
from oratio.runtime.draft import drafted_cleanly, may_draft
from oratio.runtime.handoff import HandoffRequester, could_not_help, matching_rule, reminder_due, rule_reason
from oratio.runtime.history import HISTORY_TURNS, conversation
from oratio.runtime.outcome import TurnOutcome, WebhookCaller
from oratio.runtime.reply import ReplyBuilder
from oratio.runtime.results import TurnResult
from oratio.runtime.settle import Settlement, StoredSession, settle
from oratio.services import AgentService, Backends, SessionService
from oratio.services._common import authorize
from oratio.services.knowledge import KnowledgeService
from oratio.services.sessions import KEEP, RecordMoved, TurnContended, checked_customer
from oratio.store.ports import Unchanged, calls_are_brief
from schemas import Agent as AgentRecord
from schemas import (
    AgentPlan,
    Channel,
    DeployedArtifact,
    EventType,
    HandoffState,
    Limits,
    PendingAction,
    Principal,
    Role,
    Scope,
    Session,
    SessionStatus,
    Turn,
    TurnLock,
    WebhookTool,
)

if TYPE_CHECKING:  # Strands is imported with the first turn (agent_run), not with the engine: see outcome.py
    from strands.models import Model
    from strands.types.content import ContentBlock, Message

logger = logging.getLogger("oratio.runtime")

ModelFactory = Callable[[str], "Model"]
"""Builds the model for a spec string; the default is `oratio.models.ModelCache` over the settings."""

INLINE_BUILD_S = 0.002
"""A model whose build took less than this (a cached Bedrock client, the scripted model) is built on the loop."""

APOLOGY = messages("en").apology
NO_ANSWER = messages("en").no_answer
"""The English fallbacks; a turn says them in its plan's language (oratio.languages)."""
FIRST_POLL_S = 0.02
LAST_POLL_S = 0.25
"""How often a message waiting for its session's running turn reads the session again: from 20 ms, doubling
up to 250 ms, so a short turn is followed at once and a long one costs a few reads a second."""
BUSY_RETRY_AFTER_S = 1.0
"""The Retry-After of a busy session's 409: turns mostly end within seconds."""

HANDOFF_PENDING = (
    "\n\nA member of staff has already been asked to take over this conversation. Keep helping the "
    "customer meanwhile; if they ask, tell them someone will be with them shortly."
)


@dataclass(frozen=True)
class _Request:
    tenant_id: str
    agent_id: str
    session_id: str | None
    text: str
    channel: Channel
    customer: Mapping[str, str] | None
    tester: str | None = None


@dataclass
class _Turn:
    """One turn in progress: everything loaded before the model runs."""

    tenant_id: str
    agent: AgentRecord
    plan: AgentPlan
    session: Session
    history: list[Turn]
    text: str
    next_seq: int
    model: Model
    rule_reason: str | None = None
    outcome: TurnOutcome = field(default_factory=TurnOutcome)
    failure: str | None = None
    held: tuple[Verdict, PendingAction] | None = None
    """The write action the session held when this message came, and what the message said to it."""
    actions: ActionTurn | None = None
    lock: TurnLock | None = None
    """The session's turn lock this turn took with the customer's words (`SessionService.append_next(take=)`)."""
    released: bool = False
    """The lock was cleared with the agent's turn; else `_run` clears it on its way out."""


class _Locked(Exception):
    """Another turn of the session holds its lock: `_open` waits for it and reads the session again."""

    def __init__(self, session_id: str) -> None:
        super().__init__(session_id)
        self.session_id = session_id


class _FirstUseModelCache:
    """`oratio.models.ModelCache`, created when the first model is built.

    The cache's module imports Strands and every provider SDK; a process that never runs a turn
    (`oratio mcp` answering `initialize`, `oratio init`) must not pay that at start.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._cache: ModelFactory | None = None

    def __call__(self, spec: str) -> Model:
        with self._lock:
            if self._cache is None:
                from oratio.models.factory import ModelCache

                self._cache = ModelCache(self._settings)
            cache = self._cache
        return cache(spec)


class ConversationEngine:
    def __init__(
        self,
        *,
        agents: AgentService,
        sessions: SessionService,
        knowledge: KnowledgeService,
        backends: Backends,
        settings: Settings,
        handoffs: HandoffRequester,
        model_factory: ModelFactory | None = None,
        webhooks: WebhookCaller | None = None,
        gate: ModelGate | None = None,
        actions: ActionRunner | None = None,
        validator: ArgumentValidator | None = None,
    ) -> None:
        if settings.model is not None:
            parse_model_spec(settings.model, source="ORATIO_MODEL")  # a typo fails at start, not mid-call
        self._agents = agents
        self._sessions = sessions
        self._knowledge = knowledge
        self._b = backends
        self._settings = settings
        self._handoffs = handoffs
        self._webhooks = webhooks
        self._models: ModelFactory = model_factory or _FirstUseModelCache(settings)
        self._gate = gate or ModelGate(settings)
        self._actions = actions
        """Runs the agents' own tools (`AgentPlan.actions`); None: those tools are not offered."""
        self._validator = validator or ArgumentValidator()
        """Checks a write's arguments before the gate holds it: the platform passes its runner's own."""
        self._inline = all(calls_are_brief(port) for port in (backends.store, backends.events, backends.blobs))
        """Store calls are made on the turn's own loop (see `_open`); else each block goes to a worker thread."""
        self._quick_specs: set[str] = set()

    @property
    def actions(self) -> ActionRunner | None:
        """The runner of the agents' own tools, for the voice bridge's speech-to-speech backend."""
        return self._actions

    @property
    def validator(self) -> ArgumentValidator:
        """The tool-argument validator the gate uses (the ActionRunner's, when the platform wired both)."""
        return self._validator

    # -- entry points ---------------------------------------------------------------------------

    def turn(
        self,
        tenant_id: str,
        agent_id: str,
        session_id: str | None,
        text: str,
        channel: Channel,
        customer: dict[str, str] | None = None,
    ) -> TurnResult:
        """Blocking form of `turn_async`, for worker threads and scripts; not for code inside an event loop."""
        run = partial(self.turn_async, tenant_id, agent_id, session_id, text, channel, customer)
        return anyio.run(run, backend="asyncio")

    async def turn_async(
        self,
        tenant_id: str,
        agent_id: str,
        session_id: str | None,
        text: str,
        channel: Channel,
        customer: dict[str, str] | None = None,
    ) -> TurnResult:
        """Run one turn; `session_id=None` starts a session. Refusals raise before anything is stored."""
        return await self._collect(_Request(tenant_id, agent_id, session_id, text, channel, customer))

    def stream_turn(
        self,
        tenant_id: str,
        agent_id: str,
        session_id: str | None,
        text: str,
        channel: Channel,
        customer: dict[str, str] | None = None,
    ) -> AsyncIterator[str | TurnResult]:
        """Text deltas as the agent speaks, then the TurnResult; the deltas join up to its `reply`.

        Refusals (bad input, unknown or paused agent, ended session) raise on the first iteration,
        before anything is stored, so a door can still answer with an error status. A consumer that
        stops early (a client gone) leaves the customer's turn stored and the agent's unsaid.
        """
        return self._run(_Request(tenant_id, agent_id, session_id, text, channel, customer))

    async def draft_reply(self, tenant_id: str, agent_id: str, session_id: str, text: str) -> str | None:
        """The reply the agent would likely give to `text` now, with nothing stored, sent or done.

        For the voice bridge's preemptive reply: drafted while the customer may still be speaking, held,
        and used only if the committed turn (`stream_turn`) says the same words. None where a draft could
        have an effect or would not be the committed turn's words (`oratio.runtime.draft`), and on any
        refusal: the committed turn reports those. The draft's model call costs what a turn's does."""
        request = _Request(tenant_id, agent_id, session_id, text, Channel.VOICE, None)
        try:
            turn = await anyio.to_thread.run_sync(self._draft_turn, request)
        except OratioError:
            return None
        if turn is None:
            return None
        reply = ReplyBuilder()
        deadline = anyio.current_time() + self._settings.turn_timeout_seconds
        async with aclosing(self._converse(turn, reply, deadline)) as deltas:
            async for _ in deltas:
                pass
        return reply.text if reply.text and drafted_cleanly(turn.outcome, turn.failure) else None

    def _draft_turn(self, request: _Request) -> _Turn | None:
        """`_begin` without the store write: the session's last turns read, no lock taken. Blocking I/O."""
        assert request.session_id is not None
        agent, artifact, text, _, _ = self._load(request)
        # With a session id this only reads (the session and its last turns), as the committed turn will.
        found = self._sessions.open_or_continue(
            request.tenant_id, agent.id, request.session_id, request.channel, recent=HISTORY_TURNS
        )
        acts = bool(artifact.plan.actions) or self.webhook_for(agent) is not None
        if not may_draft(found.session, artifact.plan, text, acts=acts, now=self._b.clock()):
            return None
        model = self.agent_model(agent, artifact.plan)
        return _Turn(request.tenant_id, agent, artifact.plan, found.session, found.turns, text, 0, model)

    async def chat_as_admin(self, principal: Principal, agent_id: str, session_id: str | None, text: str) -> TurnResult:
        """An admin talks to an active agent as a test customer (MCP `chat_with_agent`).

        Test sessions are marked `origin=admin_test` with the admin as `tester`, and only those can be
        continued here: an admin may read a real customer's session but never speak in it, and no
        customer's API key can continue a test session (`SessionService.continued`).
        """
        authorize(principal, Scope.AGENTS_WRITE)
        request = _Request(principal.tenant_id, agent_id, session_id, text, Channel.TEXT, None, principal.subject)
        return await self._collect(request)

    # -- the turn -------------------------------------------------------------------------------

    async def _collect(self, request: _Request) -> TurnResult:
        result: TurnResult | None = None
        async with aclosing(self._run(request)) as items:
            async for item in items:
                if isinstance(item, TurnResult):
                    result = item
        assert result is not None  # _run always ends with the result
        return result

    async def _run(self, request: _Request) -> AsyncGenerator[str | TurnResult, None]:
        try:
            turn = await self._open(request)
        except RecordMoved:  # the agent this process remembered changed elsewhere: read it afresh (nothing stored)
            self._agents.forget(request.tenant_id, request.agent_id)
            turn = await self._open(request)
        try:
            async with aclosing(self._locked_run(turn)) as items:
                async for item in items:
                    yield item
        finally:
            if turn.lock is not None and not turn.released:
                with anyio.CancelScope(shield=True):  # a client gone (cancelled) still frees the session
                    await self._release(turn.tenant_id, turn.session.id, turn.lock)

    async def _release(self, tenant_id: str, session_id: str, lock: TurnLock) -> None:
        """Clear a turn's lock that no agent turn cleared. A store that fails here is logged, not raised over
        the turn's own outcome: the lock lapses by itself after `turn_lock_s`."""
        try:
            if self._inline:
                self._sessions.release_turn(tenant_id, session_id, lock)
            else:
                await anyio.to_thread.run_sync(self._sessions.release_turn, tenant_id, session_id, lock)
        except OratioError as exc:
            logger.warning("session=%s | its turn lock could not be cleared (it lapses): %s", session_id, exc.message)

    async def _locked_run(self, turn: _Turn) -> AsyncGenerator[str | TurnResult, None]:
        """The turn once its customer's words are stored and its session's lock is held."""
        reply = ReplyBuilder()
        if turn.session.paused:
            # A person has this conversation: the customer's turn is stored (by _open), no model runs.
            if self._inline:
                result = self._paused(turn, reply)
            else:
                result = await anyio.to_thread.run_sync(self._paused, turn, reply)
            if tail := reply.pending_tail():
                yield tail
            yield result
            return
        deadline = anyio.current_time() + self._settings.turn_timeout_seconds
        if turn.actions is not None:
            turn.actions.deadline = deadline
        settled = await self._settle_held(turn)
        if turn.rule_reason is None:
            async with aclosing(self._converse(turn, reply, deadline, settled)) as deltas:
                async for delta in deltas:
                    yield delta
        if self._inline:
            result = self._finish(turn, reply)
        else:
            result = await anyio.to_thread.run_sync(self._finish, turn, reply)
        if tail := reply.pending_tail():
            yield tail
        yield result

    async def _open(self, request: _Request) -> _Turn:
        """`_open_once`, again while another turn of the session holds its lock (on this process or another
        replica), until it is free or `turn_wait_seconds` have passed: then Busy (409, Retry-After), with
        nothing of this message stored. The wait reads the session record a few times a second, no more."""
        deadline: float | None = None
        pause = FIRST_POLL_S
        while True:
            try:
                return await self._open_once(request)
            except (_Locked, TurnContended) as refused:
                now = anyio.current_time()
                if deadline is None:
                    deadline = now + self._settings.turn_wait_seconds
                if now >= deadline:
                    raise Busy(
                        f"session '{request.session_id}' is answering another message; "
                        f"send this one again in {BUSY_RETRY_AFTER_S:g} s",
                        retry_after=BUSY_RETRY_AFTER_S,
                    ) from None
                if isinstance(refused, _Locked):  # a lost race (TurnContended) reads again at once
                    pause = await self._wait_unlocked(request, refused.session_id, deadline, pause)

    async def _wait_unlocked(self, request: _Request, session_id: str, deadline: float, pause: float) -> float:
        """Wait until the session's lock is cleared or lapsed (or the deadline comes), reading only its record
        (one get a poll, not the turns `_open_once` reads); the next pause."""
        while (now := anyio.current_time()) < deadline:
            await anyio.sleep(min(pause, deadline - now))
            pause = min(pause * 2, LAST_POLL_S)
            if self._inline:
                session = self._sessions.record(request.tenant_id, session_id)
            else:
                session = await anyio.to_thread.run_sync(self._sessions.record, request.tenant_id, session_id)
            if session.turn_lock is None or session.turn_lock.until <= self._b.clock():
                break
        return pause

    async def _open_once(self, request: _Request) -> _Turn:
        """`_begin`, on this loop when the backends' calls are brief and the model is already built.

        With embedded SQLite and local blobs a turn's reads and commits take well under a millisecond
        each, and handing each to a worker thread cost more than the work: two thread hops per turn,
        and under load every hop waited for the GIL behind the loop (100 concurrent sessions ran at
        ~10 turns/s). Building a model can take seconds (a local GGUF) and always goes to a thread the
        first time; a spec whose build took under `INLINE_BUILD_S` is built in place from then on.
        """
        if not self._inline:
            return await anyio.to_thread.run_sync(self._begin, request)
        agent, artifact, text, customer, checked = self._load(request)
        spec = self._gate.spec_for(artifact.plan.model or agent.spec.model)
        if spec in self._quick_specs:
            model = self.agent_model(agent, artifact.plan)
        else:
            model = await anyio.to_thread.run_sync(self._timed_model, spec, agent, artifact.plan)
        return self._start(request, agent, artifact, text, customer, model, checked)

    def _timed_model(self, spec: str, agent: AgentRecord, plan: AgentPlan) -> Model:
        began = time.perf_counter()
        model = self.agent_model(agent, plan)
        if time.perf_counter() - began < INLINE_BUILD_S:
            self._quick_specs.add(spec)
        return model

    def _load(
        self, request: _Request
    ) -> tuple[AgentRecord, DeployedArtifact, str, dict[str, str], Sequence[Unchanged[AgentRecord]]]:
        """The checked input and the agent's verified plan (refusals raise here, before anything is stored),
        and the condition the customer's turn is stored under when the agent record came from memory."""
        text = _checked_text(request.text)
        customer = checked_customer(request.customer)
        agent, artifact, checked = self._agents.serving(request.tenant_id, request.agent_id)
        return agent, artifact, text, customer, () if checked is None else (checked,)

    def _begin(self, request: _Request) -> _Turn:
        """Check everything, then store the customer's turn. Blocking I/O: a worker thread's, or `_open`'s."""
        agent, artifact, text, customer, checked = self._load(request)
        # The model is built before a session exists: an agent whose model cannot run here starts nothing.
        model = self.agent_model(agent, artifact.plan)
        return self._start(request, agent, artifact, text, customer, model, checked)

    def _start(
        self,
        request: _Request,
        agent: AgentRecord,
        artifact: DeployedArtifact,
        text: str,
        customer: dict[str, str],
        model: Model,
        checked: Sequence[Unchanged[AgentRecord]] = (),
    ) -> _Turn:
        """Open or continue the session and store the customer's turn (only while `checked` still stands)."""
        found = self._sessions.open_or_continue(
            request.tenant_id,
            request.agent_id,
            request.session_id,
            request.channel,
            customer,
            tester=request.tester,
            recent=HISTORY_TURNS,
        )
        session, history = found.session, found.turns
        # Another turn runs: wait for it. A lock past its `until` was left by a dead process: it is taken over.
        if session.turn_lock is not None and session.turn_lock.until > self._b.clock():
            raise _Locked(session.id)
        lock = self._sessions.new_turn_lock(self._settings.turn_lock_s)
        rule = matching_rule(artifact.plan, text)
        # The confirmation gate, rule 2: the customer's message settles a held write action before any
        # model runs, and the customer's turn clears it in the same commit (it can run at most once).
        gate, held = Gate(pending=session.pending_action), session.pending_action
        verdict = Verdict.OTHER
        if held is not None:
            verdict = gate.customer_said(text, artifact.plan.language) if rule is None else Verdict.OTHER
            gate.approved = held if verdict is Verdict.CONFIRM else None
        # The session and its last turn were just read: append without reading them again.
        seq = max(session.message_count, history[-1].seq if history else 0) + 1
        # The customer's turn takes the session's turn lock in the same commit, conditional on the version
        # read: another turn stored meanwhile (two "yes" sent at once, from two tabs or two replicas) makes
        # this TurnContended with nothing stored, and `_open` reads again and waits, so a held action is
        # settled by exactly one turn and no two turns of a session interleave.
        pending = None if held is not None else KEEP
        session, stored = self._sessions.append_next(
            session, seq, Role.CUSTOMER, text, pending_action=pending, unchanged=checked, take=lock
        )
        outcome, actions = TurnOutcome(), None
        if self._actions is not None and (artifact.plan.actions or held is not None):
            actions = ActionTurn(
                runner=self._actions,
                actions=catalog(artifact.plan, agent.artifact_sha256),
                tenant_id=request.tenant_id,
                agent_id=agent.id,
                session_id=session.id,
                language=artifact.plan.language,
                turn_seq=stored.seq + 1,
                outcome=outcome,
                validator=self._validator,
                gate=gate,
            )
        return _Turn(
            tenant_id=request.tenant_id,
            agent=agent,
            plan=artifact.plan,
            session=session,
            history=history,
            text=text,
            next_seq=stored.seq + 1,
            model=model,
            rule_reason=None if rule is None else rule_reason(rule),
            held=None if held is None else (verdict, held),
            actions=actions,
            outcome=outcome,
            lock=lock,
        )

    def agent_model(self, agent: AgentRecord, plan: AgentPlan) -> Model:
        """The model this agent serves customers with: the plan's, the agent's (an allowed name), or the
        platform's. ModelUnavailable (503, with the reason) when it cannot run here, never a 500."""
        spec = self._gate.spec_for(plan.model or agent.spec.model)
        try:
            return self._models(spec)
        except ConfigError as exc:
            problem = self._gate.problem(plan.model or agent.spec.model)
            logger.error("agent=%s | its model cannot be built: %s", agent.id, exc.message)
            reason = problem or "the model could not be loaded (the operator's log says why)"
            raise ModelUnavailable(f"this agent's model cannot run on this server: {reason}") from None

    async def _settle_held(self, turn: _Turn) -> Settled | None:
        """Rule 2 of the gate: run a confirmed action (exactly its held arguments) or record the verdict.

        Returns what the model must hear before it answers (a confirmed or declined action).
        """
        if turn.held is None or turn.actions is None:
            return None
        verdict, action = turn.held
        return await turn.actions.settle_held(verdict, action)

    async def _converse(
        self, turn: _Turn, reply: ReplyBuilder, deadline: float, settled: Settled | None = None
    ) -> AsyncGenerator[str, None]:
        """Run the plan's agent over the restored history, streaming its text, bounded by the timeout."""
        system_prompt = turn.plan.system_prompt
        if turn.session.status is SessionStatus.HANDOFF_REQUESTED:
            system_prompt += HANDOFF_PENDING
        from oratio.runtime.action_tools import settled_messages  # Strands, on the first turn
        from oratio.runtime.agent_run import AgentRun, stream_reply

        history, text = conversation(turn.history, turn.text, tools=turn.actions is not None)
        prompt: list[Message] | list[ContentBlock] = text
        if settled is not None:
            # The customer's yes (or no), the held call and its result: the model tells them the outcome.
            prompt = settled_messages(text, settled)
        run = AgentRun(
            plan=turn.plan,
            model=turn.model,
            knowledge=self._knowledge,
            tenant_id=turn.tenant_id,
            agent_id=turn.agent.id,
            agent_name=turn.agent.name,
            outcome=turn.outcome,
            webhook=self.webhook_for(turn.agent),
            actions=turn.actions,
        )
        limit = self._settings.turn_timeout_seconds
        deltas = stream_reply(
            run, history, prompt, reply, time_limit_s=limit, system_prompt=system_prompt, deadline=deadline
        )
        async with aclosing(deltas) as streamed:
            async for delta in streamed:
                yield delta
        turn.failure = run.failure

    def _paused(self, turn: _Turn, reply: ReplyBuilder) -> TurnResult:
        """A paused session's turn: while a person is awaited, the plan's handoff message, at most once per
        `reminder_every` turns; once a person has taken the conversation over, nothing at all.

        The handoff message ("I'm transferring you...") tells a waiting customer that someone is coming.
        After a take over (at will, or of a requested handoff) a person already has the conversation and
        the customer was told so (`customer_feed`'s notice): a canned agent line would talk over them.
        The customer's turn is already stored; a held write action was cleared with it and does not run.
        Nothing else is written, so the person who has the conversation answers this turn, and after
        `return_session_to_agent` the agent sees it in its history.
        """
        session = turn.session
        every = turn.agent.spec.handoff.reminder_every
        taken_over = session.handoff is not None and session.handoff.state is HandoffState.TAKEN_OVER
        if not taken_over and reminder_due(turn.history, turn.plan.handoff_message, every):
            reply.finish(turn.plan.handoff_message)
            session, _ = self._sessions.append_next(session, turn.next_seq, Role.AGENT, reply.text, release=turn.lock)
            turn.released = True
        return TurnResult(session_id=session.id, reply=reply.text, handoff=True, status=session.status, paused=True)

    def webhook_for(self, agent: AgentRecord) -> tuple[WebhookTool, WebhookCaller] | None:
        """The agent's `call_webhook` configuration and the platform's caller, when the admin set one up."""
        config = agent.spec.webhook_tool
        if config is None or self._webhooks is None:
            return None
        return config, self._webhooks

    def _finish(self, turn: _Turn, reply: ReplyBuilder) -> TurnResult:
        """Store the reply and apply what the turn decided. Blocking I/O: a worker thread's, or the loop's
        when the backends' calls are brief (see `_open`)."""
        tenant_id, session = turn.tenant_id, turn.session
        if turn.failure is not None:
            reason, _, detail = turn.failure.partition(": ")
            self._b.emit(tenant_id, EventType.ERROR, session.id, agent_id=turn.agent.id, reason=reason, detail=detail)
        sources = turn.outcome.sources
        failures: int | None = None  # a rule decided before the model ran: the count stands
        if turn.rule_reason is None:
            unhelped = could_not_help(turn.outcome, reply.text, failed=turn.failure is not None)
            failures = session.failed_turns + 1 if unhelped else 0

        proposed = turn.actions.gate.pending if turn.actions is not None else None

        def store_reply(settlement: Settlement) -> None:
            held: PendingAction | None = None
            if (words := settlement.final_words(turn.plan)) is not None:
                reply.finish(words)
            elif turn.failure is not None:
                reply.finish(messages(turn.plan.language).apology)  # APOLOGY, in the plan's language
            elif proposed is not None:
                # Rule 1: the customer hears, in words rendered in code, exactly what would run.
                held = proposed
                if proposed.statement not in reply.text:
                    reply.finish(proposed.statement)
            elif not reply.text:
                reply.finish(messages(turn.plan.language).no_answer)  # NO_ANSWER, likewise
            self._sessions.append_next(
                session,
                turn.next_seq,
                Role.AGENT,
                reply.text,
                sources,
                failed_turns=settlement.failures,
                tool_calls=turn.outcome.tool_calls,
                pending_action=held if turn.actions is not None else KEEP,
                release=turn.lock,
            )
            turn.released = True

        effects = StoredSession(self._sessions, self._handoffs, tenant_id, session.id)
        settled = settle(
            effects,
            session.status,
            turn.outcome,
            rule_reason=turn.rule_reason,
            failures=failures,
            plan=turn.plan,
            store_reply=store_reply,
        )
        return TurnResult(
            session_id=session.id,
            reply=reply.text,
            sources=sources,
            handoff=settled.handoff,
            ended=settled.ended,
            status=settled.status,
        )


def _checked_text(text: str) -> str:
    stripped = text.strip()
    if not stripped:
        raise InvalidInput("the message is empty", field="text")
    if len(stripped) > Limits.TURN_TEXT_MAX:
        raise InvalidInput(f"the message is over {Limits.TURN_TEXT_MAX} characters", field="text")
    return stripped
