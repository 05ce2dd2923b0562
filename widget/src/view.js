// @ts-check
// The widget's DOM: launcher, panel, pre-chat form, message log and composer, and the
// "Leave Us A Message!" form when no person can chat. It renders what ChatClient reports and
// turns the resident's actions into ChatClient calls.
//
// The panel's body shows one screen at a time (only that one is in the DOM, so labels such as
// "Name" are never there twice): "checking" (asking whether a person can chat), "prechat",
// "leave" (the message form), "confirmed" (the message was stored) or "chat".

import { language, t, tn } from "./shared/i18n.js";
import { LANGUAGES } from "./languages.js";
import { errorText } from "./errors.js";
import { el, icon, ICON_CAMERA, ICON_CHAT, ICON_CLOSE, appendLinkified, contactFields } from "./shared/dom.js";
import { formatTime } from "./shared/time.js";
import { renderMarkdown } from "./shared/markdown.js";
import { LeaveMessageForm, Confirmation, dueWords, showRefusal } from "./leave.js";
import { LIMITS, charCount, validateStart, formatNumber } from "./validation.js";
import { LimitNotice, holdButton } from "./limit.js";
import { waitOf } from "./shared/socket.js";
import { newClientId } from "./shared/ids.js";
import { LogPin } from "./pin.js";
import { MessagePreview } from "./preview.js";
import { EndConfirmation } from "./end.js";
import { RatingForm, TranscriptOffer } from "./after.js";
import { ChatMenu } from "./menu.js";

const TYPING_HIDE_MS = 6000; // the other side's indicator, when no update arrives
const COUNTER_FROM = 3500; // show the character counter near the limit
const FIELDS = ["name", "email", "question"];
const KINDS = ["resident", "assistant", "agent", "system"];
// Texts are functions: each is read in the resident's language of the moment.
const EXPIRED_NOTICE = () => t("Your previous chat has ended. Start a new one below.");
const EXPIRED_NOTICE_LEAVE = () => t("Your previous chat has ended.");
const OFFER_TEXT = () => t("No one can chat with you right now. You can leave us a message instead.");
const ENDED_BY_YOU = () => t("You ended the chat.");
// A link from our email that did not open its chat, by the service's error code.
/** @type {Record<string, () => string>} */
const LINK_REFUSED = {
  link_used: () => t("This chat link has already been used: each link opens the chat once."),
  token_expired: () => t("This chat link has expired."),
  invalid_token: () => t("This chat link is not valid."),
  invalid_payload: () => t("This chat link is not valid."),
};
const LINK_TRY_AGAIN = () => t("We could not open your chat just now. Please open the link in our email again in a moment.");

/**
 * A start kept for the tab (`startWith`), if it is one.
 * @param {any} kept
 * @returns {{name: string, email: string, question: string, client_id: string} | null}
 */
function startOf(kept) {
  if (!kept || typeof kept !== "object") return null;
  const { name, email, question, client_id } = kept;
  const strings = [name, email, question, client_id].every((v) => typeof v === "string");
  return strings && client_id ? { name, email, question, client_id } : null;
}

const PHOTO_TYPES = ["image/jpeg", "image/png", "image/webp"];
const PHOTO_MAX_BYTES = 10 * 1024 * 1024;

/**
 * The quick replies a message offers: texts the resident could send (label and text present),
 * and the photo upload the assistant asks for (action "photo").
 */
function quickRepliesOf(m) {
  if (!m || !Array.isArray(m.quick_replies)) return [];
  return m.quick_replies.filter(
    (r) =>
      r &&
      typeof r.label === "string" &&
      r.label.trim() &&
      (r.action === "photo" ||
        (typeof r.text === "string" && r.text.trim() && charCount(r.text.trim()) <= LIMITS.message)),
  );
}

/** Who wrote a message; system messages are the center's, signed with its `chat_name`. */
function authorOf(m, chatName) {
  switch (m.author_kind) {
    case "resident":
      return t("You");
    case "assistant":
      return m.author_name || t("Assistant");
    case "agent":
      return m.author_name || t("Agent");
    case "system":
      return chatName || m.author_name || t("Notice");
    default:
      return m.author_name || chatName || t("Notice");
  }
}

/** Say where the resident is in line, in words; minutes are rounded so the text moves calmly. */
function waitText(queue) {
  if (!queue || !Number.isInteger(queue.position) || queue.position < 1) {
    return t("Connecting you with a person. Please stay in the chat.");
  }
  const place = queue.position === 1 ? t("You are next in line.") : t("You are number {position} in line.", { position: queue.position });
  const seconds = queue.estimated_wait_seconds;
  if (!Number.isFinite(seconds)) {
    return `${place} ${t("Everyone is busy right now: the next available person will join you here.")}`;
  }
  const minutes = Math.max(1, Math.round(seconds / 60));
  return `${place} ${tn("Estimated wait: about 1 minute.", "Estimated wait: about {count} minutes.", minutes)}`;
}

export class ChatView {
  // Made by the build*() methods the constructor calls:
  /** @type {Record<string, any>} */
  inputs;
  /** @type {(field: string, message: string) => void} */
  setFieldError;
  /** @type {Record<string, HTMLElement>} */
  screens;
  /** @type {LeaveMessageForm} */
  leaveForm;
  /** @type {Confirmation} */
  confirmation;
  /** @type {LimitNotice} */
  startLimit;
  /** @type {LimitNotice} */
  messageLimit;
  /** @type {LimitNotice} */
  photoLimit;
  /** @type {HTMLButtonElement} */
  sendButton;
  /** @type {LogPin} */
  pin;
  /** @type {EndConfirmation} */
  endConfirmation;
  /** @type {ChatMenu} */
  menu;
  /** @type {TranscriptOffer} */
  transcriptOffer;
  /** @type {RatingForm} */
  rating;

  /**
   * @param {any} shadow
   * @param {any} client the ChatClient
   * @param {{title: string, ui: import("./storage.js").Store, onLanguage?: (code: string) => void}} options
   *   `ui`: this tab's session (the panel's open state and a dismissed preview follow the
   *   resident to other pages); `onLanguage`: the resident chose another language
   */
  constructor(shadow, client, { title, ui, onLanguage = () => {} }) {
    this.shadow = shadow;
    this.client = client;
    this.ui = ui;
    this.onLanguage = onLanguage;
    /** @type {[string, (...args: any[]) => void][]} what this view listens to on the client */
    this.listening = [];
    this.isOpen = false;
    this.starting = false;
    this.wasDown = false; // say t("Connected") only after a drop
    this.problem = null;
    this.seqNodes = new Map(); // seq -> element
    /** @type {Map<number, Promise<string | null>>} photo id -> its blob: URL, fetched once */
    this.photoUrls = new Map();
    this.pendingNodes = new Map(); // client_id -> element, until the server stores it
    this.seenNode = null;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.typingTimer = undefined;
    this.quickReplies = null; // the t("Suggested replies") group, while one is shown
    this.quickRepliesSeq = 0; // the seq of the message it belongs to
    // Without a conversation: "no" (ask `hours` when the panel opens), "asking" or "done".
    this.hoursAsked = "no";
    this.hoursRequest = 0; // bumped to ignore an answer that comes after a reset
    this.leaveFrom = null; // the message form is shown: "start" (no chat yet) or "chat"
    this.leaveFilledFor = null; // the conversation the form was last pre-filled from
    /** @type {false | {name: string, email: string}} the message was stored: show the confirmation */
    this.confirmed = false;

    this.preview = new MessagePreview({
      store: ui,
      onOpen: () => this.open(),
      onDismiss: () => this.launcher.focus(),
    });
    this.root = el("div", { class: "root" }, this.preview.node, this.buildLauncher(title), this.buildPanel(title));
    shadow.append(this.root);

    this.listen("connection", () => this.renderStatus());
    this.listen("problem", (text) => {
      this.problem = text;
      this.renderStatus();
    });
    this.listen("message", (m) => this.onMessage(m));
    this.listen("pending", (entry) => this.onPending(entry));
    this.listen("conversation", () => this.render());
    this.listen("queue", () => this.renderWait());
    this.listen("typing", (p) => this.onTyping(p));
    this.listen("staffRead", () => this.renderSeen());
    this.listen("unread", (n) => this.renderBadge(n));
    this.listen("reset", (info) => this.onReset(info));
    this.listen("offer", () => this.render());
    this.listen("limit", (limit) => this.onLimit(limit));
    this.listen("start", (state) => this.renderStarting(state));
    this.onVisibility = () => this.markReadIfSeen();
    document.addEventListener("visibilitychange", this.onVisibility);

    for (const entry of client.outbox) this.onPending(entry);
    this.textarea.value = client.draft;
    this.renderCounter();
    this.render();
    this.renderStatus();
  }

  /** @param {string} event @param {(...args: any[]) => void} handler */
  listen(event, handler) {
    this.client.on(event, handler);
    this.listening.push([event, handler]);
  }

  /**
   * Take this view off the page and off the client (the widget builds a new one in another
   * language); returns what the resident had typed and whether the panel was open.
   */
  destroy() {
    for (const [event, handler] of this.listening) this.client.off(event, handler);
    document.removeEventListener("visibilitychange", this.onVisibility);
    this.hoursRequest++; // an answer on its way is for no one now
    this.root.remove();
    /** @type {Record<string, string>} */
    const typed = {};
    for (const field of FIELDS) typed[field] = this.inputs[field].value;
    return { open: this.isOpen, screen: this.screen(), typed, leave: this.leaveForm.values() };
  }

  /**
   * Put back what the resident had typed in the previous view, and the panel as it was.
   * @param {{open: boolean, screen: string, typed: Record<string, string>, leave: Record<string, string>}} state
   */
  carryOver(state) {
    for (const field of FIELDS) this.inputs[field].value = state.typed[field] || "";
    this.leaveForm.fill(state.leave);
    // On the pre-chat form (the resident chose the assistant): stay there. From the message
    // form or "checking", asking again who can chat brings the same screen back.
    if (state.screen === "prechat") this.hoursAsked = "done";
    this.render();
    if (state.open) {
      this.open({ focus: false });
      this.languageSelect.focus(); // where the resident was
    }
  }

  // --- building -------------------------------------------------------------------------

  /** English / Español: the widget's language, each name in its own language. */
  buildLanguage() {
    const current = language();
    this.languageSelect = el(
      "select",
      { id: "csc-language", onchange: () => this.onLanguage(this.languageSelect.value) },
      ...LANGUAGES.map(({ code, name }) => el("option", { value: code, lang: code, selected: code === current }, name)),
    );
    this.languageSelect.value = current;
    return el(
      "div",
      { class: "language" },
      el("label", { for: "csc-language", class: "sr-only", text: t("Language") }),
      this.languageSelect,
    );
  }

  buildLauncher(title) {
    this.badgeCount = el("span", { "aria-hidden": "true" });
    this.badgeText = el("span", { class: "sr-only" });
    this.badge = el("span", { class: "badge", hidden: true }, this.badgeCount, this.badgeText);
    this.launcher = el(
      "button",
      {
        type: "button",
        class: "launcher",
        "aria-expanded": "false",
        "aria-controls": "csc-panel",
        onclick: () => (this.isOpen ? this.close() : this.open()),
      },
      icon(ICON_CHAT),
      el("span", { text: title }),
      this.badge,
    );
    return this.launcher;
  }

  buildPanel(title) {
    this.endButton = el("button", { type: "button", class: "end", hidden: true, onclick: () => this.askEnd() }, t("End chat"));
    const header = el(
      "div",
      { class: "header" },
      el("h2", { id: "csc-title", text: title }),
      (this.languageControl = this.buildLanguage()),
      (this.menu = new ChatMenu([{ label: t("Email me this conversation"), onSelect: () => this.offerTranscript() }])).node,
      this.endButton,
      el(
        "button",
        { type: "button", class: "close", "aria-label": t("Close chat window"), title: t("Close"), onclick: () => this.close() },
        icon(ICON_CLOSE),
      ),
    );
    this.status = el("p", { class: "status ok", role: "status" });
    // Polite announcements that have no visible text of their own (a message was left).
    this.announcer = el("p", { class: "sr-only", "aria-live": "polite" });
    this.checking = el(
      "div",
      { class: "prechat checking" },
      el("p", { tabindex: "-1", text: t("Checking whether someone is available to chat…") }),
    );
    this.leaveForm = new LeaveMessageForm({
      center: () => this.client.center,
      send: (payload) => this.client.leaveMessage(payload),
      onSent: (ack, values) => this.onMessageLeft(ack, values),
      onSecondary: () => this.leaveSecondary(),
    });
    this.confirmation = new Confirmation({ onClose: () => this.close(), onNewChat: () => this.startNewChat() });
    this.screens = {
      checking: this.checking,
      prechat: this.buildForm(),
      leave: this.leaveForm.node,
      confirmed: this.confirmation.node,
      chat: this.buildChat(),
    };
    this.body = el("div", { class: "body" });
    this.panel = el(
      "div",
      { id: "csc-panel", class: "panel", role: "dialog", "aria-labelledby": "csc-title", hidden: true },
      header,
      this.status,
      this.announcer,
      this.body,
    );
    this.panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !event.isComposing) {
        event.preventDefault();
        this.close();
      }
    });
    return this.panel;
  }

  buildForm() {
    const contact = contactFields("csc", "question", { label: t("Question"), rows: 4 });
    this.inputs = contact.inputs;
    this.setFieldError = contact.setError;
    const fields = contact.nodes;
    this.notice = el("p", { class: "notice", hidden: true });
    this.formError = el("p", { class: "error", role: "alert" });
    // Too many chats started from here in a short time: a calm notice, the form kept as typed.
    this.startLimit = new LimitNotice("start", () => this.client.center);
    this.startButton = el("button", { type: "submit", class: "primary" }, t("Start chat"));
    // Offline: the start waits for the connection and goes by itself (calm, not an error).
    this.startWaiting = el("p", { class: "notice", role: "status" });
    this.form = el(
      "form",
      { class: "prechat", novalidate: true, onsubmit: (event) => this.submitForm(event) },
      el("h3", { text: t("Chat With Us!") }),
      this.notice,
      el("p", { text: t("Ask us about City services. All fields are required.") }),
      ...fields,
      this.startLimit.node,
      this.formError,
      this.startWaiting,
      this.startButton,
      el("p", { class: "hint", text: t("Please do not share passwords or payment card numbers in the chat.") }),
    );
    return this.form;
  }

  buildChat() {
    this.log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t("Messages"), tabindex: "0" });
    this.pin = new LogPin(this.log, () => (this.composer.hidden ? this.log : this.textarea).focus());
    this.typing = el("p", { class: "typing", hidden: true });
    // While waiting for a person: the place in line and the estimated wait, announced politely.
    this.waitLine = el("p", { class: "wait", "aria-live": "polite", hidden: true });
    this.alert = el("p", { class: "alert", role: "alert" });
    // t("Sending your photo…"): news, not an error (the photo then shows in the log).
    this.photoStatus = el("p", { class: "progress", role: "status" });
    // The service asked to slow down: messages wait (and go by themselves), as does a photo.
    this.messageLimit = new LimitNotice("message", () => this.client.center);
    this.photoLimit = new LimitNotice("photo", () => this.client.center);
    this.newChatButton = el("button", { type: "button", class: "primary", onclick: () => this.startNewChat() }, t("Start a new chat"));
    // Ended here by the resident, it is forgotten on this browser (shared computers): say so.
    this.endedHint = el("p", { class: "hint", text: t("This browser no longer keeps this chat."), hidden: true });
    // t("Email me this conversation"): from the menu during the chat (in its own strip above the
    // composer), and on the ended screen (moved into the ended bar, see render()).
    this.transcriptOffer = new TranscriptOffer({
      send: (email) => this.client.emailTranscript(email),
      hasEmail: () => Boolean(this.client.conversation?.resident?.email),
    });
    this.transcriptAsked = false;
    this.transcriptStrip = el(
      "div",
      { class: "transcript-strip", hidden: true },
      el("button", { type: "button", class: "link", onclick: () => this.hideTranscript() }, t("Hide")),
    );
    // "How did we do?" once a chat a person answered has ended (by either side, or idle).
    this.rating = new RatingForm({
      send: (score, comment) => this.client.rate(score, comment),
      onDone: () => {
        this.render();
        if (this.isOpen) this.newChatButton.focus();
      },
    });
    this.endedBar = el(
      "div",
      { class: "ended", hidden: true },
      el("p", { text: t("Chat ended") }),
      this.endedHint,
      this.rating.node,
      this.newChatButton,
    );

    this.textarea = el("textarea", {
      id: "csc-message",
      rows: "2",
      placeholder: t("Type your message…"),
      "aria-describedby": "csc-composer-hint csc-counter",
    });
    this.counter = el("p", { id: "csc-counter", class: "counter", hidden: true });
    this.textarea.addEventListener("keydown", (event) => {
      // Enter sends; Shift+Enter falls through to the textarea and makes a new line.
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.sendFromComposer();
      }
    });
    this.textarea.addEventListener("input", () => {
      this.renderCounter();
      this.alert.textContent = "";
      if (this.textarea.value.trim()) this.client.noteTyping();
      else this.client.stopTyping();
      this.client.saveDraft(this.textarea.value);
    });
    this.composer = el(
      "form",
      {
        class: "composer",
        novalidate: true,
        onsubmit: (event) => {
          event.preventDefault();
          this.sendFromComposer();
        },
      },
      el("label", { for: "csc-message", class: "sr-only", text: t("Message") }),
      el("span", { id: "csc-composer-hint", class: "sr-only", text: t("Press Enter to send, Shift+Enter for a new line.") }),
      this.textarea,
      (this.sendButton = el("button", { type: "submit", class: "primary" }, t("Send"))),
      this.counter,
    );
    // Offered inside the log, after the answer to "a person, please", when nobody can come soon.
    this.offerText = el("p");
    this.offerButton = el("button", { type: "button", class: "primary", onclick: () => this.openLeaveFromChat() }, t("Leave a message"));
    this.offerBar = el("div", { class: "offer" }, this.offerText, this.offerButton);
    this.endConfirmation = new EndConfirmation({ onConfirm: () => this.endChat(), onCancel: () => this.cancelEnd() });
    this.chat = el(
      "div",
      { class: "chat" },
      this.pin.wrap(),
      this.waitLine,
      this.typing,
      this.messageLimit.node,
      this.photoLimit.node,
      this.photoStatus,
      this.alert,
      this.transcriptStrip,
      this.endedBar,
      this.endConfirmation.node,
      this.composer,
    );
    return this.chat;
  }

  // --- open, close, focus -----------------------------------------------------------------

  /** @param {{focus?: boolean}} [options] focus: false when the panel comes back on a new page */
  open({ focus = true } = {}) {
    if (this.isOpen) return;
    this.isOpen = true;
    this.ui.set("open", "1");
    this.panel.hidden = false;
    this.launcher.setAttribute("aria-expanded", "true");
    if (this.preview.hide()) focus = true; // opened from the preview: focus goes into the panel
    this.client.connect();
    this.scrollToEnd();
    if (focus) this.focusInitial();
    this.markReadIfSeen();
    this.askHours();
  }

  /**
   * Open the panel with `question` ready to send: a city page's button with
   * `data-chatsvc-ask="..."` (the help center's "Chat with us" under an article). It goes in
   * the pre-chat form's question (and the message form's, which comes first when nobody can
   * chat), or in the composer of a chat under way; nothing the resident
   * already typed is replaced, and nothing is sent until they send it.
   * @param {string} question
   */
  ask(question) {
    const text = String(question || "").trim().slice(0, 500);
    if (text && this.client.hasConversation && !this.client.ended) {
      if (!this.textarea.value.trim()) {
        this.textarea.value = text;
        this.client.saveDraft(text);
        this.renderCounter();
      }
    } else if (text) {
      if (!this.inputs.question.value.trim()) this.inputs.question.value = text;
      // Nobody can chat: the widget offers the message form first, with the question in it.
      this.leaveForm.fill({ message: text }, { overwrite: false });
    }
    if (this.isOpen) this.focusInitial();
    else this.open();
  }

  close() {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.ui.remove("open");
    this.panel.hidden = true;
    this.launcher.setAttribute("aria-expanded", "false");
    this.launcher.focus();
    this.renderBadge(this.client.unreadCount());
  }

  /**
   * On a new page of the site (or a reload): the panel as the resident left it, and a start
   * that had no answer yet (offline, or its answer lost) goes on where it was.
   */
  restore() {
    if (this.ui.get("open")) this.open({ focus: false });
    const starting = this.ui.getJSON("starting", null);
    if (!starting || this.client.hasConversation) {
      this.ui.remove("starting");
      return;
    }
    const values = startOf(starting);
    if (!values) {
      this.ui.remove("starting");
      return;
    }
    for (const field of FIELDS) this.inputs[field].value = values[field];
    void this.startWith(values);
  }

  /**
   * The page was opened from the link in our email: open the panel on that chat, or say
   * plainly why not (used, expired, not valid) with the pre-chat form (or this browser's chat).
   * @param {string} code
   */
  async openFromLink(code) {
    const opening = this.client.openLink(code); // first: no resume of a stored chat meanwhile
    this.open();
    const ack = await opening;
    if (ack.ok) {
      this.render();
      this.focusInitial();
      this.markReadIfSeen();
      return;
    }
    const refused = Object.hasOwn(LINK_REFUSED, ack.error.code) ? LINK_REFUSED[ack.error.code] : null;
    let text = refused ? refused() : LINK_TRY_AGAIN();
    if (this.client.hasConversation) {
      if (refused) text += ` ${t("Your chat on this browser is shown above.")}`;
      this.alert.textContent = text;
    } else {
      if (refused) text += ` ${t("You can start a new chat below.")}`;
      this.notice.textContent = text;
      this.notice.hidden = false;
      this.leaveForm.setNotice(text);
      this.announce(text);
    }
    this.render();
    this.askHours();
    this.focusInitial();
  }

  /** Which screen the panel's body shows. */
  screen() {
    if (this.confirmed) return "confirmed";
    if (this.leaveFrom) return "leave";
    if (this.client.hasConversation) return "chat";
    // A start kept from the previous page goes on in its form, whether or not hours are known.
    return this.hoursAsked === "done" || this.starting ? "prechat" : "checking";
  }

  focusInitial() {
    const screen = this.screen();
    if (screen === "checking") {
      this.checking.firstChild.focus();
    } else if (screen === "prechat") {
      const invalid = FIELDS.find((f) => this.inputs[f].getAttribute("aria-invalid") === "true");
      const empty = FIELDS.find((f) => !this.inputs[f].value.trim());
      this.inputs[invalid || empty || "name"].focus();
    } else if (screen === "leave") {
      this.leaveForm.focusFirst();
    } else if (screen === "confirmed") {
      this.confirmation.heading.focus();
    } else if (this.client.ended) {
      if (!this.rating.node.hidden && !this.rating.form.hidden) this.rating.focus();
      else this.newChatButton.focus();
    } else if (this.endConfirmation.open) {
      this.endConfirmation.cancelButton.focus();
    } else {
      this.textarea.focus();
    }
  }

  markReadIfSeen() {
    const screen = this.screen();
    if (
      this.isOpen &&
      document.visibilityState === "visible" &&
      this.client.hasConversation &&
      (screen === "chat" || screen === "confirmed")
    ) {
      this.client.markRead();
    }
  }

  /** A polite announcement for screen readers (said once, even if the same text comes again). */
  announce(text) {
    this.announcer.textContent = "";
    setTimeout(() => {
      this.announcer.textContent = text;
    }, 100);
  }

  // --- rendering ----------------------------------------------------------------------------

  /** Show the screen that applies, and the chat's active or ended controls. */
  render() {
    const active = this.shadow.activeElement;
    const hadFocus = Boolean(active && this.panel.contains(active));
    const screen = this.screen();
    const node = this.screens[screen];
    const changed = this.body.firstElementChild !== node;
    if (changed) this.body.replaceChildren(node);
    const ended = this.client.ended;
    this.endButton.hidden = screen !== "chat" || ended;
    if (screen !== "chat" || ended) this.endConfirmation.hide();
    this.composer.hidden = ended || this.endConfirmation.open;
    this.endedBar.hidden = !ended;
    this.endedHint.hidden = !this.client.forgotten;
    this.menu.node.hidden = screen !== "chat" || ended || !this.client.hasConversation;
    // The language is chosen before a chat: the conversation keeps the one it started in.
    this.languageControl.hidden = screen === "chat" || this.starting;
    if (this.menu.node.hidden) this.menu.hide(false);
    this.rating.render(ended && this.client.personTookPart);
    // The transcript offer: in the ended bar once the chat ended, else in its strip if asked.
    const offerHome = ended ? this.endedBar : this.transcriptStrip;
    if (this.transcriptOffer.node.parentNode !== offerHome) {
      this.transcriptOffer.status.textContent = ""; // what it said belongs to where it was
      offerHome.insertBefore(this.transcriptOffer.node, ended ? this.rating.node : offerHome.firstChild);
    }
    this.transcriptStrip.hidden = ended || !this.transcriptAsked || screen !== "chat";
    if (ended) this.hideTyping();
    this.renderWait();
    this.renderOffer();
    this.renderQuickReplies();
    if (changed && screen === "chat") this.scrollToEnd();
    // Whatever had focus may just have been hidden or taken out (the End chat button, the
    // composer, the screen it was on).
    if (this.isOpen && hadFocus && (!active.isConnected || active.closest("[hidden]"))) this.focusInitial();
  }

  /** "Agents are unavailable… [Leave a message]" in the log, until a person joins or it ends. */
  renderOffer() {
    const offer = this.client.offer;
    const conversation = this.client.conversation;
    const show = Boolean(offer && conversation && !this.client.ended && conversation.stage !== "agent");
    if (!show) {
      this.offerBar.remove();
      return;
    }
    // The service's sentence is English: in another language, the widget's own.
    const served = language() === "en" && typeof offer.leave_message.text === "string" ? offer.leave_message.text : "";
    const text = served || OFFER_TEXT();
    if (this.offerText.textContent !== text) this.offerText.textContent = text;
    // Right after the message it answers (announced like one); place() keeps later ones after it.
    const after = this.client.offerSeq;
    this.offerBar.dataset.after = String(after);
    if (this.offerBar.parentNode !== this.log) {
      const stick = this.nearBottom();
      let before = null;
      for (const child of this.log.children) {
        const unsent = child.dataset.state === "pending" || child.dataset.state === "sending";
        if (child.dataset.seq ? Number(child.dataset.seq) > after : unsent) {
          before = child;
          break;
        }
      }
      this.log.insertBefore(this.offerBar, before);
      if (stick) this.scrollToEnd();
    }
  }

  renderStatus() {
    const state = this.client.connection;
    if (state === "reconnecting") this.wasDown = true;
    let text = "";
    if (state === "connecting") text = t("Connecting…");
    else if (state === "reconnecting") text = t("Reconnecting…");
    else if (state === "unavailable") text = t("Chat is unavailable right now. Please try again later.");
    else if (state === "connected") text = this.problem || (this.wasDown ? t("Connected") : "");
    // Keep the status element in the accessibility tree (visually hidden when all is well) so
    // that t("Connected") is still announced after a drop.
    this.status.classList.toggle("ok", !text || (state === "connected" && !this.problem));
    if (this.status.textContent !== text) this.status.textContent = text;
    for (const [clientId, node] of this.pendingNodes) this.renderPendingState(node, this.findEntry(clientId));
  }

  /** "You are number 2 in line…" while the conversation waits for a person. */
  renderWait() {
    const conversation = this.client.conversation;
    const waiting = Boolean(conversation && conversation.stage === "waiting" && !this.client.ended);
    const text = waiting ? waitText(this.client.queue) : "";
    this.waitLine.hidden = !waiting;
    if (this.waitLine.textContent !== text) this.waitLine.textContent = text;
  }

  renderBadge(count) {
    const show = count > 0 && (!this.isOpen || document.visibilityState !== "visible");
    this.badge.hidden = !show;
    this.badgeCount.textContent = String(count);
    this.badgeText.textContent = tn(", 1 new message", ", {count} new messages", count);
    this.renderPreview();
  }

  /** The panel is closed: the newest unread message from the city shows beside the launcher. */
  renderPreview() {
    const conversation = this.client.conversation;
    /** @type {any} */
    let newest = null;
    if (!this.isOpen && conversation && Number.isInteger(conversation.id)) {
      for (const m of this.client.messages.values()) {
        if (m.author_kind !== "resident" && m.seq > this.client.readSeq && (!newest || m.seq > newest.seq)) newest = m;
      }
    }
    if (!newest) {
      if (this.preview.hide()) this.launcher.focus();
      return;
    }
    const text = newest.format === "markdown" ? renderMarkdown(newest.text, document).textContent || "" : newest.text;
    this.preview.show({
      conversation: conversation.id,
      seq: newest.seq,
      author: authorOf(newest, this.client.center?.chat_name),
      text: newest.notice === "ended_by_resident" ? ENDED_BY_YOU() : text,
    });
  }

  messageNode(m) {
    const kind = KINDS.includes(m.author_kind) ? m.author_kind : "system";
    const time = formatTime(m.created_at);
    let text;
    // The resident ended it (here or in another tab): staff read "Chat ended by the resident.".
    if (m.notice === "ended_by_resident") {
      text = el("p", { class: "text", text: ENDED_BY_YOU() });
    } else if (kind === "resident" && Number.isInteger(m.photo_id)) {
      text = this.photoNode(m.photo_id);
    } else if (m.format === "markdown") {
      text = el("div", { class: "text markdown" });
      text.append(renderMarkdown(m.text, document));
    } else {
      text = el("p", { class: "text" });
      // The City's words (an agent's, a notice) make phone numbers links; a resident's never do.
      appendLinkified(text, m.text, { phones: kind !== "resident" });
    }
    return el(
      "div",
      { class: `msg msg-${kind}` },
      el(
        "p",
        { class: "meta" },
        el("span", { class: "author", text: authorOf(m, this.client.center?.chat_name) }),
        time && el("time", { datetime: time.datetime, text: time.label }),
      ),
      text,
    );
  }

  /** A photo the resident sent: fetched with the chat's token and shown from a blob: URL. */
  photoNode(photoId) {
    const box = el("div", { class: "text photo" }, el("span", { text: t("Loading your photo…") }));
    /** @type {Promise<string | null>} */
    const url =
      this.photoUrls.get(photoId) ||
      this.client.photo(photoId).then((/** @type {Blob | null} */ blob) => (blob ? URL.createObjectURL(blob) : null));
    this.photoUrls.set(photoId, url);
    url.then((src) => {
      const stick = this.nearBottom();
      if (!src) {
        this.photoUrls.delete(photoId); // offline, perhaps: the next showing asks again
        box.replaceChildren(el("span", { text: t("This photo is no longer available.") }));
        return;
      }
      const img = el("img", { src, alt: t("Your photo") });
      img.addEventListener("load", () => stick && this.scrollToEnd(), { once: true });
      box.replaceChildren(img);
    });
    return box;
  }

  stateLine(node, text) {
    let line = node.querySelector(".state");
    if (!text) {
      line?.remove();
      return;
    }
    if (!line) {
      line = el("p", { class: "state" });
      node.append(line);
    }
    if (line.textContent !== text) line.textContent = text;
  }

  /** The resident is at the newest message (as of their last scroll): keep them there. */
  nearBottom() {
    return this.pin.pinned;
  }

  scrollToEnd() {
    this.pin.toEnd();
  }

  /**
   * Put a stored message where its seq says: before later ones, before unsent ones and before
   * the offer to leave a message if it came after an earlier message (data-after).
   */
  place(node, seq) {
    let before = null;
    for (const child of this.log.children) {
      if (child === node) continue;
      const childSeq = child.dataset.seq;
      const after = child.dataset.after;
      const unsent = child.dataset.state === "pending" || child.dataset.state === "sending";
      if (childSeq ? Number(childSeq) > seq : after ? Number(after) >= seq : unsent) {
        before = child;
        break;
      }
    }
    if (node.parentNode === this.log && node.nextElementSibling === before) return;
    this.log.insertBefore(node, before);
  }

  onMessage(m) {
    if (this.seqNodes.has(m.seq)) return;
    const stick = this.nearBottom();
    let node = m.client_id ? this.pendingNodes.get(m.client_id) : null;
    if (node) {
      // Our pending message reached the server: update it in place so it is not announced twice.
      this.pendingNodes.delete(m.client_id);
      const time = formatTime(m.created_at);
      const timeEl = node.querySelector("time");
      if (time && timeEl) {
        timeEl.dateTime = time.datetime;
        timeEl.textContent = time.label;
      }
      this.stateLine(node, "");
    } else {
      node = this.messageNode(m);
    }
    node.dataset.seq = String(m.seq);
    node.dataset.state = "sent";
    this.seqNodes.set(m.seq, node);
    this.place(node, m.seq);
    if (m.author_kind === "agent") this.hideTyping();
    if (stick || m.author_kind === "resident") this.scrollToEnd();
    else this.pin.arrived();
    this.renderSeen();
    this.renderQuickReplies();
    this.markReadIfSeen();
  }

  findEntry(clientId) {
    return this.client.outbox.find((e) => e.client_id === clientId) || null;
  }

  onPending(entry) {
    let node = this.pendingNodes.get(entry.client_id);
    if (!node) {
      node = this.messageNode({ author_kind: "resident", created_at: entry.created_at, text: entry.text });
      node.dataset.clientId = entry.client_id;
      this.pendingNodes.set(entry.client_id, node);
      this.log.append(node);
      this.renderQuickReplies();
      this.scrollToEnd();
    }
    this.renderPendingState(node, entry);
    if (entry.state === "failed") this.pendingNodes.delete(entry.client_id);
  }

  renderPendingState(node, entry) {
    if (!entry) return;
    node.dataset.state = entry.state;
    if (entry.state === "failed") this.stateLine(node, t("Not sent: {reason}", { reason: entry.error }));
    else if (this.client.limited) this.stateLine(node, t("Waiting to send"));
    else if (this.client.connection === "connected") this.stateLine(node, t("Sending…"));
    else this.stateLine(node, t("Waiting for connection"));
  }

  /** t("Seen") under the resident's newest message that staff have read. */
  renderSeen() {
    const staffSeq = this.client.staffReadSeq;
    let best = null;
    let bestSeq = 0;
    for (const [seq, node] of this.seqNodes) {
      if (seq <= staffSeq && seq > bestSeq && node.classList.contains("msg-resident")) {
        best = node;
        bestSeq = seq;
      }
    }
    if (best === this.seenNode) return;
    if (this.seenNode) this.stateLine(this.seenNode, "");
    this.seenNode = best;
    if (best) this.stateLine(best, t("Seen"));
  }

  /**
   * Offer the newest message's quick replies as buttons below it. They go as soon as anything
   * follows that message (a reply, the resident's own message, even one still sending).
   */
  renderQuickReplies() {
    /** @type {HTMLElement | null} */
    let last = null;
    for (let node = this.log.lastElementChild; node; node = node.previousElementSibling) {
      if (node.classList.contains("msg")) {
        last = node;
        break;
      }
    }
    const m = last && last.dataset.seq ? this.client.messages.get(Number(last.dataset.seq)) : null;
    const replies = this.client.ended ? [] : quickRepliesOf(m);
    const shown = this.quickReplies;
    if (shown && replies.length && this.quickRepliesSeq === m.seq) return;
    if (shown) {
      const hadFocus = shown.contains(this.shadow.activeElement);
      shown.remove();
      this.quickReplies = null;
      // Do not leave a keyboard user's focus on a button that is gone.
      if (hadFocus && this.isOpen) this.focusInitial();
    }
    if (!replies.length) return;
    const stick = this.nearBottom();
    this.quickReplies = el(
      "div",
      { class: "quick-replies", role: "group", "aria-label": t("Suggested replies") },
      ...replies.map((reply) =>
        reply.action === "photo"
          ? this.photoButton(reply)
          : el("button", { type: "button", class: "quick-reply", onclick: () => this.sendQuickReply(reply) }, reply.label.trim()),
      ),
    );
    this.quickRepliesSeq = m.seq;
    // Not a message: no data-seq, so place() and the t("Seen") line never count it as one.
    /** @type {HTMLElement} */ (last).after(this.quickReplies); // there are replies: to a message
    if (stick) this.scrollToEnd();
  }

  onTyping(p) {
    if (!p.typing || this.client.ended) {
      this.hideTyping();
      return;
    }
    const who = p.author_name || (p.author_kind === "assistant" ? t("Assistant") : t("Agent"));
    this.typing.textContent = t("{name} is typing…", { name: who });
    this.typing.hidden = false;
    clearTimeout(this.typingTimer);
    this.typingTimer = setTimeout(() => this.hideTyping(), TYPING_HIDE_MS);
  }

  hideTyping() {
    clearTimeout(this.typingTimer);
    this.typing.hidden = true;
  }

  onReset({ reason, dropped }) {
    this.hoursRequest++;
    this.hoursAsked = "no";
    this.leaveFrom = null;
    this.log.replaceChildren();
    this.seqNodes.clear();
    this.pendingNodes.clear();
    this.seenNode = null;
    this.quickReplies = null;
    for (const url of this.photoUrls.values()) url.then((src) => src && URL.revokeObjectURL(src));
    this.photoUrls.clear();
    this.hideTyping();
    this.alert.textContent = "";
    this.photoStatus.textContent = "";
    this.messageLimit.clear();
    this.photoLimit.clear();
    holdButton(this.sendButton, false);
    this.endConfirmation.hide();
    this.pin.toEnd();
    this.textarea.value = "";
    this.renderCounter();
    this.notice.textContent = reason === "expired" ? EXPIRED_NOTICE() : "";
    this.notice.hidden = reason !== "expired";
    this.leaveForm.setNotice(reason === "expired" ? EXPIRED_NOTICE_LEAVE() : "");
    // Messages typed for a conversation that no longer exists are not lost: they become the question.
    if (dropped.length) {
      const text = dropped.join("\n\n");
      if (!this.inputs.question.value.trim()) this.inputs.question.value = text;
      this.leaveForm.fill({ message: text }, { overwrite: false });
    }
    this.render();
    this.renderBadge(0);
    if (this.isOpen) {
      this.focusInitial();
      this.askHours();
    }
  }

  renderCounter() {
    const n = charCount(this.textarea.value);
    const over = n > LIMITS.message;
    this.counter.hidden = n < COUNTER_FROM;
    this.counter.classList.toggle("over", over);
    // Empty when hidden: the textarea's description reads it even then.
    this.counter.textContent = this.counter.hidden
      ? ""
      : over
        ? t("{count} / {limit} characters (too long)", { count: formatNumber(n), limit: formatNumber(LIMITS.message) })
        : t("{count} / {limit} characters", { count: formatNumber(n), limit: formatNumber(LIMITS.message) });
    if (over) this.textarea.setAttribute("aria-invalid", "true");
    else this.textarea.removeAttribute("aria-invalid");
  }

  // --- actions ------------------------------------------------------------------------------

  async submitForm(event) {
    event.preventDefault();
    if (this.starting) return;
    if (this.startLimit.counting) {
      this.startLimit.remind(); // the button waits; what was typed stays
      return;
    }
    /** @type {Record<string, string>} */
    const values = {};
    for (const field of FIELDS) values[field] = this.inputs[field].value.trim();
    const errors = validateStart(values);
    for (const field of FIELDS) this.setFieldError(field, errors[field] || "");
    this.formError.textContent = "";
    const firstInvalid = FIELDS.find((f) => errors[f]);
    if (firstInvalid) {
      this.inputs[firstInvalid].focus();
      return;
    }

    await this.startWith({ name: values.name, email: values.email, question: values.question, client_id: newClientId() });
  }

  /**
   * Start the chat. Until it is answered the start is kept for this tab, so a reload or the
   * site's next page sends it again under the same client id (the server answers with the chat
   * it opened, if it did).
   * @param {{name: string, email: string, question: string, client_id: string}} values
   */
  async startWith(values) {
    // aria-disabled rather than disabled: a disabled button would drop keyboard focus.
    this.starting = true;
    this.startButton.setAttribute("aria-disabled", "true");
    this.startButton.textContent = t("Starting chat…");
    this.ui.setJSON("starting", values);
    this.render(); // a start kept from the previous page: its form, not "checking…"
    const ack = await this.client.start(values);
    this.ui.remove("starting");
    this.starting = false;
    this.startButton.removeAttribute("aria-disabled");
    this.startButton.textContent = t("Start chat");
    this.startWaiting.textContent = "";

    if (ack.ok) {
      this.startLimit.clear();
      this.inputs.question.value = "";
      this.notice.hidden = true;
      this.leaveForm.setNotice("");
      this.render();
      this.scrollToEnd();
      if (this.isOpen) this.textarea.focus();
      this.markReadIfSeen();
      return;
    }
    const wait = waitOf(ack.error);
    if (wait !== null) {
      this.startLimit.start(wait, () => holdButton(this.startButton, false));
      holdButton(this.startButton, this.startLimit.counting);
      return;
    }
    this.startLimit.clear();
    showRefusal(this, ack.error, FIELDS);
  }

  /** The start waits for the connection ("waiting") or has gone out ("sending"). */
  renderStarting(state) {
    if (!this.starting) return;
    const waiting = state === "waiting";
    this.startButton.textContent = waiting ? t("Waiting for connection…") : t("Starting chat…");
    this.startWaiting.textContent = waiting
      ? t("You seem to be offline. Your chat will start by itself as soon as the connection is back.")
      : "";
  }

  /** The outbox waits for the service (`limit` events): say so, and hold the Send button. */
  onLimit(limit) {
    // The notice takes room from the log: keep the newest message (now t("Waiting to send")) in view.
    const stick = this.nearBottom();
    if (limit) this.messageLimit.start(limit.seconds);
    holdButton(this.sendButton, Boolean(limit));
    for (const [clientId, node] of this.pendingNodes) this.renderPendingState(node, this.findEntry(clientId));
    if (stick) this.scrollToEnd();
  }

  sendFromComposer() {
    const text = this.textarea.value.trim();
    if (!text) return;
    if (this.client.limited) {
      // Send waits with the outbox: the draft stays in the box until it can go.
      this.messageLimit.remind();
      return;
    }
    this.messageLimit.clear();
    const n = charCount(text);
    if (n > LIMITS.message) {
      this.alert.textContent = t("Your message is too long: {count} characters, the limit is {limit}.", {
        count: formatNumber(n),
        limit: formatNumber(LIMITS.message),
      });
      return;
    }
    this.alert.textContent = "";
    this.client.send(text);
    this.textarea.value = "";
    this.client.saveDraft("");
    this.renderCounter();
  }

  /** A button that opens the file picker and uploads the chosen photo to the chat. */
  photoButton(reply) {
    const input = el("input", { type: "file", accept: PHOTO_TYPES.join(","), hidden: true, tabindex: "-1", "aria-hidden": "true" });
    const button = el(
      "button",
      { type: "button", class: "quick-reply photo", onclick: () => input.click() },
      icon(ICON_CAMERA),
      el("span", { text: reply.label.trim() }),
    );
    input.addEventListener("change", () => {
      const file = input.files && input.files[0];
      input.value = "";
      if (file) this.sendPhoto(file, button);
    });
    return el("span", { class: "photo-picker" }, button, input);
  }

  async sendPhoto(file, button) {
    // The server checks the type from the content; this only saves a slow upload.
    if (file.size > PHOTO_MAX_BYTES) {
      this.alert.textContent = t("That photo is too large: up to 10 MB, please.");
      return;
    }
    if (file.type && !PHOTO_TYPES.includes(file.type)) {
      this.alert.textContent = t("Please choose a JPEG, PNG or WebP photo.");
      return;
    }
    button.disabled = true;
    this.alert.textContent = "";
    this.photoStatus.textContent = t("Sending your photo…");
    const ack = await this.client.uploadPhoto(file);
    button.disabled = false;
    this.photoStatus.textContent = ""; // sent: the photo is in the log, as a message of yours
    const wait = ack.ok ? null : waitOf(ack.error);
    if (wait !== null) {
      // A short wait: the photo chosen is kept and sent by itself. A long one (the hour's
      // photos): said plainly, with whom to call.
      const stick = this.nearBottom();
      this.photoLimit.start(wait, () => this.sendPhoto(file, button));
      button.disabled = this.photoLimit.counting;
      if (stick) this.scrollToEnd();
      return;
    }
    this.photoLimit.clear();
    if (!ack.ok) this.alert.textContent = t("The photo was not sent: {reason}", { reason: errorText(ack.error) });
  }

  /** Send a quick reply's text exactly as if the resident had typed it. */
  sendQuickReply(reply) {
    if (this.client.ended) return;
    this.alert.textContent = "";
    // The new pending message removes the buttons (and moves focus to the composer).
    this.client.send(reply.text.trim());
  }

  /** t("End chat") in the header: ask first, in the panel. */
  /** t("Email me this conversation") from the menu: send it now and show what became of it. */
  offerTranscript() {
    this.transcriptAsked = true;
    this.render();
    this.transcriptOffer.request();
    // The button keeps focus (or the email field, when the chat has no address).
    if (!this.transcriptOffer.emailField.hidden) this.transcriptOffer.input.focus();
    else this.transcriptOffer.button.focus();
  }

  hideTranscript() {
    this.transcriptAsked = false;
    this.render();
    if (this.isOpen) this.textarea.focus();
  }

  askEnd() {
    if (this.client.ended) return;
    this.alert.textContent = "";
    this.endConfirmation.show();
    this.render(); // the question takes the composer's place
  }

  cancelEnd() {
    this.endConfirmation.hide();
    this.render();
    if (this.isOpen) this.textarea.focus();
  }

  async endChat() {
    this.alert.textContent = "";
    const ack = await this.client.end();
    if (ack.ok) {
      this.render(); // it is forgotten on this browser now: the ended bar says so
    } else {
      this.cancelEnd();
      this.alert.textContent = t("The chat could not be ended: {reason}", { reason: errorText(ack.error) });
    }
  }

  startNewChat() {
    const confirmed = this.confirmed;
    this.confirmed = false;
    this.leaveFrom = null;
    let resident = confirmed || null;
    if (this.client.forgotten) {
      // The resident ended their chat: the next person at this browser starts blank.
      resident = null;
      this.inputs.name.value = "";
      this.inputs.email.value = "";
      this.leaveForm.fill({ name: "", email: "" });
    }
    if (this.client.hasConversation) {
      resident = this.client.newChat() || resident; // its reset asks who can chat now
    } else {
      // After a message left without a chat, nothing was reset: ask again who can chat now.
      this.hoursRequest++;
      this.hoursAsked = "no";
    }
    // The same person usually starts the next chat: spare them typing their details again.
    if (resident) {
      const { name, email } = resident;
      if (typeof name === "string") this.inputs.name.value = name;
      if (typeof email === "string") this.inputs.email.value = email;
      this.leaveForm.fill({ name, email }); // skips what is not a string
    }
    this.render();
    if (this.isOpen) {
      this.focusInitial();
      this.askHours();
    }
  }

  // --- leaving a message ----------------------------------------------------------------------

  /** With no conversation: ask whether a person can chat, and offer the message form if not. */
  async askHours() {
    if (!this.isOpen || this.hoursAsked !== "no" || this.client.hasConversation || this.client.linking || this.confirmed) return;
    if (this.starting) return; // a start kept from the previous page: it is the resident's answer
    const request = ++this.hoursRequest;
    this.hoursAsked = "asking";
    this.render();
    const ack = await this.client.hours();
    if (request !== this.hoursRequest) return; // reset or started over meanwhile
    this.hoursAsked = "done";
    // No answer (offline, an older server): the pre-chat form, which reports its own errors.
    const chatting = this.client.hasConversation || this.starting;
    if (ack.ok && ack.leave_message && ack.leave_message.offered === true && !chatting) {
      this.leaveForm.show(ack, "start");
      this.leaveFrom = "start";
    }
    this.render();
  }

  /** t("Leave a message") in a chat: the form, pre-filled with what the resident already gave. */
  openLeaveFromChat() {
    const conversation = this.client.conversation;
    if (!conversation || !this.client.offer) return;
    if (this.leaveFilledFor !== conversation.id) {
      this.leaveFilledFor = conversation.id;
      const resident = conversation.resident || {};
      const written = [...this.client.messages.values()]
        .filter((m) => m.author_kind === "resident" && !Number.isInteger(m.photo_id))
        .sort((a, b) => a.seq - b.seq)
        .map((m) => m.text)
        .concat(this.client.outbox.map((e) => e.text));
      this.leaveForm.fill({
        name: typeof resident.name === "string" ? resident.name : "",
        email: typeof resident.email === "string" ? resident.email : "",
        message: written.join("\n\n"),
      });
    }
    this.leaveForm.show(this.client.offer, "chat");
    this.leaveFrom = "chat";
    this.render();
    if (this.isOpen) this.focusInitial();
  }

  /** The form's secondary button: the assistant (no chat yet), or back to the chat. */
  leaveSecondary() {
    const from = this.leaveFrom;
    this.leaveFrom = null;
    if (from === "start") {
      // Carry over what was typed: the assistant's form asks the same details.
      const values = this.leaveForm.values();
      if (values.name) this.inputs.name.value = values.name;
      if (values.email) this.inputs.email.value = values.email;
      if (values.message && !this.inputs.question.value.trim()) this.inputs.question.value = values.message;
      for (const field of FIELDS) this.setFieldError(field, "");
    }
    this.render();
    if (!this.isOpen) return;
    if (from === "chat" && this.offerBar.isConnected) this.offerButton.focus();
    else this.focusInitial();
  }

  onMessageLeft(ack, values) {
    const replyDue = dueWords(ack.reply_due, ack.reply_due_text) || t("the next business day");
    const reference = typeof ack.reference === "string" ? ack.reference : "";
    const sentence = this.confirmation.show({ name: values.name, email: values.email, reference, replyDue });
    this.confirmed = { name: values.name, email: values.email };
    this.leaveFrom = null;
    this.leaveForm.setNotice("");
    this.notice.hidden = true;
    this.render();
    if (this.isOpen) this.confirmation.heading.focus();
    this.announce(sentence);
    this.markReadIfSeen();
  }
}
