// The Agents tab: each agent with its status and, while the AgentCreator works, its progress.

import { api } from "./api.js";
import { $, clear, el, pill, when } from "./dom.js";
import { READS } from "./early.js";
import { agentName, state } from "./state.js";

const STAGES = ["parse_sop", "draft_plan", "review_plan", "simulate", "deploy"];

export async function loadAgents() {
  const body = await api(READS.agents);
  state.agents = new Map(body.agents.map((agent) => [agent.id, agent]));
  const rows = $("agent-rows");
  // Every agent event redraws the rows: a keyboard user on an agent's button keeps the focus there, not on the page.
  const focused = rows.contains(document.activeElement) ? document.activeElement.dataset.openAgent : null;
  clear(rows);
  for (const agent of body.agents) {
    rows.append(el("tr", { dataset: { agent: agent.id } },
      el("td", {}, el("button", { type: "button", class: "link", dataset: { openAgent: agent.id } }, el("strong", {}, agent.name)),
        el("br"), el("code", { class: "muted" }, agent.id)),
      el("td", {}, agent.agent_type),
      el("td", {}, pill(agent.status), agent.status_reason ? el("div", { class: "muted" }, agent.status_reason) : null),
      el("td", { class: "progress-cell" }, progressBar(agent)),
      el("td", {}, when(agent.updated_at))));
  }
  if (focused) {
    const again = rows.querySelector(`[data-open-agent="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
  for (const select of [$("h-agent"), $("k-agent")]) {
    const keep = select.value;
    while (select.options.length > 1) select.remove(1);
    for (const agent of body.agents) select.append(el("option", { value: agent.id }, agent.name));
    select.value = keep;
  }
  for (const card of state.cards.values()) if (card.agentId) card.title.textContent = agentName(card.agentId);
}

export function setProgress(agentId, data) {
  state.progress.set(agentId, data);
  const cell = document.querySelector(`tr[data-agent="${CSS.escape(agentId)}"] .progress-cell`);
  const agent = state.agents.get(agentId);
  if (cell && agent) {
    clear(cell);
    cell.append(progressBar({ ...agent, status: "creating" }));
  }
}

function progressBar(agent) {
  if (agent.status !== "creating") return el("span", { class: "muted" }, agent.status === "active" ? "deployed" : "—");
  const step = state.progress.get(agent.id);
  if (!step) return el("span", { class: "muted" }, "waiting for the AgentCreator…");
  const done = STAGES.indexOf(step.stage) + (step.status === "running" ? 0 : 1);
  const meter = el("meter", { min: 0, max: STAGES.length, value: Math.max(done, 0) });
  return el("div", {}, meter, el("div", { class: "muted" }, `${step.stage.replaceAll("_", " ")}: ${step.status}`));
}
