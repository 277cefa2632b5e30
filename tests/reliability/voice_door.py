"""The voice bridge (`WS /voice/{agent_id}`) as a door of the isolation property test.

A call picks its key and agent as `RuntimeDoor._request` does. With the actor's own live key on
its agent it says one short utterance (a tone: the server runs the `scripted` speech backend, so a
call takes milliseconds, not model time), waits for the agent's reply, ends the call and records the
session. Aimed at the other tenant (their agent, their session, their key on the actor's agent) or
with a revoked key, the bridge must close with its documented code (4401 / 4404) before any audio,
and neither the `error` message nor the close reason may name anything of the other tenant's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tests.reliability.doors import CALL_TIMEOUT_S, Operation, Step
from tests.reliability.ledger import assert_nothing_of, unknown_id
from tests.voice_bridge.client import Heard, voice_client

RATE = 16_000


def utterance() -> bytes:
    """0.4 s of a loud tone (speech for the energy VAD) then 1 s of silence (the end of the utterance)."""
    t = np.arange(int(0.4 * RATE)) / RATE
    tone = (4000 * np.sin(2 * np.pi * 220 * t)).astype("<i2").tobytes()
    return tone + bytes(RATE * 2)


@dataclass(frozen=True)
class VoiceRequest:
    agent_id: str
    secret: str
    session_id: str | None
    expected: frozenset[int]
    """Close codes that mean the other tenant's record was not there (empty: the actor's own call)."""
    asked: str


class VoiceDoor:
    name = "voice"

    def __init__(self, ws_base: str) -> None:
        self._base = ws_base
        self._audio = utterance()

    def operations(self) -> Sequence[Operation]:
        return [Operation(self.name, "call", self._call)]

    def _request(self, step: Step) -> VoiceRequest:
        key_id = step.key()
        secret, key_agent = step.mine.secrets[key_id], step.mine.key_agent[key_id]
        if key_id in step.mine.revoked or key_agent in step.mine.gone:
            return VoiceRequest(key_agent, secret, None, frozenset({4401}), "")
        if step.cross and step.pick % 3 == 0:
            return VoiceRequest(step.other.agent.id, secret, None, frozenset({4404}), step.other.agent.id)
        if step.cross and step.pick % 3 == 1:
            session = step.theirs.pick("session", step.pick) or unknown_id("session")
            return VoiceRequest(key_agent, secret, session, frozenset({4404}), session)
        if step.cross:
            # Their key on my agent: revoked or gone it is no key (4401); live, their tenant has no such agent (4404).
            their_key = step.theirs.pick("key", step.pick) or step.theirs.live["key"][0]
            return VoiceRequest(step.actor.agent.id, step.theirs.secrets[their_key], None, frozenset({4401, 4404}), "")
        return VoiceRequest(key_agent, secret, None, frozenset(), "")

    async def _call(self, step: Step) -> str:
        request = self._request(step)
        where = f"voice /voice/{request.agent_id} as {step.actor.name}"
        extra: dict[str, Any] = {"session_id": request.session_id} if request.session_id else {}
        async with voice_client(f"{self._base}/voice/{request.agent_id}") as client:
            ready = await client.start(request.secret, **extra)
            if ready.get("type") != "ready":
                heard = await client.closed(CALL_TIMEOUT_S)
                return self._refused(step, request, heard, where)
            assert not request.expected, f"{where}: expected a close {set(request.expected)}, got {ready}"
            session_id = ready["session_id"]
            step.mine.add_customer_session(session_id, request.agent_id)
            await client.send_audio(self._audio)
            await client.until(lambda h: bool(h.transcripts("agent")) or h.close_code is not None, CALL_TIMEOUT_S)
            if client.heard.close_code is None:
                await client.end()
            heard = await client.closed(CALL_TIMEOUT_S)
        assert heard.close_code == 1000, f"{where}: {heard.close_code} {heard.close_reason} {heard.messages}"
        assert heard.transcripts("customer") and heard.transcripts("agent"), f"{where}: {heard.messages}"
        assert_nothing_of(step.theirs, heard.messages, where)
        return "served"

    def _refused(self, step: Step, request: VoiceRequest, heard: Heard, where: str) -> str:
        said = {"messages": heard.messages, "reason": heard.close_reason}
        assert_nothing_of(step.theirs, said, where, asked=request.asked)
        assert not heard.audio, f"{where}: audio before a refusal"
        errors = heard.of_type("error")
        assert errors and errors[-1]["code"] == heard.close_code, f"{where}: {said}"
        assert heard.close_reason.strip(), f"{where}: a close without a reason"
        if request.expected:
            if heard.close_code == 4409 and request.asked.startswith("ses_"):
                # My agent refuses (paused) before any session is looked up: nothing about theirs.
                assert request.asked not in heard.close_reason, said
                return "refused"
            assert heard.close_code in request.expected, f"{where}: expected {set(request.expected)}: {said}"
            return "unknown" if heard.close_code == 4404 else "refused"
        # My key, my agent: only a state of mine refuses (a paused agent).
        assert heard.close_code == 4409, f"{where}: the actor's own call refused: {said}"
        return "refused"
