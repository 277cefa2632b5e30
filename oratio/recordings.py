"""Where call recordings live in blob storage, and how a session finds all of its own.

A session can hold several calls (a continued session, a caller who rings back), so each call
keeps its own recording: `<tenant>/recordings/<agent>/<session>/<call>.wav`, where `<call>` is a
time-ordered id, so listing the session's prefix gives its calls in the order they happened.
Recordings saved before per-call keys (`<tenant>/recordings/<agent>/<session>.wav`) are listed too.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from oratio.blobs.ports import BlobStore

__all__ = ["new_call_id", "recording_key", "session_recordings"]


def new_call_id() -> str:
    """A fresh id for one call of a session: its start time (UTC, to the microsecond), so keys sort by
    time and say when the call was, then random bits so two calls in one microsecond never collide."""
    return f"call-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(4)}"


def recording_key(tenant_id: str, agent_id: str, session_id: str, call_id: str) -> str:
    return f"{_session_prefix(tenant_id, agent_id, session_id)}/{call_id}.wav"


def session_recordings(blobs: BlobStore, tenant_id: str, agent_id: str, session_id: str) -> list[str]:
    """The keys of the session's recordings, oldest first (a pre-per-call recording before the rest)."""
    prefix = _session_prefix(tenant_id, agent_id, session_id)
    legacy = f"{prefix}.wav"
    # The session's own folder only (a bare prefix would make the local store walk the agent's every call).
    calls = [info.key for info in blobs.list(f"{prefix}/")]
    return ([legacy] if blobs.head(legacy) is not None else []) + calls


def _session_prefix(tenant_id: str, agent_id: str, session_id: str) -> str:
    return f"{tenant_id}/recordings/{agent_id}/{session_id}"
