// The Notifications tab: handoffs and other notices, the alerts that could not be delivered, and the
// sound and toast that announce a new handoff.

import { api, report } from "./api.js";
import { $, clear, el, pill, when } from "./dom.js";
import { READS } from "./early.js";
import { openSession } from "./session.js";
import { state } from "./state.js";
import { showTab } from "./tabs.js";

export async function loadNotifications() {
  const body = await api(READS.notifications);
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
        onclick: () => { showTab("session"); openSession(sessionId).catch(report); } }, "Transcript"));
    }
    if (note.status !== "acknowledged") {
      // Acknowledging says "a person is on it" (it stops the handoff's escalation): a notice that an agent is live
      // or failed to build has nobody to wait for, so it is only read.
      if (note.type === "handoff") {
        actions.append(el("button", { type: "button", class: "ack", onclick: () => act(note.id, "acknowledge") },
          "Acknowledge"));
      }
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

export function alertHandoff(id, data) {
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

export function enableSound() {
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
