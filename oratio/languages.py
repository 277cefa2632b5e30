"""The languages an agent's text replies can be in (en, fr, es, de): detection, stopwords, default messages.

Why here, in the core: the creator reads an SOP's language and the runtime answers its fixed lines
(handoff, closing, "I don't know", "having trouble") in the plan's language, so both need one table.

Detection counts each language's function words (articles, pronouns, prepositions, auxiliaries) over
the text, plus a small bonus for letters only one of the languages uses (ß, ñ, ç). On SOP-sized text
this is as reliable as a statistical library for four well-separated languages, costs one linear pass
and no dependency; it is not meant for a three-word message (those default to English). Voice stays
English this round (docs/voice.md).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Final, Literal

Language = Literal["en", "fr", "es", "de"]
LANGUAGES: Final[tuple[Language, ...]] = ("en", "fr", "es", "de")
DEFAULT: Final[Language] = "en"

DETECT_MAX_CHARS: Final = 50_000
"""Detection reads at most this much text: a language shows in the first pages, and the cost stays bounded."""

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")

_STOPWORDS: Final[dict[Language, frozenset[str]]] = {
    "en": frozenset(
        """
        a an the and or but if when while where who whom whose which what that this these those is are was were
        be been being am has have had do does did will would shall should can could may might must to of in on
        at by for from with without about into over under than then as so such very too also just only any some
        all each every no not more most less it its they them their he him his she her we us our you your i me
        my there here after before because until upon within ask asks always never don't doesn't isn't
        """.split()
    ),
    "fr": frozenset(
        """
        le la les l un une des du de d au aux et ou mais si quand lorsque que qui quoi dont où ce cet cette ces
        est sont était étaient être été avoir a ont avait fait faire sera seront doit doivent devez peut peuvent
        pouvez il ils elle elles on nous vous je j me m te t se s leur leurs son sa ses notre nos votre vos mon
        ma mes dans sur sous avec sans pour par chez entre vers avant après pendant ne n pas plus jamais
        toujours très aussi tout tous toute toutes aucun aucune même comme donc car
        """.split()
    ),
    "es": frozenset(
        """
        el la los las un una unos unas lo y o pero si cuando mientras que quien quienes cual cuales donde este
        esta estos estas ese esa eso es son era eran ser sido estar está están ha han hay había debe deben
        puede pueden usted ustedes él ella ellos ellas nosotros se le les su sus nuestro nuestra mi mis tu del
        al de en con sin para por sobre entre hasta desde antes después durante no nunca siempre muy también
        todo todos toda todas ningún ninguna como porque pero más
        """.split()
    ),
    "de": frozenset(
        """
        der die das den dem des ein eine einen einem einer eines und oder aber wenn als ob dass weil wer wen
        wem was welche welcher welches dieser diese dieses ist sind war waren sein gewesen hat haben hatte wird
        werden wurde muss müssen soll sollen kann können darf dürfen er sie es wir ihr ich mich mir sich ihm
        ihn ihre ihren ihrem unser unsere euer mein meine in im an am auf aus bei mit ohne für von vom zu zum
        zur über unter nach vor bis durch gegen nicht nie niemals immer sehr auch nur kein keine keinen alle
        jeder jede jedes noch schon
        """.split()
    ),
}

# More function words for keyword filtering only (`stopwords`), kept out of detection: several are shared
# between languages ("a", "en", "me") and would blur which language a text is in.
_FILTER_ONLY: Final[dict[Language, frozenset[str]]] = {
    "en": frozenset("above below can't cannot doing either having hers least neither nor onto theirs whenever".split()),
    "fr": frozenset("alors en moins ni qu ta tes ton y lorsqu puisqu jusqu quoiqu presqu quelqu".split()),
    "es": frozenset("a esas esos fue haber me menos ni nos qué te tus u ya".split()),
    "de": frozenset("doch falls mehr seine um weniger wie wo".split()),
}

# Letters that mark one language out of the four (accents shared by several, like é, count for none).
_MARKS: Final[dict[Language, frozenset[str]]] = {
    "fr": frozenset("çèêëîïôœùû"),
    "es": frozenset("ñ¿¡"),
    "de": frozenset("ßäöü"),
}
_MARK_WEIGHT: Final = 0.5
_MIN_HITS: Final = 2
"""Fewer stopword hits than this in the winning language is too little evidence: English, the default."""


@dataclass(frozen=True)
class Messages:
    """The fixed lines a deployed agent says itself, without the model, in one language."""

    handoff: str
    closing: str
    no_answer: str
    apology: str
    confirm_intro: str
    """The confirmation gate's statement: "{action}" is the tool's description, "{details}" its arguments."""
    confirm_with: str
    confirm_and: str
    confirm_question: str


_MESSAGES: Final[dict[Language, Messages]] = {
    "en": Messages(
        handoff="I'm connecting you with a member of our team, who will continue from here.",
        closing="Thank you for contacting us. Goodbye!",
        no_answer="Sorry, I don't have an answer to that. Could you put it another way?",
        apology="Sorry, I'm having trouble right now. Please try again in a moment.",
        confirm_intro="To confirm: I will {action}{details}.",
        confirm_with="with",
        confirm_and="and",
        confirm_question="Shall I go ahead? Please answer yes or no.",
    ),
    "fr": Messages(
        handoff="Je vous mets en relation avec un membre de notre équipe, qui prendra le relais.",
        closing="Merci de nous avoir contactés. Au revoir !",
        no_answer="Désolé, je n'ai pas de réponse à cela. Pourriez-vous reformuler votre question ?",
        apology="Désolé, je rencontre un problème pour le moment. Veuillez réessayer dans un instant.",
        confirm_intro="Pour confirmer : je vais {action}{details}.",
        confirm_with="avec",
        confirm_and="et",
        confirm_question="Dois-je continuer ? Répondez par oui ou par non.",
    ),
    "es": Messages(
        handoff="Le pongo en contacto con un miembro de nuestro equipo, que continuará desde aquí.",
        closing="Gracias por contactarnos. ¡Adiós!",
        no_answer="Lo siento, no tengo una respuesta para eso. ¿Podría decirlo de otra manera?",
        apology="Lo siento, tengo problemas en este momento. Inténtelo de nuevo en un instante.",
        confirm_intro="Para confirmar: voy a {action}{details}.",
        confirm_with="con",
        confirm_and="y",
        confirm_question="¿Procedo? Responda sí o no, por favor.",
    ),
    "de": Messages(
        handoff="Ich verbinde Sie mit einem Mitglied unseres Teams, das das Gespräch übernimmt.",
        closing="Vielen Dank für Ihre Nachricht. Auf Wiedersehen!",
        no_answer="Entschuldigung, darauf habe ich keine Antwort. Könnten Sie es anders formulieren?",
        apology="Entschuldigung, gerade gibt es ein Problem. Bitte versuchen Sie es gleich noch einmal.",
        confirm_intro="Zur Bestätigung: Ich werde {action}{details}.",
        confirm_with="mit",
        confirm_and="und",
        confirm_question="Soll ich fortfahren? Bitte antworten Sie mit Ja oder Nein.",
    ),
}


def is_supported(language: str) -> bool:
    return language in _STOPWORDS


def _known(language: str) -> Language:
    for known in LANGUAGES:
        if known == language:
            return known
    return DEFAULT


def stopwords(language: str) -> frozenset[str]:
    """Function words of `language` (lower case) for filtering keywords; an unsupported code gets English's."""
    known = _known(language)
    return _STOPWORDS[known] | _FILTER_ONLY[known]


def words(text: str) -> list[str]:
    """The text's words, lower case (letters only, with an inner apostrophe kept: "don't", "l'agent")."""
    return [w.casefold() for w in _WORD.findall(text)]


def detect(text: str) -> str:
    """The language of `text`, one of en/fr/es/de: the one whose function words it uses most.

    Linear in the text, and reads at most `DETECT_MAX_CHARS`. Short or wordless text is English.
    """
    sample = text[:DETECT_MAX_CHARS]
    counts = Counter(words(sample))
    scores: dict[Language, float] = dict.fromkeys(LANGUAGES, 0.0)
    for word, count in counts.items():
        # "l'agent", "d'un": French elision; the article alone is the evidence.
        head = word.split("'", 1)[0] if "'" in word else word
        for language in LANGUAGES:
            if word in _STOPWORDS[language] or (head != word and head in _STOPWORDS[language]):
                scores[language] += count
    hits = dict(scores)
    folded = sample.casefold()
    for language, marks in _MARKS.items():
        scores[language] += _MARK_WEIGHT * sum(folded.count(mark) for mark in marks)
    best = max(LANGUAGES, key=lambda language: (scores[language], language == DEFAULT))
    return best if hits[best] >= _MIN_HITS else DEFAULT


def messages(language: str) -> Messages:
    """The agent's fixed lines in `language` (English when it is not supported)."""
    return _MESSAGES[_known(language)]


__all__ = ["DEFAULT", "LANGUAGES", "Language", "Messages", "detect", "is_supported", "messages", "stopwords", "words"]
