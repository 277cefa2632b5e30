// Signing in and out, and the live WebSocket: events are applied once, in order, and a reconnect
// resumes from the last event seen.

import { agentEvent, agentResync, preloadAgentPage } from "./agent_entry.js";
import { loadAgents, setProgress } from "./agents.js";
import { api, reloadSoon, report } from "./api.js";
import { loadCharts, openChartsLink } from "./charts.js";
import { creationEvent, creationResync } from "./creation.js";
import { $ } from "./dom.js";
import { TOKEN_KEY, dropEarly } from "./early.js";
import { loadHistory } from "./history.js";
import { loadKeys } from "./keys.js";
import { openRoute } from "./route.js";
import { addToolCall, addTurn, ensureCard, loadLive, setCardHandoff, setCardStatus, updateLiveCount } from "./live.js";
import { alertHandoff, loadNotifications } from "./notifications.js";
import { state } from "./state.js";

export async function login(token) {
  state.token = token;
  state.session = false;
  const me = await api("/api/v1/me");
  sessionStorage.setItem(TOKEN_KEY, token);
  open(me);
}

// Signed in with email and password: the HttpOnly cookie authenticates; `signedIn` is the answer of
// sign-in, accept, reset or GET /api/v1/auth/session, or the one the HTML carried (early.js): the person and the
// session's CSRF token.
export async function startSession(signedIn) {
  state.token = null;
  state.session = true;
  state.csrf = signedIn.csrf_token;
  state.email = signedIn.email;
  // The sign-in answer says what /api/v1/me says (and the event cursor): no second round trip before the page shows.
  open(signedIn.tenant ? signedIn : await api("/api/v1/me"));
}

function open(me) {
  $("tenant-name").textContent = me.tenant.name;
  $("who-email").textContent = state.email || "";
  $("login").hidden = true;
  $("link-page").hidden = true;
  $("who").hidden = false;
  $("app").hidden = false;
  $("tab-account").hidden = !state.session;
  // With the event log's head read before this answer, the lists are read now, beside the socket's handshake, and
  // the socket replays every event after that head: nothing written after the lists were read is missed. Without
  // one (an older server), the socket's `ready` starts the reads as before.
  state.lastCursor = typeof me.cursor === "string" ? me.cursor : null;
  connect();
  if (state.lastCursor !== null) reloadAll().catch(report);
  openChartsLink();
  openRoute();  // a reload (or a link) of an agent page or a build's progress reopens it
}

// The Log out button: a password session ends on the server first (the cookie is cleared), then the page shows
// the sign-in form; a reload before the answer would have resumed the session (and cancelled the request).
export async function signOut() {
  if (state.session && state.csrf) {
    await fetch("/api/v1/auth/sign-out", { method: "POST", headers: { "X-CSRF-Token": state.csrf }, keepalive: true })
      .catch(() => {});
  }
  logout("");
}

// The page signed out (a pasted token is forgotten); `message` says why when the server ended it.
export function logout(message) {
  dropEarly();
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  state.session = false;
  state.csrf = null;
  state.email = null;
  state.lastCursor = null;
  state.historyFilters = null;
  state.chartsRange = null;
  if (state.reconnectTimer) clearTimeout(state.reconnectTimer);
  if (state.ws) {
    state.ws.onclose = null;
    state.ws.close(1000, "logout");
    state.ws = null;
  }
  setConn("off", "offline");
  $("app").hidden = true;
  $("who").hidden = true;
  $("login").hidden = false;
  $("token").value = "";
  $("login-error").textContent = message || "";
}

function setConn(kind, text) {
  const node = $("conn");
  node.className = `conn conn-${kind}`;
  node.textContent = text;
}

function connect() {
  if (!state.token && !state.session) return;
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const ws = new WebSocket(`${scheme}${location.host}/ws/dashboard`);
  state.ws = ws;
  setConn("wait", "connecting…");
  // Signed in with a password, the handshake's cookie authenticates (the server checks the page's origin).
  ws.onopen = () => ws.send(JSON.stringify(state.token
    ? { type: "auth", token: state.token, after: state.lastCursor }
    : { type: "auth", after: state.lastCursor }));
  ws.onmessage = (message) => {
    if (state.ws !== ws) return; // a socket this page has left
    let frame;
    try { frame = JSON.parse(message.data); } catch { return; }
    if (frame.type === "ready") {
      state.backoff = 500;
      setConn("on", "live");
      $("conn").dataset.resumed = String(frame.resumed); // resumed from our cursor, or started afresh
      if (!frame.resumed) {
        state.lastCursor = frame.cursor;
        reloadAll().catch(report);
      }
      // The open build view and agent page read once on every (re)connect; events keep them current after.
      creationResync();
      agentResync();
    } else if (frame.type === "event") {
      // The server sends each event once per stream and resumes after our cursor: nothing is repeated.
      state.lastCursor = frame.cursor;
      state.applied += 1;
      try { onEvent(frame); } catch (error) { console.error(error); }
    }
  };
  ws.onclose = (event) => {
    if (state.ws !== ws) return;
    state.ws = null;
    if (event.code === 4401) {
      logout(`Signed out: ${event.reason || "token refused"}`);
      return;
    }
    setConn("off", `reconnecting in ${Math.round(state.backoff / 1000)}s`);
    state.reconnectTimer = setTimeout(connect, state.backoff);
    state.backoff = Math.min(state.backoff * 2, 30000);
  };
}

function onEvent(frame) {
  const { event, subject, data } = frame;
  if (event.startsWith("agent.")) {
    if (event === "agent.progress") setProgress(subject, data);
    reloadSoon("agents", loadAgents);
    agentEvent(subject, event === "agent.progress" ? "progress" : "");
    creationEvent(subject);
  } else if (event.startsWith("document.")) {
    creationEvent(data.agent_id);  // a document's indexing, shown by the build's view
  } else if (event === "session.started") {
    ensureCard({ id: subject, agent_id: data.agent_id, channel: data.channel, status: "active",
      started_at: frame.at, message_count: 0 });
    updateLiveCount();
    historyChanged();
  } else if (event === "session.turn") {
    const card = ensureCard({ id: subject, agent_id: "", channel: "", status: "active", started_at: frame.at });
    addTurn(card, { seq: data.seq, role: data.role, text: data.text, sources: data.sources, author: data.author,
      started_at: frame.at });
    if (state.historySelected === subject) addTurn(state.historyDetail, { ...data, started_at: frame.at });
  } else if (event === "session.tool_call") {
    const card = ensureCard({ id: subject, agent_id: data.agent_id, channel: "", status: "active", started_at: frame.at });
    addToolCall(card, data, frame.at);
    if (state.historySelected === subject) addToolCall(state.historyDetail, data, frame.at);
  } else if (event === "session.handoff") {
    const card = state.cards.get(subject);
    if (card) {
      card.eventSeq = state.applied;  // loadLive's older snapshot will not overwrite it
      setCardStatus(card, data.status);
      setCardHandoff(card, data);
    }
  } else if (event === "session.status") {
    const card = state.cards.get(subject);
    if (card) {
      card.eventSeq = state.applied;
      setCardStatus(card, data.status);
    }
    historyChanged();
  } else if (event === "session.analysed") {
    reloadSoon("charts", loadCharts, 1000);  // the figures change when an ended session is analysed
  } else if (event === "notification.created") {
    if (data.type === "handoff") alertHandoff(subject, data);
    reloadSoon("notifications", loadNotifications, 100);
    if (data.agent_id && String(data.type).startsWith("agent_")) {  // a build's outcome is noted after its last progress event: the views read it then
      agentEvent(data.agent_id);
      creationEvent(data.agent_id);
    }
  } else if (event === "notification.updated") {
    reloadSoon("notifications", loadNotifications, 100);
  } else if (event.startsWith("key.")) {
    reloadSoon("keys", loadKeys);
  }
}

// History is live while its tab is open: a session starting or changing status reloads its first page.
function historyChanged() {
  if (!$("panel-history").hidden) reloadSoon("history", () => loadHistory(false), 300);
}

// History and Charts are the heavy reads (a page of sessions, a day of transcripts): they load when their tab is
// shown (tabs.js), not at sign-in, so the other views paint sooner; a reconnect reloads the one shown.
// All at once: agent names arrive when they do (loadAgents renames the cards and rows drawn before).
// Then, the lists drawn, the agent page's modules load when the browser is next idle: idle before (waiting for these
// answers), it compiled them just as they arrived.
async function reloadAll() {
  await Promise.all([loadAgents(), loadLive(), loadNotifications(), loadKeys(), historyShown(), chartsChanged(0)]);
  preloadAgentPage();
}

async function historyShown() {
  if (!$("panel-history").hidden) await loadHistory(false);
}

// The charts follow the events only while their tab is shown (each reload reads a day of transcripts).
function chartsChanged(delay = 3000) {
  if (!$("panel-charts").hidden) reloadSoon("charts", loadCharts, delay);
}
