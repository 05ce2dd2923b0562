// @ts-check
// Dates as staff read them are written as residents are told them (chatsvc/hours.py).
import assert from "node:assert/strict";
import { test } from "node:test";

import { clockWords, dateTimeLabel, endSentence, formatTime, setTimeZone } from "../src/shared/time.js";

setTimeZone("America/Los_Angeles");

/** @param {string} iso */
const at = (iso) => new Date(iso).getTime();

test("a date reads as describe_local writes it, in the center's zone", () => {
  // 08:00 UTC is midnight in Pasadena: "Monday at midnight", not "Dec 7, 12:00 AM".
  const now = at("2026-12-01T17:00:00Z");
  assert.equal(dateTimeLabel(at("2026-12-07T08:00:00Z"), now), "Monday, December 7 at midnight");
  assert.equal(dateTimeLabel(at("2026-11-30T20:00:00Z"), now), "Monday, November 30 at noon");
  assert.equal(dateTimeLabel(at("2026-11-30T01:00:00Z"), now), "Sunday, November 29 at 5 p.m.");
  assert.equal(dateTimeLabel(at("2026-12-02T16:30:00Z"), now), "Wednesday, December 2 at 8:30 a.m.");
  // Next year's date as residents are told it; last year's with its year.
  assert.equal(dateTimeLabel(at("2027-01-04T16:00:00Z"), now), "Monday, January 4 at 8 a.m.");
  assert.equal(dateTimeLabel(at("2025-12-29T16:00:00Z"), now), "Monday, December 29, 2025 at 8 a.m.");
  assert.equal(dateTimeLabel(NaN, now), "");
});

test("clock words: midnight, noon, a.m. and p.m. without a doubled period", () => {
  assert.deepEqual(
    [clockWords(0, 0), clockWords(12, 0), clockWords(0, 5), clockWords(13, 0), clockWords(23, 59)],
    ["midnight", "noon", "12:05 a.m.", "1 p.m.", "11:59 p.m."],
  );
});

test("a message time is the clock today, the whole date before", () => {
  const now = new Date("2026-12-01T17:00:00Z");
  assert.deepEqual(formatTime("2026-12-01T16:41:00.123456Z", now), {
    label: "8:41 a.m.",
    datetime: "2026-12-01T16:41:00.123Z",
  });
  assert.equal(formatTime("2026-11-30T16:41:00Z", now)?.label, "Monday, November 30 at 8:41 a.m.");
  assert.equal(formatTime("not a time", now), null);
});

test("a sentence ending with a time written with periods gets no second one", () => {
  assert.equal(endSentence("We will reply by Monday, November 30 at 5 p.m."), "We will reply by Monday, November 30 at 5 p.m.");
  assert.equal(endSentence("We open again Monday at 8:30 a.m."), "We open again Monday at 8:30 a.m.");
});

test("other sentences get their full stop", () => {
  assert.equal(endSentence("We will reply by Monday at noon"), "We will reply by Monday at noon.");
  assert.equal(endSentence("We open again Monday at midnight"), "We open again Monday at midnight.");
  assert.equal(endSentence("Is it done?"), "Is it done?");
});
