"""`oratio --help` and `oratio mcp` start without importing what they do not use (issue 16, item 8).

Claude Desktop and IDEs spawn `oratio mcp` on every start and wait for its initialize response, so
its start-up is import time. These tests pin *what* is imported (the time is a bench:
bench/cli_startup.py): the parser loads no door and no SDK; `oratio mcp` loads the MCP door but not
Strands, boto3, pypdf or the AgentCreator until a model is actually used.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from oratio.auth.principals import service_principal
from oratio.config import Settings
from oratio.platform import open_platform
from oratio_app.creator import FirstUseCreator, attach_creator_on_first_use
from schemas import AgentSpec, CreateAgent, Scope

REPO = Path(__file__).resolve().parents[2]
SDKS = ("strands", "boto3", "botocore", "pypdf")
DOORS = ("creator_agent", "voice_bridge", "deploy", "agentcore_apps", "dashboard")


def loaded_after(code: str, data_dir: Path) -> list[str]:
    """The heavy top-level packages a fresh interpreter has imported after running `code`."""
    watched = list(SDKS + DOORS + ("mcp", "mcp_server"))
    probe = f"""
import json, sys
{code}
print(json.dumps(sorted({{m.split(".")[0] for m in sys.modules}} & set({watched!r}))))
"""
    env = {**os.environ, "ORATIO_DATA_DIR": str(data_dir), "ORATIO_EMBEDDINGS": "false", "PYTHONPATH": str(REPO)}
    env.pop("ORATIO_MODEL", None)
    done = subprocess.run([sys.executable, "-c", probe], env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    loaded: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return loaded


def test_the_parser_imports_no_door_and_no_sdk(tmp_path: Path) -> None:
    code = "from oratio_app.cli import build_parser\nbuild_parser().format_help()"
    assert loaded_after(code, tmp_path) == []


def test_oratio_mcp_serves_without_strands_boto3_pypdf_or_the_creator(tmp_path: Path) -> None:
    """Everything `oratio mcp` runs up to serving stdio (the stdio loop itself is replaced by the probe)."""
    with open_platform(Settings(data_dir=tmp_path)) as platform:
        tenant = platform.tenants.create_tenant("Acme").tenant_id
    code = f"""
import mcp_server.stdio
mcp_server.stdio.serve_stdio = lambda platform, principal: None
from oratio_app.cli import main
assert main(["mcp", "--tenant", "{tenant}"]) == 0
"""
    assert loaded_after(code, tmp_path) == ["mcp", "mcp_server"]


def test_the_first_use_creator_answers_like_the_agentcreator_it_builds(tmp_path: Path) -> None:
    with open_platform(Settings(data_dir=tmp_path, model="scripted")) as platform:
        attached = attach_creator_on_first_use(platform)
        builder = attached.builder
        assert isinstance(builder, FirstUseCreator)
        assert builder.has_model
        tenant = platform.tenants.create_tenant("Acme").tenant_id
        assert builder.records(tenant, "agt_missing") == []  # builds the AgentCreator, then delegates
    with open_platform(Settings(data_dir=tmp_path / "other")) as platform:
        assert not FirstUseCreator(platform).has_model


@pytest.mark.parametrize("name", ["ScriptedModel", "ModelCache", "parse_model_spec", "demo_model"])
def test_oratio_models_exports_still_import(name: str) -> None:
    import oratio.models

    assert getattr(oratio.models, name).__name__ == name


def test_oratio_models_refuses_an_unknown_name() -> None:
    import oratio.models

    with pytest.raises(AttributeError):
        oratio.models.NotAModel  # noqa: B018


def test_an_engine_turn_still_runs_a_model_built_on_first_use(tmp_path: Path) -> None:
    """The engine's model cache is created lazily; a turn through it still reaches the model."""
    from oratio.runtime.engine import _FirstUseModelCache

    cache = _FirstUseModelCache(Settings(data_dir=tmp_path))
    assert type(cache("scripted")).__name__ == "ScriptedModel"
    built = cache._cache
    assert built is not None
    cache("scripted")
    assert cache._cache is built  # one ModelCache for the engine's life


@pytest.mark.anyio
async def test_the_first_use_creator_edits_and_simulates_like_the_agentcreator(tmp_path: Path) -> None:
    """`oratio mcp` attaches the first-use creator: `edit_agent_plan` and `run_simulations` go through it."""
    settings = Settings(data_dir=tmp_path, model="scripted", embeddings=False)
    with open_platform(settings) as platform:
        builder = attach_creator_on_first_use(platform).builder
        assert isinstance(builder, FirstUseCreator)
        tenant = platform.tenants.create_tenant("Acme").tenant_id
        owner = service_principal(tenant, "test", Scope.ADMIN)
        sop = "Answer questions about orders from the knowledge base. Never share another customer's details."
        agent = platform.agents.create(owner, CreateAgent(spec=AgentSpec(name="Orders", sop=sop)))
        assert (await builder.create(tenant, agent.id)).succeeded
        _, served = platform.agents.artifact(tenant, agent.id)
        edited = served.plan.model_copy(update={"closing_message": "Goodbye from the orders desk."})

        report = await builder.simulate(tenant, agent.id, edited, 2)
        record = await builder.revise(tenant, agent.id, edited, base_version=1)

        assert report.passed and report.results
        assert record.succeeded, record.failure
        _, now = platform.agents.artifact(tenant, agent.id)
        assert (now.version, now.plan.closing_message) == (2, "Goodbye from the orders desk.")
