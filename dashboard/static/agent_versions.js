// The versions section of the agent page: every deployed version, a field-by-field diff of any two
// (GET .../versions/{a}/diff/{b}), and Restore, which deploys an older version again as a new one after
// the same review and tests as an edit.

import { api } from "./api.js";
import { agentPath, followBuild, showError } from "./agent_page.js";
import { clear, el, when } from "./dom.js";

export function renderVersions(card, data) {
  card.id = "agent-versions";
  card.append(el("h3", {}, "Versions"));
  const versions = data.plan ? data.plan.versions : [];
  if (!versions.length) {
    card.append(el("p", { class: "muted" }, "No version is deployed yet."));
    return;
  }
  const error = el("p", { class: "error", role: "alert" });
  const diff = el("div", { class: "plan-diff", id: "plan-diff", "aria-live": "polite" });
  const current = data.agent.artifact_version;
  const rows = el("tbody");
  for (const version of versions) {
    rows.append(el("tr", { dataset: { version: version.version } },
      el("td", {}, `v${version.version}`, version.current ? el("span", { class: "pill pill-active" }, "serving") : null),
      el("td", {}, when(version.created_at)),
      el("td", {}, el("code", { title: version.sha256 }, version.sha256.slice(0, 12))),
      el("td", {}, el("div", { class: "row" },
        version.current ? null : el("button", { type: "button", class: "ghost", dataset: { diff: version.version },
          onclick: () => showDiff(diff, error, version.version, current) }, `Diff with v${current}`),
        version.current || data.agent.status !== "active" ? null : el("button", { type: "button", class: "danger",
          dataset: { restore: version.version }, "aria-label": `Restore version ${version.version}`, onclick: () => restore(error, version.version, current) }, "Restore")))));
  }
  card.append(el("table", { class: "table" },
    el("thead", {}, el("tr", {}, el("th", {}, "Version"), el("th", {}, "Deployed (UTC)"), el("th", {}, "sha256"), el("th", {}, el("span", { class: "visually-hidden" }, "Actions")))),
    rows));
  card.append(...[compare(versions, diff, error), error, diff].filter(Boolean));  // append(null) writes "null"
}

function compare(versions, diff, error) {
  if (versions.length < 2) return null;
  const options = () => versions.map((v) => el("option", { value: v.version }, `v${v.version}`));
  const from = el("select", { id: "diff-from", "aria-label": "Older version" }, options());
  const to = el("select", { id: "diff-to", "aria-label": "Newer version" }, options());
  from.value = String(versions[1].version);
  to.value = String(versions[0].version);
  const form = el("form", { class: "row" }, "Compare ", from, " with ", to, el("button", { type: "submit", class: "ghost" }, "Show diff"));
  form.addEventListener("submit", (event) => { event.preventDefault(); showDiff(diff, error, from.value, to.value); });
  return form;
}

async function showDiff(box, error, a, b) {
  error.textContent = "";
  try {
    const found = await api(agentPath(`/versions/${encodeURIComponent(a)}/diff/${encodeURIComponent(b)}`));
    clear(box);
    box.append(el("h4", {}, `v${found.from_version} → v${found.to_version}`));
    if (!found.changes.length) box.append(el("p", { class: "muted" }, "The two versions hold the same plan."));
    for (const change of found.changes) box.append(changeView(change));
  } catch (problem) {
    showError(error, problem);
  }
}

function changeView(change) {
  const item = el("div", { class: "diff-field", dataset: { field: change.field } }, el("strong", {}, change.field));
  if (change.unified_diff !== null && change.unified_diff !== undefined) {
    const pre = el("pre", { class: "unified" });
    for (const line of change.unified_diff.split("\n")) {
      const kind = line.startsWith("+") && !line.startsWith("+++") ? "add" : line.startsWith("-") && !line.startsWith("---") ? "del" : "";
      pre.append(el("span", { class: kind ? `diff-${kind}` : null }, line), "\n");
    }
    item.append(pre);
    return item;
  }
  if (change.added.length || change.removed.length) {
    for (const gone of change.removed) item.append(el("div", { class: "diff-del" }, "− ", text(gone)));
    for (const came of change.added) item.append(el("div", { class: "diff-add" }, "+ ", text(came)));
    return item;
  }
  item.append(el("div", { class: "diff-del" }, "− ", text(change.before)), el("div", { class: "diff-add" }, "+ ", text(change.after)));
  return item;
}

function text(value) {
  return typeof value === "string" ? value : JSON.stringify(value);
}

async function restore(error, version, current) {
  if (!confirm(`Restore version ${version}? It is reviewed and tested again, then deployed as a new version.`)) return;
  error.textContent = "";
  try {
    await api(agentPath(`/versions/${encodeURIComponent(version)}/restore`), {
      method: "POST", body: { base_version: current },
    });
    await followBuild();
  } catch (problem) {
    showError(error, problem);
  }
}
