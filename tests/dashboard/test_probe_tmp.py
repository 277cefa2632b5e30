import httpx, json
from tests.dashboard.dash import Dash, say
def test_probe(http: httpx.Client, dash: Dash) -> None:
    headers = dash.bearer()
    sid = str(say(http, dash, "hello")["session_id"])
    u = f"/api/v1/sessions/{sid}/messages"
    r = http.post(u, json={"text": "before takeover"}, headers=headers); print("pre", r.status_code, r.text[:150])
    assert http.post(f"/api/v1/sessions/{sid}/handoff/take-over", headers=headers).status_code == 200
    for body in [b'{"text":"   "}', b'{"text":"\\u0000\\u0001 hi"}', b'{"text":"\\ud800"}', b'{"text": 5}', b'[]', b'{"text":"x","extra":1}', b'', b'{"text":"' + b"a"*9000 + b'"}', b'{"text":"\xff"}', b'{"text":"' + "é".encode()*7999 + b'"}']:
        r = http.post(u, content=body, headers={**headers, "content-type": "application/json"}); print(body[:40], r.status_code, r.text[:150])
    r = http.post(f"/api/v1/sessions/{sid}/messages", json={"text": "x"}, headers=dash.globex_bearer() if hasattr(dash, "globex_bearer") else {}); print("globex", r.status_code, r.text[:150])
    r = http.post(f"/api/v1/sessions/ses_..%2F..%2Fx/messages", json={"text": "x"}, headers=headers); print("trav", r.status_code, r.text[:150])
