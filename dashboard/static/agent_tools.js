// The tools section of the agent page: the agent's HTTP and MCP tools (header values show secret references,
// never values), each with Edit (the Add form, filled with the stored tool: its timeout, response cap, sensitive
// arguments and write flag too; an MCP server's own fields, mcp_tool_form.js; PATCH .../tools/{name}, MCP's
// update_agent_tool), Try it (POST .../tools/{name}/test, MCP's test_agent_tool: a dry run shows the request the
// agent would send; Send for real makes the call through the platform's action runner and address policy, a write
// tool only after a confirm; an MCP server is checked by listing its tools) and Remove (after a confirm); Add a tool
// (tool_form.js; POST .../tools) and Import from OpenAPI (agent_openapi.js). Add, Edit, Remove and an import rebuild
// the agent; the page follows the build's events. The organisation's secrets, by name only: a value is set or
// replaced here and never shown again. A refused change shows the server's reason beside the field it names.

import { api } from "./api.js";
import { agentPath, followBuild, page, showError } from "./agent_page.js";
import { clear, el, when } from "./dom.js";
import { toolEditor } from "./tool_form.js";
import { mcpEditor, mcpTryForm } from "./mcp_tool_form.js";
import { openapiBox } from "./agent_openapi.js";

export function renderTools(card, data) {
  card.id = "agent-tools";
  card.append(el("h3", {}, "Tools"));
  const list = el("div", {}, el("p", { class: "muted" }, "Loading…"));
  const error = el("p", { class: "error", role: "alert", id: "tool-list-error" });
  const active = data.agent.status === "active";
  card.append(list, error, active ? addBox() : null, active ? openapiBox() : null, el("h4", {}, "Secrets"), secretsBox());
  const handsOff = Boolean(data.agent.spec && data.agent.spec.handoff && data.agent.spec.handoff.enabled);
  loadTools(list, error, data.agent.id, active, handsOff);
}

// Add a tool: the agent is rebuilt with it (reviewed and tested); the current version serves meanwhile.
function addBox() {
  const editor = toolEditor("tool-new");
  const error = el("p", { class: "error", role: "alert", id: "tool-new-error" });
  const submit = el("button", { type: "submit" }, "Add the tool and rebuild");
  const form = el("form", { id: "tool-add", class: "tool-add", novalidate: true }, editor.node, el("div", { class: "row" }, submit), error);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(editor, error, submit, () => api(agentPath("/tools"), { method: "POST", body: { tool: editor.read() } }));
  });
  return el("details", { class: "tool-add-box" }, el("summary", {}, "Add a tool"), form);
}

// A tool's Add or Edit sent: the page is drawn afresh once the server took it (the build then follows); a refusal
// is shown beside the field it names, or under the form.
async function send(editor, error, submit, write) {
  error.textContent = "";
  submit.disabled = true;
  try {
    await write();
    await followBuild();
  } catch (problem) {
    if (!editor.showProblem(problem)) showError(error, problem);
  } finally {
    submit.disabled = false;
  }
}

async function loadTools(list, error, id, canChange, handsOff) {
  try {
    const found = await api(agentPath("/tools"));
    if (page.agentId !== id) return;
    clear(list);
    if (!found.tools.length) {
      list.append(el("p", { class: "muted" }, handsOff
        ? "No tools of your own: the agent searches its knowledge and hands off."
        : "No tools of your own: the agent searches its knowledge (handoff is off for this agent)."));
      return;
    }
    list.append(el("ul", { class: "tool-list" }, found.tools.map((tool) => toolItem(tool, error, canChange))));
  } catch (problem) {
    showError(error, problem);
  }
}

function toolItem(tool, error, canChange) {
  const http = tool.kind !== "mcp";
  const panel = el("div", { class: "tool-panel" });
  const open = (make) => {
    const shown = panel.firstChild && panel.firstChild.dataset.panel;
    clear(panel);
    const next = make();
    if (shown === next.dataset.panel) return;  // the same button again closes it
    panel.append(next);
    const first = next.querySelector("input, textarea");
    if (first) first.focus();
  };
  const actions = canChange ? el("div", { class: "row" },
    el("button", { type: "button", class: "ghost", "aria-label": `Edit ${tool.name}`, dataset: { edit: tool.name },
      onclick: () => open(() => editForm(tool, panel)) }, "Edit"),
    el("button", { type: "button", class: "ghost", "aria-label": `Try ${tool.name}`, dataset: { try: tool.name },
      onclick: () => open(() => (http ? tryForm(tool) : mcpTryForm(tool))) }, "Try it"),
    el("button", { type: "button", class: "danger", "aria-label": `Remove ${tool.name}`, onclick: () => remove(tool.name, error) }, "Remove"))
    : null;
  return el("li", { dataset: { tool: tool.name } },
    el("strong", {}, tool.name), " ", el("span", { class: "muted" }, http ? `${tool.method} ${tool.url}` : `MCP ${tool.url || tool.server || ""}`),
    tool.write ? el("span", { class: "pill pill-write" }, "write") : null,
    el("div", { class: "muted" }, tool.description || ""),
    actions, panel);
}

// Edit: the Add form filled with the stored tool (an MCP server's own form for one); saving sends it whole (a rename
// included) and rebuilds.
function editForm(tool, panel) {
  const prefix = `tool-edit-${tool.name}`;
  let editor;
  if (tool.kind === "mcp") {
    editor = mcpEditor(prefix, tool);
  } else {
    editor = toolEditor(prefix);
    editor.fill(tool);
  }
  const error = el("p", { class: "error", role: "alert" });
  const submit = el("button", { type: "submit" }, "Save and rebuild");
  const cancel = el("button", { type: "button", class: "ghost", onclick: () => clear(panel) }, "Cancel");
  const form = el("form", { class: "tool-edit", novalidate: true, dataset: { keep: "edit", panel: "edit" },
    "aria-label": `Edit ${tool.name}` }, editor.node, el("div", { class: "row" }, submit, cancel), error);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(editor, error, submit, () => api(agentPath(`/tools/${encodeURIComponent(tool.name)}`), {
      method: "PATCH", body: { changes: editor.read() },
    }));
  });
  return form;
}

// Try it: sample arguments (filled from the schema's properties), a dry run or a real call; the answer shows the
// request (secrets as references, sensitive arguments redacted) and what came back or what was wrong.
function tryForm(tool) {
  const prefix = `tool-try-${tool.name}`;
  const args = el("textarea", { id: `${prefix}-arguments`, rows: 4, class: "mono", spellcheck: "false", "aria-describedby": `${prefix}-error` });
  args.value = JSON.stringify(sample(tool.parameters), null, 2);
  const error = el("p", { class: "error", role: "alert", id: `${prefix}-error` });
  const out = el("pre", { class: "tool-try-result", id: `${prefix}-result`, role: "status" });
  const dry = el("button", { type: "submit" }, "Dry run");
  const real = el("button", { type: "button", class: tool.write ? "danger" : "ghost" }, "Send for real");
  const form = el("form", { class: "tool-try", novalidate: true, dataset: { keep: "try", panel: "try" }, "aria-label": `Try ${tool.name}` },
    el("label", { for: args.id, class: "tool-field" }, "Arguments (JSON, as the agent's model would send them)", args),
    el("div", { class: "row" }, dry, real), error, out);
  const run = async (sendIt) => {
    error.textContent = "";
    args.removeAttribute("aria-invalid");
    let argumentsValue;
    try {
      argumentsValue = JSON.parse(args.value || "{}");
    } catch (problem) {
      error.textContent = `The arguments are not valid JSON: ${problem.message}`;
      args.setAttribute("aria-invalid", "true");
      return;
    }
    const confirmWrite = sendIt && tool.write;
    if (confirmWrite && !confirm(`"${tool.name}" changes something: really send this call?`)) return;
    dry.disabled = real.disabled = true;
    try {
      const result = await api(agentPath(`/tools/${encodeURIComponent(tool.name)}/test`), {
        method: "POST", body: { arguments: argumentsValue, send: sendIt, confirm_write: confirmWrite },
      });
      out.textContent = describe(result);
      if (!result.valid) args.setAttribute("aria-invalid", "true");
    } catch (problem) {
      out.textContent = "";
      showError(error, problem);
      args.setAttribute("aria-invalid", "true");
    } finally {
      dry.disabled = real.disabled = false;
    }
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); run(false); });
  real.addEventListener("click", () => run(true));
  return form;
}

// An example of the arguments: each property of the schema with a value of its type (its example or default, if any).
function sample(schema) {
  const found = {};
  const properties = (schema && schema.properties) || {};
  for (const [name, property] of Object.entries(properties).slice(0, 50)) {
    if (property.examples && property.examples.length) found[name] = property.examples[0];
    else if (property.default !== undefined) found[name] = property.default;
    else found[name] = { integer: 0, number: 0, boolean: false, array: [], object: {} }[property.type] ?? "";
  }
  return found;
}

function describe(result) {
  const lines = [];
  if (!result.valid) lines.push("Not sent: the arguments do not fit the tool.", ...result.errors.map((e) => `- ${e}`));
  if (result.request) {
    const request = result.request;
    lines.push(`${result.sent ? "Sent" : "Would send"}: ${request.method} ${request.url}`);
    for (const [name, value] of Object.entries(request.headers || {})) lines.push(`${name}: ${value}`);
    if (request.body !== null && request.body !== undefined) lines.push(JSON.stringify(request.body, null, 2));
  }
  if (result.sent) {
    lines.push("", `Answer: ${result.status}${result.duration_ms !== null ? ` in ${Math.round(result.duration_ms)} ms` : ""}`);
    lines.push(typeof result.result === "string" ? result.result : JSON.stringify(result.result, null, 2));
  }
  return lines.join("\n");
}

async function remove(name, error) {
  if (!confirm(`Remove the tool "${name}"? The agent is rebuilt without it; the current version serves meanwhile.`)) return;
  error.textContent = "";
  try {
    await api(agentPath(`/tools/${encodeURIComponent(name)}`), { method: "DELETE" });
    await followBuild();
  } catch (problem) {
    showError(error, problem);
  }
}

function secretsBox() {
  const rows = el("ul", { class: "secret-list", id: "secret-list" });
  const error = el("p", { class: "error", role: "alert" });
  const name = el("input", { id: "secret-name", maxlength: 64, required: true, placeholder: "NAME, e.g. ORDERS_API_TOKEN", "aria-label": "Secret name" });
  const value = el("input", { id: "secret-value-input", type: "password", required: true, autocomplete: "off", maxlength: 8000, "aria-label": "Secret value" });
  const form = el("form", { class: "row" }, name, value, el("button", { type: "submit" }, "Set secret"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    try {
      await api("/api/v1/secrets", { method: "POST", body: { name: name.value.trim(), value: value.value } });
      name.value = "";
      value.value = "";
      await loadSecrets(rows, error);
    } catch (problem) {
      showError(error, problem);
    }
  });
  loadSecrets(rows, error);
  return el("div", {}, el("p", { class: "muted" }, "Use them in a tool's headers as {{secret:NAME}}. Values are never shown."),
    rows, form, error);
}

async function loadSecrets(rows, error) {
  try {
    const found = await api("/api/v1/secrets");
    clear(rows);
    if (!found.secrets.length) rows.append(el("li", { class: "muted" }, "No secrets yet."));
    for (const secret of found.secrets) {
      rows.append(el("li", { dataset: { secret: secret.name } }, el("code", {}, secret.name),
        el("span", { class: "muted" }, ` · set ${when(secret.updated_at)} `),
        el("button", { type: "button", class: "danger", "aria-label": `Delete ${secret.name}`, onclick: () => drop(secret.name, rows, error) }, "Delete")));
    }
  } catch (problem) {
    showError(error, problem);
  }
}

async function drop(name, rows, error) {
  if (!confirm(`Delete the secret ${name}? Tools that use it fail until it is set again.`)) return;
  try {
    await api(`/api/v1/secrets/${encodeURIComponent(name)}`, { method: "DELETE" });
    await loadSecrets(rows, error);
  } catch (problem) {
    showError(error, problem);
  }
}
