// Signing in with email and password, following an emailed invitation or reset link, asking for a reset.
// The session lives in an HttpOnly cookie the script never sees; the link's token arrives in the URL
// fragment (never sent to a server or a log) and is removed from the address bar at once.

import { ApiError, publicPost } from "./api.js";
import { startSession } from "./connection.js";
import { $ } from "./dom.js";

const LINK = /^#(invite|reset)=([A-Za-z0-9_-]{16,128})$/;

function say(id, error) {
  $(id).textContent = error instanceof ApiError || error instanceof Error ? error.message : String(error || "");
}

export async function signIn(event) {
  event.preventDefault();
  say("signin-error", "");
  try {
    const answer = await publicPost("/api/v1/auth/sign-in", {
      email: $("signin-email").value.trim(),
      password: $("signin-password").value,
    });
    $("signin-password").value = "";
    await startSession(answer);
  } catch (error) {
    say("signin-error", error);
  }
}

export async function forgot() {
  say("signin-error", "");
  const email = $("signin-email").value.trim();
  if (!email) { say("signin-error", "Type your email first, then ask for a reset link."); return; }
  try {
    const answer = await publicPost("/api/v1/auth/forgot", { email });
    $("signin-note").textContent = answer.message;
  } catch (error) {
    say("signin-error", error);
  }
}

// An invitation or reset link: show the set-password form instead of the sign-in form. True if shown.
export function followLink() {
  const found = LINK.exec(location.hash);
  if (!found) return false;
  history.replaceState(null, "", location.pathname); // the token leaves the address bar and the history
  const [, purpose, token] = found;
  $("link-title").textContent = purpose === "invite" ? "Welcome: choose your password" : "Choose a new password";
  $("link-form").dataset.purpose = purpose;
  $("link-form").dataset.token = token;
  $("link-page").hidden = false;
  $("login").hidden = true;
  return true;
}

export async function setPassword(event) {
  event.preventDefault();
  say("link-error", "");
  const form = $("link-form");
  const password = $("link-password").value;
  if (password !== $("link-repeat").value) { say("link-error", "The two passwords differ."); return; }
  const path = form.dataset.purpose === "invite" ? "/api/v1/auth/accept" : "/api/v1/auth/reset";
  try {
    const answer = await publicPost(path, { token: form.dataset.token, password });
    $("link-password").value = "";
    $("link-repeat").value = "";
    await startSession(answer);
  } catch (error) {
    say("link-error", error);
  }
}

// A cookie from an earlier visit: resume that session (GET /api/v1/auth/session says `signed_in: false`
// when there is none, or it has ended).
export async function resume() {
  try {
    const answer = await fetch("/api/v1/auth/session", { cache: "no-store" });
    const session = answer.ok ? await answer.json() : null;
    if (!session || !session.signed_in) return false;
    await startSession(session);
    return true;
  } catch (error) {
    if (!(error instanceof ApiError)) console.error(error);
    return false;
  }
}



// How people sign in here (GET /api/v1/auth/methods): with the configured OIDC issuer (Cognito on AWS) the page
// shows "Sign in with <issuer>", which goes through the server's /api/v1/auth/oidc/start (code flow with PKCE) and
// comes back signed in with the same cookie session as a password; with passwords turned off, the password form
// is hidden. After Log out, the issuer's own sign-out page is offered when it has one.
// The methods are asked once per page: they are the operator's configuration and do not change under it, and a
// sign-out followed by a 401 would otherwise ask twice. `data-methods` on the form says the answer is in.
let methodsAnswer = null;

export async function showMethods(signedOut = false) {
  let methods;
  try {
    methodsAnswer ??= fetch("/api/v1/auth/methods", { cache: "no-store" }).then((answer) => (answer.ok ? answer.json() : null));
    methods = await methodsAnswer;
  } catch (error) {
    methodsAnswer = null;
    console.error(error);
    return;
  } finally {
    $("signin-form").dataset.methods = "shown";
  }
  if (!methods || !methods.oidc) return;
  const oidc = methods.oidc;
  $("signin-oidc").textContent = `Sign in with ${oidc.name}`;
  $("signin-oidc").dataset.start = oidc.start;
  $("oidc-card").hidden = false;
  $("signin-title").textContent = "Or sign in with a password";
  $("signin-form").hidden = !methods.password;
  const link = $("signout-oidc-link");
  if (signedOut && typeof oidc.end_session_url === "string" && /^https?:\/\//.test(oidc.end_session_url)) {
    link.href = oidc.end_session_url;
    link.textContent = `Also sign out of ${oidc.name}`;
    $("signout-oidc").hidden = false;
  } else {
    $("signout-oidc").hidden = true;
  }
}

export function signInWithIssuer() {
  const start = $("signin-oidc").dataset.start;
  if (start && start.startsWith("/api/v1/auth/oidc/")) location.assign(start);
}
