"""Model providers for agents: a spec string (`provider:model_id[?options]`) to a Strands model.

`ORATIO_MODEL` sets the platform's model; an agent's plan or spec may override it. `scripted` is a
real Strands model that plays a script, for tests, benchmarks and demos with no provider at all.

Exports load on first use (PEP 562): most of them import Strands and the provider SDKs, and importing
`oratio.models.spec` (which the engine does at start) runs this file first. `oratio mcp` starts
without them; `from oratio.models import ScriptedModel` works as before.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from oratio.models.demo import demo_model, demo_rules
    from oratio.models.factory import PROVIDERS, ModelCache, create_model
    from oratio.models.scripted import (
        CallTool,
        Data,
        Fail,
        Hang,
        Prompt,
        Rule,
        Say,
        ScriptedModel,
        ScriptExhausted,
        Step,
        ToolOutcome,
        after_tool,
        when_user_says,
    )
    from oratio.models.spec import ModelSpec, parse_model_spec

_HOMES = {
    "demo_model": "demo",
    "demo_rules": "demo",
    "PROVIDERS": "factory",
    "ModelCache": "factory",
    "create_model": "factory",
    "ModelSpec": "spec",
    "parse_model_spec": "spec",
}
"""Where each export lives; the rest are in `oratio.models.scripted`."""


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'oratio.models' has no attribute {name!r}")
    return getattr(importlib.import_module(f"oratio.models.{_HOMES.get(name, 'scripted')}"), name)


__all__ = [
    "PROVIDERS",
    "CallTool",
    "Data",
    "Fail",
    "Hang",
    "ModelCache",
    "ModelSpec",
    "Prompt",
    "Rule",
    "Say",
    "ScriptExhausted",
    "ScriptedModel",
    "Step",
    "ToolOutcome",
    "after_tool",
    "create_model",
    "demo_model",
    "demo_rules",
    "parse_model_spec",
    "when_user_says",
]
