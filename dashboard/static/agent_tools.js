// The tools section of the agent page: the agent's HTTP and MCP tools (header values show secret
// references, never values) with Remove, and Add a tool (tool_form.js; POST .../tools, the server's checks
// are MCP's add_agent_tool's), each of which rebuilds the agent; and the organisation's secrets, by name
// only: a value is set or replaced here and never shown again.

import { api } from "./api.js";
import { agentPath, followBuild, lastAttempt, page, showError } from "./agent_page.js";
import { clear, el, when } from "./dom.js";
import { toolEditor } from "./tool_form.js";

export function renderTools(card, data) {
  card.id = "agent-tools";
  card.append(el("h3", {}, "Tools"));
  const list = el("div", {}, el("p", { class: "muted" }, "Loading…"));
  const error = el("p", { class: "error", role: "alert" });
  const active = data.agent.status === "active";
  card.append(list, error, active ? addBox() : null, el("h4", {}, "Secrets"), secretsBox());
  loadTools(list, error, data.agent.id, active);
}

// Add a tool: the agent is rebuilt with it (reviewed and tested); the current version serves meanwhile.
function addBox() {
  const editor = toolEditor("tool-new");
  const error = el("p", { class: "error", role: "alert", id: "tool-new-error" });
  const submit = el("button", { type: "submit" }, "Add the tool and rebuild");
  const form = el("form", { id: "tool-add", class: "tool-add", novalidate: true }, editor.node, el("div", { class: "row" }, submit), error);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    const before = lastAttempt();
    const attempted = (page.data.agent.artifact_version || 0) + 1;
    submit.disabled = true;
    try {
      await api(agentPath("/tools"), { method: "POST", body: { tool: editor.read() } });
      await followBuild(attempted, before);
    } catch (problem) {
      showError(error, problem);
    } finally {
      submit.disabled = false;
    }
  });
  return el("details", { class: "tool-add-box" }, el("summary", {}, "Add a tool"), form);
}

async function loadTools(list, error, id, canRemove) {
  try {
    const found = await api(agentPath("/tools"));
    if (page.agentId !== id) return;
    clear(list);
    if (!found.tools.length) {
      list.append(el("p", { class: "muted" }, "No tools of your own: the agent searches its knowledge and hands off."));
      return;
    }
    list.append(el("ul", { class: "tool-list" }, found.tools.map((tool) => el("li", { dataset: { tool: tool.name } },
      el("strong", {}, tool.name), " ", el("span", { class: "muted" }, tool.kind === "mcp" ? `MCP ${tool.url || tool.server || ""}` : `${tool.method} ${tool.url}`),
      tool.write ? el("span", { class: "pill pill-write" }, "write") : null,
      el("div", { class: "muted" }, tool.description || ""),
      canRemove ? el("button", { type: "button", class: "danger", "aria-label": `Remove ${tool.name}`, onclick: () => remove(tool.name, error) }, "Remove") : null))));
  } catch (problem) {
    showError(error, problem);
  }
}

async function remove(name, error) {
  if (!confirm(`Remove the tool "${name}"? The agent is rebuilt without it; the current version serves meanwhile.`)) return;
  const before = lastAttempt();
  const attempted = (page.data.agent.artifact_version || 0) + 1;
  try {
    await api(agentPath(`/tools/${encodeURIComponent(name)}`), { method: "DELETE" });
    await followBuild(attempted, before);
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
