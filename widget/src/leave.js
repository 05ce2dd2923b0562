// @ts-check
// The t("Leave Us A Message!") form, offered when no person can chat (docs/protocol/resident.md,
// `hours` and `leave_message`), and the confirmation shown once the message is stored. The view
// decides when to show them; these classes only build their DOM and check and send the form.

import { errorText } from "./errors.js";
import { language, t } from "./shared/i18n.js";
import { contactFields, el } from "./shared/dom.js";
import { newClientId } from "./shared/ids.js";
import { fieldErrorOf } from "./shared/field-error.js";
import { dateTimeLabel, endSentence, parseTime } from "./shared/time.js";
import { validateLeaveMessage } from "./validation.js";
import { LimitNotice, holdButton } from "./limit.js";
import { waitOf } from "./shared/socket.js";

const FIELDS = ["name", "email", "message"];
const DEFAULT_TEXT = () => t("Agents are unavailable right now. Please leave a message and we will respond by next business day.");
/** @type {Record<string, () => string>} */
const SECONDARY = { start: () => t("Ask our assistant instead"), chat: () => t("Back to the chat") };
// Why the form is offered (the `hours` answer's reason), when the resident reads another
// language than the service's English `text`.
/** @type {Record<string, () => string>} */
const REASONS = {
  closed: () => t("We are closed right now. Please leave a message and we will reply by the next business day."),
  no_agents: () => t("No one can chat with you right now. Please leave a message and we will reply by the next business day."),
  long_wait: () => t("Everyone is busy and the wait is long right now. Please leave a message and we will reply by the next business day."),
};

/**
 * A date the service sent both as ISO 8601 and in its English words: the words in English,
 * else the date written in the resident's language (its zone is the browser's).
 * @param {unknown} iso
 * @param {unknown} words
 */
export function dueWords(iso, words) {
  const english = typeof words === "string" ? words : "";
  if (language() === "en" && english) return english;
  const label = dateTimeLabel(parseTime(iso));
  return label || english;
}

export class LeaveMessageForm {
  /**
   * send(payload) resolves to the `leave_message` ack; onSent(ack, values) runs after a success;
   * onSecondary() for the secondary button (the assistant, or back to the chat); center() is
   * the Center when known (whom to call when the form is refused for hours).
   */
  constructor({ send, onSent, onSecondary, center }) {
    this.send = send;
    this.onSent = onSent;
    this.sending = false;
    // The last submission not known to be stored: a retry of the same values reuses its
    // client_id, so the server stores the message once even if an ack was lost.
    this.attempt = null;

    const contact = contactFields("csc-lm", "message", { label: t("Message"), rows: 3 });
    this.inputs = contact.inputs;
    this.setFieldError = contact.setError;
    const fields = contact.nodes;
    // The honeypot: off-screen, out of the tab order and of the accessibility tree, so only
    // robots fill it in. Its value goes to the server as it is.
    this.website = el("input", {
      id: "csc-lm-website",
      name: "website",
      type: "text",
      tabindex: "-1",
      autocomplete: "off",
      "aria-hidden": "true",
    });
    const trap = el("div", { class: "trap", "aria-hidden": "true" }, el("label", { for: this.website.id, text: t("Website") }), this.website);

    this.notice = el("p", { class: "notice", hidden: true });
    this.reason = el("p", { class: "lead" });
    // When the center opens again and its hours: one short line, not three paragraphs.
    this.openingLine = el("span", { hidden: true });
    this.hoursLine = el("span");
    this.formError = el("p", { class: "error", role: "alert" });
    // Too many messages from here (a few seconds), or today (hours): said calmly, form kept.
    this.limit = new LimitNotice("leave", center);
    this.submitButton = el("button", { type: "submit", class: "primary" }, t("Send message"));
    this.secondaryButton = el("button", { type: "button", class: "secondary", onclick: () => onSecondary() }, SECONDARY.start());
    // The form fits a laptop's panel; where it cannot (a long notice, large text), its
    // buttons stay in view at its foot and the fields scroll above them.
    this.node = el(
      "form",
      { class: "prechat leave", novalidate: true, "aria-labelledby": "csc-lm-title", onsubmit: (event) => this.submit(event) },
      el("h3", { id: "csc-lm-title", text: t("Leave Us A Message!") }),
      this.notice,
      this.reason,
      el("p", { class: "hours" }, this.openingLine, " ", this.hoursLine),
      el("p", { class: "hint", text: t("All fields are required. If someone is in danger, call 911.") }),
      ...fields,
      trap,
      this.limit.node,
      this.formError,
      el("div", { class: "actions" }, this.submitButton, this.secondaryButton),
    );
  }

  /** Show why the form is offered: the `hours` answer, and where the resident came from. */
  show(hours, from) {
    const offer = (hours && hours.leave_message) || {};
    const english = language() === "en";
    const served = typeof offer.text === "string" && offer.text ? offer.text : "";
    const reason = english ? served : REASONS[offer.reason] ? REASONS[offer.reason]() : "";
    this.reason.textContent = reason || (english ? DEFAULT_TEXT() : REASONS.no_agents());
    // The weekly hours in the widget's language, as the service words them (`hours_in`), else
    // in English for an English widget only.
    const worded = hours && hours.hours_in && typeof hours.hours_in[language()] === "string" ? hours.hours_in[language()] : "";
    const weekly = worded || (english && hours && typeof hours.hours === "string" ? hours.hours : "");
    this.hoursLine.hidden = !weekly;
    const opening = hours && hours.open === false ? dueWords(hours.next_opening, hours.next_opening_text) : "";
    this.openingLine.textContent = opening ? endSentence(t("We open again {when}", { when: opening })) : "";
    this.hoursLine.textContent = weekly ? endSentence(t("Our hours: {hours}", { hours: weekly })) : "";
    this.openingLine.hidden = !opening;
    this.secondaryButton.textContent = (SECONDARY[from] || SECONDARY.start)();
    this.formError.textContent = "";
  }

  setNotice(text) {
    this.notice.textContent = text || "";
    this.notice.hidden = !text;
  }

  /** Fill in fields; `overwrite` false keeps what is already typed. */
  fill(values, { overwrite = true } = {}) {
    for (const field of FIELDS) {
      const value = values[field];
      if (typeof value !== "string") continue;
      if (!overwrite && this.inputs[field].value.trim()) continue;
      this.inputs[field].value = value;
      this.setFieldError(field, "");
    }
  }

  values() {
    const values = {};
    for (const field of FIELDS) values[field] = this.inputs[field].value.trim();
    return values;
  }

  /** Focus the first field in error, else the first empty one, else the message. */
  focusFirst() {
    const invalid = FIELDS.find((f) => this.inputs[f].getAttribute("aria-invalid") === "true");
    const empty = FIELDS.find((f) => !this.inputs[f].value.trim());
    this.inputs[invalid || empty || "message"].focus();
  }

  async submit(event) {
    event.preventDefault();
    if (this.sending) return;
    if (this.limit.counting) {
      this.limit.remind(); // the button waits a few seconds; what was typed stays
      return;
    }
    const values = this.values();
    const errors = validateLeaveMessage(values);
    for (const field of FIELDS) this.setFieldError(field, errors[field] || "");
    this.formError.textContent = "";
    const firstInvalid = FIELDS.find((f) => errors[f]);
    if (firstInvalid) {
      this.inputs[firstInvalid].focus();
      return;
    }

    /** @type {Record<string, string>} */
    // The widget's language: the acknowledgement mail and the staff's reply are written in it.
    const payload = { ...values, website: this.website.value, language: language() };
    const key = JSON.stringify(payload);
    if (!this.attempt || this.attempt.key !== key) this.attempt = { key, clientId: newClientId() };
    payload.client_id = this.attempt.clientId;

    // aria-disabled rather than disabled: a disabled button would drop keyboard focus.
    this.sending = true;
    this.submitButton.setAttribute("aria-disabled", "true");
    this.submitButton.textContent = t("Sending message…");
    const ack = await this.send(payload);
    this.sending = false;
    this.submitButton.removeAttribute("aria-disabled");
    this.submitButton.textContent = t("Send message");

    if (ack.ok) {
      this.attempt = null;
      this.limit.clear();
      this.inputs.message.value = "";
      this.onSent(ack, values);
      return;
    }
    const wait = waitOf(ack.error);
    if (wait !== null) {
      this.limit.start(wait, () => holdButton(this.submitButton, false));
      holdButton(this.submitButton, this.limit.counting);
      return;
    }
    this.limit.clear();
    showRefusal(this, ack.error, FIELDS);
  }
}

/**
 * Show a refused form's error: under the field the server blames (focused), else for the form.
 * @param {{inputs: Record<string, HTMLElement>, setFieldError: (field: string, message: string) => void, formError: HTMLElement}} form
 * @param {import("./shared/socket.js").AckError} error
 * @param {readonly string[]} fields
 */
export function showRefusal(form, error, fields) {
  const blamed = fieldErrorOf(error, fields);
  if (blamed) {
    // The service says what is wrong in English: in another language, ask to check the field.
    form.setFieldError(blamed.field, language() === "en" ? blamed.message : t("Please check this field."));
    form.inputs[blamed.field].focus();
  } else {
    form.formError.textContent = errorText(error);
  }
}

/** "Thank you… Your reference number is M-…": what the resident sees once the message is stored. */
export class Confirmation {
  constructor({ onClose, onNewChat }) {
    this.heading = el("h3", { id: "csc-sent-title", tabindex: "-1" });
    this.reference = el("strong");
    // The sentence's words around the reference, in the catalogue's order.
    const [before, after = ""] = t("Your reference number is {reference}.").split("{reference}");
    this.referenceLine = el("p", {}, before, this.reference, after);
    this.due = el("p");
    this.node = el(
      "section",
      { class: "prechat confirmation", "aria-labelledby": "csc-sent-title" },
      this.heading,
      this.referenceLine,
      this.due,
      el("p", { class: "hint", text: t("You will also get these details by email.") }),
      el(
        "div",
        { class: "actions" },
        el("button", { type: "button", class: "primary", onclick: () => onClose() }, t("Close")),
        el("button", { type: "button", class: "secondary", onclick: () => onNewChat() }, t("Start a new chat")),
      ),
    );
  }

  /** Fill in the details; return a sentence to announce. */
  show({ name, email, reference, replyDue }) {
    this.heading.textContent = t("Thank you, {name}. We received your message.", { name });
    this.reference.textContent = reference;
    this.due.textContent = endSentence(t("We will reply to {email} by {when}", { email, when: replyDue }));
    return endSentence(t("Message sent. Reference {reference}. Reply by {when}", { reference, when: replyDue }));
  }
}
