// The API keys tab: list, mint (the secret is shown once) and revoke an agent's keys.

import { ApiError, api, report } from "./api.js";
import { $, clear, el, pill, when } from "./dom.js";
import { READS } from "./early.js";
import { agentName } from "./state.js";

export async function loadKeys() {
  const body = await api(READS.keys);
  const rows = $("key-rows");
  clear(rows);
  for (const key of body.keys) {
    const revoked = Boolean(key.revoked_at);
    const expired = key.expires_at && new Date(key.expires_at) < new Date();
    rows.append(el("tr", { dataset: { key: key.id } },
      el("td", {}, key.name),
      el("td", {}, agentName(key.agent_id)),
      el("td", {}, el("code", {}, `${key.prefix}…`)),
      el("td", {}, when(key.created_at)),
      el("td", {}, when(key.last_used_at)),
      el("td", {}, String(key.usage_count)),
      el("td", {}, pill(revoked ? "revoked" : expired ? "expired" : "active")),
      el("td", {}, revoked ? null : el("button", { type: "button", class: "danger", onclick: () => revoke(key) }, "Revoke"))));
  }
}

export async function mintKey(event) {
  event.preventDefault();
  $("keys-error").textContent = "";
  const ttl = $("k-ttl").value;
  const request = { agent_id: $("k-agent").value, name: $("k-name").value.trim() };
  if (ttl) request.ttl_days = Number(ttl);
  try {
    const minted = await api("/api/v1/keys", { method: "POST", body: request });
    $("secret-value").textContent = minted.secret;
    $("secret-box").hidden = false;
    $("k-name").value = "";
    await loadKeys();
  } catch (error) {
    if (error instanceof ApiError && error.status !== 401) $("keys-error").textContent = error.message;
  }
}

async function revoke(key) {
  if (!confirm(`Revoke the key "${key.name}"? Apps using it stop working at once.`)) return;
  try {
    await api(`/api/v1/keys/${encodeURIComponent(key.id)}/revoke`, { method: "POST" });
  } catch (error) {
    if (error instanceof ApiError && error.status !== 401) $("keys-error").textContent = error.message;
  }
  await loadKeys().catch(report);
}
