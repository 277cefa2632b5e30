// The session page: a session's transcript (who spoke, each turn's tool calls and latency), its handoff
// brief, its post-call analysis and its call recordings, opened from History or a Live card. While it is
// open, the live feed keeps adding turns (connection.js writes to state.historyDetail).

import { fetchFile, api, report } from "./api.js";
import { $, clear, el, pill, when } from "./dom.js";
import { addTurn, briefOf } from "./live.js";
import { agentName, state } from "./state.js";

export async function openSession(id) {
  const full = await api(`/api/v1/sessions/${encodeURIComponent(id)}`);
  const s = full.session;
  const detail = $("history-detail");
  clear(detail);
  const transcript = el("ol", { class: "transcript tall" });
  detail.append(...[
    el("h2", {}, agentName(s.agent_id), " ", pill(s.status)),
    el("div", { class: "meta" }, `${s.channel} · ${when(s.started_at)} → ${when(s.ended_at)} · `, el("code", {}, s.id)),
    s.end_reason ? el("div", { class: "muted" }, `Ended: ${s.end_reason}`) : null,
    Object.keys(s.collected || {}).length
      ? el("div", { class: "muted" }, "Collected: ", Object.entries(s.collected).map(([k, v]) => `${k}=${v}`).join(", "))
      : null,
    s.handoff && s.handoff.brief ? el("div", { class: "handoff-brief", id: "session-brief" }, briefOf(s.handoff.brief)) : null,
    full.analysis ? analysisBlock(full.analysis) : el("p", { class: "muted", id: "history-analysis-none" },
      s.status === "active" || s.status === "handoff_requested" ? "Analysis: after the session ends." : "Analysis: not written yet."),
    recordingsBlock(s.id, full.recordings || []),
    el("h3", {}, "Transcript"),
    transcript].filter(Boolean));
  state.historySelected = id;
  state.historyDetail = { transcript, seqs: new Set(), calls: new Map() };
  full.turns.forEach((turn) => addTurn(state.historyDetail, turn));
  markLatencies(transcript, full.turns);
}

// An agent turn's latency as the transcript records it: from the customer's turn before it (stored before
// the agent runs) to the reply (stored once complete), the same figure as the Charts tab's average.
function markLatencies(transcript, turns) {
  let asked = null;
  for (const turn of turns) {
    if (turn.role === "customer") asked = turn.started_at;
    else if (turn.role === "agent" && asked) {
      const ms = Date.parse(turn.started_at) - Date.parse(asked);
      const who = transcript.querySelector(`li[data-seq="${turn.seq}"] .who`);
      if (who && ms >= 0) who.append(el("small", { class: "latency" }, `replied in ${ms} ms`));
      asked = null;
    }
  }
}

// One player per call of the session. With a cookie the browser streams the route itself (Range requests
// let it seek); a pasted token cannot go in an <audio> src, so the file is fetched with it on demand.
function recordingsBlock(id, keys) {
  if (!keys.length) return null;
  const players = keys.map((_, i) => {
    const path = `/api/v1/sessions/${encodeURIComponent(id)}/recordings/${i}`;
    const audio = el("audio", { controls: true, preload: "metadata", dataset: { recording: String(i) } });
    if (!state.token) {
      audio.src = path;
      return el("div", {}, `Call ${i + 1}`, audio);
    }
    const load = el("button", { type: "button", class: "ghost" }, `Load call ${i + 1}`);
    load.addEventListener("click", () => {
      load.disabled = true;
      fetchFile(path).then((r) => r.blob()).then((blob) => { audio.src = URL.createObjectURL(blob); load.remove(); })
        .catch((error) => { load.disabled = false; report(error); });
    });
    return el("div", {}, load, audio);
  });
  return el("div", { class: "recordings", id: "session-recordings" }, el("h3", {}, `Recordings (${keys.length})`), ...players);
}

// The post-call analysis: outcome, sentiment, summary and the SOP checks with their evidence turn.
function analysisBlock(a) {
  // A field not collected must not read "collected account number": the marks alone do not say it.
  const KINDS = { collect: "collected", scenario: "scenario", handoff_rule: "rule" };
  const kind = (c) => (c.kind === "collect" && !c.met ? "not collected:" : KINDS[c.kind] || c.kind);
  const checks = a.sop.map((c) => el("li", { class: c.met ? "" : "muted" },
    `${c.met ? "✓" : c.applies === false ? "–" : "·"} ${kind(c)} ${c.name}`,
    c.evidence_seq ? ` (turn ${c.evidence_seq})` : "",
    c.judged_by === "model" ? el("small", { class: "muted" }, " · judged by the model") : null,
    c.note ? el("small", { class: "muted" }, ` · ${c.note}`) : null));
  const extracted = Object.entries(a.extracted || {}).map(([k, v]) => `${k}=${v}`).join(", ");
  return el("div", { class: "analysis card", id: "history-analysis" },
    el("div", {}, pill(a.outcome), ` sentiment ${a.sentiment} (${a.sentiment_score}) · `,
      el("small", { class: "muted" }, a.method === "model" ? `model-written (${a.written_by})` : "rule-based (offline)")),
    el("p", {}, a.summary),
    extracted ? el("div", { class: "muted" }, `Read from the conversation: ${extracted}`) : null,
    a.tools.calls ? el("div", { class: "muted" }, `Tools: ${a.tools.calls} call(s), ${a.tools.failures} failed, ${a.tools.writes_confirmed} confirmed write(s)`) : null,
    checks.length ? el("ul", { class: "checks" }, ...checks) : null);
}
