// The keys section of the agent page: this agent's API keys, minting one (its secret is shown once, then
// forgotten) and revoking one (POST .../keys/{id}/revoke: only a key of this agent).

import { api } from "./api.js";
import { agentPath, page, showError } from "./agent_page.js";
import { clear, el, pill, when } from "./dom.js";

export function renderKeys(card, data) {
  card.id = "agent-keys";
  card.append(el("h3", {}, "API keys"));
  const rows = el("tbody");
  const error = el("p", { class: "error", role: "alert" });
  const secret = el("div", { class: "secret", hidden: true, id: "agent-secret-box" });
  const name = el("input", { id: "agent-key-name", maxlength: 64, required: true, placeholder: "Key name, e.g. website", "aria-label": "Key name" });
  const ttl = el("input", { id: "agent-key-ttl", type: "number", min: 1, max: 3650, placeholder: "Expires in days (optional)", "aria-label": "Expires in days" });
  const form = el("form", { class: "row" }, name, ttl, el("button", { type: "submit" }, "Mint key"));
  form.addEventListener("submit", (event) => { event.preventDefault(); mint(name, ttl, secret, rows, error); });
  card.append(form, secret, el("table", { class: "table" },
    el("thead", {}, el("tr", {}, el("th", {}, "Name"), el("th", {}, "Prefix"), el("th", {}, "Last used"), el("th", {}, "State"), el("th", {}, el("span", { class: "visually-hidden" }, "Actions")))),
    rows), error);
  load(rows, error, data.agent.id);
}

async function load(rows, error, id) {
  try {
    const found = await api(agentPath("/keys"));
    if (page.agentId !== id) return;
    clear(rows);
    if (!found.keys.length) rows.append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No keys yet: mint one for your app.")));
    for (const key of found.keys) {
      const revoked = Boolean(key.revoked_at);
      const expired = key.expires_at && new Date(key.expires_at) < new Date();
      rows.append(el("tr", { dataset: { key: key.id } },
        el("td", {}, key.name), el("td", {}, el("code", {}, `${key.prefix}…`)), el("td", {}, when(key.last_used_at)),
        el("td", {}, pill(revoked ? "revoked" : expired ? "expired" : "active")),
        el("td", {}, revoked ? null : el("button", { type: "button", class: "danger", "aria-label": `Revoke ${key.name}`, onclick: () => revoke(key, rows, error) }, "Revoke"))));
    }
  } catch (problem) {
    showError(error, problem);
  }
}

async function mint(name, ttl, secret, rows, error) {
  error.textContent = "";
  const body = { name: name.value.trim() };
  if (ttl.value) body.ttl_days = Number(ttl.value);
  try {
    const minted = await api(agentPath("/keys"), { method: "POST", body });
    name.value = "";
    ttl.value = "";
    const value = el("code", { id: "agent-secret-value" }, minted.secret);
    secret.replaceChildren(el("strong", {}, "Copy this secret now: it will not be shown again."), value,
      el("div", {}, el("button", { type: "button", onclick: () => navigator.clipboard.writeText(value.textContent) }, "Copy"), " ",
        el("button", { type: "button", class: "ghost", onclick: () => { secret.replaceChildren(); secret.hidden = true; } }, "Dismiss")));
    secret.hidden = false;
    await load(rows, error, page.agentId);
  } catch (problem) {
    showError(error, problem);
  }
}

async function revoke(key, rows, error) {
  if (!confirm(`Revoke the key "${key.name}"? Apps using it stop working at once.`)) return;
  try {
    await api(agentPath(`/keys/${encodeURIComponent(key.id)}/revoke`), { method: "POST" });
    await load(rows, error, page.agentId);
  } catch (problem) {
    showError(error, problem);
  }
}
