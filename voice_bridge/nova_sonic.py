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

`BedrockNovaSonicModel` needs Python 3.12+ (strands' own check); on 3.11 choosing this backend is a
ConfigError at the first call. The adapter itself is plain `BidiModel`/`BidiAgent` code, so it is
tested on any Python with a scripted bidi model (tests/voice_bridge/test_nova_sonic.py).
"""

from __future__ import annotations

import base64
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

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
    BidiResponseStopEvent,
    BidiTranscriptBlockEvent,
)
from strands.bidi.types.media import AudioDelta

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
from schemas import Agent, AgentPlan, PendingAction, Role, Scope, Session, SessionStatus, Turn
from voice_bridge.audio import Resampler, resample
from voice_bridge.backend import VOICE_SUBJECT, Call, VoiceSink
from voice_bridge.context import VoiceServices
from voice_bridge.settings import VoiceSettings

logger = logging.getLogger("oratio.voice")

MODEL_RATE = 16_000
"""Rate of audio sent to the model (Nova Sonic takes 8, 16 or 24 kHz)."""

PLAY_QUEUE = 1024
BidiModelFactory = Callable[[], BidiModel]


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


class NovaSonicBackend:
    def __init__(self, platform: VoiceServices, model_factory: BidiModelFactory) -> None:
        self._platform = platform
        self._new_model = model_factory

    @property
    def name(self) -> str:
        return "nova-sonic"

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
        state = _Conversation(plan=plan, outcome=outcome, status=status, actions=actions, held=session.pending_action)
        # Playback paces in real time, so it runs apart from the event reader, which must see a
        # barge-in at once. None in the stream is the end of a reply's audio.
        play_in, play_out = anyio.create_memory_object_stream[tuple[int, bytes | None]](PLAY_QUEUE)
        await bidi.start()
        try:
            async with anyio.create_task_group() as tasks:

                async def listen() -> None:
                    async with play_in:
                        await self._receive(call, bidi, sink, state, play_in)
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
                await self._send_audio(call, audio, bidi)
                tasks.cancel_scope.cancel()  # the customer ended the call
        finally:
            with anyio.CancelScope(shield=True):
                await bidi.stop()

    def _load(self, call: Call) -> tuple[Agent, AgentPlan, Session, list[Turn]]:
        agent, artifact = self._platform.agents.artifact(call.tenant_id, call.agent_id)
        reader = service_principal(call.tenant_id, VOICE_SUBJECT, Scope.SESSIONS_READ)
        found = self._platform.sessions.get(reader, call.session_id)
        return agent, artifact.plan, found.session, found.turns

    async def _send_audio(self, call: Call, audio: ObjectReceiveStream[bytes], bidi: BidiAgent) -> None:
        resampler = Resampler(call.input_rate, MODEL_RATE)
        async for frame in audio:
            pcm = resampler.feed(frame)
            if pcm:
                await bidi.send(AudioDelta(format="pcm", source={"bytes": pcm}))

    async def _receive(
        self,
        call: Call,
        bidi: BidiAgent,
        sink: VoiceSink,
        state: _Conversation,
        playback: ObjectSendStream[tuple[int, bytes | None]],
    ) -> None:
        async for event in bidi.receive():
            if isinstance(event, BidiAudioDeltaEvent):
                pcm = base64.b64decode(event.audio)
                await playback.send((state.generation, resample(pcm, event.sample_rate, call.output_rate)))
            elif isinstance(event, BidiAudioStopEvent):
                await playback.send((state.generation, None))
            elif isinstance(event, BidiBargeInEvent):
                state.generation += 1
                await sink.speech_started()
            elif isinstance(event, BidiTranscriptBlockEvent):
                await self._transcript(call, event, sink, state)
            elif isinstance(event, BidiResponseStopEvent):
                await self._settle(call, sink, state)
            elif isinstance(event, BidiConnectionStopEvent):
                await self._settle(call, sink, state)  # a handoff or end tool stopped the conversation
                if state.status is not SessionStatus.COMPLETED:
                    await sink.ended("the agent handed the conversation to a person")
                return
            if state.status is SessionStatus.COMPLETED:
                return

    async def _transcript(
        self, call: Call, event: BidiTranscriptBlockEvent, sink: VoiceSink, state: _Conversation
    ) -> None:
        text = event.transcript.strip()
        if not text:
            return
        sessions = self._platform.sessions
        if event.role == "user":
            await call.before_turn()
            stored = await anyio.to_thread.run_sync(
                sessions.append_turn, call.tenant_id, call.session_id, Role.CUSTOMER, text
            )
            await sink.transcript("customer", text, final=True)
            await self._caller_said(call, state, text, stored.seq)
            rule = matching_rule(state.plan, text)
            if rule is not None:
                state.outcome.request_handoff(f"handoff rule '{rule.id}': {rule.description}")
                await self._settle(call, sink, state)
            return
        sources = list(state.outcome.sources)
        state.outcome.sources.clear()
        tool_calls = state.outcome.take_tool_calls()

        def store() -> None:
            sessions.append_turn(call.tenant_id, call.session_id, Role.AGENT, text, sources, tool_calls=tool_calls)

        await anyio.to_thread.run_sync(store)
        await self._keep_held(call, state)
        await sink.transcript("agent", text, final=True)

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

    async def _settle(self, call: Call, sink: VoiceSink, state: _Conversation) -> None:
        """Apply what the tools and rules decided (`oratio.runtime.settle`), then tell the caller."""
        await self._keep_held(call, state)
        effects = StoredSession(self._platform.sessions, self._platform.handoff, call.tenant_id, call.session_id)
        settled = await anyio.to_thread.run_sync(settle, effects, state.status, state.outcome)
        state.status = settled.status
        if settled.handoff_requested and settled.handoff_reason is not None:
            await sink.handoff(settled.handoff_reason)
        if settled.ended:
            await sink.ended("the agent ended the conversation")
