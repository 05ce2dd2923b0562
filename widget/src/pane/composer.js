// @ts-check
// The reply composer: Enter sends, Shift+Enter adds a line; "/" and a shortcut (e.g. "/hours")
// offers the matching canned responses in a listbox (arrows choose, Enter or Tab inserts,
// Escape dismisses); a "Canned responses" menu does the same with a pointer or the keyboard.
// Both close on Escape, when focus leaves them, on a click elsewhere and when the reply is sent.
// It sends typing events (throttled by the client) and keeps a draft per conversation.

import { el } from "../shared/dom.js";
import { CHAT_LANGUAGES, excerpt } from "./format.js";

const MAX_LENGTH = 4000;
const SLASH = /(^|\s)\/([a-z0-9_-]*)$/i; // "/hou" right before the caret

/**
 * The canned responses as a chat in `language` is offered them: each one's version in that
 * language (its English where it has none yet).
 */
export function cannedIn(canned, language) {
  return canned.map((c) => {
    const t = language !== "en" ? c.translations?.[language] : null;
    return t && typeof t.text === "string" && typeof t.title === "string"
      ? { ...c, title: t.title, text: t.text, language }
      : { ...c, language: "en" };
  });
}

/** The other languages' versions: the English in a Spanish chat, the translations in another. */
export function cannedElsewhere(canned, language) {
  return canned.flatMap((c) => {
    if (language !== "en") return c.translations?.[language] ? [{ ...c, language: "en" }] : [];
    return Object.entries(c.translations || {})
      .filter(([code, t]) => Object.hasOwn(CHAT_LANGUAGES, code) && t && typeof t.text === "string")
      .map(([code, t]) => ({ ...c, title: t.title, text: t.text, language: code }));
  });
}

/** How a language is named in the canned responses menu, in that language. */
function ownName(code) {
  return code === "en" ? "English" : CHAT_LANGUAGES[code]?.own || code;
}

export class Composer {
  constructor(client, notifier) {
    this.client = client;
    this.notifier = notifier;
    this.conversationId = null;
    this.drafts = new Map();
    this.matches = [];
    this.active = -1;
    this.dismissed = null; // the slash text the agent dismissed with Escape

    // The "Reply" tab above says what this box is; the label names the resident for screen readers.
    this.label = el("label", { for: "reply", class: "sr-only", text: "Reply" });
    this.textarea = el("textarea", {
      id: "reply",
      rows: 3,
      "aria-describedby": "reply-hint",
      "aria-autocomplete": "list",
      "aria-controls": "canned-options",
      autocomplete: "off",
      spellcheck: "true",
    });
    this.listbox = el("ul", { id: "canned-options", role: "listbox", "aria-label": "Matching canned responses", hidden: true });
    this.error = el("p", { class: "error", id: "reply-error", hidden: true, "aria-live": "polite" });
    this.menuButton = el(
      "button",
      { type: "button", class: "secondary", "aria-expanded": "false", "aria-controls": "canned-menu" },
      "Canned responses",
    );
    this.menu = el("ul", { id: "canned-menu", class: "menu", hidden: true, "aria-label": "Canned responses" });
    this.send = el("button", { type: "submit" }, "Send");
    this.menuWrap = el("div", { class: "menu-wrap" }, this.menuButton, this.menu);
    this.root = el(
      "form",
      { class: "composer", novalidate: true },
      this.label,
      el("div", { class: "composer-box" }, this.textarea, this.listbox),
      this.error,
      el(
        "div",
        { class: "composer-actions" },
        this.menuWrap,
        el("p", { id: "reply-hint", class: "hint", text: "Enter sends, Shift+Enter adds a line. Type / and a shortcut, e.g. /hours, for a canned response." }),
        this.send,
      ),
    );

    this.root.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.textarea.addEventListener("keydown", (event) => this.onKeyDown(event));
    this.textarea.addEventListener("input", () => this.onInput());
    this.textarea.addEventListener("click", () => this.updateMatches());
    // Leaving the box closes the options (a click on one keeps the focus: see mousedown).
    this.textarea.addEventListener("blur", () => this.closeListbox());
    this.textarea.addEventListener("focus", () => this.closeMenu(false));
    this.listbox.addEventListener("mousedown", (event) => event.preventDefault());
    this.menuButton.addEventListener("click", () => (this.menu.hidden ? this.openMenu(false) : this.closeMenu(true)));
    this.menuButton.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        event.preventDefault();
        this.openMenu(true, event.key === "ArrowUp");
      } else if (event.key === "Escape" && !this.menu.hidden) {
        event.preventDefault();
        this.closeMenu(true);
      }
    });
    this.menu.addEventListener("keydown", (event) => this.onMenuKey(event));
    // The menu closes when focus goes anywhere but the menu and its button...
    this.menuWrap.addEventListener("focusout", (event) => {
      if (!this.menuWrap.contains(/** @type {Node | null} */ (event.relatedTarget))) this.closeMenu(false);
    });
    // ...and on a click elsewhere (a click on the page's background moves no focus).
    document.addEventListener("pointerdown", (event) => {
      if (!this.menu.hidden && !this.menuWrap.contains(/** @type {Node | null} */ (event.target))) this.closeMenu(false);
    });
    // Redrawn live only while open; opening draws it anew. A "/shortcut" being typed is
    // matched again, so a response saved meanwhile is offered without another keystroke (one the
    // agent dismissed with Escape stays dismissed).
    client.on("canned", () => {
      if (!this.menu.hidden) this.renderMenu();
      if (document.activeElement === this.textarea) this.updateMatches();
    });
  }

  /** Show the composer for a conversation (keeps the previous one's draft). */
  setConversation(id, residentName) {
    if (this.conversationId !== null && this.conversationId !== id) {
      this.drafts.set(this.conversationId, this.textarea.value);
      this.client.stopTyping();
    }
    if (this.conversationId !== id) {
      this.textarea.value = this.drafts.get(id) || "";
      this.hideError();
      this.closeListbox();
      this.closeMenu(false);
    }
    this.conversationId = id;
    this.label.textContent = `Reply to ${residentName || "the resident"}`;
  }

  focus() {
    this.textarea.focus();
  }

  /** Put text where the caret is (replacing a selection), on its own line if there is text. */
  insert(text) {
    const ta = this.textarea;
    const start = ta.selectionStart ?? ta.value.length;
    const end = ta.selectionEnd ?? start;
    const before = ta.value.slice(0, start);
    const after = ta.value.slice(end);
    const lead = before && !/\s$/.test(before) ? "\n" : "";
    const trail = after && !/^\s/.test(after) ? "\n" : "";
    this.replaceRange(start, end, lead + text + trail);
  }

  replaceRange(start, end, text) {
    const ta = this.textarea;
    ta.value = ta.value.slice(0, start) + text + ta.value.slice(end);
    const caret = start + text.length;
    ta.setSelectionRange(caret, caret);
    ta.focus();
    this.onInput();
  }

  submit() {
    const text = this.textarea.value.trim();
    if (!text) {
      this.showError("Write a reply first.");
      return;
    }
    if ([...text].length > MAX_LENGTH) {
      this.showError(`A reply is at most ${MAX_LENGTH.toLocaleString("en-US")} characters.`);
      return;
    }
    this.hideError();
    this.client.send(this.conversationId, text);
    this.textarea.value = "";
    this.drafts.delete(this.conversationId);
    this.closeListbox();
    this.closeMenu(false);
    this.dismissed = null;
    this.textarea.focus();
  }

  showError(message) {
    this.error.textContent = message;
    this.error.hidden = false;
    this.textarea.setAttribute("aria-invalid", "true");
    this.textarea.setAttribute("aria-describedby", "reply-hint reply-error");
  }

  hideError() {
    this.error.hidden = true;
    this.error.textContent = "";
    this.textarea.removeAttribute("aria-invalid");
    this.textarea.setAttribute("aria-describedby", "reply-hint");
  }

  onInput() {
    if (!this.error.hidden) this.hideError();
    if (this.conversationId !== null) {
      if (this.textarea.value.trim()) this.client.noteTyping(this.conversationId);
      else this.client.stopTyping();
    }
    this.updateMatches();
  }

  // --- "/shortcut" listbox ---------------------------------------------------------------

  slashQuery() {
    const ta = this.textarea;
    if (ta.selectionStart !== ta.selectionEnd) return null;
    const match = SLASH.exec(ta.value.slice(0, ta.selectionStart));
    return match ? { query: match[2].toLowerCase(), start: ta.selectionStart - match[2].length - 1 } : null;
  }

  updateMatches() {
    const slash = this.slashQuery();
    const key = slash ? `${slash.start}:${slash.query}` : null;
    if (!slash || key === this.dismissed) {
      if (!slash) this.dismissed = null;
      this.closeListbox();
      return;
    }
    const q = slash.query;
    // The chat's language: a Spanish chat's "/hours" inserts the Spanish text.
    const canned = cannedIn(this.client.canned, this.language());
    const matches = canned
      .filter((c) => String(c.shortcut).toLowerCase().startsWith(q))
      .concat(canned.filter((c) => !String(c.shortcut).toLowerCase().startsWith(q) && String(c.title).toLowerCase().includes(q) && q));
    if (!matches.length) {
      this.closeListbox();
      return;
    }
    const same = matches.length === this.matches.length && matches.every((c, i) => c === this.matches[i]);
    const wasOpen = !this.listbox.hidden;
    this.matches = matches;
    if (!same || !wasOpen) this.active = 0;
    this.renderListbox();
    if (!wasOpen || !same) {
      const n = matches.length;
      this.notifier.announce(
        `${n} canned response${n === 1 ? "" : "s"} match${n === 1 ? "es" : ""}. Up and down arrows choose, Enter inserts.`,
      );
    }
  }

  renderListbox() {
    this.listbox.replaceChildren(
      ...this.matches.map((c, i) => {
        const option = el(
          "li",
          {
            id: `canned-option-${c.id}`,
            role: "option",
            "aria-selected": i === this.active ? "true" : "false",
            class: "option",
            lang: c.language && c.language !== "en" ? c.language : null,
          },
          el("span", { class: "shortcut", text: `/${c.shortcut}` }),
          " ",
          el("span", { class: "title", text: c.title }),
          el("span", { class: "preview", text: excerpt(c.text, 90) }),
        );
        option.addEventListener("click", () => this.choose(i));
        return option;
      }),
    );
    this.listbox.hidden = false;
    const active = this.matches[this.active];
    if (active) {
      this.textarea.setAttribute("aria-activedescendant", `canned-option-${active.id}`);
      // Within the list only: scrollIntoView would move the page's fixed layout too.
      const option = /** @type {HTMLElement | null} */ (this.listbox.querySelector('[aria-selected="true"]'));
      if (option) {
        const box = this.listbox;
        if (option.offsetTop < box.scrollTop) box.scrollTop = option.offsetTop;
        else if (option.offsetTop + option.offsetHeight > box.scrollTop + box.clientHeight) {
          box.scrollTop = option.offsetTop + option.offsetHeight - box.clientHeight;
        }
      }
    }
  }

  closeListbox() {
    this.listbox.hidden = true;
    this.listbox.replaceChildren();
    this.matches = [];
    this.active = -1;
    this.textarea.removeAttribute("aria-activedescendant");
  }

  choose(i) {
    const canned = this.matches[i];
    const slash = this.slashQuery();
    if (!canned) return;
    this.closeListbox();
    if (slash) this.replaceRange(slash.start, this.textarea.selectionStart, canned.text);
    else this.insert(canned.text);
  }

  onKeyDown(event) {
    if (event.isComposing) return;
    const open = !this.listbox.hidden && this.matches.length > 0;
    if (open && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.active = (this.active + step + this.matches.length) % this.matches.length;
      this.renderListbox();
      return;
    }
    if (open && (event.key === "Enter" || event.key === "Tab") && !event.shiftKey) {
      event.preventDefault();
      this.choose(this.active);
      return;
    }
    if (open && event.key === "Escape") {
      event.preventDefault();
      const slash = this.slashQuery();
      this.dismissed = slash ? `${slash.start}:${slash.query}` : null;
      this.closeListbox();
      return;
    }
    if (event.key === "Enter" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      this.submit();
    }
  }

  // --- "Canned responses" menu -----------------------------------------------------------

  /** The language of the conversation the composer is for ("en" when unknown). */
  language() {
    const code = this.client.chat(this.conversationId)?.language;
    return typeof code === "string" && Object.hasOwn(CHAT_LANGUAGES, code) ? code : "en";
  }

  renderMenu() {
    // The chat's language first; then the other language's versions, each marked with its
    // language (and `lang`, for screen readers), for an agent who wants that one.
    const language = this.language();
    const item = (c, marked) =>
      el(
        "li",
        {},
        el(
          "button",
          { type: "button", class: "menu-item", onclick: () => this.fromMenu(c), lang: marked || c.language !== "en" ? c.language : null },
          el("span", { class: "title", text: c.title }),
          " ",
          el("span", { class: "shortcut", text: `/${c.shortcut}` }),
          marked ? el("span", { class: "badge language", text: ownName(c.language) }) : null,
        ),
      );
    const items = [
      ...cannedIn(this.client.canned, language).map((c) => item(c, false)),
      ...cannedElsewhere(this.client.canned, language).map((c) => item(c, true)),
    ];
    this.menu.replaceChildren(...(items.length ? items : [el("li", { class: "empty", text: "No canned responses yet." })]));
  }

  openMenu(focusItem, last = false) {
    this.renderMenu();
    this.menu.hidden = false;
    this.menuButton.setAttribute("aria-expanded", "true");
    const buttons = this.menu.querySelectorAll("button");
    if (focusItem && buttons.length) buttons[last ? buttons.length - 1 : 0].focus();
  }

  closeMenu(focusButton) {
    if (this.menu.hidden) return;
    this.menu.hidden = true;
    this.menuButton.setAttribute("aria-expanded", "false");
    if (focusButton) this.menuButton.focus();
  }

  onMenuKey(event) {
    const buttons = [...this.menu.querySelectorAll("button")];
    const i = buttons.indexOf(document.activeElement);
    if (event.key === "Escape") {
      event.preventDefault();
      this.closeMenu(true);
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      buttons[(i + step + buttons.length) % buttons.length]?.focus();
    } else if (event.key === "Home" || event.key === "End") {
      event.preventDefault();
      buttons[event.key === "Home" ? 0 : buttons.length - 1]?.focus();
    }
  }

  fromMenu(canned) {
    this.closeMenu(false);
    this.textarea.focus();
    this.insert(canned.text);
  }
}
