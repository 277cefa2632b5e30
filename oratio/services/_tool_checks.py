"""What the ToolService checks on an admin's tool, and the dry run's rendering of a request.

TODO(issue 18, task B): replace `check_schema` and `argument_errors` with
`oratio.actions.schema_check` (check_tool_schema, argument validation) once it is merged; these are
the minimum the admin surface needs meanwhile, with the same rule: every `pattern` is a tenant regex,
so it compiles and runs on RE2 (linear time) or the schema is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from functools import lru_cache
from typing import Any, Final
from urllib.parse import quote, urlencode

import re2
from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import SchemaError
from jsonschema.exceptions import ValidationError as SchemaViolation
from referencing.exceptions import Unresolvable

from oratio.errors import InvalidInput
from schemas import HttpTool
from schemas.tools import ARGUMENTS_JSON_MAX, SECRET_REF_PATTERN

ERRORS_SHOWN: Final = 10
_PLACEHOLDER = re2.compile(r"\{([A-Za-z0-9_.-]{1,64})\}")
_SECRET_REF = re2.compile(SECRET_REF_PATTERN)


@lru_cache(maxsize=512)
def _re2(pattern: str) -> Any:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 8 * 1024 * 1024
    return re2.compile(pattern, options)


def _patterns(schema: Any, place: str) -> Iterator[tuple[str, str]]:
    """Every (place, regex) in a schema: `pattern` values and `patternProperties` keys."""
    stack = [(schema, place)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                yield f"{where}.pattern", node["pattern"]
            if isinstance(node.get("patternProperties"), dict):
                yield from ((f"{where}.patternProperties", key) for key in node["patternProperties"])
            stack.extend((value, f"{where}.{key}") for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, f"{where}[{i}]") for i, value in enumerate(node))


def _refs(schema: Any, place: str) -> Iterator[tuple[str, str]]:
    stack = [(schema, place)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, dict):
            for key in ("$ref", "$dynamicRef"):
                if isinstance(node.get(key), str):
                    yield f"{where}.{key}", node[key]
            stack.extend((value, f"{where}.{key}") for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, f"{where}[{i}]") for i, value in enumerate(node))


def check_schema(schema: dict[str, Any], place: str) -> None:
    """A valid draft 2020-12 schema whose regexes RE2 compiles. Raises InvalidInput naming the place."""
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = ".".join(str(p) for p in exc.absolute_path)
        raise InvalidInput(
            f"{place}{'.' + where if where else ''}: not a valid JSON Schema: {exc.message[:200]}", field=place
        ) from None
    for where, ref in _refs(schema, place):
        if not ref.startswith("#"):
            raise InvalidInput(f"{where}: only local $refs (#/$defs/...) are allowed, not {ref[:80]!r}", field=place)
    for where, pattern in _patterns(schema, place):
        try:
            _re2(pattern)
        except re2.error:
            raise InvalidInput(
                f"{where}: {pattern[:80]!r} is not a regex RE2 runs (no look-around or backreferences)", field=place
            ) from None


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[SchemaViolation]:
    if validator.is_type(instance, "string") and _re2(pattern).search(instance) is None:
        yield SchemaViolation(f"does not match the pattern {pattern[:80]!r}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _re2(pattern).search(key) is not None:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(validator: Any, extra: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    patterns = [_re2(p) for p in schema.get("patternProperties", {})]
    extras = [k for k in instance if k not in known and not any(p.search(k) is not None for p in patterns)]
    if validator.is_type(extra, "object"):
        for key in extras:
            yield from validator.descend(instance[key], extra, path=key)
    elif extra is False and extras:
        yield SchemaViolation(f"unexpected argument(s): {', '.join(sorted(extras))[:200]}")


_Validator = validators.extend(  # type: ignore[no-untyped-call]
    Draft202012Validator,
    {"pattern": _pattern, "patternProperties": _pattern_properties, "additionalProperties": _additional_properties},
)


def argument_errors(schema: dict[str, Any], arguments: Mapping[str, Any]) -> list[str]:
    """What is wrong with `arguments` for `schema`, as "path: problem" lines (at most ERRORS_SHOWN)."""
    if len(json.dumps(arguments, default=str)) > ARGUMENTS_JSON_MAX:
        return [f"arguments: over {ARGUMENTS_JSON_MAX} characters of JSON"]
    found = []
    try:
        for error in _Validator(schema).iter_errors(dict(arguments)):
            where = ".".join(str(p) for p in error.absolute_path) or "arguments"
            found.append(f"{where}: {error.message[:200]}")
            if len(found) == ERRORS_SHOWN:
                break
    except Unresolvable:
        return ["schema: a $ref in the tool's schema cannot be resolved; fix the schema with update_agent_tool"]
    except RecursionError:
        return ["schema: the tool's schema refers to itself without end; fix it with update_agent_tool"]
    return sorted(found)


def secret_refs(headers: Mapping[str, str]) -> set[str]:
    return {match.group(1) for value in headers.values() for match in _SECRET_REF.finditer(value)}


def _text(value: Any) -> str:
    return json.dumps(value) if isinstance(value, bool | dict | list) or value is None else str(value)


def render_request(tool: HttpTool, arguments: Mapping[str, Any]) -> dict[str, Any]:
    """The request a call would make: URL template filled, query or JSON body, headers with secrets masked.

    Arguments named in `sensitive_arguments` show as "[redacted]"; a `{{secret:NAME}}` shows as
    "[secret NAME]" (a dry run never reads a secret's value).
    """
    shown = {k: "[redacted]" if k in tool.sensitive_arguments else v for k, v in arguments.items()}
    used: set[str] = set()

    def fill(match: Any) -> str:
        name = match.group(1)
        if name not in shown:
            return str(match.group(0))
        used.add(name)
        return quote(_text(shown[name]), safe="")

    url = _PLACEHOLDER.sub(fill, tool.url)
    rest = {k: v for k, v in shown.items() if k not in used}
    request: dict[str, Any] = {"method": tool.method.value}
    if tool.method.value in ("GET", "DELETE"):
        if rest:
            url += ("&" if "?" in url else "?") + urlencode({k: _text(v) for k, v in rest.items()})
    else:
        request["json"] = rest
    request["url"] = url
    request["headers"] = {
        name: _SECRET_REF.sub(lambda m: f"[secret {m.group(1)}]", value) for name, value in tool.headers.items()
    }
    return request
