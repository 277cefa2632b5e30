"""A delta vector file that is not the one this generation wrote is never served.

The delta file sits in the data directory beside the chunks file; whatever is found there (a torn
write, a file copied from another agent or generation, a forged header claiming billions of rows)
must be detected by its name, its digest and its sizes, without reading past the file or allocating
what the header claims, and the structures rebuilt from the chunks table.
"""

from __future__ import annotations

import hashlib
import logging
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from oratio.knowledge import delta as deltas
from oratio.knowledge.index import HybridIndex
from tests.support.knowledge_corpus import AGENT, OTHER_AGENT, RETURNS, TENANT, chunks, load_corpus
from tests.support.knowledge_files import REBUILT, agent_dirs, delta_in, dense, knowledge_db, opened_index

pytest.importorskip("usearch", reason="the embeddings extra is not installed")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return knowledge_db(tmp_path)


@pytest.fixture
def index(db: Path) -> Iterator[HybridIndex]:
    with opened_index(db) as opened:
        yield opened


def forged(token: str, dimensions: int, removed: int, rows: int, payload: bytes) -> bytes:
    """A delta with a valid digest whose header claims `removed` tombstones and `rows` rows."""
    header = struct.pack("<32s32sIQQ", token.encode(), token.encode(), dimensions, removed, rows)
    body = b"ORATIO-DELTA-1\n" + header + payload
    return body + hashlib.blake2b(body, digest_size=32).digest()


def test_a_header_claiming_more_rows_than_the_file_holds_is_refused_without_allocating(tmp_path: Path) -> None:
    path = tmp_path / "delta-x-y.bin"
    path.write_bytes(forged("a" * 24, 64, 2**40, 2**40, b"\0" * 64))
    assert deltas.load(path, "a" * 24, 64) is None
    path.write_bytes(forged("a" * 24, 64, 0, 1, b"\0" * 8))  # one key, no vector
    assert deltas.load(path, "a" * 24, 64) is None
    path.write_bytes(forged("a" * 24, 64, 0, 0, b""))  # well formed, but another generation's
    assert deltas.load(path, "a" * 24, 64) is not None
    assert deltas.load(path, "b" * 24, 64) is None


def test_another_agents_delta_copied_over_this_ones_is_not_served(
    db: Path, index: HybridIndex, caplog: pytest.LogCaptureFixture
) -> None:
    for agent in (AGENT, OTHER_AGENT):
        load_corpus(index, TENANT, agent)
        written = chunks(TENANT, agent, "doc_returns", RETURNS)
        index.replace_document(TENANT, agent, "doc_returns", "returns.md", written)
    mine = dense(index, "returns label parcel", agent=AGENT)
    index.close()
    first, second = agent_dirs(db)
    # The other agent's delta under this generation's name: its digest is valid, its graph is not ours.
    delta_in(first).write_bytes(delta_in(second).read_bytes())
    caplog.set_level(logging.INFO, logger="oratio.knowledge")
    with opened_index(db) as reopened:
        assert dense(reopened, "returns label parcel", agent=AGENT) == mine
        assert dense(reopened, "returns label parcel", agent=OTHER_AGENT) == mine
    assert REBUILT in caplog.text


def test_a_stale_delta_of_an_older_generation_is_not_served(
    db: Path, index: HybridIndex, caplog: pytest.LogCaptureFixture
) -> None:
    """A write's delta renamed to a later generation's name (as a restore from a backup might) is stale."""
    load_corpus(index)
    index.replace_document(TENANT, AGENT, "doc_returns", "returns.md", chunks(TENANT, AGENT, "doc_returns", RETURNS))
    (directory,) = agent_dirs(db)
    old = delta_in(directory).read_bytes()
    index.remove_document(TENANT, AGENT, "doc_returns")
    expected = dense(index, "returns label parcel", agent=AGENT)
    assert all(document != "doc_returns" for document, _ in expected)
    index.close()
    delta_in(directory).write_bytes(old)  # the older delta (doc_returns still in it) at today's name
    caplog.set_level(logging.INFO, logger="oratio.knowledge")
    with opened_index(db) as reopened:
        served = dense(reopened, "returns label parcel", agent=AGENT)
    assert all(document != "doc_returns" for document, _ in served)
    assert REBUILT in caplog.text
