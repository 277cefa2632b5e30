"""The phone door's parts on their own: G.711 mu-law, 16 -> 8 kHz, Twilio's signature, tickets, masking."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from voice_bridge import mulaw
from voice_bridge.twilio_auth import TicketBook, TicketError, Tickets, masked_caller, twilio_signature


def pcm(values: npt.NDArray[np.int64]) -> bytes:
    return values.astype("<i2").tobytes()


def values(data: bytes) -> npt.NDArray[np.int64]:
    return np.frombuffer(data, dtype="<i2").astype(np.int64)


def test_mulaw_matches_g711_at_its_landmarks() -> None:
    assert values(mulaw.decode(bytes([0xFF, 0x7F, 0x80, 0x00]))).tolist() == [0, 0, 32124, -32124]
    assert mulaw.encode(pcm(np.array([0, 32767, -32768]))) == bytes([0xFF, 0x80, 0x00])


def test_every_sample_survives_mulaw_within_its_segments_step() -> None:
    every = np.arange(-32768, 32768)
    back = values(mulaw.decode(mulaw.encode(pcm(every))))
    # G.711 keeps 4 bits of mantissa: the error grows with the magnitude, about 1/16 of it at most.
    assert np.all(np.abs(back - every) <= np.abs(every) / 16 + 8)
    # And every code but the second zero (0x7F) comes back to itself.
    codes = bytes(c for c in range(256) if c != 0x7F)
    assert mulaw.encode(mulaw.decode(codes)) == codes


def test_an_odd_trailing_byte_is_dropped_not_misread() -> None:
    assert mulaw.encode(pcm(np.array([0, 0])) + b"\x01") == bytes([0xFF, 0xFF])


def tone(hz: float, seconds: float = 1.0, rate: int = 16_000) -> bytes:
    t = np.arange(int(seconds * rate))
    return pcm(np.rint(np.sin(2 * np.pi * hz * t / rate) * 10_000).astype(np.int64))


def level(data: bytes) -> float:
    samples = values(data)[100:].astype(np.float64)  # past the filter's start
    return float(np.sqrt(2 * np.mean(samples * samples)) / 10_000)


def test_the_decimator_keeps_the_phone_band_and_removes_what_would_alias() -> None:
    assert level(mulaw.Decimator().feed(tone(1_000))) == pytest.approx(1.0, abs=0.05)
    assert level(mulaw.Decimator().feed(tone(3_000))) > 0.8
    assert level(mulaw.Decimator().feed(tone(6_000))) < 0.05  # would fold back to 2 kHz if just dropped


def test_the_decimator_gives_the_same_stream_whatever_the_frame_sizes() -> None:
    audio = tone(440, 0.5) + tone(2_000, 0.5)
    whole = mulaw.Decimator().feed(audio)
    decimator = mulaw.Decimator()
    pieces = b"".join(decimator.feed(audio[i : i + 322]) for i in range(0, len(audio), 322))  # odd sample counts
    assert pieces == whole
    assert len(whole) == len(audio) // 2


def test_the_signature_is_twilios() -> None:
    """Twilio's documented example (the same value twilio-python's RequestValidator computes)."""
    params = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+12349013030"),
        ("Digits", "1234"),
        ("From", "+12349013030"),
        ("To", "+18005551212"),
    ]
    url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    assert twilio_signature("12345", url, params) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
    assert twilio_signature("12345", url, list(reversed(params))) == "0/KCTR6DLpKmkAf8muzZqo1nDgQ="


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_ticket_carries_its_claims_until_it_expires() -> None:
    clock = Clock()
    tickets = Tickets(b"k" * 32, 60, clock)
    issued = tickets.issue("ten_1", "agt_1", "CA" + "0" * 32, "…1234")
    claims = tickets.check(issued)
    assert (claims.tenant_id, claims.agent_id, claims.call_sid, claims.caller) == (
        "ten_1",
        "agt_1",
        "CA" + "0" * 32,
        "…1234",
    )
    clock.now += 60
    with pytest.raises(TicketError, match="expired"):
        tickets.check(issued)


def test_the_ticket_book_admits_each_ticket_once_and_refuses_when_full() -> None:
    clock = Clock()
    tickets = Tickets(b"k" * 32, 60, clock)
    book = TicketBook(2, clock)
    first, second, third = (tickets.check(tickets.issue("t", "a", "CA", "…")) for _ in range(3))
    book.claim(first)
    with pytest.raises(TicketError, match="already used"):
        book.claim(first)
    book.claim(second)
    with pytest.raises(TicketError, match="too many"):
        book.claim(third)
    clock.now += 61  # the first two expired: forgotten, and the book has room again
    book.claim(third)


@pytest.mark.parametrize(
    ("number", "masked"),
    [("+14155550123", "…0123"), ("+1 (415) 555-0123", "…0123"), ("anonymous", "unknown"), ("", "unknown")],
)
def test_the_caller_is_kept_as_the_last_four_digits(number: str, masked: str) -> None:
    assert masked_caller(number) == masked
