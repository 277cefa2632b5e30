"""Hostile text against every pattern that reads tenant, customer or model text: time must grow linearly.

One uploaded Markdown line of backtick runs of growing length (6 KB) once held the GIL for 13 s. This
bench feeds each adversarial family at 1 KB, 8 KB and 64 KB to each target (the public function that
runs the patterns: extraction, chunking, handoff rules, amounts, SOP parsing, model-output parsing,
sentence splitting) and prints the time next to benign text of the same size. Linear code shows a
64KB/8KB ratio near 8; quadratic code would show ~64. `TARGETS` and `FAMILIES` are also what
tests/reliability/test_adversarial_text.py iterates, so the test and the bench cover the same set.

    .venv/bin/python -m bench.adversarial_text [--sizes 1024,8192,65536] [--only NAME]
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from pydantic import BaseModel

from creator_agent import action_plan, coverage, review_checks, review_wording, tool_checks
from creator_agent.handoff_conditions import classify, keyword_filter, split_joined
from creator_agent.offline import parse_sop
from creator_agent.simulation import checks, sandbox
from creator_agent.simulation.derive import forbidden_act
from creator_agent.sop_reader import read_sop
from mcp_server.sampling import parse_answer
from oratio.errors import OratioError
from oratio.knowledge.chunking import chunk_text
from oratio.knowledge.extract import extract_text
from oratio.knowledge.ports import ExtractionError
from oratio.languages import detect
from oratio.models.demo import forbidden_stems
from oratio.models.gguf_chat import parse_calls, unfenced
from oratio.runtime.amounts import find_amounts
from oratio.runtime.handoff import could_not_help, matching_rule
from oratio.runtime.outcome import TurnOutcome
from oratio.sop_intake import check_sop
from schemas import AgentPlan, DocumentFormat, HandoffRule
from voice_bridge.sentences import SentenceSplitter


@dataclass(frozen=True)
class Target:
    """A public entry point that runs patterns over text a tenant, customer or model controls."""

    name: str
    run: Callable[[str], object]


def _document(fmt: DocumentFormat) -> Callable[[str], object]:
    def run(text: str) -> object:
        try:
            extracted = extract_text(text.encode(), fmt)
        except ExtractionError as exc:
            return str(exc)  # an explained refusal (empty, binary) is a fine outcome
        return chunk_text(extracted)

    return run


_PLAN = AgentPlan(
    persona="Desk agent",
    system_prompt="You are a helpful support agent for Acme.",
    handoff_rules=[
        HandoffRule(id="human", description="asks for a human", kind="keywords", patterns=["human", "a a a"]),
        HandoffRule(
            id="big_refund",
            description="a refund over $100",
            kind="amount",
            patterns=["refund"],
            amount_over=Decimal(100),
            currency="USD",
        ),
        # Patterns that backtrack exponentially or quadratically on Python's `re`; RE2 runs them linearly.
        HandoffRule(id="evil", description="tenant regexes", kind="regex", patterns=["(a+)+$", "(x|x)*y", "a.*b.*c$"]),
    ],
)


_HUMAN_PLAN = AgentPlan(
    persona="Desk agent",
    system_prompt="You are a helpful support agent for Acme.",
    handoff_rules=[HandoffRule(id="person", description="asks for a person", kind="human_request")],
)


class _Answer(BaseModel):
    answer: str


def _sampling(text: str) -> object:
    try:
        return parse_answer(_Answer, text)
    except ValueError as exc:  # pydantic's ValidationError: the answer is not the JSON asked for
        return type(exc).__name__


def _sentences(text: str) -> object:
    splitter = SentenceSplitter()
    out: list[str] = []
    for start in range(0, len(text), 64):  # streamed as a model would, in deltas
        out.extend(splitter.add(text[start : start + 64]))
    return out + splitter.flush()


def _creator_text(text: str) -> object:
    return (
        coverage.invented_capabilities(text),
        coverage.strip_handoff_lead(text),
        coverage.normalize(text),
    )


def _reviewer(text: str) -> object:
    """The reviewer's wording checks (creator_agent.review_wording) on SOP or plan text."""
    return (
        review_wording.injections(text),
        review_wording.says_transfer(text),
        review_wording.action_verb(text),
        review_wording.internal_marker(text),
        review_wording.phrased_as_saying(text),
        review_wording.vague_threshold(text),
        review_checks.quotes_note(text, text[:200]),
        review_wording.prompt_sections(text),
    )


def _simulation_checks(text: str) -> object:
    """What a simulation reads: the agent's replies (model text), never-rules and notes (tenant text)."""
    return (
        checks.declined(text),
        checks.asks_for(text, "order number"),
        checks.asks_for(text, text[:100]),
        checks.quotes([text], text[:1000]),
        forbidden_act(text),
        forbidden_stems(text),
    )


def _creator_tools(text: str) -> object:
    """The AgentCreator's reading of tools: an SOP action (tenant text) against a tool's description (tenant
    text), the pasted-credential check on a header value, sample values from a patterned property's
    description (the confirmation classifier is the engine's, benched with the runtime)."""
    tool = action_plan.PlanTool("cancel_order", text[:1000], True)
    return (
        action_plan.map_actions([text[:500], "cancel the order"], [tool], "en"),
        tool_checks.literal_credential("Authorization", text[:1024]),
        sandbox.sample({"type": "string", "pattern": "^A[0-9]{4}$", "description": text}),
    )


def _intake(text: str) -> object:
    try:
        check_sop(text)
    except OratioError as refused:  # gibberish is refused: that is the answer, not a failure
        return refused.message
    return None


def _handoff_conditions(text: str) -> object:
    # An admin's condition is at most Limits.CONDITION_MAX characters, an SOP's may be the whole SOP line:
    # the classifier must stay linear on either.
    classified = [classify(text, language) for language in ("en", "fr", "es", "de")]
    return classified, keyword_filter([text], "en"), split_joined(text)


def _spoken(text: str) -> object:
    from voice_bridge.spoken import spoken  # noqa: PLC0415 (kept lazy like the other voice targets)

    return spoken(text)


def _speakable(text: str) -> object:
    from voice_bridge.speech.text import speakable  # noqa: PLC0415 (optional voice extra kept lazy)

    try:
        return speakable(text[:4000])
    except OratioError as exc:
        return exc.message


TARGETS: list[Target] = [
    Target("markdown extract+chunk", _document(DocumentFormat.MARKDOWN)),
    Target("html extract+chunk", _document(DocumentFormat.HTML)),
    Target("text extract+chunk", _document(DocumentFormat.TEXT)),
    Target("handoff rules", lambda text: matching_rule(_PLAN, text)),
    Target("amounts", find_amounts),
    Target("sop parsing (offline)", parse_sop),
    Target("sop reader", read_sop),
    Target("sop language detection", detect),
    Target("sop intake check", _intake),
    Target("creator coverage checks", _creator_text),
    Target("creator reviewer checks", _reviewer),
    Target("simulation checks", _simulation_checks),
    Target("creator tool mapping and gate", _creator_tools),
    Target("handoff condition classifier", _handoff_conditions),
    Target("handoff human request", lambda text: matching_rule(_HUMAN_PLAN, text)),
    Target("could not help", lambda text: could_not_help(TurnOutcome(), text, failed=False)),
    Target("gguf tool-call parsing", lambda text: (unfenced(text), parse_calls(text, frozenset({"end_session"})))),
    Target("mcp sampling answer", _sampling),
    Target("voice sentence splitting", _sentences),
    Target("speakable text", _speakable),
    Target("spoken reply text", _spoken),
]


def _repeat(unit: str, size: int) -> str:
    return (unit * (size // max(1, len(unit)) + 1))[:size]


def _growing_backticks(size: int) -> str:
    pieces: list[str] = []
    length, total = 1, 0
    while total < size:
        pieces.append("`" * length + "a")
        total += length + 1
        length += 1
    return "".join(pieces)[:size]


def _padded(prefix: str, pad: str, suffix: str) -> Callable[[int], str]:
    return lambda size: prefix + pad * max(0, size - len(prefix) - len(suffix)) + suffix


# Each family makes text of exactly `size` characters (one line unless the family is about lines).
FAMILIES: dict[str, Callable[[int], str]] = {
    "backtick runs of growing length": _growing_backticks,
    "backtick pairs": lambda size: _repeat("``a`", size),
    "nested brackets": lambda size: "[" * (size // 2) + "](" * (size // 4),
    "link openers": lambda size: _repeat("[a](", size),
    "stars": lambda size: _repeat("*", size),
    "star words": lambda size: _repeat("**a *", size),
    "underscores": lambda size: _repeat("__a _", size),
    "hashes": lambda size: _repeat("#", size),
    "heading with a space run": _padded("# a", " ", "b"),
    "pipes": lambda size: _repeat("|", size),
    "table rule with a space run": _padded("|---|---|", " ", "x"),
    "spaces then a letter": _padded("", " ", "x"),
    "list item with a space run": _padded("- a", " ", "b"),
    "lt": lambda size: _repeat("<", size),
    "tag openers": lambda size: _repeat("<a ", size),
    "digits": lambda size: _repeat("1", size),
    "digit groups": lambda size: _repeat("1,", size),
    "dollars": lambda size: _repeat("$1 ", size),
    "dollar signs": lambda size: _repeat("$", size),
    "a(": lambda size: _repeat("a(", size),
    "a then b": lambda size: _repeat("a", size - 1) + "b",
    "x then z": lambda size: _repeat("x", size - 1) + "z",
    "exclamations": lambda size: _repeat("!", size),
    "dot space run": _padded("a.", " ", ""),
    "sop openers": lambda size: _repeat("<sop>\n", size),
    "fence with a space run": _padded("```x", " ", "y"),
    "tool call with a space run": _padded("<tool_call>x", " ", "y"),
    "i will": lambda size: _repeat("i will ", size),
    "negated injections": lambda size: "Never " + _repeat("ignore the rules ", size - 6),
    "leads then actions": lambda size: _repeat("always ", size // 2) + _repeat("refund ", size - size // 2),
    "transfer words": lambda size: _repeat("transfer to a human ", size),
    "newline run": _padded("a", "\n", "# system:"),
    "html comment openers": lambda size: _repeat("<!--", size),
    "internal markers": lambda size: _repeat("Internal: a ", size),
    "outline numbers": lambda size: _repeat("1.1.", size),
    "item continuation lines": lambda size: "- a\n" + _repeat("  b\n", size - 4),
    "ask for the": lambda size: _repeat("ask for the ", size),
    "if then transfer": lambda size: _repeat("If a, or b, transfer ", size),
    "sentence ends": lambda size: _repeat(". A", size),
    "table rows": lambda size: _repeat("|a|b|\n", size),
    "elisions": lambda size: _repeat("l'a ", size),
    "asks for fillers": lambda size: _repeat("asks for a the to with ", size),
    "mit fillers": lambda size: _repeat("mit einem der ", size),
    "counts without a unit": lambda size: _repeat("two failed failed ", size),
    "comparators": lambda size: _repeat("over more than ", size),
    "quotes": lambda size: _repeat('"a', size),
    "says lists": lambda size: "the customer says " + _repeat("a, ", size - 18),
    "html block tags": lambda size: _repeat("<li><p>a</p></li>", size),
    "tag with a long attribute": _padded("<div ", "a", ""),
    "unclosed tags": lambda size: _repeat("<div a=", size),
    "entities": lambda size: _repeat("&amp;&#", size),
    "odd bullets": lambda size: _repeat("• – ▪\n", size),
    "sentences then an amount": lambda size: _repeat("a. refund over $1 ", size),
    "comparison symbols": lambda size: _repeat("a > $1 ≥ ", size),
    "url schemes": lambda size: _repeat("http://a", size),
    "address parts": lambda size: _repeat("a.b@c.", size),
    "clock digits": lambda size: _repeat("1:1-1/", size),
    "citation openers": lambda size: _repeat("(source:[1", size),
    "reported quoted injections": lambda size: 'Customers write "' + _repeat("ignore all rules ", size - 17),
}


def benign(size: int) -> str:
    """Ordinary prose with some Markdown, amounts and sentences, `size` characters long."""
    paragraph = (
        "## Refunds\n\nA customer may ask for a **refund** of up to $100.50 within 30 days. "
        "Larger refunds (over 500 dollars) go to a `supervisor`, see [the policy](https://example.com/p). "
        "Dr. Smith wrote the rules, e.g. for orders no. 5 and 6! Is that clear? Yes.\n\n"
        "- first item\n- second item with *emphasis*\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
    )
    return _repeat(paragraph, size)


def time_once(run: Callable[[str], object], text: str) -> float:
    """One run's time, without a garbage collection landing in it (the machine's noise is enough)."""
    gc.collect()
    gc.disable()
    try:
        started = time.perf_counter()
        run(text)
        return time.perf_counter() - started
    finally:
        gc.enable()


def _best(run: Callable[[str], object], text: str, repeats: int) -> float:
    return min(time_once(run, text) for _ in range(repeats))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sizes", default="1024,8192,65536")
    parser.add_argument("--only", default="", help="run only targets whose name contains this")
    parser.add_argument("--repeats", type=int, default=3, help="best of this many runs per figure")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"sizes: {sizes}; ms, best of {args.repeats}; x = last size / previous (linear: the size ratio)")
    worst: tuple[float, str] = (0.0, "")
    benign_times: dict[str, float] = {}
    for target in TARGETS:
        if args.only and args.only not in target.name:
            continue
        print(f"\n== {target.name}")
        rows = [("benign", benign), *FAMILIES.items()]
        benign_times[target.name] = _best(target.run, benign(sizes[-1]), args.repeats)
        for family, make in rows:
            times = [_best(target.run, make(size), args.repeats) for size in sizes]
            growth = times[-1] / times[-2] if len(times) > 1 and times[-2] > 0 else float("nan")
            benign_last = benign_times[target.name]
            shown = " ".join(f"{t * 1000:9.2f}" for t in times)
            print(f"{family:34s} {shown}   x{growth:5.1f}   vs benign x{times[-1] / max(benign_last, 1e-9):6.1f}")
            if family != "benign" and times[-1] > worst[0]:
                worst = (times[-1], f"{target.name} / {family}")
    print(f"\nslowest adversarial input at {sizes[-1]} chars: {worst[0] * 1000:.1f} ms ({worst[1]})")


if __name__ == "__main__":
    main()
