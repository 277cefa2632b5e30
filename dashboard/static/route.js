// Deep links to the agent views, so a reload, a shared link and the browser's Back and Forward keep the admin
// where they were: #agent/<id> is the agent page, #creation=<id> (or #creation/<id>) the build's progress view.
// Opening either view pushes its address (one history entry per view); leaving it for a tab pushes the bare
// page address. `hashchange` (Back, Forward, a pasted link) opens the view the address names. The agent page
// itself loads on demand (agent_entry.js), so opening it waits for its module.

import { agentPage, forgetAgent } from "./agent_entry.js";
import { report } from "./api.js";
import { showCreation, shownCreation } from "./creation.js";
import { $ } from "./dom.js";
import { showTab } from "./tabs.js";

const AGENT = /^#agent\/([A-Za-z0-9_-]{1,64})$/;
const CREATION = /^#creation[=/]([A-Za-z0-9_-]{1,64})$/;

function openAgent(id) {
  agentPage().then((view) => view.openAgent(id)).catch(report);
}

export function agentLink(id) {
  return `#agent/${encodeURIComponent(id)}`;
}

// Go to the agent page of `id`: a new history entry, then the view (through hashchange, or at once when the
// address already names it).
export function goToAgent(id) {
  if (location.hash === agentLink(id)) openAgent(id);
  else location.hash = agentLink(id);
}

// Leaving a view for a tab: the address no longer names the view (a reload shows the tab), and Back returns to it.
export function leaveView() {
  if (AGENT.test(location.hash) || CREATION.test(location.hash)) {
    history.pushState(null, "", location.pathname + location.search);
  }
}

// Open the view the address names (after sign-in, and on hashchange). An address that names no view while one
// is shown (Back past the view) shows the Agents tab, where the views are opened from.
export function openRoute() {
  if ($("app").hidden) return;
  const agent = AGENT.exec(location.hash);
  const creation = CREATION.exec(location.hash);
  if (agent) {
    const id = agent[1];
    agentPage().then((view) => {
      if ($("panel-agent").hidden || view.page.agentId !== id) view.openAgent(id);
    }).catch(report);
  } else if (creation) {
    if ($("panel-creation").hidden || shownCreation() !== creation[1]) showCreation(creation[1]);
  } else if (!$("panel-agent").hidden || !$("panel-creation").hidden) {
    forgetAgent();
    showTab("agents");
  }
}

// The Agents tab's rows open the agent page (a button in each row, so the keyboard reaches it too); its Back
// button returns to the tab.
export function watchRoutes() {
  window.addEventListener("hashchange", openRoute);
  $("agent-rows").addEventListener("click", (event) => {
    const target = event.target.closest("[data-open-agent]");
    if (target) goToAgent(target.dataset.openAgent);
  });
  $("agent-back").addEventListener("click", () => {
    forgetAgent();
    leaveView();
    showTab("agents");
  });
}
