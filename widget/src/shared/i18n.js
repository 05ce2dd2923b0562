// @ts-check
// The resident's language, and the widget's texts in it. Every text the widget shows is written
// in English in the code, as `t("English text", {placeholder: value})` or, where English has a
// singular and a plural, `tn("1 minute", "{count} minutes", n)`; the English text is the
// gettext msgid in the translators' catalogue (chatsvc/locale/<code>/LC_MESSAGES/widget.po).
// A text the catalogue does not translate (yet) is shown in English.
//
// The pane never installs catalogues, so the shared code it uses stays in English there.

/**
 * One language's bundled catalogue (scripts/catalogs.js writes them).
 * @typedef {{plural: (n: number) => number, messages: Record<string, string[]>}} Catalog
 */

/** @type {Record<string, Catalog>} */
let catalogs = {};
let current = "en";

/** @param {Record<string, Catalog>} bundled */
export function installCatalogs(bundled) {
  catalogs = bundled || {};
}

/** The language texts are given in now ("en", "es", ...). */
export function language() {
  return current;
}

/**
 * Give texts in this language from now on; one without a catalogue is English.
 * @param {string} code
 */
export function setLanguage(code) {
  current = code in catalogs ? code : "en";
}

/**
 * Fill `{name}` placeholders; one with no value stays as written, so a mistake shows.
 * @param {string} text
 * @param {Record<string, string | number>} [params]
 */
function fill(text, params) {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, key) => (key in params ? String(params[key]) : whole));
}

/**
 * A text in the resident's language.
 * @param {string} msgid the English text
 * @param {Record<string, string | number>} [params]
 */
export function t(msgid, params) {
  const translated = catalogs[current]?.messages[msgid];
  return fill(translated ? translated[0] : msgid, params);
}

/**
 * A text that depends on a number, in the resident's language; `{count}` is the number.
 * @param {string} singular the English text for 1 (the msgid)
 * @param {string} plural the English text for other numbers (the msgid_plural)
 * @param {number} n
 * @param {Record<string, string | number>} [params]
 */
export function tn(singular, plural, n, params) {
  const catalog = catalogs[current];
  const forms = catalog?.messages[singular];
  const text = forms ? forms[Math.min(forms.length - 1, Math.max(0, catalog.plural(n)))] : n === 1 ? singular : plural;
  return fill(text, { count: n, ...params });
}

/**
 * The language of a tag such as "es-MX" among `offered`, or null.
 * @param {unknown} tag
 * @param {string[]} offered
 */
export function languageOf(tag, offered) {
  if (typeof tag !== "string") return null;
  const base = tag.trim().toLowerCase().split(/[-_]/)[0];
  return offered.includes(base) ? base : null;
}

/**
 * The widget's language: the resident's own choice (kept in the browser); else the page's
 * `<html lang>` when the city wrote the page in another language than English (its Spanish
 * pages); else the browser's preferred languages in order (most city pages say "en" whoever
 * reads them, and the browser knows its person); else the page's language; else English.
 * @param {{chosen?: unknown, page?: unknown, browser?: readonly unknown[]}} sources
 * @param {string[]} offered the codes the widget has
 */
export function pickLanguage({ chosen, page, browser = [] }, offered) {
  const pageCode = languageOf(page, offered);
  for (const tag of [chosen, pageCode !== "en" ? pageCode : null, ...browser, pageCode]) {
    const code = languageOf(tag, offered);
    if (code) return code;
  }
  return "en";
}
