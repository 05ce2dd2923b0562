// @ts-check
// Server times for people, in the widget and the pane alike. The server writes ISO 8601 with
// microseconds; every function here reads them through parseTime.

/**
 * Milliseconds since the epoch of a server timestamp (ISO 8601 with microseconds), or NaN.
 * @param {unknown} iso
 * @returns {number}
 */
export function parseTime(iso) {
  if (typeof iso !== "string") return NaN;
  // Trim to milliseconds so every browser parses it.
  return new Date(iso.replace(/(\.\d{3})\d+/, "$1")).getTime();
}

/**
 * Format a server time for people: "9:41 AM" today, "Nov 22, 9:41 AM" before; null if unknown.
 * @param {unknown} iso
 * @param {Date} [now]
 * @returns {{label: string, datetime: string} | null}
 */
export function formatTime(iso, now = new Date()) {
  const ms = parseTime(iso);
  if (!Number.isFinite(ms)) return null;
  const date = new Date(ms);
  const sameDay = date.toDateString() === now.toDateString();
  /** @type {Intl.DateTimeFormatOptions} */
  const options = sameDay
    ? { hour: "numeric", minute: "2-digit" }
    : { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" };
  return { label: date.toLocaleString(undefined, options), datetime: date.toISOString() };
}

/**
 * A readable local date and time: "Mon, Nov 30, 5:00 PM" (the year too when not this year).
 * @param {number} ms
 * @param {number} [nowMs]
 * @returns {string}
 */
export function dateTimeLabel(ms, nowMs = Date.now()) {
  if (!Number.isFinite(ms)) return "";
  const date = new Date(ms);
  /** @type {Intl.DateTimeFormatOptions} */
  const options = { weekday: "short", month: "short", day: "numeric", hour: "numeric", minute: "2-digit" };
  if (date.getFullYear() !== new Date(nowMs).getFullYear()) options.year = "numeric";
  return date.toLocaleString(undefined, options);
}

/**
 * End a sentence with a full stop, unless its last word brings one: the server writes times
 * "5 p.m.", and "by Monday at 5 p.m.." is one period too many.
 * @param {string} text
 * @returns {string}
 */
export function endSentence(text) {
  return /[.!?]$/.test(text.trimEnd()) ? text : `${text}.`;
}
