// @ts-check
// Which text of the City's becomes a tel: link (shared/phone.js, used by the plain-text messages).
import assert from "node:assert/strict";
import { test } from "node:test";

import { splitPhones, telHref } from "../src/shared/phone.js";

test("a notice's phone number is split out with the href that dials it", () => {
  assert.deepEqual(splitPhones("We are closed. Call (626) 744-7311 from 8 a.m."), [
    { text: "We are closed. Call ", tel: null },
    { text: "(626) 744-7311", tel: "tel:+16267447311" },
    { text: " from 8 a.m.", tel: null },
  ]);
});

test("request numbers, dates, emails and long digit runs are not phone numbers", () => {
  for (const text of [
    "Your request 26-000123 is filed.",
    "Due 2026-12-07.",
    "The details are on their way to 626-744-7311@example.org.",
    "Order 1626-744-73119.",
  ]) {
    assert.deepEqual(splitPhones(text), [{ text, tel: null }], text);
  }
});

test("tel hrefs are E.164 North American numbers", () => {
  assert.equal(telHref("(626) 744-7311", 0, "(626) 744-7311"), "tel:+16267447311");
  assert.equal(telHref("or 1-800-799-7233", 3, "1-800-799-7233"), "tel:+18007997233");
  assert.equal(telHref("x626-744-7311", 1, "626-744-7311"), null);
  assert.equal(telHref("44-7311", 0, "44-7311"), null);
});
