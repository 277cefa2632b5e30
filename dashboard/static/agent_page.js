// The agent page: opened from the Agents tab, it shows one agent (status, pause/resume, a link to its charts)
// and its sections, each a module of its own: plan, versions, test chat, simulations, documents, keys,
// tools and secrets. An edit, a restore or a tool change starts a build; the page follows it through the live
// WebSocket's events (connection.js -> agentEvent), never by polling: a stage's progress redraws the header, a
// new status, a change or the build's outcome every section the admin is not writing in.
// The Agents tab's rows open it through its address, #agent/<id> (route.js), so a reload and Back keep it.

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

const EVENT_READ_MS = 300;  // a burst of events (a stage passed, the next started) makes one read
const SECTIONS = [renderPlan, renderVersions, renderChat, renderSimulations, renderDocuments, renderKeys, renderTools];

export const page = { agentId: null, data: null, eventTimer: null, whole: false };

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
  if (id === null) return;  // the admin left the page (forgetAgent): nothing to read
  const data = await api(agentPath());
  if (id !== page.agentId) return;  // another agent was opened meanwhile
  page.data = data;
  const root = $("agent-page");
  clear(root);
  root.append(header(data));
  const grid = el("div", { class: "agent-grid" });
  root.append(grid);
  for (const render of SECTIONS) grid.append(section(render, data));
}

function section(render, data) {
  const card = el("section", { class: "card agent-card" });
  render(card, data);
  return card;
}

// A live event about an agent (its status, a build's progress or outcome, a change from anywhere, MCP included):
// the open page reads it again, once for a burst. `kind` "progress" (a build's stage) redraws the header only;
// anything else also redraws every section the admin is not writing in (see `busy`).
export function agentEvent(agentId, kind = "") {
  if (agentId !== page.agentId) return;
  if (kind !== "progress") page.whole = true;
  if (page.eventTimer) return;
  page.eventTimer = setTimeout(() => {
    page.eventTimer = null;
    const whole = page.whole;
    page.whole = false;
    redraw(whole).catch((error) => showError(null, error));
  }, EVENT_READ_MS);
}

async function redraw(whole) {
  // An event's read fires EVENT_READ_MS after the event: the admin may have left the page meanwhile (Back sets
  // agentId to null), and asking for /api/v1/agents/null then was a 422 in the console (seen under load in CI).
  const id = page.agentId;
  if (id === null) return;
  const data = await api(agentPath());
  if (id !== page.agentId || $("panel-agent").hidden) return;
  page.data = data;
  const old = document.querySelector("#agent-page .agent-head");
  if (!old) return;  // the page has not drawn yet: its first read draws it
  old.replaceWith(header(data));
  if (!whole) return;
  const cards = document.querySelectorAll("#agent-page .agent-grid > .agent-card");
  SECTIONS.forEach((render, i) => {
    if (cards[i] && !busy(cards[i])) cards[i].replaceWith(section(render, data));
  });
}

const TYPING = new Set(["text", "search", "url", "email", "password", "number", "tel", ""]);

// A section the admin is writing in is not redrawn under them: a form open in it (a plan section's edit, a tool's
// Edit or Try it, Add a tool, a scenario), the focus in one of its fields, or words typed and not yet sent (a
// chat message). Redrawing it would drop what they typed and move the focus off the field they type in.
function busy(card) {
  if (card.querySelector("form.plan-edit, details[open], [data-keep]")) return true;
  const active = document.activeElement;
  if (active && card.contains(active) && (active.matches("textarea, select") || (active.matches("input") && TYPING.has(active.type)))) {
    return true;
  }
  return Array.from(card.querySelectorAll("input, textarea")).some((field) =>
    (field.tagName === "TEXTAREA" || TYPING.has(field.type)) && field.value !== field.defaultValue);
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

// After a write that started a build: the page drawn afresh (the form that was sent closes, the build shows in
// the header); the build's events then keep it current until its version serves or it fails.
export async function followBuild() {
  await refresh();
}
