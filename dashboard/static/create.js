// The New agent form: name, SOP (editor with a live Markdown preview, or read from a .md/.txt/.docx/.pdf file),
// channels, voice, model (the operator's allow-list), handoff settings, HTTP tools (tool_form.js; checked by the
// server as MCP's add_agent_tool, so a refused tool stores nothing) and knowledge documents dropped on the page. Submitting stores the agent without building it, uploads each document (its status shown as it goes),
// then starts the build and opens the progress view (creation.js), so the build is tested on the documents.
// A refused tool's reason goes beside the field it names in that tool's editor (the server names it by position,
// `tools.1.url`, or by name, `tool 'get_order'.url`), with the focus there; nothing the admin typed is cleared.

import { ApiError, api, apiForm, report } from "./api.js";
import { $, clear, el, pill } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { showCreation } from "./creation.js";
import { showTab } from "./tabs.js";
import { toolEditor } from "./tool_form.js";

let options = null;
let documents = []; // { file, status, reason }
let previewFrame = 0;
let tools = []; // { node, read } per tool editor
let toolCount = 0; // ids stay unique as editors come and go

export async function openCreate() {
  showTab("create");
  say("");
  // Focus first, before the options are read: moving it after they arrive would take it from a field the admin
  // has already started typing in (their words then went into the Name).
  $("c-name").focus();
  if (!options) {
    options = await api("/api/v1/agent-options");
    fill($("c-voice"), options.voices.map((v) => [v, v]));
    fill($("c-language"), options.languages.map((l) => [l, l]));
    const models = options.models.map((m) => [m, m]);
    fill($("c-model"), options.platform_model ? [["", "Platform default"], ...models] : models);
    resetHandoff();
  }
  if (!options.can_build) say("This server has no model to build agents with (ORATIO_MODEL is not set): the agent will be stored and wait for one. To try Oratio offline, restart it with ORATIO_MODEL=scripted.");
}

export function wireCreate() {
  $("new-agent").addEventListener("click", () => openCreate().catch(fail));
  $("c-cancel").addEventListener("click", () => showTab("agents"));
  $("c-sop").addEventListener("input", schedulePreview);
  $("c-sop-file").addEventListener("change", () => readSopFile().catch(fail));
  $("c-docs").addEventListener("change", () => { addDocuments($("c-docs").files); $("c-docs").value = ""; });
  const drop = $("c-drop");
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    addDocuments(event.dataTransfer.files);
  });
  $("c-doc-list").addEventListener("click", (event) => {
    const button = event.target.closest("[data-remove]");
    if (!button) return;
    documents.splice(Number(button.dataset.remove), 1);
    renderDocuments();
  });
  $("c-add-tool").addEventListener("click", addTool);
  $("create-form").addEventListener("submit", (event) => { event.preventDefault(); submit().catch(fail); });
}

function addTool() {
  const editor = toolEditor(`c-tool-${++toolCount}`);
  const remove = el("button", { type: "button", class: "ghost", "aria-label": `Remove tool ${toolCount}` }, "Remove this tool");
  remove.addEventListener("click", () => {
    tools = tools.filter((tool) => tool !== editor);
    editor.node.remove();
  });
  editor.node.append(remove);
  tools.push(editor);
  $("c-tool-list").append(editor.node);
  editor.node.querySelector("input").focus();
}

function clearTools() {
  tools = [];
  clear($("c-tool-list"));
}

function fill(select, pairs) {
  clear(select);
  for (const [value, label] of pairs) select.append(el("option", { value }, label));
}

function resetHandoff() {
  const h = options.handoff;
  $("c-handoff-enabled").checked = h.enabled;
  $("c-handoff-conditions").value = h.conditions.join("\n");
  $("c-handoff-emails").value = h.notify_emails.join(", ");
  $("c-handoff-escalate").value = h.escalate_after_seconds;
  $("c-handoff-pause").checked = h.pause_on_handoff;
}

// Typing re-renders the preview at most every 80 ms (a timer, not requestAnimationFrame, which a hidden or
// throttled page may never run).
function schedulePreview() {
  if (previewFrame) return;
  previewFrame = setTimeout(() => {
    previewFrame = 0;
    const preview = $("c-preview");
    clear(preview);
    preview.append(renderMarkdown($("c-sop").value));
  }, 80);
}

async function readSopFile() {
  const file = $("c-sop-file").files[0];
  if (!file) return;
  $("c-sop-note").textContent = `Reading ${file.name}…`;
  const form = new FormData();
  form.append("file", file, file.name);
  try {
    const answer = await apiForm("/api/v1/sop-text", form);
    $("c-sop").value = answer.text;
    $("c-sop-note").textContent = `Loaded ${answer.name} (${answer.format}); edit it below.`;
    schedulePreview();
  } catch (error) {
    $("c-sop-note").textContent = "";
    throw error;
  } finally {
    $("c-sop-file").value = "";
  }
}

function addDocuments(files) {
  for (const file of files) {
    const suffix = file.name.includes(".") ? `.${file.name.split(".").pop().toLowerCase()}` : "";
    let reason = "";
    if (!options.document_suffixes.includes(suffix)) reason = `not a document type the agent reads (${options.document_suffixes.join(", ")})`;
    else if (file.size > options.upload_bytes_max) reason = `larger than this server's upload limit (${options.upload_bytes_max} bytes)`;
    documents.push({ file, status: reason ? "error" : "queued", reason });
  }
  renderDocuments();
}

function renderDocuments() {
  const list = $("c-doc-list");
  clear(list);
  documents.forEach((doc, index) => {
    list.append(el("li", { dataset: { doc: doc.file.name } },
      el("span", {}, doc.file.name), pill(doc.status),
      doc.reason ? el("span", { class: "muted" }, doc.reason) : null,
      doc.status === "queued" || doc.status === "error"
        ? el("button", { type: "button", class: "ghost", dataset: { remove: index }, "aria-label": `Remove ${doc.file.name}` }, "Remove")
        : null));
  });
}

function body() {
  const channels = [];
  if ($("c-ch-text").checked) channels.push("text");
  if ($("c-ch-voice").checked) channels.push("voice");
  const lines = (text, separator) => text.split(separator).map((item) => item.trim()).filter(Boolean);
  return {
    name: $("c-name").value.trim(),
    sop: $("c-sop").value,
    channels,
    voice: { voice: $("c-voice").value, language: $("c-language").value },
    greeting: $("c-greeting").value.trim() || null,
    model: $("c-model").value || null,
    handoff: {
      enabled: $("c-handoff-enabled").checked,
      conditions: lines($("c-handoff-conditions").value, "\n"),
      notify_emails: lines($("c-handoff-emails").value, ","),
      escalate_after_seconds: Number($("c-handoff-escalate").value) || options.handoff.escalate_after_seconds,
      pause_on_handoff: $("c-handoff-pause").checked,
    },
    tools: tools.map((tool) => {
      try {
        return tool.read();
      } catch (error) {
        error.editor = tool;  // read() found it (the arguments are not JSON): shown in that editor
        throw error;
      }
    }),
    build: false,
  };
}

async function submit() {
  say("");
  const usable = documents.filter((doc) => doc.status === "queued");
  if (documents.some((doc) => doc.status === "error")) {
    say("Remove the documents marked error first.");
    return;
  }
  $("c-submit").disabled = true;
  try {
    const agent = await api("/api/v1/agents", { method: "POST", body: body() });
    for (const doc of usable) {
      doc.status = "uploading";
      renderDocuments();
      const form = new FormData();
      form.append("file", doc.file, doc.file.name);
      try {
        const stored = await apiForm(`/api/v1/agents/${encodeURIComponent(agent.id)}/documents`, form);
        doc.status = stored.status;
        doc.reason = stored.status_reason || "";
      } catch (error) {
        doc.status = "error";
        doc.reason = error.message;
      }
      renderDocuments();
    }
    await api(`/api/v1/agents/${encodeURIComponent(agent.id)}/creation`, { method: "POST" });
    documents = [];
    renderDocuments();
    clearTools();
    $("create-form").reset();
    clear($("c-preview"));
    resetHandoff();
    showCreation(agent.id);
  } catch (error) {
    const editor = error.editor || toolNamed(error.field);
    if (!editor || !editor.showProblem(error)) throw error;
  } finally {
    $("c-submit").disabled = false;
  }
}

// The tool editor a server's field names: `tools.1.url` by its position in the list sent, `tool 'get_order'.url`
// by its name (the editor whose Name field holds it); null when the field is not one tool's.
function toolNamed(field) {
  if (!field) return null;
  const byIndex = /^tools\.(\d+)\./.exec(field);
  if (byIndex) return tools[Number(byIndex[1])] || null;
  const byName = /^tool '([^']*)'\./.exec(field);
  return byName ? tools.find((tool) => tool.toolName() === byName[1]) || null : null;
}

function say(message) {
  $("c-error").textContent = message;
}

function fail(error) {
  if (!(error instanceof ApiError && error.status === 401)) say(error.message);
  report(error);
}
