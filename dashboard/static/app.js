// Oratio dashboard: vanilla JS, no build step. Data is only ever put in the page as text
// (textContent / createTextNode), never as HTML. The admin token lives in sessionStorage (this tab only).
"use strict";

const TOKEN_KEY = "oratio.dashboard.token";
const STAGES = ["parse_sop", "draft_plan", "review_plan", "run_test_conversations", "deploy"];
const LIVE_MAX = 24;
const ENDED = new Set(["completed", "interrupted", "error"]);

const state = {
  token: null,
  ws: null,
  lastSeq: null,
  backoff: 500,
  reconnectTimer: null,
  agents: new Map(),
  progress: new Map(),
  cards: new Map(),
  historyCursor: null,
  historySelected: null,
  audio: null,
  reloadTimers: new Map(),
};

// -- small DOM helpers --------------------------------------------------------------------------

const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return d.toISOString().slice(0, 16).replace("T", " ");
}

function timeOf(iso) {
  return iso ? new Date(iso).toISOString().slice(11, 19) : "";
}

function pill(status) {
  return el("span", { class: `pill pill-${status}` }, status.replace("_", " "));
}

function agentName(id) {
  const agent = state.agents.get(id);
  return agent ? agent.name : id;
}

// -- HTTP ---------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `request failed (${status})`);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${state.token}` };
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method: options.method || "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    cache: "no-store",
  });
  const body = await response.json().catch(() => null);
  if (response.status === 401) {
    logout("Your token was refused or has expired. Sign in again.");
    throw new ApiError(401, body);
  }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) search.set(key, value);
  const text = search.toString();
  return text ? `?${text}` : "";
}

// Coalesce bursts of events into one reload per list.
function reloadSoon(name, fn, delay = 300) {
  if (state.reloadTimers.has(name)) return;
  state.reloadTimers.set(name, setTimeout(() => {
    state.reloadTimers.delete(name);
    fn().catch(report);
  }, delay));
}

function report(error) {
  if (!(error instanceof ApiError && error.status === 401)) console.error(error);
}

// -- login / logout -----------------------------------------------------------------------------

async function login(token) {
  state.token = token;
  const me = await api("/api/v1/me");
  sessionStorage.setItem(TOKEN_KEY, token);
  $("tenant-name").textContent = me.tenant.name;
  $("login").hidden = true;
  $("who").hidden = false;
  $("app").hidden = false;
  state.lastSeq = null;
  connect();
}

function logout(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  state.lastSeq = null;
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

// -- the live connection ------------------------------------------------------------------------

function setConn(kind, text) {
  const node = $("conn");
  node.className = `conn conn-${kind}`;
  node.textContent = text;
}

function connect() {
  if (!state.token) return;
  const scheme = location.protocol === "https:" ? "wss://" : "ws://";
  const ws = new WebSocket(`${scheme}${location.host}/ws/dashboard`);
  state.ws = ws;
  setConn("wait", "connecting…");
  ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token: state.token, after: state.lastSeq }));
  ws.onmessage = (message) => {
    let frame;
    try { frame = JSON.parse(message.data); } catch { return; }
    if (frame.type === "ready") {
      state.backoff = 500;
      setConn("on", "live");
      $("conn").dataset.resumed = String(frame.resumed); // resumed from our cursor, or started afresh
      if (!frame.resumed) {
        state.lastSeq = frame.cursor;
        reloadAll().catch(report);
      }
    } else if (frame.type === "event") {
      if (state.lastSeq !== null && frame.seq <= state.lastSeq) return; // already applied
      state.lastSeq = frame.seq;
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
  } else if (event === "session.started") {
    ensureCard({ id: subject, agent_id: data.agent_id, channel: data.channel, status: "active",
      started_at: frame.at, message_count: 0 });
    updateLiveCount();
    reloadSoon("charts", loadCharts, 3000);
  } else if (event === "session.turn") {
    const card = ensureCard({ id: subject, agent_id: "", channel: "", status: "active", started_at: frame.at });
    addTurn(card, { seq: data.seq, role: data.role, text: data.text, sources: data.sources, started_at: frame.at });
    if (state.historySelected === subject) addTurn(state.historyDetail, { ...data, started_at: frame.at });
    reloadSoon("charts", loadCharts, 3000);
  } else if (event === "session.status") {
    const card = state.cards.get(subject);
    if (card) setCardStatus(card, data.status);
    reloadSoon("charts", loadCharts, 3000);
  } else if (event === "notification.created") {
    if (data.type === "handoff") alertHandoff(subject, data);
    reloadSoon("notifications", loadNotifications, 100);
  } else if (event === "notification.updated") {
    reloadSoon("notifications", loadNotifications, 100);
  } else if (event.startsWith("key.")) {
    reloadSoon("keys", loadKeys);
  }
}

async function reloadAll() {
  await loadAgents();
  await Promise.all([loadLive(), loadNotifications(), loadKeys(), loadHistory(false), loadCharts()]);
}

// -- live sessions ------------------------------------------------------------------------------

async function loadLive() {
  const body = await api("/api/v1/sessions/live?limit=20");
  const live = body.sessions.slice(0, LIVE_MAX);
  for (const session of live) {
    const card = ensureCard(session);
    setCardStatus(card, session.status);
    api(`/api/v1/sessions/${encodeURIComponent(session.id)}`)
      .then((full) => full.turns.forEach((turn) => addTurn(card, turn)))
      .catch(report);
  }
  updateLiveCount();
}

function ensureCard(session) {
  let card = state.cards.get(session.id);
  if (card) {
    if (session.agent_id && !card.agentId) {
      card.agentId = session.agent_id;
      card.title.textContent = agentName(session.agent_id);
    }
    return card;
  }
  const title = el("strong", {}, session.agent_id ? agentName(session.agent_id) : "Session");
  const status = el("span", {}, pill(session.status || "active"));
  const transcript = el("ol", { class: "transcript" });
  const node = el("article", { class: "session-card", dataset: { session: session.id } },
    el("header", {}, title, status),
    el("div", { class: "meta" }, `${session.channel || "text"} · started ${timeOf(session.started_at)} · `,
      el("code", {}, session.id)),
    transcript);
  card = { id: session.id, node, title, status, transcript, seqs: new Set(), agentId: session.agent_id };
  state.cards.set(session.id, card);
  const grid = $("live-sessions");
  grid.prepend(node);
  while (grid.children.length > LIVE_MAX) {
    const last = grid.lastElementChild;
    state.cards.delete(last.dataset.session);
    last.remove();
  }
  $("live-empty").hidden = true;
  return card;
}

function setCardStatus(card, status) {
  clear(card.status);
  card.status.append(pill(status));
  card.node.classList.toggle("ended", ENDED.has(status));
  card.node.classList.toggle("handoff", status === "handoff_requested");
  updateLiveCount();
}

function updateLiveCount() {
  let live = 0;
  for (const card of state.cards.values()) if (!card.node.classList.contains("ended")) live += 1;
  $("live-count").textContent = String(live);
}

// Turns are kept in seq order and applied once, whichever of the fetch and the event comes first.
function addTurn(target, turn) {
  if (!target || target.seqs.has(turn.seq)) return;
  target.seqs.add(turn.seq);
  const item = el("li", { class: `turn turn-${turn.role}`, dataset: { seq: turn.seq } },
    el("span", { class: "who" }, turn.role, " ", el("time", {}, timeOf(turn.started_at))),
    el("p", {}, turn.text),
    (turn.sources || []).length
      ? el("small", { class: "sources" }, "Sources: ",
        turn.sources.map((s) => `${s.document_name}${s.location ? ` (${s.location})` : ""}`).join("; "))
      : null);
  const after = [...target.transcript.children].find((li) => Number(li.dataset.seq) > turn.seq);
  target.transcript.insertBefore(item, after || null);
  target.transcript.scrollTop = target.transcript.scrollHeight;
}

// -- agents -------------------------------------------------------------------------------------

async function loadAgents() {
  const body = await api("/api/v1/agents?limit=200");
  state.agents = new Map(body.agents.map((agent) => [agent.id, agent]));
  const rows = $("agent-rows");
  clear(rows);
  for (const agent of body.agents) {
    rows.append(el("tr", { dataset: { agent: agent.id } },
      el("td", {}, el("strong", {}, agent.name), el("br"), el("code", { class: "muted" }, agent.id)),
      el("td", {}, agent.agent_type),
      el("td", {}, pill(agent.status), agent.status_reason ? el("div", { class: "muted" }, agent.status_reason) : null),
      el("td", { class: "progress-cell" }, progressBar(agent)),
      el("td", {}, when(agent.updated_at))));
  }
  for (const select of [$("h-agent"), $("k-agent")]) {
    const keep = select.value;
    while (select.options.length > 1) select.remove(1);
    for (const agent of body.agents) select.append(el("option", { value: agent.id }, agent.name));
    select.value = keep;
  }
  for (const card of state.cards.values()) if (card.agentId) card.title.textContent = agentName(card.agentId);
}

function setProgress(agentId, data) {
  state.progress.set(agentId, data);
  const cell = document.querySelector(`tr[data-agent="${CSS.escape(agentId)}"] .progress-cell`);
  const agent = state.agents.get(agentId);
  if (cell && agent) {
    clear(cell);
    cell.append(progressBar({ ...agent, status: "creating" }));
  }
}

function progressBar(agent) {
  if (agent.status !== "creating") return el("span", { class: "muted" }, agent.status === "active" ? "deployed" : "—");
  const step = state.progress.get(agent.id);
  if (!step) return el("span", { class: "muted" }, "waiting for the AgentCreator…");
  const done = STAGES.indexOf(step.stage) + (step.status === "running" ? 0 : 1);
  const meter = el("meter", { min: 0, max: STAGES.length, value: Math.max(done, 0) });
  return el("div", {}, meter, el("div", { class: "muted" }, `${step.stage.replaceAll("_", " ")}: ${step.status}`));
}

// -- notifications ------------------------------------------------------------------------------

async function loadNotifications() {
  const body = await api("/api/v1/notifications?limit=50");
  const list = $("notes");
  clear(list);
  let unread = 0;
  for (const note of body.notifications) {
    if (note.status === "unread") unread += 1;
    const actions = el("div", { class: "actions" });
    if (note.status === "unread") {
      actions.append(el("button", { type: "button", class: "ghost", onclick: () => act(note.id, "read") }, "Mark read"));
    }
    if (note.session_id) {
      const sessionId = note.session_id;
      actions.append(el("button", { type: "button", class: "ghost",
        onclick: () => { showTab("history"); openSession(sessionId).catch(report); } }, "Transcript"));
    }
    if (note.status !== "acknowledged") {
      actions.append(el("button", { type: "button", class: "ack", onclick: () => act(note.id, "acknowledge") },
        "Acknowledge"));
    } else {
      actions.append(el("span", { class: "muted" }, `acknowledged ${when(note.acknowledged_at)}`));
    }
    list.append(el("li", {
      class: `note note-${note.type} note-${note.status}${state.fresh && state.fresh.has(note.id) ? " flash" : ""}`,
      dataset: { notification: note.id, status: note.status },
    },
    el("div", {}, el("strong", {}, note.title), " ", pill(note.status), " ", el("span", { class: "muted" }, note.priority)),
    note.body ? el("p", {}, note.body) : null,
    el("div", { class: "muted" }, when(note.created_at),
      note.session_id ? [" · session ", el("code", {}, note.session_id)] : null),
    actions));
  }
  const badge = $("unread-count");
  badge.textContent = String(unread);
  badge.hidden = unread === 0;
  await loadDeadDeliveries();
}

// Handoff emails/webhooks that gave up after every retry (the outbox's dead letters), with a retry button.
async function loadDeadDeliveries() {
  const body = await api("/api/v1/deliveries?status=dead&limit=50");
  const list = $("dead-deliveries");
  clear(list);
  for (const d of body.deliveries) {
    const retry = el("button", { type: "button", class: "ghost", onclick: async () => {
      try {
        await api(`/api/v1/deliveries/${encodeURIComponent(d.id)}/retry`, { method: "POST" });
      } catch (error) {
        report(error);
      }
      await loadDeadDeliveries().catch(report);
    } }, "Retry");
    list.append(el("li", { class: "note note-dead", dataset: { delivery: d.id } },
      el("div", {}, el("strong", {}, `${d.kind} to ${d.destination}`), " ", pill(d.status),
        " ", el("span", { class: "muted" }, `${d.attempts} attempt(s)`)),
      d.last_error ? el("p", {}, d.last_error) : null,
      el("div", { class: "muted" }, when(d.finished_at),
        d.session_id ? [" · session ", el("code", {}, d.session_id)] : null),
      el("div", { class: "actions" }, retry)));
  }
  $("dead-box").hidden = body.deliveries.length === 0;
}

async function act(id, action) {
  try {
    await api(`/api/v1/notifications/${encodeURIComponent(id)}/${action}`, { method: "POST" });
  } catch (error) {
    report(error);
  }
  await loadNotifications().catch(report);
}

function alertHandoff(id, data) {
  state.fresh = state.fresh || new Set();
  state.fresh.add(id);
  const toast = el("div", { class: "toast", role: "alert", dataset: { notification: id } },
    el("strong", {}, data.title || "Handoff requested"), " ",
    el("button", { type: "button", class: "ghost", onclick: () => { showTab("notifications"); toast.remove(); } }, "Open"),
    el("button", { type: "button", class: "ghost", onclick: () => toast.remove() }, "×"));
  $("toasts").prepend(toast);
  const card = data.session_id && state.cards.get(data.session_id);
  if (card) card.node.classList.add("handoff");
  beep();
}

function enableSound() {
  if (state.audio) return;
  try { state.audio = new AudioContext(); } catch { state.audio = null; }
}

// A short two-tone cue (WebAudio), once sound is enabled by a click.
function beep() {
  const ctx = state.audio;
  if (!ctx) return;
  const now = ctx.currentTime;
  [880, 660].forEach((freq, i) => {
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, now + i * 0.18);
    gain.gain.exponentialRampToValueAtTime(0.2, now + i * 0.18 + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, now + i * 0.18 + 0.16);
    osc.connect(gain).connect(ctx.destination);
    osc.start(now + i * 0.18);
    osc.stop(now + i * 0.18 + 0.17);
  });
}

// -- history ------------------------------------------------------------------------------------

function historyParams() {
  const from = $("h-from").value;
  const to = $("h-to").value;
  return {
    q: $("h-q").value.trim(),
    agent_id: $("h-agent").value,
    status: $("h-status").value,
    channel: $("h-channel").value,
    started_after: from ? `${from}T00:00:00Z` : "",
    started_before: to ? `${to}T23:59:59Z` : "",
  };
}

async function loadHistory(more) {
  const params = { ...historyParams(), limit: "25" };
  if (more && state.historyCursor) params.cursor = state.historyCursor;
  $("history-error").textContent = "";
  let body;
  try {
    body = await api(`/api/v1/sessions${query(params)}`);
  } catch (error) {
    if (error instanceof ApiError && error.status !== 401) $("history-error").textContent = error.message;
    return;
  }
  const rows = $("history-rows");
  if (!more) clear(rows);
  for (const session of body.sessions) {
    rows.append(el("tr", { class: "clickable", dataset: { session: session.id }, onclick: () => openSession(session.id) },
      el("td", {}, when(session.started_at)),
      el("td", {}, agentName(session.agent_id)),
      el("td", {}, session.channel),
      el("td", {}, pill(session.status)),
      el("td", {}, String(session.message_count))));
  }
  if (!rows.children.length) rows.append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "No sessions match.")));
  state.historyCursor = body.next_cursor;
  $("history-more").hidden = !body.next_cursor;
}

async function openSession(id) {
  const full = await api(`/api/v1/sessions/${encodeURIComponent(id)}`);
  const s = full.session;
  const detail = $("history-detail");
  clear(detail);
  const transcript = el("ol", { class: "transcript tall" });
  detail.append(...[
    el("h3", {}, agentName(s.agent_id), " ", pill(s.status)),
    el("div", { class: "meta" }, `${s.channel} · ${when(s.started_at)} → ${when(s.ended_at)} · `, el("code", {}, s.id)),
    s.end_reason ? el("div", { class: "muted" }, `Ended: ${s.end_reason}`) : null,
    Object.keys(s.collected || {}).length
      ? el("div", { class: "muted" }, "Collected: ", Object.entries(s.collected).map(([k, v]) => `${k}=${v}`).join(", "))
      : null,
    (full.recordings || []).length
      ? el("div", { class: "muted" }, `Recordings (${full.recordings.length}): `, ...full.recordings.map((key, i) => [i ? ", " : "", el("code", {}, key)]))
      : null,
    transcript].filter(Boolean));
  state.historySelected = id;
  state.historyDetail = { transcript, seqs: new Set() };
  full.turns.forEach((turn) => addTurn(state.historyDetail, turn));
}

// -- API keys -----------------------------------------------------------------------------------

async function loadKeys() {
  const body = await api("/api/v1/keys?limit=200");
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

async function mintKey(event) {
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

// -- charts (inline SVG) ------------------------------------------------------------------------

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

function chart(container, hours, value, format, kind, fixedMax) {
  clear(container);
  const width = 480, height = 180, left = 40, bottom = 22, top = 10;
  const values = hours.map(value);
  const max = fixedMax || Math.max(1, ...values.filter((v) => v !== null));
  const step = (width - left - 8) / hours.length;
  const plot = svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "chart", role: "img" });
  const y = (v) => height - bottom - (v / max) * (height - bottom - top);
  plot.append(svg("line", { x1: left, y1: height - bottom, x2: width, y2: height - bottom, class: "axis" }));
  plot.append(svg("text", { x: left - 4, y: top + 8, class: "tick", "text-anchor": "end" }, format(max)));
  plot.append(svg("text", { x: left - 4, y: height - bottom, class: "tick", "text-anchor": "end" }, "0"));
  const points = [];
  hours.forEach((hour, i) => {
    const v = values[i];
    const x = left + i * step;
    if (i % 6 === 0) {
      plot.append(svg("text", { x: x + step / 2, y: height - 6, class: "tick", "text-anchor": "middle" },
        hour.start.slice(11, 13) + "h"));
    }
    if (v === null || (kind === "bar" && v === 0)) return;
    if (kind === "bar") {
      const bar = svg("rect", { x: x + 1, y: y(v), width: Math.max(1, step - 2), height: height - bottom - y(v), class: "bar" });
      bar.append(svg("title", {}, `${hour.start.slice(11, 16)}: ${format(v)}`));
      plot.append(bar);
    } else {
      points.push(`${x + step / 2},${y(v)}`);
      const dot = svg("circle", { cx: x + step / 2, cy: y(v), r: 3, class: "dot" });
      dot.append(svg("title", {}, `${hour.start.slice(11, 16)}: ${format(v)}`));
      plot.append(dot);
    }
  });
  if (points.length > 1) plot.prepend(svg("polyline", { points: points.join(" "), class: "line" }));
  container.append(plot);
}

async function loadCharts() {
  const stats = await api("/api/v1/stats");
  const pct = (v) => `${Math.round(v * 100)}%`;
  const ms = (v) => `${Math.round(v)} ms`;
  chart($("chart-sessions"), stats.hours, (h) => h.sessions, (v) => String(Math.round(v)), "bar");
  chart($("chart-handoffs"), stats.hours, (h) => (h.sessions ? h.handoffs / h.sessions : null), pct, "bar", 1);
  chart($("chart-latency"), stats.hours, (h) => h.avg_latency_ms, ms, "line");
  const figures = $("figures");
  clear(figures);
  figures.append(
    el("div", { class: "figure card" }, el("span", {}, "Sessions (24 h)"), el("strong", {}, String(stats.sessions))),
    el("div", { class: "figure card" }, el("span", {}, "Handoff rate"),
      el("strong", {}, stats.handoff_rate === null ? "—" : pct(stats.handoff_rate))),
    el("div", { class: "figure card" }, el("span", {}, "Avg turn latency"),
      el("strong", {}, stats.avg_latency_ms === null ? "—" : ms(stats.avg_latency_ms))));
  $("charts-note").textContent = stats.truncated
    ? "Busy day: the figures use the newest sessions only (a capped number per request)."
    : "";
}

// -- tabs and start-up ----------------------------------------------------------------------------

function showTab(name) {
  for (const button of $("tabs").querySelectorAll("button")) button.classList.toggle("active", button.dataset.tab === name);
  for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== `panel-${name}`;
  if (name === "charts") loadCharts().catch(report);
}

function start() {
  $("tabs").addEventListener("click", (event) => {
    const button = event.target.closest("button");
    if (button) showTab(button.dataset.tab);
  });
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
  $("logout").addEventListener("click", () => logout(""));
  $("history-form").addEventListener("submit", (event) => { event.preventDefault(); loadHistory(false); });
  $("history-more").addEventListener("click", () => loadHistory(true));
  $("mint-form").addEventListener("submit", mintKey);
  $("secret-dismiss").addEventListener("click", () => {
    $("secret-box").hidden = true;
    $("secret-value").textContent = "";
  });
  $("secret-copy").addEventListener("click", () => navigator.clipboard.writeText($("secret-value").textContent));
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (saved) {
    login(saved).catch(() => logout(""));
  } else {
    $("login").hidden = false;
  }
}

document.addEventListener("DOMContentLoaded", start);
