// Switching between the tabs (the Charts and History tabs reload when shown). The session page is a panel
// without a tab of its own; `state.tab` remembers the tab it was opened from, for its Back button.

import { report } from "./api.js";
import { loadCharts } from "./charts.js";
import { $ } from "./dom.js";
import { loadHistory } from "./history.js";
import { loadAccessLists } from "./machines.js";
import { state } from "./state.js";

export function showTab(name) {
  for (const button of $("tabs").querySelectorAll("button")) {
    const active = button.dataset.tab === name;
    button.classList.toggle("active", active);
    if (active) button.setAttribute("aria-current", "page");  // screen readers say which tab is shown
    else button.removeAttribute("aria-current");
  }
  for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== `panel-${name}`;
  if (name !== "session") state.tab = name;
  if (name !== "session") state.historySelected = null;  // the live feed stops writing to a closed page
  if (name === "charts") loadCharts().catch(report);
  if (name === "history") loadHistory(false).catch(report);
  if (name === "account") loadAccessLists().catch(report);
}
