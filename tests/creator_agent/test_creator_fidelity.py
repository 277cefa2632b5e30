"""bench/creator_fidelity.py's core on one corpus SOP: the creation runs end to end and the score is honest."""

from __future__ import annotations

from bench.creator_fidelity import Fidelity, Simulated, bench_platform, evaluate, load_corpus, score, summary
from creator_agent.simulation.run import NEEDS_MODEL
from oratio.languages import detect
from schemas import AgentPlan, CreationRecord
from schemas.simulation import ScenarioResult, SimulationReport


def test_one_corpus_sop_is_built_and_scored() -> None:
    [sop] = load_corpus(only="harbor_insurance_numbered")
    with bench_platform("scripted") as (platform, creator, owner):
        result = evaluate(platform, creator, owner, sop)
    assert result.succeeded, result.failure
    assert result.rules == (len(sop.expect["rules"]), len(sop.expect["rules"])), result.rules_missed
    assert result.rules_distorted == []
    assert result.false_handoffs == []
    assert result.probes[0] == result.probes[1] > 0
    assert result.fields == (1, 1)
    assert result.seconds > 0
    # The sim column reads the creation record's simulation report: scenarios ran offline, none critical failed.
    assert result.simulation is not None
    assert result.simulation.ran > 0 and result.simulation.critical_failures == 0
    assert result.sim.startswith(f"{result.simulation.passed}/{result.simulation.ran} c0 ")


def test_the_score_counts_what_a_plan_misses_or_leaks() -> None:
    [sop] = load_corpus(only="fairbank_internal_notes")
    leaky = AgentPlan(
        persona="FairBank agent",
        system_prompt="Help with cards. The fraud team's direct line is 0800 555 0199.",
    )
    record = CreationRecord(tenant_id="ten_1", agent_id="agt_1", version=1, succeeded=True)
    result = score(sop, record, leaky, 0.1)
    assert result.rules[0] == 0 and len(result.rules_missed) == len(sop.expect["rules"])
    assert result.notes_leaked == ["0800 555 0199"]
    assert "0800 555 0199" in result.rules_distorted[0]  # an internal note quoted as a rule
    assert len(result.handoff_missed) == len(sop.expect["handoff"])


def test_the_corpus_is_as_varied_as_the_issue_asks() -> None:
    corpus = load_corpus()
    assert len(corpus) >= 8
    assert {detect(sop.text) for sop in corpus} == {"en", "fr", "es", "de"}
    assert max(sop.words for sop in corpus) > 10_000
    for sop in corpus:
        assert detect(sop.text) == sop.expect["language"], sop.name
        assert sop.expect["rules"] and sop.expect["handoff"] and sop.expect["negative_probes"], sop.name
        assert {h["kind"] for h in sop.expect["handoff"]} <= {"trigger", "judgement"}, sop.name
    assert any(sop.expect["actions"] for sop in corpus)
    assert any(sop.expect["internal_notes"] for sop in corpus)
    assert any("dépasse" in h["condition"] for sop in corpus for h in sop.expect["handoff"])


def _result(scenario_id: str, *, passed: bool, critical: bool, skipped: str | None = None) -> ScenarioResult:
    return ScenarioResult(scenario_id=scenario_id, passed=passed, critical=critical, skipped=skipped)


def test_the_sim_column_counts_run_scenarios_critical_failures_and_model_skips() -> None:
    [sop] = load_corpus(only="fairbank_internal_notes")
    report = SimulationReport(
        version=1,
        passed=False,
        results=[
            _result("greets", passed=True, critical=False),
            _result("refuses", passed=False, critical=True),
            _result("asks", passed=False, critical=False),
            _result("upset", passed=False, critical=True, skipped=NEEDS_MODEL),
            _result("other", passed=False, critical=False, skipped="the agent was not deployed"),
        ],
    )
    record = CreationRecord(tenant_id="ten_1", agent_id="agt_1", version=1, succeeded=True, simulation=report)
    result = score(sop, record, AgentPlan(persona="p", system_prompt="Help with cards and accounts."), 0.1)
    assert result.simulation == Simulated(passed=1, ran=3, critical_failures=1, needs_model=1, skipped_other=1)
    assert result.sim == "1/3 c1 s1+1"
    line = summary([result])
    assert "critical scenario failures: 1 (1 scenarios skipped: need a model)" in line
    assert "NOT MET: fairbank_internal_notes (1 critical scenarios failed)" in line


def test_the_summary_says_the_target_is_met_only_when_every_sop_meets_it() -> None:
    clean = Simulated(passed=2, ran=2, critical_failures=0, needs_model=1)
    met = Fidelity("a", 10, True, simulation=clean)
    assert summary([met]).endswith("MET on every SOP")
    unreported = Fidelity("b", 10, True)
    assert unreported.sim == "n/a"
    assert "NOT MET: b (no simulation report)" in summary([met, unreported])
    distorted = Fidelity("c", 10, True, simulation=clean, handoff_distorted=["x"], false_handoffs=["y"])
    assert "c (1 distorted, 1 false handoffs)" in summary([distorted])


def test_a_trigger_the_plan_leaves_to_the_model_is_judged_not_missed() -> None:
    [sop] = load_corpus(only="brightline_mobile_tables")
    plan = AgentPlan(
        persona="Brightline agent",
        system_prompt="Help with phones and bills.",
        handoff_judgement=["Customer reports a stolen phone"],
    )
    record = CreationRecord(tenant_id="ten_1", agent_id="agt_1", version=1, succeeded=True)
    result = score(sop, record, plan, 0.1)
    assert result.handoff_judged == ["reports a stolen phone"]
    assert "reports a stolen phone" not in result.handoff_missed
    assert len(result.handoff_missed) == len(sop.expect["handoff"]) - 1
