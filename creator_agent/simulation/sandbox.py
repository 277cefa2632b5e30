"""The ActionRunner simulations use: it answers like the admin's tools would, and never calls out.

A simulation must not cancel a real order. `SandboxRunner` implements `oratio.actions.ActionRunner`:
it checks the arguments against the tool's schema (required fields, top-level types and enums; the
platform's own runner does the full JSON Schema check), then answers with a sample built from the tool's
`response_schema` (its `examples`, `enum`, `default`, a value of its `format`, a word of its description
its `pattern` accepts, else a value of its type), or `{"ok": true}`. It
records every call it ran, so a scenario can assert that exactly the confirmed arguments ran. A tool
named in `failing` answers an error, so a scenario can check the agent says so instead of claiming success.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from oratio.actions import ToolOutcome, ToolRequest
from oratio.tenant_patterns import PatternError, compile_tenant_regex
from schemas import ToolCallStatus
from schemas.tools import SCHEMA_DEPTH_MAX, HttpTool

FAILURE = {"error": "the service answered 503 (sandbox: this tool is set to fail); nothing was done"}
_SAMPLES: dict[str, Any] = {"string": "sample", "integer": 1, "number": 1, "boolean": True, "null": None}
_FORMATS = {
    "email": "customer@example.com",
    "date": "2026-01-15",
    "date-time": "2026-01-15T10:00:00Z",
    "uri": "https://example.com",
    "uuid": "123e4567-e89b-12d3-a456-426614174000",
}
_TOKEN = re.compile(r"[\w.@+-]{1,64}")
_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


def _from_description(pattern: str, description: Any) -> str | None:
    """A value the pattern accepts, taken from the property's description ("The order id, like A1001").

    The pattern is the tenant's: it runs on RE2 (linear time), and one RE2 refuses gives no value.
    """
    if not isinstance(description, str):
        return None
    try:
        whole = compile_tenant_regex(f"^(?:{pattern})$")
    except PatternError:
        return None
    for token in _TOKEN.findall(description[:1000])[:50]:
        if whole.search(token) is not None:
            return str(token)
    return None


def sample(schema: Mapping[str, Any] | None, depth: int = 0) -> Any:
    """A value that fits `schema`: its first example, enum value or default, else a plain one of its type."""
    if not isinstance(schema, Mapping) or depth > SCHEMA_DEPTH_MAX:
        return None
    for key in ("examples", "enum"):
        values = schema.get(key)
        if isinstance(values, list) and values:
            return values[0]
    if "const" in schema:
        return schema["const"]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) and kind else kind
    if kind == "string" and schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    if kind == "string" and isinstance(schema.get("pattern"), str):
        return _from_description(schema["pattern"], schema.get("description")) or "sample"
    if kind == "object" or (kind is None and isinstance(schema.get("properties"), Mapping)):
        properties = schema.get("properties")
        if not isinstance(properties, Mapping):
            return {}
        return {str(name): sample(child, depth + 1) for name, child in properties.items()}
    if kind == "array":
        item = sample(schema.get("items"), depth + 1)
        return [] if item is None else [item]
    return _SAMPLES.get(kind, "sample") if isinstance(kind, str) else "sample"


def sample_arguments(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """Arguments a customer could give for a tool: a sample for each required property."""
    properties = parameters.get("properties")
    required = parameters.get("required")
    if not isinstance(properties, Mapping) or not isinstance(required, list):
        return {}
    return {str(name): sample(properties.get(name)) for name in required if isinstance(name, str)}


def problems(parameters: Mapping[str, Any], arguments: Mapping[str, Any]) -> list[str]:
    """What is wrong with `arguments` at the top level: missing required fields, wrong types, values off an enum."""
    found = []
    required = parameters.get("required")
    for name in required if isinstance(required, list) else []:
        if isinstance(name, str) and name not in arguments:
            found.append(f"'{name}' is required")
    properties = parameters.get("properties")
    for name, value in arguments.items():
        schema = properties.get(name) if isinstance(properties, Mapping) else None
        if not isinstance(schema, Mapping):
            continue
        kind = schema.get("type")
        types = _TYPES.get(kind) if isinstance(kind, str) else None
        if types is not None and (not isinstance(value, types) or (kind != "boolean" and isinstance(value, bool))):
            found.append(f"'{name}' must be a {kind}")
        enum = schema.get("enum")
        if isinstance(enum, list) and value not in enum:
            found.append(f"'{name}' must be one of {', '.join(map(str, enum))[:200]}")
    return found


@dataclass
class SandboxRunner:
    """An `ActionRunner` for simulations: validates, answers a sample, records; never sends anything."""

    failing: frozenset[str] = frozenset()
    ran: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    async def run(self, request: ToolRequest) -> ToolOutcome:
        tool = request.tool
        arguments = dict(request.arguments)
        wrong = problems(tool.parameters, arguments)
        if wrong:
            error = {"error": f"invalid arguments: {'; '.join(wrong)}; ask the customer and call again"}
            return ToolOutcome(ToolCallStatus.INVALID_ARGUMENTS, error, error["error"][:500], 0.0)
        self.ran.append((tool.name, arguments))
        if tool.name in self.failing:
            return ToolOutcome(ToolCallStatus.ERROR, dict(FAILURE), FAILURE["error"][:500], 0.0)
        schema = tool.response_schema if isinstance(tool, HttpTool) else None
        answer = sample(schema) if schema else {"ok": True}
        return ToolOutcome(ToolCallStatus.OK, answer, str(answer)[:500], 0.0)


__all__ = ["FAILURE", "SandboxRunner", "problems", "sample", "sample_arguments"]
