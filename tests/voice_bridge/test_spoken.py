"""Speakable text (issue 21 item 4): what the cascade's voice says for a reply written for a screen."""

from __future__ import annotations

import pytest

from oratio.platform import Platform
from tests.support.serving import serving_voice
from tests.support.worlds import World
from tests.voice_bridge.client import voice_client
from tests.voice_bridge.doubles import EspeakTts, espeak_speech, silence, speak
from voice_bridge.cascade import CascadeBackend
from voice_bridge.spoken import cardinal, ordinal, spoken, year
from voice_bridge.spoken import speak as speak_reply


@pytest.mark.parametrize(
    ("written", "said"),
    [
        # The demo agent's citation, on the sentence and alone (the splitter often makes it its own sentence).
        ("Refunds take 5 days. (source: Refund policy.md, Refunds > Window)", "Refunds take five days."),
        ("(source: Refund policy.md, Refunds > Window)", ""),
        ("Refunds take 5 days [1][2].", "Refunds take five days."),
        ("Refunds take 5 days [^note] 【3†source】.", "Refunds take five days."),
        ("Sources: refund-policy.md, shipping.pdf", ""),
    ],
)
def test_citations_are_not_spoken(written: str, said: str) -> None:
    assert spoken(written) == said


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("See [the refund policy](https://acme.example/refunds) first.", "See the refund policy first."),
        ("**Order** arrives *soon* ~~late~~.", "Order arrives soon late."),
        ("# Refunds", "Refunds"),
        ("- first, keep the receipt", "first, keep the receipt"),
        ("2. Then call us", "Then call us"),
        ("> quoted `code` here", "quoted code here"),
        ("```python", ""),
        ("![a chart](chart.png)", ""),
        ("| Plan | Price |", "Plan, Price"),
        ("|---|---|", ""),
        ("Line<br>break", "Line break"),
    ],
)
def test_markdown_is_dropped_and_its_words_kept(written: str, said: str) -> None:
    assert spoken(written) == said


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("Go to https://www.acme.example/help?x=1#top.", "Go to acme dot example."),
        ("Go to www.acme.example/help, then sign in.", "Go to acme dot example, then sign in."),
        ("Write to help.desk@acme.example today.", "Write to help dot desk at acme dot example today."),
        ("See refund_policy.pdf for details.", "See refund policy for details."),
        ("It is in Refund policy.md.", "It is in Refund policy."),
    ],
)
def test_addresses_and_file_names_are_said_not_spelled(written: str, said: str) -> None:
    assert spoken(written) == said


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("It costs $12.50.", "It costs twelve dollars and fifty cents."),
        ("It costs $1.", "It costs one dollar."),
        ("It costs $0.99.", "It costs ninety-nine cents."),
        ("Up to €1,250 or £3.20.", "Up to one thousand two hundred fifty euros or three pounds and twenty pence."),
        ("A budget of $2.5k.", "A budget of two point five thousand dollars."),
        ("USD 40 or 12 EUR.", "forty dollars or twelve euros."),
        ("That is 15% off.", "That is fifteen percent off."),
        ("It was 3.5 or 0.25 times.", "It was three point five or zero point two five times."),
        ("1,000,000 users.", "one million users."),
        ("The 21st and the 42nd.", "The twenty-first and the forty-second."),
        ("Order #12345 left.", "Order number one two three four five left."),
        (
            "Call 555-123-4567 or +1 (555) 123-4567.",
            "Call five five five, one two three, four five six seven"
            " or one, five five five, one two three, four five six seven.",
        ),
        ("We are open 9-5.", "We are open nine to five."),
        ("Version 2.0.1 is out.", "Version two point zero point one is out."),
    ],
)
def test_numbers_and_money_are_read_naturally(written: str, said: str) -> None:
    assert spoken(written) == said


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("It ships on 2026-12-03.", "It ships on December third, twenty twenty-six."),
        ("Due 12/24/2026.", "Due December twenty-fourth, twenty twenty-six."),
        ("Due Dec 3, 2026.", "Due December third, twenty twenty-six."),
        ("Due on 3 December.", "Due on the third of December."),
        ("The 21st of March.", "The twenty-first of March."),
        ("Open at 9:30am.", "Open at nine thirty A M."),
        ("Open at 9 a.m. sharp.", "Open at nine A M. sharp."),
        ("Open 9:00 to 17:00.", "Open nine o'clock to five P M."),
        ("Closes at 14:05.", "Closes at two oh five P M."),
        ("Founded in 1999, renewed in 2005.", "Founded in nineteen ninety-nine, renewed in two thousand five."),
    ],
)
def test_dates_and_times_are_read_naturally(written: str, said: str) -> None:
    assert spoken(written) == said


def test_plain_text_is_left_alone() -> None:
    text = "Sure, I can help you with that. What is your order number?"
    assert spoken(text) == text


def test_impossible_dates_and_times_are_not_invented() -> None:
    assert "thirteenth" not in spoken("On 2026-13-45.")
    assert "M" not in spoken("At 25:99.")


def test_number_words() -> None:
    assert cardinal(0) == "zero"
    assert cardinal(115) == "one hundred fifteen"
    assert cardinal(2_000_019) == "two million nineteen"
    assert cardinal(-7) == "minus seven"
    assert ordinal(1) == "first"
    assert ordinal(12) == "twelfth"
    assert ordinal(20) == "twentieth"
    assert ordinal(23) == "twenty-third"
    assert ordinal(100) == "one hundredth"
    assert year(1900) == "nineteen hundred"
    assert year(2000) == "two thousand"
    assert year(2009) == "two thousand nine"
    assert year(2010) == "twenty ten"
    assert year(1905) == "nineteen oh five"


# ---- wired into the cascade: the voice hears the spoken form, the transcript keeps what was written ---------

CITED = "See [the refund policy](https://acme.example/r) (source: Refund policy.md) for $12.50"


@pytest.mark.anyio
async def test_the_cascade_speaks_the_spoken_form_and_keeps_the_written_reply(platform: Platform, world: World) -> None:
    speech = espeak_speech([CITED])
    tts = speech.tts
    assert isinstance(tts, EspeakTts)
    backend = CascadeBackend(speech, platform.engine)
    with serving_voice(platform, backend) as base:
        async with voice_client(f"{base}/voice/{world.agent.id}") as client:
            session_id = (await client.start(world.secret))["session_id"]
            await client.send_audio(speak("Tell me about refunds.") + silence(1.0))
            await client.until(lambda h: bool(h.of_type("agent_audio_end")))
            await client.end()
            heard = await client.closed()

    written = f"You said: {CITED}. Anything else?"
    assert tts.calls == ["You said: See the refund policy for twelve dollars and fifty cents.", "Anything else?"]
    assert heard.audio  # it was spoken
    # The transcript and the stored turn keep the reply as the agent wrote it, sources and all.
    assert heard.transcripts("agent") == [written]
    turns = platform.sessions.get(world.acme.principal, session_id).turns
    assert turns[-1].text == written


class _RecordingTts:
    sample_rate = 16_000

    def __init__(self) -> None:
        self.calls: list[str] = []

    def synthesize(self, text: str) -> bytes:
        self.calls.append(text)
        return b"\x01\x00" * len(text)


def test_a_sentence_with_nothing_to_say_is_not_synthesised() -> None:
    tts = _RecordingTts()
    assert speak_reply(tts, "(source: Refund policy.md, Refunds > Window)") == b""
    assert speak_reply(tts, "|---|---|") == b""
    assert tts.calls == []
    assert speak_reply(tts, "It costs $3.") == b"\x01\x00" * len("It costs three dollars.")
    assert tts.calls == ["It costs three dollars."]
