// The same limits the server enforces (docs/protocol.md), checked first in the browser so the
// resident gets an answer at once; the server's own errors are shown the same way.

export const LIMITS = { name: 100, email: 254, question: 4000, message: 4000 };

// "something@something.tld" (the same shape the server accepts): enough to catch typos.
const EMAIL = /^[^@\s<>()[\],;:"]+@[^@\s<>()[\],;:"]+\.[^@\s<>()[\],;:".]{2,}$/;

/** Count characters as the server does (code points, so an emoji is one). */
export function charCount(text) {
  return [...text].length;
}

const number = (n) => n.toLocaleString("en-US");

/** Check the pre-chat form; return {field: message} for each invalid field. */
export function validateStart({ name, email, question }) {
  const errors = {};
  if (!name) errors.name = "Enter your name.";
  else if (charCount(name) > LIMITS.name)
    errors.name = `Your name must be ${LIMITS.name} characters or fewer.`;

  if (!email) errors.email = "Enter your email address.";
  else if (charCount(email) > LIMITS.email)
    errors.email = `Your email address must be ${LIMITS.email} characters or fewer.`;
  else if (!EMAIL.test(email)) errors.email = "Enter an email address like name@example.com.";

  if (!question) errors.question = "Enter your question.";
  else if (charCount(question) > LIMITS.question)
    errors.question = `Your question must be ${number(LIMITS.question)} characters or fewer (it has ${number(charCount(question))}).`;
  return errors;
}

/**
 * Split a server `invalid_payload` message ("email: enter an email address…") into the field
 * it names and a sentence to show under that field.
 */
export function fieldError(message, fields) {
  const match = /^\s*([a-z_]+)\s*:\s*(.+)$/is.exec(message || "");
  if (!match || !fields.includes(match[1].toLowerCase())) return null;
  const text = match[2].trim();
  return { field: match[1].toLowerCase(), message: text.charAt(0).toUpperCase() + text.slice(1) };
}

export { number as formatNumber };
