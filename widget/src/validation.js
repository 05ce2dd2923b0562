// @ts-check
// The same limits the server enforces (docs/protocol/resident.md), checked first in the browser
// so the resident gets an answer at once; the server's own errors are shown the same way.
import { t } from "./shared/i18n.js";

export const LIMITS = { name: 100, email: 254, question: 4000, message: 4000 };

// "something@something.tld" (the same shape the server accepts): enough to catch typos.
const EMAIL = /^[^@\s<>()[\],;:"]+@[^@\s<>()[\],;:"]+\.[^@\s<>()[\],;:".]{2,}$/;

/** Count characters as the server does (code points, so an emoji is one). */
export function charCount(text) {
  return [...text].length;
}

const number = (n) => n.toLocaleString("en-US");

function checkName(name) {
  if (!name) return t("Enter your name.");
  if (charCount(name) > LIMITS.name) return t("Your name must be {limit} characters or fewer.", { limit: LIMITS.name });
  return null;
}

/** An email address, as the pre-chat form checks it; the sentence to show, or null. */
export function checkEmail(email) {
  if (!email) return t("Enter your email address.");
  if (charCount(email) > LIMITS.email) return t("Your email address must be {limit} characters or fewer.", { limit: LIMITS.email });
  if (!EMAIL.test(email)) return t("Enter an email address like name@example.com.");
  return null;
}

/**
 * A required text of at most `limit` characters, with its own sentences (whole sentences, so
 * each language can word them).
 * @param {string} text
 * @param {{empty: () => string, long: (params: Record<string, string>) => string}} words
 * @param {number} limit
 */
function checkText(text, words, limit) {
  if (!text) return words.empty();
  const n = charCount(text);
  if (n > limit) return words.long({ limit: number(limit), count: number(n) });
  return null;
}

const QUESTION = {
  empty: () => t("Enter your question."),
  long: (params) => t("Your question must be {limit} characters or fewer (it has {count}).", params),
};
const MESSAGE = {
  empty: () => t("Enter your message."),
  long: (params) => t("Your message must be {limit} characters or fewer (it has {count}).", params),
};

/** @param {Record<string, string | null>} checks */
function collect(checks) {
  /** @type {Record<string, string>} */
  const errors = {};
  for (const [field, error] of Object.entries(checks)) if (error) errors[field] = error;
  return errors;
}

/**
 * Check the pre-chat form; return {field: message} for each invalid field.
 * @param {Record<string, string>} form
 * @returns {Record<string, string>}
 */
export function validateStart(form) {
  const { name, email, question } = form;
  return collect({
    name: checkName(name),
    email: checkEmail(email),
    question: checkText(question, QUESTION, LIMITS.question),
  });
}

/**
 * Check the "Leave Us A Message!" form; return {field: message} for each invalid field.
 * @param {Record<string, string>} form
 * @returns {Record<string, string>}
 */
export function validateLeaveMessage(form) {
  const { name, email, message } = form;
  return collect({
    name: checkName(name),
    email: checkEmail(email),
    message: checkText(message, MESSAGE, LIMITS.message),
  });
}

export { number as formatNumber };
