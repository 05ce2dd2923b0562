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

// The zone dates are written in: the center's, once the pane knows it (`setTimeZone`), so that
// staff read a date as the resident was told it; else the browser's.
/** @type {string | undefined} */
let zone;

/**
 * Write dates in this IANA zone from now on (the pane: the center's, from `hello`).
 * @param {unknown} timeZone
 */
export function setTimeZone(timeZone) {
  if (typeof timeZone !== "string" || !timeZone) return;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone });
    zone = timeZone;
  } catch {
    // An unknown zone: keep the browser's.
  }
}

/** The zone dates are written in (undefined: the browser's). */
export function currentTimeZone() {
  return zone;
}

/**
 * The local parts of an instant in the zone dates are written in.
 * @param {number} ms
 */
function localParts(ms) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: zone,
    weekday: "long",
    month: "long",
    day: "numeric",
    year: "numeric",
    hour: "numeric",
    minute: "2-digit",
    hourCycle: "h23",
  }).formatToParts(new Date(ms));
  /** @param {string} type */
  const part = (type) => parts.find((p) => p.type === type)?.value || "";
  return {
    weekday: part("weekday"),
    month: part("month"),
    day: Number(part("day")),
    year: Number(part("year")),
    hour: Number(part("hour")) % 24,
    minute: Number(part("minute")),
  };
}

/**
 * A time of day as residents read it (chatsvc/hours.py `_describe_minute`): "midnight", "noon",
 * "8 a.m.", "5:30 p.m.".
 * @param {number} hour
 * @param {number} minute
 */
export function clockWords(hour, minute) {
  if (minute === 0 && hour === 0) return "midnight";
  if (minute === 0 && hour === 12) return "noon";
  const suffix = hour < 12 ? "a.m." : "p.m.";
  return `${hour % 12 || 12}${minute ? `:${String(minute).padStart(2, "0")}` : ""} ${suffix}`;
}

/**
 * A date and time written as the service writes it to residents (chatsvc/hours.py
 * `describe_local`): "Monday, December 7 at midnight"; with the year when it is an earlier
 * year's ("Monday, December 28, 2025 at 8 a.m.").
 * @param {number} ms
 * @param {number} [nowMs]
 * @returns {string}
 */
export function dateTimeLabel(ms, nowMs = Date.now()) {
  if (!Number.isFinite(ms)) return "";
  const at = localParts(ms);
  // Residents are told dates to come, never with a year; staff also read past years' dates.
  const year = at.year < localParts(nowMs).year ? `, ${at.year}` : "";
  return `${at.weekday}, ${at.month} ${at.day}${year} at ${clockWords(at.hour, at.minute)}`;
}

/**
 * Format a server time for people: "9:41 a.m." today, "Monday, November 22 at 9:41 a.m." before;
 * null if unknown.
 * @param {unknown} iso
 * @param {Date} [now]
 * @returns {{label: string, datetime: string} | null}
 */
export function formatTime(iso, now = new Date()) {
  const ms = parseTime(iso);
  if (!Number.isFinite(ms)) return null;
  const at = localParts(ms);
  const today = localParts(now.getTime());
  const sameDay = at.year === today.year && at.month === today.month && at.day === today.day;
  const label = sameDay ? clockWords(at.hour, at.minute) : dateTimeLabel(ms, now.getTime());
  return { label, datetime: new Date(ms).toISOString() };
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
