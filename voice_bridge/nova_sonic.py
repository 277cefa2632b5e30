"""Nova Sonic (speech-to-speech) through `strands.bidi`, deciding as the deployed agent decides.

The bidi agent gets the deployed plan's own system prompt, its vetted tools (`build_tools`: knowledge
search with sources, handoff, end, collect_info), the agent's own tools (`action_tools`, when the
platform runs them) behind the confirmation gate, the session's stored history, and the plan's
handoff rules are checked on every customer transcript.

The gate on voice (rule 4): a write call is held and the model told to speak the statement; the
caller's next final transcript is checked with `is_confirmation`; the model must then call the tool
again, and it runs only with the very tool and arguments the caller confirmed. The held action is
kept on the session too (`SessionService.hold_action`), so it survives the call. Transcripts are stored as turns as they
complete, so a voice session reads like a text one. Nova Sonic detects barge-in itself; the bridge
flushes playback on its signal exactly as for the cascade.

Pause on handoff (`Session.paused`: a handoff was requested and the agent pauses on handoff, or a
person took the conversation over). The call stays open for the person, and the agent goes quiet:

* When the call sees the pause begin (the handoff tool, a handoff rule on the caller's words, or a
  person taking over, noticed at the caller's next utterance), the model's connection is restarted,
  which drops the reply it was composing, and the model is told to say the plan's handoff message.
  That one reply is played and stored as the agent's turn ("announcing").
* Then, while paused ("quiet"), the caller's words are still transcribed and stored as customer
  turns, but the model's replies are neither played nor stored, and its tool calls change nothing
  (a handoff or end it asks for is not applied: the person decides). As on text, the handoff message
  is said again once `HandoffConfig.reminder_every` caller turns went by without it.
* A person who takes the call over (rather than a handoff being requested) gets no announcement: the
  connection is restarted to drop the reply in progress and the agent is quiet at once; the
  reminders are for a caller still waiting for someone.
* While a person has the call, their typed messages are said by this call's model through the same
  "say exactly" instruction (`voice_bridge.nova_voice`): its audio is handed to the takeover, which
  plays it as the person's words; it is not stored as the agent's turn.
* At each caller utterance the session record is read again (one read): once the person returns the
  session to the agent, the model's next reply is played and stored again; if they closed it, the
  call ends.

`BedrockNovaSonicModel` needs Python 3.12+ (strands' own check); on 3.11 choosing this backend is a
ConfigError at the first call. The adapter itself is plain `BidiModel`/`BidiAgent` code, so it is
tested on any Python with a scripted bidi model (tests/voice_bridge/test_nova_sonic.py).
"""

from __future__ import annotations

import base64
import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass, field
from enum import Enum

import anyio
import anyio.to_thread
from anyio.abc import ObjectReceiveStream, ObjectSendStream
from strands.bidi import BidiAgent
from strands.bidi.models import BidiModel
from strands.bidi.types.events import (
    BidiAudioDeltaEvent,
    BidiAudioStopEvent,
    BidiBargeInEvent,
    BidiConnectionStopEvent,
    BidiOutputEvent,
    BidiResponseStopEvent,
    BidiTranscriptBlockEvent,
)
from strands.bidi.types.media import AudioDelta
from strands.hooks import BeforeToolCallEvent

from oratio.auth.principals import service_principal
from oratio.errors import ConfigError
from oratio.runtime import matching_rule
from oratio.runtime.action_tools import action_tools
from oratio.runtime.action_turn import ActionTurn, catalog
from oratio.runtime.confirmation import Gate, Verdict
from oratio.runtime.engine import HANDOFF_PENDING
from oratio.runtime.history import to_messages
from oratio.runtime.settle import StoredSession, settle
from oratio.runtime.tools import TurnOutcome, build_tools
from schemas import Agent, AgentPlan, HandoffState, PendingAction, Role, Scope, Session, SessionStatus, Turn
from voice_bridge.audio import Resampler, resample
from voice_bridge.backend import VOICE_SUBJECT, Call, VoiceSink
from voice_bridge.context import VoiceServices
from voice_bridge.nova_voice import SaysExactly
from voice_bridge.settings import VoiceSettings

logger = logging.getLogger("oratio.voice")

MODEL_RATE = 16_000
"""Rate of audio sent to the model (Nova Sonic takes 8, 16 or 24 kHz)."""

PLAY_QUEUE = 1024
BidiModelFactory = Callable[[], BidiModel]

ANNOUNCE = (
    "A member of staff is taking over this conversation. Say exactly the following to the caller, "
    "word for word, and nothing else:\n{message}"
)
"""What the model is told when the session pauses: the plan's handoff message is on the last line."""
PAUSED_TOOL = "A member of staff has this conversation now: tools are unavailable until they hand it back."


class Mode(Enum):
    """Whether the model's replies reach the caller."""

    TALKING = "talking"
    ANNOUNCING = "announcing"
    """The session paused: the model's next reply (the handoff message) is played, then it goes quiet."""
    QUIET = "quiet"
    """A person has the conversation: the model's replies are neither played nor stored."""


class Next(Enum):
    """How one connection to the model ended."""

    DONE = "done"
    """The call is over (the customer hung up, or the agent or a person ended the conversation)."""
    RESTART = "restart"
    """The session paused: restart the connection and have the model say the handoff message."""
    RECONNECT = "reconnect"
    """The model stopped itself while paused (a tool): a new connection, still quiet."""


def nova_sonic_model_factory(settings: VoiceSettings) -> BidiModelFactory:
    """Nova Sonic models for `settings`, or ConfigError where strands cannot run it (Python < 3.12)."""
    if sys.version_info < (3, 12):
        raise ConfigError(
            "ORATIO_VOICE_BACKEND=nova-sonic needs Python 3.12+ (strands' Nova Sonic model); "
            "this server runs Python {}.{}: use the cascade backend or a newer Python".format(*sys.version_info[:2])
        )
    try:
        from strands.bidi.models.bedrock import BedrockNovaSonicModel
    except ImportError as exc:
        raise ConfigError(f"Nova Sonic is not available: {exc}; pip install 'strands-agents[bidi]'") from exc

    def build() -> BidiModel:
        return BedrockNovaSonicModel(
            model_id=settings.nova_sonic_model,
            voice=settings.nova_sonic_voice,
            audio={"input": {"sample_rate": MODEL_RATE}, "output": {"sample_rate": 24_000}},
        )

    return build


@dataclass
class _Conversation:
    """What one call's bidi conversation decided so far."""

    plan: AgentPlan
    outcome: TurnOutcome
    status: SessionStatus
    """The session's status as this call last settled it."""
    generation: int = 0
    """Bumped on barge-in: queued audio of an older generation is dropped, not played."""
    actions: ActionTurn | None = None
    """The agent's own tools for this call, with its confirmation gate; None: not offered."""
    held: PendingAction | None = None
    """The held write action as last stored on the session."""
    mode: Mode = Mode.TALKING
    connected: bool = True
    """The model's connection is open (audio sent while it restarts is dropped: the caller hears nothing then)."""
    reminder_every: int = 3
    """While paused, the handoff message is said again once this many caller turns went by without it
    (`HandoffConfig.reminder_every`, as the text engine's `reminder_due`)."""
    unanswered: int = 0
    """Caller turns since the handoff message was last said."""
    voice: SaysExactly | None = None
    """The call's voice for a person's typed words (`voice_bridge.nova_voice`); None: not offered."""
    link: anyio.Lock = field(default_factory=anyio.Lock)
    """Held while a frame is sent and while the connection restarts, so no frame reaches a stopped model."""


class NovaSonicBackend:
    def __init__(self, platform: VoiceServices, model_factory: BidiModelFactory) -> None:
        self._platform = platform
        self._new_model = model_factory

    @property
    def name(self) -> str:
        return "nova-sonic"

    def new_voice(self) -> SaysExactly:
        """`VoicesPerCall`: a person's typed words are said by the call's own model (voice_bridge.nova_voice)."""
        return SaysExactly()

    async def run(self, call: Call, audio: ObjectReceiveStream[bytes], sink: VoiceSink) -> None:
        agent, plan, session, turns = await anyio.to_thread.run_sync(self._load, call)
        status = session.status
        handed_off = status is SessionStatus.HANDOFF_REQUESTED
        outcome = TurnOutcome()
        webhook = self._platform.engine.webhook_for(agent)
        tools = build_tools(plan, self._platform.knowledge, call.tenant_id, call.agent_id, outcome, webhook)
        runner = self._platform.engine.actions
        actions = None
        if runner is not None and plan.actions:
            actions = ActionTurn(
                runner=runner,
                actions=catalog(plan, agent.artifact_sha256),
                tenant_id=call.tenant_id,
                agent_id=call.agent_id,
                session_id=call.session_id,
                language=plan.language,
                turn_seq=session.message_count + 1,
                outcome=outcome,
                validator=self._platform.engine.validator,
                gate=Gate(pending=session.pending_action),
            )
            tools = [*tools, *action_tools(actions)]
        system_prompt = plan.system_prompt + (HANDOFF_PENDING if handed_off else "")
        bidi = BidiAgent(
            model=self._new_model(),
            tools=list(tools),
            system_prompt=system_prompt,
            messages=to_messages(turns, tools=actions is not None),
            name=agent.name,
        )
        state = _Conversation(
            plan=plan,
            outcome=outcome,
            status=status,
            actions=actions,
            held=session.pending_action,
            reminder_every=agent.spec.handoff.reminder_every,
            voice=call.voice if isinstance(call.voice, SaysExactly) else None,
        )
        if session.paused:
            state.mode = Mode.QUIET  # the caller rejoined a conversation a person has

        def refuse_tools_while_paused(event: BeforeToolCallEvent) -> None:
            """While a person has the conversation the model's tools do nothing (no search, no write,
            no handoff or end): the person decides."""
            if state.mode is not Mode.TALKING or _relaying(state):
                event.cancel_tool = PAUSED_TOOL

        bidi.add_hook(refuse_tools_while_paused, BeforeToolCallEvent)
        # Playback paces in real time, so it runs apart from the event reader, which must see a
        # barge-in at once. None in the stream is the end of a reply's audio.
        play_in, play_out = anyio.create_memory_object_stream[tuple[int, bytes | None]](PLAY_QUEUE)
        await bidi.start()

        async def instruct(text: str) -> None:
            """An instruction on the open connection (dropped while it restarts: the relay then times out)."""
            async with state.link:
                if state.connected:
                    await bidi.send(text)

        if state.voice is not None:
            state.voice.connect(instruct)
        try:
            async with anyio.create_task_group() as tasks:

                async def listen() -> None:
                    async with play_in:
                        while (after := await self._receive(call, bidi, sink, state, play_in)) is not Next.DONE:
                            await self._restart(bidi, state, play_in, announce=after is Next.RESTART)
                    tasks.cancel_scope.cancel()

                async def play() -> None:
                    async with play_out:
                        async for generation, pcm in play_out:
                            if generation != state.generation:
                                continue
                            if pcm is None:
                                await sink.agent_audio_end()
                            else:
                                await sink.agent_audio(pcm)

                tasks.start_soon(listen)
                tasks.start_soon(play)
                await self._send_audio(call, audio, bidi, state)
                tasks.cancel_scope.cancel()  # the customer ended the call
        finally:
            if state.voice is not None:
                state.voice.disconnect()
            with anyio.CancelScope(shield=True):
                await bidi.stop()

    def _load(self, call: Call) -> tuple[Agent, AgentPlan, Session, list[Turn]]:
        agent, artifact = self._platform.agents.artifact(call.tenant_id, call.agent_id)
        reader = service_principal(call.tenant_id, VOICE_SUBJECT, Scope.SESSIONS_READ)
        found = self._platform.sessions.get(reader, call.session_id)
        return agent, artifact.plan, found.session, found.turns

    async def _send_audio(
        self, call: Call, audio: ObjectReceiveStream[bytes], bidi: BidiAgent, state: _Conversation
    ) -> None:
        resampler = Resampler(call.input_rate, MODEL_RATE)
        async for frame in audio:
            pcm = resampler.feed(frame)
            if pcm and state.connected:
                async with state.link:
                    if state.connected:
                        await bidi.send(AudioDelta(format="pcm", source={"bytes": pcm}))

    async def _restart(
        self,
        bidi: BidiAgent,
        state: _Conversation,
        playback: ObjectSendStream[tuple[int, bytes | None]],
        *,
        announce: bool,
    ) -> None:
        """A new connection to the model: the reply it was composing is gone and queued audio of it is
        dropped; with `announce`, the model is told to say the plan's handoff message (`Mode.ANNOUNCING`)."""
        state.generation += 1
        await playback.send((state.generation, None))  # close the interrupted reply's audio for the client
        if state.voice is not None:
            state.voice.finish()  # a person's sentence being said is cut: what was said of it is played
        state.connected = False
        async with state.link:
            await bidi.stop()
            await bidi.start()
        state.connected = True
        self._forget(state)  # settled already, or decided by a reply nobody heard
        if announce:
            state.mode, state.unanswered = Mode.ANNOUNCING, 0
            await bidi.send(ANNOUNCE.format(message=state.plan.handoff_message))

    @staticmethod
    def _forget(state: _Conversation) -> None:
        """Drop what the model's tools decided while it was not the one talking to the caller (the tools
        are refused then, `_refuse_tools_while_paused`; this clears whatever a call in flight left)."""
        outcome = state.outcome
        outcome.handoff_reason, outcome.end_requested = None, False
        outcome.sources.clear()
        outcome.collected.clear()
        outcome.unhelpful.clear()
        outcome.take_tool_calls()

    async def _receive(
        self,
        call: Call,
        bidi: BidiAgent,
        sink: VoiceSink,
        state: _Conversation,
        playback: ObjectSendStream[tuple[int, bytes | None]],
    ) -> Next:
        async with aclosing(bidi.receive()) as events:
            return await self._events(call, events, sink, state, playback)

    async def _events(
        self,
        call: Call,
        events: AsyncIterator[BidiOutputEvent],
        sink: VoiceSink,
        state: _Conversation,
        playback: ObjectSendStream[tuple[int, bytes | None]],
    ) -> Next:
        async for event in events:
            quiet = state.mode is Mode.QUIET
            relayed = state.voice.current if state.voice is not None else None
            if isinstance(event, BidiAudioDeltaEvent):
                if relayed is not None:  # a person's words: the takeover plays them (voice_bridge.nova_voice)
                    relayed.add(base64.b64decode(event.audio), event.sample_rate)
                elif not quiet:
                    pcm = base64.b64decode(event.audio)
                    await playback.send((state.generation, resample(pcm, event.sample_rate, call.output_rate)))
            elif isinstance(event, BidiAudioStopEvent):
                if relayed is None and not quiet:
                    await playback.send((state.generation, None))
            elif isinstance(event, BidiBargeInEvent):
                state.generation += 1
                await sink.speech_started()
            elif isinstance(event, BidiTranscriptBlockEvent):
                if (after := await self._transcript(call, event, sink, state)) is not None:
                    return after
            elif isinstance(event, BidiResponseStopEvent):
                if relayed is not None:
                    if relayed.pcm:  # the answer to the "say exactly" (an earlier reply's end has no audio)
                        assert state.voice is not None
                        state.voice.finish()
                elif state.mode is Mode.ANNOUNCING:
                    state.mode = Mode.QUIET  # the handoff message is said: quiet from now on
                elif quiet:
                    self._forget(state)
                elif (after := await self._settle(call, sink, state)) is not None:
                    return after
            elif isinstance(event, BidiConnectionStopEvent):
                # A handoff or end tool stopped the conversation.
                if state.mode is not Mode.TALKING:  # a tool while paused decides nothing: stay, quiet
                    self._forget(state)
                    state.mode = Mode.QUIET
                    return Next.RECONNECT
                if (after := await self._settle(call, sink, state)) is not None:
                    return after
                if state.status is not SessionStatus.COMPLETED:
                    await sink.ended("the agent handed the conversation to a person")
                return Next.DONE
            if state.status is SessionStatus.COMPLETED:
                return Next.DONE
        return Next.DONE

    async def _transcript(
        self, call: Call, event: BidiTranscriptBlockEvent, sink: VoiceSink, state: _Conversation
    ) -> Next | None:
        """Store a final transcript as a turn (the model's only when it reaches the caller); RESTART when
        the caller's words find the session newly paused (a rule handed it off, or a person took it over)."""
        text = event.transcript.strip()
        if not text:
            return None
        sessions = self._platform.sessions
        if event.role == "user":
            await call.before_turn()

            def store_customer() -> tuple[Turn | None, Session]:
                session = sessions.record(call.tenant_id, call.session_id)
                if session.status is SessionStatus.COMPLETED:
                    return None, session
                return sessions.append_turn(call.tenant_id, call.session_id, Role.CUSTOMER, text), session

            stored, session = await anyio.to_thread.run_sync(store_customer)
            if stored is None:  # a person closed the conversation
                state.status = session.status
                await sink.ended("a member of staff closed the conversation")
                return Next.DONE
            await sink.transcript("customer", text, final=True)
            if state.mode is not Mode.TALKING:
                if session.paused:  # the person answers; the customer's turn is stored for them
                    state.unanswered += 1
                    remind = state.mode is Mode.QUIET and state.unanswered >= state.reminder_every
                    return Next.RESTART if remind and not _taken_over(session) else None
                state.mode, state.status = Mode.TALKING, session.status  # given back: the agent speaks again
            elif session.paused:
                if _taken_over(session):  # a person has it: drop the reply in progress, announce nothing
                    state.mode = Mode.QUIET
                    return Next.RECONNECT
                return Next.RESTART  # a handoff is waiting: the agent says the handoff message, then is quiet
            await self._caller_said(call, state, text, stored.seq)
            rule = matching_rule(state.plan, text)
            if rule is not None:
                state.outcome.request_handoff(f"handoff rule '{rule.id}': {rule.description}")
                return await self._settle(call, sink, state)
            return None
        if state.mode is Mode.QUIET or _relaying(state):
            return None  # neither played nor stored: a person has the conversation (or is speaking through it)
        sources = list(state.outcome.sources)
        state.outcome.sources.clear()
        tool_calls = state.outcome.take_tool_calls()

        def store() -> None:
            sessions.append_turn(call.tenant_id, call.session_id, Role.AGENT, text, sources, tool_calls=tool_calls)

        await anyio.to_thread.run_sync(store)
        await self._keep_held(call, state)
        await sink.transcript("agent", text, final=True)
        return None

    async def _caller_said(self, call: Call, state: _Conversation, text: str, seq: int) -> None:
        """Rule 4 of the gate: the caller's final transcript settles a held write action. A yes lets the
        model's next call of exactly that tool with exactly those arguments run; anything else drops it."""
        actions = state.actions
        if actions is None:
            return
        actions.ran.clear()  # a new customer turn
        actions.turn_seq = seq + 1
        held = actions.gate.pending
        verdict = actions.gate.customer_said(text, state.plan.language)
        if held is not None and verdict is not Verdict.CONFIRM:
            await actions.settle_held(verdict, held)  # records declined / not_confirmed; nothing runs
        await self._keep_held(call, state)

    async def _keep_held(self, call: Call, state: _Conversation) -> None:
        """Store the gate's held action on the session when it changed (a proposal, or a settled one)."""
        if state.actions is None or state.actions.gate.pending == state.held:
            return
        state.held = state.actions.gate.pending
        sessions = self._platform.sessions
        await anyio.to_thread.run_sync(sessions.hold_action, call.tenant_id, call.session_id, state.held)

    async def _settle(self, call: Call, sink: VoiceSink, state: _Conversation) -> Next | None:
        """Apply what the tools and rules decided (`oratio.runtime.settle`), then tell the caller. RESTART
        when a handoff paused the session (the agent pauses on handoff): the agent must go quiet."""
        await self._keep_held(call, state)
        sessions = self._platform.sessions
        effects = StoredSession(sessions, self._platform.handoff, call.tenant_id, call.session_id)
        settled = await anyio.to_thread.run_sync(settle, effects, state.status, state.outcome)
        state.status = settled.status
        if settled.handoff_requested and settled.handoff_reason is not None:
            await sink.handoff(settled.handoff_reason)
        if settled.ended:
            await sink.ended("the agent ended the conversation")
            return Next.DONE
        if settled.handoff_requested:
            session = await anyio.to_thread.run_sync(sessions.record, call.tenant_id, call.session_id)
            if session.paused:
                return Next.RESTART
        return None


def _taken_over(session: Session) -> bool:
    """A person has the conversation (not merely asked for): the handoff message is not said then."""
    return session.handoff is not None and session.handoff.state is HandoffState.TAKEN_OVER


def _relaying(state: _Conversation) -> bool:
    """The model is saying a person's words (voice_bridge.nova_voice): not the agent's turn, no tools."""
    return state.voice is not None and state.voice.current is not None
