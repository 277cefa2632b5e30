// The documents section of the agent page: the agent's knowledge documents with their indexing status
// (GET .../documents). Adding one posts the file to POST .../documents (the agent-creation API's upload).

import { api } from "./api.js";
import { agentPath, page, showError } from "./agent_page.js";
import { clear, el, pill, when } from "./dom.js";
import { state } from "./state.js";

export function renderDocuments(card, data) {
  card.id = "agent-docs";
  card.append(el("h3", {}, "Documents"));
  const list = el("div", {}, el("p", { class: "muted" }, "Loading…"));
  const error = el("p", { class: "error", role: "alert" });
  const file = el("input", { type: "file", id: "doc-file", accept: ".pdf,.md,.markdown,.txt,text/plain,text/markdown,application/pdf",
    "aria-label": "Add a document" });
  file.addEventListener("change", () => upload(file, list, error));
  card.append(list, el("label", { class: "row", for: "doc-file" }, "Add a document: ", file), error);
  load(list, error, data.agent.id);
}

async function load(list, error, id) {
  try {
    const found = await api(agentPath("/documents?limit=200"));
    if (page.agentId !== id) return;
    clear(list);
    if (!found.documents.length) {
      list.append(el("p", { class: "muted" }, "No documents: the agent answers from its SOP alone. Add PDFs, Markdown or text."));
      return;
    }
    list.append(el("ul", { class: "doc-list" }, found.documents.map((doc) => el("li", { dataset: { document: doc.id } },
      el("strong", {}, doc.name), " ", pill(doc.status),
      doc.progress ? el("span", { class: "muted" }, ` ${doc.progress.done}/${doc.progress.total} chunks`) : null,
      el("span", { class: "muted" }, ` · ${doc.chunk_count} chunk${doc.chunk_count === 1 ? "" : "s"} · ${when(doc.updated_at)}`),
      doc.status_reason ? el("div", { class: "muted" }, doc.status_reason) : null))));
  } catch (problem) {
    showError(error, problem);
  }
}

async function upload(input, list, error) {
  const chosen = input.files && input.files[0];
  if (!chosen) return;
  error.textContent = "";
  const form = new FormData();
  form.append("file", chosen, chosen.name);
  const headers = state.token ? { Authorization: `Bearer ${state.token}` } : state.csrf ? { "X-CSRF-Token": state.csrf } : {};
  try {
    const response = await fetch(agentPath("/documents"), { method: "POST", headers, body: form, cache: "no-store" });
    if (!response.ok) {
      const body = await response.json().catch(() => null);
      throw new Error((body && body.message) || `upload failed (${response.status})`);
    }
    input.value = "";
    await load(list, error, page.agentId);
  } catch (problem) {
    showError(error, problem);
  }
}

