"""A small two-document corpus for knowledge-index tests (shared by tests/knowledge and tests/reliability)."""

from __future__ import annotations

from collections.abc import Sequence

from oratio.knowledge.index import HybridIndex
from oratio.knowledge.ports import KnowledgeHit
from schemas import Chunk

TENANT, OTHER_TENANT = "ten_aaaa", "ten_bbbb"
AGENT, OTHER_AGENT = "agt_aaaa", "agt_bbbb"

FAQ = [
    "Refunds: if you are not satisfied with a purchase, ask for a refund within 30 days and we reimburse the price.",
    "Shipping takes 3 to 5 business days inside the EU and up to 10 days elsewhere.",
    "To reset your password, open Settings, choose Security and follow the emailed link.",
    "The warranty for model SKU-4471 covers two years of parts and labour.",
]
MANUAL = [
    "Charge the device fully before first use; a full charge takes about two hours.",
    "Clean the lens with a dry microfiber cloth; never use solvents.",
    "Our support team answers by phone on weekdays from 9:00 to 17:00.",
]
RETURNS = ["Send the parcel back with the returns label to get your money back."]
"""A third document, written after the corpus (a write that lands in a delta, not the graph)."""


def chunks(tenant: str, agent: str, document: str, texts: Sequence[str]) -> list[Chunk]:
    return [
        Chunk(
            tenant_id=tenant,
            agent_id=agent,
            document_id=document,
            ordinal=i,
            text=text,
            location=f"page {i + 1}",
            start_offset=i * 1000,
            end_offset=i * 1000 + len(text),
        )
        for i, text in enumerate(texts)
    ]


def load_corpus(index: HybridIndex, tenant: str = TENANT, agent: str = AGENT) -> None:
    index.replace_document(tenant, agent, "doc_faq", "faq.md", chunks(tenant, agent, "doc_faq", FAQ))
    index.replace_document(tenant, agent, "doc_manual", "manual.pdf", chunks(tenant, agent, "doc_manual", MANUAL))


def first(hits: list[KnowledgeHit]) -> tuple[str, int]:
    assert hits, "no hit"
    return hits[0].chunk.document_id, hits[0].chunk.ordinal
