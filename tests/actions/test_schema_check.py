"""Tool schemas are checked at save (naming the place), and arguments are checked on RE2 within a budget."""

from __future__ import annotations

from typing import Any

import pytest

from oratio.actions.schema_check import REQUEST_BODY_MARKER, ArgumentValidator, check_http_tool, check_tool_schema
from oratio.errors import InvalidInput
from schemas import HttpTool
from schemas.tools import ARGUMENTS_JSON_MAX

ORDER = {
    "type": "object",
    "properties": {
        "order_id": {"type": "string", "pattern": "^[A-Z][0-9]{3}$"},
        "when": {"type": "string", "format": "date"},
        "quantity": {"type": "integer", "minimum": 1},
    },
    "required": ["order_id"],
    "additionalProperties": False,
}


def refusal(schema: Any) -> str:
    with pytest.raises(InvalidInput) as caught:
        check_tool_schema(schema, "tools[0].parameters")
    return caught.value.message


def test_a_plain_tool_schema_with_local_refs_passes() -> None:
    check_tool_schema(ORDER, "tools[0].parameters")
    check_tool_schema(
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {"reason": {"enum": ["damaged", "late"]}},
            "properties": {"reason": {"$ref": "#/$defs/reason"}},
            "patternProperties": {"^x_[a-z]+$": {"type": "string"}},
        },
        "tools[0].parameters",
    )


@pytest.mark.parametrize(
    ("schema", "place", "why"),
    [
        (
            {"type": "object", "properties": {"order_id": {"type": "string", "pattern": "(a)\\1"}}},
            "tools[0].parameters.properties.order_id.pattern",
            "not a linear-time (RE2) regex",
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string", "pattern": "^(?=admin).*"}}},
            "tools[0].parameters.properties.a.pattern",
            "not a linear-time (RE2) regex",
        ),
        (
            {"type": "object", "patternProperties": {"(?<=x)y": {}}},
            "tools[0].parameters.patternProperties['(?<=x)y']",
            "not a linear-time (RE2) regex",
        ),
        ({"type": "objekt"}, "tools[0].parameters.type", "not valid JSON Schema (draft 2020-12)"),
        (
            {"type": "object", "properties": {"n": {"type": "integer", "minimum": "one"}}},
            "tools[0].parameters.properties.n.minimum",
            "not valid JSON Schema",
        ),
        (
            {"type": "object", "properties": {"a": {"$ref": "https://evil.example/schema.json"}}},
            "tools[0].parameters.properties.a.$ref",
            "only local references",
        ),
        ({"type": "object", "$id": "https://evil.example/root"}, "tools[0].parameters.$id", "never fetched"),
        (
            {"type": "object", "$schema": "http://json-schema.org/draft-04/schema#"},
            "tools[0].parameters.$schema",
            "only draft 2020-12",
        ),
        (
            {"type": "object", "unevaluatedProperties": False},
            "tools[0].parameters.unevaluatedProperties",
            "use additionalProperties",
        ),
    ],
)
def test_a_bad_schema_is_refused_naming_the_place(schema: dict[str, Any], place: str, why: str) -> None:
    message = refusal(schema)
    assert message.startswith(place + ":") and why in message


def test_a_property_named_like_a_keyword_is_not_mistaken_for_one() -> None:
    """`properties.pattern` is a property called "pattern" (a schema), not a regex."""
    check_tool_schema(
        {"type": "object", "properties": {"pattern": {"type": "string"}, "patternProperties": {"type": "object"}}},
        "p",
    )


def test_arguments_get_errors_the_model_can_act_on() -> None:
    errors = ArgumentValidator().errors(ORDER, {"order_id": "abc", "when": "2026-13-45", "quantity": 0, "x": 1})
    assert "order_id: 'abc' does not match ^[A-Z][0-9]{3}$" in errors
    assert "when: '2026-13-45' is not a 'date'" in errors
    assert any(e.startswith("quantity: 0 is less than the minimum of 1") for e in errors)
    assert errors[0].startswith("unexpected arguments: 'x'")
    assert ArgumentValidator().errors(ORDER, {}) == ["'order_id' is a required property"]
    assert ArgumentValidator().errors(ORDER, {"order_id": "A123", "when": "2026-12-03", "quantity": 2}) == []


def test_a_backtracking_pattern_runs_in_linear_time_on_re2() -> None:
    """On Python's `re`, `(a+)+$` against 60 a's and a "!" would not finish in this test's lifetime."""
    schema: dict[str, Any] = {"type": "object", "properties": {"s": {"type": "string", "pattern": "(a+)+$"}}}
    errors = ArgumentValidator().errors(schema, {"s": "a" * 60 + "!"})
    assert len(errors) == 1 and errors[0].startswith("s: 'aaa") and errors[0].endswith("does not match (a+)+$")
    schema = {"type": "object", "patternProperties": {"(a+)+$": {"type": "integer"}}, "additionalProperties": False}
    [error] = ArgumentValidator().errors(schema, {"a" * 60 + "!": 1})
    assert error.startswith("unexpected properties: 'aaa")


def test_a_schema_whose_references_multiply_is_cut_by_the_budget() -> None:
    defs: dict[str, Any] = {f"d{i}": {"allOf": [{"$ref": f"#/$defs/d{i + 1}"}] * 2} for i in range(40)}
    defs["d40"] = {"type": "string"}
    schema = {"type": "object", "$defs": defs, "properties": {"a": {"$ref": "#/$defs/d0"}}}
    check_tool_schema(schema, "p")  # valid, just expensive: 2**40 checks unbounded
    [error] = ArgumentValidator().errors(schema, {"a": "x"})
    assert "too complex" in error


def test_a_self_referencing_schema_is_an_error_not_a_crash() -> None:
    schema = {"type": "object", "$defs": {"a": {"$ref": "#/$defs/a"}}, "properties": {"x": {"$ref": "#/$defs/a"}}}
    [error] = ArgumentValidator().errors(schema, {"x": 1})
    assert "too complex" in error


def test_oversized_deep_or_non_object_arguments_are_refused() -> None:
    validator = ArgumentValidator()
    [big] = validator.errors(ORDER, {"order_id": "x" * ARGUMENTS_JSON_MAX})
    assert f"at most {ARGUMENTS_JSON_MAX}" in big
    deep: dict[str, Any] = {}
    for _ in range(40):
        deep = {"d": deep}
    assert "deeper than" in validator.errors({"type": "object"}, {"d": deep})[0]
    assert validator.errors(ORDER, ["A123"]) == ["the arguments must be a JSON object"]


def test_a_stored_schema_that_fails_the_check_refuses_every_call_saying_why() -> None:
    errors = ArgumentValidator().errors({"type": "object", "properties": {"a": {"pattern": "(?!x)"}}}, {"a": "y"})
    assert errors[0].startswith("the tool cannot be called:") and "RE2" in errors[0]


def test_remote_formats_are_annotations_and_the_validator_cache_is_bounded() -> None:
    validator = ArgumentValidator(cache_size=2)
    for i in range(5):
        schema = {"type": "object", "properties": {"u": {"type": "string", "format": "uri", "maxLength": 10 + i}}}
        assert validator.errors(schema, {"u": "not a uri"}) == []
    assert len(validator._cache) == 2


def test_an_http_tool_is_checked_whole_naming_the_place() -> None:
    tool = HttpTool(
        name="lookup_order",
        description="Look up an order by its id",
        url="https://orders.example.com/orders/{order_id}/lines/{line}",
        parameters={"type": "object", "properties": {"order_id": {"type": "string"}}},
    )
    with pytest.raises(InvalidInput, match=r"^tools\[2\]\.url: the placeholder \{line\} is not an argument"):
        check_http_tool(tool, "tools[2]")
    bad_answer = tool.model_copy(
        update={"url": "https://orders.example.com/orders/{order_id}", "response_schema": {"pattern": "(?=x)"}}
    )
    with pytest.raises(InvalidInput, match=r"^tools\[2\]\.response_schema\.pattern: not a linear-time"):
        check_http_tool(bad_answer, "tools[2]")
    check_http_tool(bad_answer.model_copy(update={"response_schema": None}), "tools[2]")


@pytest.mark.parametrize("marker", ["nope", "order_id", 3])
def test_the_request_body_marker_must_name_an_argument_that_is_not_in_the_url(marker: object) -> None:
    tool = HttpTool(
        name="add_lines",
        description="Add lines to an order",
        method="PUT",
        url="https://orders.example.com/orders/{order_id}/lines",
        parameters={
            "type": "object",
            "properties": {"order_id": {"type": "string"}, "body": {"type": "array"}},
            REQUEST_BODY_MARKER: marker,
        },
    )
    with pytest.raises(InvalidInput, match=r"^tools\[1\]\.parameters\.x-oratio-request-body: must name an argument"):
        check_http_tool(tool, "tools[1]")
    fine = tool.parameters | {REQUEST_BODY_MARKER: "body"}
    check_http_tool(tool.model_copy(update={"parameters": fine}), "tools[1]")


def test_a_local_ref_must_point_inside_the_schema() -> None:
    schema = {"type": "object", "$defs": {"id": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/nope"}}}
    with pytest.raises(InvalidInput, match=r"^p\.properties\.a\.\$ref: '#/\$defs/nope' does not point at anything"):
        check_tool_schema(schema, "p")
    check_tool_schema(schema | {"properties": {"a": {"$ref": "#/$defs/id"}}}, "p")
    stored = ArgumentValidator().errors(schema, {"a": "x"})  # a tool stored before the check fails closed
    assert stored == [
        "the tool cannot be called: the tool's schema.properties.a.$ref: '#/$defs/nope' does not point at anything "
        "in this schema"
    ]
