"""Model providers for agents: a spec string (`provider:model_id[?options]`) to a Strands model.

`ORATIO_MODEL` sets the platform's model; an agent's plan or spec may override it. `scripted` is a
real Strands model that plays a script, for tests, benchmarks and demos with no provider at all.
"""

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
