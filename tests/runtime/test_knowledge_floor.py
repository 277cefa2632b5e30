"""The relevance floor as the customer meets it: asked about something its documents do not cover,
the agent gets no passage, says it does not know and cites nothing, instead of quoting noise.

The `scripted` demo model answers from the best passage the knowledge tool returns, or says
`NOT_FOUND` when it returns none: what a real model is told to do (`knowledge_search`'s description).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from oratio.models.demo import NOT_FOUND
from oratio.platform import open_platform
from schemas import Channel
from tests.support.engine import deployed_agent
from tests.support.platforms import test_settings
from tests.support.tenants import new_principal

pytest.importorskip("onnxruntime", reason="the embeddings extra is not installed")

OFF_TOPIC = "What is the capital of Australia?"


def test_the_agent_says_it_does_not_know_when_every_hit_is_under_the_floor(tmp_path: Path) -> None:
    with open_platform(test_settings(tmp_path, model="scripted", embeddings=True)) as platform:
        principal = new_principal(platform, "Acme")
        agent = deployed_agent(platform, principal)
        # The refunds document is the agent's only one: without a floor it is the "best" hit for anything.
        off_topic = platform.engine.turn(principal.tenant_id, agent.id, None, OFF_TOPIC, Channel.TEXT)
        answer = platform.engine.turn(principal.tenant_id, agent.id, None, "Can I get a refund?", Channel.TEXT)

    assert (off_topic.reply, off_topic.sources) == (NOT_FOUND, [])
    assert answer.reply.endswith("(source: refunds.md, Refunds)")
    assert [source.document_name for source in answer.sources] == ["refunds.md"]


def test_with_the_floor_at_zero_the_agent_cites_the_least_bad_passage(tmp_path: Path) -> None:
    """What the floor prevents, shown by turning it off (ORATIO_KNOWLEDGE_FLOOR=0)."""
    settings = test_settings(tmp_path, model="scripted", embeddings=True, knowledge_floor=0.0)
    with open_platform(settings) as platform:
        principal = new_principal(platform, "Acme")
        agent = deployed_agent(platform, principal)

        off_topic = platform.engine.turn(principal.tenant_id, agent.id, None, OFF_TOPIC, Channel.TEXT)

    assert off_topic.reply != NOT_FOUND
    assert [source.document_name for source in off_topic.sources] == ["refunds.md"]
