// The agent page: opened from the Agents tab, it shows one agent (status, pause/resume, a link to its charts)
// and its sections, each a module of its own: plan, versions, test chat, simulations, documents, keys,
// tools and secrets. An edit, a restore or a tool removal starts a build; the page follows it (`followBuild`).

import { ApiError, api, report } from "./api.js";
import { renderChat } from "./agent_chat.js";
import { renderDocuments } from "./agent_docs.js";
import { renderKeys } from "./agent_keys.js";
import { renderPlan } from "./agent_plan.js";
import { renderSimulations } from "./agent_sims.js";
import { renderTools } from "./agent_tools.js";
import { renderVersions } from "./agent_versions.js";
import { $, clear, el, pill } from "./dom.js";
import { showTab } from "./tabs.js";

const POLL_MS = 1000;
const POLL_MAX = 300;

export const page = { agentId: null, data: null, polling: false, eventTimer: null };

// The Agents tab's rows open the page (a button in each row, so the keyboard reaches it too; agent_entry.js wires them).
// The agent page's Back button (wired by agent_entry.js, which loads this module when it is first needed).
export function leaveAgent() {
  page.agentId = null;
  showTab("agents");
}

export async function openAgent(id) {
  page.agentId = id;
  page.data = null;
  say("");
  showTab("agent");
  clear($("agent-page"));
  $("agent-page").append(el("p", { class: "muted" }, "Loading…"));
  try {
    await refresh();
    const heading = $("agent-name");
    if (heading) heading.focus();  // keyboard and screen-reader users land on the page they opened
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401)) say(error.message);
    report(error);
  }
}

export function say(message) {
  $("agent-error").textContent = message || "";
}

// The error of a write, shown beside its section (or at the top); a 401 signs the page out instead.
export function showError(where, error) {
  if (error instanceof ApiError && error.status === 401) return;
  if (where) where.textContent = error.message; else say(error.message);
  report(error);
}

export function agentPath(suffix = "") {
  return `/api/v1/agents/${encodeURIComponent(page.agentId)}${suffix}`;
}

// Read the agent again and draw every section.
export async function refresh() {
  const id = page.agentId;
  const data = await api(agentPath());
  if (id !== page.agentId) return;  // another agent was opened meanwhile
  page.data = data;
  const root = $("agent-page");
  clear(root);
  root.append(header(data));
  const grid = el("div", { class: "agent-grid" });
  root.append(grid);
  const sections = [renderPlan, renderVersions, renderChat, renderSimulations, renderDocuments, renderKeys, renderTools];
  for (const render of sections) {
    const card = el("section", { class: "card agent-card" });
    grid.append(card);
    render(card, data);
  }
}

// A live event about an agent (status, progress, update from anywhere, MCP included): the open page reads it
// again. Only the header is redrawn while a section is being edited or a chat message typed, so nothing the
// admin is writing is lost; the whole page otherwise (a new version serves, say).
export function agentEvent(agentId) {
  if (agentId !== page.agentId || page.polling || page.eventTimer) return;
  page.eventTimer = setTimeout(() => {
    page.eventTimer = null;
    redraw().catch((error) => showError(null, error));
  }, 300);
}

async function redraw() {
  const id = page.agentId;
  const busy = document.querySelector("#agent-page form.plan-edit") || ($("chat-input") && $("chat-input").value);
  if (!busy) { await refresh(); return; }
  const data = await api(agentPath());
  if (id !== page.agentId) return;
  const old = document.querySelector("#agent-page .agent-head");
  if (old) old.replaceWith(header(data));
}

function header(data) {
  const agent = data.agent;
  const paused = agent.status === "paused";
  const active = agent.status === "active";
  const toggle = paused || active
    ? el("button", { type: "button", id: "agent-toggle", class: paused ? "" : "danger", onclick: () => pauseOrResume(paused) },
      paused ? "Resume" : "Pause")
    : null;
  const serving = agent.artifact_version ? `version ${agent.artifact_version} serving` : "nothing deployed yet";
  return el("div", { class: "agent-head" },
    el("div", {},
      el("h2", { id: "agent-name", tabindex: -1 }, agent.name),
      el("div", { class: "meta" }, pill(agent.status), " ", el("span", { id: "agent-serving" }, serving), " · ",
        el("code", {}, agent.id)),
      agent.status_reason ? el("p", { class: "muted" }, agent.status_reason) : null,
      buildNote(data.build)),
    el("div", { class: "agent-actions" },
      toggle,
      el("a", { href: data.charts, class: "button-link" }, "Charts for this agent")));
}

function buildNote(build) {
  if (!build) return null;
  if (build.succeeded === null) {
    const stage = build.stage ? ` (${build.stage.name.replaceAll("_", " ")}: ${build.stage.status})` : "";
    return el("p", { class: "build-note", id: "agent-build", role: "status" },
      `Version ${build.version} is being reviewed and tested${stage}; the current version serves meanwhile.`);
  }
  if (build.succeeded === false) {
    return el("p", { class: "build-note bad", id: "agent-build", role: "status" },
      `Version ${build.version} was not deployed: ${build.failure || "it failed"}. The current version still serves.`);
  }
  return null;
}

async function pauseOrResume(paused) {
  say("");
  try {
    await api(agentPath(paused ? "/resume" : "/pause"), { method: "POST" });
    await refresh();
  } catch (error) {
    showError(null, error);
  }
}

// After a write that starts a build of version `attempted`: read the agent until that version serves or its
// build failed (a failure recorded before this build started, `before`, does not count), bounded.
export async function followBuild(attempted, before) {
  if (page.polling) return;
  page.polling = true;
  const id = page.agentId;
  try {
    for (let i = 0; i < POLL_MAX && id === page.agentId; i++) {
      await refresh();
      const agent = page.data.agent;
      const build = page.data.build;
      if ((agent.artifact_version || 0) >= attempted) return;
      if (build && build.version === attempted && build.succeeded === false && build.started_at !== before) return;
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } catch (error) {
    showError(null, error);
  } finally {
    page.polling = false;
  }
}

// The started_at of the last build attempt shown, to tell a new failure from an old one.
export function lastAttempt() {
  return page.data && page.data.build ? page.data.build.started_at : null;
}
