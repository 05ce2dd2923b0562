// @ts-check
// Tiny DOM helpers. Text always goes in through Text nodes (append/textContent), never as HTML,
// so nothing a resident, an agent or the server writes can become markup.

import { t } from "./i18n.js";
import { splitPhones } from "./phone.js";

/**
 * Create an element: el("p", {class: "x", text: "hi", onclick: fn}, child, "text").
 * @param {string} tag
 * @param {{[key: string]: any}} [props]
 * @param {...(Node | string | null | undefined | false)} children
 * @returns {any} the element (any: callers use the properties of its tag's own type)
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children) if (child != null && child !== false) node.append(child);
  return node;
}

/**
 * The fields of a contact form (name, email and one text area, as both the pre-chat form and
 * the message form have): labelled inputs, each with an error line it is described by.
 * @param {string} prefix
 * @param {string} textField
 * @param {{label: string, rows: number}} options
 * @returns {{inputs: Record<string, any>, nodes: HTMLElement[], setError: (field: string, message: string) => void}}
 */
export function contactFields(prefix, textField, { label, rows }) {
  const inputs = {
    name: el("input", { id: `${prefix}-name`, name: "name", type: "text", autocomplete: "name", required: true }),
    email: el("input", {
      id: `${prefix}-email`,
      name: "email",
      type: "email",
      autocomplete: "email",
      inputmode: "email",
      spellcheck: "false",
      required: true,
    }),
    [textField]: el("textarea", { id: `${prefix}-${textField}`, name: textField, rows: String(rows), required: true }),
  };
  const labels = { name: t("Name"), email: t("Email"), [textField]: label };
  const errors = {};
  const setError = (field, message) => {
    errors[field].textContent = message;
    if (message) inputs[field].setAttribute("aria-invalid", "true");
    else inputs[field].removeAttribute("aria-invalid");
  };
  const nodes = Object.keys(inputs).map((field) => {
    const input = inputs[field];
    errors[field] = el("p", { id: `${prefix}-${field}-error`, class: "error" });
    input.setAttribute("aria-describedby", errors[field].id);
    // Once the resident fixes a field, its old error no longer applies.
    input.addEventListener("input", () => setError(field, ""));
    return el("div", { class: "field" }, el("label", { for: input.id, text: labels[field] }), input, errors[field]);
  });
  return { inputs, nodes, setError };
}

const SVG = "http://www.w3.org/2000/svg";

/** A decorative 24×24 icon drawn from one path; screen readers skip it. */
export function icon(pathData) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "24");
  svg.setAttribute("height", "24");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", pathData);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

export const ICON_CHAT =
  "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H8.4L4 21.5V18a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm2 5v2h12V8H6zm0 4v2h8v-2H6z";
// A camera (Material "photo_camera"): the photo button's, drawn, not an emoji a font may lack.
export const ICON_CAMERA =
  "M9 2 7.17 4H4a2 2 0 0 0-2 2v12a2 2 0 0 0 2 2h16a2 2 0 0 0 2-2V6a2 2 0 0 0-2-2h-3.17L15 2H9zm3 15a5 5 0 1 1 0-10 5 5 0 0 1 0 10zm0-2a3 3 0 1 0 0-6 3 3 0 0 0 0 6z";
export const ICON_CLOSE =
  "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4z";

// Only http(s) URLs become links: the scheme is checked by the pattern itself, so a
// "javascript:" text can never reach an href.
const URL_PATTERN = /\bhttps?:\/\/[^\s<>"']+/gi;

/**
 * Append `text` to `parent` as Text nodes, turning http(s) URLs into links and, with `phones`
 * (text the City writes: agents' and system messages, never a resident's), phone numbers into
 * tel: links.
 * @param {HTMLElement} parent
 * @param {string} text
 * @param {{phones?: boolean}} [options]
 */
export function appendLinkified(parent, text, { phones = false } = {}) {
  const appendText = (/** @type {string} */ part) => {
    if (!phones) {
      parent.append(part);
      return;
    }
    for (const piece of splitPhones(part)) {
      parent.append(piece.tel ? el("a", { href: piece.tel, text: piece.text }) : piece.text);
    }
  };
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    // A sentence often ends right after a URL: keep its punctuation out of the link.
    const url = match[0].replace(/[.,;:!?)\]]+$/, "");
    const start = /** @type {number} */ (match.index);
    if (start > last) appendText(text.slice(last, start));
    parent.append(el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: url }));
    last = start + url.length;
  }
  if (last < text.length) appendText(text.slice(last));
}
