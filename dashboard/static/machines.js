// Who else acts for you, on the Account tab: the MCP clients you authorised on the consent page (Claude, an
// IDE: revoke one and its tokens stop at once), and this organisation's service accounts, machine clients
// with a client id and secret for the OAuth client-credentials grant (the secret is shown once, when an
// account is created; revoking one refuses its tokens at once).

import { ApiError, api } from "./api.js";
import { $, clear, el, pill, when } from "./dom.js";

function fail(error, id = "sa-error") {
  if (error instanceof ApiError && error.status === 401) return;
  $(id).textContent = error.message;
}

async function revokeClient(client) {
  if (!confirm(`Sign "${client.client_name}" out? It must ask for your consent again to reach Oratio.`)) return;
  try {
    await api(`/api/v1/auth/clients/${encodeURIComponent(client.consent)}/revoke`, { method: "POST", body: {} });
    await loadClients();
  } catch (error) {
    fail(error, "ac-error");
  }
}

async function loadClients() {
  const body = await api("/api/v1/auth/clients");
  const rows = $("ac-rows");
  clear(rows);
  $("ac-empty").hidden = body.clients.length > 0;
  for (const client of body.clients) {
    rows.append(el("tr", { dataset: { consent: client.consent } },
      el("td", {}, client.client_name),
      el("td", {}, client.scopes.length ? client.scopes.join(", ") : "your access"),
      el("td", {}, el("code", {}, client.resource)),
      el("td", {}, when(client.expires_at)),
      el("td", {}, el("button", {
        type: "button", class: "danger", "aria-label": `Revoke ${client.client_name}`, onclick: () => revokeClient(client),
      }, "Revoke"))));
  }
}

// Both lists, when the Account tab opens.
export async function loadAccessLists() {
  $("ac-error").textContent = "";
  $("sa-error").textContent = "";
  await Promise.all([loadClients(), loadServiceAccounts()]);
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

async function loadServiceAccounts() {
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
