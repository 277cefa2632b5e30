"""Two kinds of handoff condition: triggers checked in code, judgements left to the model.

An SOP's handoff condition is either something code can check on every message, exactly and in any
of the supported languages (en/fr/es/de), or something only a reader can judge. `classify` sorts them:

- a **trigger** becomes a `HandoffRule` checked before the model runs:
  (a) phrases the admin spells out: quoted (`the customer says "cancel my contract"`), after "the
      customer says/mentions/uses/writes" ("mentions sparks, smoke or exposed wires"), or a situation
      named after "in case of"/"en cas de"/"en caso de"/"bei" ("Bei Gasgeruch"), or a list of things the
      customer has ("tiene un dolor fuerte, fiebre o la cara hinchada") -> `keywords`;
  (b) an amount threshold: topic + comparator + amount + currency ("a refund request is over $100",
      "le remboursement dépasse 100 $", "el reembolso supera 100 €", "Erstattungen über 100 €") -> `amount`;
  (c) repeated failures ("after two failed attempts", "if the customer asks three times",
      "après deux tentatives", "nach zwei fehlgeschlagenen Versuchen") -> `repeated_failures`;
  (d) an explicit request for a person ("asks for a human or a manager", "demande à parler à un
      conseiller", "pide hablar con una persona", "möchte mit einem Menschen sprechen") -> `human_request`.
- anything else is a **judgement** ("transfer when the request cannot be handled with your actions",
  "the customer is upset"): it goes verbatim to `AgentPlan.handoff_judgement`, which the runtime puts in
  the request_handoff tool's description and the drafter in the system prompt. It is never compiled
  into keywords: "cannot" and "handled" would hand off in-scope requests.

A keyword list is derived only for (a), and drops the SOP language's stopwords
(`oratio.languages.stopwords`) and single generic words. Every pattern here runs on admin text of
bounded length (`Limits.CONDITION_MAX`) and has no nested repetition.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, Literal

from creator_agent import coverage
from oratio.languages import LANGUAGES, stopwords
from oratio.runtime.amounts import Amount, parse_amount
from schemas import Limits
from schemas.plan import HandoffRule

TriggerKind = Literal["keywords", "amount", "human_request", "repeated_failures"]


@dataclass(frozen=True)
class Trigger:
    """A condition code checks on every turn; `rule(ident)` is its `HandoffRule`."""

    condition: str
    kind: TriggerKind
    patterns: list[str] = field(default_factory=list)
    amount_over: Decimal | None = None
    currency: str | None = None
    failures_over: int | None = None

    def rule(self, ident: str) -> HandoffRule:
        return HandoffRule(
            id=ident,
            description=self.condition[:500],
            kind=self.kind,
            patterns=self.patterns,
            amount_over=self.amount_over,
            currency=self.currency,
            failures_over=self.failures_over,
        )


@dataclass(frozen=True)
class Judgement:
    """A condition only the model can judge; kept verbatim."""

    condition: str


GENERIC_WORDS: Final = frozenset(
    """
    customer customers caller callers user users client clients person people someone somebody anyone
    asks ask asked asking says say said saying mentions mention mentioned mentioning wants want wanted requests
    request requested requesting needs need needed tells tell reports report reported speak speaking talk
    talking wishes wish like would help problem problems issue issues question questions thing things
    something anything everything case cases situation way time times agent handled handle cannot
    client clients cliente clientes kunde kunden demande demander pregunta fragt sagt dice dit
    doubt doute duda zweifel zweifelsfall zweifelsfällen frage fragen probleme problemen
    guest guests patient patients passenger passengers tenant tenants member members employee employees
    traveller travellers traveler travelers buyer buyers shopper shoppers subscriber subscribers holder holders
    policyholder policyholders visitor visitors student students resident residents consumer consumers
    passager passagers locataire locataires assuré assurée assurés abonné abonnée abonnés voyageur voyageurs
    adhérent adhérents paciente pacientes pasajero pasajeros huésped huéspedes inquilino inquilinos socio socios
    viajero viajeros asegurado asegurados usuario usuarios gast gäste patienten fahrgast fahrgäste mieter
    mitglied mitglieder versicherte versicherter reisende nutzer
    veut veulent souhaite souhaitent réclame réclament exige exigent demandent
    pide piden pedir solicita solicitan quiere quieren exige exigen reclama reclaman
    verlangt verlangen möchte möchten will wollen bittet bitten fordert fordern beantragt beantragen
    demandé demandée demandés demandées réclamé réclamée solicitado solicitada solicitados solicitadas
    pedido pedida verlangte verlangten beantragte beantragten gewünschte gewünschten
    """.split()
)
"""Words that say who speaks or how, not what they said: never a handoff keyword or amount topic on their own.

Whoever the SOP serves (guest, patient, passenger, tenant...) is named in most of their messages: as an
amount topic, "the guest asks for a refund over $200" handed off "I'm a guest, my bill is $300"; so did the
verb of asking in "el paciente pide un reembolso de más de 200 €" ("pide" + any amount)."""

# (d) an explicit request for a person: a "reach" verb, up to three filler words, a person noun.
_REACH = (
    r"ask(?:s|ed|ing)?|request(?:s|ed|ing)?|want(?:s|ed|ing)?|demand(?:s|ed|ing)?|insist(?:s|ed|ing)?|"
    r"speak(?:s|ing)?|talk(?:s|ing)?|be\s+(?:transferred|connected|put\s+through)|see|"
    r"demande(?:r|nt)?|veut|veulent|souhaite(?:nt)?|exige(?:nt)?|parler|voir|mis|"
    r"pide(?:n)?|pedir|quiere(?:n)?|solicita(?:r|n)?|exige|hablar|habla|comunicarse|"
    r"möchte(?:n)?|verlangt|fragt|bittet|sprechen|reden|verbunden|weitergeleitet"
)
_FILLER = (
    r"for|to|with|by|a|an|the|their|his|her|your|some|one|real|live|actual|other|"
    r"à|a|avec|en|relation|un|une|le|la|l'|l’|vrai|vraie|"
    r"con|por|un|una|el|al|la|otra|otro|"
    r"mit|nach|um|zu|zum|an|ein|eine|einen|einem|einer|dem|den|der|die|echten|echte|richtigen|menschlichen"
)
_PERSON = (
    r"human|humans|person|people|agent|manager|supervisor|representative|operator|someone|somebody|staff|"
    r"humain|personne|conseill(?:er|ère)|responsable|superviseur|opérateur|interlocuteur|quelqu'un|"
    r"humano|persona|agente|asesor(?:a)?|supervisor(?:a)?|gerente|encargad[oa]|operador(?:a)?|representante|alguien|"
    r"mensch(?:en)?|person|mitarbeiter(?:in)?|berater(?:in)?|kundenberater(?:in)?|vorgesetzten?|chef|jemandem|"
    r"sachbearbeiter(?:in)?"
)
_HUMAN_REQUEST: Final = re.compile(
    rf"(?<!\w)(?:{_REACH})(?:\s+(?:{_FILLER})){{0,4}}\s+(?:{_PERSON})(?!\w|['’]s\b)"
    # German puts the verb last: "(will) mit einem Menschen sprechen".
    rf"|(?<!\w)mit(?:\s+(?:{_FILLER})){{0,2}}\s+(?:{_PERSON})\s+(?:zu\s+)?(?:sprechen|reden)(?!\w)"
    # ... and in a "wenn" clause: "(wenn der Kunde) nach einem Menschen fragt", "einen Mitarbeiter verlangt".
    rf"|(?<!\w)(?:{_FILLER})(?:\s+(?:{_FILLER})){{0,3}}\s+(?:{_PERSON})\s+"
    rf"(?:fragt|fragen|verlangt|verlangen|wünscht|wünschen)(?!\w)",
    re.IGNORECASE,
)

# (c) repeated failures: a count and a unit of attempts ("two failed attempts", "three times", "zweimal").
_COUNTS: Final = {
    "one": 1, "once": 1, "two": 2, "twice": 2, "three": 3, "thrice": 3, "four": 4, "five": 5,
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5,
    "uno": 1, "una": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5,
    "ein": 1, "eine": 1, "einem": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5,
    "einmal": 1, "zweimal": 2, "dreimal": 3, "viermal": 4, "fünfmal": 5,
}  # fmt: skip
_COUNT = r"\d{1,2}|" + "|".join(sorted(_COUNTS, key=len, reverse=True))
_ATTEMPTS = (
    r"attempts?|tries|times|failures|tentatives?|fois|essais|échecs|intentos?|veces|fallos|"
    r"versuchen?|fehlversuchen?|mal"
)
_QUALIFIER = (
    r"failed|unsuccessful|consecutive|more|other|infructueuses?|échouées?|ratées?|consécutives?|"
    r"fallidos?|fallidas?|consecutivos?|fehlgeschlagenen?|erfolglosen?|vergeblichen?"
)
_REPEATED: Final = re.compile(
    rf"(?<!\w)(?P<count>{_COUNT})(?:\s+(?:{_QUALIFIER})){{0,2}}\s+(?:{_ATTEMPTS})(?!\w)"
    rf"|(?<!\w)(?P<word>twice|thrice|zweimal|dreimal|viermal|fünfmal)(?!\w)",
    re.IGNORECASE,
)
_FAILURE_CONTEXT: Final = re.compile(
    r"fail|unsuccessful|attempt|tries|repeat|again|asks?|cannot|can't|could not|unable|"
    r"échou|tentative|essai|demande|redemande|répète|fallid|intento|vuelve|pregunta|repite|"
    r"fehl|versuch|erfolglos|fragt|wiederholt|erneut",
    re.IGNORECASE,
)

# (b) amount thresholds: a comparator, and the amount just after it (or, verb-final, just before it).
_OVER: Final = re.compile(
    r"(?<!\w)(?:over|above|more than|greater than|exceeds?|exceeding|in excess of|higher than|"
    r"dépasse|dépassant|dépassent|plus de|supérieure? à|au-delà de|"
    r"supera|superan|superior a|más de|mayor(?:es)? (?:de|que)|por encima de|excede|"
    r"über|mehr als|übersteigt|übersteigen|überschreitet|größer als|höher als)(?!\w)"
    # "≥ 200 USD", "> $500": the symbol's threshold is the amount (at it exactly, the model judges).
    r"|(?<![<>=])(?:≥|>=|>|=>)(?![>=])",
    re.IGNORECASE,
)
_AMOUNT_WITHIN: Final = 40

# (a) phrases the admin spells out.
LISTED_WORDS_MAX: Final = 3
PATTERN_MAX: Final = 200
_ANY_STOPWORD: Final = GENERIC_WORDS.union(*(stopwords(lang) for lang in LANGUAGES))
_EDGE_PUNCTUATION: Final = ".,;:!?\"'()[]{}«»“”„‘’ "
_QUOTED: Final = re.compile(r"\"([^\"\n]{1,100})\"|“([^”\n]{1,100})”|«\s?([^»\n]{1,100}?)\s?»|„([^“”\n]{1,100})[“”]")
_SAYS: Final = re.compile(
    r"(?<!\w)(?:says?|said|mentions?|mentioned|uses? the words?|writes?|types?|"
    r"dit|mentionne|écrit|utilise le mot|dice|menciona|escribe|sagt|erwähnt|schreibt|nennt)"
    r"(?:\s+(?:the\s+words?|words?|le\s+mot|les\s+mots|la\s+palabra|las\s+palabras|das\s+wort|die\s+wörter))?"
    r"\s+(?P<rest>.+)$",
    re.IGNORECASE,
)
_SITUATION: Final = re.compile(
    r"^(?:in\s+(?:the\s+)?case\s+of|in\s+the\s+event\s+of|en\s+cas\s+d(?:e|')|en\s+caso\s+de|"
    r"im\s+falle?(?:\s+(?:von|eines|einer))?|bei)\s*(?P<rest>\S.*)$",
    re.IGNORECASE,
)
"""A condition that only names a situation ("in case of a gas leak", "en cas d'incendie", "Bei Gasgeruch"):
the situation is what customers write about, a phrase to check (at most LISTED_WORDS_MAX words)."""
_HAS: Final = re.compile(
    r"(?<!\w)(?:has|have|suffers\s+from|tiene|tienen|presenta|presentan|sufre|padece)\s+(?P<rest>.+)$",
    re.IGNORECASE,
)
"""What a customer has, listed ("has fever, chest pain or a swollen face", "tiene un dolor fuerte, fiebre o
la cara hinchada"): things they will name. Only a list of LISTED_MIN or more items counts."""
LISTED_MIN: Final = 2
_NEGATIONS: Final = frozenset(
    "no not n't without never none nothing sin ningún ninguna ninguno nunca nada kein keine keinen keinem ohne "
    "nicht nie pas sans aucun aucune jamais".split()
)
_ELIDED: Final = frozenset("l d qu n s j c m t lorsqu jusqu puisqu quoiqu presqu".split())
"""French elided words: before a phrase's first word, not part of what a customer types about."""
_LIST_SPLIT: Final = re.compile(r"\s*(?:,|;|/|\bor\b|\band\b|\bou\b|\bet\b|\bo\b|\by\b|\boder\b|\bund\b)\s*", re.I)


def classify(condition: str, language: str) -> Trigger | Judgement:
    """A trigger code can check (`Trigger`), or a judgement for the model (`Judgement`, verbatim).

    `language` is the SOP's (ISO 639-1): its stopwords are dropped from any derived keyword list. The
    trigger forms are recognised in every supported language whatever `language` says.
    """
    text = " ".join(condition.split())
    # Conditions are at most Limits.CONDITION_MAX characters (`stages.base.handoff_conditions` cuts parsed
    # ones): the patterns below never read more, whatever a caller passes.
    core = coverage.strip_handoff_lead(text[: Limits.CONDITION_MAX])
    if (amount := _amount(core, language)) is not None:
        return amount
    if _HUMAN_REQUEST.search(core):
        return Trigger(condition=text, kind="human_request")
    if (failures := _repeated_failures(core)) is not None:
        return failures
    if phrases := explicit_phrases(core, language):
        return Trigger(condition=text, kind="keywords", patterns=phrases)
    return Judgement(condition=text)


_OR_WORDS: Final = frozenset({"or", "ou", "o", "oder"})
_CLAUSE_VERBS: Final = frozenset(
    """
    says said mentions mentioned writes types uses asks requests wants demands insists reports threatens
    sounds seems appears is becomes gets feels
    dit mentionne écrit demande veut exige signale menace semble paraît est devient
    dice menciona escribe pide quiere exige informa reporta amenaza parece está es se
    sagt erwähnt schreibt fragt verlangt bittet meldet droht wirkt scheint ist klingt
    """.split()
)
"""A verb right after "or" starts a second clause of the same subject ("is very upset or says ..."), so a
second condition: the two may be of different kinds, and a judgement must not ride along in a trigger."""


def split_joined(condition: str) -> list[str]:
    """`condition` cut where "or" joins two clauses ("the passenger is very upset or says they will miss a
    connection" -> two conditions); a list of things ("a refund or an exchange") stays whole. One pass
    over the words; each part keeps the SOP's words, and a part of fewer than two words is not cut off."""
    words = condition.split()
    parts: list[list[str]] = [[]]
    for index, word in enumerate(words):
        following = words[index + 1].casefold().strip(",;:") if index + 1 < len(words) else ""
        joins = word.casefold().strip(",") in _OR_WORDS and following in _CLAUSE_VERBS
        if joins and len(parts[-1]) >= 2 and len(words) - index - 1 >= 2:
            parts.append([])
            continue
        parts[-1].append(word)
    return [" ".join(part).strip(" ,;") for part in parts]


def split_conditions(conditions: list[str], language: str) -> tuple[list[Trigger], list[str]]:
    """The triggers and the judgement conditions (verbatim) among `conditions`, each in its order."""
    triggers: list[Trigger] = []
    judgements: list[str] = []
    for condition in conditions:
        sorted_ = classify(condition, language)
        if isinstance(sorted_, Trigger):
            triggers.append(sorted_)
        else:
            judgements.append(sorted_.condition)
    return triggers, judgements


def keyword_filter(phrases: list[str], language: str) -> list[str]:
    """`phrases` without stopwords of `language` (or English) at their edges, cleaned; a phrase left with
    only stopwords of any supported language (customers write in theirs: "le le"), generic words or one
    short word is dropped.

    A phrase longer than a `HandoffRule` pattern (200 characters) is no phrase a customer types: dropped."""
    dropped = stopwords(language) | stopwords("en") | GENERIC_WORDS
    kept: list[str] = []
    for phrase in phrases:
        if len(phrase) > PATTERN_MAX:
            continue
        # Words as a customer types them ("don't" stays whole; the runtime matches whole words, any case).
        words = [word for word in (w.strip(_EDGE_PUNCTUATION) for w in phrase.casefold().split()) if word]
        if words:
            # "d'inondation" -> "inondation": a customer writes "une inondation" as often ("l'", "qu'" alike).
            head, apostrophe, tail = words[0].replace("’", "'").partition("'")
            if apostrophe and tail and head in _ELIDED:
                words[0] = tail
        while words and words[0] in dropped:
            words.pop(0)
        while words and words[-1] in dropped:
            words.pop()
        if not words or all(word in _ANY_STOPWORD for word in words) or (len(words) == 1 and len(words[0]) < 3):
            continue
        kept.append(" ".join(words))
    return coverage.clean_list(kept, 50)


def rule_id(condition: str, taken: Iterable[str]) -> str:
    """A readable, unique `HandoffRule.id` from the condition's content words ("sparks_smoke_exposed_wires")."""
    dropped = GENERIC_WORDS.union(*(stopwords(lang) for lang in LANGUAGES))
    words = [w for w in coverage.normalize(condition).split() if w not in dropped]
    base = re.sub(r"[^a-z0-9_]+", "", "_".join(words).casefold()).strip("_")[:32].strip("_") or "handoff"
    used = set(taken)
    candidate, n = base, 2
    while candidate in used:
        candidate = f"{base}_{n}"
        n += 1
    return candidate


def explicit_phrases(condition: str, language: str) -> list[str]:
    """Phrases the condition spells out: quoted ones, else the list after "says"/"mentions" (en/fr/es/de),
    else the situation a condition names after "in case of"/"bei" ("Bei Gasgeruch": a word customers use)."""
    quoted = [next(group for group in match.groups() if group) for match in _QUOTED.finditer(condition)]
    if quoted:
        return keyword_filter(quoted, language)
    said = _SAYS.search(condition)
    if said is not None and not _customer_speaks(condition[: said.start()]):
        said = None
    said = said or _SITUATION.match(condition)
    listed = said is None and (said := _HAS.search(condition)) is not None
    if said is None:
        return []
    rest = re.split(r"[.!?]", said["rest"].replace("(", ",").replace(")", ","), maxsplit=1)[0]
    phrases = keyword_filter(_LIST_SPLIT.split(rest), language)
    # After "has", only a list names things ("fever or chest pain"); one item describes ("has a question").
    # ... and a negated one says what is absent ("has no booking reference or no email"): the model judges.
    if listed and (len(phrases) < LISTED_MIN or _NEGATIONS.intersection(rest.casefold().split())):
        return []
    # A listed item is a few words; a longer one describes a situation for the model to judge. In a list of
    # things someone has, articles and prepositions inside an item do not count ("dolor en el pecho" names one
    # thing, as "chest pain" does); what someone says is counted whole ("booked assistance did not arrive"
    # describes, and as a phrase it would miss every other wording).
    size = _content_words if listed else _words
    return phrases if all(size(phrase) <= LISTED_WORDS_MAX for phrase in phrases) else []


def _words(phrase: str) -> int:
    return len(phrase.split())


def _content_words(phrase: str) -> int:
    return sum(word not in _ANY_STOPWORD for word in phrase.split())


_AGENT_SPEAKS: Final = frozenset(
    """
    assistant agent agents bot you we i should must will would can could may might shall to
    assistant assistante agent nous doit devez dois peut pouvez va
    asistente usted nosotros debe debes puede puedes
    assistent assistentin wir muss müssen soll sollen kann können
    """.split()
)
"""Words just before "says"/"dit"/"dice"/"sagt" that make it what the agent says ("the assistant should say so
honestly and offer to ..."), an instruction, not the customer's words: "honestly" and "offer" were keywords."""


def _customer_speaks(before: str) -> bool:
    """Whether the speech verb after `before` is the customer's: no agent, modal or "to" in the 3 words before."""
    return _AGENT_SPEAKS.isdisjoint(before[-60:].casefold().split()[-3:])


def _repeated_failures(condition: str) -> Trigger | None:
    if not _FAILURE_CONTEXT.search(condition):
        return None
    found = _REPEATED.search(condition)
    if found is None:
        return None
    word = (found["count"] or found["word"]).casefold()
    count = int(word) if word.isdigit() else _COUNTS[word]
    if not 1 <= count <= 20:
        return None
    return Trigger(condition=condition, kind="repeated_failures", failures_over=count)


def _amount(condition: str, language: str) -> Trigger | None:
    # An amount's topic is in its own sentence. A condition may carry more than one (a paragraph whose
    # lead could not be cut off, pasted bullets run together): words of the others ("Gift cards are
    # non-refundable. ... end the chat") would hand off any message naming them with a large amount.
    breaks = [0, *(found.end() for found in _CLAUSE_BREAK.finditer(condition))]
    for comparison in _OVER.finditer(condition):
        after = parse_amount(condition[comparison.end() : comparison.end() + _AMOUNT_WITHIN])
        topic_end = comparison.start()
        if after is None:  # verb-final: "wenn die Erstattung 100 € übersteigt"
            before = condition[max(0, comparison.start() - _AMOUNT_WITHIN) : comparison.start()]
            found = _last_amount_start(before)
            if found is None:
                continue
            after, offset = found
            topic_end = comparison.start() - len(before) + offset
        start = breaks[bisect.bisect_right(breaks, topic_end) - 1]  # the sentence the amount is in
        topics = _topics(condition[start:topic_end], language)
        if topics:
            return Trigger(
                condition=condition, kind="amount", patterns=topics, amount_over=after.value, currency=after.currency
            )
    return None


_CLAUSE_BREAK: Final = re.compile(r"[.!?;:](?=\s)|[•▪◦‣–—]")
"""Where a sentence ends inside a condition ("€1.500" has no space after its dot: no break)."""


def _last_amount_start(text: str) -> tuple[Amount, int] | None:
    """The amount in `text` (the words just before a verb-final comparator) and where its number starts."""
    numbers = list(re.finditer(r"[$€£¥]?\s?\d[\d.,\s]*", text))
    for number in reversed(numbers):
        amount = parse_amount(text[number.start() :])
        if amount is not None:
            return amount, number.start()
    return None


def _topics(text: str, language: str) -> list[str]:
    """Topic stems of an amount condition: the last content word of each phrase before the amount."""
    dropped = stopwords(language) | stopwords("en") | GENERIC_WORDS
    words = [w for w in coverage.normalize(text).split() if not any(c.isdigit() for c in w)]
    runs: list[list[str]] = [[]]
    for word in words:
        if word in dropped:
            runs.append([])
        else:
            runs[-1].append(word)
    return coverage.clean_list((_stem(run[-1]) for run in runs if run and len(run[-1]) >= 3), 50)


def _stem(word: str) -> str:
    """A topic's stem, matched as a word prefix at run time: "refunds" -> "refund", "Erstattungen" -> "erstattung"."""
    if len(word) > 6 and word.endswith("en"):
        return word[:-2]
    if len(word) > 4 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


__all__ = [
    "GENERIC_WORDS",
    "Judgement",
    "Trigger",
    "classify",
    "explicit_phrases",
    "keyword_filter",
    "rule_id",
    "split_conditions",
    "split_joined",
]
