"""Hypothesis strategies from JSON schemas (MCP tools' inputSchema, pydantic models), bent toward trouble.

`hypothesis-jsonschema` would be the obvious tool, but its last release (0.23.1) fails on this
Hypothesis (6.170: `'many' object has no attribute 'more'`), so this is the small subset Oratio's
schemas use: `$ref` into `$defs`, `anyOf`, `enum`/`const`, objects, arrays, strings (with
`pattern`, lengths and `date-time`), integers, numbers, booleans and null.

Two flavours: `valid=True` gives values the schema accepts, with ids of records that exist (`ids`,
matched to the field by prefix: `agent_id` gets `agt_...`), which is what reaches deep into a
handler; the default bends them toward trouble: values at and one past every limit, missing and
unknown fields, and now and then any JSON value at all in place of the one the schema asks for.
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


def from_schema(schema: dict[str, Any], *, ids: Sequence[str] = (), valid: bool = False) -> st.SearchStrategy[Any]:
    """Values for `schema`: accepted ones (`valid`), or bent toward trouble (see the module docstring)."""
    return _Schema(schema.get("$defs", {}), ids, valid).node(schema, name="")


ID_PREFIXES = {
    "agent_id": "agt_",
    "document_id": "doc_",
    "key_id": "key_",
    "session_id": "ses_",
    "notification_id": "ntf_",
}


class _Schema:
    def __init__(self, defs: dict[str, Any], ids: Sequence[str], valid: bool) -> None:
        self.defs = defs
        self.ids = ids
        self.valid = valid

    def node(self, schema: dict[str, Any], name: str) -> st.SearchStrategy[Any]:
        if "$ref" in schema:
            return self.node(self.defs[schema["$ref"].rsplit("/", 1)[-1]], name)
        options: list[dict[str, Any]] = schema.get("anyOf") or schema.get("oneOf") or []
        if options:
            return st.one_of([self.node(option, name) for option in options])
        if "const" in schema:
            return st.just(schema["const"])
        if "enum" in schema:
            enum = st.sampled_from(schema["enum"])
            return enum if self.valid else enum | st.text(max_size=12)
        kind = schema.get("type")
        if kind == "object":
            return self.object(schema)
        if kind == "array":
            items = self.node(schema.get("items", {}), name)
            low = schema.get("minItems", 0)
            high = min(schema.get("maxItems", 4), max(low, 3 if self.valid else 4))
            return st.lists(items if self.valid else mostly(items), min_size=low, max_size=high)
        if kind == "string":
            return self.string(schema, name)
        if kind == "integer":
            return _integer(schema, self.valid)

        if kind == "number":
            return st.floats(
                min_value=schema.get("minimum"), max_value=schema.get("maximum"), allow_nan=False, allow_infinity=False
            )
        if kind == "boolean":
            return st.booleans()
        if kind == "null":
            return st.none()
        return garbage

    def object(self, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
        properties: dict[str, Any] = schema.get("properties", {})
        required = set(schema.get("required", ()))
        fields = {key: self.node(sub, key) for key, sub in properties.items()}
        if not self.valid:
            fields = {key: mostly(value) for key, value in fields.items()}
        whole = st.fixed_dictionaries(
            {key: value for key, value in fields.items() if key in required},
            optional={key: value for key, value in fields.items() if key not in required},
        )
        if self.valid:
            return whole
        # Now and then a required field goes missing or an unknown one comes along.
        broken = whole.flatmap(
            lambda d: (
                st.sampled_from(sorted(d) or [""]).map(lambda k: {x: v for x, v in d.items() if x != k})
                | st.dictionaries(st.text(min_size=1, max_size=10), garbage, max_size=2).map(
                    lambda extra: {**extra, **d}
                )
            )
        )
        return mostly(whole, odds=6) | broken

    def string(self, schema: dict[str, Any], name: str) -> st.SearchStrategy[str]:
        low = schema.get("minLength", 0)
        high = schema.get("maxLength")
        if schema.get("format") == "date-time":
            zones = st.sampled_from([UTC, timezone(timedelta(hours=-7)), timezone(timedelta(hours=5, minutes=30))])
            aware = st.datetimes(timezones=zones).map(lambda moment: moment.isoformat())
            if self.valid:
                return aware
            return aware | st.datetimes().map(lambda moment: moment.isoformat()) | st.text(max_size=30)
        top = min(high if high is not None else LONGEST_GENERATED, LONGEST_GENERATED)
        if "pattern" in schema:
            shaped = st.from_regex(schema["pattern"], fullmatch=True).filter(lambda s: low <= len(s) <= top)
        else:
            shaped = st.text(min_size=min(low, top), max_size=max(top, min(low, top)))
        known = [i for i in self.ids if name in ID_PREFIXES and i.startswith(ID_PREFIXES[name])]
        if self.valid:
            return st.sampled_from(known) | shaped if known else shaped
        options = [shaped, st.text(max_size=20)]
        if known:
            options.insert(0, st.sampled_from(known))
        if high is not None and high <= LONGEST_BOUNDARY:
            options.append(st.sampled_from(["x" * high, "x" * (high + 1)]))
        if low > 0:
            options.append(st.just("x" * (low - 1)))
        return st.one_of(options)


def _integer(schema: dict[str, Any], valid: bool) -> st.SearchStrategy[int]:
    low, high = schema.get("minimum"), schema.get("maximum")
    inside = st.integers(min_value=low, max_value=high)
    if valid:
        return inside
    edges = [edge for edge in (low, high) if edge is not None]
    outside = [low - 1] if low is not None else []
    outside += [high + 1] if high is not None else []
    return inside | st.sampled_from([*edges, *outside, 0, -1, 2**63])
