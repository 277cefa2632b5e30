// The plan section of the agent page: the serving version's fields grouped by section, readable; a section's
// Edit turns its editable fields into a form, and Save sends only what changed (POST .../plan with the
// version it was read from). The AgentCreator reviews, tests and deploys the edit as a new version.

import { api } from "./api.js";
import { agentPath, followBuild, showError } from "./agent_page.js";
import { clear, el } from "./dom.js";

const LABELS = {
  persona: "Persona", greeting: "Greeting", language: "Language", model: "Model", system_prompt: "System prompt",
  information_to_collect: "Fields to collect", handoff_enabled: "Handoff enabled", handoff_rules: "Rules checked in code",
  handoff_judgement: "Conditions the model judges", handoff_message: "Handoff message", closing_message: "Closing message",
  knowledge_k: "Passages per knowledge search", tools: "Built-in tools", actions: "Your tools", action_map: "Action map",
  internal_notes: "Internal notes",
};
const LINES = new Set(["information_to_collect", "handoff_judgement", "internal_notes", "tools"]);
const JSON_FIELDS = new Set(["handoff_rules"]);
const LONG = new Set(["system_prompt"]);

export function renderPlan(card, data) {
  card.id = "agent-plan";
  card.append(el("h3", {}, "Plan"));
  if (!data.plan) {
    card.append(el("p", { class: "muted" }, "Nothing is deployed yet: the plan shows here once the AgentCreator has built it."));
    return;
  }
  card.append(el("p", { class: "muted" }, `Version ${data.plan.version}, as it serves customers. Secrets show as [redacted].`));
  const editable = new Set(data.editable);
  for (const section of data.sections) card.append(sectionView(section, data.plan, editable, data.agent.status));
}

function sectionView(section, plan, editable, status) {
  const box = el("div", { class: "plan-section", dataset: { section: section.id } });
  const fields = section.fields.filter((name) => name in plan);
  const canEdit = status === "active" && fields.some((name) => editable.has(name));
  box.append(el("div", { class: "plan-section-head" },
    el("h4", {}, section.title),
    canEdit ? el("button", { type: "button", class: "ghost", "aria-label": `Edit ${section.title}`,
      onclick: () => editSection(box, section, plan, editable) }, "Edit") : null));
  const list = el("dl", { class: "plan-fields" });
  for (const name of fields) list.append(el("dt", {}, LABELS[name] || name), el("dd", { dataset: { field: name } }, show(plan[name])));
  box.append(list);
  return box;
}

function show(value) {
  if (value === null || value === undefined || value === "") return el("span", { class: "muted" }, "—");
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (Array.isArray(value)) {
    if (!value.length) return el("span", { class: "muted" }, "none");
    return el("ul", {}, value.map((item) => el("li", {}, typeof item === "object" ? describe(item) : String(item))));
  }
  if (typeof value === "object") return el("pre", {}, JSON.stringify(value, null, 2));
  return el("p", { class: "plan-text" }, String(value));
}

function describe(item) {
  if (item.description) return `${item.name || item.kind || item.id || ""}${item.name || item.kind || item.id ? ": " : ""}${item.description}`;
  return JSON.stringify(item);
}

function editSection(box, section, plan, editable) {
  const names = section.fields.filter((name) => editable.has(name));
  const form = el("form", { class: "plan-edit" });
  for (const name of names) {
    const id = `edit-${name}`;
    form.append(el("label", { for: id }, LABELS[name] || name, LINES.has(name) ? " (one per line)" : JSON_FIELDS.has(name) ? " (JSON)" : ""));
    form.append(input(id, name, plan[name]));
  }
  const error = el("p", { class: "error", role: "alert" });
  form.append(el("div", { class: "row" },
    el("button", { type: "submit" }, "Save as a new version"),
    el("button", { type: "button", class: "ghost", onclick: () => cancel(box, section, plan, editable) }, "Cancel")),
  error);
  form.addEventListener("submit", (event) => { event.preventDefault(); save(form, names, plan, error); });
  clear(box);
  box.append(el("h4", {}, section.title), form);
}

function cancel(box, section, plan, editable) {
  box.replaceWith(sectionView(section, plan, editable, "active"));
}

function input(id, name, value) {
  if (name === "knowledge_k") return el("input", { id, name, type: "number", min: 1, max: 10, value: value ?? 4 });
  if (LINES.has(name)) return el("textarea", { id, name, rows: Math.max(3, (value || []).length + 1) }, (value || []).join("\n"));
  if (JSON_FIELDS.has(name)) return el("textarea", { id, name, rows: 8, class: "mono" }, JSON.stringify(value || [], null, 2));
  if (LONG.has(name)) return el("textarea", { id, name, rows: 14 }, value || "");
  return el("textarea", { id, name, rows: 2 }, value || "");
}

function read(form, name) {
  const raw = form.elements[name].value;
  if (name === "knowledge_k") return Number(raw);
  if (LINES.has(name)) return raw.split("\n").map((line) => line.trim()).filter(Boolean);
  if (JSON_FIELDS.has(name)) return JSON.parse(raw || "[]");
  if (name === "greeting") return raw.trim() ? raw : null;
  return raw;
}

async function save(form, names, plan, error) {
  error.textContent = "";
  const changes = {};
  try {
    for (const name of names) {
      const value = read(form, name);
      if (JSON.stringify(value) !== JSON.stringify(plan[name] ?? null)) changes[name] = value;
    }
  } catch (problem) {
    error.textContent = `Not valid JSON: ${problem.message}`;
    return;
  }
  if (!Object.keys(changes).length) { error.textContent = "Nothing changed."; return; }
  try {
    await api(agentPath("/plan"), { method: "POST", body: { changes, base_version: plan.version } });
    await followBuild();
  } catch (problem) {
    showError(error, problem);
  }
}
