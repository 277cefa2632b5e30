"""OpenAPI 3.0 and 3.1 documents to HTTP tools, on a corpus of specs written for these tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from oratio.actions.openapi import import_operations, list_operations
from oratio.actions.schema_check import REQUEST_BODY_MARKER
from oratio.errors import InvalidInput
from schemas import HttpMethod, HttpTool

CORPUS = Path(__file__).parent / "openapi_corpus"


def corpus(name: str) -> str:
    return (CORPUS / name).read_text()


def by_name(tools: list[HttpTool]) -> dict[str, HttpTool]:
    return {tool.name: tool for tool in tools}


def error(text: str, selection: list[str] | None = None, **options: Any) -> str:
    with pytest.raises(InvalidInput) as caught:
        import_operations(text, selection or ["GET /x"], **options)
    return caught.value.message


def test_list_operations_of_a_3_0_yaml_document() -> None:
    operations = list_operations(corpus("petstore30.yaml"))

    assert [(o.key, o.operation_id, o.write, o.tool_name) for o in operations] == [
        ("GET /pets", "listPets", False, "list_pets"),
        ("POST /pets", "createPet", True, "create_pet"),
        ("GET /pets/{petId}", "showPetById", False, "show_pet_by_id"),
        ("DELETE /pets/{petId}", "deletePet", True, "delete_pet"),
        ("POST /pets/{petId}/adopt", "adoptPet", True, "adopt_pet"),
    ]  # the HEAD operation is not listed
    assert operations[0].method is HttpMethod.GET
    assert operations[0].summary == "List the pets for sale, newest first"


def test_a_3_0_document_imports_with_refs_expanded_and_the_dialect_converted() -> None:
    tools = by_name(import_operations(corpus("petstore30.yaml"), ["createPet", "GET /pets/{petId}", "listPets"]))

    create = tools["create_pet"]
    assert (create.method, create.write, create.url) == (HttpMethod.POST, True, "https://eu.pets.example/v1/pets")
    assert create.parameters == {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 60},  # example dropped
            "species": {"type": "string", "enum": ["dog", "cat", "rabbit"]},
            "tag": {"type": ["string", "null"]},  # nullable
            "age": {"type": "integer", "exclusiveMinimum": 0},  # boolean exclusiveMinimum; x- key dropped
        },
        "additionalProperties": False,
        "required": ["name", "species"],
    }
    assert create.headers == {"X-Shop-Key": "{{secret:SHOP_KEY}}"}
    show = tools["show_pet_by_id"]
    assert show.url == "https://eu.pets.example/v1/pets/{petId}" and not show.write
    assert show.parameters["properties"]["petId"] == {
        "type": "string",
        "pattern": "^P-[0-9]{4}$",
        "description": "The pet's id, e.g. P-1001",
    }
    assert show.parameters["required"] == ["petId"]
    assert show.description == "Show one pet with its price and whether it is still available"
    listed = tools["list_pets"]
    assert listed.parameters["properties"] == {"limit": {"type": "integer", "maximum": 50}}
    assert "required" not in listed.parameters  # optional query; the optional X-Trace header is not an argument
    assert [t.name for t in import_operations(corpus("petstore30.yaml"), ["listPets", "createPet"])] == [
        "list_pets",
        "create_pet",
    ]  # the selection's order


def test_operation_security_overrides_the_documents() -> None:
    [delete] = import_operations(corpus("petstore30.yaml"), ["deletePet"])

    assert delete.headers == {"Authorization": "Bearer {{secret:STAFF_TOKEN}}"}
    assert delete.write and delete.method is HttpMethod.DELETE


def test_a_body_that_clashes_with_a_parameter_goes_under_body_and_post_queries_join_the_url() -> None:
    [adopt] = import_operations(corpus("petstore30.yaml"), ["adoptPet"])

    assert adopt.url == "https://eu.pets.example/v1/pets/{petId}/adopt?notify={notify}"
    assert set(adopt.parameters["properties"]) == {"petId", "notify", "body"}
    assert adopt.parameters["properties"]["body"]["properties"] == {
        "petId": {"type": "string"},
        "customer": {"type": "string"},
    }
    assert adopt.parameters["required"] == ["petId", "notify", "body"]
    assert adopt.parameters[REQUEST_BODY_MARKER] == "body"  # the runner sends `body` as the whole body


def test_a_3_1_json_document_imports() -> None:
    text = corpus("orders31.json")
    tools = by_name(import_operations(text, [o.key for o in list_operations(text)]))

    get = tools["get_order"]  # operationId "get-order"
    assert get.url == "https://api.orders.example/v2/orders/{id}"
    assert get.headers == {"X-Api-Version": "2024-01", "Authorization": "Bearer {{secret:BEARER_AUTH}}"}
    cancel = tools["cancel_order"]  # requestBody by $ref, json with a charset, flattened
    assert cancel.parameters["properties"]["reason"] == {
        "type": "string",
        "enum": ["damaged", "late", "changed_mind"],
        "description": "Why",
    }
    assert cancel.parameters["required"] == ["id", "reason"]
    assert cancel.sensitive_arguments == ["card_pin"]  # format: password
    lines = tools["put_orders_id_lines"]  # no operationId: method and path
    assert lines.parameters["properties"]["body"]["type"] == "array"  # not an object: under body
    assert lines.parameters[REQUEST_BODY_MARKER] == "body"
    assert "$id" not in lines.parameters["properties"]["body"]["items"]  # never fetched: dropped with $comment
    assert REQUEST_BODY_MARKER not in cancel.parameters  # flattened
    assert lines.parameters["properties"]["body"]["items"]["properties"]["qty"] == {
        "type": "integer",
        "exclusiveMinimum": 0,
    }  # 3.1: numeric exclusiveMinimum kept
    assert lines.description == "Calls PUT /orders/{id}/lines: Lines."  # summary under 10 characters
    health = tools["end_session_api"]  # a built-in's name is never taken
    assert health.headers == {}  # `security: []`
    assert health.parameters == {"type": "object", "properties": {}, "additionalProperties": False}


def test_base_url_replaces_the_documents_servers_and_must_be_absolute() -> None:
    [tool] = import_operations(corpus("orders31.json"), ["get-order"], base_url="http://10.0.0.5:8080/api/")
    assert tool.url == "http://10.0.0.5:8080/api/orders/{id}"

    assert error(corpus("orders31.json"), ["get-order"], base_url="/api").startswith(
        "base_url: '/api' is not an absolute http(s) URL"
    )
    assert "base_url" in error(corpus("orders31.json"), ["get-order"], base_url="ftp://files.example")


def test_a_relative_server_needs_base_url() -> None:
    document = json.loads(corpus("orders31.json"))
    document["servers"] = [{"url": "/v2"}]

    message = error(json.dumps(document), ["get-order"])
    assert message.startswith("servers[0].url: '/v2' is not an absolute http(s) URL; give base_url")


def test_duplicate_names_are_made_unique() -> None:
    document = json.loads(corpus("orders31.json"))
    document["paths"]["/orders/{id}"]["delete"] = {
        "operationId": "getOrder",
        "summary": "Delete the order for good",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
    }

    tools = import_operations(json.dumps(document), ["get-order", "getOrder"])
    assert [t.name for t in tools] == ["get_order", "get_order_2"]
    once = import_operations(json.dumps(document), ["get-order", "GET /orders/{id}", "get /orders/{id}"])
    assert [t.name for t in once] == ["get_order"]  # one operation selected three ways


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda d: d["paths"]["/orders/{id}"]["get"]["parameters"].append(
                {"name": "expand", "in": "query", "schema": {"$ref": "#/components/schemas/Nope"}}
            ),
            "paths./orders/{id}.get.parameters[2].schema: $ref '#/components/schemas/Nope' not found",
        ),
        (
            lambda d: d["paths"]["/orders/{id}"]["get"]["parameters"].append(
                {"name": "expand", "in": "query", "schema": {"$ref": "other.json#/Thing"}}
            ),
            "paths./orders/{id}.get.parameters[2].schema: $ref 'other.json#/Thing' points outside this document",
        ),
        (
            lambda d: d["paths"]["/orders/{id}"]["get"]["parameters"].append(
                {"name": "sid", "in": "cookie", "required": True}
            ),
            "paths./orders/{id}.get.parameters[2]: required cookie parameter 'sid' cannot be filled by a tool",
        ),
        (
            lambda d: d["paths"]["/orders/{id}"]["get"].update(security=[{"nope": []}]),
            "paths./orders/{id}.get.security[0]: security scheme 'nope' is not defined",
        ),
        (
            lambda d: d["components"]["securitySchemes"].update(
                bearerAuth={"type": "apiKey", "in": "query", "name": "k"}
            ),
            "security: no security requirement can be sent in a header (unsupported: bearerAuth)",
        ),
        (
            lambda d: d["paths"]["/orders/{id}"]["get"].update(
                requestBody={"required": True, "content": {"multipart/form-data": {"schema": {}}}}
            ),
            "paths./orders/{id}.get.requestBody.content: only application/json request bodies",
        ),
        (
            lambda d: d["paths"]["/orders/{id}"]["get"]["parameters"].pop(0),
            "paths./orders/{id}.get: path parameter 'id' is in the path but not declared in parameters",
        ),
        (
            lambda d: d["paths"]["/orders/{id}"]["get"]["parameters"].append(
                {"name": "shop", "in": "path", "required": True, "schema": {"type": "string"}}
            ),
            "paths./orders/{id}.get: path parameter 'shop' is declared but not in the path",
        ),
        (lambda d: d.update(openapi="4.0.0"), "openapi: expected an OpenAPI 3.0 or 3.1 version"),
        (lambda d: d.update(paths={}), "paths: the document has no paths"),
        (lambda d: d["paths"].update({"orders": {}}), "paths.orders: a path must start with '/'"),
    ],
)
def test_errors_name_the_place(change: Any, expected: str) -> None:
    document = json.loads(corpus("orders31.json"))
    change(document)

    assert error(json.dumps(document), ["get-order"]).startswith(expected)


def test_the_task_example_in_yaml() -> None:
    assert error(corpus("missing_ref.yaml"), ["getOrder"]) == (
        "paths./orders/{id}.get.parameters[1].schema: $ref '#/components/schemas/Nope' not found"
    )


def test_swagger_2_gets_a_clear_error() -> None:
    message = error(corpus("swagger2.json"))
    assert "OpenAPI 3.x only" in message and "Swagger 2.0" in message


def test_selection_errors() -> None:
    text = corpus("orders31.json")

    assert error(text, ["GET /nowhere"]).startswith("operation 'GET /nowhere' is not in the document")
    with pytest.raises(InvalidInput, match="select at least one"):
        import_operations(text, [])
    with pytest.raises(InvalidInput, match="at most 30"):
        import_operations(text, ["get-order"] * 31)


def test_syntax_errors_say_line_and_column() -> None:
    assert error('{"openapi": "3.1.0",\n  "paths": }').startswith("not valid JSON at line 2 column 12")
    assert error("openapi: 3.1.0\npaths: [unclosed\n").startswith("not valid YAML at line 3")
    assert error("- just\n- a list\n").startswith("the document must be a mapping")
    assert error("   \n").startswith("the document is empty")
