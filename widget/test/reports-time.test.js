// The Reports tab's volumes over time and staffing gaps (pure functions).
import assert from "node:assert/strict";
import { test } from "node:test";

import { staffGrid, staffingGaps } from "../src/pane/reports/hours.js";
import { bucketDays } from "../src/pane/reports/volumes.js";

/** @param {string} from @param {number} n */
function days(from, n) {
  const start = Date.parse(`${from}T00:00:00Z`);
  return Array.from({ length: n }, (_, i) => ({ date: new Date(start + i * 86400000).toISOString().slice(0, 10), offered: 1, answered: i % 2 }));
}

test("a month is drawn per day, half a year per week from Monday, a year per month", () => {
  const month = bucketDays(days("2026-11-01", 30), ["offered"]);
  assert.equal(month.unit, "day");
  assert.deepEqual(month.labels.slice(0, 2), ["Nov 1", "Nov 2"]);
  assert.equal(month.values[0].length, 30);

  const quarter = bucketDays(days("2026-09-01", 91), ["offered", "answered"]);
  assert.equal(quarter.unit, "week");
  // 1 September 2026 is a Tuesday: its week starts on Monday 31 August, six days of it here.
  assert.equal(quarter.labels[0], "Week of Aug 31");
  assert.equal(quarter.values[0][0], 6);
  assert.equal(quarter.values[0].reduce((a, b) => a + b, 0), 91);

  const year = bucketDays(days("2026-01-01", 365), ["offered"]);
  assert.equal(year.unit, "month");
  assert.equal(year.labels.length, 12);
  assert.deepEqual([year.labels[0], year.values[0][0], year.values[0][1]], ["Jan 2026", 31, 28]);
  assert.deepEqual(bucketDays(/** @type {any} */ (null), ["offered"]), { unit: "day", labels: [], values: [[]] });
});

test("a staffing gap is an hour with chats and no agent on duty, not one never sampled", () => {
  const byHour = {
    cells: [
      { weekday: 0, hour: 9, offered: 3, agents_available: 0, minutes_sampled: 60 },
      { weekday: 0, hour: 10, offered: 2, agents_available: 1.5, minutes_sampled: 60 },
      { weekday: 1, hour: 9, offered: 5, agents_available: null, minutes_sampled: 0 },
      { weekday: 2, hour: 20, offered: 7, agents_available: 0, minutes_sampled: 30 },
      { weekday: 9, hour: 99, offered: 1, agents_available: 0 },
    ],
  };
  const staff = staffGrid(byHour);
  assert.equal(staff[0][10], 1.5);
  assert.equal(staff[1][9], null);
  const chats = Array.from({ length: 7 }, () => Array(24).fill(0));
  for (const c of byHour.cells) if (chats[c.weekday]) chats[c.weekday][c.hour] = c.offered;
  assert.deepEqual(staffingGaps(chats, staff), [
    { weekday: 2, hour: 20, chats: 7 },
    { weekday: 0, hour: 9, chats: 3 },
  ]);
});
