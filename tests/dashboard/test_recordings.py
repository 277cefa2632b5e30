"""The session page's recording player: `GET /api/v1/sessions/{id}/recordings/{n}` serves the session's own
recording to its tenant's admin (whole or by byte range), and nothing of another tenant's.

The key comes from the session the admin's tenant owns, never from the client: another tenant's
session id, an unknown session, a position past the last recording are all the same 404.
"""

from __future__ import annotations

import io

import httpx

from tests.dashboard.dash import Dash, say

WAV = b"RIFF" + bytes(range(256)) * 8  # not a real WAV: the route serves bytes, it does not decode them


def recorded(http: httpx.Client, dash: Dash) -> str:
    session_id = str(say(http, dash, "hello")["session_id"])
    dash.platform.sessions.save_recording(
        dash.acme.tenant_id, dash.agent.id, session_id, "call-1", io.BytesIO(WAV), seconds=1.0
    )
    return session_id


def test_the_tenants_admin_plays_the_whole_recording(http: httpx.Client, dash: Dash) -> None:
    session_id = recorded(http, dash)
    response = http.get(f"/api/v1/sessions/{session_id}/recordings/0", headers=dash.bearer())
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.content == WAV


def test_a_range_request_gets_only_those_bytes_for_seeking(http: httpx.Client, dash: Dash) -> None:
    session_id = recorded(http, dash)
    path = f"/api/v1/sessions/{session_id}/recordings/0"
    part = http.get(path, headers={**dash.bearer(), "Range": "bytes=4-99"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 4-99/{len(WAV)}"
    assert part.content == WAV[4:100]
    open_ended = http.get(path, headers={**dash.bearer(), "Range": "bytes=2000-"})
    assert open_ended.status_code == 206 and open_ended.content == WAV[2000:]
    suffix = http.get(path, headers={**dash.bearer(), "Range": "bytes=-10"})
    assert suffix.status_code == 206 and suffix.content == WAV[-10:]
    past = http.get(path, headers={**dash.bearer(), "Range": f"bytes={len(WAV)}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{len(WAV)}"
    junk = http.get(path, headers={**dash.bearer(), "Range": "pages=1-2"})
    assert junk.status_code == 200 and junk.content == WAV


def test_another_tenant_gets_404_and_never_the_audio(http: httpx.Client, dash: Dash) -> None:
    session_id = recorded(http, dash)
    response = http.get(f"/api/v1/sessions/{session_id}/recordings/0", headers=dash.bearer(dash.globex_token))
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
    assert WAV[:16] not in response.content


def test_unknown_sessions_and_recordings_are_404_without_naming_a_key(http: httpx.Client, dash: Dash) -> None:
    session_id = recorded(http, dash)
    for path in (f"/api/v1/sessions/{session_id}/recordings/1", "/api/v1/sessions/ses_nope/recordings/0"):
        response = http.get(path, headers=dash.bearer())
        assert response.status_code == 404, path
        assert "recordings/" not in response.json()["message"]
    assert http.get(f"/api/v1/sessions/{session_id}/recordings/0").status_code == 401
    assert http.get(f"/api/v1/sessions/{session_id}/recordings/x", headers=dash.bearer()).status_code == 404
