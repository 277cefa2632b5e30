"""Nova Sonic (speech-to-speech) through `strands.bidi`, deciding as the deployed agent decides.

The bidi agent gets the deployed plan's own system prompt, its vetted tools (`build_tools`: knowledge
search with sources, handoff, end, collect_info), the agent's own tools (`action_tools`, when the
platform runs them) behind the confirmation gate, the session's stored history, and the plan's
handoff rules are checked on every customer transcript.

The gate on voice (rule 4): a write call is held and the model told to speak the statement; the
caller's next final transcript is checked with `is_confirmation`; the model must then call the tool
again, and it runs only with the very tool and arguments the caller confirmed. The held action is
kept on the session too (`SessionService.hold_action`), so it survives the call. A tool call runs only once
the bridge has handled the caller's words before it (`nova_state.ToolOrder`): a "yes" is always settled by
the gate before the repeated call looks at it. Transcripts are stored as turns as they complete, so a voice
session reads like a text one. Nova Sonic detects barge-in itself; the bridge then drops the agent audio it
had queued (`nova_playback`) and flushes playback exactly as for the cascade (`interrupted`).

The plan's fixed words are said as on the cascade: the greeting at the start (the bridge, through the
call's voice, `nova_voice`), and the handoff or closing message before the call ends (a handoff without
pause, or the end): the connection is restarted, dropping the reply being composed, the model is told to say
the message (in its spoken form, `nova_prompts`), the written message is stored and shown as the agent's
turn, and the call ends once its audio has played. The model is asked to write for the ear (`VOICE_STYLE`).

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
from typing import Final

import anyio
import anyio.to_thread
from anyio.abc import ObjectReceiveStream
from strands.bidi import BidiAgent
from strands.bidi.models import BidiModel
from strands.bidi.types.events import (
    BidiAudioDeltaEvent,
    BidiAudioStopEvent,
    BidiBargeInEvent,
    BidiConnectionStopEvent,
    BidiOutputEvent,
    BidiResponseStopEvent,
    BidiToolUseBlocksEvent,
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
from oratio.runtime.settle import Settlement, StoredSession, settle
from oratio.runtime.tools import TurnOutcome, build_tools
from schemas import Agent, AgentPlan, HandoffState, Role, Scope, Session, SessionStatus, Turn
from voice_bridge.audio import Resampler, resample
from voice_bridge.backend import VOICE_SUBJECT, Call, VoiceSink
from voice_bridge.context import VoiceServices
from voice_bridge.nova_playback import AgentPlayback, Playback
from voice_bridge.nova_prompts import ANNOUNCE, FAREWELL, PAUSED_TOOL, VOICE_STYLE, say_exactly
from voice_bridge.nova_state import Conversation, Mode, Next, relaying
from voice_bridge.nova_voice import SaysExactly
from voice_bridge.settings import VoiceSettings

logger = logging.getLogger("oratio.voice")

MODEL_RATE = 16_000
"""Rate of audio sent to the model (Nova Sonic takes 8, 16 or 24 kHz)."""
FAREWELL_TIMEOUT_S: Final = 15.0
"""The call ends this long after the model was told its last words, said or not (a stuck model must not hold it)."""

BidiModelFactory = Callable[[], BidiModel]
PlaybackFactory = Callable[[VoiceSink, int], Playback]
"""The call's agent-audio queue, given the sink and the output rate (`AgentPlayback`)."""

ENDED_BY_AGENT = "the agent ended the conversation"
HANDED_OFF = "the agent handed the conversation to a person"


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


class NovaSonicBackend:
    def __init__(
        self, platform: VoiceServices, model_factory: BidiModelFactory, playback: PlaybackFactory = AgentPlayback
    ) -> None:
        self._platform = platform
        self._new_model = model_factory
        self._new_playback = playback

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
        system_prompt = plan.system_prompt + (HANDOFF_PENDING if handed_off else "") + VOICE_STYLE
        bidi = BidiAgent(
            model=self._new_model(),
            tools=list(tools),
            system_prompt=system_prompt,
            messages=to_messages(turns, tools=actions is not None),
            name=agent.name,
        )
        state = Conversation(
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

        async def in_order(event: BeforeToolCallEvent) -> None:
            """A tool call waits until the caller's words before it are handled (`nova_state.ToolOrder`); while
            a person has the conversation (or the call is ending) the model's tools do nothing: no search, no
            write, no handoff or end."""
            await state.tool_order.wait(str(event.tool_use.get("toolUseId", "")))
            if state.mode is not Mode.TALKING or relaying(state):
                event.cancel_tool = PAUSED_TOOL

        bidi.add_hook(in_order, BeforeToolCallEvent)
        # Playback paces in real time, so it runs apart from the event reader, which must see a barge-in at once.
        playback = self._new_playback(sink, call.output_rate)
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
                    while (after := await self._receive(call, bidi, sink, state, playback)) is not Next.DONE:
                        if after is Next.FAREWELL:
                            await self._farewell(call, bidi, sink, state, playback)
                            await playback.drained()  # the last words are played before the call ends
                            break
                        await self._restart(call, bidi, sink, state, playback, announce=after is Next.RESTART)
                    tasks.cancel_scope.cancel()

                tasks.start_soon(listen)
                tasks.start_soon(playback.run)
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
        self, call: Call, audio: ObjectReceiveStream[bytes], bidi: BidiAgent, state: Conversation
    ) -> None:
        resampler = Resampler(call.input_rate, MODEL_RATE)
        async for frame in audio:
            pcm = resampler.feed(frame)
            # While the last words are said the model hears nothing more: the conversation is over.
            if pcm and state.connected and state.mode is not Mode.FAREWELL:
                async with state.link:
                    if state.connected:
                        await bidi.send(AudioDelta(format="pcm", source={"bytes": pcm}))

    async def _restart(
        self, call: Call, bidi: BidiAgent, sink: VoiceSink, state: Conversation, playback: Playback, *, announce: bool
    ) -> None:
        """A new connection to the model: the reply it was composing is gone and queued audio of it is
        dropped; with `announce`, the model is told to say the plan's handoff message (`Mode.ANNOUNCING`),
        which is stored and shown as written."""
        playback.drop()
        await playback.end_reply()  # close the interrupted reply's audio for the client
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
            message = state.plan.handoff_message
            await anyio.to_thread.run_sync(self._store_agent, call, message)
            await sink.transcript("agent", message, final=True)
            await bidi.send(say_exactly(ANNOUNCE, message))

    def _store_agent(self, call: Call, text: str) -> None:
        """One of the plan's fixed messages, stored as the agent's turn as written (not as the model said it)."""
        self._platform.sessions.append_turn(call.tenant_id, call.session_id, Role.AGENT, text)

    async def _farewell(
        self, call: Call, bidi: BidiAgent, sink: VoiceSink, state: Conversation, playback: Playback
    ) -> None:
        """The plan's last words (already stored and shown), said by the model on a new connection, then the
        call ends (`sink.ended`). Bounded: a model that does not finish them does not hold the call open."""
        assert state.farewell is not None
        words, reason = state.farewell
        playback.drop()
        await playback.end_reply()
        state.connected = False
        async with state.link:
            await bidi.stop()
            await bidi.start()
        state.connected = True
        self._forget(state)
        state.mode = Mode.FAREWELL
        with anyio.move_on_after(FAREWELL_TIMEOUT_S):
            await bidi.send(say_exactly(FAREWELL, words))
            await self._receive(call, bidi, sink, state, playback)
        await sink.ended(reason)

    @staticmethod
    def _forget(state: Conversation) -> None:
        """Drop what the model's tools decided while it was not the one talking to the caller (the tools
        are refused then, `in_order`; this clears whatever a call in flight left)."""
        outcome = state.outcome
        outcome.handoff_reason, outcome.end_requested = None, False
        outcome.sources.clear()
        outcome.collected.clear()
        outcome.unhelpful.clear()
        outcome.take_tool_calls()

    async def _receive(
        self, call: Call, bidi: BidiAgent, sink: VoiceSink, state: Conversation, playback: Playback
    ) -> Next:
        async with aclosing(bidi.receive()) as events:
            return await self._events(call, events, sink, state, playback)

    async def _events(
        self,
        call: Call,
        events: AsyncIterator[BidiOutputEvent],
        sink: VoiceSink,
        state: Conversation,
        playback: Playback,
    ) -> Next:
        async for event in events:
            quiet = state.mode is Mode.QUIET
            relayed = state.voice.current if state.voice is not None else None
            if isinstance(event, BidiAudioDeltaEvent):
                if relayed is not None:  # a person's words (or the greeting): the bridge plays them
                    relayed.add(base64.b64decode(event.audio), event.sample_rate)
                elif not quiet:
                    pcm = base64.b64decode(event.audio)
                    await playback.push(resample(pcm, event.sample_rate, call.output_rate))
            elif isinstance(event, BidiAudioStopEvent):
                if relayed is None and not quiet:
                    await playback.end_reply()
            elif isinstance(event, BidiBargeInEvent):
                playback.drop()  # before the flush: nothing queued may follow the `interrupted` message
                await sink.speech_started()
            elif isinstance(event, BidiToolUseBlocksEvent):
                # Every event before this tool use is handled: its call may look at the gate now.
                state.tool_order.reached(str(use.get("toolUseId", "")) for use in event.tool_uses)
            elif isinstance(event, BidiTranscriptBlockEvent):
                if (after := await self._transcript(call, event, sink, state)) is not None:
                    return after
            elif isinstance(event, BidiResponseStopEvent):
                if relayed is not None:
                    if relayed.pcm:  # the answer to the "say exactly" (an earlier reply's end has no audio)
                        assert state.voice is not None
                        state.voice.finish()
                elif state.mode is Mode.FAREWELL:
                    return Next.DONE  # the last words are said
                elif state.mode is Mode.ANNOUNCING:
                    state.mode = Mode.QUIET  # the handoff message is said: quiet from now on
                elif quiet:
                    self._forget(state)
                elif (after := await self._settle(call, sink, state)) is not None:
                    return after
            elif isinstance(event, BidiConnectionStopEvent):
                # A handoff or end tool stopped the conversation.
                if state.mode is Mode.FAREWELL:
                    return Next.DONE
                if state.mode is not Mode.TALKING:  # a tool while paused decides nothing: stay, quiet
                    self._forget(state)
                    state.mode = Mode.QUIET
                    return Next.RECONNECT
                if (after := await self._settle(call, sink, state)) is not None:
                    return after
                if state.status is not SessionStatus.COMPLETED:
                    await sink.ended(HANDED_OFF)
                return Next.DONE
            if state.status is SessionStatus.COMPLETED and state.mode is not Mode.FAREWELL:
                return Next.DONE
        return Next.DONE

    async def _transcript(
        self, call: Call, event: BidiTranscriptBlockEvent, sink: VoiceSink, state: Conversation
    ) -> Next | None:
        """Store a final transcript as a turn (the model's only when it reaches the caller); RESTART when
        the caller's words find the session newly paused (a rule handed it off, or a person took it over)."""
        text = event.transcript.strip()
        if not text:
            return None
        sessions = self._platform.sessions
        if event.role == "user":
            if state.mode is Mode.FAREWELL:
                return None  # the conversation is over: words heard before the model stopped listening
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
        if state.mode in (Mode.QUIET, Mode.ANNOUNCING, Mode.FAREWELL) or relaying(state):
            # Quiet: a person has the conversation (or is speaking through it). Announcing or saying goodbye:
            # the plan's written words are already stored and shown; this is only how the model said them.
            return None
        sources = list(state.outcome.sources)
        state.outcome.sources.clear()
        tool_calls = state.outcome.take_tool_calls()

        def store() -> None:
            sessions.append_turn(call.tenant_id, call.session_id, Role.AGENT, text, sources, tool_calls=tool_calls)

        await anyio.to_thread.run_sync(store)
        await self._keep_held(call, state)
        await sink.transcript("agent", text, final=True)
        return None

    async def _caller_said(self, call: Call, state: Conversation, text: str, seq: int) -> None:
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

    async def _keep_held(self, call: Call, state: Conversation) -> None:
        """Store the gate's held action on the session when it changed (a proposal, or a settled one)."""
        if state.actions is None or state.actions.gate.pending == state.held:
            return
        state.held = state.actions.gate.pending
        sessions = self._platform.sessions
        await anyio.to_thread.run_sync(sessions.hold_action, call.tenant_id, call.session_id, state.held)

    async def _settle(self, call: Call, sink: VoiceSink, state: Conversation) -> Next | None:
        """Apply what the tools and rules decided (`oratio.runtime.settle`), then tell the caller. RESTART
        when a handoff paused the session (the agent pauses on handoff): the agent must go quiet. FAREWELL
        when the call ends on a handoff without pause, or the end: the plan's message is stored (before the
        session ends, as on text) and shown now, and said before the call closes."""
        await self._keep_held(call, state)
        sessions = self._platform.sessions
        effects = StoredSession(sessions, self._platform.handoff, call.tenant_id, call.session_id)
        plan = state.plan

        def store_goodbye(settlement: Settlement) -> None:
            if settlement.ended:
                self._store_agent(call, plan.closing_message)

        def settle_turn() -> Settlement:
            return settle(effects, state.status, state.outcome, store_reply=store_goodbye)

        settled = await anyio.to_thread.run_sync(settle_turn)
        state.status = settled.status
        if settled.handoff_requested and settled.handoff_reason is not None:
            await sink.handoff(settled.handoff_reason)
        if settled.ended:
            return await self._say_last(sink, state, plan.closing_message, ENDED_BY_AGENT)
        if settled.handoff_reason is not None:
            session = await anyio.to_thread.run_sync(sessions.record, call.tenant_id, call.session_id)
            if session.paused:
                return Next.RESTART
            await anyio.to_thread.run_sync(self._store_agent, call, plan.handoff_message)
            return await self._say_last(sink, state, plan.handoff_message, HANDED_OFF)
        return None

    @staticmethod
    async def _say_last(sink: VoiceSink, state: Conversation, words: str, reason: str) -> Next:
        """The call ends on `words` (stored already): shown now, said on a new connection (`_farewell`)."""
        await sink.transcript("agent", words, final=True)
        state.farewell = (words, reason)
        return Next.FAREWELL


def _taken_over(session: Session) -> bool:
    """A person has the conversation (not merely asked for): the handoff message is not said then."""
    return session.handoff is not None and session.handoff.state is HandoffState.TAKEN_OVER
