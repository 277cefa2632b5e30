"""The `oratio` command, run in-process against a data directory, checked through the service layer."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from oratio.config import load_settings
from oratio.platform import open_platform
from oratio_app.cli import EXAMPLES, main, oratio_program, serve_command
from schemas import AgentStatus, Channel, DocumentStatus, Principal, Role, Scope, SessionFilter, SessionStatus


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in list(os.environ):
        if name.startswith("ORATIO_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("ORATIO_DATA_DIR", str(tmp_path))
    return tmp_path


def _fields(output: str) -> dict[str, str]:
    """`init` prints `label   value  (...)` lines; map each label to its value."""
    fields: dict[str, str] = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in {"tenant", "admin", "token"}:
            fields[parts[0]] = parts[1]
    return fields


def _principal(token: str) -> Principal:
    with open_platform(load_settings()) as platform:
        return platform.access.admin_principal(token)


def test_init_prints_a_token_the_platform_accepts(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    assert main(["init", "--tenant", "Acme", "--email", "Boss@Acme.example", "--name", "Boss"]) == 0

    printed = _fields(capsys.readouterr().out)
    assert printed["tenant"].startswith("ten_") and printed["admin"].startswith("adm_")
    principal = _principal(printed["token"])  # a second, independent opening of the same data
    assert principal == Principal(
        tenant_id=printed["tenant"], subject=printed["admin"], scopes=frozenset({Scope.ADMIN})
    )
    with open_platform(load_settings()) as platform:
        assert platform.tenants.get_tenant(principal).name == "Acme"
        assert [a.email for a in platform.tenants.list_admins(principal)] == ["boss@acme.example"]
    assert (data_dir / "oratio.db").is_file()
    assert (data_dir / "jwt.key").stat().st_mode & 0o777 == 0o600


def test_admin_token_mints_a_working_token(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init"]) == 0
    printed = _fields(capsys.readouterr().out)

    assert main(["admin", "token", "--tenant", printed["tenant"], "--admin", printed["admin"], "--ttl", "600"]) == 0

    token = capsys.readouterr().out.strip()
    assert token != printed["token"]
    assert _principal(token).subject == printed["admin"]


def test_admin_token_for_an_unknown_admin_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init"]) == 0
    tenant = _fields(capsys.readouterr().out)["tenant"]

    assert main(["admin", "token", "--tenant", tenant, "--admin", "adm_0000000000nobody"]) == 2

    captured = capsys.readouterr()
    assert captured.out == ""
    assert "adm_0000000000nobody" in captured.err and "not found" in captured.err


def test_admin_invite_without_a_public_url_says_which_address_its_link_assumes(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new user runs `oratio serve --port 44955`, then `oratio admin invite`: the printed link names port 8000,
    so the command must say so and what to open instead; with ORATIO_PUBLIC_URL the link is right and no note."""
    assert main(["init"]) == 0
    tenant = _fields(capsys.readouterr().out)["tenant"]

    assert main(["admin", "invite", "me@example.com", "--tenant", tenant]) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:8000/dashboard#invite=" in out
    assert "ORATIO_PUBLIC_URL is not set" in out and "/dashboard#invite=... part at that address" in out

    monkeypatch.setenv("ORATIO_PUBLIC_URL", "http://127.0.0.1:44955")
    assert main(["admin", "invite", "you@example.com", "--tenant", tenant]) == 0
    out = capsys.readouterr().out
    assert "http://127.0.0.1:44955/dashboard#invite=" in out and "note:" not in out


def test_the_demo_suggests_serve_with_the_scripted_model_it_fell_back_to() -> None:
    """`oratio demo` falls back to `scripted`, `oratio serve` does not: the demo's suggested `oratio serve` had no
    model, so the new user's first agent in the dashboard was stored and never built."""
    assert (
        serve_command("127.0.0.1", 8000, "fallback")
        == "ORATIO_MODEL=scripted oratio serve --host 127.0.0.1 --port 8000"
    )
    for chosen in ("configured", "aws", "local"):
        assert serve_command("127.0.0.1", 8000, chosen) == "oratio serve --host 127.0.0.1 --port 8000"


def test_the_demo_suggests_the_oratio_it_ran_when_none_is_on_path() -> None:
    """`./scripts/demo` runs `.venv/bin/oratio`: a suggested bare `oratio serve` is "command not found" until the
    venv is activated, which the README never says."""
    assert oratio_program(".venv/bin/oratio", None) == ".venv/bin/oratio"
    assert oratio_program(".venv/bin/oratio", "/usr/local/bin/oratio") == "oratio"
    assert oratio_program("/usr/lib/python3/oratio_app/__main__.py", None) == "oratio"  # python -m oratio_app
    suggested = serve_command("127.0.0.1", 8000, "fallback", ".venv/bin/oratio")
    assert suggested == "ORATIO_MODEL=scripted .venv/bin/oratio serve --host 127.0.0.1 --port 8000"


def test_demo_stores_the_example_agent_with_its_documents(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    # Named, so the run is the same on a machine with AWS credentials or the local model installed.
    monkeypatch.setenv("ORATIO_MODEL", "scripted")
    assert main(["demo", "--port", "8123"]) == 0

    captured = capsys.readouterr()
    out = captured.out
    assert "model: scripted - set by ORATIO_MODEL" in captured.err
    assert "Run `oratio serve --host 127.0.0.1 --port 8123`" in out  # a model of the user's own: serve finds it too
    token = out.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    principal = _principal(token)
    expected = json.loads((EXAMPLES / "acme_support" / "agent.json").read_text())
    knowledge = sorted(p.name for p in (EXAMPLES / "acme_support" / "knowledge").iterdir())
    assert len(knowledge) == 3
    with open_platform(load_settings()) as platform:
        (agent,) = platform.agents.list(principal).items
        # Built by the AgentCreator (offline scripted model) and live.
        assert (agent.name, agent.status, agent.artifact_version) == (expected["name"], AgentStatus.ACTIVE, 1)
        assert agent.spec.sop == (EXAMPLES / "acme_support" / "sop.md").read_text()
        assert agent.spec.handoff.conditions == expected["handoff"]["conditions"]
        documents = platform.documents.list(principal, agent.id).items
        assert sorted(d.name for d in documents) == knowledge
        for document in documents:
            source = (EXAMPLES / "acme_support" / "knowledge" / document.name).read_bytes()
            assert platform.documents.read_content(principal, document.id) == source
            assert document.status is DocumentStatus.READY and document.chunk_count >= 1
        assert "refund_policy.md (Refund policy)" in out  # the cited answer
        assert "handed off to a human" in out  # the safety rule from the SOP's escalation section
        (session,) = platform.sessions.list(principal, SessionFilter(channel=Channel.TEXT)).items
        assert session.status is SessionStatus.HANDOFF_REQUESTED
        # The voice call: synthesized speech heard by the cascade, answered and recorded.
        (call,) = platform.sessions.list(principal, SessionFilter(channel=Channel.VOICE)).items
        assert call.status is SessionStatus.COMPLETED
        turns = platform.sessions.get(principal, call.id).turns
        # The call opens with the plan's greeting (an agent turn), then the caller's question and its answer.
        assert [t.role for t in turns] == [Role.AGENT, Role.CUSTOMER, Role.AGENT]
        assert "refund policy for a long outage" in turns[1].text.lower() and turns[2].text
        assert platform.backends.blobs.list(f"{principal.tenant_id}/recordings/{agent.id}/")
        (key,) = platform.keys.list(principal, agent_id=agent.id).items
        assert key.name == "demo key"
        (step4,) = [line for line in out.splitlines() if line.startswith("[4/7] API key")]
        secret = step4.split()[-1]  # the whole secret, shown once (stored only as a hash)
        assert secret.startswith(key.prefix)
        assert platform.keys.authenticate(secret, agent.id).key_id == key.id
    # The tenant is the one `oratio serve` will print a token for.
    assert json.loads((data_dir / "operator.json").read_text())["tenant_id"] == principal.tenant_id
    # A ready curl for the text runtime, and hints with the host/port given.
    (curl,) = [line.strip() for line in out.splitlines() if line.strip().startswith("curl ")]
    assert f"http://127.0.0.1:8123/runtime/agents/{agent.id}/invocations" in curl and secret in curl
    assert "http://127.0.0.1:8123/dashboard" in out and ":8000" not in out
    # Progress while the voice step loads models and waits for the call.
    assert "loading the local speech models" in out and "waiting for its spoken reply" in out


def test_a_bad_setting_exits_2_naming_the_variable(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, data_dir: Path
) -> None:
    monkeypatch.setenv("ORATIO_STORE", "mongo")

    assert main(["init"]) == 2

    captured = capsys.readouterr()
    assert "ORATIO_STORE" in captured.err
    assert captured.err.startswith("oratio: ")
    assert "Traceback" not in captured.err + captured.out
    assert captured.out == ""
    assert not (data_dir / "oratio.db").exists()


def test_init_run_twice_says_what_exists_and_creates_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--tenant", "Acme"]) == 0
    first = _fields(capsys.readouterr().out)

    assert main(["init", "--tenant", "Other"]) == 0

    out = capsys.readouterr().out
    again = _fields(out)
    assert out.startswith("Already set up in ") and "Nothing was created" in out
    assert (again["tenant"], again["admin"]) == (first["tenant"], first["admin"])
    assert _principal(again["token"]).subject == first["admin"]
    assert main(["tenants"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 1  # still one tenant


def test_tenants_and_admins_list_the_ids_an_operator_needs(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    assert main(["init", "--tenant", "Acme", "--email", "ops@acme.example", "--data-dir", str(elsewhere)]) == 0
    acme = _fields(capsys.readouterr().out)
    with open_platform(load_settings({"ORATIO_DATA_DIR": str(elsewhere)})) as platform:
        globex = platform.tenants.create_tenant("Globex")
        boss = platform.tenants.create_admin(globex.tenant_id, "boss@globex.example", "Boss")

    assert main(["tenants", "--data-dir", str(elsewhere)]) == 0
    listed = [line.split() for line in capsys.readouterr().out.strip().splitlines()]
    assert [(row[0], row[2]) for row in listed] == [(acme["tenant"], "Acme"), (globex.tenant_id, "Globex")]
    assert listed[0][-1] == "(operator)"

    assert main(["admins", "--tenant", globex.tenant_id, "--data-dir", str(elsewhere)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:2] == [boss.id, "boss@globex.example"]

    assert main(["admins", "--tenant", "ten_0000000000nobody", "--data-dir", str(elsewhere)]) == 2
    err = capsys.readouterr().err
    assert "ten_0000000000nobody" in err and str(elsewhere) in err
