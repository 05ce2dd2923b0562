// @ts-check
// Keeps the message log at the newest message while the resident is there, whatever changes
// its size: a message, a photo that loads, the "in line" or "is typing…" lines that come and go
// below it (each takes room from the log). Whether the resident is "there" is decided when they
// scroll, not when something changes: a line appearing under the log must not unpin it.
// Scrolled up to read, they are left in place and a "New messages" button takes them down.

import { tn } from "./shared/i18n.js";
import { el } from "./shared/dom.js";

const NEAR_BOTTOM_PX = 48; // this close to the end counts as at the end

export class LogPin {
  /**
   * @param {HTMLElement} log the scrolling message log
   * @param {() => void} onJump after the button took the resident down (it is gone: move focus)
   */
  constructor(log, onJump) {
    this.log = log;
    this.pinned = true;
    this.lastTop = 0; // where the last scroll left the log: which way the next one goes
    this.unseen = 0; // messages that arrived while scrolled up
    this.label = el("span");
    this.button = el(
      "button",
      {
        type: "button",
        class: "new-messages",
        hidden: true,
        onclick: () => {
          this.toEnd();
          onJump();
        },
      },
      el("span", { "aria-hidden": "true", text: "↓" }),
      this.label,
    );
    // A scroll the resident made (or ours, which ends at the bottom) decides.
    log.addEventListener("scroll", () => this.onScroll(), { passive: true });
    const follow = () => {
      if (this.pinned) this.scroll();
    };
    // The log's own size (lines below it, the panel) and its content (messages, state lines).
    new ResizeObserver(follow).observe(log);
    new MutationObserver(follow).observe(log, { childList: true, subtree: true, characterData: true });
    // An image that loads grows its message without a DOM change; load does not bubble.
    log.addEventListener("load", follow, true);
  }

  /** The container for the log and its button (the button floats over the log's bottom). */
  wrap() {
    return el("div", { class: "log-wrap" }, this.log, this.button);
  }

  atEnd() {
    const log = this.log;
    return log.scrollHeight - log.scrollTop - log.clientHeight < NEAR_BOTTOM_PX;
  }

  onScroll() {
    // A log out of the page (panel closed, another screen) has no geometry to judge by.
    if (!this.log.clientHeight) return;
    const top = this.log.scrollTop;
    const up = top < this.lastTop;
    this.lastTop = top;
    // Only a move up unpins. Scroll events come with the next frame: ours (down to the end)
    // may be judged after a line appeared under the log, before the ResizeObserver follows.
    if (this.atEnd()) {
      this.pinned = true;
      this.clearUnseen();
    } else if (up) {
      this.pinned = false;
    }
  }

  scroll() {
    this.log.scrollTop = this.log.scrollHeight;
    this.lastTop = this.log.scrollTop;
  }

  /** Go to the newest message and stay there. */
  toEnd() {
    this.pinned = true;
    this.scroll();
    this.clearUnseen();
  }

  /** A message from someone else arrived: if it is out of sight, say so. */
  arrived() {
    if (this.pinned) return;
    this.unseen++;
    this.label.textContent = tn("1 new message", "{count} new messages", this.unseen);
    this.button.hidden = false;
  }

  clearUnseen() {
    this.unseen = 0;
    this.button.hidden = true;
  }
}
