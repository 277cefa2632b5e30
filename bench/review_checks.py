"""What the reviewer's code checks cost on a 10k-word SOP, next to the coverage checks they joined.

Creation's own cost (model time excluded) must stay under 2 s for a 10k-word SOP (issue 17); the review
runs these checks once per cycle (two to four cycles). Prints, best of N, the whole deterministic review
(`check_plan`), the issue-17 checks inside it (`review_checks.check_plan_texts`: contradictions, injection,
internal-note leaks, list caps) and the rest (SOP coverage, catalog, regexes: the baseline), on the same
plan in the same run; plus the SOP-only checks the review loop runs before any draft.

    .venv/bin/python -m bench.review_checks [--words 10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from creator_agent import review_checks
from creator_agent.list_caps import fit_lists, lenient
from creator_agent.offline import parse_sop
from creator_agent.stages.draft_plan import PlanDrafter
from creator_agent.stages.parse_sop import SopParser
from creator_agent.stages.review_plan import check_plan
from schemas import AgentPlan, AgentSpec, ParsedSop

PARAGRAPH = (
    "Customers often ask about their orders, delivery windows and what happens when a parcel is late. "
    "Explain the policy from the knowledge base and cite the document you used, keeping replies short. "
)


def sop_of(words: int) -> str:
    """A Markdown SOP of about `words` words: 80 rules (over the cap of 50) and long background prose."""
    rules = "\n".join(f"- Always check detail {n} of the order before answering about section {n}." for n in range(80))
    head = f"# Orders desk\n\n## Goal\nHelp customers with orders.\n\n## Rules\n{rules}\n\n## Background\n"
    need = max(0, words - len(head.split()))
    return head + PARAGRAPH * (need // len(PARAGRAPH.split()) + 1)


def best(run: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--words", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    sop = sop_of(args.words)[:100_000]
    spec = AgentSpec.model_validate(
        {"name": "Orders", "sop": sop, "handoff": {"enabled": True, "conditions": ["the customer asks for a human"]}}
    )
    answer = lenient(ParsedSop).model_validate(parse_sop(spec.sop))
    parsed = SopParser.postprocess(spec, ParsedSop.model_validate(fit_lists(answer, ParsedSop)))
    draft = AgentPlan(persona="Orders agent", system_prompt="You are the orders agent. Follow the rules below.")
    plan = PlanDrafter.postprocess(spec, parsed, draft)
    whole = best(lambda: check_plan(spec, parsed, plan), args.repeats)
    new = best(lambda: review_checks.check_plan_texts(spec, parsed, plan), args.repeats)
    sop_only = best(lambda: review_checks.check_sop(spec, parsed), args.repeats)
    print(f"SOP: {len(sop.split())} words, {len(sop)} chars; prompt {len(plan.system_prompt)} chars")
    print(f"check_plan (one review cycle)          {whole * 1000:8.1f} ms")
    print(f"  baseline: coverage/catalog/regex     {(whole - new) * 1000:8.1f} ms")
    print(f"  issue-17 checks (check_plan_texts)   {new * 1000:8.1f} ms")
    print(f"check_sop (once, before any draft)     {sop_only * 1000:8.1f} ms")
    print(
        f"two review cycles + the SOP check      {(2 * whole + sop_only) * 1000:8.1f} ms (target: creation < 2000 ms)"
    )


if __name__ == "__main__":
    main()
