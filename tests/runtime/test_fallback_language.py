"""The runtime's own words (the apology after a model failure, the "no answer" line) follow the plan's language."""

from __future__ import annotations

import pytest

from oratio.languages import messages
from oratio.models import Fail, Say
from oratio.runtime import APOLOGY
from schemas import Channel
from tests.support.engine import PLAN, EngineWorld, deployed_agent

pytestmark = pytest.mark.anyio


async def test_a_french_agent_apologises_in_french(world: EngineWorld) -> None:
    agent = deployed_agent(world.platform, world.principal, "Lumiere", PLAN.model_copy(update={"language": "fr"}))
    world.model.add(Fail(ConnectionError("provider unreachable")))

    result = await world.engine().turn_async(world.tenant_id, agent.id, None, "Bonjour ?", Channel.TEXT)

    assert result.reply == messages("fr").apology != APOLOGY


async def test_an_empty_answer_gets_the_no_answer_line_in_the_plans_language(world: EngineWorld) -> None:
    agent = deployed_agent(world.platform, world.principal, "Sonrisa", PLAN.model_copy(update={"language": "es"}))
    world.model.add(Say(""))

    result = await world.engine().turn_async(world.tenant_id, agent.id, None, "¿Hola?", Channel.TEXT)

    assert result.reply == messages("es").no_answer


async def test_an_english_plan_keeps_the_english_apology(world: EngineWorld) -> None:
    world.model.add(Fail(ConnectionError("provider unreachable")))

    result = await world.engine().turn_async(world.tenant_id, world.agent.id, None, "Hello?", Channel.TEXT)

    assert result.reply == APOLOGY == messages("en").apology
