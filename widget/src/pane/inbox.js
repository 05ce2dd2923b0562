// @ts-check
// The after-hours inbox: the messages residents left when nobody could chat, reply due soonest
// first, with a filter to see the replied, closed and spam ones too. One message opens beside the
// list with what its state allows: Claim; Reply by email; Put back, Close, Mark as spam. Whether
// a message is overdue is worked out again every minute; a new one is announced politely.

import { el } from "../shared/dom.js";
import { INBOX_OPEN, INBOX_STATUSES, isOverdue } from "./client.js";
import { invalid } from "./dialog.js";
import { plural } from "./format.js";
import { dateTimeLabel, parseTime } from "../shared/time.js";
import { reconcile } from "./lists.js";
import { languageHeaderBadge, showLanguageBadge } from "./language.js";

const TICK_MS = 60000; // how often overdue flags and counts are brought up to date
const REPLY_MAX = 4000;

export const INBOX_STATUS_LABELS = {
  new: "New",
  in_progress: "In progress",
  replied: "Replied",
  closed: "Closed",
  spam: "Spam",
};

const DONE = { new: "was put back in the inbox", closed: "is closed", spam: "was marked as spam" };

export class InboxView {
  /** @type {HTMLInputElement[]} made by build() */
  filterBoxes;
  /** @type {HTMLElement[]} made by build() */
  actionButtons;

  constructor(client, notifier, pane) {
    this.client = client;
    this.notifier = notifier;
    this.pane = pane;
    this.statuses = [...INBOX_OPEN]; // what the list shows
    this.openId = null; // the message shown beside the list
    this.last = null; // that message as last seen
    this.drafts = new Map(); // message id -> reply not sent yet
    this.loading = 0;
    this.listError = null;
    this.busy = false; // an action is out: its answer decides where focus goes
    this.build();
    client.on("inbox", () => this.render());
    client.on("inbox_item", (item, before, live) => this.onItem(item, before, live));
    client.on("ready", () => this.onReady());
    client.on("me", () => this.renderDetail());
    setInterval(() => this.render(), TICK_MS);
  }

  // --- building --------------------------------------------------------------------------

  build() {
    this.tabCount = el("span", { class: "tab-count" });
    this.heading = el("h2", { id: "inbox-h", tabindex: "-1", text: "After-hours messages" });
    this.summary = el("p", { class: "hint" });
    this.filterBoxes = INBOX_STATUSES.map((status) => {
      const input = el("input", { type: "checkbox", id: `inbox-show-${status}`, value: status });
      input.checked = this.statuses.includes(status);
      input.addEventListener("change", () => this.onFilter());
      return input;
    });
    const filter = el(
      "fieldset",
      { class: "inbox-filter" },
      el("legend", { text: "Show" }),
      ...this.filterBoxes.map((input) =>
        el("div", { class: "choice" }, input, el("label", { for: input.id, text: INBOX_STATUS_LABELS[input.value] })),
      ),
    );
    this.listStatus = el("p", { class: "hint" });
    this.list = el("ul", { class: "inbox-list", "aria-label": "Messages, reply due soonest first" });
    const listSection = el(
      "section",
      { class: "inbox-list-section", "aria-labelledby": "inbox-h" },
      this.heading,
      this.summary,
      filter,
      this.listStatus,
      this.list,
    );

    this.empty = el(
      "div",
      { class: "conversation-empty" },
      el("h2", { text: "No message open" }),
      el("p", { text: "Choose a message from the list to read and answer it." }),
    );
    this.title = el("h2", { id: "inbox-message-title", tabindex: "-1" });
    this.meta = el("p", { class: "conversation-meta" });
    this.stateNote = el("p", { class: "notice" });
    /** @type {Record<string, {dt: HTMLElement, dd: HTMLElement}>} */
    this.facts = {};
    const factRows = [
      ["reference", "Reference"],
      ["name", "Name"],
      ["email", "Email"],
      ["received", "Received"],
      ["due", "Reply by"],
      ["status", "Status"],
      ["owner", "Owner"],
      ["chat", "Chat"],
    ].flatMap(([key, label]) => {
      const dt = el("dt", { text: label });
      const dd = el("dd");
      this.facts[key] = { dt, dd };
      return [dt, dd];
    });
    this.chatButton = el("button", { type: "button", class: "link", onclick: () => this.openChat() });
    this.facts.chat.dd.append(this.chatButton);
    this.spamInfo = el("div", { class: "spam-info", hidden: true });
    this.text = el("div", { class: "inbox-text" });
    this.replyHeading = el("h3", { id: "inbox-reply-h", tabindex: "-1", text: "Reply sent" });
    this.replyMeta = el("p", { class: "sub" });
    this.replyText = el("div", { class: "inbox-text inbox-reply" });
    this.replySection = el(
      "section",
      { "aria-labelledby": "inbox-reply-h", hidden: true },
      this.replyHeading,
      this.replyMeta,
      this.replyText,
    );
    // The resident's replies by email to our mails about this message, oldest first.
    this.followUpList = el("ol", { class: "inbox-follow-ups" });
    this.followUpSection = el(
      "section",
      { "aria-labelledby": "inbox-follow-ups-h", hidden: true },
      el("h3", { id: "inbox-follow-ups-h", text: "Their replies by email" }),
      this.followUpList,
    );
    this.actionError = el("p", { class: "error", hidden: true, "aria-live": "polite" });

    this.replyInput = el("textarea", {
      id: "inbox-reply-text",
      rows: 6,
      maxlength: REPLY_MAX,
      required: true,
      "aria-describedby": "inbox-reply-hint",
      spellcheck: "true",
    });
    this.replyInput.addEventListener("input", () => {
      if (this.openId !== null) this.drafts.set(this.openId, this.replyInput.value);
    });
    this.replyInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        this.sendReply();
      }
    });
    this.replyHint = el("p", { class: "hint", id: "inbox-reply-hint" });
    this.replyError = el("p", { class: "error", id: "inbox-reply-error", hidden: true, "aria-live": "polite" });
    this.sendButton = el("button", { type: "submit" }, "Send reply");
    this.replyForm = el(
      "form",
      { class: "inbox-reply-form", novalidate: true, hidden: true },
      el("label", { for: this.replyInput.id, text: "Reply by email" }),
      this.replyHint,
      this.replyInput,
      this.replyError,
      el("div", { class: "composer-actions" }, this.sendButton),
    );
    this.replyForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendReply();
    });

    this.claimButton = el("button", { type: "button", onclick: () => this.claim() }, "Claim");
    this.putBackButton = el("button", { type: "button", class: "secondary", onclick: () => this.changeStatus("new") }, "Put back");
    this.closeButton = el("button", { type: "button", class: "secondary", onclick: () => this.changeStatus("closed") }, "Close");
    this.spamButton = el("button", { type: "button", class: "secondary", onclick: () => this.changeStatus("spam") }, "Mark as spam");
    this.actionButtons = [this.claimButton, this.putBackButton, this.closeButton, this.spamButton];
    this.actionsHint = el("p", { class: "hint" });
    this.actions = el("div", { class: "inbox-actions" }, ...this.actionButtons);

    this.body = el(
      "div",
      { class: "inbox-message", hidden: true },
      el("div", { class: "conversation-head" }, this.title, this.meta),
      this.stateNote,
      el("dl", { class: "resident-info inbox-facts" }, ...factRows),
      this.spamInfo,
      el("h3", { text: "Their message" }),
      this.text,
      this.replySection,
      this.followUpSection,
      this.actionError,
      this.replyForm,
      this.actions,
      this.actionsHint,
    );
    const detail = el("section", { class: "inbox-detail", "aria-label": "After-hours message" }, this.empty, this.body);
    this.root = el("div", { class: "inbox" }, listSection, detail);
  }

  // --- loading -----------------------------------------------------------------------------

  onReady() {
    // The client lists the open ones itself; what else the filter shows is asked for here.
    if (this.statuses.some((s) => !INBOX_OPEN.includes(s))) this.load();
  }

  /** Called when the inbox is shown. */
  shown() {
    this.render();
    if (!this.client.inboxLoaded && this.client.ready && !this.loading) this.load();
  }

  async load() {
    if (!this.statuses.length) return;
    this.loading += 1;
    this.render();
    const ack = await this.client.loadInbox(this.statuses);
    this.loading -= 1;
    this.listError = ack.ok ? null : `The messages could not be loaded: ${ack.error.message}`;
    this.render();
  }

  onFilter() {
    this.statuses = this.filterBoxes.filter((input) => input.checked).map((input) => input.value);
    this.listError = null;
    this.render();
    if (!this.statuses.length) return;
    this.load().then(() => {
      const shown = this.client.inboxItems(this.statuses).length;
      const names = this.statuses.map((s) => INBOX_STATUS_LABELS[s].toLowerCase()).join(", ");
      if (!this.listError) this.notifier.announce(`${plural(shown, "message")} shown: ${names}.`);
    });
  }

  onItem(item, before, live) {
    if (live && !before && item.status === "new") {
      this.notifier.announce(`New after-hours message from ${item.name} (${item.reference}).`);
    }
  }

  // --- the list ------------------------------------------------------------------------------

  render() {
    const now = Date.now();
    this.renderTab(now);
    this.renderList(now);
    this.renderDetail(now);
  }

  renderTab(now) {
    if (!this.client.inboxLoaded) {
      this.tabCount.replaceChildren();
      this.summary.textContent = "";
      return;
    }
    const { open, overdue } = this.client.inboxCounts(now);
    this.tabCount.replaceChildren(`(${open} open`, overdue ? ", " : "", overdue ? el("strong", { text: `${overdue} overdue` }) : "", ")");
    this.summary.textContent = `${plural(open, "open message")}, ${overdue} overdue. Reply due soonest first.`;
  }

  renderList(now) {
    const items = this.statuses.length ? this.client.inboxItems(this.statuses) : [];
    let status = "";
    if (!this.statuses.length) status = "Choose at least one status to show.";
    else if (this.listError) status = this.listError;
    else if (!items.length) status = this.loading || !this.client.inboxLoaded ? "Loading…" : "No messages.";
    this.listStatus.textContent = status;
    this.listStatus.className = this.listError && this.statuses.length ? "error" : "hint";
    this.listStatus.hidden = !status;
    this.list.hidden = !items.length;
    const lost = reconcile(
      this.list,
      items,
      (m) => m.id,
      (m) => this.itemNode(m),
      (li, m) => this.updateItem(li, m, now),
    );
    if (lost) this.heading.focus();
  }

  itemNode(message) {
    const name = el("span", { class: "name" });
    const overdue = el("span", { class: "badge overdue", text: "Overdue" });
    const language = el("span", { class: "badge language", hidden: true });
    const reference = el("span", { class: "sub" });
    const times = el("span", { class: "sub" });
    const state = el("span", { class: "sub" });
    const button = el(
      "button",
      { type: "button", class: "inbox-item", onclick: () => this.open(message.id) },
      el("span", { class: "line" }, name, language, overdue),
      reference,
      times,
      state,
    );
    const li = el("li", {}, button);
    li._parts = { button, name, overdue, language, reference, times, state };
    return li;
  }

  updateItem(li, m, now) {
    const p = li._parts;
    const late = isOverdue(m, now);
    p.name.textContent = m.name;
    p.overdue.hidden = !late;
    showLanguageBadge(p.language, m);
    p.button.classList.toggle("overdue", late);
    p.reference.textContent = m.email ? `${m.reference} · ${m.email}` : m.reference;
    p.times.replaceChildren("Received ", timeNode(m.received_at, now), " · Reply by ", timeNode(m.reply_due, now));
    p.state.textContent = `${INBOX_STATUS_LABELS[m.status] || m.status} · ${this.ownerLabel(m)}`;
    if (this.openId === m.id) p.button.setAttribute("aria-current", "true");
    else p.button.removeAttribute("aria-current");
  }

  ownerLabel(m) {
    if (!m.owner) return "Not claimed";
    return m.owner.id === this.client.me?.id ? "Owner: you" : `Owner: ${m.owner.name}`;
  }

  // --- one message -----------------------------------------------------------------------------

  current() {
    if (this.openId === null) return null;
    return this.client.inbox.get(this.openId) || this.last;
  }

  /** Show a message beside the list and put focus on its heading. */
  open(id) {
    if (this.openId !== id) {
      this.openId = id;
      this.last = null;
      this.showError(null);
      this.showReplyError(null);
      this.replyInput.value = this.drafts.get(id) || "";
    }
    this.render();
    this.title.focus();
  }

  renderDetail(now = Date.now()) {
    const item = this.current();
    this.empty.hidden = Boolean(item);
    this.body.hidden = !item;
    if (!item) return;
    this.last = item;
    const focused = this.body.contains(document.activeElement) ? document.activeElement : null;

    const me = this.client.me;
    const mine = Boolean(item.owner && me && item.owner.id === me.id);
    const supervisor = this.client.isSupervisor;
    const mayChange = !item.owner || mine || supervisor;
    const status = item.status;
    const open = INBOX_OPEN.includes(status);
    const late = isOverdue(item, now);
    const label = INBOX_STATUS_LABELS[status] || status;

    this.title.textContent = `${item.name} — ${item.reference}`;
    const meta = [el("span", { class: "chip", text: label })];
    if (late) meta.push(el("span", { class: "badge overdue", text: "Overdue" }));
    // Its mails (the acknowledgement, the frame of the reply) are in that language.
    const language = languageHeaderBadge(item, "the resident wrote");
    if (language) meta.push(language);
    this.meta.replaceChildren(...meta.flatMap((node, i) => (i ? [" ", node] : [node])));
    this.stateNote.textContent = this.stateText(item, mine, supervisor);

    const f = this.facts;
    f.reference.dd.textContent = item.reference;
    f.name.dd.textContent = item.name;
    f.email.dd.textContent = item.email || "None given";
    f.received.dd.replaceChildren(timeNode(item.received_at, now));
    f.due.dd.replaceChildren(timeNode(item.reply_due, now));
    if (late) f.due.dd.append(" ", el("span", { class: "badge overdue", text: "Overdue" }));
    f.status.dd.textContent = label;
    f.owner.dd.textContent = item.owner ? (mine ? `${item.owner.name} (you)` : item.owner.name) : "Not claimed";
    const chat = Number.isInteger(item.conversation_id);
    f.chat.dt.hidden = !chat;
    f.chat.dd.hidden = !chat;
    this.chatButton.textContent = chat ? `Chat #${item.conversation_id}` : "";

    this.renderSpam(item);
    this.text.textContent = item.text;

    this.replySection.hidden = !item.reply;
    if (item.reply) {
      const sent = item.replied_at ? [" on ", timeNode(item.replied_at, now)] : [];
      this.replyMeta.replaceChildren(`By email to ${item.email}`, ...sent, ".");
      this.replyText.textContent = item.reply;
    }

    const followUps = Array.isArray(item.follow_ups) ? item.follow_ups : [];
    this.followUpSection.hidden = followUps.length === 0;
    this.followUpList.replaceChildren(
      ...followUps.map((f) =>
        el(
          "li",
          {},
          el("p", { class: "sub" }, "Received ", timeNode(f.received_at, now)),
          el("div", { class: "inbox-text", text: f.text }),
        ),
      ),
    );

    // No address (a chat that left the queue without one): nothing to reply to by email.
    this.replyForm.hidden = !(status === "in_progress" && (mine || supervisor) && item.email);
    const center = this.client.center?.name || "the center";
    this.replyHint.textContent =
      `Goes to ${item.email}. We add "Hello," above your text unless it starts with a greeting, ` +
      `and sign it with your first name (unless you already did) and ${center}; ` +
      "their message is quoted under it. Ctrl+Enter sends.";
    this.claimButton.hidden = status !== "new";
    this.putBackButton.hidden = !(mayChange && (status === "in_progress" || status === "closed" || status === "spam"));
    this.closeButton.hidden = !(mayChange && open);
    this.spamButton.hidden = !(mayChange && open);
    this.actions.hidden = this.actionButtons.every((b) => b.hidden);
    this.actionsHint.textContent = this.putBackButton.hidden
      ? ""
      : status === "in_progress"
        ? "Put back releases it, as new, for anyone to claim."
        : "Put back returns it to the inbox as new.";
    this.actionsHint.hidden = !this.actionsHint.textContent;

    // The control the agent was on went away (claimed elsewhere, answered…): keep them here.
    if (!this.busy && focused && (!focused.isConnected || focused.closest("[hidden]"))) this.title.focus();
  }

  stateText(item, mine, supervisor) {
    const owner = item.owner?.name || "Someone";
    switch (item.status) {
      case "new":
        if (!item.email) return "Nobody is handling it yet. They left no email: look in the chat for another way to reach them, then close it.";
        return "Nobody is answering it yet. Claim it to answer it.";
      case "in_progress":
        if (mine) return "You are answering this message.";
        return supervisor
          ? `${owner} is answering this message. As a supervisor, you may still answer or change it.`
          : `${owner} is answering this message.`;
      case "replied":
        return item.owner ? `Answered by ${item.owner.name}.` : "Answered.";
      case "closed":
        return "Closed without a reply by email.";
      case "spam":
        return "Filed as spam: nobody answers it, and no mail goes to the address.";
      default:
        return "";
    }
  }

  renderSpam(item) {
    const spam = item.status === "spam";
    this.spamInfo.hidden = !spam;
    if (!spam) return;
    const score = Number(item.spam_score);
    const reasons = Array.isArray(item.spam_reasons) ? item.spam_reasons.filter((r) => typeof r === "string") : [];
    this.spamInfo.replaceChildren(
      el("p", { text: `Spam score: ${Number.isFinite(score) ? score.toFixed(2) : "unknown"} (0 to 1).` }),
      reasons.length
        ? el("p", { text: "Why it looks like spam:" })
        : el("p", { text: "No signs of spam were found: it was marked as spam by staff." }),
      reasons.length ? el("ul", {}, ...reasons.map((r) => el("li", { text: r }))) : null,
    );
  }

  showError(message) {
    this.actionError.textContent = message || "";
    this.actionError.hidden = !message;
  }

  showReplyError(message) {
    this.replyError.textContent = message || "";
    this.replyError.hidden = !message;
    if (message) {
      this.replyInput.setAttribute("aria-invalid", "true");
      this.replyInput.setAttribute("aria-describedby", "inbox-reply-hint inbox-reply-error");
    } else {
      this.replyInput.removeAttribute("aria-invalid");
      this.replyInput.setAttribute("aria-describedby", "inbox-reply-hint");
    }
  }

  openChat() {
    const item = this.current();
    if (item && Number.isInteger(item.conversation_id)) this.pane.openConversation(item.conversation_id, { focus: "title" });
  }

  // --- actions -----------------------------------------------------------------------------

  /** Run an action on the open message; focus then goes where `after` says. */
  async act(run, after) {
    const item = this.current();
    if (!item || this.busy) return;
    this.busy = true;
    this.showError(null);
    let ack;
    try {
      ack = await run(item);
      if (this.openId === item.id) this.renderDetail();
    } finally {
      this.busy = false;
    }
    if (this.openId === item.id) after(ack, this.current() || item);
  }

  claim() {
    return this.act(
      (item) => this.client.claimMessage(item.id),
      (ack, item) => {
        if (!ack.ok) {
          this.showError(ack.error.message);
          if (this.claimButton.hidden) this.title.focus();
          return;
        }
        this.notifier.announce(`You claimed ${item.reference} from ${item.name}. Write your reply.`);
        if (!this.replyForm.hidden) this.replyInput.focus();
        else this.title.focus();
      },
    );
  }

  sendReply() {
    const text = this.replyInput.value.trim();
    if (!text) {
      this.showReplyError(invalid(this.replyInput, "Write the reply before sending it."));
      this.replyInput.focus();
      return;
    }
    this.showReplyError(null);
    return this.act(
      (item) => this.client.replyToMessage(item.id, text),
      (ack, item) => {
        if (!ack.ok) {
          this.showReplyError(`The reply was not sent: ${ack.error.message}`);
          if (!this.replyForm.hidden) this.replyInput.focus();
          else this.title.focus();
          return;
        }
        this.drafts.delete(item.id);
        this.replyInput.value = "";
        this.notifier.announce(`Your reply to ${item.name} is sent by email.`);
        this.replyHeading.focus();
      },
    );
  }

  changeStatus(status) {
    return this.act(
      (item) => this.client.setMessageStatus(item.id, status),
      (ack, item) => {
        if (!ack.ok) {
          this.showError(ack.error.message);
          return;
        }
        this.notifier.announce(`${item.reference} from ${item.name} ${DONE[status]}.`);
        this.title.focus();
      },
    );
  }
}

/** A <time> with a readable local date and time. */
function timeNode(iso, now) {
  const ms = parseTime(iso);
  if (!Number.isFinite(ms)) return el("span", { text: "unknown" });
  return el("time", { datetime: new Date(ms).toISOString(), text: dateTimeLabel(ms, now) });
}
