// The simulations section of the agent page: the serving version's last report (each scenario passed or
// failed, why, and whether it is critical), the scenarios the agent is held to, Add a scenario (the admin's
// own, POST .../scenarios, as MCP's add_scenario) and Run again (POST .../simulations, one run per
// organisation at a time, a few a minute), which holds the agent to the scenarios added.

import { api } from "./api.js";
import { agentPath, page, showError } from "./agent_page.js";
import { clear, el, pill, when } from "./dom.js";

// What a scenario checks afterwards; `detail` names the one value the check needs, if any.
const CHECKS = [
  ["handed_off", "it hands off to a person", null],
  ["not_handed_off", "it stays with the agent", null],
  ["refused", "the agent declines", null],
  ["cited_source", "the answer cites a document", null],
  ["tool_called", "the agent calls the tool", "tool"],
  ["tool_not_called", "the agent does not call the tool", "tool"],
  ["asked_for", "the agent asks for", "field"],
  ["did_not_say", "the agent never says", "text"],
];

export function renderSimulations(card, data) {
  card.id = "agent-sims";
  card.append(el("h3", {}, "Simulations"));
  const body = el("div", {}, el("p", { class: "muted" }, "Loading…"));
  const scenarios = el("ul", { class: "scenario-list", id: "scenario-list" });
  const error = el("p", { class: "error", role: "alert" });
  const run = el("button", { type: "button", class: "ghost", id: "sims-run", disabled: data.agent.status !== "active" }, "Run again");
  run.addEventListener("click", () => runAgain(run, body, error));
  card.append(body, el("div", { class: "row" }, run), error,
    el("details", { class: "scenarios" }, el("summary", {}, "Scenarios"), scenarios, addForm(scenarios)));
  load(body, scenarios, error, data.agent.id);
}

async function load(body, scenarios, error, id) {
  try {
    const found = await api(agentPath("/simulations"));
    if (page.agentId !== id) return;
    show(body, found.report);
    listScenarios(scenarios, found.scenarios);
  } catch (problem) {
    showError(error, problem);
  }
}

async function runAgain(button, body, error) {
  error.textContent = "";
  button.disabled = true;
  button.textContent = "Running…";
  try {
    const found = await api(agentPath("/simulations"), { method: "POST" });
    show(body, found.report);
  } catch (problem) {
    showError(error, problem);
  } finally {
    button.disabled = false;
    button.textContent = "Run again";
  }
}

function listScenarios(list, scenarios) {
  clear(list);
  if (!scenarios.length) list.append(el("li", { class: "muted" }, "No scenarios yet: a build derives them from the SOP."));
  for (const scenario of scenarios) {
    list.append(el("li", { dataset: { scenario: scenario.id } }, el("strong", {}, scenario.name), " ",
      el("span", { class: "muted" }, `${scenario.origin === "admin" ? "yours" : "from the SOP"}${scenario.critical ? " · critical" : ""}`)));
  }
}

// Add a scenario: what the test customer says (one message a line, sent in order) and what must hold afterwards.
function addForm(list) {
  const name = el("input", { id: "scenario-name", required: true, maxlength: 200, placeholder: "A customer asks for a manager" });
  const messages = el("textarea", { id: "scenario-messages", rows: 3, required: true, placeholder: "I want to speak to a manager" });
  const check = el("select", { id: "scenario-check" }, CHECKS.map(([kind, label]) => el("option", { value: kind }, label)));
  const detail = el("input", { id: "scenario-detail", maxlength: 1000, disabled: true });
  const critical = el("input", { id: "scenario-critical", type: "checkbox" });
  const error = el("p", { class: "error", role: "alert", id: "scenario-error" });
  const note = el("p", { class: "muted", role: "status", id: "scenario-note" });
  check.addEventListener("change", () => {
    const needs = CHECKS.find(([kind]) => kind === check.value)[2];
    detail.disabled = !needs;
    detail.placeholder = needs || "";
    if (!needs) detail.value = "";
  });
  const form = el("form", { id: "scenario-form", class: "scenario-form", novalidate: true },
    el("label", { for: "scenario-name" }, "Name"), name,
    el("label", { for: "scenario-messages" }, "The customer says (one message a line)"), messages,
    el("div", { class: "row" }, el("label", { for: "scenario-check" }, "Afterwards"), check,
      el("label", { for: "scenario-detail", class: "sr-only" }, "The tool, field or words the check needs"), detail),
    el("label", { class: "inline", for: "scenario-critical" }, critical, " Critical: a failure blocks the next deploy"),
    el("div", { class: "row" }, el("button", { type: "submit" }, "Add the scenario")), error, note);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    note.textContent = "";
    const [kind, , needs] = CHECKS.find(([k]) => k === check.value);
    const assertion = needs ? { kind, [needs]: detail.value.trim() } : { kind };
    const scenario = {
      id: scenarioId(name.value),
      name: name.value.trim(),
      critical: critical.checked,
      customer_messages: messages.value.split("\n").map((line) => line.trim()).filter(Boolean),
      assertions: [assertion],
    };
    try {
      await api(agentPath("/scenarios"), { method: "POST", body: { scenario } });
      form.reset();
      detail.disabled = true;
      note.textContent = `Added "${scenario.name}": Run again to hold the agent to it (every build does too).`;
      const found = await api(agentPath("/simulations"));
      listScenarios(list, found.scenarios);
    } catch (problem) {
      showError(error, problem);
    }
  });
  return form;
}

// A scenario's id from its name: lowercase words joined by _ (the server says if it is taken or empty).
function scenarioId(name) {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_+|_+$/g, "").slice(0, 60);
}

function show(body, report) {
  clear(body);
  if (!report) {
    body.append(el("p", { class: "muted" }, "No simulation has run on this version yet. Run them to see how it holds up."));
    return;
  }
  const passed = report.results.filter((r) => r.passed).length;
  body.append(el("p", {}, pill(report.passed ? "passed" : "failed"),
    ` v${report.version}: ${passed} of ${report.results.length} scenarios passed · ${when(report.created_at)} UTC`));
  const list = el("ul", { class: "sim-results" });
  for (const result of report.results) {
    const state = result.skipped ? "skipped" : result.passed ? "passed" : "failed";
    list.append(el("li", { class: `sim-${state}`, dataset: { result: result.scenario_id } },
      pill(state), " ", result.name || result.scenario_id, result.critical ? el("span", { class: "muted" }, " · critical") : null,
      result.skipped ? el("div", { class: "muted" }, result.skipped) : null,
      result.failures.length ? el("ul", {}, result.failures.map((f) => el("li", { class: "bad" }, f))) : null));
  }
  body.append(list);
}
