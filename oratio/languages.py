"""The languages an SOP may be written in (en/fr/es/de): detection and per-language stopwords.

Minimal version written by the handoff work (issue 17 item 2) with the signatures the issue-17
contract fixes (`detect(text) -> str`, `stopwords(lang) -> frozenset[str]`); the SOP-reading work
extends it (default messages per language). Detection counts each language's commonest function
words: plain, linear in the text, and good enough for an SOP (hundreds of words); a text with no
evidence is English.
"""

from __future__ import annotations

import re
from typing import Final

LANGUAGES: Final = ("en", "fr", "es", "de")
DEFAULT: Final = "en"

_STOPWORDS: Final[dict[str, frozenset[str]]] = {
    "en": frozenset(
        """
        a an the and or but nor if when whenever while where who whom whose which what that this these those
        is are was were be been being am has have had having do does did doing will would shall should can could
        cannot can't may might must to of in on at by for from with without about into onto over under above below
        than then as so such very too also just only any some all each every either neither no not more most less
        least it its they them their theirs he him his she her hers we us our you your i me my there here
        """.split()
    ),
    "fr": frozenset(
        """
        le la les l un une des du de d au aux et ou mais donc ni car si que qu qui quoi dont où ce cet cette ces
        est sont être été a ont avoir fait faire peut peuvent doit doivent ne pas plus moins très aussi comme
        il elle ils elles on nous vous je j me m te t se s son sa ses leur leurs mon ma mes ton ta tes notre votre
        nos vos en y dans sur sous par pour avec sans chez lorsque quand alors tout tous toute toutes
        """.split()
    ),
    "es": frozenset(
        """
        el la los las lo un una unos unas y o u pero ni si que qué quien cual cuando donde como de del al a en
        con sin por para sobre entre es son ser está están estar ha han haber fue puede pueden debe deben no
        más menos muy también ya se su sus mi mis tu tus nuestro nuestra le les me te nos este esta estos estas
        ese esa esos esas todo todos toda todas
        """.split()
    ),
    "de": frozenset(
        """
        der die das den dem des ein eine einen einem einer eines und oder aber doch wenn falls als wie dass ob
        wer was wo ist sind war waren sein hat haben hatte wird werden kann können muss müssen soll sollen
        nicht kein keine keinen mehr weniger sehr auch nur schon noch es er sie wir ihr ich mich mir sich sein
        seine ihre ihr unser unsere zu zum zur im in an am auf aus bei mit nach von vor für über unter durch
        ohne um bis
        """.split()
    ),
}

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_MARKERS: Final[dict[str, frozenset[str]]] = {
    "en": frozenset("the and is are of to with for you your when if not this that".split()),
    "fr": frozenset("le la les et est des du une pour avec vous votre quand si pas ce cette".split()),
    "es": frozenset("el los las y es del una para con usted su cuando si no este esta".split()),
    "de": frozenset("der die das und ist nicht mit für sie ihr wenn ein eine dem den zu".split()),
}
_SCAN_MAX: Final = 20_000  # characters looked at: an SOP's opening says what language it is in


def stopwords(lang: str) -> frozenset[str]:
    """Function words of `lang` (casefolded); English for a language Oratio does not read."""
    return _STOPWORDS.get(lang, _STOPWORDS[DEFAULT])


def detect(text: str) -> str:
    """The language of `text` among en/fr/es/de, by counting each one's commonest words; English if unsure."""
    counts = dict.fromkeys(LANGUAGES, 0)
    for match in _WORD.finditer(text[:_SCAN_MAX].casefold()):
        word = match.group()
        for lang, markers in _MARKERS.items():
            if word in markers:
                counts[lang] += 1
    best = max(LANGUAGES, key=lambda lang: counts[lang])  # ties go to the earlier, English first
    return best if counts[best] > 0 else DEFAULT


__all__ = ["DEFAULT", "LANGUAGES", "detect", "stopwords"]
