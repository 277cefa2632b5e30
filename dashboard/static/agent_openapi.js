// Import from OpenAPI, on the agent page's tools section: paste an OpenAPI 3 document (JSON or YAML) or pick a file,
// list its operations (POST .../openapi/operations, MCP's list_openapi_operations: the server parses it, never this
// page), tick the ones wanted and import them as tools in one go (POST .../openapi/import, MCP's
// import_openapi_tools), which rebuilds the agent. Each operation shows its method, path, summary, whether it is a
// write (the customer confirms it first) and the tool name it gets; a name the agent has already is marked (an
// import of it is refused unless "Replace" is ticked). A bad document's reason goes beside the document field; a
// refused import's under the list.

import { ApiError, api } from "./api.js";
import { agentPath, followBuild, showError } from "./agent_page.js";
import { clear, el } from "./dom.js";

const DOCUMENT_BYTES_MAX = 2000000;  // the server's bound (oratio.actions._document), checked here before reading a file

export function openapiBox() {
  const spec = el("textarea", { id: "openapi-spec", rows: 8, class: "mono", spellcheck: "false",
    "aria-describedby": "openapi-spec-error", placeholder: "openapi: 3.1.0\ninfo: ...\npaths: ..." });
  const file = el("input", { id: "openapi-file", type: "file", accept: ".json,.yaml,.yml,application/json,application/yaml" });
  const baseUrl = el("input", { id: "openapi-base-url", maxlength: 2048, inputmode: "url", autocomplete: "off",
    placeholder: "https://api.example.com/v2" });
  const replace = el("input", { id: "openapi-replace", type: "checkbox" });
  const specError = el("span", { class: "error field-error", id: "openapi-spec-error", role: "alert" });
  const listButton = el("button", { type: "submit" }, "List operations");
  const operations = el("div", { id: "openapi-operations" });
  const importError = el("p", { class: "error", role: "alert", id: "openapi-import-error" });
  const importButton = el("button", { type: "button", id: "openapi-import", hidden: true }, "Import the ticked operations and rebuild");
  const form = el("form", { id: "openapi-form", class: "tool-add", novalidate: true },
    el("div", { class: "tool-field" }, el("label", { for: spec.id }, "OpenAPI 3 document (JSON or YAML)"), spec, specError),
    el("div", { class: "tool-field" }, el("label", { for: file.id }, "Or read it from a file (at most 2 MB)"), file),
    el("div", { class: "tool-field" }, el("label", { for: baseUrl.id }, "Base URL (optional: overrides the document's servers)"), baseUrl),
    el("div", { class: "row" }, listButton),
    operations,
    el("label", { class: "inline", for: replace.id }, replace, " Replace my tools of the same names (else a taken name is refused)"),
    el("div", { class: "row" }, importButton), importError);
  let listed = "";  // the document the list was made from: the import sends that one

  const fieldProblem = (message) => {
    specError.textContent = message;
    spec.setAttribute("aria-invalid", "true");
    spec.focus();
  };
  const reset = () => {
    specError.textContent = importError.textContent = "";
    spec.removeAttribute("aria-invalid");
  };

  file.addEventListener("change", async () => {
    reset();
    const picked = file.files[0];
    if (!picked) return;
    if (picked.size > DOCUMENT_BYTES_MAX) {
      fieldProblem(`${picked.name} is ${picked.size} bytes; at most ${DOCUMENT_BYTES_MAX} are accepted`);
    } else {
      spec.value = await picked.text();
    }
    file.value = "";
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    reset();
    clear(operations);
    importButton.hidden = true;
    if (!spec.value.trim()) {
      fieldProblem("paste an OpenAPI 3 document or pick a file first");
      return;
    }
    listButton.disabled = true;
    try {
      const found = await api(agentPath("/openapi/operations"), { method: "POST", body: { spec: spec.value } });
      listed = spec.value;
      showOperations(operations, found);
      importButton.hidden = !found.operations.length;
    } catch (problem) {
      if (problem instanceof ApiError && (problem.field === "spec" || problem.status === 413)) fieldProblem(problem.message);
      else showError(importError, problem);
    } finally {
      listButton.disabled = false;
    }
  });

  importButton.addEventListener("click", async () => {
    reset();
    const ticked = [...operations.querySelectorAll("input[type=checkbox]:checked")].map((box) => box.value);
    if (!ticked.length) {
      importError.textContent = "Tick at least one operation to import.";
      return;
    }
    importButton.disabled = true;
    try {
      await api(agentPath("/openapi/import"), {
        method: "POST",
        body: { spec: listed, operations: ticked, base_url: baseUrl.value.trim() || null, replace: replace.checked },
      });
      await followBuild();
    } catch (problem) {
      if (problem instanceof ApiError && problem.field === "spec") fieldProblem(problem.message);
      else showError(importError, problem);
    } finally {
      importButton.disabled = false;
    }
  });
  return el("details", { class: "tool-add-box", id: "openapi-box" }, el("summary", {}, "Import from OpenAPI"), form);
}

function showOperations(where, found) {
  if (!found.operations.length) {
    where.append(el("p", { class: "muted" }, "The document has no operations to import."));
    return;
  }
  const rows = found.operations.map((op, index) => {
    const box = el("input", { type: "checkbox", id: `openapi-op-${index}`, value: op.key, dataset: { tool: op.tool_name } });
    return el("li", { dataset: { operation: op.key } },
      el("label", { for: box.id, class: "inline" }, box, " ", el("code", {}, `${op.method} ${op.path}`),
        op.summary ? ` ${op.summary}` : "", el("span", { class: "muted" }, ` → tool ${op.tool_name}`)),
      op.write ? el("span", { class: "pill pill-write" }, "write") : null,
      op.taken ? el("span", { class: "pill" }, "name taken") : null);
  });
  const shown = found.total > found.operations.length ? ` (the first ${found.operations.length} of ${found.total})` : "";
  where.append(el("fieldset", {}, el("legend", {}, `Operations to import${shown}`), el("ul", { class: "tool-list" }, rows)));
}
