"""The engine as the platform wires it: `ORATIO_MODEL` or the agent's own model picks the model, the
sync entry point works from plain code, and the `scripted` demo answers from the knowledge base."""

from __future__ import annotations

from pathlib import Path

import pytest

from oratio.errors import ConfigError, ModelUnavailable
from oratio.platform import open_platform
from schemas import Channel, SessionStatus
from tests.support.engine import PLAN, deployed_agent
from tests.support.platforms import test_settings
from tests.support.tenants import new_principal


def test_the_scripted_demo_answers_from_documents_hands_off_and_then_waits_for_the_person(tmp_path: Path) -> None:
    with open_platform(test_settings(tmp_path, model="scripted")) as platform:
        principal = new_principal(platform, "Acme")
        agent = deployed_agent(platform, principal)
        engine = platform.engine

        answer = engine.turn(principal.tenant_id, agent.id, None, "Can I get a refund?", Channel.TEXT)
        handoff = engine.turn(principal.tenant_id, agent.id, answer.session_id, "Let me talk to a person", Channel.TEXT)
        goodbye = engine.turn(principal.tenant_id, agent.id, answer.session_id, "ok, goodbye", Channel.TEXT)

    assert (
        answer.reply == "Refunds are possible within 30 days of purchase with a receipt. (source: refunds.md, Refunds)"
    )
    assert [s.document_name for s in answer.sources] == ["refunds.md"]
    assert (handoff.reply, handoff.status) == (PLAN.handoff_message, SessionStatus.HANDOFF_REQUESTED)
    # The agent pauses on handoff (the default): the customer's words are kept for the person, and no model answers.
    assert (goodbye.reply, goodbye.paused, goodbye.status) == ("", True, SessionStatus.HANDOFF_REQUESTED)


def test_an_agent_may_bring_its_own_model_when_none_is_configured(tmp_path: Path) -> None:
    with open_platform(test_settings(tmp_path)) as platform:
        principal = new_principal(platform, "Acme")
        unconfigured = deployed_agent(platform, principal, "Plain")
        own = deployed_agent(platform, principal, "Own", PLAN.model_copy(update={"model": "scripted"}))

        with pytest.raises(ModelUnavailable, match="no model is configured on this server"):
            platform.engine.turn(principal.tenant_id, unconfigured.id, None, "Hello", Channel.TEXT)
        result = platform.engine.turn(principal.tenant_id, own.id, None, "Refunds with a receipt?", Channel.TEXT)

    assert result.reply.endswith("(source: refunds.md, Refunds)")


def test_a_misspelt_model_setting_stops_the_platform_at_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="ORATIO_MODEL: unknown model provider 'bedrok'"):
        with open_platform(test_settings(tmp_path, model="bedrok:claude")):
            pass
