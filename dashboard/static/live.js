// The Live tab: one card per session in progress, its transcript filled by fetches and by events.

import { api, report } from "./api.js";
import { $, clear, el, pill, timeOf } from "./dom.js";
import { agentName, state } from "./state.js";

const LIVE_MAX = 24;

const ENDED = new Set(["completed", "interrupted", "error"]);

export async function loadLive() {
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

export function ensureCard(session) {
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

export function setCardStatus(card, status) {
  clear(card.status);
  card.status.append(pill(status));
  card.node.classList.toggle("ended", ENDED.has(status));
  card.node.classList.toggle("handoff", status === "handoff_requested");
  updateLiveCount();
}

export function updateLiveCount() {
  let live = 0;
  for (const card of state.cards.values()) if (!card.node.classList.contains("ended")) live += 1;
  $("live-count").textContent = String(live);
}

// Turns are kept in seq order and applied once, whichever of the fetch and the event comes first.
export function addTurn(target, turn) {
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
