// @ts-check
// The chat's menu ("More options" in the header): a menu button and its items, keyboard usable
// (Enter, Space or ArrowDown opens it on the first item; arrows move; Escape or Tab closes it
// and Escape gives focus back to the button), as the WAI-ARIA menu button pattern describes.

import { t } from "./shared/i18n.js";
import { el } from "./shared/dom.js";

export class ChatMenu {
  /** @param {{label: string, onSelect: () => void}[]} items */
  constructor(items) {
    this.button = el(
      "button",
      {
        type: "button",
        class: "more",
        "aria-haspopup": "menu",
        "aria-expanded": "false",
        "aria-controls": "csc-menu",
        "aria-label": t("More options"),
        title: t("More options"),
        onclick: () => (this.open ? this.hide(true) : this.show()),
      },
      el("span", { "aria-hidden": "true", text: "⋯" }),
    );
    this.items = items.map(({ label, onSelect }) =>
      el(
        "button",
        {
          type: "button",
          role: "menuitem",
          tabindex: "-1",
          onclick: () => {
            this.hide(false);
            onSelect();
          },
        },
        label,
      ),
    );
    this.list = el("div", { id: "csc-menu", class: "menu", role: "menu", "aria-label": t("More options"), hidden: true }, ...this.items);
    this.list.addEventListener("keydown", (event) => this.onKey(event));
    this.list.addEventListener("focusout", (event) => {
      if (!this.list.contains(/** @type {Node | null} */ (event.relatedTarget)) && event.relatedTarget !== this.button) this.hide(false);
    });
    this.button.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        this.show();
      }
    });
    this.node = el("div", { class: "menu-wrap" }, this.button, this.list);
  }

  get open() {
    return !this.list.hidden;
  }

  show() {
    this.list.hidden = false;
    this.button.setAttribute("aria-expanded", "true");
    this.items[0].focus();
  }

  /** @param {boolean} refocus give focus back to the menu button */
  hide(refocus) {
    if (!this.open) return;
    this.list.hidden = true;
    this.button.setAttribute("aria-expanded", "false");
    if (refocus) this.button.focus();
  }

  /** @param {KeyboardEvent} event */
  onKey(event) {
    const at = this.items.indexOf(/** @type {any} */ (event.target));
    if (event.key === "Escape") {
      event.preventDefault();
      event.stopPropagation(); // the panel closes on Escape: here only the menu does
      this.hide(true);
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      this.items[(at + step + this.items.length) % this.items.length].focus();
    } else if (event.key === "Tab") {
      this.hide(false);
    }
  }
}
