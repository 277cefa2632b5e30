// The live creation progress view: the AgentCreator's stages, each document's indexing status, the plan
// reviews' findings and the test conversations. It follows the live WebSocket the page already holds
// (connection.js): the view reads the build once when it opens and once after every (re)connect, then again
// only when an event is about its agent (a stage's progress, a status, a document's indexing, the build's
// notification), a burst of them coalesced into one read. It never polls.
// The agent's id is in the address (#creation=agt_..., route.js), and the server keeps the build's record current
// at every stage, so a reload (or another admin opening the link) shows the build where it is.

import { ApiError, api, reloadSoon, report } from "./api.js";
import { $, clear, el, pill } from "./dom.js";
import { showTab } from "./tabs.js";

const HASH = /^#creation[=/]([A-Za-z0-9_-]{1,64})$/;
const EVENT_READ_MS = 100;  // events of one moment (a stage passed, the next started) make one read
const HEADLINES = {
  waiting: "Stored; the build has not started.",
  building: "The AgentCreator is building this agent…",
  live: "Live: the agent passed its reviews and tests and is taking conversations.",
  failed: "The build failed.",
  paused: "Paused.",
};
let shown = null;
let reads = 0;  // reads started: only the newest one's answer is drawn (two can overlap)

export function wireCreation() {
  $("creation-start").addEventListener("click", () => start().catch(fail));
}

// The agent whose build the view shows (route.js compares it with the address).
export function shownCreation() {
  return shown;
}

// Show the build of `agentId`; the address names it (a new history entry unless it already does, in either form).
export function showCreation(agentId) {
  shown = agentId;
  const found = HASH.exec(location.hash);
  if (!found || found[1] !== agentId) history.pushState(null, "", `${location.pathname}#creation=${agentId}`);
  $("creation-open").href = `#agent/${encodeURIComponent(agentId)}`;
  $("creation-error").textContent = "";
  showTab("creation");
  refresh().catch(fail);
}

// An event about `agentId` (its build's progress or status, one of its documents, its build's notification):
// the open view reads the build again.
export function creationEvent(agentId) {
  if (agentId && agentId === shown && !$("panel-creation").hidden) reloadSoon("creation", refresh, EVENT_READ_MS);
}

// The live socket is (re)connected: events written while it was down may not all be replayed (a fresh start), so
// the open view reads the build once.
export function creationResync() {
  if (shown && !$("panel-creation").hidden) refresh().catch(fail);
}

async function refresh() {
  const agentId = shown;
  if (!agentId || $("panel-creation").hidden) return;  // left for another view: its address is that view's
  const read = ++reads;
  const id = encodeURIComponent(agentId);
  const [progress, docs] = await Promise.all([
    api(`/api/v1/agents/${id}/creation`),
    api(`/api/v1/agents/${id}/documents?limit=200`),
  ]);
  if (agentId !== shown || read !== reads) return;  // another build was opened, or a newer read is on its way
  render(progress, docs.documents);
}

function render(progress, docs) {
  $("creation-title").textContent = `Agent ${progress.agent.name}`;
  const state = $("creation-state");
  clear(state);
  state.append(pill(progress.state), " ", HEADLINES[progress.state] || "");
  if (progress.agent.status_reason && progress.state !== "live") {
    state.append(el("span", { class: "muted" }, ` ${progress.agent.status_reason}`));
  }
  $("creation-start").hidden = !(progress.state === "failed" || progress.state === "waiting");
  $("creation-failure").textContent = progress.failure || "";

  const stages = $("creation-stages");
  clear(stages);
  for (const stage of progress.stages) {
    stages.append(el("li", { dataset: { stage: stage.stage, status: stage.status } },
      el("strong", {}, stage.stage.replaceAll("_", " ")), pill(stage.status),
      stage.detail ? el("span", { class: "muted" }, stage.detail) : null));
  }

  const list = $("creation-docs");
  clear(list);
  if (!docs.length) list.append(el("li", { class: "muted" }, "No documents."));
  for (const doc of docs) {
    const progressNote = doc.progress ? `${doc.progress.done}/${doc.progress.total} chunks` : "";
    list.append(el("li", { dataset: { doc: doc.name, status: doc.status } },
      el("span", {}, doc.name), pill(doc.status),
      el("span", { class: "muted" }, doc.status_reason || progressNote || (doc.chunk_count ? `${doc.chunk_count} chunk${doc.chunk_count === 1 ? "" : "s"}` : ""))));
  }

  const reviews = $("creation-reviews");
  clear(reviews);
  if (!progress.reviews.length) reviews.append(el("li", { class: "muted" }, "No review yet."));
  for (const review of progress.reviews) {
    const verdict = review.approved ? "approved" : "changes asked";
    reviews.append(el("li", {}, el("strong", {}, `Cycle ${review.cycle}: ${verdict}`),
      review.issues.length
        ? el("ul", {}, ...review.issues.map((issue) => el("li", {}, `${issue.severity}: ${issue.message}`)))
        : el("span", { class: "muted" }, " no findings")));
  }

  const tests = $("creation-tests");
  clear(tests);
  if (!progress.tests.length) tests.append(el("li", { class: "muted" }, "No test conversations yet."));
  for (const test of progress.tests) {
    tests.append(el("li", {}, pill(test.passed ? "passed" : "failed"), " ", test.name,
      test.detail ? el("div", { class: "muted" }, test.detail) : null));
  }
}

async function start() {
  $("creation-error").textContent = "";
  await api(`/api/v1/agents/${encodeURIComponent(shown)}/creation`, { method: "POST" });
  await refresh();
}

function fail(error) {
  if (!(error instanceof ApiError && error.status === 401)) $("creation-error").textContent = error.message;
  report(error);
}
