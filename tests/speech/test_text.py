from __future__ import annotations

import pytest

from oratio.errors import InvalidInput
from voice_bridge.speech.text import MAX_TEXT_CHARS, speakable


def test_plain_text_passes_through() -> None:
    assert speakable("Your order has shipped.") == "Your order has shipped."


def test_phoneme_markup_and_control_characters_are_neutralised() -> None:
    assert speakable("say [[h@'loU]]\x00 now\x1b[31m") == "say h@'loU now 31m"
    assert speakable("[[[x]]]") == "x"


def test_whitespace_folds() -> None:
    assert speakable("  one\n\ttwo   three ") == "one two three"


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "[[ ]]", "\x00\x07"])
def test_blank_text_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="no text to speak") as caught:
        speakable(text)
    assert caught.value.field == "text"


def test_text_over_the_cap_is_refused_and_the_cap_itself_is_allowed() -> None:
    assert len(speakable("a" * MAX_TEXT_CHARS)) == MAX_TEXT_CHARS
    with pytest.raises(InvalidInput, match=f"at most {MAX_TEXT_CHARS}"):
        speakable("a" * (MAX_TEXT_CHARS + 1))
