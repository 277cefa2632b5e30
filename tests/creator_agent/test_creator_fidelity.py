"""bench/creator_fidelity.py's core on one corpus SOP: the creation runs end to end and the score is honest."""

from __future__ import annotations

from bench.creator_fidelity import bench_platform, evaluate, load_corpus, score
from oratio.languages import detect
from schemas import AgentPlan, CreationRecord


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
