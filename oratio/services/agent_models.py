"""Which model writes an agent's brief and analysis: the one the agent serves customers with.

The same resolution as the conversation engine's (`ModelGate.spec_for`: the plan's model, else the
agent's allowed name, else the platform's `ORATIO_MODEL`), so an agent on a local model is not
summarised by a hosted one, and an admin who picked a model for an agent gets its writing too.
None means offline: no model, a model that cannot run here, or the `scripted` one (a demo model plays
a script; it cannot summarise), and the callers keep their extractive/rule-based result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from oratio.errors import OratioError
from oratio.models.gate import ModelGate
from oratio.models.spec import parse_model_spec

if TYPE_CHECKING:
    from strands.models import Model

WRITER_MAX_TOKENS = 2048
"""The most a brief or an analysis may generate (the spec's own `max_tokens` if lower): the answer schemas
cap every field, this caps what the provider bills and the time a local model spends."""
OFFLINE_PROVIDERS = frozenset({"scripted"})
"""Providers that cannot write prose about a conversation: the demo/scripted model plays rules."""


@dataclass(frozen=True)
class WriterModel:
    """A model to write with: `name` is what `written_by` records, `build` makes a fresh model per call."""

    name: str
    build: Callable[[], Model]


ModelLookup = Callable[[str, str], WriterModel | None]
"""(tenant_id, agent_id) -> the agent's writer model, or None offline."""


def writer_name(spec: str) -> str:
    """`provider:model_id` (or the provider alone) of a spec: options such as a base URL are left out."""
    parsed = parse_model_spec(spec)
    return (parsed.provider if parsed.model_id is None else f"{parsed.provider}:{parsed.model_id}")[:200]


def capped_spec(spec: str, max_tokens: int = WRITER_MAX_TOKENS) -> str:
    """`spec` with `max_tokens` at most `max_tokens` (every provider but `scripted` takes the option)."""
    head, _, query = spec.partition("?")
    pairs = [(k, v) for k, v in parse_qsl(query, keep_blank_values=True) if k != "max_tokens"]
    given = parse_model_spec(spec).option("max_tokens")
    cap = min(int(given), max_tokens) if isinstance(given, int) else max_tokens
    return f"{head}?{urlencode([*pairs, ('max_tokens', str(cap))])}"


def agent_models(artifact: Callable[[str, str], Any], gate: ModelGate, build: Callable[[str], Model]) -> ModelLookup:
    """A lookup over `AgentService.artifact`, the platform's model gate and a spec -> model builder."""

    def lookup(tenant_id: str, agent_id: str) -> WriterModel | None:
        try:
            agent, deployed = artifact(tenant_id, agent_id)
            spec: str = gate.spec_for(deployed.plan.model or agent.spec.model)
            provider = parse_model_spec(spec).provider
        except OratioError:  # agent gone or paused, no model, a model not allowed: offline
            return None
        if provider in OFFLINE_PROVIDERS:
            return None
        capped = capped_spec(spec)
        return WriterModel(writer_name(spec), lambda: build(capped))

    return lookup


__all__ = [
    "OFFLINE_PROVIDERS",
    "WRITER_MAX_TOKENS",
    "capped_spec",
    "ModelLookup",
    "WriterModel",
    "agent_models",
    "writer_name",
]
