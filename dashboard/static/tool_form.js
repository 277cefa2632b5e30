// One HTTP tool's editor, shared by the New agent form (any number of them) and the agent page's Add a tool:
// name, description, method, URL template, the arguments' JSON Schema, headers (secrets as {{secret:NAME}}
// references, never values) and whether it changes something. `read()` gives the tool as MCP's add_agent_tool
// takes it; the server checks it (schema, address policy, secrets) and its answer names what is wrong.

import { el } from "./dom.js";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const EXAMPLE_SCHEMA = `{
  "type": "object",
  "properties": {"order_id": {"type": "string"}},
  "required": ["order_id"]
}`;

// `prefix` makes the ids (and so the labels) of this editor unique on the page.
export function toolEditor(prefix) {
  const id = (name) => `${prefix}-${name}`;
  const field = (name, label, control) => el("label", { for: id(name), class: "tool-field" }, label, control);
  const name = el("input", { id: id("name"), required: true, maxlength: 64, autocomplete: "off", placeholder: "get_order" });
  const description = el("input", { id: id("description"), required: true, maxlength: 1000, placeholder: "Look up an order by its id" });
  const method = el("select", { id: id("method") }, METHODS.map((m) => el("option", { value: m }, m)));
  const url = el("input", { id: id("url"), required: true, maxlength: 2000, inputmode: "url", placeholder: "https://api.example.com/orders/{order_id}" });
  const parameters = el("textarea", { id: id("parameters"), rows: 5, class: "mono", spellcheck: "false" });
  parameters.value = EXAMPLE_SCHEMA;
  const headers = el("textarea", { id: id("headers"), rows: 2, class: "mono", spellcheck: "false",
    placeholder: "Authorization: Bearer {{secret:ORDERS_TOKEN}}" });
  const write = el("input", { id: id("write"), type: "checkbox" });
  method.addEventListener("change", () => { write.checked = method.value !== "GET"; });
  const node = el("div", { class: "tool-editor", dataset: { toolEditor: prefix } },
    el("div", { class: "create-row" }, field("name", "Name", name), field("method", "Method", method)),
    field("description", "What it does (the agent reads this to decide when to call it)", description),
    field("url", "URL ({placeholders} are filled from the arguments)", url),
    field("parameters", "Arguments (JSON Schema)", parameters),
    field("headers", "Headers, one per line (Name: value)", headers),
    el("label", { class: "inline", for: id("write") }, write, " It changes something: the customer must say yes first"));

  function read() {
    let schema;
    try {
      schema = JSON.parse(parameters.value || "{}");
    } catch (error) {
      throw new Error(`tool ${name.value.trim() || "(no name)"}: the arguments are not valid JSON (${error.message})`);
    }
    const headerMap = {};
    for (const line of headers.value.split("\n").map((l) => l.trim()).filter(Boolean)) {
      const colon = line.indexOf(":");
      if (colon < 1) throw new Error(`tool ${name.value.trim() || "(no name)"}: a header line is "Name: value", not "${line.slice(0, 60)}"`);
      headerMap[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
    }
    return {
      name: name.value.trim(),
      description: description.value.trim(),
      method: method.value,
      url: url.value.trim(),
      parameters: schema,
      headers: headerMap,
      write: write.checked,
    };
  }

  return { node, read };
}
