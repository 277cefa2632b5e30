// One HTTP tool's editor, shared by the New agent form (any number of them) and the agent page's Add a tool and
// Edit: name, description, method, URL template, the arguments' JSON Schema, headers (secrets as {{secret:NAME}}
// references, never values), whether it changes something, its timeout, its response cap and the arguments
// kept out of transcripts. `read()` gives the tool as MCP's add_agent_tool takes it, `fill(tool)` puts a stored
// one in (Edit); the server checks it (schema, address policy, secrets) and `showProblem` puts its answer beside
// the field it names.

import { el } from "./dom.js";

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"];
const EXAMPLE_SCHEMA = `{
  "type": "object",
  "properties": {"order_id": {"type": "string"}},
  "required": ["order_id"]
}`;
// The server's field (`tool.url`, `changes.timeout_seconds`, `tool 'get_order'.headers.X-Key`) -> the control.
export const FIELD = /^(?:tool '[^']*'|tool|changes|tools\.\d+)\.([a-z_]+)/;

// `prefix` makes the ids (and so the labels) of this editor unique on the page.
// An editor's reasons beside its fields: `problems` maps a field to its message element, `controlOf(field)` finds
// its control. `show(error)` puts the reason the server (or read()) named beside that field, with focus on it, and
// is false when it names none here; `clear()` takes every reason away.
export function fieldProblems(problems, controlOf) {
  function show(error) {
    const found = error && error.field ? (FIELD.exec(error.field) || [null, error.field])[1] : null;
    const problem = found && problems.get(found);
    if (!problem) return false;
    problem.textContent = error.message;
    const control = controlOf(found);
    if (control) {
      control.setAttribute("aria-invalid", "true");
      control.focus();
    }
    return true;
  }

  function clear() {
    for (const [key, problem] of problems) {
      problem.textContent = "";
      const control = controlOf(key);
      if (control) control.removeAttribute("aria-invalid");
    }
  }

  return { show, clear };
}

export function toolEditor(prefix) {
  const id = (name) => `${prefix}-${name}`;
  const problems = new Map();
  const field = (name, label, control) => {
    const problem = el("span", { class: "error field-error", id: id(`${name}-error`), role: "alert" });
    problems.set(name, problem);
    control.setAttribute("aria-describedby", problem.id);
    // The reason sits under the control, outside its label: it describes the field, it does not name it.
    return el("div", { class: "tool-field" }, el("label", { for: id(name) }, label), control, problem);
  };
  const name = el("input", { id: id("name"), required: true, maxlength: 64, autocomplete: "off", placeholder: "get_order" });
  const description = el("input", { id: id("description"), required: true, maxlength: 1000, placeholder: "Look up an order by its id" });
  const method = el("select", { id: id("method") }, METHODS.map((m) => el("option", { value: m }, m)));
  const url = el("input", { id: id("url"), required: true, maxlength: 2000, inputmode: "url", placeholder: "https://api.example.com/orders/{order_id}" });
  const parameters = el("textarea", { id: id("parameters"), rows: 5, class: "mono", spellcheck: "false" });
  parameters.defaultValue = EXAMPLE_SCHEMA;  // the default, so a form is "changed" only by what the admin typed
  const headers = el("textarea", { id: id("headers"), rows: 2, class: "mono", spellcheck: "false",
    placeholder: "Authorization: Bearer {{secret:ORDERS_TOKEN}}" });
  const timeout = el("input", { id: id("timeout_seconds"), type: "number", min: 0.5, max: 30, step: 0.5, value: 10 });
  const cap = el("input", { id: id("max_response_bytes"), type: "number", min: 1000, max: 1000000, step: 1000, value: 64000 });
  const sensitive = el("input", { id: id("sensitive_arguments"), autocomplete: "off", maxlength: 1400, placeholder: "card_number, date_of_birth" });
  const write = el("input", { id: id("write"), type: "checkbox" });
  method.addEventListener("change", () => { write.checked = method.value !== "GET"; });
  const writeProblem = el("span", { class: "error field-error", id: id("write-error"), role: "alert" });
  problems.set("write", writeProblem);
  const node = el("div", { class: "tool-editor", dataset: { toolEditor: prefix } },
    el("div", { class: "create-row" }, field("name", "Name", name), field("method", "Method", method)),
    field("description", "What it does (the agent reads this to decide when to call it)", description),
    field("url", "URL ({placeholders} are filled from the arguments)", url),
    field("parameters", "Arguments (JSON Schema)", parameters),
    field("headers", "Headers, one per line (Name: value)", headers),
    el("div", { class: "create-row" },
      field("timeout_seconds", "Timeout (seconds, 0.5 to 30)", timeout),
      field("max_response_bytes", "Largest answer read (bytes)", cap)),
    field("sensitive_arguments", "Arguments kept out of transcripts and logs (comma-separated)", sensitive),
    el("label", { class: "inline", for: id("write") }, write, " It changes something: the customer must say yes first"),
    writeProblem);

  const label = () => name.value.trim() || "(no name)";

  function read() {
    clearProblems();
    let schema;
    try {
      schema = JSON.parse(parameters.value || "{}");
    } catch (error) {
      throw fieldError("parameters", `tool ${label()}: the arguments are not valid JSON (${error.message})`);
    }
    const headerMap = {};
    for (const line of headers.value.split("\n").map((l) => l.trim()).filter(Boolean)) {
      const colon = line.indexOf(":");
      if (colon < 1) throw fieldError("headers", `tool ${label()}: a header line is "Name: value", not "${line.slice(0, 60)}"`);
      headerMap[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
    }
    const tool = {
      name: name.value.trim(),
      description: description.value.trim(),
      method: method.value,
      url: url.value.trim(),
      parameters: schema,
      headers: headerMap,
      write: write.checked,
      sensitive_arguments: sensitive.value.split(",").map((s) => s.trim()).filter(Boolean),
    };
    // An empty number is "the default", not 0 (which the server would refuse).
    if (timeout.value !== "") tool.timeout_seconds = Number(timeout.value);
    if (cap.value !== "") tool.max_response_bytes = Number(cap.value);
    return tool;
  }

  // A stored tool into the form (Edit): every field the form has, so saving keeps what it does not show as is.
  function fill(tool) {
    name.value = tool.name || "";
    description.value = tool.description || "";
    method.value = tool.method || "GET";
    url.value = tool.url || "";
    parameters.value = JSON.stringify(tool.parameters || { type: "object", properties: {} }, null, 2);
    headers.value = Object.entries(tool.headers || {}).map(([k, v]) => `${k}: ${v}`).join("\n");
    timeout.value = tool.timeout_seconds ?? 10;
    cap.value = tool.max_response_bytes ?? 64000;
    sensitive.value = (tool.sensitive_arguments || []).join(", ");
    write.checked = Boolean(tool.write);
  }

  function fieldError(fieldName, message) {
    const error = new Error(message);
    error.field = fieldName;
    return error;
  }

  const { show: showProblem, clear: clearProblems } = fieldProblems(problems, (key) => document.getElementById(id(key)));

  const toolName = () => name.value.trim();

  return { node, read, fill, showProblem, clearProblems, toolName };
}
