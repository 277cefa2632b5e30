// The agent page's door: its modules (agent_page.js and the sections it imports) load when an agent is first
// opened, or once the browser is idle after the first paint; fetching and compiling them was part of every
// view's first paint, for a page most loads never open. route.js opens the page through `agentPage()`.

import { report } from "./api.js";

let loading = null;

// The agent page's module, imported once.
export function agentPage() {
  loading ??= import("./agent_page.js");
  return loading;
}

// After the first paint (connection.js, once the lists are drawn), when the browser is idle: the page is then ready
// before the admin clicks an agent.
export function preloadAgentPage() {
  const idle = window.requestIdleCallback || ((run) => setTimeout(run, 1000));
  idle(() => agentPage().catch(report), { timeout: 5000 });
}

// The page's state is dropped when the admin leaves it (only a loaded page has any).
export function forgetAgent() {
  if (loading) loading.then((view) => { view.page.agentId = null; }).catch(report);
}

// A live event about an agent: only an open agent page (so a loaded one) redraws; `kind` "progress" (a build's
// stage) redraws its header only.
export function agentEvent(agentId, kind = "") {
  if (loading) loading.then((view) => view.agentEvent(agentId, kind)).catch(report);
}

// The live socket is (re)connected: an open agent page reads its agent once (events keep it current after).
export function agentResync() {
  if (loading) loading.then((view) => { if (view.page.agentId) view.agentEvent(view.page.agentId); }).catch(report);
}
