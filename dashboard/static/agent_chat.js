// The test chat of the agent page: the admin talks to the agent as a customer would, through the same
// conversation engine (POST .../chat, the admin's own sign-in; no agent key reaches the page). A test
// session is the admin's: it shows in History, and "New conversation" starts another.

import { api } from "./api.js";
import { agentPath, showError } from "./agent_page.js";
import { el } from "./dom.js";

const chat = { agentId: null, sessionId: null, turns: [] };

export function renderChat(card, data) {
  card.id = "agent-chat";
  card.append(el("h3", {}, "Test chat"));
  if (chat.agentId !== data.agent.id) Object.assign(chat, { agentId: data.agent.id, sessionId: null, turns: [] });
  if (data.agent.status !== "active") {
    card.append(el("p", { class: "muted" }, `The agent is ${data.agent.status}: it talks once it is active.`));
    return;
  }
  const log = el("ol", { class: "transcript", id: "chat-log", "aria-live": "polite" });
  for (const turn of chat.turns) log.append(turnView(turn));
  const box = el("textarea", { id: "chat-input", rows: 2, maxlength: 4000, "aria-label": "Your message, as a customer" });
  const error = el("p", { class: "error", role: "alert" });
  const form = el("form", { class: "compose", id: "chat-form" }, box, el("button", { type: "submit" }, "Send"));
  form.addEventListener("submit", (event) => { event.preventDefault(); send(box, log, error); });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); send(box, log, error); }
  });
  const reset = el("button", { type: "button", class: "ghost", onclick: () => { chat.sessionId = null; chat.turns = []; log.replaceChildren(); } },
    "New conversation");
  const voice = data.agent.spec.agent_type !== "text"
    ? el("button", { type: "button", class: "ghost", id: "test-call", onclick: () => testCall(error) }, "Test call (voice)")
    : null;
  card.append(el("p", { class: "muted" }, "Talk to the agent as a customer would. Handoffs alert your team as real ones do."),
    log, form, el("div", { class: "row" }, reset, voice), error);
}

// A test call opens the voice bridge's client page in a new tab with a key minted for it (a day at most; the
// next test call revokes it). The key travels in the URL fragment, which is never sent to a server.
async function testCall(error) {
  error.textContent = "";
  try {
    const minted = await api(agentPath("/test-call"), { method: "POST" });
    const meta = document.querySelector('meta[name="oratio-voice-url"]');
    const origin = meta ? meta.content.replace(/^ws/, "http") : "";
    const fragment = new URLSearchParams({ agent: minted.agent_id, key: minted.secret });
    window.open(`${origin}${minted.client}#${fragment}`, "_blank", "noopener");
  } catch (problem) {
    showError(error, problem);
  }
}

function turnView(turn) {
  const node = el("li", { class: `turn turn-${turn.role}` }, el("span", { class: "who" }, turn.role === "customer" ? "you" : "agent"),
    el("p", {}, turn.text));
  if (turn.sources && turn.sources.length) {
    // One reply often cites several passages of one document: name each document once.
    const names = new Set(turn.sources.map((s) => s.document_name || s.title || s.document_id));
    node.append(el("small", { class: "sources" }, "Sources: ", [...names].join(", ")));
  }
  if (turn.note) node.append(el("small", { class: "sources" }, turn.note));
  return node;
}

async function send(box, log, error) {
  const message = box.value.trim();
  if (!message) return;
  error.textContent = "";
  box.value = "";
  const mine = { role: "customer", text: message };
  chat.turns.push(mine);
  log.append(turnView(mine));
  try {
    const body = { message };
    if (chat.sessionId) body.session_id = chat.sessionId;
    const reply = await api(agentPath("/chat"), { method: "POST", body });
    const note = reply.handoff ? "Handed off to a person." : reply.ended ? "The conversation ended." : "";
    chat.sessionId = reply.ended ? null : reply.session_id;
    const theirs = { role: "agent", text: reply.reply, sources: reply.sources, note };
    chat.turns.push(theirs);
    log.append(turnView(theirs));
    log.scrollTop = log.scrollHeight;
  } catch (problem) {
    showError(error, problem);
  }
}
