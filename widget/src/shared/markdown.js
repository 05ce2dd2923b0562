// @ts-check
// A small, safe subset of Markdown for the assistant's messages: paragraphs, bullet and numbered
// lists, **bold**, [links](https://…), bare https:// URLs and phone numbers (tel: links).
// Everything is built with createElement and Text nodes, never parsed as HTML, so
// "<img onerror=…>" in a message is shown as the characters it is. Anything outside the subset
// is shown as written.

import { PHONE, telHref } from "./phone.js";

// Schemes a link may have. Checked on the raw URL text *and* on how the browser parses it, so
// "javascript:", "data:", relative URLs and obfuscations like "java\tscript:" stay plain text.
const LINK_SCHEME = /^(?:https?:\/\/|mailto:|tel:)/i;
const LINK_PROTOCOLS = new Set(["http:", "https:", "mailto:", "tel:"]);

const BULLET_ITEM = /^\s*[-*]\s+(.*)$/;
const NUMBERED_ITEM = /^\s*(\d{1,9})\.\s+(.*)$/;

// One regex finds the next inline construct; each alternative is one capture group:
//   1: a backslash-escaped punctuation character
//   2: **bold** text (not starting or ending with a space)
//   3, 4: [link text](url); the url may hold one level of balanced parentheses (Wikipedia)
//   5: a bare http(s) URL
//   6: a phone number (PHONE, below)
const MARKDOWN =
  /\\([!-/:-@[-`{-~])|\*\*(?=\S)([\s\S]*?\S)\*\*|\[([^[\]\n]+)\]\(\s*([^\s()]*(?:\([^\s()]*\)[^\s()]*)*)\s*\)|(https?:\/\/[^\s<>"'[\]]+)/;
const INLINE = new RegExp(`${MARKDOWN.source}|(${PHONE.source})`, "gi");

// A sentence often ends right after a bare URL: keep its punctuation out of the link.
const TRAILING_PUNCTUATION = /[.,;:!?)]+$/;

/** The URL's href if it may be a link (http, https, mailto, tel), else null. */
export function safeHref(url) {
  if (!LINK_SCHEME.test(url)) return null;
  try {
    const parsed = new URL(url);
    return LINK_PROTOCOLS.has(parsed.protocol) ? parsed.href : null;
  } catch {
    return null;
  }
}

/** Render `text` (Markdown subset) into a DocumentFragment of safe DOM nodes. */
export function renderMarkdown(text, doc) {
  const fragment = doc.createDocumentFragment();
  for (const block of parseBlocks(String(text ?? ""))) {
    if (block.kind === "paragraph") {
      const p = doc.createElement("p");
      appendInline(doc, p, block.lines.join("\n"), true);
      fragment.append(p);
    } else {
      const list = doc.createElement(block.kind);
      if (block.kind === "ol" && block.start !== 1) list.setAttribute("start", String(block.start));
      for (const item of block.items) {
        const li = doc.createElement("li");
        appendInline(doc, li, item.join("\n"), true);
        list.append(li);
      }
      fragment.append(list);
    }
  }
  return fragment;
}

/**
 * Split source text into blocks: {kind: "paragraph", lines} or {kind: "ul"|"ol", start, items}
 * where each item is a list of lines. Blank lines separate blocks; a list item runs on over
 * indented lines that follow it; a list may follow a paragraph line directly.
 */
function parseBlocks(source) {
  const blocks = [];
  /** @type {any} the block lines are being added to; null after a blank line */
  let current = null;
  for (const line of source.replace(/\r\n?/g, "\n").split("\n")) {
    if (!line.trim()) {
      current = null;
      continue;
    }
    const bullet = BULLET_ITEM.exec(line);
    const numbered = bullet ? null : NUMBERED_ITEM.exec(line);
    // As in CommonMark, only a list starting at 1 may interrupt a paragraph: "2024. was…" may not.
    const startsList = bullet || (numbered && (current?.kind !== "paragraph" || Number(numbered[1]) === 1));
    if (startsList) {
      const kind = bullet ? "ul" : "ol";
      if (current?.kind !== kind) {
        current = { kind, start: bullet ? 1 : Number(/** @type {RegExpExecArray} */ (numbered)[1]), items: [] };
        blocks.push(current);
      }
      current.items.push([(bullet ? bullet[1] : /** @type {RegExpExecArray} */ (numbered)[2]).trim()]);
    } else if (current && current.kind !== "paragraph" && /^\s/.test(line)) {
      current.items[current.items.length - 1].push(line.trim());
    } else if (current?.kind === "paragraph") {
      current.lines.push(line.trim());
    } else {
      current = { kind: "paragraph", lines: [line.trim()] };
      blocks.push(current);
    }
  }
  return blocks;
}

/** Append text with line breaks as <br>. */
function appendText(doc, parent, text) {
  const lines = text.split("\n");
  lines.forEach((line, i) => {
    if (i > 0) parent.append(doc.createElement("br"));
    if (line) parent.append(doc.createTextNode(line));
  });
}

/** Append inline Markdown: escapes, bold, links (when `links`, so links never nest) and text. */
function appendInline(doc, parent, text, links) {
  const pattern = new RegExp(INLINE.source, INLINE.flags);
  let last = 0;
  let match;
  while ((match = pattern.exec(text))) {
    const [whole, escaped, bold, linkText, linkUrl, bareUrl, phone] = match;
    let start = match.index;
    let end = start + whole.length;
    /** @type {any} */
    let node = null;
    if (escaped !== undefined) {
      node = doc.createTextNode(escaped);
    } else if (bold !== undefined) {
      node = doc.createElement("strong");
      appendInline(doc, node, bold, links);
    } else if (linkText !== undefined) {
      const href = links ? safeHref(linkUrl) : null;
      if (href) {
        node = link(doc, href);
        appendInline(doc, node, linkText, false);
      }
      // Otherwise the whole construct stays as the text it was written as.
    } else if (phone !== undefined) {
      const href = links ? telHref(text, start, phone) : null;
      if (href) {
        node = link(doc, href);
        node.textContent = phone;
      }
    } else if (links) {
      const url = bareUrl.replace(TRAILING_PUNCTUATION, "");
      const href = safeHref(url);
      if (href) {
        node = link(doc, href);
        node.textContent = url;
        end = start + url.length;
        pattern.lastIndex = end;
      }
    }
    if (!node) continue;
    if (start > last) appendText(doc, parent, text.slice(last, start));
    parent.append(node);
    last = end;
  }
  if (last < text.length) appendText(doc, parent, text.slice(last));
}

function link(doc, href) {
  const a = doc.createElement("a");
  a.href = href;
  // A call opens the phone's dialer, not a blank tab.
  if (!/^tel:/i.test(href)) {
    a.target = "_blank";
    a.rel = "noopener noreferrer";
  }
  return a;
}
