// @ts-check
// A chat's or a left message's language as the pane shows it (nothing for English): a short
// "ES" badge in lists, read "In Spanish"; "Español" in a header, with what it means for screen
// readers. The languages are format.js's CHAT_LANGUAGES.

import { el } from "../shared/dom.js";
import { chatLanguage } from "./format.js";

/** Fill a list's badge for `item`'s language; hidden for English. */
export function showLanguageBadge(badge, item) {
  const language = chatLanguage(item);
  badge.hidden = !language;
  if (language) {
    badge.replaceChildren(
      el("span", { "aria-hidden": "true", text: language.badge }),
      el("span", { class: "sr-only", text: `In ${language.name}` }),
    );
  }
}

/** A header's badge for `item`'s language, or null for English; `what` says whose it is. */
export function languageHeaderBadge(item, what) {
  const language = chatLanguage(item);
  if (!language) return null;
  return el(
    "span",
    { class: "badge language" },
    el("span", { lang: language.tag, text: language.own }),
    el("span", { class: "sr-only", text: ` (${what} in ${language.name})` }),
  );
}
