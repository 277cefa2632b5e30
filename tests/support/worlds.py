"""The two-tenant world the doors are tested against, built from `tenants`."""

from __future__ import annotations

from dataclasses import dataclass

from oratio.platform import Platform
from schemas import Agent
from tests.support.tenants import Tenancy, mint, new_agent, new_tenancy


@dataclass(frozen=True)
class World:
    """Two tenants. Acme has a live agent (with a key), a second live agent and one never deployed;
    Globex has one live agent with a key."""

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


def new_world(platform: Platform) -> World:
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
