// The Live tab: one card per session in progress, its transcript filled by fetches and by events.

import { api, report } from "./api.js";
import { $, clear, el, pill, timeOf } from "./dom.js";
import { READS } from "./early.js";
import { agentName, state } from "./state.js";
import { attachVoice, detachVoice } from "./voice.js";

const LIVE_MAX = 24;

const ENDED = new Set(["completed", "interrupted", "error"]);

// Sessions seen ending on this page: a late event about one (a turn, a tool call) never brings its card back.
const gone = new Set();

export async function loadLive() {
  const asked = state.applied;
  // Each session comes with its last 20 turns (READS.live): one request fills every card (not one more per card);
  // the session page has the whole transcript.
  const body = await api(READS.live);
  const live = body.sessions.slice(0, LIVE_MAX);
  for (const session of live) {
    if (ENDED.has(session.status)) continue;
    const card = ensureCard(session);
    if (!card) continue;
    // An event that arrived while this list was read is at least as new: the list must not undo it.
    if (!(card.eventSeq > asked)) {
      setCardStatus(card, session.status);
      setCardHandoff(card, session.handoff);
    }
    for (const turn of session.turns || []) addTurn(card, turn);
  }
  updateLiveCount();
}

// The session's card, made when first seen; null for a session that ended (Live shows only live ones).
export function ensureCard(session) {
  let card = state.cards.get(session.id);
  if (!card && gone.has(session.id)) return null;
  if (card) {
    if (session.agent_id && !card.agentId) {
      card.agentId = session.agent_id;
      card.title.textContent = agentName(session.agent_id);
    }
    attachVoice(card, session);  // a card made from a turn event learns its channel later
    return card;
  }
  const title = el("strong", {}, session.agent_id ? agentName(session.agent_id) : "Session");
  const status = el("span", {}, pill(session.status || "active"));
  const transcript = el("ol", { class: "transcript" });
  const handoff = el("div", { class: "handoff-bar" });
  const node = el("article", { class: "session-card", dataset: { session: session.id } },
    el("header", {}, title, status,
      el("button", { type: "button", class: "ghost open-session", dataset: { open: session.id } }, "Open")),
    handoff,
    el("div", { class: "meta" }, `${session.channel || "text"} · started ${timeOf(session.started_at)} · `,
      el("code", {}, session.id)),
    transcript);
  card = { id: session.id, node, title, status, handoff, transcript, seqs: new Set(), calls: new Map(), agentId: session.agent_id };
  state.cards.set(session.id, card);
  attachVoice(card, session);  // Listen / Talk / Type on a voice call (voice.js)
  const grid = $("live-sessions");
  grid.prepend(node);
  while (grid.children.length > LIVE_MAX) {
    const last = grid.lastElementChild;
    state.cards.delete(last.dataset.session);
    last.remove();
  }
  $("live-empty").hidden = true;
  setCardHandoff(card, session.handoff || null);  // a session seen first by its event can be taken over too
  return card;
}

export function setCardStatus(card, status) {
  if (ENDED.has(status)) { dropCard(card); return; }
  clear(card.status);
  card.status.append(pill(status));
  card.node.classList.toggle("ended", ENDED.has(status));
  card.node.classList.toggle("handoff", status === "handoff_requested");
  updateLiveCount();
}

// An ended session (completed, interrupted, error; a closed handoff completes it) leaves the Live tab;
// History and its session page keep it.
export function dropCard(card) {
  gone.add(card.id);
  detachVoice(card);
  card.node.remove();
  state.cards.delete(card.id);
  $("live-empty").hidden = state.cards.size > 0;
  updateLiveCount();
}

// The handoff's state on the card (Session.handoff, or a `session.handoff` event) and the buttons
// its state allows (HANDOFF_TRANSITIONS); each button calls the same service as the MCP tools.
const MOVES = {
  none: ["take-over"],
  requested: ["acknowledge", "take-over", "return", "close"],
  acknowledged: ["take-over", "return", "close"],
  taken_over: ["return", "close"],
  returned: ["take-over"],
  closed: [],
};
const LABELS = { acknowledge: "Acknowledge", "take-over": "Take over", return: "Return to agent", close: "Close" };

export function setCardHandoff(card, handoff) {
  if (!card.handoff || gone.has(card.id)) return;
  if (handoff && handoff.state === "closed") { dropCard(card); return; }
  clear(card.handoff);
  const state = handoff ? handoff.state : "none";
  if (handoff) {
    const by = handoff.by || handoff.finished_by || handoff.taken_over_by || handoff.acknowledged_by;
    card.handoff.append(pill(`handoff ${state.replace("_", " ")}`), ...(by ? [el("small", {}, ` by ${by}`)] : []));
  }
  card.handoffShown = handoff;
  if (handoff && handoff.brief) card.brief = handoff.brief;  // a model brief comes in a `session.handoff` event; others keep the loaded one
  if (card.brief) card.handoff.append(briefOf(card.brief));
  if (card.node.classList.contains("ended")) { setCompose(card, false); return; }
  for (const move of MOVES[state] || []) {
    card.handoff.append(el("button", { type: "button", class: "ghost", dataset: { move },
      onclick: () => {
        // The answer is the session as the move left it; an event applied meanwhile (the move's own, or a model's
        // brief written just after) is newer, so the answer must not put the card back to an older state.
        const seen = card.eventSeq;
        api(`/api/v1/sessions/${encodeURIComponent(card.id)}/handoff/${move}`, { method: "POST" })
          .then((session) => {
            if (card.eventSeq === seen) {
              setCardStatus(card, session.status);
              setCardHandoff(card, session.handoff);
            } else if (!card.brief && session.handoff && session.handoff.brief) {
              card.brief = session.handoff.brief;  // events carry no extractive brief: keep their state, add it
              setCardHandoff(card, card.handoffShown);
            }
          })
          .catch(report);
      } }, LABELS[move]));
  }
  setCompose(card, state === "taken_over");
}

// The compose box of a taken-over session: what the person types reaches the customer on their
// channel (POST /api/v1/sessions/{id}/messages, HandoffService.say, as MCP's send_human_message).
function setCompose(card, open) {
  if (!open) {
    if (card.compose) { card.compose.remove(); card.compose = null; }
    return;
  }
  if (card.compose) return;
  const input = el("textarea", { rows: 2, maxlength: 8000, placeholder: "Write to the customer…", "aria-label": "Message to the customer" });
  const send = el("button", { type: "submit" }, "Send");
  const form = el("form", { class: "compose" }, input, send);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    send.disabled = true;
    api(`/api/v1/sessions/${encodeURIComponent(card.id)}/messages`, { method: "POST", body: { text } })
      .then((turn) => { addTurn(card, turn); input.value = ""; })
      .catch(report)
      .finally(() => { send.disabled = false; input.focus(); });
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  card.compose = form;
  card.transcript.after(form);
}

// Who spoke a turn: a person of the team is shown with their name (Turn.author), never as the agent.
function speaker(turn) {
  if (turn.role === "human") return `team · ${turn.author || "a person"}`;
  return turn.role;
}

// The warm brief (HandoffBrief): why, the first request, collected fields, tools called, last exchanges.
export function briefOf(brief) {
  const collected = Object.entries(brief.collected || {}).map(([k, v]) => `${k}=${v}`).join(", ");
  return el("details", { class: "brief" }, el("summary", {}, "Brief"),
    el("p", {}, `Why: ${brief.why}`),
    brief.summary ? el("p", {}, `Summary: ${brief.summary}`) : null,
    el("p", {}, el("small", { class: "muted" }, brief.written_by === "extractive" ? "extractive (no model)" : `written by ${brief.written_by}`)),
    el("p", {}, `First request: ${brief.first_request || "(none)"}`),
    collected ? el("p", {}, `Collected: ${collected}`) : null,
    (brief.tools_called || []).length ? el("p", {}, `Tools called: ${brief.tools_called.join(", ")}`) : null,
    el("ol", {}, (brief.recent || []).map((line) => el("li", {}, `${line.role}: ${line.text}`))));
}

export function updateLiveCount() {
  let live = 0;
  for (const card of state.cards.values()) if (!card.node.classList.contains("ended")) live += 1;
  $("live-count").textContent = String(live);
}

// A tool call is shown as the transcript records it (ToolCallRecord: arguments already redacted) or,
// live, as its `session.tool_call` event says (no arguments, no result). Statuses that are not
// failures: ok, and the confirmation gate holding, declined or dropping a write action.
const NOT_FAILURES = new Set(["ok", "awaiting_confirmation", "declined", "not_confirmed"]);

export function toolCall(call) {
  const args = call.arguments && Object.keys(call.arguments).length ? JSON.stringify(call.arguments) : null;
  const failed = !NOT_FAILURES.has(call.status);
  return el("div", { class: `tool-call${failed ? " tool-failed" : ""}${call.write ? " tool-write" : ""}`,
    dataset: { call: call.id || call.call_id } },
  el("span", { class: "tool-name" }, "tool ", el("code", {}, call.name)),
  " ", pill(call.status),
  call.write ? el("span", { class: "pill pill-write" }, call.confirmed ? "write · confirmed" : "write · not confirmed") : null,
  typeof call.duration_ms === "number" ? el("small", { class: "tool-ms" }, ` ${Math.round(call.duration_ms)} ms`) : null,
  args ? el("code", { class: "tool-args" }, args) : null,
  call.summary ? el("small", { class: "tool-summary" }, call.summary) : null);
}

// Live: one line per call id, updated in place (held, then confirmed and run), until the agent's turn
// with the recorded calls arrives and replaces them.
export function addToolCall(target, data, at) {
  if (!target || !data.call_id) return;
  const known = target.calls.get(data.call_id);
  if (known && known.recorded) return;
  const line = el("li", { class: "turn turn-tool", dataset: { call: data.call_id } },
    el("span", { class: "who" }, "tool call ", el("time", {}, timeOf(at))),
    toolCall(data));
  if (known) known.node.replaceWith(line);
  else target.transcript.append(line);
  target.calls.set(data.call_id, { node: line, recorded: false });
  scrollToEnd(target.transcript);
}

// A transcript keeps its last line in view: scrolled once per frame, not once per line. Reading scrollHeight lays
// the page out at once; per turn of a 20-card list that was most of the Live tab's render time.
const unscrolled = new Set();

function scrollToEnd(transcript) {
  if (unscrolled.size === 0) {
    requestAnimationFrame(() => {
      for (const node of unscrolled) node.scrollTop = node.scrollHeight;
      unscrolled.clear();
    });
  }
  unscrolled.add(transcript);
}

// Turns are kept in seq order and applied once, whichever of the fetch and the event comes first.
export function addTurn(target, turn) {
  if (!target || target.seqs.has(turn.seq)) return;
  target.seqs.add(turn.seq);
  if (!target.calls) target.calls = new Map();
  const calls = turn.tool_calls || [];
  for (const call of calls) {
    const live = target.calls.get(call.id);
    if (live && !live.recorded) live.node.remove();
  }
  const item = el("li", { class: `turn turn-${turn.role}`, dataset: { seq: turn.seq } },
    el("span", { class: "who" }, speaker(turn), " ", el("time", {}, timeOf(turn.started_at))),
    calls.length ? el("div", { class: "tool-calls" }, calls.map(toolCall)) : null,
    el("p", {}, turn.text),
    (turn.sources || []).length
      ? el("small", { class: "sources" }, "Sources: ",
        turn.sources.map((s) => `${s.document_name}${s.location ? ` (${s.location})` : ""}`).join("; "))
      : null);
  for (const call of calls) target.calls.set(call.id, { node: item, recorded: true });
  const after = [...target.transcript.children].find((li) => Number(li.dataset.seq) > turn.seq);
  target.transcript.insertBefore(item, after || null);
  scrollToEnd(target.transcript);
}
