"""Which model the AgentCreator's stages use: the configured one, or the offline scripted creator."""

from __future__ import annotations

from typing import TypeVar

from creator_agent._llm import ModelFactory
from creator_agent.context import AttachableServices
from creator_agent.offline import offline_model
from creator_agent.pipeline import AgentCreator
from oratio.config import Settings
from oratio.errors import ConfigError
from oratio.models.factory import create_model
from oratio.models.spec import parse_model_spec

S = TypeVar("S", bound=AttachableServices)


def creator_models(settings: Settings) -> ModelFactory:
    """A fresh model per call (some provider clients are bound to one event loop)."""
    spec = settings.model
    if spec is None:
        raise ConfigError("no model is configured for the AgentCreator: set ORATIO_MODEL (or 'scripted' offline)")
    if parse_model_spec(spec, source="ORATIO_MODEL").provider == "scripted":
        return offline_model
    return lambda: create_model(spec, settings)


def attach_creator(platform: S) -> S:
    """The platform (any services a builder attaches to) with an AgentCreator attached.

    With no model configured, builds need a lent model. Only the composition root calls this.
    """
    models = None if platform.settings.model is None else creator_models(platform.settings)
    return platform.with_builder(AgentCreator(platform, models, discovery=platform.mcp))
