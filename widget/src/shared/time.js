// @ts-check
// Server times for people, in the widget and the pane alike. The server writes ISO 8601 with
// microseconds; every function here reads them through parseTime. Words are in the resident's
// language (shared/i18n.js; always English in the pane): the order and the small words come from
// the catalogue, the weekday and month names from the browser's Intl in that language.

import { language, t, tn } from "./i18n.js";

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
  // Names in the resident's language ("lunes", "diciembre": Spanish writes them in lower case).
  const names = new Intl.DateTimeFormat(language(), { timeZone: zone, weekday: "long", month: "long" }).formatToParts(new Date(ms));
  /** @param {string} type */
  const name = (type) => names.find((p) => p.type === type)?.value || part(type);
  return {
    weekday: name("weekday"),
    month: name("month"),
    day: Number(part("day")),
    year: Number(part("year")),
    hour: Number(part("hour")) % 24,
    minute: Number(part("minute")),
  };
}

/**
 * A time of day as residents read it (chatsvc/hours.py `_describe_minute`): "midnight", "noon",
 * "8 a.m.", "5:30 p.m."; in Spanish "medianoche", "mediodía", "8 a. m.", "5:30 p. m.".
 * @param {number} hour
 * @param {number} minute
 */
export function clockWords(hour, minute) {
  if (minute === 0 && hour === 0) return t("midnight");
  if (minute === 0 && hour === 12) return t("noon");
  const time = `${hour % 12 || 12}${minute ? `:${String(minute).padStart(2, "0")}` : ""}`;
  return hour < 12 ? t("{time} a.m.", { time }) : t("{time} p.m.", { time });
}

/**
 * "at 5 p.m.", "at midnight"; Spanish says "a la 1 p. m." but "a las 2 p. m.", so the
 * catalogue has it as a plural by the hour on the clock face.
 * @param {number} hour
 * @param {number} minute
 */
export function atTime(hour, minute) {
  if (minute === 0 && hour === 0) return t("at midnight");
  if (minute === 0 && hour === 12) return t("at noon");
  return tn("at {time}", "at {time}", hour % 12 || 12, { time: clockWords(hour, minute) });
}

/**
 * "after 5 p.m.", "after midnight" (a wait that ends then), as atTime.
 * @param {number} hour
 * @param {number} minute
 */
export function afterTime(hour, minute) {
  if (minute === 0 && hour === 0) return t("after midnight");
  if (minute === 0 && hour === 12) return t("after noon");
  return tn("after {time}", "after {time}", hour % 12 || 12, { time: clockWords(hour, minute) });
}

/**
 * A date and time written as the service writes it to residents (chatsvc/hours.py
 * `describe_local`): "Monday, December 7 at midnight"; with the year when it is an earlier
 * year's ("Monday, December 28, 2025 at 8 a.m."). Spanish: "lunes 7 de diciembre a las 5 p. m.".
 * @param {number} ms
 * @param {number} [nowMs]
 * @returns {string}
 */
export function dateTimeLabel(ms, nowMs = Date.now()) {
  if (!Number.isFinite(ms)) return "";
  const at = localParts(ms);
  const words = { weekday: at.weekday, month: at.month, day: at.day, year: at.year, at: atTime(at.hour, at.minute) };
  // Residents are told dates to come, never with a year; staff also read past years' dates.
  return at.year < localParts(nowMs).year
    ? t("{weekday}, {month} {day}, {year} {at}", words)
    : t("{weekday}, {month} {day} {at}", words);
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
