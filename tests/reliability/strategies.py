"""Hypothesis strategies from JSON schemas (MCP tools' inputSchema, pydantic models), bent toward trouble.

`hypothesis-jsonschema` would be the obvious tool, but its last release (0.23.1) fails on this
Hypothesis (6.170: `'many' object has no attribute 'more'`), so this is the small subset Oratio's
schemas use: `$ref` into `$defs`, `anyOf`, `enum`/`const`, objects, arrays, strings (with
`pattern`, lengths and `date-time`), integers, numbers, booleans and null.

What comes out is mostly almost-valid, which is what reaches deep into a handler: values at and one
past every limit, ids of records that exist (`ids`), and now and then any JSON value at all in
place of the one the schema asks for (`garbage`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

LONGEST_GENERATED = 300
"""Generated strings stay short; limits are probed with exact boundary values instead."""
LONGEST_BOUNDARY = 200_000
"""Boundary strings past this (a 25 MiB document) cost more than they find; the limit tests cover them."""

garbage: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=10,
)
"""Any JSON value."""


def mostly(valid: st.SearchStrategy[Any], odds: int = 8) -> st.SearchStrategy[Any]:
    """`valid` about `odds` times in `odds + 1`, else any JSON value."""
    return st.integers(min_value=0, max_value=odds).flatmap(lambda n: valid if n else garbage)


def from_schema(
    schema: dict[str, Any], *, ids: Sequence[str] = (), defs: dict[str, Any] | None = None
) -> st.SearchStrategy[Any]:
    """Values for `schema`: mostly valid or on a limit, sometimes not (see the module docstring)."""
    defs = {**(defs or {}), **schema.get("$defs", {})}
    return _node(schema, defs, ids, name="")


def _node(schema: dict[str, Any], defs: dict[str, Any], ids: Sequence[str], name: str) -> st.SearchStrategy[Any]:
    if "$ref" in schema:
        return _node(defs[schema["$ref"].rsplit("/", 1)[-1]], defs, ids, name)
    options: list[dict[str, Any]] = schema.get("anyOf") or schema.get("oneOf") or []
    if options:
        return st.one_of([_node(option, defs, ids, name) for option in options])
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"]) | st.text(max_size=12)
    kind = schema.get("type")
    if kind == "object":
        return _object(schema, defs, ids)
    if kind == "array":
        items = _node(schema.get("items", {}), defs, ids, name)
        low = schema.get("minItems", 0)
        high = min(schema.get("maxItems", 4), max(low, 4))
        return st.lists(mostly(items), min_size=low, max_size=high)
    if kind == "string":
        return _string(schema, ids, name)
    if kind == "integer":
        return _integer(schema)
    if kind == "number":
        return st.floats(
            min_value=schema.get("minimum"), max_value=schema.get("maximum"), allow_nan=False, allow_infinity=False
        )
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    return garbage


def _object(schema: dict[str, Any], defs: dict[str, Any], ids: Sequence[str]) -> st.SearchStrategy[Any]:
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    fields = {key: mostly(_node(sub, defs, ids, key)) for key, sub in properties.items()}
    valid = st.fixed_dictionaries(
        {key: value for key, value in fields.items() if key in required},
        optional={key: value for key, value in fields.items() if key not in required},
    )
    # Now and then a required field goes missing or an unknown one comes along.
    broken = valid.flatmap(
        lambda d: (
            st.sampled_from(sorted(d) or [""]).map(lambda k: {x: v for x, v in d.items() if x != k})
            | st.dictionaries(st.text(min_size=1, max_size=10), garbage, max_size=2).map(lambda extra: {**extra, **d})
        )
    )
    return mostly(valid, odds=6) | broken


def _string(schema: dict[str, Any], ids: Sequence[str], name: str) -> st.SearchStrategy[str]:
    low = schema.get("minLength", 0)
    high = schema.get("maxLength")
    if schema.get("format") == "date-time":
        zones = st.sampled_from([UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5, minutes=30))])
        aware = st.datetimes(timezones=zones).map(lambda moment: moment.isoformat())
        return aware | st.datetimes().map(lambda moment: moment.isoformat()) | st.text(max_size=30)
    top = min(high if high is not None else LONGEST_GENERATED, LONGEST_GENERATED)
    if "pattern" in schema:
        shaped = st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: low <= len(s) <= top)
    else:
        shaped = st.text(min_size=min(low, top), max_size=max(top, min(low, top)))
    options = [shaped, st.text(max_size=20)]
    if ids and name.endswith("_id"):
        options.insert(0, st.sampled_from(list(ids)))
    if high is not None and high <= LONGEST_BOUNDARY:
        options.append(st.sampled_from(["x" * high, "x" * (high + 1)]))
    if low > 0:
        options.append(st.just("x" * (low - 1)))
    return st.one_of(options)


def _integer(schema: dict[str, Any]) -> st.SearchStrategy[int]:
    low, high = schema.get("minimum"), schema.get("maximum")
    inside = st.integers(min_value=low, max_value=high)
    edges = [edge for edge in (low, high) if edge is not None]
    outside = [low - 1] if low is not None else []
    outside += [high + 1] if high is not None else []
    return inside | st.sampled_from([*edges, *outside, 0, -1, 2**63])
