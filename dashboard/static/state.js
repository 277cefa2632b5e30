// The page's one mutable state, shared by the modules, and what it answers (an agent's name).

export const state = {
  token: null, // a pasted admin JWT (sessionStorage), or null when signed in with a password (HttpOnly cookie)
  session: false, // signed in with email and password: the cookie goes with every request to this origin
  csrf: null, // that session's CSRF token, sent as X-CSRF-Token on every POST
  email: null,
  ws: null,
  lastCursor: null, // the live stream's opaque cursor: the page resumes from it after a reconnect
  applied: 0, // events applied on this page, counted: which of two changes to a card is newer (cursors are opaque)
  backoff: 500,
  reconnectTimer: null,
  agents: new Map(),
  progress: new Map(),
  cards: new Map(),
  historyCursor: null,
  // What History and Charts show: live reloads and "Load more" ask again for these, never for a form half filled in
  // (the admin's choice is what they submitted). Forgotten at sign-out: the next person starts from the form.
  historyFilters: null,
  chartsRange: null,
  historySelected: null, // the session the session page shows (live turns are added to it)
  tab: "live", // the tab shown last, where the session page's Back button returns
  audio: null,
  reloadTimers: new Map(),
};

export function agentName(id) {
  const agent = state.agents.get(id);
  return agent ? agent.name : id;
}
