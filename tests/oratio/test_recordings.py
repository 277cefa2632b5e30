"""Per-call recording keys, and how a session finds all of its own (issue 15, item 5)."""

from __future__ import annotations

from pathlib import Path

from oratio.blobs.local import LocalBlobStore
from oratio.recordings import new_call_id, recording_key, session_recordings


def test_each_call_has_its_own_key_and_the_session_lists_them_oldest_first(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    legacy = "ten_1/recordings/agt_1/ses_1.wav"  # saved before per-call keys
    calls = [recording_key("ten_1", "agt_1", "ses_1", new_call_id()) for _ in range(3)]
    assert len(set(calls)) == 3
    assert all(key.split("/")[-1].startswith("call-2") for key in calls)  # named by the call's UTC start time
    others = [
        "ten_1/recordings/agt_1/ses_10.wav",  # a session whose id starts with this one's
        recording_key("ten_1", "agt_1", "ses_10", new_call_id()),
        recording_key("ten_1", "agt_2", "ses_1", new_call_id()),
        recording_key("ten_2", "agt_1", "ses_1", new_call_id()),
    ]
    for key in [*reversed(calls), legacy, *others]:
        blobs.put(key, b"RIFF", content_type="audio/wav")
    assert session_recordings(blobs, "ten_1", "agt_1", "ses_1") == [legacy, *sorted(calls)]
    assert session_recordings(blobs, "ten_1", "agt_1", "ses_2") == []
