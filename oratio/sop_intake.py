"""The intake check: an SOP must hold at least one instruction an agent could follow, or it is refused.

Why: an SOP of spaces, gibberish or a few stray words used to build an `active` agent with an empty
plan. `AgentService.create`/`update` call `check_sop` before anything is stored, so the admin gets a
clear error (InvalidInput on the `sop` field: HTTP 422, an MCP tool error) and nothing is kept.

The rule (docs/creator.md), in any of en/fr/es/de:
1. at least `MIN_WORDS` words;
2. at least one instruction word: a modal ("must", "doit", "debe", "muss"), "always"/"never" and their
   equivalents, or a verb SOPs give orders with ("answer", "répondez", "responda", "antworten");
3. at least `MIN_KNOWN` words, and `MIN_KNOWN_SHARE` of all words, that are the language's function
   words or instruction words: real sentences are full of them, gibberish has none.
A policy written as statements ("Refunds are available within 30 days of purchase.") has no instruction word
but is something an agent can answer from: it passes instead of 2 when it has at least `POLICY_MIN_WORDS` words
of which `POLICY_KNOWN_SHARE` are function words (real prose; lorem ipsum and gibberish stay below).
One linear pass over the words; the check reads at most `oratio.languages.DETECT_MAX_CHARS`.
"""

from __future__ import annotations

from typing import Final

from oratio.errors import InvalidInput
from oratio.languages import DETECT_MAX_CHARS, LANGUAGES, detect, stopwords, words

MIN_WORDS: Final = 3
MIN_KNOWN: Final = 2
MIN_KNOWN_SHARE: Final = 0.1
POLICY_MIN_WORDS: Final = 8
POLICY_KNOWN_SHARE: Final = 0.2

INSTRUCTION_WORDS: Final[frozenset[str]] = frozenset(
    """
    must should shall always never only do don't answer greet help ask tell explain check confirm verify
    collect offer refer escalate transfer hand handle respond reply assist provide follow use keep be
    make send look find route refuse apologise apologize thank book cancel refund issue process record
    note inform advise direct remind suggest recommend close end give treat search quote cite say
    doit doivent devez toujours jamais ne réponds répondez répondre aidez aider demandez demander
    expliquez vérifiez confirmez saluez accueillez proposez indiquez orientez transférez informez
    remerciez utilisez gardez soyez notez enregistrez consultez rappelez faut
    debe deben siempre nunca no responda responde responder ayude ayudar pida pregunte explique
    verifique confirme salude ofrezca indique transfiera informe agradezca utilice mantenga sea anote
    registre consulte recuerde
    muss müssen soll sollen darf dürfen immer nie niemals nicht antworten beantworten helfen fragen
    erklären prüfen bestätigen begrüßen bieten leiten informieren danken verwenden nutzen bleiben
    antworte hilf frage erkläre prüfe bestätige sei seid seien zeige zeigen nenne nennen gib geben biete
    schicke schicken verweise leite sois sé
    """.split()
)
"""Words that give an instruction, in the four languages (modals, always/never, imperative verbs)."""


def check_sop(sop: str) -> None:
    """Raise InvalidInput (field `sop`) when the SOP holds no instruction an agent could follow."""
    found = words(sop[:DETECT_MAX_CHARS])
    if not found:
        raise InvalidInput("the SOP has no words: write the procedure the agent must follow", field="sop")
    if len(found) < MIN_WORDS:
        raise InvalidInput(
            f"the SOP is too short to hold an instruction ({len(found)} words; at least {MIN_WORDS})", field="sop"
        )
    language = detect(sop)
    lexicon = stopwords(language) | INSTRUCTION_WORDS
    known = sum(1 for word in found if word in lexicon)
    instructed = any(word in INSTRUCTION_WORDS for word in found)
    statements = len(found) >= POLICY_MIN_WORDS and known >= POLICY_KNOWN_SHARE * len(found)
    if not (instructed or statements) or known < max(MIN_KNOWN, MIN_KNOWN_SHARE * len(found)):
        supported = ", ".join(LANGUAGES)
        raise InvalidInput(
            "the SOP holds no instruction an agent could follow (no sentence such as 'Answer questions "
            f"about ...' or 'Never ...'); write it as instructions in one of: {supported}",
            field="sop",
        )


__all__ = [
    "INSTRUCTION_WORDS",
    "MIN_KNOWN",
    "MIN_KNOWN_SHARE",
    "MIN_WORDS",
    "POLICY_KNOWN_SHARE",
    "POLICY_MIN_WORDS",
    "check_sop",
]
