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

test("every phone number the assistant writes is a tel: link, in the usual ways of writing one", () => {
  const out = renderMarkdown(
    [
      "Call us at (626) 744-7311.",
      "- Water and Power: 626-744-4005",
      "- Hotline: 1-800-799-7233, or **(626) 744-4241**",
      "- Parks: +1 626.744.4138",
    ].join("\n"),
    doc,
  );
  assert.deepEqual(
    out.links().map((a) => [a.textContent, a.href, a.target]),
    [
      ["(626) 744-7311", "tel:+16267447311", ""],
      ["626-744-4005", "tel:+16267444005", ""],
      ["1-800-799-7233", "tel:+18007997233", ""],
      ["(626) 744-4241", "tel:+16267444241", ""],
      ["+1 626.744.4138", "tel:+16267444138", ""],
    ],
  );
  assert.equal(out.textContent, "Call us at (626) 744-7311.Water and Power: 626-744-4005Hotline: 1-800-799-7233, or (626) 744-4241Parks: +1 626.744.4138");
});

test("what only looks like a phone number stays text: request numbers, dates, longer digit runs, emails", () => {
  const out = renderMarkdown(
    "Request 26-000123 of 2026-12-07, account 12345-678-9012, ref 626-744-73115, " +
      "mail 626-744-7311@example.org, build 1.626.744.7311.2, [call](https://example.org/626-744-7311)",
    doc,
  );
  assert.deepEqual(
    out.links().map((a) => a.href),
    ["https://example.org/626-744-7311"],
  );
});

test("a phone number the resident typed, escaped by the server, is shown as typed and never a link", () => {
  // What chatsvc.bot.filing._md makes of "call me at (626) 555-0100 or 1-800-555-0199".
  const out = renderMarkdown("- Description: call me at (626) 555\\-0100 or 1\\-800\\-555\\-0199", doc);
  assert.deepEqual(out.links(), []);
  assert.equal(out.textContent, "Description: call me at (626) 555-0100 or 1-800-555-0199");
});
