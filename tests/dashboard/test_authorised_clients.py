"""GET /api/v1/auth/clients and POST .../{consent}/revoke: an admin's own consents only, 404 for anything else."""

from __future__ import annotations

import httpx

from tests.dashboard.dash import Dash
from tests.support.oauth import consent


def test_an_admin_lists_and_revokes_only_their_own_clients(http: httpx.Client, dash: Dash) -> None:
    consent(dash.platform, dash.acme.principal, "cid-mine")
    consent(dash.platform, dash.globex.principal, "cid-theirs")

    mine = http.get("/api/v1/auth/clients", headers=dash.bearer()).json()["clients"]
    theirs = http.get("/api/v1/auth/clients", headers=dash.bearer(dash.globex_token)).json()["clients"]

    assert [c["client_id"] for c in mine] == ["cid-mine"] and [c["client_id"] for c in theirs] == ["cid-theirs"]
    across = http.post(f"/api/v1/auth/clients/{theirs[0]['consent']}/revoke", headers=dash.bearer())
    assert across.status_code == 404 and across.json()["error"] == "not_found"
    bogus = http.post("/api/v1/auth/clients/%2E%2E/revoke", headers=dash.bearer())
    assert bogus.status_code == 404
    assert http.get("/api/v1/auth/clients").status_code == 401
    done = http.post(f"/api/v1/auth/clients/{mine[0]['consent']}/revoke", headers=dash.bearer())
    assert done.status_code == 200 and done.json() == {"revoked_tokens": 2}
    assert http.get("/api/v1/auth/clients", headers=dash.bearer()).json()["clients"] == []
    assert len(http.get("/api/v1/auth/clients", headers=dash.bearer(dash.globex_token)).json()["clients"]) == 1
