"""Fixtures for the agent runtime: a real SQLite platform, tenants with agents and keys, a real uvicorn.

`serving` runs `create_runtime_app(platform)` (or any ASGI app) under uvicorn on a free 127.0.0.1
port in a background thread, waits for it to start within a bound, and stops it on exit, so the
tests cross a real socket exactly as a customer app or AgentCore's proxy would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from starlette.types import ASGIApp
from strands.models import Model

from agentcore_apps.app import create_runtime_app
from oratio.blobs.local import LocalBlobStore
from oratio.config import Settings
from oratio.knowledge.index import HybridIndex
from oratio.knowledge.local import LocalKnowledgeBase
from oratio.models import CallTool, Prompt, Say, ScriptedModel, Step, when_user_says
from oratio.platform import Platform, build_services
from oratio.services import Backends
from oratio.store.sqlite import SqliteDatabase, SqliteEventLog, SqliteRecordStore
from schemas import Agent, AgentPlan, AgentSpec, CreateAgent, MintKeyRequest, Principal, Scope
from tests.net import uvicorn_in_thread

JWT_SECRET = "r" * 40
SOP = "Greet the customer, answer from the knowledge base, and hand off when asked."
STARTUP_TIMEOUT = 10.0
PLAN = AgentPlan(
    persona="Ava, Acme's support agent",
    system_prompt="You are Ava, a friendly support agent for Acme. Answer briefly and politely.",
)


def echo(prompt: Prompt) -> Step:
    """The test agent's standing rule: repeat the customer's words inside a sentence of several deltas."""
    return Say(f"You said: {prompt.last_user_text()}. Anything else?")


def scripted_agent(spec: str) -> Model:
    """A fresh zero-latency ScriptedModel per turn: ends the session on goodbye, echoes everything else."""
    return ScriptedModel(rules=[when_user_says("bye", "goodbye", then=CallTool("end_session")), echo])


@contextmanager
def open_test_platform(
    tmp_path: Path, *, model_factory: Callable[[str], Model] = scripted_agent, **settings: Any
) -> Iterator[Platform]:
    """The embedded platform (SQLite, local blobs, BM25 knowledge) wired as `open_platform` wires it,
    with the conversation engine's model replaced by `model_factory`."""
    config = Settings(
        data_dir=tmp_path, jwt_secret=SecretStr(JWT_SECRET), embeddings=False, model="scripted", **settings
    )
    db = SqliteDatabase(config.database_path)
    backends = Backends(store=SqliteRecordStore(db), events=SqliteEventLog(db), blobs=LocalBlobStore(config.blob_root))
    knowledge = LocalKnowledgeBase(HybridIndex(config.knowledge_path, embedder=None))
    platform = build_services(config, backends, knowledge, model_factory=model_factory)
    try:
        yield platform
    finally:
        platform.handoff.close()
        knowledge.close()
        db.close()


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    with open_test_platform(tmp_path) as opened:
        yield opened


@dataclass(frozen=True)
class Served:
    base_url: str

    def url(self, path: str) -> str:
        return self.base_url + path


@contextmanager
def serving(app: ASGIApp) -> Iterator[Served]:
    """`app` under a real uvicorn on a free 127.0.0.1 port, stopped (and checked stopped) on exit."""
    with serving_built(lambda port: app) as served:
        yield served


@contextmanager
def serving_built(build: Callable[[int], ASGIApp]) -> Iterator[Served]:
    """Like `serving`, for an app that must know its port (`oratio_app.web.create_app`)."""
    with uvicorn_in_thread(build) as port:
        yield Served(base_url=f"http://127.0.0.1:{port}")


@dataclass(frozen=True)
class Tenancy:
    principal: Principal

    @property
    def tenant_id(self) -> str:
        return self.principal.tenant_id


def new_tenancy(platform: Platform, name: str) -> Tenancy:
    tenant = platform.tenants.create_tenant(name)
    admin = platform.tenants.create_admin(tenant.tenant_id, f"ops@{name.lower()}.example", "Ops")
    return Tenancy(Principal(tenant_id=tenant.tenant_id, subject=admin.id, scopes=frozenset({Scope.ADMIN})))


def new_agent(platform: Platform, tenancy: Tenancy, name: str, *, deploy: bool = True) -> Agent:
    """An agent; deployed with `PLAN` (so active) unless `deploy` is False (then still `creating`)."""
    agent = platform.agents.create(tenancy.principal, CreateAgent(spec=AgentSpec(name=name, sop=SOP)))
    if deploy:
        agent = platform.agents.deploy(tenancy.tenant_id, agent.id, PLAN)
    return agent


def mint(platform: Platform, tenancy: Tenancy, agent: Agent, name: str = "web") -> tuple[str, str]:
    """A fresh key for `agent`: (secret, key id)."""
    minted = platform.keys.mint(tenancy.principal, MintKeyRequest(agent_id=agent.id, name=name))
    return minted.reveal(), minted.key.id


@dataclass(frozen=True)
class World:
    """Two tenants. Acme has a live agent (with a key), a second live agent and one never deployed."""

    acme: Tenancy
    globex: Tenancy
    agent: Agent
    other_agent: Agent
    creating_agent: Agent
    globex_agent: Agent
    secret: str
    key_id: str
    other_secret: str
    globex_secret: str


@pytest.fixture
def world(platform: Platform) -> World:
    return new_world(platform)


def new_world(platform: Platform) -> World:
    """Two tenants: Acme with a live agent (and its key), a second live one, one still creating; Globex with one."""
    acme = new_tenancy(platform, "Acme")
    globex = new_tenancy(platform, "Globex")
    agent = new_agent(platform, acme, "Support")
    other = new_agent(platform, acme, "Sales")
    creating = new_agent(platform, acme, "Draft", deploy=False)
    globex_agent = new_agent(platform, globex, "Helpdesk")
    secret, key_id = mint(platform, acme, agent)
    other_secret, _ = mint(platform, acme, other)
    globex_secret, _ = mint(platform, globex, globex_agent)
    return World(acme, globex, agent, other, creating, globex_agent, secret, key_id, other_secret, globex_secret)


@pytest.fixture
def served(platform: Platform) -> Iterator[Served]:
    """The runtime app over the test platform, served for real."""
    with serving(create_runtime_app(platform)) as running:
        yield running


@pytest.fixture
def http(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.base_url, timeout=10.0) as client:
        yield client
