// @ts-check
// While the panel is closed, the newest unread message from the city shows beside the launcher
// (who wrote it and its first lines), as Intercom and LiveChat do: a badge alone is easy to miss.
// Activating it opens the chat; t("Dismiss") hides it until a newer message comes, also on the
// site's other pages (the store is this tab's session).

import { t } from "./shared/i18n.js";
import { el, icon, ICON_CLOSE } from "./shared/dom.js";

const PREVIEW_CHARS = 160; // the card clamps to three lines; this only spares the layout

/** @typedef {import("./storage.js").Store} Store */

export class MessagePreview {
  /**
   * @param {{store: Store, onOpen: () => void, onDismiss: () => void}} options
   */
  constructor({ store, onOpen, onDismiss }) {
    this.store = store;
    this.onDismiss = onDismiss;
    /** @type {{conversation: number, seq: number} | null} what is shown */
    this.shown = null;
    this.author = el("span");
    this.text = el("span", { class: "preview-text" });
    this.openButton = el(
      "button",
      { type: "button", class: "preview-open", onclick: onOpen },
      el(
        "span",
        { class: "preview-author" },
        el("span", { class: "sr-only", text: t("New message from ") }),
        this.author,
        el("span", { class: "sr-only", text: ":" }),
      ),
      this.text,
    );
    this.dismissButton = el(
      "button",
      { type: "button", class: "preview-dismiss", "aria-label": t("Dismiss new message"), title: t("Dismiss"), onclick: () => this.dismiss() },
      icon(ICON_CLOSE),
    );
    this.card = el("div", { class: "preview" }, this.openButton, this.dismissButton);
    // Always on the page and polite: a card put into it is read out once.
    this.node = el("div", { class: "preview-area", "aria-live": "polite" });
  }

  /**
   * Show this message (or nothing: null), unless it was dismissed.
   * @param {{conversation: number, seq: number, author: string, text: string} | null} message
   */
  show(message) {
    const dismissed = this.store.getJSON("preview-dismissed", null);
    const hide =
      !message ||
      (dismissed && dismissed.conversation === message.conversation && Number(dismissed.seq) >= message.seq);
    if (hide) {
      this.hide();
      return;
    }
    if (this.shown && this.shown.conversation === message.conversation && this.shown.seq === message.seq) return;
    this.shown = { conversation: message.conversation, seq: message.seq };
    this.author.textContent = message.author;
    const text = message.text.replace(/\s+/g, " ").trim();
    this.text.textContent = text.length > PREVIEW_CHARS ? `${text.slice(0, PREVIEW_CHARS - 1).trimEnd()}…` : text;
    if (this.card.parentNode !== this.node) this.node.append(this.card);
  }

  hide() {
    const hadFocus = this.card.contains(/** @type {ShadowRoot} */ (this.node.getRootNode()).activeElement);
    this.shown = null;
    this.card.remove();
    return hadFocus;
  }

  dismiss() {
    if (this.shown) this.store.setJSON("preview-dismissed", this.shown);
    this.hide();
    this.onDismiss();
  }
}
