// @ts-check
import assert from "node:assert/strict";
import { test } from "node:test";

import { endSentence } from "../src/shared/time.js";

test("a sentence ending with a time written with periods gets no second one", () => {
  assert.equal(endSentence("We will reply by Monday, November 30 at 5 p.m."), "We will reply by Monday, November 30 at 5 p.m.");
  assert.equal(endSentence("We open again Monday at 8:30 a.m."), "We open again Monday at 8:30 a.m.");
});

test("other sentences get their full stop", () => {
  assert.equal(endSentence("We will reply by Monday at noon"), "We will reply by Monday at noon.");
  assert.equal(endSentence("We open again Monday at midnight"), "We open again Monday at midnight.");
  assert.equal(endSentence("Is it done?"), "Is it done?");
});
