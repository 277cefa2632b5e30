// A small Markdown renderer for the SOP preview that never injects HTML: it builds DOM nodes and every piece
// of the admin's text goes in as a text node. Headings, paragraphs, bullet and numbered lists, block quotes,
// code blocks, **bold**, *emphasis* and `code`; links show their text and address as text (no href, so no
// javascript: URL can be made clickable). One pass over the lines, one pass over each line's characters.

import { el } from "./dom.js";

const HEADING = /^(#{1,6})\s+(.*)$/;
const BULLET = /^\s*[-*+]\s+(.*)$/;
const NUMBERED = /^\s*\d{1,9}[.)]\s+(.*)$/;

export function renderMarkdown(text) {
  const out = document.createDocumentFragment();
  let list = null;
  let paragraph = null;
  let code = null;
  const close = () => { list = null; paragraph = null; };
  for (const line of text.split("\n")) {
    if (code) {
      if (line.trim().startsWith("```")) { out.append(code); code = null; } else code.textContent += `${line}\n`;
      continue;
    }
    if (line.trim().startsWith("```")) { close(); code = el("pre", {}); continue; }
    if (!line.trim()) { close(); continue; }
    const heading = HEADING.exec(line);
    if (heading) { close(); out.append(el(`h${heading[1].length}`, {}, ...inline(heading[2]))); continue; }
    const bullet = BULLET.exec(line);
    const numbered = bullet ? null : NUMBERED.exec(line);
    if (bullet || numbered) {
      const tag = bullet ? "ul" : "ol";
      if (!list || list.tagName.toLowerCase() !== tag) { paragraph = null; list = el(tag, {}); out.append(list); }
      list.append(el("li", {}, ...inline((bullet || numbered)[1])));
      continue;
    }
    if (line.startsWith(">")) { close(); out.append(el("blockquote", {}, ...inline(line.replace(/^>\s?/, "")))); continue; }
    if (list && /^\s/.test(line)) { list.lastChild.append(" ", ...inline(line.trim())); continue; }
    if (!paragraph) { list = null; paragraph = el("p", {}); out.append(paragraph); } else paragraph.append(" ");
    paragraph.append(...inline(line.trim()));
  }
  if (code) out.append(code);
  return out;
}

// Inline marks in one left-to-right scan: `code` first (nothing inside it is a mark), then ** and *. An open
// mark is an element on a stack; one left open just runs to the end of the line.
function inline(text) {
  const root = el("span", {});
  const stack = [root];
  const top = () => stack[stack.length - 1];
  const open = (tag) => stack.some((node) => node.tagName.toLowerCase() === tag);
  let buffer = "";
  const flush = () => { if (buffer) top().append(buffer); buffer = ""; };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    const end = c === "`" ? text.indexOf("`", i + 1) : -1;
    if (end > i) {
      flush();
      top().append(el("code", {}, text.slice(i + 1, end)));
      i = end;
    } else if (c === "*") {
      const tag = text[i + 1] === "*" ? "strong" : "em";
      if (tag === "strong") i += 1;
      flush();
      if (top().tagName.toLowerCase() === tag) stack.pop();
      else if (!open(tag)) { const node = el(tag, {}); top().append(node); stack.push(node); }
      else buffer += tag === "strong" ? "**" : "*";
    } else {
      buffer += c;
    }
  }
  flush();
  return [...root.childNodes];
}
