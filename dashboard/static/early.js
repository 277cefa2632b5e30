// The page's first moments, before the other modules have loaded: the signed-in answer the server put in the HTML
// (dashboard/signed_in.py: only for a request with a valid session cookie) and the first view's reads, started
// now. The HTML loads this module with `async` and it imports nothing, so it runs as soon as it is fetched; the
// lists the page reads at sign-in (connection.js's reloadAll) take these answers instead of asking again. Without
// the answer (signed out, a link followed from another site, a pasted token) it starts nothing and the page asks
// GET /api/v1/auth/session as before.

export const TOKEN_KEY = "oratio.dashboard.token"; // a pasted admin token, kept for this tab (sessionStorage)

// The reads of the lists every signed-in page shows; the modules that read them use these paths.
export const READS = {
  agents: "/api/v1/agents?limit=200",
  live: "/api/v1/sessions/live?limit=20&turns=20",
  notifications: "/api/v1/notifications?limit=50",
  keys: "/api/v1/keys?limit=200",
};

const LINK = /^#(invite|reset)=/; // an invitation or reset link shows the set-password form, not the lists

function embedded() {
  const node = document.getElementById("oratio-signed-in");
  if (!node) return null;
  node.remove(); // the CSRF token stays in script memory only, as after GET /api/v1/auth/session
  try {
    const answer = JSON.parse(node.textContent);
    return answer && answer.signed_in === true ? answer : null;
  } catch {
    return null;
  }
}

// The signed-in answer, or null. A tab with a pasted token uses the token, as it did before.
export const signedIn = (() => {
  const answer = embedded();
  return answer && !sessionStorage.getItem(TOKEN_KEY) && !LINK.test(location.hash) ? answer : null;
})();

const early = new Map();
if (signedIn) {
  for (const path of Object.values(READS)) {
    const response = fetch(path, { cache: "no-store" });
    response.catch(() => {}); // a failure is the taker's to report, not an unhandled rejection
    early.set(path, response);
  }
}

// The response of a read started here, once (a later read of the same path asks the server again); undefined
// for any other.
export function takeEarly(path) {
  const response = early.get(path);
  early.delete(path);
  return response;
}

// Signing out drops reads not taken: a later sign-in must not see the lists of the session that ended.
export function dropEarly() {
  early.clear();
}
