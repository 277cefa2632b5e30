// Service accounts on the Account tab: machine clients (other agents, scripts) of this organisation with a
// client id and secret for the OAuth client-credentials grant. The secret is shown once, when an account is
// created; revoking one refuses its tokens at once.

import { ApiError, api } from "./api.js";
import { $, clear, el, pill } from "./dom.js";

function fail(error) {
  if (error instanceof ApiError && error.status === 401) return;
  $("sa-error").textContent = error.message;
}

async function revoke(account) {
  if (!confirm(`Revoke the service account "${account.name}"? Its tokens stop working at once.`)) return;
  try {
    await api(`/api/v1/service-accounts/${encodeURIComponent(account.id)}/revoke`, { method: "POST", body: {} });
    await loadServiceAccounts();
  } catch (error) {
    fail(error);
  }
}

export async function loadServiceAccounts() {
  const body = await api("/api/v1/service-accounts");
  const rows = $("sa-rows");
  clear(rows);
  $("sa-empty").hidden = body.service_accounts.length > 0;
  for (const account of body.service_accounts) {
    rows.append(el("tr", { dataset: { account: account.id } },
      el("td", {}, account.name),
      el("td", {}, el("code", {}, account.client_id)),
      el("td", {}, account.scopes.join(", ")),
      el("td", {}, pill(account.revoked ? "revoked" : "active")),
      el("td", {}, account.revoked ? "" : el("button", {
        type: "button", class: "danger", "aria-label": `Revoke ${account.name}`, onclick: () => revoke(account),
      }, "Revoke"))));
  }
}

async function create(event) {
  event.preventDefault();
  $("sa-error").textContent = "";
  const scopes = [...$("sa-form").querySelectorAll("input[name=scope]:checked")].map((box) => box.value);
  try {
    const made = await api("/api/v1/service-accounts", {
      method: "POST", body: { name: $("sa-name").value.trim(), scopes },
    });
    $("sa-client-id").textContent = made.service_account.client_id;
    $("sa-secret-value").textContent = made.client_secret;
    $("sa-secret").hidden = false;
    $("sa-name").value = "";
    await loadServiceAccounts();
  } catch (error) {
    fail(error);
  }
}

export function watchServiceAccounts() {
  $("sa-form").addEventListener("submit", create);
  $("sa-dismiss").addEventListener("click", () => {
    $("sa-secret").hidden = true;
    $("sa-secret-value").textContent = "";
  });
}
