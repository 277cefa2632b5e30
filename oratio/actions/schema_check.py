"""Checking an admin's tool schemas, and a model's arguments against them, in bounded time.

A tool's JSON Schema is written by a tenant (or imported from their OpenAPI document or MCP server)
and then applied to what a model sends on every call. Three things make that unsafe with a stock
validator, and each is closed here:

* `pattern` and `patternProperties` are tenant regexes; jsonschema runs them on Python's
  backtracking `re`, so `(a+)+$` and a 40-character argument would hold the GIL for minutes. Every
  pattern must compile on RE2 (refused at save, naming the path), and validation matches them on RE2
  (`jsonschema.validators.extend` replaces the four keywords that search with `re`).
* `$ref`, `$id` and `$schema` can point at the network, and jsonschema by default fetches remote
  references. Only local references (`#...`) are accepted, `$id` is refused, and validators use an
  empty `referencing.Registry` that cannot retrieve anything.
* Local references can still blow up (`allOf` of two references to a definition that is itself
  `allOf` of two...). Every keyword application spends one unit of a per-call budget; a call over
  the budget gets a clear "too complex" answer instead of a stalled turn.

`format` is checked for a small safe set (date, date-time, time, email, uuid, ipv4, ipv6); other
formats are annotations, as the 2020-12 specification allows.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from functools import lru_cache
from itertools import islice
from typing import Any, Final

from jsonschema import Draft202012Validator, FormatChecker, ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import extend
from referencing import Registry
from referencing.exceptions import Unresolvable
from referencing.jsonschema import DRAFT202012

from oratio.errors import InvalidInput
from oratio.http_json import json_depth
from oratio.redaction import is_secret_name
from oratio.tenant_patterns import PatternError, TenantRegex, compile_on_re2
from schemas import HttpTool
from schemas.tools import ARGUMENTS_JSON_MAX, SECRET_REF_PATTERN

VALIDATION_BUDGET: Final = 5_000
"""Keyword applications one validation may spend (a plain tool schema spends tens)."""
ARGUMENTS_DEPTH_MAX: Final = 32
ERRORS_SHOWN: Final = 5
DRAFT_2020_12: Final = frozenset(
    {"https://json-schema.org/draft/2020-12/schema", "https://json-schema.org/draft/2020-12/schema#"}
)
SAFE_FORMATS: Final = ("date", "date-time", "time", "email", "uuid", "ipv4", "ipv6")

URL_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,63})\}")
"""A URL template's placeholder (`oratio.actions.http_tool` fills them)."""
REQUEST_BODY_MARKER: Final = "x-oratio-request-body"
"""On an arguments schema: the name of the one argument whose value is the whole JSON request body
(the OpenAPI import sets it to "body" for an array body or one whose fields clash with parameters)."""
SUBSCHEMA_MAPS: Final = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
"""Keywords whose value maps names to subschemas (the schema walks here and in `openapi` use these)."""
SUBSCHEMA_ONE: Final = (
    "additionalProperties",
    "items",
    "contains",
    "not",
    "if",
    "then",
    "else",
    "propertyNames",
    "unevaluatedItems",
    "unevaluatedProperties",
)
"""Keywords whose value is one subschema."""
SUBSCHEMA_LISTS: Final = ("allOf", "anyOf", "oneOf", "prefixItems")
"""Keywords whose value is a list of subschemas."""


class _OverBudget(Exception):
    """Raised inside jsonschema's generators when a validation spent its budget."""


_budget: ContextVar[list[int] | None] = ContextVar("oratio_schema_budget", default=None)


@lru_cache(maxsize=2048)
def compile_re2(pattern: str) -> TenantRegex:
    """A schema `pattern` on RE2 (case-sensitive, unanchored search as JSON Schema wants). Raises ValueError."""
    try:
        return compile_on_re2(pattern, case_sensitive=True)
    except PatternError as exc:
        raise ValueError(
            f"not a linear-time (RE2) regex: {exc.reason}; look-around and backreferences are not supported"
        ) from None


def _at(where: str, path: Iterator[Any] | list[Any] | tuple[Any, ...]) -> str:
    parts = [str(p) for p in path]
    return ".".join([where, *parts]) if where else ".".join(parts)


def check_tool_schema(schema: Any, where: str) -> None:
    """Refuse a schema that is not valid draft 2020-12, has a non-RE2 pattern, or reaches outside itself.

    `where` names the schema in the caller's terms ("tools[0].parameters"); the error names the place
    inside it ("tools[0].parameters.properties.order_id.pattern: not a linear-time (RE2) regex: ...").
    """
    if not isinstance(schema, dict | bool):
        raise InvalidInput(f"{where}: a JSON Schema must be an object", field=where)
    meta = Draft202012Validator(Draft202012Validator.META_SCHEMA, registry=Registry())
    problem = best_match(meta.iter_errors(schema))
    if problem is not None:
        place = _at(where, problem.absolute_path)
        raise InvalidInput(f"{place}: not valid JSON Schema (draft 2020-12): {problem.message[:300]}", field=where)
    resolver = Registry().with_resource(_ROOT, DRAFT202012.create_resource(schema)).resolver(_ROOT)
    stack: list[tuple[Any, tuple[Any, ...]]] = [(schema, ())]
    while stack:
        node, path = stack.pop()
        if not isinstance(node, dict):
            continue  # true/false are schemas too
        _check_node(node, path, where)
        _check_refs(node, path, where, resolver)
        for key in SUBSCHEMA_MAPS:
            children = node.get(key)
            if isinstance(children, dict):
                stack.extend((child, (*path, key, name)) for name, child in children.items())
        for key in SUBSCHEMA_ONE:
            if key in node:
                stack.append((node[key], (*path, key)))
        for key in SUBSCHEMA_LISTS:
            children = node.get(key)
            if isinstance(children, list):
                stack.extend((child, (*path, key, i)) for i, child in enumerate(children))


_ROOT: Final = "urn:oratio:tool-schema"


def _check_refs(node: dict[str, Any], path: tuple[Any, ...], where: str, resolver: Any) -> None:
    """A local reference must point at something in the schema: a broken one is refused at save,
    not found by the first customer whose call the validator cannot check."""
    for key in ("$ref", "$dynamicRef"):
        ref = node.get(key)
        if isinstance(ref, str) and ref.startswith("#"):
            try:
                resolver.lookup(ref)
            except Unresolvable:
                raise InvalidInput(
                    f"{_at(where, (*path, key))}: {ref[:100]!r} does not point at anything in this schema",
                    field=where,
                ) from None


def _check_node(node: dict[str, Any], path: tuple[Any, ...], where: str) -> None:
    def refuse(key: Any, why: str) -> InvalidInput:
        return InvalidInput(f"{_at(where, (*path, key))}: {why}", field=where)

    for key in ("$ref", "$dynamicRef"):
        ref = node.get(key)
        if isinstance(ref, str) and not ref.startswith("#"):
            raise refuse(key, f"only local references ('#/$defs/...') are allowed, not {ref[:100]!r}")
    if "$id" in node:
        raise refuse("$id", "$id is not supported: schemas are never fetched; use local '#/$defs/...' references")
    dialect = node.get("$schema")
    if dialect is not None and dialect not in DRAFT_2020_12:
        raise refuse("$schema", "only draft 2020-12 is supported; remove $schema or use its 2020-12 URI")
    if "unevaluatedProperties" in node:
        raise refuse("unevaluatedProperties", "not supported; use additionalProperties")
    pattern = node.get("pattern")
    if isinstance(pattern, str):
        try:
            compile_re2(pattern)
        except ValueError as exc:
            raise refuse("pattern", str(exc)) from None
    patterns = node.get("patternProperties")
    if isinstance(patterns, dict):
        for key in patterns:
            try:
                compile_re2(key)
            except ValueError as exc:
                raise InvalidInput(
                    f"{_at(where, (*path, 'patternProperties'))}[{key[:60]!r}]: {exc}", field=where
                ) from None


def check_http_tool(tool: HttpTool, where: str) -> None:
    """An HTTP tool's schemas, and every URL placeholder an argument the schema declares."""
    check_tool_schema(tool.parameters, f"{where}.parameters")
    if tool.response_schema is not None:
        check_tool_schema(tool.response_schema, f"{where}.response_schema")
    declared = tool.parameters.get("properties", {})
    placeholders = URL_PLACEHOLDER.findall(tool.url)
    for name in placeholders:
        if name not in declared:
            raise InvalidInput(
                f"{where}.url: the placeholder {{{name}}} is not an argument in parameters.properties",
                field=f"{where}.url",
            )
    for header, value in tool.headers.items():
        _check_secret_refs(value, f"{where}.headers.{header}")
        if is_secret_name(header) and _REF.search(value) is None and value.strip():
            # A pasted token would sit in the spec, the plan and every tool listing in clear text.
            raise InvalidInput(
                f"{where}.headers.{header}: a credential goes in a secret, not in the tool: store it with "
                "set_secret (e.g. ORDERS_API_TOKEN) and write the value as 'Bearer {{secret:ORDERS_API_TOKEN}}'",
                field=f"{where}.headers.{header}",
            )
    body = tool.parameters.get(REQUEST_BODY_MARKER)
    if body is not None and (not isinstance(body, str) or body not in declared or body in placeholders):
        raise InvalidInput(
            f"{where}.parameters.{REQUEST_BODY_MARKER}: must name an argument in parameters.properties "
            "that is not a URL placeholder (its value is sent as the whole request body)",
            field=f"{where}.parameters",
        )


_REF_OPENING = re.compile(r"\{\{")
_REF = re.compile(SECRET_REF_PATTERN)


def _check_secret_refs(value: str, where: str) -> None:
    """Every `{{` in a header value opens a well-formed `{{secret:NAME}}`.

    A near miss (`{{secret:api_key}}`, `{{ secret:KEY }}`, `{{secrets:KEY}}`) is not resolved at call
    time: it would be sent as literal text, the endpoint would answer 401 and the admin would not know
    why. Refused when the tool is saved, naming the header and the expected form.
    """
    for opening in _REF_OPENING.finditer(value):
        if _REF.match(value, opening.start()) is None:
            raise InvalidInput(
                f"{where}: '{{{{' at character {opening.start()} does not open a secret reference; write "
                "{{secret:NAME}} with NAME in capitals, digits and _ (as set_secret stores it)",
                field=where,
            )


# -- validation ---------------------------------------------------------------------------------


def _spend() -> None:
    budget = _budget.get()
    if budget is not None:
        budget[0] -= 1
        if budget[0] < 0:
            raise _OverBudget


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and compile_re2(pattern).search(instance) is None:
        yield ValidationError(f"{_short(instance)} does not match {pattern}")


def _pattern_properties(validator: Any, patterns: dict[str, Any], instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        regex = compile_re2(pattern)
        for key, value in instance.items():
            if regex.search(key) is not None:
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    properties = schema.get("properties", {})
    regexes = [compile_re2(p) for p in schema.get("patternProperties", {})]
    return [key for key in instance if key not in properties and not any(r.search(key) is not None for r in regexes)]


def _additional_properties(validator: Any, allowed: Any, instance: Any, schema: Any) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    extras = _additional(instance, schema)
    if validator.is_type(allowed, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], allowed, path=extra)
    elif not allowed and extras:
        names = ", ".join(_short(e, 40) for e in sorted(extras)[:10])
        yield ValidationError(f"unexpected properties: {names} (the tool does not take them)")


def _unevaluated_properties(validator: Any, value: Any, instance: Any, schema: Any) -> Iterator[Any]:
    # Refused by check_tool_schema; a schema stored before that check fails closed.
    yield ValidationError("the tool's schema uses unevaluatedProperties, which is not supported")


def _counted(keyword: Any) -> Any:
    def apply(validator: Any, value: Any, instance: Any, schema: Any) -> Any:
        _spend()
        return keyword(validator, value, instance, schema)

    return apply


_OVERRIDES = {
    "pattern": _pattern,
    "patternProperties": _pattern_properties,
    "additionalProperties": _additional_properties,
    "unevaluatedProperties": _unevaluated_properties,
}
_ToolValidator: Any = extend(  # type: ignore[no-untyped-call]  # jsonschema ships no type hints
    Draft202012Validator,
    validators={name: _counted(_OVERRIDES.get(name, fn)) for name, fn in Draft202012Validator.VALIDATORS.items()},
)
_FORMATS = FormatChecker(formats=SAFE_FORMATS)


def _format_error(error: ValidationError) -> str:
    path = ".".join(str(p) for p in error.absolute_path)
    message = error.message if len(error.message) <= 300 else error.message[:297] + "..."
    return f"{path}: {message}" if path else message


def undeclared_arguments(schema: Any, arguments: Mapping[str, Any]) -> list[str]:
    """Top-level argument names the schema does not declare, sorted; empty when it allows more.

    Why: a JSON Schema object is open by default, so a model (or a prompt injection steering it) could
    add `"role": "admin"` to any call and the HTTP runner would send it as a query or body field - mass
    assignment, on read tools that need no confirmation. Arguments are therefore closed unless the
    admin opens them on purpose: `additionalProperties` present and not false, or `patternProperties`.
    Declared means in `properties` at the top, or in the `properties` of a top-level `allOf`/`anyOf`/
    `oneOf` branch (a composed schema still declares its fields). Not a `_ToolValidator` keyword: the
    rule is about tool arguments, not about every schema (a response schema stays standard).
    """
    if not isinstance(schema, dict):
        return []  # `true` allows anything explicitly; `false` refuses everything through validation
    extra = schema.get("additionalProperties")
    if ("additionalProperties" in schema and extra is not False) or "patternProperties" in schema:
        return []
    declared: set[str] = set()
    for node in [schema, *_branches(schema)]:
        properties = node.get("properties") if isinstance(node, dict) else None
        if isinstance(properties, dict):
            declared.update(properties)
    return sorted(name for name in arguments if name not in declared)


def _branches(schema: Mapping[str, Any]) -> list[Any]:
    found: list[Any] = []
    for key in ("allOf", "anyOf", "oneOf"):
        branches = schema.get(key)
        if isinstance(branches, list):
            found.extend(branches)
    return found


class ArgumentValidator:
    """Validates a call's arguments against its tool's schema; compiled validators cached by schema hash.

    `errors` returns readable problems the model can act on ("order_id: 'abc' does not match ^A[0-9]+$"),
    an empty list when the arguments are valid. Arguments the schema does not declare are refused (see
    `undeclared_arguments`). Thread-safe; the cache holds at most `cache_size` schemas.
    """

    def __init__(self, *, cache_size: int = 512, budget: int = VALIDATION_BUDGET) -> None:
        self._cache: OrderedDict[str, Any] = OrderedDict()
        self._cache_size = cache_size
        self._budget = budget
        self._lock = threading.Lock()

    def _validator(self, schema: dict[str, Any]) -> Any:
        key = hashlib.sha256(json.dumps(schema, sort_keys=True, default=str).encode()).hexdigest()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return cached
        try:
            check_tool_schema(schema, "the tool's schema")
            compiled: Any = _ToolValidator(schema, registry=Registry(), format_checker=_FORMATS)
        except InvalidInput as exc:
            compiled = exc  # a plan stored before schemas were checked: every call is refused, saying why
        with self._lock:
            self._cache[key] = compiled
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return compiled

    def errors(self, schema: dict[str, Any], arguments: Any) -> list[str]:
        if not isinstance(arguments, dict):
            return ["the arguments must be a JSON object"]
        if json_depth(arguments, stop_after=ARGUMENTS_DEPTH_MAX) > ARGUMENTS_DEPTH_MAX:
            return [f"the arguments nest deeper than {ARGUMENTS_DEPTH_MAX} levels"]
        try:
            size = len(json.dumps(arguments, separators=(",", ":"), ensure_ascii=False))
        except (TypeError, ValueError):
            return ["the arguments must be plain JSON values"]
        if size > ARGUMENTS_JSON_MAX:
            return [f"the arguments are {size} characters of JSON; at most {ARGUMENTS_JSON_MAX} are accepted"]
        stored = self._validator(schema)
        if isinstance(stored, InvalidInput):  # the schema itself is the problem: say that, not the arguments
            return [f"the tool cannot be called: {stored.message}"]
        undeclared = undeclared_arguments(schema, arguments)
        if not undeclared:
            return self.value_errors(schema, arguments)
        names = ", ".join(_short(name, 40) for name in undeclared[:10])
        more = f" (and {len(undeclared) - 10} more)" if len(undeclared) > 10 else ""
        refused = (
            f"unexpected arguments: {names}{more}; the tool takes only the arguments its schema declares "
            "(retry without them)"
        )
        # The rest is still checked, so one retry can fix everything; the undeclared names are left out
        # of that check so a closed schema does not report them twice.
        unknown = set(undeclared)
        declared_only = {name: value for name, value in arguments.items() if name not in unknown}
        return [refused, *self.value_errors(schema, declared_only)][:ERRORS_SHOWN]

    def value_errors(self, schema: dict[str, Any], value: Any) -> list[str]:
        """Problems of any already-bounded JSON value (a tool's answer) under `schema`, within the budget."""
        validator = self._validator(schema)
        if isinstance(validator, InvalidInput):
            return [f"the tool cannot be called: {validator.message}"]
        token = _budget.set([self._budget])
        try:
            found = list(islice(validator.iter_errors(value), ERRORS_SHOWN))
        except (_OverBudget, RecursionError):
            return ["too complex to check against the tool's schema within the platform's limits; simplify it"]
        finally:
            _budget.reset(token)
        return [_format_error(e) for e in sorted(found, key=lambda e: [str(p) for p in e.absolute_path])]


__all__ = [
    "REQUEST_BODY_MARKER",
    "SAFE_FORMATS",
    "SUBSCHEMA_LISTS",
    "SUBSCHEMA_MAPS",
    "SUBSCHEMA_ONE",
    "URL_PLACEHOLDER",
    "VALIDATION_BUDGET",
    "ArgumentValidator",
    "check_http_tool",
    "check_tool_schema",
    "compile_re2",
    "undeclared_arguments",
]
