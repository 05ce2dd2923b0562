// @ts-check
// Phone numbers in what the City writes (the assistant's answers, agents' and system messages)
// become tel: links, so a resident on a phone taps to call. Only North American numbers written
// the way people write them: "(626) 744-7311", "626-744-7311", "626.744.7311", "1-800-799-7233",
// "+1 626-744-7311". The last two groups are always joined by "-" or ".": a resident's words
// quoted by the assistant have those escaped ("744\-7311", chatsvc.bot.filing._md), so nothing a
// resident typed becomes a number to call in the City's voice.

/**
 * A phone number, not followed by more of a word, a number or an email address (what precedes
 * it is checked by telHref: a lookbehind would not parse in the older browsers the widget
 * supports). No capture groups: markdown.js adds it as one alternative of its own pattern.
 */
export const PHONE = /(?:\+?1[-. ])?(?:\(\d{3}\) ?|\d{3}[-. ])\d{3}[-.]\d{4}(?![\w@]|[-.]\w)/;

// A number glued to what precedes it is part of something else ("x626-…", "a.626-…", "\626").
const GLUED = /[\w@.+\\-]/;

/**
 * The tel: href that dials a number PHONE matched at `index` of `text` (E.164:
 * "tel:+16267447311"), or null when it is not a phone number after all.
 * @param {string} text
 * @param {number} index
 * @param {string} number
 */
export function telHref(text, index, number) {
  if (index > 0 && GLUED.test(text[index - 1])) return null;
  const digits = number.replace(/\D/g, "");
  if (digits.length === 10) return `tel:+1${digits}`;
  if (digits.length === 11 && digits.startsWith("1")) return `tel:+${digits}`;
  return null;
}

/**
 * Split `text` into plain strings and phone numbers: [{text, tel}] where `tel` is the href of a
 * number and null for the text between.
 * @param {string} text
 * @returns {{text: string, tel: string | null}[]}
 */
export function splitPhones(text) {
  const pattern = new RegExp(PHONE.source, "g");
  /** @type {{text: string, tel: string | null}[]} */
  const parts = [];
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    const tel = telHref(text, /** @type {number} */ (match.index), match[0]);
    if (!tel) continue;
    if (/** @type {number} */ (match.index) > last) parts.push({ text: text.slice(last, match.index), tel: null });
    parts.push({ text: match[0], tel });
    last = /** @type {number} */ (match.index) + match[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last), tel: null });
  return parts;
}
