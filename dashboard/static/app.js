// Oratio dashboard: vanilla JS in ES modules, no build step (the page's CSP, script-src 'self', allows
// modules from this origin only). This entry module wires the page's controls to the modules.
// A person signs in with email and password (an HttpOnly session cookie); a pasted admin token still works
// and lives in sessionStorage (this tab only).

import { dismissToken, invite, mintToken, signOutEverywhere } from "./account.js";
import { ApiError, onUnauthorized, report } from "./api.js";
import { watchChartControls } from "./charts.js";
import { login, logout, signOut, startSession } from "./connection.js";
import { wireCreate } from "./create.js";
import { wireCreation } from "./creation.js";
import { $ } from "./dom.js";
import { TOKEN_KEY, signedIn } from "./early.js";
import { exportHistory, loadHistory, searchHistory } from "./history.js";
import { mintKey } from "./keys.js";
import { watchServiceAccounts } from "./machines.js";
import { openSession } from "./session.js";
import { enableSound } from "./notifications.js";
import { leaveView, watchRoutes } from "./route.js";
import { followLink, forgot, resume, setPassword, showMethods, signIn, signInWithIssuer } from "./signin.js";
import { state } from "./state.js";
import { showTab } from "./tabs.js";

async function start() {
  $("tabs").addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (!button) return;
    leaveView();
    showTab(button.dataset.tab);
  });
  watchChartControls(report);
  watchServiceAccounts();
  // Browsers allow sound only after a user gesture: the first click anywhere (e.g. Sign in) enables the cue.
  document.addEventListener("click", enableSound);
  $("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    enableSound();
    $("login-error").textContent = "";
    login($("token").value.trim()).catch((error) => {
      if (!(error instanceof ApiError && error.status === 401)) $("login-error").textContent = error.message;
    });
  });
  $("logout").addEventListener("click", () => signOut().then(() => showMethods(true)));
  $("history-form").addEventListener("submit", (event) => { event.preventDefault(); searchHistory(); });
  $("history-more").addEventListener("click", () => loadHistory(true));
  // A History row or a Live card's Open button shows that session's page.
  for (const list of [$("history-rows"), $("live-sessions")]) {
    list.addEventListener("click", (event) => {
      const target = event.target.closest("[data-open]");
      if (target) showSession(target.dataset.open);
    });
  }
  $("session-back").addEventListener("click", () => showTab(state.tab));
  $("history-export-csv").addEventListener("click", () => exportHistory("csv"));
  $("history-export-json").addEventListener("click", () => exportHistory("json"));
  $("mint-form").addEventListener("submit", mintKey);
  watchRoutes();
  $("secret-dismiss").addEventListener("click", () => {
    $("secret-box").hidden = true;
    $("secret-value").textContent = "";
  });
  $("secret-copy").addEventListener("click", () => navigator.clipboard.writeText($("secret-value").textContent));
  $("signin-form").addEventListener("submit", (event) => { enableSound(); signIn(event); });
  $("signin-forgot").addEventListener("click", forgot);
  $("signin-oidc").addEventListener("click", signInWithIssuer);
  $("link-form").addEventListener("submit", setPassword);
  $("token-form").addEventListener("submit", mintToken);
  $("token-dismiss").addEventListener("click", dismissToken);
  $("token-copy").addEventListener("click", () => navigator.clipboard.writeText($("token-value").textContent));
  $("invite-form").addEventListener("submit", invite);
  $("signout-everywhere").addEventListener("click", signOutEverywhere);
  wireCreate();
  wireCreation();
  if (followLink()) return;
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) {
    login(saved).catch(() => logout(""));
  } else if (signedIn) {
    await startSession(signedIn); // the HTML said who is signed in: no sign-in request before the lists
  } else if (!(await resume())) {
    $("login").hidden = false;
    await showMethods();
  }
}

function showSession(id) {
  $("session-error").textContent = "";
  showTab("session");
  openSession(id).catch((error) => {
    if (!(error instanceof ApiError && error.status === 401)) $("session-error").textContent = error.message;
    report(error);
  });
}

onUnauthorized((message) => {
  logout(message);
  showMethods().catch(report);
});
document.addEventListener("DOMContentLoaded", start);
