"""OpenAPI 3.0 and 3.1 documents to HTTP tools: list the operations, import the selected ones.

Pure (no I/O): the admin pastes a document (JSON or YAML, read by `oratio.actions._document` with
its bounds), picks operations by operationId or "METHOD /path", and gets `HttpTool`s to review and add.

How an operation becomes a tool:
- Arguments: one object schema, closed (`additionalProperties: false`). Path parameters are required
  properties filled into the URL template; query parameters are properties (for GET and DELETE the
  runner puts them in the query string; for POST/PUT/PATCH they are written into the URL template as
  `?name={name}` and so become required). An `application/json` request body's properties are
  flattened next to the parameters when it is an object whose property names do not clash with them;
  otherwise (a clash, an array, a composition like oneOf) the whole body is one property named `body`,
  and the arguments schema says so with `"x-oratio-request-body": "body"` (REQUEST_BODY_MARKER): the
  HTTP runner must then send that argument's value as the request body, not `{"body": ...}`.
- Schemas: local `$ref`s (`#/...`) are expanded inline (a cycle is refused: a schema that contains
  itself cannot be a tool's arguments) within a size budget, so a few refs that fan out cannot grow
  without bound; 3.0's `nullable` and boolean `exclusiveMinimum`/`exclusiveMaximum` become their draft
  2020-12 forms; `example(s)`, `xml`, `externalDocs`, `discriminator`, `$id`, `$schema`, `$comment`,
  `$anchor` and `x-` keys are dropped.
- Security: the operation's (else the document's) first security requirement that a header can carry
  becomes headers with `{{secret:NAME}}` placeholders (apiKey in a header, http bearer/basic, oauth2,
  openIdConnect as a bearer token); header parameters named like credentials (Authorization, X-API-Key)
  too. The admin stores the secrets under those names (or edits the names). Other header and cookie
  parameters are not arguments: a required one needs a default or a single enum value to become a fixed
  header, else the operation is refused.
- `write` is true for POST, PUT, PATCH and DELETE (they run only after the customer confirms).
  HEAD, OPTIONS and TRACE operations are not listed.
- Name: the operationId in snake_case (else method and path), made unique; description: summary and
  description (generated from method and path when shorter than 10 characters).

Every error names the place in the document, e.g.
`paths./orders/{id}.get.parameters[1].schema: $ref '#/components/schemas/Nope' not found`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

from pydantic import Field, ValidationError

from oratio.actions._document import DOCUMENT_BYTES_MAX as DOCUMENT_BYTES_MAX  # the limit, public here
from oratio.actions._document import load_document
from oratio.actions.schema_check import REQUEST_BODY_MARKER, SUBSCHEMA_LISTS, SUBSCHEMA_MAPS, SUBSCHEMA_ONE
from oratio.errors import InvalidInput
from schemas import HttpTool, Model
from schemas.tools import RESERVED_TOOL_NAMES, SCHEMA_JSON_MAX, TOOLS_PER_AGENT_MAX, HttpMethod

METHODS: Final = ("get", "put", "post", "delete", "patch")
REF_DEPTH_MAX: Final = 16
"""$refs nested inside one another (each expanded inline)."""
SCHEMA_BUDGET: Final = SCHEMA_JSON_MAX * 4
"""Characters of JSON one operation's schemas may expand to before the import is refused."""
_DROP: Final = frozenset(
    {"example", "examples", "xml", "externalDocs", "discriminator", "$id", "$schema", "$comment", "$anchor"}
)
_CREDENTIAL_HEADERS: Final = frozenset(
    {"authorization", "x-api-key", "api-key", "apikey", "x-auth-token", "x-api-token"}
)
_HEADER_NAME = re.compile(r"^[A-Za-z0-9-]{1,64}$")


class OperationInfo(Model):
    """One operation of a document, as `list_openapi_operations` shows it."""

    method: HttpMethod
    path: str
    operation_id: str | None = None
    summary: str = ""
    write: bool = Field(description="POST, PUT, PATCH, DELETE: runs only after the customer confirms")
    tool_name: str = Field(description="The tool's name if imported")
    key: str = Field(description='Select it by this ("METHOD /path") or by its operationId')


def _error(place: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{place}: {problem}" if place else problem, field="spec")


def _snake(text: str) -> str:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text)
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def tool_name_for(operation_id: str | None, method: str, path: str) -> str:
    """The operationId (else method and path) as a TOOL_NAME_PATTERN name, not a built-in's."""
    name = _snake(operation_id or "") or _snake(f"{method}_{path}")
    if not name[:1].isalpha():
        name = f"op_{name}"
    name = name[:48].rstrip("_")
    if len(name) < 2:
        name = f"op_{name}".rstrip("_")
    if name in RESERVED_TOOL_NAMES:
        name = f"{name}_api"
    return name


def secret_name_for(scheme: str) -> str:
    """A suggested secret name (SECRET_NAME_PATTERN) for a security scheme or credential header."""
    name = _snake(scheme).upper()
    if not name[:1].isalpha():
        name = f"API_{name}".rstrip("_")
    if len(name) < 2:
        name = f"{name}_KEY"
    return name[:64].rstrip("_")


@dataclass
class _Operation:
    method: str
    path: str
    place: str
    node: dict[str, Any]
    path_item: dict[str, Any]
    path_place: str

    @property
    def key(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def operation_id(self) -> str | None:
        value = self.node.get("operationId")
        return value[:200] if isinstance(value, str) and value else None


class _Document:
    """A loaded OpenAPI 3.x document: its operations, local refs, schemas expanded within a budget."""

    def __init__(self, text: str, max_bytes: int) -> None:
        self.root = load_document(text, max_bytes=max_bytes)
        if "swagger" in self.root:
            raise _error(
                "swagger",
                "this is a Swagger 2.0 document; OpenAPI 3.x only. "
                "Convert it (e.g. with swagger2openapi) and import again",
            )
        version = self.root.get("openapi")
        if not isinstance(version, str) or not re.match(r"^3\.[01]\.\d+", version):
            raise _error(
                "openapi", f"expected an OpenAPI 3.0 or 3.1 version such as '3.1.0', got {str(version)[:20]!r}"
            )
        self.v30 = version.startswith("3.0")
        self.budget = 0

    def operations(self) -> list[_Operation]:
        paths = self.root.get("paths")
        if not isinstance(paths, dict) or not paths:
            raise _error("paths", "the document has no paths, so no operations to import")
        found: list[_Operation] = []
        for path, raw in paths.items():
            place = f"paths.{path}"
            if not path.startswith("/"):
                raise _error(place, "a path must start with '/'")
            item, item_place = self.deref(raw, place)
            if not isinstance(item, dict):
                raise _error(item_place, "a path item must be a mapping")
            for method in METHODS:
                node = item.get(method)
                if node is None:
                    continue
                if not isinstance(node, dict):
                    raise _error(f"{place}.{method}", "an operation must be a mapping")
                found.append(_Operation(method, path, f"{place}.{method}", node, item, place))
        return found

    def pointer(self, ref: str, place: str) -> tuple[Any, str]:
        """The value a local `$ref` points at and its place ("components.schemas.Order")."""
        if not ref.startswith("#/"):
            raise _error(
                place, f"$ref '{ref[:100]}' points outside this document; only local refs (#/...) are supported"
            )
        node: Any = self.root
        parts = [p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/")]
        for part in parts:
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                raise _error(place, f"$ref '{ref[:100]}' not found")
        return node, ".".join(parts)

    def deref(self, node: Any, place: str) -> tuple[Any, str]:
        """Follow a chain of `$ref`s (parameters, request bodies, path items): cycles and long chains refused."""
        seen: list[str] = []
        while isinstance(node, dict) and "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str):
                raise _error(place, "$ref must be a string")
            if ref in seen:
                raise _error(place, f"$ref '{ref[:100]}' is cyclic")
            if len(seen) >= REF_DEPTH_MAX:
                raise _error(place, f"$refs chain deeper than {REF_DEPTH_MAX}")
            seen.append(ref)
            node, place = self.pointer(ref, place)
        return node, place

    def schema(self, node: Any, place: str, stack: tuple[str, ...] = ()) -> Any:
        """A schema with its local refs expanded inline, in draft 2020-12 form. Bounded by SCHEMA_BUDGET."""
        self._spend(2, place)
        if isinstance(node, list):
            return [self.schema(v, f"{place}[{i}]", stack) for i, v in enumerate(node)]
        if not isinstance(node, dict):
            return self._data(node, place)
        if "$ref" in node:
            ref = node["$ref"]
            if not isinstance(ref, str):
                raise _error(place, "$ref must be a string")
            if ref in stack:
                raise _error(
                    place, f"$ref '{ref[:100]}' is cyclic: a schema that contains itself cannot be a tool's arguments"
                )
            if len(stack) >= REF_DEPTH_MAX:
                raise _error(place, f"$refs nest deeper than {REF_DEPTH_MAX}")
            target, target_place = self.pointer(ref, place)
            resolved = self.schema(target, target_place, (*stack, ref))
            siblings = self.schema({k: v for k, v in node.items() if k != "$ref"}, place, stack)
            return {**resolved, **siblings} if isinstance(resolved, dict) else resolved
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROP or key.startswith("x-"):
                continue
            self._spend(len(key) + 3, place)
            where = f"{place}.{key}"
            if key in SUBSCHEMA_MAPS and isinstance(value, dict):
                out[key] = {name: self.schema(sub, f"{where}.{name}", stack) for name, sub in value.items()}
            elif key in SUBSCHEMA_LISTS or key in SUBSCHEMA_ONE:
                out[key] = self.schema(value, where, stack)
            else:
                out[key] = self._data(value, where)
        if self.v30:
            _from_openapi_30(out)
        return out

    def _data(self, value: Any, place: str) -> Any:
        """Keyword data (enum, default, ...): copied as is, its size counted against the budget."""
        if isinstance(value, dict):
            self._spend(sum(len(k) + 3 for k in value), place)
            return {k: self._data(v, place) for k, v in value.items()}
        if isinstance(value, list):
            return [self._data(v, place) for v in value]
        self._spend(len(value) + 2 if isinstance(value, str) else 6, place)
        return value

    def _spend(self, cost: int, place: str) -> None:
        self.budget += cost
        if self.budget > SCHEMA_BUDGET:
            raise _error(
                place,
                f"the schema grows past {SCHEMA_BUDGET} characters once its $refs are expanded; "
                "import fewer operations or simplify the schema",
            )


def _from_openapi_30(schema: dict[str, Any]) -> None:
    """OpenAPI 3.0's schema dialect to draft 2020-12, in place."""
    if schema.pop("nullable", False) is True:
        kind = schema.get("type")
        if isinstance(kind, str):
            schema["type"] = [kind, "null"]
        if isinstance(schema.get("enum"), list) and None not in schema["enum"]:
            schema["enum"] = [*schema["enum"], None]
    for flag, bound in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = schema.get(flag)
        if isinstance(value, bool):
            del schema[flag]
            if value and bound in schema:
                schema[flag] = schema.pop(bound)


def _description(op: _Operation) -> str:
    parts = [op.node.get(k) for k in ("summary", "description")]
    texts = [" ".join(p.split()) for p in parts if isinstance(p, str) and p.strip()]
    if len(texts) == 2 and texts[1].startswith(texts[0]):
        texts = texts[1:]
    text = ". ".join(t.rstrip(".") for t in texts)
    if len(text) < 10:
        text = f"Calls {op.key}" + (f": {text}" if text else "") + "."
    return text if len(text) <= 1000 else text[:997] + "..."


def list_operations(text: str, *, max_bytes: int = DOCUMENT_BYTES_MAX) -> list[OperationInfo]:
    """The operations a document offers, in document order (GET, PUT, POST, DELETE, PATCH per path)."""
    document = _Document(text, max_bytes)
    infos: list[OperationInfo] = []
    for op in document.operations():
        summary = op.node.get("summary")
        infos.append(
            OperationInfo(
                method=HttpMethod(op.method.upper()),
                path=op.path,
                operation_id=op.operation_id,
                summary=" ".join(summary.split())[:300] if isinstance(summary, str) else "",
                write=op.method != "get",
                tool_name=tool_name_for(op.operation_id, op.method, op.path),
                key=op.key,
            )
        )
    return infos


def import_operations(
    text: str, selection: list[str], *, base_url: str | None = None, max_bytes: int = DOCUMENT_BYTES_MAX
) -> list[HttpTool]:
    """HttpTools for the selected operations (operationId or "METHOD /path"), in the selection's order."""
    if not selection:
        raise InvalidInput("select at least one operation (operationId or 'METHOD /path')", field="operations")
    if len(selection) > TOOLS_PER_AGENT_MAX:
        raise InvalidInput(f"select at most {TOOLS_PER_AGENT_MAX} operations at once", field="operations")
    document = _Document(text, max_bytes)
    operations = document.operations()
    by_key = {op.key: op for op in operations}
    by_id = {op.operation_id: op for op in operations if op.operation_id}
    tools: list[HttpTool] = []
    names: set[str] = set()
    chosen: set[str] = set()
    for wanted in selection:
        method, _, path = wanted.strip().partition(" ")
        op = by_id.get(wanted.strip()) or by_key.get(f"{method.upper()} {path.strip()}")
        if op is None:
            raise InvalidInput(
                f"operation '{wanted[:100]}' is not in the document; use list_openapi_operations", field="operations"
            )
        if op.key in chosen:
            continue  # selected twice (by operationId and by key, say): one tool
        chosen.add(op.key)
        document.budget = 0
        tool = _tool(document, op, base_url, names)
        names.add(tool.name)
        tools.append(tool)
    return tools


def _unique(name: str, taken: set[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        suffix = f"_{n}"
        candidate, n = name[: 48 - len(suffix)] + suffix, n + 1
    return candidate


def _tool(document: _Document, op: _Operation, base_url: str | None, taken: set[str]) -> HttpTool:
    arguments = _Arguments(document, op)
    arguments.parameters()
    in_path = re.findall(r"\{([^{}]{1,100})\}", op.path)
    undeclared = [name for name in in_path if name not in arguments.path_names]
    if undeclared:
        raise _error(op.place, f"path parameter '{undeclared[0][:64]}' is in the path but not declared in parameters")
    stray = sorted(set(arguments.path_names) - set(in_path))
    if stray:
        raise _error(op.place, f"path parameter '{stray[0][:64]}' is declared but not in the path")
    arguments.body()
    headers = {**arguments.headers, **_security_headers(document, op)}
    url = _server_url(document, op, base_url) + op.path + arguments.query_template()
    fields = {
        "name": _unique(tool_name_for(op.operation_id, op.method, op.path), taken),
        "description": _description(op),
        "parameters": arguments.schema(),
        "method": op.method.upper(),
        "url": url,
        "headers": headers,
        "write": op.method != "get",
        "sensitive_arguments": sorted(arguments.sensitive)[:20],
    }
    try:
        return HttpTool.model_validate(fields)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "tool"
        raise _error(op.place, f"cannot become a tool ({where}: {first['msg']})") from None


class _Arguments:
    """Parameters and request body of one operation, gathered into one object schema."""

    def __init__(self, document: _Document, op: _Operation) -> None:
        self.doc, self.op = document, op
        self.properties: dict[str, Any] = {}
        self.required: list[str] = []
        self.query: list[str] = []
        self.path_names: list[str] = []
        self.body_wrapped = False
        self.headers: dict[str, str] = {}
        self.sensitive: set[str] = set()

    def parameters(self) -> None:
        merged: dict[tuple[str, str], tuple[dict[str, Any], str]] = {}
        for owner, owner_place in ((self.op.path_item, self.op.path_place), (self.op.node, self.op.place)):
            listed = owner.get("parameters", [])
            if not isinstance(listed, list):
                raise _error(f"{owner_place}.parameters", "must be a list")
            for i, raw in enumerate(listed):
                param, place = self.doc.deref(raw, f"{owner_place}.parameters[{i}]")
                if not isinstance(param, dict):
                    raise _error(place, "a parameter must be a mapping")
                name, where = param.get("name"), param.get("in")
                if not isinstance(name, str) or not name or where not in ("path", "query", "header", "cookie"):
                    raise _error(place, "a parameter needs a `name` and `in` (path, query, header or cookie)")
                merged[(name, where)] = (param, f"{owner_place}.parameters[{i}]")
        for (name, where), (param, place) in merged.items():
            self._parameter(name, where, param, place)

    def _parameter(self, name: str, where: str, param: dict[str, Any], place: str) -> None:
        required = where == "path" or param.get("required") is True
        if where in ("header", "cookie"):
            self._header(name, where, param, place, required)
            return
        if name in self.properties:
            raise _error(place, f"two parameters are named '{name}'")
        schema = self._parameter_schema(param, place)
        if isinstance(param.get("description"), str) and isinstance(schema, dict) and "description" not in schema:
            schema["description"] = " ".join(param["description"].split())[:500]
        self.properties[name] = schema
        if where == "path":
            self.path_names.append(name)
        if isinstance(schema, dict) and schema.get("format") == "password":
            self.sensitive.add(name)
        if where == "query" and self.op.method in ("post", "put", "patch"):
            self.query.append(name)
            required = True  # it is in the URL template, which needs a value
        if required:
            self.required.append(name)

    def _parameter_schema(self, param: dict[str, Any], place: str) -> Any:
        if "schema" in param:
            return self.doc.schema(param["schema"], f"{place}.schema")
        content = param.get("content")
        if isinstance(content, dict) and content:
            media, value = next(iter(content.items()))
            if isinstance(value, dict) and "schema" in value:
                return self.doc.schema(value["schema"], f"{place}.content.{media}.schema")
        return {"type": "string"}

    def _header(self, name: str, where: str, param: dict[str, Any], place: str, required: bool) -> None:
        if where == "header" and name.lower() in _CREDENTIAL_HEADERS:
            if not _HEADER_NAME.match(name):
                raise _error(place, f"header name '{name[:64]}' is not a valid header name")
            secret = "{{secret:" + secret_name_for(name) + "}}"
            self.headers[name] = f"Bearer {secret}" if name.lower() == "authorization" else secret
            return
        if not required:
            return  # an optional header or cookie the tool does not send
        schema = param.get("schema")
        fixed = None
        if isinstance(schema, dict):
            enum = schema.get("enum")
            fixed = schema.get("default", enum[0] if isinstance(enum, list) and len(enum) == 1 else None)
        if where == "cookie" or fixed is None or not _HEADER_NAME.match(name):
            raise _error(
                place,
                f"required {where} parameter '{name[:64]}' cannot be filled by a tool "
                "(only a header with a default or a single enum value becomes a fixed header)",
            )
        self.headers[name] = str(fixed)[:1024]

    def body(self) -> None:
        raw = self.op.node.get("requestBody")
        if raw is None:
            return
        body, place = self.doc.deref(raw, f"{self.op.place}.requestBody")
        if not isinstance(body, dict):
            raise _error(place, "a request body must be a mapping")
        content = body.get("content")
        content = content if isinstance(content, dict) else {}
        media = next((m for m in content if m.split(";")[0].strip().lower() == "application/json"), None)
        media = media or next((m for m in content if m.split(";")[0].strip().lower().endswith("+json")), None)
        required = body.get("required") is True
        if media is None:
            if required:
                found = ", ".join(list(content)[:3]) or "no content"
                raise _error(
                    f"{place}.content", f"only application/json request bodies can be tool arguments ({found})"
                )
            return
        entry = content[media]
        raw_schema = entry.get("schema", {}) if isinstance(entry, dict) else {}
        schema = self.doc.schema(raw_schema, f"{self.op.place}.requestBody.content.{media}.schema")
        props = schema.get("properties") if isinstance(schema, dict) else None
        flat = (
            isinstance(props, dict)
            and schema.get("type", "object") == "object"
            and not any(k in schema for k in ("allOf", "anyOf", "oneOf", "not", "if"))
            and not set(props) & set(self.properties)
            and "body" not in self.properties
        )
        if flat:
            assert isinstance(props, dict) and isinstance(schema, dict)
            self.properties.update(props)
            for name, sub in props.items():
                if isinstance(sub, dict) and sub.get("format") == "password":
                    self.sensitive.add(name)
            inner = schema.get("required", [])
            if required and isinstance(inner, list):
                self.required.extend(n for n in inner if isinstance(n, str) and n in props)
            return
        if "body" in self.properties:
            raise _error(place, "a parameter is named 'body', so the request body has no name to go under")
        self.properties["body"] = schema
        self.body_wrapped = True
        if required:
            self.required.append("body")

    def query_template(self) -> str:
        return ("?" + "&".join(f"{n}={{{n}}}" for n in self.query)) if self.query else ""

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "object", "properties": self.properties, "additionalProperties": False}
        if self.body_wrapped:
            schema[REQUEST_BODY_MARKER] = "body"
        if self.required:
            schema["required"] = list(dict.fromkeys(self.required))
        return schema


def _security_headers(document: _Document, op: _Operation) -> dict[str, str]:
    """Headers (with secret placeholders) for the first security requirement a header can carry."""
    requirements = op.node.get("security", document.root.get("security", []))
    place = f"{op.place}.security" if "security" in op.node else "security"
    if not isinstance(requirements, list) or not requirements:
        return {}
    components = document.root.get("components")
    schemes = components.get("securitySchemes") if isinstance(components, dict) else None
    unsupported: list[str] = []
    for i, requirement in enumerate(requirements):
        if not isinstance(requirement, dict):
            raise _error(f"{place}[{i}]", "a security requirement must be a mapping")
        if not requirement:
            return {}  # `{}`: anonymous access is allowed
        headers: dict[str, str] = {}
        for name in requirement:
            raw = schemes.get(name) if isinstance(schemes, dict) else None
            if raw is None:
                raise _error(
                    f"{place}[{i}]", f"security scheme '{name[:64]}' is not defined in components.securitySchemes"
                )
            scheme, _ = document.deref(raw, f"components.securitySchemes.{name}")
            header = _scheme_header(scheme, secret_name_for(name))
            if header is None:
                unsupported.append(name)
                break
            headers[header[0]] = header[1]
        else:
            return headers
    raise _error(
        place,
        f"no security requirement can be sent in a header (unsupported: {', '.join(unsupported)[:120]}); "
        "only apiKey in a header, http bearer/basic, oauth2 and openIdConnect are",
    )


def _scheme_header(scheme: Any, secret: str) -> tuple[str, str] | None:
    if not isinstance(scheme, dict):
        return None
    ref = "{{secret:" + secret + "}}"
    kind = scheme.get("type")
    if kind == "apiKey" and scheme.get("in") == "header" and _HEADER_NAME.match(str(scheme.get("name", ""))):
        return str(scheme["name"]), ref
    if kind == "http" and str(scheme.get("scheme", "")).lower() in ("bearer", "basic"):
        return "Authorization", f"{str(scheme['scheme']).capitalize()} {ref}"
    if kind in ("oauth2", "openIdConnect"):
        return "Authorization", f"Bearer {ref}"
    return None


def _server_url(document: _Document, op: _Operation, base_url: str | None) -> str:
    """The absolute http(s) base: `base_url` if given, else the first server of the operation, path or document."""
    if base_url is not None:
        return _absolute(base_url.strip(), "base_url")
    for owner, place in ((op.node, op.place), (op.path_item, op.path_place), (document.root, "")):
        servers = owner.get("servers")
        if isinstance(servers, list) and servers:
            where = f"{place}.servers[0]" if place else "servers[0]"
            server = servers[0]
            if not isinstance(server, dict) or not isinstance(server.get("url"), str):
                raise _error(where, "a server needs a `url`")
            return _absolute(_fill_variables(server, where), f"{where}.url")
    raise _error("servers", "the document names no server; give base_url (e.g. https://api.example.com)")


def _fill_variables(server: dict[str, Any], place: str) -> str:
    url: str = server["url"]
    variables = server.get("variables", {})
    for name in re.findall(r"\{([^{}]{1,64})\}", url):
        default = variables.get(name, {}).get("default") if isinstance(variables, dict) else None
        if not isinstance(default, str):
            raise _error(f"{place}.variables", f"server variable '{name}' has no default")
        url = url.replace("{" + name + "}", default)
    return url


def _absolute(url: str, place: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:
        raise _error(place, "not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _error(
            place, f"'{url[:100]}' is not an absolute http(s) URL; give base_url (e.g. https://api.example.com)"
        )
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise _error(place, "the server URL must not carry credentials, a query or a fragment")
    return url.rstrip("/")
