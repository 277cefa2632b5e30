// The simulations section of the agent page: the serving version's last report (each scenario passed or
// failed, why, and whether it is critical) and Run again (POST .../simulations, one run per organisation
// at a time, a few a minute).

import { api } from "./api.js";
import { agentPath, page, showError } from "./agent_page.js";
import { clear, el, pill, when } from "./dom.js";

export function renderSimulations(card, data) {
  card.id = "agent-sims";
  card.append(el("h3", {}, "Simulations"));
  const body = el("div", {}, el("p", { class: "muted" }, "Loading…"));
  const error = el("p", { class: "error", role: "alert" });
  const run = el("button", { type: "button", class: "ghost", id: "sims-run", disabled: data.agent.status !== "active" }, "Run again");
  run.addEventListener("click", () => runAgain(run, body, error));
  card.append(body, el("div", { class: "row" }, run), error);
  const id = data.agent.id;
  api(agentPath("/simulations")).then((found) => { if (page.agentId === id) show(body, found.report); })
    .catch((problem) => showError(error, problem));
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
    list.append(el("li", { class: `sim-${state}` },
      pill(state), " ", result.name || result.scenario_id, result.critical ? el("span", { class: "muted" }, " · critical") : null,
      result.skipped ? el("div", { class: "muted" }, result.skipped) : null,
      result.failures.length ? el("ul", {}, result.failures.map((f) => el("li", { class: "bad" }, f))) : null));
  }
  body.append(list);
}
