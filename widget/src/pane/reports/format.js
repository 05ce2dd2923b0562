// @ts-check
// Reports: figures written for people ("3:19", "1 h 05 min", "52%", "1,234"), the change from the
// previous period said in words as well as arrows, and the periods the picker offers, as plain
// dates in the center's time zone (the server reads whole days there).

export const NONE = "—"; // a figure with nothing to measure
export const MAX_DAYS = 400; // chatsvc/reports/period.py MAX_DAYS

const numberFormat = new Intl.NumberFormat("en-US");

/** @param {unknown} value */
const isNumber = (value) => typeof value === "number" && Number.isFinite(value);

/**
 * A count with thousands separators: "4,395"; "—" for nothing.
 * @param {unknown} n
 */
export function formatCount(n) {
  return isNumber(n) ? numberFormat.format(/** @type {number} */ (n)) : NONE;
}

/**
 * A share (0 to 1) as a whole percentage: "52%".
 * @param {unknown} share
 */
export function formatPercent(share) {
  return isNumber(share) ? `${Math.round(/** @type {number} */ (share) * 100)}%` : NONE;
}

/**
 * A duration in seconds: "3:19" under an hour (minutes and seconds), "1 h 05 min" from an hour,
 * "2 d 4 h" from a day (requests take days to resolve).
 * @param {unknown} seconds
 */
export function formatDuration(seconds) {
  if (!isNumber(seconds) || /** @type {number} */ (seconds) < 0) return NONE;
  const total = Math.round(/** @type {number} */ (seconds));
  if (total < 3600) return `${Math.floor(total / 60)}:${String(total % 60).padStart(2, "0")}`;
  const minutes = Math.round(total / 60);
  if (minutes < 24 * 60) return `${Math.floor(minutes / 60)} h ${String(minutes % 60).padStart(2, "0")} min`;
  const hours = Math.round(total / 3600);
  return `${Math.floor(hours / 24)} d ${hours % 24} h`;
}

/**
 * A duration for a screen reader: "3 minutes 19 seconds".
 * @param {unknown} seconds
 */
export function spokenDuration(seconds) {
  if (!isNumber(seconds) || /** @type {number} */ (seconds) < 0) return "no data";
  const total = Math.round(/** @type {number} */ (seconds));
  const units = [
    [Math.floor(total / 86400), "day"],
    [Math.floor((total % 86400) / 3600), "hour"],
    [Math.floor((total % 3600) / 60), "minute"],
    [total < 3600 ? total % 60 : 0, "second"],
  ];
  const said = units.filter(([n]) => n).map(([n, unit]) => `${n} ${unit}${n === 1 ? "" : "s"}`);
  return said.length ? said.slice(0, 2).join(" ") : "0 seconds";
}

/**
 * An average rating: "4.0 of 5".
 * @param {unknown} average
 */
export function formatRating(average) {
  return isNumber(average) ? `${/** @type {number} */ (average).toFixed(1)} of 5` : NONE;
}

/**
 * How a figure moved from the previous period. `kind` "share" compares shares in percentage
 * points; anything else as a relative change. `better` says which way is good ("up", "down" or
 * null when neither is), so that the colour can say it too; the words always do.
 * @param {unknown} current
 * @param {unknown} previous
 * @param {{kind?: string, better?: "up" | "down" | null}} [options]
 * @returns {{symbol: string, text: string, spoken: string, tone: string} | null}
 */
export function describeChange(current, previous, { kind = "count", better = "up" } = {}) {
  if (!isNumber(current) || !isNumber(previous)) return null;
  const now = /** @type {number} */ (current);
  const before = /** @type {number} */ (previous);
  let amount;
  let unit;
  if (kind === "share") {
    amount = Math.round((now - before) * 100);
    unit = amount === 1 || amount === -1 ? " point" : " points";
  } else {
    if (before === 0) {
      if (now === 0) return { symbol: "=", text: "no change", spoken: "no change from the previous period", tone: "same" };
      return { symbol: "▲", text: "new", spoken: "up from none in the previous period", tone: toneOf(1, better) };
    }
    amount = Math.round(((now - before) / before) * 100);
    unit = "%";
  }
  if (amount === 0) return { symbol: "=", text: "no change", spoken: "no change from the previous period", tone: "same" };
  const up = amount > 0;
  const size = `${numberFormat.format(Math.abs(amount))}${unit}`;
  return {
    symbol: up ? "▲" : "▼",
    text: kind === "share" ? `${size.replace(" points", " pts").replace(" point", " pt")}` : size,
    spoken: `${up ? "up" : "down"} ${size} from the previous period`,
    tone: toneOf(amount, better),
  };
}

/**
 * @param {number} amount
 * @param {"up" | "down" | null} better
 */
function toneOf(amount, better) {
  if (!better) return "neutral";
  return (amount > 0) === (better === "up") ? "good" : "bad";
}

// --- periods: plain dates "YYYY-MM-DD" ------------------------------------------------------

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86400000;

/**
 * The date of an instant in a time zone ("2026-11-24"); the browser's zone if none is given.
 * @param {number} ms
 * @param {string} [timeZone]
 */
export function dateIn(ms, timeZone) {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).formatToParts(
    new Date(ms),
  );
  /** @param {string} type */
  const part = (type) => parts.find((p) => p.type === type)?.value || "";
  return `${part("year")}-${part("month")}-${part("day")}`;
}

/**
 * Milliseconds of a date's midnight in UTC (dates are counted, not placed in a zone), or NaN.
 * @param {string} text
 */
export function parseDate(text) {
  const match = DATE.exec(text);
  if (!match) return NaN;
  const [year, month, day] = match.slice(1).map(Number);
  const ms = Date.UTC(year, month - 1, day);
  const back = new Date(ms);
  // 2026-02-30 is not a date, though Date.UTC would roll it over to March.
  return back.getUTCFullYear() === year && back.getUTCMonth() === month - 1 && back.getUTCDate() === day ? ms : NaN;
}

/** @param {number} ms */
const isoDate = (ms) => new Date(ms).toISOString().slice(0, 10);

/**
 * `days` after a date ("2026-11-30" + 1 = "2026-12-01").
 * @param {string} date
 * @param {number} days
 */
export function addDays(date, days) {
  return isoDate(parseDate(date) + days * DAY_MS);
}

/**
 * How many days a period covers, both ends included.
 * @param {{from: string, to: string}} period
 */
export function daysIn({ from, to }) {
  return Math.round((parseDate(to) - parseDate(from)) / DAY_MS) + 1;
}

export const PRESETS = /** @type {const} */ ([
  ["today", "Today"],
  ["week", "This week"],
  ["month", "This month"],
  ["last-month", "Last month"],
]);

/**
 * A preset period around `today`, as the server's Period reads them: a day, the week Monday to
 * Sunday, a calendar month.
 * @param {string} name one of PRESETS' names
 * @param {string} today "YYYY-MM-DD"
 * @returns {{from: string, to: string}}
 */
export function presetPeriod(name, today) {
  const day = new Date(parseDate(today));
  const year = day.getUTCFullYear();
  const month = day.getUTCMonth();
  const monthOf = (/** @type {number} */ y, /** @type {number} */ m) => ({
    from: isoDate(Date.UTC(y, m, 1)),
    to: isoDate(Date.UTC(y, m + 1, 0)),
  });
  if (name === "week") {
    const monday = addDays(today, -((day.getUTCDay() + 6) % 7));
    return { from: monday, to: addDays(monday, 6) };
  }
  if (name === "month") return monthOf(year, month);
  if (name === "last-month") return monthOf(year, month - 1);
  return { from: today, to: today };
}

/**
 * What is wrong with a custom range, said at the field to fix; null when it is fine.
 * @param {string} from
 * @param {string} to
 * @returns {{field: "from" | "to", message: string} | null}
 */
export function rangeProblem(from, to) {
  if (!from) return { field: "from", message: "Enter the first day." };
  if (Number.isNaN(parseDate(from))) return { field: "from", message: "Enter the first day as a date, like 2026-11-23." };
  if (!to) return { field: "to", message: "Enter the last day." };
  if (Number.isNaN(parseDate(to))) return { field: "to", message: "Enter the last day as a date, like 2026-11-29." };
  if (parseDate(to) < parseDate(from)) return { field: "to", message: "The last day is before the first day." };
  if (daysIn({ from, to }) > MAX_DAYS) return { field: "to", message: `A report covers at most ${MAX_DAYS} days: choose a shorter range.` };
  return null;
}

/**
 * "2026-11" when the period is one whole calendar month, else null.
 * @param {{from: string, to: string}} period
 */
export function wholeMonth({ from, to }) {
  const month = presetPeriod("month", from);
  return month.from === from && month.to === to ? from.slice(0, 7) : null;
}

const dayFormat = new Intl.DateTimeFormat("en-US", { timeZone: "UTC", weekday: "short", month: "short", day: "numeric", year: "numeric" });
const rangeFormat = new Intl.DateTimeFormat("en-US", { timeZone: "UTC", month: "short", day: "numeric", year: "numeric" });

/**
 * A period for people: "Mon, Nov 23, 2026" for a day, "Nov 23 – 29, 2026" for more.
 * @param {{from: string, to: string}} period
 */
export function periodLabel({ from, to }) {
  const start = parseDate(from);
  const end = parseDate(to);
  if (Number.isNaN(start) || Number.isNaN(end)) return "";
  if (start === end) return dayFormat.format(start);
  return rangeFormat.formatRange(start, end);
}
