"""Reading an SOP's structure without a model: what the offline (scripted) creator and post-processing rely on.

An SOP written for people puts its rules under domain headings ("Baggage", "Cancellations"), in
prose, in tables and in numbered policies, in English, French, Spanish or German. The reader walks
the text once (`_blocks`), classifies each sentence by its words (`_classify`) and takes out handoff
conditions, fields to collect and back-office actions (`_extract`). It reads structure and wording
only: it cannot tell a rule that is implied, resolve a contradiction, or understand a condition;
docs/creator.md ("What the offline parser can and cannot read") says exactly what it reads.

Everything here is linear in the SOP's length (tenant text).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from creator_agent.coverage import clean_list
from creator_agent.sop_reader._blocks import Block, blocks
from creator_agent.sop_reader._classify import (
    Kind,
    SectionKind,
    Sentence,
    classify,
    internal_marker,
    is_metadata,
    is_must,
    is_never,
    section_kind,
)
from creator_agent.sop_reader._extract import actions, fields, handoff_conditions, situation, with_antecedent
from creator_agent.stages.base import list_limit
from oratio.languages import detect
from schemas.creation import ParsedSop

TONE_MAX = 500
"""`ParsedSop.tone`'s length."""
RULES_BUDGET = 10_000
"""Characters of never rules, steps and must rules the reading keeps: the system prompt holds 20,000 in
all. Never rules come first, then steps, then must rules with a modal ("must", "always"), then orders,
then plain statements of policy; what does not fit is counted in `ambiguities`, naming the field."""
NOTES_BUDGET = 3000
CONDITION_MAX = 300
MIN_CONDITION_WORDS = 2
MIN_CELL_CHARS = 3  # a HandoffCondition's least length


@dataclass
class SopReading:
    """What the reader found, each list in SOP order, with the section each rule came from."""

    language: str = "en"
    goals: list[str] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)
    information_to_collect: list[str] = field(default_factory=list)
    must_rules: list[tuple[str, str]] = field(default_factory=list)  # (section, rule)
    never_rules: list[tuple[str, str]] = field(default_factory=list)
    handoff_conditions: list[str] = field(default_factory=list)
    tone: list[str] = field(default_factory=list)
    internal_notes: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    must_ranks: list[int] = field(default_factory=list)  # per must rule: 0 modal, 1 order, 2 statement


def split_sentences(text: str) -> list[str]:
    """Sentences of a paragraph: an end mark (. ! ?) followed by a space and a capital, a digit or ¿ ¡ "."""
    found: list[str] = []
    start = 0
    length = len(text)
    for index, char in enumerate(text):
        if char in ".!?" and index + 2 < length and text[index + 1] == " ":
            following = text[index + 2]
            if following.isupper() or following.isdigit() or following in "¿¡\"'([":
                found.append(text[start : index + 1].strip())
                start = index + 2
    found.append(text[start:].strip())
    return [sentence for sentence in found if sentence]


def _sentences(block: Block) -> list[str]:
    return [block.text] if block.kind == "row" else split_sentences(block.text)


def read_sop(sop: str) -> SopReading:
    """The SOP's structure: rules, steps, handoff conditions, fields, tone, goals, notes, actions, language."""
    reading = SopReading(language=detect(sop))
    found, _ = blocks(sop)
    # The introduction: the first paragraph of prose before any section heading (the title aside).
    introduced = False
    for block in found:
        kind_of_section = "internal" if block.kind == "comment" else section_kind(block.section)
        intro = not introduced and block.kind == "paragraph" and block.before_first_heading
        if intro and not is_metadata(Sentence(block.text)):
            introduced = True
        context = block.section if kind_of_section == "domain" else ""

        def kind_of(
            sentence: Sentence, block: Block = block, section: SectionKind = kind_of_section, intro: bool = intro
        ) -> Kind:
            listed = block.kind in ("item", "row")
            return classify(sentence, section, listed=listed, numbered=block.numbered, intro=intro)

        sentences = [Sentence(text) for text in _sentences(block)]
        kinds = [kind_of(sentence) for sentence in sentences]
        if block.kind == "paragraph" and "internal" in kinds:
            # "Internal: the line is 0800 ... Do not share with customers.": the whole paragraph is the note.
            reading.internal_notes.append(" ".join(internal_marker(s) or s.text for s in sentences))
            continue
        if block.kind == "item" and len(sentences) > 1 and not _SEPARATE.intersection(kinds):
            # One list item is one rule or step, however many sentences it has.
            whole = Sentence(block.text)
            sentences, kinds = [whole], [kind_of(whole)]
        previous: Sentence | None = None
        for sentence, kind in zip(sentences, kinds, strict=True):
            # A row of an escalation table: its first cell is the situation, the rest says what to do.
            cell = block.cells[0] if block.kind == "row" and block.cells else ""
            collecting = kind_of_section == "collect"
            _file(reading, sentence, kind, context, collecting=collecting, first_cell=cell, previous=previous)
            previous = sentence
    return reading


_SEPARATE: frozenset[Kind] = frozenset({"internal", "handoff", "metadata"})
"""Kinds a sentence keeps on its own even inside a list item: a note or a handoff must not ride on a rule."""


def _file(
    reading: SopReading,
    sentence: Sentence,
    kind: Kind,
    context: str,
    *,
    collecting: bool,
    first_cell: str = "",
    previous: Sentence | None = None,
) -> None:
    language = reading.language
    text = sentence.text.strip()
    if kind == "metadata":
        return
    if kind == "internal":
        note = internal_marker(sentence) or text
        reading.internal_notes.append(note)
        return
    if collecting and kind in ("must", "fact", "step") and len(sentence.tokens) <= 6:
        reading.information_to_collect.append(text.rstrip("."))
        return
    if kind in ("must", "step", "fact", "goal"):
        reading.information_to_collect.extend(fields(sentence))
    if kind in ("must", "step"):
        reading.actions.extend(actions(sentence, language))
    if kind == "handoff":
        conditions = [first_cell] if first_cell else handoff_conditions(sentence)
        if len(conditions) == 1 and not first_cell:
            conditions = [with_antecedent(sentence, conditions[0], previous)]
        # An escalation table names its situations in a word or two ("Fraud", "Gasgeruch"): a cell of one
        # word is kept; a condition cut from a sentence needs two ("if so" is no condition).
        least = 1 if first_cell else MIN_CONDITION_WORDS
        kept = [c for c in conditions if len(c.split()) >= least and len(c) >= MIN_CELL_CHARS]
        # "When you hand off, tell the passenger ...": how to hand off, not when. "Bei Gasgeruch muss der Kunde
        # das Haus verlassen ...; leiten Sie ... weiter": a situation, and what to do in it (a rule too).
        if not kept or (not first_cell and situation(sentence) is not None):
            reading.must_rules.append((context, text))
            reading.must_ranks.append(1)
        elif not first_cell and is_never(sentence):
            # "If the patient asks about side effects, do not give medical advice; hand off ...": the
            # prohibition binds until someone takes over, so the sentence is a never rule as well.
            reading.never_rules.append((context, text))
        reading.handoff_conditions.extend(c[:CONDITION_MAX] for c in kept)
    elif kind == "never":
        reading.never_rules.append((context, text))
    elif kind == "must":
        reading.must_rules.append((context, text))
        reading.must_ranks.append(0 if is_must(sentence) else 1)
    elif kind == "step":
        reading.steps.append(text)
    elif kind == "tone":
        reading.tone.append(text)
    elif kind == "goal":
        reading.goals.append(text)
    else:
        # A statement of policy ("Economy Standard includes one checked bag of up to 23 kg") binds the
        # agent too, after the rules with force (see `RULES_BUDGET`).
        reading.must_rules.append((context, text))
        reading.must_ranks.append(2)


def fit(items: list[tuple[str, str]], cap: int) -> tuple[list[str], bool]:
    """At most `cap` entries holding every item: over the cap, a section's rules share one entry
    ("Baggage: a; b"), then neighbouring entries are joined. True when anything was merged."""
    if len(items) <= cap:
        return [text for _, text in items], False
    grouped: dict[str, list[str]] = {}
    for section, text in items:
        grouped.setdefault(section, []).append(text)
    merged = [f"{section.capitalize()}: " * bool(section) + " ".join(texts) for section, texts in grouped.items()]
    while len(merged) > cap:
        paired = [" ".join(merged[i : i + 2]) for i in range(0, len(merged), 2)]
        merged = paired
    return merged, True


def _budgeted(reading: SopReading, ambiguities: list[str]) -> list[tuple[str, str]]:
    """The must rules that fit in `RULES_BUDGET` after never rules and steps, best-ranked first, in SOP order."""
    left = RULES_BUDGET - sum(len(t) for _, t in reading.never_rules) - sum(len(t) for t in reading.steps)
    order = sorted(range(len(reading.must_rules)), key=lambda i: (reading.must_ranks[i], i))
    chosen: set[int] = set()
    for index in order:
        size = len(reading.must_rules[index][1])
        if size <= left:
            chosen.add(index)
            left -= size
    dropped = len(reading.must_rules) - len(chosen)
    if dropped:
        ambiguities.append(
            f"must_rules: {dropped} statements did not fit in the agent's prompt ({RULES_BUDGET} characters "
            "of rules); add the SOP as a knowledge document so the agent can still find them"
        )
    return [reading.must_rules[i] for i in sorted(chosen)]


def _within(notes: list[str], budget: int) -> list[str]:
    kept: list[str] = []
    for note in notes:
        if len(note) > budget:
            break
        kept.append(note)
        budget -= len(note)
    return kept


def parsed_fields(reading: SopReading) -> dict[str, object]:
    """The reading as `ParsedSop` fields, every list within its schema cap (merged, never cut, over it)."""
    limits = {name: list_limit(name, ParsedSop) for name in ParsedSop.model_fields if name not in ("tone", "language")}
    ambiguities: list[str] = []
    musts, merged_musts = fit(_budgeted(reading, ambiguities), limits["must_rules"])
    nevers, merged_nevers = fit(reading.never_rules, limits["never_rules"])
    for name, merged, count in (
        ("must_rules", merged_musts, len(reading.must_rules)),
        ("never_rules", merged_nevers, len(reading.never_rules)),
    ):
        if merged:
            ambiguities.append(
                f"{name}: the SOP has {count} such rules, over the cap of {limits[name]}; "
                "rules of one section were merged into one entry"
            )
    result: dict[str, object] = {
        "goals": _capped(reading.goals, "goals", limits, ambiguities),
        "steps": _capped(reading.steps, "steps", limits, ambiguities),
        "information_to_collect": _capped(
            list(dict.fromkeys(f.casefold() for f in reading.information_to_collect)),
            "information_to_collect",
            limits,
            ambiguities,
        ),
        "must_rules": musts,
        "never_rules": nevers,
        "handoff_conditions": _first(reading.handoff_conditions, "handoff_conditions", limits, ambiguities),
        "tone": " ".join(" ".join(reading.tone).split())[:TONE_MAX],
        "internal_notes": _capped(_within(reading.internal_notes, NOTES_BUDGET), "internal_notes", limits, ambiguities),
        "actions": _capped(list(dict.fromkeys(reading.actions)), "actions", limits, ambiguities),
        "language": reading.language,
    }
    result["ambiguities"] = ambiguities[: limits["ambiguities"]]
    return result


def _first(items: list[str], name: str, limits: dict[str, int], ambiguities: list[str]) -> list[str]:
    """Up to the cap; the rest named in `ambiguities`: joining two conditions would make one that means neither."""
    kept = clean_list(items, len(items) + 1)
    cap = limits[name]
    if len(kept) > cap:
        left_out = "; ".join(kept[cap:])
        ambiguities.append(f"{name}: over the cap of {cap}, these were not kept: {left_out}"[:1000])
    return kept[:cap]


def _capped(items: list[str], name: str, limits: dict[str, int], ambiguities: list[str]) -> list[str]:
    """Up to the cap, de-duplicated; beyond it, the remainder joined into the last entry and the loss noted."""
    kept = clean_list(items, len(items) + 1)
    cap = limits[name]
    if len(kept) <= cap:
        return kept
    ambiguities.append(f"{name}: the SOP has {len(kept)} entries, over the cap of {cap}; the last ones were joined")
    return [*kept[: cap - 1], " ".join(kept[cap - 1 :])]


__all__ = ["SopReading", "fit", "parsed_fields", "read_sop", "split_sentences"]
