"""Creating an agent through the dashboard API (`dashboard.agent_admin`) on a real uvicorn with the AgentCreator
attached and the offline scripted model: options, creation to live, documents, SOP files, progress; every bad
input a clear 4xx; bodies capped by ORATIO_DASHBOARD_AGENT_BODY_BYTES; tenants isolated; CSRF on the cookie."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from oratio.platform import Platform
from tests.dashboard.agent_admin_support import SOP, docx, join_build, paragraph, person
from tests.dashboard.built_agents import platform, platform_models
from tests.dashboard.dash import Dash
from tests.dashboard.test_api import assert_error
from tests.support.pdfs import make_pdf
from tests.support.serving import Served

__all__ = ["platform", "platform_models"]  # the fixtures of built_agents

BODY_CAP = 256 * 1024
MD = "text/markdown"


@pytest.fixture
def platform_settings() -> dict[str, Any]:
    return {"model": "scripted", "password_memory_kib": 8 * 1024, "dashboard_agent_body_bytes": BODY_CAP}


def form(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "Desk", "sop": SOP, "channels": ["text"]}
    body.update(changes)
    return body


def post(http: httpx.Client, dash: Dash, path: str, body: dict[str, Any], token: str | None = None) -> httpx.Response:
    return http.post(path, json=body, headers=dash.bearer(token))


def upload(http: httpx.Client, dash: Dash, path: str, name: str, content: bytes, **headers: str) -> httpx.Response:
    return http.post(path, files={"file": (name, content, MD)}, headers={**dash.bearer(), **headers})


def test_options_offer_the_allow_list_channels_and_handoff_defaults(http: httpx.Client, dash: Dash) -> None:
    assert_error(http.get("/api/v1/agent-options"), 401, "unauthenticated")
    options = http.get("/api/v1/agent-options", headers=dash.bearer()).json()
    assert options["models"] == ["scripted"]
    assert options["channels"] == ["voice", "text"]
    assert options["can_build"] is True
    assert options["handoff"]["enabled"] is True and options["handoff"]["escalate_after_seconds"] == 300
    assert options["upload_bytes_max"] == BODY_CAP
    assert ".docx" in options["sop_suffixes"] and ".pdf" in options["document_suffixes"]


def test_an_agent_created_with_a_document_builds_to_live_with_its_stages_and_reviews(
    http: httpx.Client, dash: Dash
) -> None:
    handoff = {"enabled": True, "conditions": ["the customer asks for a manager"], "escalate_after_seconds": 120}
    body = form(channels=["text", "voice"], model="scripted", handoff=handoff, build=False, greeting="Hello!")
    created = post(http, dash, "/api/v1/agents", body)
    assert created.status_code == 201, created.text
    agent = created.json()
    assert (agent["status"], agent["agent_type"]) == ("creating", "both")
    waiting = http.get(f"/api/v1/agents/{agent['id']}/creation", headers=dash.bearer()).json()
    assert waiting["state"] == "waiting" and {s["status"] for s in waiting["stages"]} == {"pending"}

    hours = b"# Opening hours\n\nWe are open 9 to 5 on weekdays."
    document = upload(http, dash, f"/api/v1/agents/{agent['id']}/documents", "hours.md", hours)
    assert document.status_code == 201, document.text
    assert document.json()["name"] == "hours.md"

    started = http.post(f"/api/v1/agents/{agent['id']}/creation", headers=dash.bearer())
    assert started.status_code == 202, started.text
    join_build(agent["id"])
    done = http.get(f"/api/v1/agents/{agent['id']}/creation", headers=dash.bearer()).json()
    assert done["state"] == "live", done
    assert done["succeeded"] is True and done["version"] == 1
    assert [s["status"] for s in done["stages"]] == ["passed"] * 5
    assert len(done["reviews"]) >= 2 and done["tests"]
    stored = dash.platform.agents.get(dash.acme.principal, agent["id"])
    assert stored.spec.handoff.escalate_after_seconds == 120 and stored.spec.text.greeting == "Hello!"
    docs = http.get(f"/api/v1/agents/{agent['id']}/documents", headers=dash.bearer()).json()["documents"]
    assert [(d["name"], d["status"]) for d in docs] == [("hours.md", "ready")]
    again = http.post(f"/api/v1/agents/{agent['id']}/creation", headers=dash.bearer())
    assert_error(again, 409, "invalid_state", "is active")


def test_create_builds_at_once_by_default(http: httpx.Client, dash: Dash) -> None:
    created = post(http, dash, "/api/v1/agents", form())
    assert created.status_code == 201, created.text
    join_build(created.json()["id"])
    assert http.get(f"/api/v1/agents/{created.json()['id']}/creation", headers=dash.bearer()).json()["state"] == "live"


@pytest.mark.parametrize(
    ("change", "status", "code", "fragment"),
    [
        ({"sop": None}, 422, "invalid_input", "sop"),
        ({"sop": "Be nice."}, 422, "invalid_input", "sop"),
        ({"sop": "lorem ipsum dolor sit amet consectetur adipiscing elit sed do"}, 422, "invalid_input", "instruction"),
        ({"channels": []}, 422, "invalid_input", "channels"),
        ({"channels": ["fax"]}, 422, "invalid_input", "channels"),
        ({"model": "gpt-9"}, 422, "invalid_input", "choose one of: scripted"),
        ({"model": "openai:x?base_url=http://evil"}, 422, "invalid_input", "set by the operator"),
        ({"name": ""}, 422, "invalid_input", "name"),
        ({"handoff": {"enabled": True, "escalate_after_seconds": 5}}, 422, "invalid_input", "escalate_after_seconds"),
        ({"voice": {"language": "klingon"}}, 422, "invalid_input", "language"),
        ({"tools": [{"name": "get_order"}]}, 422, "invalid_input", "tools"),  # a tool lacking its URL
    ],
)
def test_bad_forms_are_refused_with_the_field_named(
    http: httpx.Client, dash: Dash, change: dict[str, Any], status: int, code: str, fragment: str
) -> None:
    body = {k: v for k, v in form(**change).items() if v is not None}
    assert_error(post(http, dash, "/api/v1/agents", body), status, code, fragment)
    assert http.get("/api/v1/agents?status=creating", headers=dash.bearer()).json()["agents"] == []


def test_a_taken_name_is_a_conflict_and_bodies_must_be_json(http: httpx.Client, dash: Dash) -> None:
    assert_error(post(http, dash, "/api/v1/agents", form(name="Support", build=False)), 409, "conflict", "Support")
    text = http.post("/api/v1/agents", content=b"name=Desk", headers=dash.bearer())
    assert_error(text, 422, "invalid_input", "JSON")
    broken = http.post("/api/v1/agents", content=b"{", headers={**dash.bearer(), "Content-Type": "application/json"})
    assert_error(broken, 422, "invalid_input", "not valid JSON")


def test_bodies_past_the_caps_are_refused_before_they_are_read(http: httpx.Client, dash: Dash) -> None:
    huge = form(description="x" * (600 * 1024))
    assert_error(post(http, dash, "/api/v1/agents", huge), 413, "payload_too_large", "262144 bytes")
    path = f"/api/v1/agents/{dash.agent.id}/documents"
    assert_error(upload(http, dash, path, "big.md", b"a" * (BODY_CAP + 1)), 413, "payload_too_large", "262144")

    def chunks() -> Any:  # no Content-Length: the cap holds on the stream too
        yield b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.md"\r\n\r\n'
        for _ in range(BODY_CAP // 4096 + 2):
            yield b"b" * 4096

    streamed = http.post(
        path, content=chunks(), headers={**dash.bearer(), "Content-Type": "multipart/form-data; boundary=x"}
    )
    assert_error(streamed, 413, "payload_too_large")
    sop = http.post("/api/v1/sop-text", files={"file": ("sop.md", b"a" * (BODY_CAP + 1), MD)}, headers=dash.bearer())
    assert_error(sop, 413, "payload_too_large")


def test_documents_go_through_the_document_service_and_its_checks(http: httpx.Client, dash: Dash) -> None:
    path = f"/api/v1/agents/{dash.agent.id}/documents"
    assert_error(upload(http, dash, path, "tool.exe", b"MZ"), 422, "invalid_input", "not a document")
    assert_error(upload(http, dash, path, "empty.md", b""), 422, "invalid_input", "empty")
    no_file = http.post(path, data={"other": "x"}, files={"x": ("a.md", b"a", MD)}, headers=dash.bearer())
    assert_error(no_file, 422, "invalid_input", "'file' field")
    as_json = http.post(path, json={"file": "a"}, headers=dash.bearer())
    assert_error(as_json, 422, "invalid_input", "multipart/form-data")
    two = http.post(path, files=[("file", ("a.md", b"a", MD)), ("file", ("b.md", b"b", MD))], headers=dash.bearer())
    assert_error(two, 422, "invalid_input", "form could not be read")
    ok = upload(http, dash, path, "faq.md", b"# FAQ\n\nWe ship worldwide.")
    assert ok.status_code == 201 and ok.json()["status"] == "ready", ok.text
    assert_error(upload(http, dash, "/api/v1/agents/agt_nope/documents", "a.md", b"a"), 404, "not_found")


def test_tenants_see_and_touch_only_their_own_agents(http: httpx.Client, dash: Dash) -> None:
    globex = dash.globex_token
    acme_agent = dash.agent.id
    read = http.get(f"/api/v1/agents/{acme_agent}/creation", headers=dash.bearer(globex))
    assert_error(read, 404, "not_found")
    start = http.post(f"/api/v1/agents/{acme_agent}/creation", headers=dash.bearer(globex))
    assert_error(start, 404, "not_found")
    stolen = http.post(
        f"/api/v1/agents/{acme_agent}/documents", files={"file": ("a.md", b"# A", MD)}, headers=dash.bearer(globex)
    )
    assert_error(stolen, 404, "not_found")
    assert dash.platform.documents.list(dash.acme.principal, acme_agent).items == []
    same_name = post(http, dash, "/api/v1/agents", form(name="Support", build=False), globex)
    assert same_name.status_code == 201  # names are unique per tenant only


def test_an_sop_file_becomes_editor_text(http: httpx.Client, dash: Dash) -> None:
    def read(name: str, content: bytes) -> httpx.Response:
        return http.post(
            "/api/v1/sop-text", files={"file": (name, content, "application/octet-stream")}, headers=dash.bearer()
        )

    assert read("sop.md", SOP.encode()).json() == {"name": "sop.md", "format": "markdown", "text": SOP.strip()}
    word = docx(
        paragraph("Desk SOP", "Title")
        + paragraph("Steps", "Heading2")
        + paragraph("Greet the customer.", listed=True)
        + paragraph("Answer from the knowledge base.", "ListParagraph")
        + paragraph("Always be polite.")
    )
    text = read("desk.docx", word).json()["text"]
    assert (
        text
        == "# Desk SOP\n\n## Steps\n\n- Greet the customer.\n- Answer from the knowledge base.\n\nAlways be polite."
    )
    pdf = read("desk.pdf", make_pdf([["Always greet the customer.", "Never share data."]])).json()
    assert pdf["format"] == "pdf" and "Always greet the customer." in pdf["text"]

    assert_error(read("desk.docx", b"not a zip"), 422, "invalid_input", "not a zip")
    assert_error(read("desk.docx", docx(paragraph("x"), extra_entries=2_001)), 422, "invalid_input", "2000 parts")
    laughs = '<!DOCTYPE lolz [<!ENTITY lol "lol">]>'
    assert_error(read("desk.docx", docx(paragraph("&lol;"), doctype=laughs)), 422, "invalid_input", "DTD")
    assert_error(read("desk.docx", docx("<w:p>")), 422, "invalid_input", "not well-formed")
    long_word = docx(paragraph("Always answer politely. " * 40) * 200)
    assert_error(read("long.docx", long_word), 422, "invalid_input", "more than 100000 characters")
    assert_error(read("desk.odt", b"x"), 422, "invalid_input", "an SOP file is one of")
    assert_error(read("desk.txt", b"\x00\x01\x02binary"), 422, "extraction_failed", "binary")
    assert_error(read("desk.txt", b"a" * 100_001), 422, "invalid_input", "at most 100000")
    assert_error(http.post("/api/v1/sop-text", files={"file": ("a.md", b"a", MD)}), 401, "unauthenticated")


def test_a_signed_in_person_creates_with_the_csrf_token_only(served: Served, platform: Platform, dash: Dash) -> None:
    browser, csrf = person(platform, dash.acme, served.base_url, "robin@acme.example")
    origin = {"Origin": served.base_url}
    try:
        missing = browser.post("/api/v1/agents", json=form(build=False), headers=origin)
        assert_error(missing, 403, "forbidden", "X-CSRF-Token")
        wrong_site = browser.post(
            "/api/v1/agents", json=form(build=False), headers={"Origin": "https://evil.example", "X-CSRF-Token": csrf}
        )
        assert_error(wrong_site, 403, "forbidden", "another site")
        path = f"/api/v1/agents/{dash.agent.id}/documents"
        no_token = browser.post(path, files={"file": ("a.md", b"# A", MD)}, headers=origin)
        assert_error(no_token, 403, "forbidden")
        assert_error(browser.post(f"/api/v1/agents/{dash.agent.id}/creation", headers=origin), 403, "forbidden")
        assert_error(
            browser.post("/api/v1/sop-text", files={"file": ("a.md", b"a", MD)}, headers=origin), 403, "forbidden"
        )

        made = browser.post("/api/v1/agents", json=form(build=False), headers={**origin, "X-CSRF-Token": csrf})
        assert made.status_code == 201, made.text
        doc = browser.post(
            path, files={"file": ("a.md", b"# A\n\nText.", MD)}, headers={**origin, "X-CSRF-Token": csrf}
        )
        assert doc.status_code == 201, doc.text
        assert browser.get("/api/v1/agent-options").status_code == 200  # a read needs no token
    finally:
        browser.close()
