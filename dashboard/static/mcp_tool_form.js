// An MCP server tool on the agent page: Edit (the fields MCP's update_agent_tool takes for kind "mcp": name,
// description, URL and bearer secret of an HTTP server, the allowed and read-only tools, timeout, response cap;
// a stdio server's registered name is the operator's and is not edited here) and Try it (POST .../tools/{name}/test,
// MCP's test_agent_tool: a dry run says what would be asked of which server; Check the server lists its tools
// through the platform's address policy, secret, timeout and byte cap, as a build does, and shows each allowed
// tool with its arguments, or why the server cannot be used). A refusal goes beside the field it names.

import { api } from "./api.js";
import { agentPath, showError } from "./agent_page.js";
import { el } from "./dom.js";
import { fieldProblems } from "./tool_form.js";

const list = (text) => text.split(",").map((item) => item.trim()).filter(Boolean);

// `prefix` makes the ids unique; `tool` is the stored server. `read()` gives the changes, `showProblem` the reason.
export function mcpEditor(prefix, tool) {
  const id = (name) => `${prefix}-${name}`;
  const problems = new Map();
  const controls = new Map();
  const field = (name, label, control) => {
    const problem = el("span", { class: "error field-error", id: id(`${name}-error`), role: "alert" });
    problems.set(name, problem);
    controls.set(name, control);
    control.id = id(name);
    control.setAttribute("aria-describedby", problem.id);
    return el("div", { class: "tool-field" }, el("label", { for: control.id }, label), control, problem);
  };
  const http = tool.transport !== "stdio";
  const name = el("input", { required: true, maxlength: 64, autocomplete: "off" });
  const description = el("input", { maxlength: 1000 });
  const url = el("input", { maxlength: 2048, inputmode: "url", placeholder: "https://mcp.example.com/mcp" });
  const secret = el("input", { maxlength: 64, autocomplete: "off", placeholder: "ORDERS_MCP_TOKEN" });
  const allowed = el("input", { maxlength: 4000, autocomplete: "off", placeholder: "find_order, cancel_order" });
  const readOnly = el("input", { maxlength: 4000, autocomplete: "off", placeholder: "find_order" });
  const timeout = el("input", { type: "number", min: 0.5, max: 30, step: 0.5 });
  const cap = el("input", { type: "number", min: 1000, max: 1000000, step: 1000 });
  name.value = tool.name || "";
  description.value = tool.description || "";
  url.value = tool.url || "";
  secret.value = tool.bearer_secret || "";
  allowed.value = (tool.allowed_tools || []).join(", ");
  readOnly.value = (tool.read_only_tools || []).join(", ");
  timeout.value = tool.timeout_seconds ?? 10;
  cap.value = tool.max_response_bytes ?? 64000;
  const node = el("div", { class: "tool-editor", dataset: { toolEditor: prefix } },
    field("name", "Name (prefixes its tools' names)", name),
    field("description", "What the server is for", description),
    http ? field("url", "Server URL", url) : el("p", { class: "muted" }, `Operator-registered stdio server: ${tool.server}`),
    http ? field("bearer_secret", "Bearer token: the name of a secret (empty: none)", secret) : null,
    field("allowed_tools", "Tools the agent may call (comma-separated, as the server names them)", allowed),
    field("read_only_tools", "Of those, the ones that change nothing (no customer confirmation)", readOnly),
    el("div", { class: "create-row" },
      field("timeout_seconds", "Timeout (seconds, 0.5 to 30)", timeout),
      field("max_response_bytes", "Largest answer read (bytes)", cap)));

  function read() {
    clearProblems();
    const changes = {
      name: name.value.trim(),
      description: description.value.trim(),
      allowed_tools: list(allowed.value),
      read_only_tools: list(readOnly.value),
    };
    if (http) {
      changes.url = url.value.trim();
      changes.bearer_secret = secret.value.trim() || null;
    }
    if (timeout.value !== "") changes.timeout_seconds = Number(timeout.value);
    if (cap.value !== "") changes.max_response_bytes = Number(cap.value);
    return changes;
  }

  const { show: showProblem, clear: clearProblems } = fieldProblems(problems, (key) => controls.get(key));

  return { node, read, showProblem };
}

// Try it for an MCP server: nothing to type, two questions to ask.
export function mcpTryForm(tool) {
  const prefix = `tool-try-${tool.name}`;
  const error = el("p", { class: "error", role: "alert", id: `${prefix}-error` });
  const out = el("pre", { class: "tool-try-result", id: `${prefix}-result`, role: "status" });
  const dry = el("button", { type: "submit" }, "Dry run");
  const check = el("button", { type: "button", class: "ghost" }, "Check the server");
  const form = el("form", { class: "tool-try", novalidate: true, dataset: { keep: "try", panel: "try" }, "aria-label": `Try ${tool.name}` },
    el("p", { class: "muted" }, "Checking connects to the server, lists its tools and looks for each allowed one; no tool is called."),
    el("div", { class: "row" }, dry, check), error, out);
  const run = async (sendIt) => {
    error.textContent = "";
    dry.disabled = check.disabled = true;
    try {
      const result = await api(agentPath(`/tools/${encodeURIComponent(tool.name)}/test`), {
        method: "POST", body: { arguments: {}, send: sendIt },
      });
      out.textContent = describe(result);
    } catch (problem) {
      out.textContent = "";
      showError(error, problem);
    } finally {
      dry.disabled = check.disabled = false;
    }
  };
  form.addEventListener("submit", (event) => { event.preventDefault(); run(false); });
  check.addEventListener("click", () => run(true));
  return form;
}

function describe(result) {
  const request = result.request || {};
  const lines = [`${result.sent ? "Asked" : "Would ask"}: ${request.method} ${request.url}`];
  for (const [name, value] of Object.entries(request.headers || {})) lines.push(`${name}: ${value}`);
  if (!result.sent) return lines.join("\n");
  lines.push("", `Answer: ${result.status}`);
  lines.push(...(result.errors || []).map((e) => `- ${e}`));
  for (const found of result.discovered || []) {
    const args = Object.keys((found.parameters && found.parameters.properties) || {});
    lines.push(`- ${found.tool} (the agent calls it ${found.name}; ${found.write ? "changes something: confirmed first" : "read-only"})`);
    if (found.description) lines.push(`  ${found.description}`);
    lines.push(`  arguments: ${args.length ? args.join(", ") : "none"}`);
  }
  return lines.join("\n");
}
