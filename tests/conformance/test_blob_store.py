"""One behaviour contract for every BlobStore adapter (local directory and S3 on moto_server)."""

from __future__ import annotations

import tempfile

import pytest

from oratio.blobs.ports import BlobStore
from oratio.errors import InvalidInput, NotFound


def test_put_get_head_roundtrip(blob_store: BlobStore) -> None:
    info = blob_store.put("ten_a/docs/doc_1/manual.pdf", b"%PDF-1.7 data", content_type="application/pdf")
    assert (info.key, info.size, info.content_type) == ("ten_a/docs/doc_1/manual.pdf", 13, "application/pdf")
    assert blob_store.get("ten_a/docs/doc_1/manual.pdf") == b"%PDF-1.7 data"
    assert blob_store.head("ten_a/docs/doc_1/manual.pdf") == info


def test_put_overwrites(blob_store: BlobStore) -> None:
    blob_store.put("ten_a/code/agt_1/v1/agent.py", b"old")
    blob_store.put("ten_a/code/agt_1/v1/agent.py", b"new", content_type="text/x-python")
    assert blob_store.get("ten_a/code/agt_1/v1/agent.py") == b"new"
    head = blob_store.head("ten_a/code/agt_1/v1/agent.py")
    assert head is not None and head.content_type == "text/x-python"


def test_missing_objects(blob_store: BlobStore) -> None:
    with pytest.raises(NotFound):
        blob_store.get("ten_a/nothing")
    assert blob_store.head("ten_a/nothing") is None
    assert blob_store.delete("ten_a/nothing") is False


def test_delete(blob_store: BlobStore) -> None:
    blob_store.put("ten_a/x", b"1")
    assert blob_store.delete("ten_a/x") is True
    with pytest.raises(NotFound):
        blob_store.get("ten_a/x")


def test_list_by_prefix_is_sorted_and_scoped(blob_store: BlobStore) -> None:
    for key in ("ten_a/docs/b", "ten_a/docs/a", "ten_a/other", "ten_b/docs/a"):
        blob_store.put(key, key.encode())
    assert [i.key for i in blob_store.list("ten_a/docs/")] == ["ten_a/docs/a", "ten_a/docs/b"]
    assert [i.key for i in blob_store.list("ten_b/")] == ["ten_b/docs/a"]
    assert blob_store.list("ten_c/") == []


@pytest.mark.parametrize(
    "key", ["", "../etc/passwd", "/abs/path", "ten_a/../../x", "ten_a//x", "ten_a/.hidden", "a\\b"]
)
def test_unsafe_keys_are_refused(blob_store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidInput):
        blob_store.put(key, b"x")
    with pytest.raises(InvalidInput):
        blob_store.get(key)


def test_put_stream_stores_a_small_object_and_reports_its_size(blob_store: BlobStore) -> None:
    """A short call's recording (below the multipart threshold) is stored and sized like a long one."""
    with tempfile.TemporaryFile() as source:
        source.write(b"skipRIFF" + bytes(1000))
        source.seek(4)
        info = blob_store.put_stream("ten_a/recordings/agt_1/ses_1/short.wav", source, content_type="audio/wav")
    assert info.size == 1004
    assert blob_store.get("ten_a/recordings/agt_1/ses_1/short.wav") == b"RIFF" + bytes(1000)


def test_put_stream_stores_what_the_source_holds_from_where_it_stands(blob_store: BlobStore) -> None:
    """A large object (a call's recording) is stored from a file, never whole in memory (issue 15, item 2)."""
    data = bytes(range(256)) * 40_000  # 10 MB: past boto3's multipart threshold
    with tempfile.TemporaryFile() as source:
        source.write(b"skip" + data)
        source.seek(4)
        info = blob_store.put_stream("ten_a/recordings/agt_1/ses_1/call.wav", source, content_type="audio/wav")
    assert (info.size, info.content_type) == (len(data), "audio/wav")
    assert blob_store.get("ten_a/recordings/agt_1/ses_1/call.wav") == data
    assert blob_store.head("ten_a/recordings/agt_1/ses_1/call.wav") == info
