// @ts-check
// The Reports tab's figures for people and its periods (widget/src/pane/reports/format.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  dateIn,
  describeChange,
  formatCount,
  formatDuration,
  formatPercent,
  formatRating,
  periodLabel,
  presetPeriod,
  rangeProblem,
  spokenDuration,
  wholeMonth,
} from "../src/pane/reports/format.js";

test("counts have thousands separators; nothing is a dash, never NaN", () => {
  assert.equal(formatCount(139119), "139,119");
  assert.equal(formatCount(0), "0");
  for (const nothing of [null, undefined, NaN, "7", Infinity]) assert.equal(formatCount(nothing), "—");
});

test("shares are whole percentages", () => {
  assert.equal(formatPercent(0.52), "52%");
  assert.equal(formatPercent(0.6667), "67%");
  assert.equal(formatPercent(1), "100%");
  assert.equal(formatPercent(0), "0%");
  assert.equal(formatPercent(null), "—");
});

test("durations read as m:ss under an hour, hours and minutes, then days", () => {
  assert.equal(formatDuration(199), "3:19");
  assert.equal(formatDuration(40), "0:40");
  assert.equal(formatDuration(59.6), "1:00");
  assert.equal(formatDuration(3599), "59:59");
  assert.equal(formatDuration(3900), "1 h 05 min");
  assert.equal(formatDuration(86399), "1 d 0 h");
  assert.equal(formatDuration(102000), "1 d 4 h");
  assert.equal(formatDuration(null), "—");
  assert.equal(formatDuration(-5), "—");
  assert.equal(spokenDuration(199), "3 minutes 19 seconds");
  assert.equal(spokenDuration(40), "40 seconds");
  assert.equal(spokenDuration(3900), "1 hour 5 minutes");
  assert.equal(spokenDuration(0), "0 seconds");
  assert.equal(formatRating(4), "4.0 of 5");
  assert.equal(formatRating(null), "—");
});

test("the change from the previous period is said in words, its colour by which way is good", () => {
  assert.deepEqual(describeChange(112, 100), { symbol: "▲", text: "12%", spoken: "up 12% from the previous period", tone: "good" });
  assert.deepEqual(describeChange(88, 100, { better: "down" }), {
    symbol: "▼",
    text: "12%",
    spoken: "down 12% from the previous period",
    tone: "good",
  });
  assert.equal(describeChange(7, 1, { better: null })?.text, "600%");
  assert.equal(describeChange(7, 1, { better: null })?.tone, "neutral");
  assert.equal(describeChange(5, 0)?.text, "new");
  assert.equal(describeChange(0, 0)?.text, "no change");
  assert.equal(describeChange(100, 100)?.symbol, "=");
  // Shares move in percentage points.
  assert.deepEqual(describeChange(0.56, 0.54, { kind: "share" }), {
    symbol: "▲",
    text: "2 pts",
    spoken: "up 2 points from the previous period",
    tone: "good",
  });
  assert.equal(describeChange(0.5, 0.51, { kind: "share" })?.spoken, "down 1 point from the previous period");
  // Nothing to compare with: no change shown.
  assert.equal(describeChange(null, 3), null);
  assert.equal(describeChange(3, null), null);
});

test("today is the date in the center's zone, not the browser's", () => {
  const mondayNightInPasadena = Date.parse("2026-11-24T07:30:00Z");
  assert.equal(dateIn(mondayNightInPasadena, "America/Los_Angeles"), "2026-11-23");
  assert.equal(dateIn(mondayNightInPasadena, "Europe/Paris"), "2026-11-24");
});

test("the presets are a day, the week from Monday, this month and last month", () => {
  assert.deepEqual(presetPeriod("today", "2026-11-26"), { from: "2026-11-26", to: "2026-11-26" });
  assert.deepEqual(presetPeriod("week", "2026-11-26"), { from: "2026-11-23", to: "2026-11-29" });
  assert.deepEqual(presetPeriod("week", "2026-11-29"), { from: "2026-11-23", to: "2026-11-29" }); // a Sunday
  assert.deepEqual(presetPeriod("week", "2026-11-23"), { from: "2026-11-23", to: "2026-11-29" }); // a Monday
  assert.deepEqual(presetPeriod("week", "2026-12-31"), { from: "2026-12-28", to: "2027-01-03" });
  assert.deepEqual(presetPeriod("month", "2026-02-10"), { from: "2026-02-01", to: "2026-02-28" });
  assert.deepEqual(presetPeriod("month", "2028-02-10"), { from: "2028-02-01", to: "2028-02-29" });
  assert.deepEqual(presetPeriod("last-month", "2026-01-15"), { from: "2025-12-01", to: "2025-12-31" });
  assert.deepEqual(presetPeriod("last-month", "2026-03-31"), { from: "2026-02-01", to: "2026-02-28" });
});

test("a custom range is checked before it is asked for, the problem at the field to fix", () => {
  assert.equal(rangeProblem("2026-11-01", "2026-11-30"), null);
  assert.equal(rangeProblem("2026-11-01", "2026-11-01"), null);
  assert.deepEqual(rangeProblem("", "2026-11-30"), { field: "from", message: "Enter the first day." });
  assert.equal(rangeProblem("2026-02-30", "2026-03-01")?.field, "from");
  assert.equal(rangeProblem("?", "2026-03-01")?.field, "from");
  assert.deepEqual(rangeProblem("2026-11-01", ""), { field: "to", message: "Enter the last day." });
  assert.deepEqual(rangeProblem("2026-11-23", "2026-11-20"), { field: "to", message: "The last day is before the first day." });
  // 400 days at most (chatsvc/reports/period.py).
  assert.equal(rangeProblem("2025-01-01", "2026-02-04"), null);
  assert.match(rangeProblem("2025-01-01", "2026-02-05")?.message || "", /at most 400 days/);
});

test("a whole calendar month links its monthly report", () => {
  assert.equal(wholeMonth({ from: "2026-11-01", to: "2026-11-30" }), "2026-11");
  assert.equal(wholeMonth({ from: "2026-02-01", to: "2026-02-28" }), "2026-02");
  assert.equal(wholeMonth({ from: "2026-11-01", to: "2026-11-29" }), null);
  assert.equal(wholeMonth({ from: "2026-11-02", to: "2026-11-30" }), null);
  assert.equal(wholeMonth({ from: "2026-11-01", to: "2026-12-31" }), null);
});

test("periods are labelled for people", () => {
  assert.equal(periodLabel({ from: "2026-11-23", to: "2026-11-23" }), "Mon, Nov 23, 2026");
  assert.equal(periodLabel({ from: "2026-11-23", to: "2026-11-29" }).replace(/\s/g, " "), "Nov 23 – 29, 2026");
  assert.equal(periodLabel({ from: "2026-12-28", to: "2027-01-03" }).replace(/\s/g, " "), "Dec 28, 2026 – Jan 3, 2027");
  assert.equal(periodLabel({ from: "nope", to: "2026-11-23" }), "");
});

test("a refused or lost report is said calmly, with what to do", async () => {
  const { fetchReport } = await import("../src/pane/reports/view.js");
  const answer = (/** @type {number} */ status, /** @type {any} */ body) => async () => new Response(JSON.stringify(body), { status });
  const cases = [
    [answer(401, { ok: false }), { ok: false, message: "Your session has ended: sign in again to see the reports.", signIn: true }],
    [answer(403, { ok: false }), { ok: false, message: "Only supervisors and admins can see reports." }],
    [
      answer(400, { ok: false, error: { code: "invalid_payload", message: "A report covers at most 400 days." } }),
      { ok: false, message: "The report was not loaded: A report covers at most 400 days." },
    ],
    [async () => new Response("<html>", { status: 502 }), { ok: false, message: "The report could not be loaded (error 502). Try again in a moment." }],
    [answer(200, { current: {} }), { ok: false, message: "The report could not be read. Try again in a moment." }],
    [answer(200, { current: { a: 1 }, previous: { a: 0 } }), { ok: true, body: { current: { a: 1 }, previous: { a: 0 } } }],
  ];
  const real = globalThis.fetch;
  try {
    for (const [fake, expected] of cases) {
      globalThis.fetch = /** @type {any} */ (fake);
      assert.deepEqual(await fetchReport("/agent/reports/chats?from=2026-11-23&to=2026-11-23"), expected);
    }
    globalThis.fetch = async () => {
      throw new TypeError("Failed to fetch");
    };
    const lost = await fetchReport("/agent/reports/chats");
    assert.equal(lost.ok, false);
    assert.match(!lost.ok ? lost.message : "", /connection to the chat service was lost/);
  } finally {
    globalThis.fetch = real;
  }
});

test("the heat map places each hour's chats and shades them against the busiest", async () => {
  const { hourGrid, hourLabel, level } = await import("../src/pane/reports/hours.js");
  const grid = hourGrid({
    cells: [
      { weekday: 0, hour: 9, offered: 2 },
      { weekday: 6, hour: 23, offered: 1 },
      { weekday: 7, hour: 1, offered: 5 }, // no such weekday: left out
      { weekday: 1, hour: 24, offered: 5 }, // no such hour
    ],
  });
  assert.equal(grid.length, 7);
  assert.equal(grid[0][9], 2);
  assert.equal(grid[6][23], 1);
  assert.equal(grid.flat().reduce((a, b) => a + b, 0), 3);
  assert.deepEqual(hourGrid(null)[3], Array(24).fill(0));
  assert.deepEqual([level(0, 10), level(1, 10), level(5, 10), level(10, 10)], [0, 1, 3, 5]);
  assert.equal(level(3, 0), 0);
  assert.deepEqual([hourLabel(0), hourLabel(9), hourLabel(12), hourLabel(23)], ["12 a.m.", "9 a.m.", "12 p.m.", "11 p.m."]);
});
