// Switching between the tabs (the Charts tab reloads its figures when shown).

import { report } from "./api.js";
import { loadCharts } from "./charts.js";
import { $ } from "./dom.js";

export function showTab(name) {
  for (const button of $("tabs").querySelectorAll("button")) button.classList.toggle("active", button.dataset.tab === name);
  for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== `panel-${name}`;
  if (name === "charts") loadCharts().catch(report);
}
