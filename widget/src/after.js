// @ts-check
// What the resident can do about a chat besides writing in it: have it emailed to them
// ("Email me this conversation", from the menu or the ended screen), and, once a chat a person
// answered has ended, say how it went ("How did we do?", 1 to 5, an optional comment, skippable).

import { errorText } from "./errors.js";
import { language, t } from "./shared/i18n.js";
import { el } from "./shared/dom.js";
import { checkEmail } from "./validation.js";

/** @typedef {{ok: boolean, outcome?: string, masked?: string, error?: {message: string, field?: string}}} TranscriptAck */

const SCORE_WORDS = [() => t("very poor"), () => t("poor"), () => t("okay"), () => t("good"), () => t("very good")];
export const MAX_COMMENT = 1000;

/** What the resident reads once the service answered a transcript request. */
export function transcriptWords(ack) {
  if (!ack.ok) return ack.error ? errorText(ack.error) : t("The conversation could not be emailed. Please try again.");
  const to = ack.masked || t("your email address");
  if (ack.outcome === "sent") return t("Sent to {to}. It may take a few minutes to arrive.", { to });
  if (ack.outcome === "already_sent") return t("Already sent to {to}. Check your inbox and spam folder.", { to });
  return t("We cannot send more email to {to} today. Please try again tomorrow.", { to });
}

export class TranscriptOffer {
  /**
   * @param {{send: (email: string | null) => Promise<TranscriptAck>, hasEmail: () => boolean}} options
   */
  constructor({ send, hasEmail }) {
    this.send = send;
    this.hasEmail = hasEmail;
    this.busy = false;
    this.button = el("button", { type: "button", class: "secondary", onclick: () => this.request() }, t("Email me this conversation"));
    this.input = el("input", {
      id: "csc-transcript-email",
      type: "email",
      autocomplete: "email",
      "aria-describedby": "csc-transcript-email-error",
    });
    this.inputError = el("p", { id: "csc-transcript-email-error", class: "error" });
    this.emailField = el(
      "div",
      { class: "field", hidden: true },
      el("label", { for: "csc-transcript-email", text: t("Your email address") }),
      this.input,
      this.inputError,
    );
    this.input.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.isComposing) {
        event.preventDefault();
        this.request();
      }
    });
    this.status = el("p", { class: "transcript-status", role: "status" });
    this.node = el("div", { class: "transcript" }, this.emailField, this.button, this.status);
  }

  /** Send the transcript, asking for an address first when the chat has none. */
  async request() {
    if (this.busy) return; // one request at a time; the service also refuses a second mail
    let email = null;
    // Asked for an address: the chat has none, or the service said so (the field is shown).
    if (!this.hasEmail() || !this.emailField.hidden) {
      if (this.emailField.hidden) {
        this.emailField.hidden = false;
        this.input.focus();
        return;
      }
      email = this.input.value.trim();
      const problem = checkEmail(email);
      this.inputError.textContent = problem || "";
      this.input.setAttribute("aria-invalid", problem ? "true" : "false");
      if (problem) {
        this.input.focus();
        return;
      }
    }
    this.busy = true;
    this.button.setAttribute("aria-disabled", "true");
    this.status.textContent = t("Sending…");
    try {
      const ack = await this.send(email);
      if (!ack.ok && ack.error?.field === "email") {
        // The chat has no address (or the one typed was refused): ask for one here.
        this.emailField.hidden = false;
        this.status.textContent = "";
        this.inputError.textContent = language() === "en" ? ack.error.message : t("Enter an email address like name@example.com.");
        this.input.setAttribute("aria-invalid", "true");
        this.input.focus();
        return;
      }
      if (ack.ok) this.emailField.hidden = true;
      this.status.textContent = transcriptWords(ack);
    } finally {
      this.busy = false;
      this.button.removeAttribute("aria-disabled");
    }
  }
}

export class RatingForm {
  /**
   * @param {{send: (score: number, comment: string) => Promise<{ok: boolean, error?: {code?: string, message: string}}>, onDone: () => void}} options
   */
  constructor({ send, onDone }) {
    this.send = send;
    this.onDone = onDone;
    this.finished = false; // rated or skipped: not asked again in this page view
    /** @type {HTMLElement} */
    this.commentField = el("div");
    this.heading = el("legend", { id: "csc-rating-title", text: t("How did we do?") });
    this.radios = SCORE_WORDS.map((words, i) =>
      el("input", { type: "radio", name: "csc-score", value: String(i + 1), id: `csc-score-${i + 1}` }),
    );
    const scores = el(
      "div",
      { class: "scores" },
      ...this.radios.map((radio, i) =>
        el(
          "label",
          { class: "score", for: radio.id },
          radio,
          el("span", { "aria-hidden": "true", text: String(i + 1) }),
          el("span", { class: "sr-only", text: t("{score} of 5, {words}", { score: i + 1, words: SCORE_WORDS[i]() }) }),
        ),
      ),
    );
    this.comment = el("textarea", {
      id: "csc-rating-comment",
      rows: "2",
      maxlength: String(MAX_COMMENT),
      "aria-describedby": "csc-rating-comment-hint",
    });
    this.error = el("p", { class: "error", role: "alert" });
    this.sendButton = el("button", { type: "submit", class: "primary" }, t("Send rating"));
    this.form = el(
      "form",
      { class: "rating", novalidate: true, onsubmit: (event) => this.submit(event) },
      el(
        "fieldset",
        {},
        this.heading,
        el("p", { class: "hint", id: "csc-rating-hint", text: "1 is very poor, 5 is very good." }),
        scores,
      ),
      // The comment appears once a score is chosen: the question stays short until then.
      (this.commentField = el(
        "div",
        { class: "field", hidden: true },
        el("label", { for: "csc-rating-comment", text: t("Anything to add? (optional)") }),
        el("p", { class: "hint", id: "csc-rating-comment-hint", text: t("Up to {count} characters.", { count: MAX_COMMENT.toLocaleString("en-US") }) }),
        this.comment,
      )),
      this.error,
      el(
        "div",
        { class: "actions" },
        this.sendButton,
        el("button", { type: "button", class: "secondary", onclick: () => this.skip() }, t("Skip")),
      ),
    );
    for (const radio of this.radios) radio.addEventListener("change", () => (this.commentField.hidden = false));
    this.thanks = el("p", { class: "thanks", role: "status" });
    this.node = el("div", { class: "rating-wrap", hidden: true }, this.form, this.thanks);
  }

  /** The chosen score, or 0. */
  get score() {
    const chosen = this.radios.find((r) => r.checked);
    return chosen ? Number(chosen.value) : 0;
  }

  /** @param {boolean} show */
  render(show) {
    this.node.hidden = !show || (this.finished && !this.thanks.textContent);
  }

  focus() {
    this.radios[0].focus();
  }

  async submit(event) {
    event.preventDefault();
    if (this.sendButton.getAttribute("aria-disabled") === "true") return;
    const score = this.score;
    if (!score) {
      this.error.textContent = t("Choose a number from 1 to 5, or skip.");
      this.radios[0].focus();
      return;
    }
    this.error.textContent = "";
    this.sendButton.setAttribute("aria-disabled", "true");
    try {
      const ack = await this.send(score, this.comment.value.trim().slice(0, MAX_COMMENT));
      if (ack.ok || ack.error?.code === "already_taken") {
        this.finish(ack.ok ? t("Thank you for your rating.") : (language() === "en" && ack.error?.message) || t("Thank you!"));
      } else {
        this.error.textContent = ack.error ? errorText(ack.error) : t("Your rating could not be sent. Please try again.");
      }
    } finally {
      this.sendButton.removeAttribute("aria-disabled");
    }
  }

  skip() {
    this.finish("");
  }

  /** @param {string} thanks */
  finish(thanks) {
    this.finished = true;
    this.form.hidden = true;
    this.thanks.textContent = thanks;
    this.node.hidden = !thanks;
    this.onDone();
  }
}
