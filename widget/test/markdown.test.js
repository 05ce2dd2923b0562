// @ts-check
// The Markdown subset of the assistant's messages, on a minimal document: which text becomes a link.
import assert from "node:assert/strict";
import { test } from "node:test";

import { renderMarkdown } from "../src/shared/markdown.js";

/** Just enough of a DOM for renderMarkdown: elements with children, attributes and text. */
class FakeNode {
  /** @param {string} tag */
  constructor(tag, text = "") {
    this.tag = tag;
    this.text = text;
    /** @type {FakeNode[]} */
    this.children = [];
    /** @type {Record<string, string>} */
    this.attributes = {};
    this.href = "";
    this.target = "";
    this.rel = "";
  }
  /** @param {...FakeNode} nodes */
  append(...nodes) {
    this.children.push(...nodes);
  }
  /** @param {string} name @param {string} value */
  setAttribute(name, value) {
    this.attributes[name] = value;
  }
  set textContent(value) {
    this.children = [new FakeNode("#text", value)];
  }
  get textContent() {
    return this.tag === "#text" ? this.text : this.children.map((c) => c.textContent).join("");
  }
  /** @returns {FakeNode[]} */
  links() {
    return [...(this.tag === "a" ? [this] : []), ...this.children.flatMap((c) => c.links())];
  }
}

const doc = /** @type {any} */ ({
  createDocumentFragment: () => new FakeNode("#fragment"),
  createElement: (/** @type {string} */ tag) => new FakeNode(tag),
  createTextNode: (/** @type {string} */ text) => new FakeNode("#text", text),
});

test("the assistant's own bare https URL is a link", () => {
  const out = renderMarkdown("See https://www.cityofpasadena.net/trash for the schedule.", doc);
  assert.deepEqual(
    out.links().map((a) => a.href),
    ["https://www.cityofpasadena.net/trash"],
  );
});

test("a URL the resident typed, escaped by the server, is shown as text and never a link", () => {
  // What chatsvc.bot.filing._md makes of "pay now at https://evil.example/pay".
  const out = renderMarkdown("- Description: pay now at https\\://evil.example/pay", doc);
  assert.deepEqual(out.links(), []);
  assert.equal(out.textContent, "Description: pay now at https://evil.example/pay");
});
