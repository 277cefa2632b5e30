// The Account tab (people signed in with a password): a token for an MCP client (shown once), inviting
// another admin by email, and signing out of every browser.

import { ApiError, api } from "./api.js";
import { logout } from "./connection.js";
import { $ } from "./dom.js";

function fail(id, error) {
  if (error instanceof ApiError && error.status === 401) return;
  $(id).textContent = error.message;
}

export async function mintToken(event) {
  event.preventDefault();
  $("token-error").textContent = "";
  const days = Number($("t-days").value || "30");
  try {
    const minted = await api("/api/v1/auth/token", { method: "POST", body: { ttl_seconds: days * 86400 } });
    $("token-value").textContent = minted.token;
    $("token-box").hidden = false;
  } catch (error) {
    fail("token-error", error);
  }
}

export function dismissToken() {
  $("token-box").hidden = true;
  $("token-value").textContent = "";
}

export async function invite(event) {
  event.preventDefault();
  $("invite-error").textContent = "";
  $("invite-note").textContent = "";
  const email = $("i-email").value.trim();
  try {
    await api("/api/v1/auth/invite", { method: "POST", body: { email, name: $("i-name").value.trim() } });
    $("invite-note").textContent = `Invitation sent to ${email}: the link works once.`;
    $("i-email").value = "";
    $("i-name").value = "";
  } catch (error) {
    fail("invite-error", error);
  }
}

export async function signOutEverywhere() {
  if (!confirm("Sign out of every browser, this one included, and end your MCP client tokens and authorised clients?")) return;
  try {
    await api("/api/v1/auth/sign-out-everywhere", { method: "POST", body: {} });
  } catch (error) {
    fail("account-error", error);
    return;
  }
  logout("Signed out everywhere.");
}
