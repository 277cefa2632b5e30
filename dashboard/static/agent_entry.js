// The agent page's door: its modules (agent_page.js and the sections it imports) load when an agent is first
// opened, or once the browser is idle after the first paint; fetching and compiling them was part of every
// view's first paint, for a page most loads never open. The clicks are wired here at once, so none is lost.

import { report } from "./api.js";
import { $ } from "./dom.js";

let loading = null;

function agentPage() {
  loading ??= import("./agent_page.js");
  return loading;
}

export function installAgentPage() {
  $("agent-rows").addEventListener("click", (event) => {
    const target = event.target.closest("[data-open-agent]");
    if (target) agentPage().then((page) => page.openAgent(target.dataset.openAgent)).catch(report);
  });
  $("agent-back").addEventListener("click", () => agentPage().then((page) => page.leaveAgent()).catch(report));
  const idle = window.requestIdleCallback || ((run) => setTimeout(run, 1000));
  idle(() => agentPage().catch(report), { timeout: 5000 });
}

// A live event about an agent: only an open agent page (so a loaded one) redraws.
export function agentEvent(agentId) {
  if (loading) loading.then((page) => page.agentEvent(agentId)).catch(report);
}
