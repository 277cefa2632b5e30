"""Issue 21 item 3: "mhmm" over the agent does not stop it; a real interruption does, as before.

The calls run on the real engines (Silero VAD, Whisper tiny.en, Piper or espeak-ng for the agent) with
the customer spoken by espeak-ng. Which way the cascade went is read from the messages the client got,
the stored turns and the cascade's stage observer (in order), never from timing.
"""

from __future__ import annotations

from collections.abc import Iterator

import anyio
import pytest

from oratio.platform import Platform
from schemas import AgentUpdate, Role, VoiceConfig
from tests.support.models import STORY
from tests.support.serving import serving_voice
from tests.support.speech import real_speech
from tests.support.worlds import World
from tests.voice_bridge.client import Heard, voice_client
from tests.voice_bridge.doubles import silence, speak
from voice_bridge.backchannel import BACKCHANNEL_WORDS_MAX, is_backchannel
from voice_bridge.cascade import CascadeBackend
from voice_bridge.endpointing import Endpointer, SpeechStart, Utterance
from voice_bridge.playback import Player
from voice_bridge.recording import Recording
from voice_bridge.scripted import EnergyVad
from voice_bridge.speech.ports import LocalSpeech

pytestmark = pytest.mark.anyio

SENTENCES = [s if s.endswith(".") else s + "." for s in STORY.split(". ")]
US = "en-us"  # Whisper tiny.en hears espeak-ng's American voice well ("mhmm": "Mm-mm.")
AGENT_SECOND = 24_000 * 2  # bytes of one second of agent audio at the default 24 kHz


@pytest.fixture(scope="module")
def speech() -> LocalSpeech:
    return real_speech()


# -- which words are a backchannel ----------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    # What Whisper tiny.en wrote for espeak-ng and Piper saying them (bench/barge_in.py's clips).
    ["Mm-hmm.", "Mm, Mm.", "mm mm mm", "MMM", "Uh-huh.", "Okay", "Yeah?", "Right. Right. Right.", "I see..."]
    + ["Got it.", "Sure...", "Yes.", "Okay, I see.", "Oh.", "All right.", ""],
)
def test_acknowledgements_are_backchannels(text: str) -> None:
    assert is_backchannel(text)


@pytest.mark.parametrize(
    "text",
    ["Stop, I have another question.", "Wait...", "No.", "Hold on.", "Okay, stop.", "Actually, what about Sunday?"]
    + ["and H&M.", "Thanks.", "Yeah, but my card was charged twice.", " ".join(["okay"] * (BACKCHANNEL_WORDS_MAX + 1))],
)
def test_anything_else_is_not(text: str) -> None:
    assert not is_backchannel(text)


# -- the parts: the player pauses without dropping, the endpointer measures speech ----------------


async def test_a_paused_player_sends_nothing_until_resumed_then_all_of_it() -> None:
    sent: list[bytes] = []

    async def send(chunk: bytes) -> None:
        sent.append(chunk)

    recording = Recording(16_000, 16_000, 60, 1_000_000)
    try:
        player = Player(send, 16_000, 0.3, recording)
        audio = bytes(range(256)) * 25  # 0.2 s at 16 kHz: inside the lead, so nothing waits on the clock
        player.pause()
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(player.play, audio)
                await anyio.wait_all_tasks_blocked()
                assert sent == [] and player.playing()
                player.resume()
        assert b"".join(sent) == audio and not player.paused
    finally:
        recording.close()


async def test_a_flush_while_paused_drops_the_rest_and_says_it_was_playing() -> None:
    sent: list[bytes] = []

    async def send(chunk: bytes) -> None:
        sent.append(chunk)

    recording = Recording(16_000, 16_000, 60, 1_000_000)
    try:
        player = Player(send, 16_000, 0.3, recording)
        player.pause()
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(player.play, bytes(6400))
                await anyio.wait_all_tasks_blocked()
                assert player.flush()  # the client is told to drop what it buffered
        assert sent == [] and not player.playing()
    finally:
        recording.close()


def test_voiced_length_counts_speech_not_the_silence_after_it() -> None:
    endpointer = Endpointer(EnergyVad())
    speech = speak("Okay.")
    boundaries = endpointer.feed(silence(0.3) + speech)
    assert [type(b) for b in boundaries] == [SpeechStart]
    voiced = endpointer.voiced_s
    assert 0.2 < voiced <= len(speech) / 32_000
    assert endpointer.feed(silence(0.1)) == [] and endpointer.voiced_s == voiced  # quiet adds nothing
    assert [type(b) for b in endpointer.feed(silence(1.0))] == [Utterance]
    assert endpointer.voiced_s == 0.0


# -- calls on the real engines --------------------------------------------------------------------


class Stages:
    """The cascade's stage observer: what happened, in order."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, session_id: str, stage: str) -> None:
        if stage in ("paused", "backchannel", "interrupted", "utterance_end"):
            self.seen.append(stage)


async def story_then(platform: Platform, world: World, backend: CascadeBackend, said: str, turns: int) -> Heard:
    """Ask for the story; once a second of it is heard, say `said` over it; read until `turns` agent replies."""
    with serving_voice(platform, backend) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            await client.start(world.secret)
            await client.send_audio(silence(0.3) + speak("Tell me a story.", voice=US) + silence(1.0))
            await client.until(lambda h: len(h.audio) > AGENT_SECOND, within_s=60)
            await client.send_audio(speak(said, voice=US) + silence(1.2))
            await client.until(lambda h: len(h.transcripts("agent")) == turns, within_s=90)
            await client.end()
            return await client.closed()


def stored(platform: Platform, world: World, heard: Heard) -> Iterator[tuple[Role, str]]:
    session_id = heard.of_type("ready")[0]["session_id"]
    for turn in platform.sessions.get(world.acme.principal, session_id).turns:
        yield turn.role, turn.text


async def test_a_backchannel_over_a_long_reply_lets_it_play_to_the_end(
    platform: Platform, world: World, speech: LocalSpeech
) -> None:
    stages = Stages()
    backend = CascadeBackend(speech, platform.engine, observer=stages)
    heard = await story_then(platform, world, backend, "Mm-hmm.", turns=1)

    kinds = [m["type"] for m in heard.messages]
    assert "backchannel" in kinds and "interrupted" not in kinds
    assert stages.seen == ["utterance_end", "paused", "utterance_end", "backchannel"]
    # Every sentence was spoken, and the reply's audio ran to its end after the pause.
    assert heard.transcripts("agent", final=False) == SENTENCES
    assert kinds.index("backchannel") < kinds.index("agent_audio_end")
    assert heard.audio_at_first("agent_audio_end") > heard.audio_at_first("backchannel")
    # The "mhmm" is no turn: the story's question and the story, nothing else.
    assert [role for role, _ in stored(platform, world, heard)] == [Role.CUSTOMER, Role.AGENT]
    assert list(stored(platform, world, heard))[1] == (Role.AGENT, STORY)
    assert backend.backchannels.resumed == 1 and backend.backchannels.said_something == 0


async def test_a_real_interruption_stops_the_agent_before_its_words_are_known_and_is_answered(
    platform: Platform, world: World, speech: LocalSpeech
) -> None:
    stages = Stages()
    backend = CascadeBackend(speech, platform.engine, observer=stages)
    heard = await story_then(platform, world, backend, "Stop, I have another question.", turns=2)

    kinds = [m["type"] for m in heard.messages]
    assert "interrupted" in kinds and "backchannel" not in kinds
    # Longer than a backchannel: interrupted after the pause, never resumed. Usually by its length (too_long)
    # while it is still being spoken; when frames reach the listener in one burst (a loaded machine), the
    # utterance's end is seen in the same pass, before its length is checked, and its words interrupt instead
    # (said_something). Both are the same decision, in either order.
    assert stages.seen[:2] == ["utterance_end", "paused"]
    assert sorted(stages.seen[2:4]) == ["interrupted", "utterance_end"]
    assert backend.backchannels.too_long + backend.backchannels.said_something == 1
    assert backend.backchannels.resumed == 0
    spoken = heard.transcripts("agent", final=False)
    assert SENTENCES[-1] not in spoken
    question = heard.transcripts("customer")[1].lower()
    assert "stop" in question and "question" in question  # tiny.en hears "100 questions" from espeak-ng
    assert heard.transcripts("agent")[1] == f"You said: {heard.transcripts('customer')[1]}. Anything else?"
    turns = list(stored(platform, world, heard))
    assert [role for role, _ in turns] == [Role.CUSTOMER, Role.AGENT, Role.CUSTOMER, Role.AGENT]
    assert turns[1] == (Role.AGENT, STORY)  # the interrupted reply is stored as the agent wrote it


async def test_with_backchannels_not_ignored_a_mhmm_interrupts(
    platform: Platform, world: World, speech: LocalSpeech
) -> None:
    listens_to_all = AgentUpdate(voice=VoiceConfig(ignore_backchannels=False))
    platform.agents.update(world.acme.principal, world.agent.id, listens_to_all)
    stages = Stages()
    backend = CascadeBackend(speech, platform.engine, observer=stages)
    heard = await story_then(platform, world, backend, "Mm-hmm.", turns=2)

    kinds = [m["type"] for m in heard.messages]
    assert "interrupted" in kinds and "backchannel" not in kinds
    assert "paused" not in stages.seen and backend.backchannels.paused == 0
    assert SENTENCES[-1] not in heard.transcripts("agent", final=False)
    assert [role for role, _ in stored(platform, world, heard)] == [Role.CUSTOMER, Role.AGENT] * 2
