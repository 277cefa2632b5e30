"""Hostile OpenAPI documents: bombs, cycles, giants and tags are refused with a clear error, cheaply."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oratio.actions._document import DEPTH_MAX, DOCUMENT_BYTES_MAX, NODES_MAX
from oratio.actions.openapi import SCHEMA_BUDGET, import_operations, list_operations
from oratio.errors import InvalidInput

CORPUS = Path(__file__).parent.parent / "actions" / "openapi_corpus"


def refused(text: str, selection: list[str] | None = None) -> str:
    with pytest.raises(InvalidInput) as caught:
        import_operations(text, selection or ["plantTree"])
    assert "\n" not in caught.value.message and len(caught.value.message) < 300
    return caught.value.message


def spec(**paths: object) -> dict[str, object]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "t", "version": "1"},
        "servers": [{"url": "https://a.example"}],
        **paths,
    }


def test_a_yaml_alias_bomb_is_refused_before_anything_expands() -> None:
    text = (CORPUS / "bomb.yaml").read_text()

    assert refused(text) == "line 3 column 4: YAML anchors (&a) are not accepted; write the value out"
    with pytest.raises(InvalidInput, match="YAML"):
        list_operations(text)


def test_a_yaml_alias_alone_and_merge_keys_are_refused() -> None:
    assert "aliases (*x)" in refused("openapi: 3.1.0\npaths: *x\n")
    assert "anchors" in refused("openapi: 3.1.0\nbase: &b {a: 1}\npaths: {<<: *b}\n")


@pytest.mark.parametrize(
    "tagged",
    [
        "openapi: !!python/object/apply:os.system ['true']\n",
        "openapi: 3.1.0\nblob: !!binary aGVsbG8=\n",
        "openapi: 3.1.0\nitems: !!set {a, b}\n",
        "openapi: !custom 3.1.0\n",
    ],
)
def test_yaml_tags_are_refused(tagged: str) -> None:
    assert "YAML tags" in refused(tagged)


def test_several_yaml_documents_are_refused() -> None:
    assert "one YAML document" in refused("openapi: 3.1.0\n---\nopenapi: 3.0.0\n")


def test_a_cyclic_ref_is_refused_naming_the_place() -> None:
    assert refused((CORPUS / "cyclic.json").read_text()) == (
        "components.schemas.Node.properties.children.items: $ref '#/components/schemas/Node' is cyclic: "
        "a schema that contains itself cannot be a tool's arguments"
    )


def test_a_ref_chain_that_loops_is_refused() -> None:
    document = spec(
        paths={"/t": {"$ref": "#/components/pathItems/A"}},
        components={
            "pathItems": {"A": {"$ref": "#/components/pathItems/B"}, "B": {"$ref": "#/components/pathItems/A"}}
        },
    )
    assert "is cyclic" in refused(json.dumps(document))


def test_refs_that_fan_out_are_cut_at_the_budget() -> None:
    """Ten levels of ten refs each would expand to 10^10 nodes: refused at the size budget, quickly."""
    schemas = {
        f"S{i}": {
            "type": "object",
            "properties": {f"p{j}": {"$ref": f"#/components/schemas/S{i + 1}"} for j in range(10)},
        }
        for i in range(10)
    }
    schemas["S10"] = {"type": "string"}
    body = {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/S0"}}}}
    document = spec(
        paths={"/t": {"post": {"operationId": "plantTree", "summary": "Plant a tree", "requestBody": body}}},
        components={"schemas": schemas},
    )

    message = refused(json.dumps(document))
    assert f"grows past {SCHEMA_BUDGET} characters once its $refs are expanded" in message


def test_a_document_over_the_size_cap_is_refused_before_parsing() -> None:
    padding = "x" * (DOCUMENT_BYTES_MAX + 1)
    text = json.dumps(spec(paths={}, padding=padding))
    assert refused(text) == f"the document is {len(text)} bytes; at most {DOCUMENT_BYTES_MAX} are accepted"


def test_a_huge_document_under_the_cap_lists_and_imports() -> None:
    """Thousands of operations (about 1.5 MB): listed in full, and one of them imported."""
    paths = {
        f"/items{i}/{{id}}": {
            "get": {
                "operationId": f"getItem{i}",
                "summary": f"Read item family {i} by id, with its stock and price",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            }
        }
        for i in range(6000)
    }
    text = json.dumps(spec(paths=paths))
    assert 1_000_000 < len(text) < DOCUMENT_BYTES_MAX

    assert len(list_operations(text)) == 6000
    [tool] = import_operations(text, ["getItem5999"])
    assert tool.url == "https://a.example/items5999/{id}"


def test_deep_nesting_is_refused_in_json_and_yaml() -> None:
    deep_json = '{"openapi": "3.1.0", "x": ' + "[" * (DEPTH_MAX + 5) + "]" * (DEPTH_MAX + 5) + "}"
    assert f"nested deeper than {DEPTH_MAX}" in refused(deep_json)
    very_deep_json = '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert "nested deeper" in refused(very_deep_json)
    deep_yaml = "openapi: 3.1.0\nx: " + "[" * (DEPTH_MAX + 5) + "]" * (DEPTH_MAX + 5) + "\n"
    assert f"nested deeper than {DEPTH_MAX}" in refused(deep_yaml)


def test_too_many_values_are_refused() -> None:
    flat = "openapi: 3.1.0\nx: [" + ",".join("1" for _ in range(NODES_MAX + 1)) + "]\n"
    assert f"more than {NODES_MAX} values" in refused(flat)


def test_a_giant_integer_is_an_error_not_a_crash() -> None:
    assert "not valid JSON" in refused('{"openapi": ' + "9" * 5000 + "}")
    assert "not valid YAML" in refused("openapi: " + "9" * 5000 + "\n")
