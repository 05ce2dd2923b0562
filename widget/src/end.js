// @ts-check
// "End chat" asks first, inside the panel (a window.confirm would block the page and cannot be
// styled or announced with the chat): the question takes the composer's place until answered.
// Escape or t("Keep chatting") goes back to the chat.

import { t } from "./shared/i18n.js";
import { el } from "./shared/dom.js";

export class EndConfirmation {
  /**
   * @param {{onConfirm: () => void, onCancel: () => void}} options
   */
  constructor({ onConfirm, onCancel }) {
    this.confirmButton = el("button", { type: "button", class: "primary", onclick: onConfirm }, t("Yes, end chat"));
    this.cancelButton = el("button", { type: "button", class: "secondary", onclick: onCancel }, t("Keep chatting"));
    this.node = el(
      "div",
      {
        class: "confirm-end",
        role: "alertdialog",
        "aria-labelledby": "csc-end-title",
        "aria-describedby": "csc-end-text",
        hidden: true,
      },
      el("p", { id: "csc-end-title", class: "lead", text: t("End this chat?") }),
      el("p", {
        id: "csc-end-text",
        text: t("You will not be able to send more messages in it, and this browser will no longer keep it."),
      }),
      el("div", { class: "actions" }, this.confirmButton, this.cancelButton),
    );
    this.node.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !event.isComposing) {
        // The panel would close on Escape: here it only takes the question back.
        event.preventDefault();
        event.stopPropagation();
        onCancel();
      }
    });
  }

  get open() {
    return !this.node.hidden;
  }

  /** Ask; the safe answer has focus, as in any confirmation. */
  show() {
    this.node.hidden = false;
    this.cancelButton.focus();
  }

  hide() {
    this.node.hidden = true;
  }
}
