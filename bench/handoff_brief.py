"""The customer's handoff turn with a model writing the warm brief, next to the same turn offline (one run).

The model brief is written off the turn (`oratio/services/brief_writer.py`); tests/oratio/test_brief_writer.py
proves the order with events (the turn returns while the model is held). This prints how long the handoff
turn takes: p50/p99 of `--turns` handoff turns offline (the baseline: the `scripted` model, extractive
brief only), then with a writer model that needs `--model-seconds` per brief, and how long after the
last turn every model brief was stored.

    .venv/bin/python -m bench.handoff_brief [--turns 30] [--model-seconds 0.5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from strands.models import Model

from bench.stats import percentile
from oratio.models import CallTool, Data, Prompt, ScriptedModel, Step, when_user_says
from oratio.services.brief_writer import SYSTEM_PROMPT
from schemas import Channel
from tests.support.models import HANDOFF_REASON, echo
from tests.support.platforms import open_test_platform
from tests.support.tenants import new_agent, new_tenancy


def run(turns: int, model_seconds: float | None) -> tuple[list[float], float]:
    """Handoff turn times (ms) and the seconds from the last turn until every brief was stored."""

    def slow_brief(prompt: Prompt) -> Step | None:
        if prompt.system_prompt != SYSTEM_PROMPT or model_seconds is None:
            return None
        time.sleep(model_seconds)  # a model thinking, on the brief writer's thread
        return Data({"why": "The customer asked for a person.", "summary": "A short summary."})

    def agent(spec: str) -> Model:
        handoff = when_user_says("person", then=CallTool("request_handoff", {"reason": HANDOFF_REASON}))
        return ScriptedModel(rules=[slow_brief, handoff, echo])

    model = "llamacpp" if model_seconds is not None else "scripted"  # llamacpp: a model that writes briefs
    with tempfile.TemporaryDirectory() as data, open_test_platform(Path(data), models=agent, model=model) as platform:
        tenancy = new_tenancy(platform, "Acme")
        bot = new_agent(platform, tenancy, "Support")
        times: list[float] = []
        for _ in range(turns):
            first = platform.engine.turn(tenancy.tenant_id, bot.id, None, "Where is my parcel?", Channel.TEXT)
            started = time.perf_counter()
            platform.engine.turn(tenancy.tenant_id, bot.id, first.session_id, "a person please", Channel.TEXT)
            times.append((time.perf_counter() - started) * 1000)
        after = time.perf_counter()
        assert platform.handoff.briefs is not None and platform.handoff.briefs.drain(turns * (model_seconds or 0) + 60)
        return times, time.perf_counter() - after


def row(name: str, times: list[float]) -> str:
    return f"{name:44} {statistics.median(times):9.2f} {percentile(times, 90):9.2f} {percentile(times, 99):9.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--turns", type=int, default=30)
    parser.add_argument("--model-seconds", type=float, default=0.5)
    args = parser.parse_args()
    baseline, _ = run(args.turns, None)
    written, backlog = run(args.turns, args.model_seconds)
    print(f"{'handoff turn (ms)':44} {'p50':>9} {'p90':>9} {'p99':>9}")
    print(row("offline: extractive brief only (baseline)", baseline))
    print(row(f"model brief of {args.model_seconds:.2f} s each, off the turn", written))
    print(f"model briefs all stored {backlog:.2f} s after the last turn ({args.turns} briefs, one writer thread)")


if __name__ == "__main__":
    main()
