"""ORATIO_KNOWLEDGE_FLOOR: hits scoring under it are left out of what the agent's tool and an admin's test
search return, where a score means relevance (the local index with embeddings) and nowhere else."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest

from oratio.config import load_settings
from oratio.errors import ConfigError
from oratio.knowledge.embeddings import load_default_embedder
from oratio.knowledge.fusion import RELEVANCE_FLOOR
from oratio.knowledge.index import HybridIndex
from oratio.knowledge.local import LocalKnowledgeBase
from oratio.knowledge.ports import Embedder
from oratio.platform import Platform, open_platform
from oratio.services.knowledge import KnowledgeService
from tests.support.platforms import test_settings
from tests.support.tenants import create_agent, doc, new_tenancy

REFUNDS = b"# Refunds\n\nRefunds are possible within 30 days of purchase with a receipt."
SHIPPING = b"# Shipping\n\nParcels leave the warehouse within two working days."


def test_the_floor_is_a_setting_with_the_tuned_default_and_bounds() -> None:
    assert load_settings({}).knowledge_floor == RELEVANCE_FLOOR
    assert load_settings({"ORATIO_KNOWLEDGE_FLOOR": "0.5"}).knowledge_floor == 0.5
    assert load_settings({"ORATIO_KNOWLEDGE_FLOOR": "0"}).knowledge_floor == 0.0
    for bad in ("-0.1", "1.5", "nan", "high"):
        with pytest.raises(ConfigError) as caught:
            load_settings({"ORATIO_KNOWLEDGE_FLOOR": bad})
        assert "ORATIO_KNOWLEDGE_FLOOR" in caught.value.message


@pytest.mark.parametrize("floor", [-0.01, 1.01])
def test_the_service_refuses_a_floor_outside_0_to_1(tmp_path: Path, floor: float) -> None:
    with open_platform(test_settings(tmp_path)) as platform, closing(index_of(platform, None)) as index:
        with pytest.raises(ValueError, match="relevance_floor"):
            KnowledgeService(platform.backends, LocalKnowledgeBase(index), relevance_floor=floor)


def index_of(platform: Platform, embedder: Embedder | None) -> HybridIndex:
    """Another reader of the platform's index file, as another process would open it."""
    return HybridIndex(platform.settings.knowledge_path, embedder)


def test_a_floor_drops_noise_and_keeps_answers_for_the_admin_and_the_agent(tmp_path: Path) -> None:
    pytest.importorskip("onnxruntime", reason="the embeddings extra is not installed")
    with open_platform(test_settings(tmp_path, embeddings=True)) as platform:
        acme = new_tenancy(platform, "Acme")
        agent = create_agent(platform, acme)
        platform.documents.upload(acme.principal, agent.id, doc("refunds.md", REFUNDS))
        platform.documents.upload(acme.principal, agent.id, doc("shipping.md", SHIPPING))
        floor = platform.knowledge.relevance_floor

        noise = platform.knowledge.search(acme.principal, agent.id, "Who won the football world cup in 1998?", k=5)
        tool = platform.knowledge.search_for_agent(acme.tenant_id, agent.id, "How do I tie a bowline knot?", k=5)
        answer = platform.knowledge.search(acme.principal, agent.id, "Can I get my money back?", k=5)
        with closing(index_of(platform, load_default_embedder())) as index:
            unfloored = index.search(acme.tenant_id, agent.id, "How do I tie a bowline knot?", k=5)

    assert floor == RELEVANCE_FLOOR
    assert (noise, tool) == ([], [])
    assert unfloored and all(hit.score < floor for hit in unfloored)  # the index found them; the floor dropped them
    assert answer and answer[0].document_name == "refunds.md" and answer[0].score >= floor
    assert all(hit.score >= floor for hit in answer)


def test_bm25_only_scores_say_nothing_absolute_so_no_floor_applies(tmp_path: Path) -> None:
    with open_platform(test_settings(tmp_path, knowledge_floor=0.99)) as platform:  # embeddings off
        acme = new_tenancy(platform, "Acme")
        agent = create_agent(platform, acme)
        platform.documents.upload(acme.principal, agent.id, doc("refunds.md", REFUNDS))
        platform.documents.upload(acme.principal, agent.id, doc("shipping.md", SHIPPING))

        hits = platform.knowledge.search(acme.principal, agent.id, "refunds within two working days", k=5)

    assert platform.knowledge.relevance_floor == 0.0
    assert {hit.document_name for hit in hits} == {"refunds.md", "shipping.md"}
