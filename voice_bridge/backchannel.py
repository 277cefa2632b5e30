"""Backchannels: the short acknowledgements ("mhmm", "okay", "uh-huh") a listener makes while the agent speaks.

They are not turns. With `VoiceConfig.ignore_backchannels` (the default) the cascade pauses agent audio at
the first sound of customer speech over it, and when that speech ends, judges it here: only words of the
lists below (any number of them, at most `BACKCHANNEL_WORDS_MAX`), spoken in at most `BACKCHANNEL_MAX_S`,
let the agent go on where it paused; anything else interrupts it (docs/voice.md, "Barge-in").

English only, as voice is this round. The words are what Whisper tiny.en writes for them: "Mm-hmm.",
"Mm, Mm.", "MMM", "Uh-huh.", "Right. Right." (it repeats short words), "I see...". "No", "wait", "stop",
"hold on" and "sorry" are not here: they mean the customer wants the floor; nor is "thanks", which often
closes what the customer wanted. Judging is linear in the text:
one pass to keep letters, one split, set lookups.
"""

from __future__ import annotations

from dataclasses import dataclass

BACKCHANNEL_MAX_S = 1.2
"""Speech over the agent longer than this is an interruption, without waiting for its words."""

BACKCHANNEL_WORDS_MAX = 6
"""More words than this is something said, whatever the words ("okay okay okay yeah right sure yes")."""

WORDS = frozenset(
    {
        "ok",
        "okay",
        "okey",
        "kay",
        "yeah",
        "yea",
        "yep",
        "yup",
        "yes",
        "right",
        "sure",
        "alright",
        "uh",
        "huh",
        "um",
        "ah",
        "oh",
        "aha",
        "cool",
        "great",
        "nice",
        "fine",
        "exactly",
        "indeed",
        "totally",
        "true",
    }
)
"""One-word acknowledgements."""

PHRASES = frozenset(
    {
        ("i", "see"),
        ("got", "it"),
        ("all", "right"),
        ("uh", "huh"),
        ("i", "know"),
        ("makes", "sense"),
        ("that", "makes", "sense"),
        ("go", "on"),
    }
)
"""Acknowledgements of several words; a text may mix them with `WORDS` ("okay, I see")."""

_HUM_LETTERS = frozenset("mh")


def _is_hum(word: str) -> bool:
    """ "mm", "mmm", "hmm", "mhm", "mmhmm": a closed-mouth sound, however many letters Whisper gave it."""
    return len(word) >= 2 and "m" in word and set(word) <= _HUM_LETTERS


def words_of(text: str) -> list[str]:
    """Lower-case words of letters and apostrophes; everything else (hyphens, punctuation) separates."""
    kept = "".join(c if c.isalpha() or c == "'" else " " for c in text.lower())
    return kept.split()


def is_backchannel(text: str) -> bool:
    """True when `text` says nothing but acknowledgement; "" (a cough, a hum Whisper did not write) too."""
    words = words_of(text)
    if len(words) > BACKCHANNEL_WORDS_MAX:
        return False
    at = 0
    while at < len(words):
        for size in (3, 2, 1):
            if tuple(words[at : at + size]) in PHRASES:
                at += size
                break
        else:
            word = words[at]
            if word not in WORDS and not _is_hum(word):
                return False
            at += 1
    return True


@dataclass
class BackchannelStats:
    """What customer speech over agent audio turned out to be, summed over a backend's calls."""

    paused: int = 0  # agent audio paused at the onset of customer speech
    resumed: int = 0  # judged a backchannel: the agent went on where it paused
    too_long: int = 0  # interrupted because the speech went on past BACKCHANNEL_MAX_S
    said_something: int = 0  # interrupted because its words were not only acknowledgements


__all__ = [
    "BACKCHANNEL_MAX_S",
    "BACKCHANNEL_WORDS_MAX",
    "PHRASES",
    "WORDS",
    "BackchannelStats",
    "is_backchannel",
    "words_of",
]
