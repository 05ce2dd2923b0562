// @ts-check
// One conversation as an agent works it: the header with its actions, the whole transcript (the
// assistant's answers and staff notes included), the reply composer, the internal note, and
// beside it the resident, their earlier conversations and the knowledge base.

import { el, appendLinkified } from "../shared/dom.js";
import { formatTime, parseTime } from "../shared/time.js";
import { renderMarkdown } from "../shared/markdown.js";
import { Composer } from "./composer.js";
import { languageHeaderBadge } from "./language.js";
import { HANDOFF_REASONS, excerpt, plainFromMarkdown, residentPresence, topicGuess, topicName, unassignedNotice } from "./format.js";

const TYPING_HIDE_MS = 6000;
const NEAR_BOTTOM_PX = 48;
const NOTE_MAX = 4000;

export class ConversationView {
  /**
   * pane: the PaneView, for actions that need dialogs or other views
   * (accept, transfer, close, reassign, openConversation).
   */
  constructor(client, notifier, pane) {
    this.client = client;
    this.notifier = notifier;
    this.pane = pane;
    this.id = null;
    this.readOnly = false;
    this.returnTo = null; // the conversation to go back to from a read-only earlier one
    this.notice = null; // a notice about what happened to this chat (unassigned…)
    this.nodes = new Map(); // "m:seq" | "n:id" | "p:client_id" -> element
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.typingTimer = undefined;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.suggestTimer = undefined;
    this.loadError = null;
    this.filed = new Map(); // conversation id -> [{request, told}] filed from this pane
    this.composer = new Composer(client, notifier);
    this.build();

    client.on("messages", (id, fresh, live) => id === this.id && this.onMessages(fresh, live));
    client.on("notes", (id, fresh) => id === this.id && this.addItems(fresh.map((n) => this.noteItem(n)), this.followsNewest()));
    client.on("pending", (entry) => entry.conversation_id === this.id && this.onPending(entry));
    client.on("chat", (chat) => chat.id === this.id && this.renderHead());
    client.on("chats", () => this.id !== null && this.renderHead());
    client.on("seen", (id) => id === this.id && this.renderSeen());
    client.on("typing", (p) => p.conversation_id === this.id && this.onTyping(p));
    client.on("suggestions", (id) => id === this.id && this.renderSuggestions());
    client.on("agents", () => this.id !== null && this.renderHead());
  }

  // --- building --------------------------------------------------------------------------

  build() {
    this.empty = el(
      "div",
      { class: "conversation-empty" },
      el("h2", { text: "No chat open" }),
      el("p", { text: "Choose a chat from My chats, or accept one from the queue." }),
    );
    this.title = el("h2", { id: "conversation-title", tabindex: "-1" });
    this.meta = el("p", { class: "conversation-meta" });
    this.actions = el("div", { class: "conversation-actions" });
    this.noticeNode = el("p", { class: "notice", hidden: true });
    this.actionError = el("p", { class: "error", hidden: true, "aria-live": "polite" });
    // What an action did, when it is worth keeping on screen ("Transcript sent to …").
    this.actionNote = el("p", { class: "notice action-note", hidden: true });
    this.filedList = el("ul", { class: "filed-requests", hidden: true, "aria-label": "Requests created from this chat" });
    // Narrow screens: one column at a time. Wide ones show everything and hide these (CSS).
    this.backButton = el(
      "button",
      { type: "button", class: "secondary small back-to-list", onclick: () => this.pane.showChatList() },
      el("span", { "aria-hidden": "true", text: "‹ " }),
      "My chats",
      el("span", { class: "sr-only", text: " and the queue" }),
    );
    this.detailsButton = el(
      "button",
      { type: "button", class: "secondary small details-toggle", "aria-expanded": "false", "aria-controls": "conversation-details" },
      "Details",
    );
    this.detailsButton.addEventListener("click", () => this.toggleDetails());
    this.olderNote = el("p", { class: "hint", hidden: true, text: "Only the newest 500 messages are shown." });
    this.list = el("ol", { class: "transcript-list" });
    this.transcript = el(
      "div",
      { class: "transcript", tabindex: "0", role: "region", "aria-label": "Transcript" },
      this.olderNote,
      this.list,
    );
    // Whether the transcript follows the newest message: true until the agent scrolls up.
    this.pinned = true;
    this.transcript.addEventListener("scroll", () => this.followsNewest() && (this.newBelow.hidden = true));
    // Shown again (another view, a narrow screen's list) or resized (the window, the reply
    // box): a pinned transcript stays on its newest message.
    // Content that grows by itself (an image loading) is followed the same way.
    const follow = new ResizeObserver(() => this.pinned && this.scrollToBottom());
    follow.observe(this.transcript);
    follow.observe(this.list);
    this.newBelow = el("button", { type: "button", class: "new-below small", hidden: true }, "New messages below");
    this.newBelow.addEventListener("click", () => {
      this.pinned = true;
      this.scrollToBottom();
      this.newBelow.hidden = true;
    });
    this.typing = el("p", { class: "typing", hidden: true });

    this.noteInput = el("textarea", { rows: 3, id: "note-text" });
    this.noteError = el("p", { class: "error", id: "note-error", hidden: true, "aria-live": "polite" });
    this.noteForm = el(
      "form",
      { class: "note-form", novalidate: true },
      // Under its tab the tab names it; alone (a chat I only watch) it is shown.
      el("label", { for: "note-text", class: "note-label", text: "Internal note — not sent to the resident" }),
      this.noteInput,
      this.noteError,
      el(
        "div",
        { class: "composer-actions" },
        el("p", { class: "hint", id: "note-text-hint", text: "Only staff see notes, in this transcript." }),
        el("button", { type: "submit", class: "note-button" }, "Add note"),
      ),
    );
    this.noteInput.setAttribute("aria-describedby", "note-text-hint");
    this.noteForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.addNote();
    });

    this.readOnlyNote = el("p", { class: "hint composer-off", hidden: true });

    // What the agent writes: a reply to the resident or a note for staff, one tab each (as in
    // a help desk's "public reply" and "internal note").
    this.replyTab = el(
      "button",
      { type: "button", role: "tab", id: "compose-tab-reply", "aria-controls": "compose-reply", "aria-selected": "true" },
      "Reply",
    );
    this.noteTab = el(
      "button",
      { type: "button", role: "tab", id: "compose-tab-note", "aria-controls": "compose-note", "aria-selected": "false", tabindex: "-1" },
      "Internal note",
    );
    this.composeTabs = el("div", { class: "compose-tabs", role: "tablist", "aria-label": "Write" }, this.replyTab, this.noteTab);
    this.replyTab.addEventListener("click", () => this.selectCompose("reply"));
    this.noteTab.addEventListener("click", () => this.selectCompose("note"));
    this.composeTabs.addEventListener("keydown", (event) => this.onTabKey(event));
    this.replyPanel = el(
      "div",
      { class: "compose-panel", role: "tabpanel", id: "compose-reply", "aria-labelledby": "compose-tab-reply" },
      this.composer.root,
    );
    this.notePanel = el(
      "div",
      { class: "compose-panel compose-note", role: "tabpanel", id: "compose-note", "aria-labelledby": "compose-tab-note", hidden: true },
      this.noteForm,
    );
    this.compose = el("div", { class: "compose tabbed" }, this.composeTabs, this.replyPanel, this.notePanel);
    this.composing = "reply";

    this.residentInfo = el("dl", { class: "resident-info" });
    this.earlierList = el("ul", { class: "earlier-list" });
    this.suggestionList = el("ul", { class: "article-list" });
    this.suggestionEmpty = el("p", { class: "hint", text: "No suggestions for the latest message." });
    this.searchInput = el("input", { type: "search", id: "kb-query", autocomplete: "off" });
    this.searchStatus = el("p", { class: "hint", "aria-live": "polite" });
    this.searchResults = el("ul", { class: "article-list" });
    const searchForm = el(
      "form",
      { class: "kb-search", role: "search", "aria-label": "Knowledge base" },
      el("label", { for: "kb-query", text: "Search the knowledge base" }),
      el("div", { class: "inline" }, this.searchInput, el("button", { type: "submit", class: "secondary" }, "Search")),
    );
    searchForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.search();
    });

    this.context = el(
      "div",
      { class: "conversation-context" },
      el(
        "section",
        { "aria-labelledby": "resident-h" },
        el("h3", { id: "resident-h", text: "Resident" }),
        this.residentInfo,
        // Beside the address it goes to; the dialog names it again before anything is sent.
        (this.transcriptButton = el(
          "button",
          { type: "button", class: "secondary", hidden: true, onclick: (e) => this.id !== null && this.pane.transcriptDialog(this.id, e.currentTarget) },
          "Email transcript…",
        )),
      ),
      el(
        "section",
        { "aria-labelledby": "earlier-h" },
        el("h3", { id: "earlier-h", text: "Earlier conversations" }),
        this.earlierList,
      ),
      el(
        "section",
        { "aria-labelledby": "suggested-h" },
        el("h3", { id: "suggested-h", text: "Suggested articles" }),
        this.suggestionEmpty,
        this.suggestionList,
      ),
      el("section", { "aria-labelledby": "kb-h" }, el("h3", { id: "kb-h", text: "Knowledge base" }), searchForm, this.searchStatus, this.searchResults),
    );

    this.side = el("aside", { class: "conversation-side", id: "conversation-details", "aria-label": "About this chat" }, this.context);
    this.body = el(
      "div",
      { class: "conversation-body", hidden: true },
      el(
        "div",
        { class: "conversation-main" },
        el(
          "div",
          { class: "conversation-head" },
          this.backButton,
          this.title,
          this.actions,
          this.detailsButton,
          this.meta,
          this.noticeNode,
          this.actionError,
          this.actionNote,
          this.filedList,
        ),
        el("div", { class: "transcript-wrap" }, this.transcript, this.newBelow),
        this.typing,
        this.readOnlyNote,
        this.compose,
      ),
      this.side,
    );
    this.root = el("section", { class: "conversation", "aria-label": "Conversation" }, this.empty, this.body);
  }

  /** Narrow screens: the chat's details (resident, articles) in place of the transcript. */
  toggleDetails(open = this.detailsButton.getAttribute("aria-expanded") !== "true") {
    this.detailsButton.setAttribute("aria-expanded", String(open));
    this.root.classList.toggle("details-open", open);
  }

  // --- the reply and note tabs -----------------------------------------------------------

  /** Show the reply ("reply") or the internal note ("note"); focus its box if asked. */
  selectCompose(which, focus = true) {
    this.composing = which;
    const reply = which === "reply";
    this.replyTab.setAttribute("aria-selected", String(reply));
    this.noteTab.setAttribute("aria-selected", String(!reply));
    this.replyTab.tabIndex = reply ? 0 : -1;
    this.noteTab.tabIndex = reply ? -1 : 0;
    this.replyPanel.hidden = !reply;
    this.notePanel.hidden = reply;
    if (!focus) return;
    if (!reply) this.noteInput.focus();
    else if (!this.composer.root.hidden) this.composer.focus();
  }

  /** Tabs when I can reply; the note alone when I can only add notes; nothing when neither. */
  setComposeModes(canReply, canNote) {
    const tabbed = canReply && canNote;
    this.compose.hidden = !canReply && !canNote;
    this.compose.classList.toggle("tabbed", tabbed);
    this.composeTabs.hidden = !tabbed;
    for (const panel of [this.replyPanel, this.notePanel]) {
      if (tabbed) panel.setAttribute("role", "tabpanel");
      else panel.removeAttribute("role");
    }
    if (tabbed) this.selectCompose(this.composing, false);
    else {
      this.replyPanel.hidden = !canReply;
      this.notePanel.hidden = !canNote;
    }
  }

  onTabKey(event) {
    const tabs = [this.replyTab, this.noteTab].filter((tab) => !tab.hidden);
    const i = tabs.indexOf(/** @type {any} */ (document.activeElement));
    let next = -1;
    if (event.key === "ArrowRight" || event.key === "ArrowLeft") next = (i + (event.key === "ArrowRight" ? 1 : -1) + tabs.length) % tabs.length;
    else if (event.key === "Home") next = 0;
    else if (event.key === "End") next = tabs.length - 1;
    if (next < 0 || i < 0) return;
    event.preventDefault();
    this.selectCompose(tabs[next] === this.noteTab ? "note" : "reply", false);
    tabs[next].focus();
  }

  // --- showing a conversation ------------------------------------------------------------

  get chat() {
    return this.id === null ? null : this.client.chat(this.id);
  }

  /** Show conversation `id`; resolves with the open ack once loaded. */
  /**
   * @param {number} id
   * @param {{readOnly?: boolean, returnTo?: number | null}} [options]
   */
  async show(id, { readOnly = false, returnTo = null } = {}) {
    const same = id === this.id;
    this.id = id;
    this.readOnly = readOnly;
    this.returnTo = returnTo;
    if (!same) {
      this.notice = null;
      this.loadError = null;
      this.nodes.clear();
      this.list.replaceChildren();
      this.searchResults.replaceChildren();
      this.searchStatus.textContent = "";
      this.lastResults = [];
      this.canInsert = null;
      this.hideTyping();
      this.actionError.hidden = true;
      this.actionNote.hidden = true;
      this.noteError.hidden = true;
      this.noteInput.value = "";
      this.pinned = true;
      this.newBelow.hidden = true;
      this.composing = "reply";
      this.toggleDetails(false);
    }
    this.empty.hidden = true;
    this.body.hidden = false;
    this.renderHead();
    this.renderAll();
    const ack = await this.client.load(id);
    if (this.id !== id) return ack;
    this.loadError = ack.ok ? null : ack.error.message;
    this.renderHead();
    this.renderAll();
    this.renderContext();
    this.markReadIfSeen();
    return ack;
  }

  clear() {
    this.id = null;
    this.nodes.clear();
    this.list.replaceChildren();
    this.body.hidden = true;
    this.empty.hidden = false;
    this.client.stopTyping();
  }

  focusTitle() {
    this.title.focus();
  }

  focusComposer() {
    if (!this.composer.root.hidden) this.selectCompose("reply");
    else this.title.focus();
  }

  /** What this chat is to me, for the header and the composer. */
  mode() {
    const chat = this.chat;
    if (!chat) return "loading";
    if (this.readOnly) return "earlier";
    if (chat.status !== "open") return "ended";
    if (this.client.isMineOpen(chat.id)) return "mine";
    if (chat.stage === "waiting") return "waiting";
    if (chat.stage === "assistant") return "assistant";
    return "other";
  }

  renderHead() {
    const chat = this.chat;
    if (this.id === null) return;
    const mode = this.mode();
    const name = chat?.resident?.name || "Resident";
    this.title.textContent = mode === "earlier" ? `${name} — earlier conversation` : name;

    const meta = [];
    if (chat) {
      if (chat.emergency) meta.push(el("span", { class: "badge emergency", text: "Emergency" }));
      const language = languageHeaderBadge(chat, "the resident writes");
      if (language) meta.push(language);
      meta.push(el("span", { class: "chip", text: this.stageLabel(chat) }));
      const presence = chat.status === "open" && residentPresence(chat);
      if (presence) meta.push(el("span", { class: `presence presence-${presence.code}`, text: presence.sentence }));
      meta.push(el("span", { text: topicGuess(this.client.topics, chat.topic) }));
      if (chat.workgroup) meta.push(el("span", { text: `Workgroup: ${chat.workgroup}` }));
      if (chat.handoff_reason && HANDOFF_REASONS[chat.handoff_reason]) meta.push(el("span", { text: HANDOFF_REASONS[chat.handoff_reason] }));
      meta.push(el("span", { class: "muted", text: `Chat #${chat.id}` }));
    }
    this.meta.replaceChildren(...meta.flatMap((node, i) => (i ? [" ", node] : [node])));

    this.renderActions(mode, chat);
    this.renderFiled();

    const notice = this.noticeText(mode);
    this.noticeNode.replaceChildren();
    if (notice) this.noticeNode.append(notice);
    if (mode === "earlier" && this.returnTo !== null) {
      const back = this.client.chat(this.returnTo);
      this.noticeNode.append(
        " ",
        el(
          "button",
          { type: "button", class: "link", onclick: () => this.pane.openConversation(this.returnTo, { focus: "title" }) },
          `Back to ${back?.resident?.name ? `${back.resident.name}'s` : "the"} current chat`,
        ),
      );
    }
    this.noticeNode.hidden = !this.noticeNode.childNodes.length;

    const canReply = mode === "mine";
    this.composer.root.hidden = !canReply;
    if (canReply) this.composer.setConversation(this.id, name);
    else if (this.composer.conversationId === this.id) this.client.stopTyping();
    this.readOnlyNote.hidden = canReply || mode === "loading";
    this.readOnlyNote.textContent = this.replyHint(mode, chat);
    this.setComposeModes(canReply, mode !== "earlier" && mode !== "loading");
    // The article lists hold the agent's place (an open article, a focused button): redraw
    // them only when whether they can insert changes.
    if (this.canInsert !== canReply) {
      this.canInsert = canReply;
      this.renderContext();
    }
  }

  stageLabel(chat) {
    if (chat.status !== "open") {
      const label = chat.disposition && this.client.dispositions[chat.disposition];
      return label ? `Ended: ${label}` : "Ended";
    }
    if (chat.stage === "waiting") return "Waiting in the queue";
    if (chat.stage === "assistant") return `With ${this.client.assistantName}`;
    if (this.client.isMineOpen(chat.id)) return "With you";
    return chat.assigned?.name ? `With ${chat.assigned.name}` : "With an agent";
  }

  noticeText(mode) {
    if (this.loadError) return `This chat could not be loaded: ${this.loadError}`;
    if (this.notice && mode !== "mine") return this.notice;
    if (mode === "earlier") return "Read-only: an earlier conversation of this resident.";
    return null;
  }

  replyHint(mode, chat) {
    switch (mode) {
      case "waiting":
        return "Accept this chat to reply.";
      case "assistant":
        return `${this.client.assistantName} is answering this chat.`;
      case "other":
        return `${chat?.assigned?.name || "Another agent"} is answering this chat.`;
      case "ended":
        return "This chat has ended.";
      case "earlier":
        return "Earlier conversations are read-only.";
      default:
        return "";
    }
  }

  renderActions(mode, chat) {
    const buttons = [];
    const supervisor = this.client.isSupervisor;
    const open = chat && chat.status === "open" && mode !== "earlier";
    if (open && chat.stage === "waiting") {
      buttons.push(el("button", { type: "button", onclick: () => this.pane.accept(chat.id) }, "Accept"));
    }
    if (mode === "mine" || (supervisor && open && chat.stage === "agent")) {
      buttons.push(el("button", { type: "button", class: "secondary", onclick: (e) => this.pane.transferDialog(chat.id, e.currentTarget) }, "Transfer…"));
    }
    if (supervisor && open && mode === "other" && chat.stage === "agent") {
      buttons.push(el("button", { type: "button", onclick: () => this.pane.takeOver(chat.id) }, "Take over"));
    }
    if (chat && mode !== "earlier" && mode !== "loading") {
      buttons.push(
        el("button", { type: "button", class: "secondary", onclick: (e) => this.pane.createRequest(chat.id, e.currentTarget) }, "Create request…"),
      );
    }
    if (supervisor && open && (chat.stage === "agent" || chat.stage === "waiting")) {
      buttons.push(
        el("button", { type: "button", class: "secondary", onclick: (e) => this.pane.reassignDialog(chat.id, e.currentTarget) }, "Reassign…"),
      );
    }
    if (open && (mode === "mine" || supervisor)) {
      buttons.push(
        el("button", { type: "button", class: "secondary", onclick: (e) => this.pane.closeDialog(chat.id, e.currentTarget) }, "Close chat…"),
      );
    }
    // Keep focus on a button that survives the re-render.
    const active = document.activeElement;
    const focused = active && this.actions.contains(active) ? active.textContent : null;
    this.actions.replaceChildren(...buttons);
    this.actions.hidden = !buttons.length;
    if (focused) {
      const again = buttons.find((b) => b.textContent === focused);
      if (again) again.focus();
      else this.title.focus();
    }
  }

  /** The chat's action button with this label, if it is shown. */
  actionButton(label) {
    return [...this.actions.querySelectorAll("button")].find((b) => b.textContent === label) || null;
  }

  /** A request was created from chat `id`: show its number (and keep it for when it is shown again). */
  noteFiled(id, request, told) {
    const list = this.filed.get(id) || [];
    this.filed.set(id, [...list.filter((f) => f.request.number !== request.number), { request, told }]);
    if (id === this.id) this.renderFiled();
  }

  renderFiled() {
    const filed = this.id === null ? [] : this.filed.get(this.id) || [];
    this.filedList.hidden = !filed.length;
    this.filedList.replaceChildren(
      ...filed.map(({ request, told }) => {
        const when = formatTime(request.expected_at);
        return el(
          "li",
          { class: "notice request-filed" },
          "Request ",
          el("strong", { class: "request-number", text: request.number }),
          ` created: ${request.service_name}`,
          when ? ", expected by " : "",
          when ? el("time", { datetime: when.datetime, text: when.label }) : "",
          told ? ". The resident was told in the chat. " : ". The resident is told by email. ",
          el(
            "button",
            { type: "button", class: "link", onclick: () => this.pane.openRequest(request.number) },
            "Open it in Requests",
            el("span", { class: "sr-only", text: ` (${request.number})` }),
          ),
        );
      }),
    );
  }

  showActionNote(message) {
    this.actionNote.textContent = message || "";
    this.actionNote.hidden = !message;
  }

  showActionError(message) {
    this.actionError.textContent = message || "";
    this.actionError.hidden = !message;
  }

  /** The chat was taken from me (transferred, reassigned, returned, ended…). */
  noteUnassigned(reason) {
    this.notice = unassignedNotice(reason);
    this.renderHead();
  }

  // --- the transcript --------------------------------------------------------------------

  renderAll() {
    const t = this.client.transcript(this.id);
    this.olderNote.hidden = !t.hasMore;
    const items = [...t.messages.values()].map((m) => this.messageItem(m)).concat([...t.notes.values()].map((n) => this.noteItem(n)));
    for (const entry of this.client.outbox) if (entry.conversation_id === this.id) items.push(this.pendingItem(entry));
    this.addItems(items, this.followsNewest());
    this.renderSeen();
  }

  onMessages(fresh, live) {
    this.addItems(fresh.map((m) => this.messageItem(m)), this.followsNewest());
    if (!this.pinned && live) this.newBelow.hidden = false;
    this.renderSeen();
    const fromResident = fresh.filter((m) => m.author_kind === "resident");
    if (fromResident.length) {
      this.hideTyping();
      if (live) {
        // Ask for articles matching the newest question (once a burst of messages settles).
        clearTimeout(this.suggestTimer);
        const id = this.id;
        this.suggestTimer = setTimeout(() => id === this.id && this.client.suggest(id), 300);
      }
    }
    this.markReadIfSeen();
  }

  /**
   * Whether the transcript is to follow the newest message: it is at the bottom now, or it was
   * when last on screen (a hidden transcript has no size, so its position says nothing).
   */
  followsNewest() {
    if (this.transcript.clientHeight) this.pinned = this.isAtBottom();
    return this.pinned;
  }

  isAtBottom() {
    const t = this.transcript;
    return t.scrollHeight - t.scrollTop - t.clientHeight < NEAR_BOTTOM_PX;
  }

  scrollToBottom() {
    this.transcript.scrollTop = this.transcript.scrollHeight;
  }

  /** Insert items (each {key, sort: [time, kind, n], node}) in order; replace same keys. */
  addItems(items, scroll) {
    for (const item of items) {
      const old = this.nodes.get(item.key);
      if (old) old.remove();
      item.node.dataset.key = item.key;
      item.node._sort = item.sort;
      this.nodes.set(item.key, item.node);
      let before = null;
      for (let node = this.list.lastElementChild; node; node = node.previousElementSibling) {
        if (compareSort(node._sort, item.sort) <= 0) break;
        before = node;
      }
      this.list.insertBefore(item.node, before);
    }
    if (scroll) this.scrollToBottom();
  }

  messageItem(m) {
    const kind = ["resident", "assistant", "agent", "system"].includes(m.author_kind) ? m.author_kind : "system";
    const author =
      kind === "system"
        ? "System"
        : m.author_name || { resident: "Resident", assistant: this.client.assistantName, agent: "Agent" }[kind];
    const role = { resident: "Resident", assistant: "Assistant", agent: "Agent", system: "" }[kind];
    const text = el("div", { class: "text" });
    if (kind === "resident" && Number.isInteger(m.photo_id)) {
      // The resident's photo, as staff see request photos (signed in; same origin).
      const src = `/agent/requests/photos/${m.photo_id}`;
      text.classList.add("photo");
      text.append(
        el(
          "a",
          { href: src, target: "_blank", rel: "noopener", title: "Open the photo full size" },
          el("img", { src, alt: "Photo sent by the resident", loading: "lazy" }),
        ),
      );
    } else if (m.format === "markdown") text.append(renderMarkdown(m.text, document));
    else appendLinkified(text, m.text, { phones: kind !== "resident" }); // never a resident's
    const node = el(
      "li",
      { class: `msg msg-${kind}`, "data-seq": m.seq },
      el("div", { class: "meta" }, el("span", { class: "author", text: author }), role ? el("span", { class: "role", text: role }) : null, timeNode(m.created_at)),
      text,
    );
    return { key: `m:${m.seq}`, sort: [m.seq, 0, 0], node };
  }

  noteItem(n) {
    const label = n.kind === "transfer" ? "Transfer note" : "Internal note";
    const text = el("div", { class: "text" });
    appendLinkified(text, String(n.text ?? ""));
    const node = el(
      "li",
      { class: `note note-${n.kind === "transfer" ? "transfer" : "note"}`, "data-note-id": n.id },
      el(
        "div",
        { class: "meta" },
        el("span", { class: "note-label", text: `${label} — staff only` }),
        el("span", { class: "author", text: n.author_name || "Staff" }),
        timeNode(n.created_at),
      ),
      text,
    );
    return { key: `n:${n.id}`, sort: [this.anchorOf(n), 1, n.id], node };
  }

  /** Messages stay in seq order; a note goes after the last message written before it. */
  anchorOf(note) {
    const at = parseTime(note.created_at);
    let seq = 0;
    for (const m of this.client.transcript(this.id).messages.values()) {
      if (m.seq > seq && !(parseTime(m.created_at) > at)) seq = m.seq;
    }
    return seq;
  }

  pendingItem(entry) {
    const state =
      entry.state === "failed"
        ? el("p", { class: "state failed", text: `Not sent: ${entry.error}` })
        : el("p", { class: "state", text: entry.waiting ? "Waiting a moment to send (too many at once)…" : "Sending…" });
    const text = el("div", { class: "text" });
    appendLinkified(text, entry.text);
    const node = el(
      "li",
      { class: "msg msg-agent msg-pending", "data-state": entry.state },
      el("div", { class: "meta" }, el("span", { class: "author", text: this.client.me?.first_name || "You" }), el("span", { class: "role", text: "Agent" })),
      text,
      state,
    );
    return { key: `p:${entry.client_id}`, sort: [Infinity, 2, 0], node };
  }

  onPending(entry) {
    const key = `p:${entry.client_id}`;
    if (entry.state === "sent") {
      this.nodes.get(key)?.remove();
      this.nodes.delete(key);
      return;
    }
    // My own reply: the transcript goes to it (and follows again).
    this.pinned = true;
    this.newBelow.hidden = true;
    this.addItems([this.pendingItem(entry)], true);
    if (entry.state === "failed") this.notifier.announce(`Reply not sent: ${entry.error}`);
  }

  /** "Seen" under my side's newest message the resident has read. */
  renderSeen() {
    const t = this.client.transcript(this.id);
    const readSeq = Math.max(t.residentRead, this.chat?.read?.resident || 0);
    let target = 0;
    for (const m of t.messages.values()) if (m.author_kind === "agent" && m.seq <= readSeq && m.seq > target) target = m.seq;
    for (const node of this.list.querySelectorAll(".seen")) node.remove();
    const node = target && this.nodes.get(`m:${target}`);
    if (node) node.append(el("p", { class: "seen", text: "Seen" }));
  }

  onTyping(p) {
    if (p.author_kind !== "resident") return;
    clearTimeout(this.typingTimer);
    if (!p.typing) {
      this.hideTyping();
      return;
    }
    this.typing.textContent = `${p.author_name || "The resident"} is typing…`;
    this.typing.hidden = false;
    this.typingTimer = setTimeout(() => this.hideTyping(), TYPING_HIDE_MS);
  }

  hideTyping() {
    clearTimeout(this.typingTimer);
    this.typing.hidden = true;
    this.typing.textContent = "";
  }

  /** Whether a chat is on screen: not in another view, nor behind a narrow screen's list. */
  isShown() {
    return this.id !== null && !this.body.hidden && this.transcript.getClientRects().length > 0;
  }

  /** Send a read receipt when the agent can see this chat of theirs. */
  markReadIfSeen() {
    // Not while the agent is in another view (the inbox, the team): they have not seen it.
    if (!this.isShown() || document.hidden || !document.hasFocus()) return;
    this.pane.chatSeen(this.id);
    if (this.mode() === "mine") this.client.markRead(this.id);
  }

  // --- notes -----------------------------------------------------------------------------

  async addNote() {
    const text = this.noteInput.value.trim();
    const show = (message) => {
      this.noteError.textContent = message || "";
      this.noteError.hidden = !message;
      if (message) {
        this.noteInput.setAttribute("aria-invalid", "true");
        this.noteInput.setAttribute("aria-describedby", `${this.noteInput.id}-hint note-error`);
      } else {
        this.noteInput.removeAttribute("aria-invalid");
        this.noteInput.setAttribute("aria-describedby", `${this.noteInput.id}-hint`);
      }
    };
    if (!text) return show("Write the note first.");
    if ([...text].length > NOTE_MAX) return show(`A note is at most ${NOTE_MAX.toLocaleString("en-US")} characters.`);
    const id = this.id;
    const ack = await this.client.addNote(id, text);
    if (id !== this.id) return;
    if (!ack.ok) return show(ack.error.message);
    show(null);
    this.noteInput.value = "";
    this.pinned = true;
    this.scrollToBottom();
    this.notifier.announce("Note added.");
  }

  // --- the side column: resident, earlier conversations, knowledge base --------------------

  renderContext() {
    const chat = this.chat;
    const t = this.client.transcript(this.id);
    this.residentInfo.replaceChildren(
      el("dt", { text: "Name" }),
      el("dd", { text: chat?.resident?.name || "—" }),
      el("dt", { text: "Email" }),
      el("dd", { text: chat?.resident?.email || "—" }),
      el("dt", { text: "First question" }),
      el("dd", { text: chat?.first_question || "—" }),
      ...(t.rating ? ratingTerms(t.rating) : []),
    );
    this.transcriptButton.hidden = !chat || this.mode() === "loading";
    const earlier = t.earlier.map((c) => {
      const when = formatTime(c.created_at);
      const state = c.status === "open" ? "open" : (c.disposition && this.client.dispositions[c.disposition]) || "ended";
      const current = c.id === this.returnTo;
      return el(
        "li",
        {},
        el(
          "button",
          {
            type: "button",
            class: "link earlier",
            onclick: () =>
              current
                ? this.pane.openConversation(c.id, { focus: "title" })
                : this.pane.openConversation(c.id, { readOnly: true, returnTo: this.readOnly ? this.returnTo : this.id, focus: "title" }),
          },
          el("span", { class: "when", text: when ? when.label : "" }),
          ` (${state}): `,
          el("span", { text: excerpt(c.first_question, 80) || "no question" }),
        ),
      );
    });
    this.earlierList.replaceChildren(...(earlier.length ? earlier : [el("li", { class: "hint", text: "None." })]));
    this.renderSuggestions();
    this.renderArticles(this.searchResults, this.lastResults || []);
  }

  renderSuggestions() {
    if (this.id === null) return;
    const list = this.client.transcript(this.id).suggestions.slice(0, 3);
    this.renderArticles(this.suggestionList, list);
    this.suggestionEmpty.hidden = list.length > 0;
  }

  renderArticles(container, articles) {
    const canInsert = !this.composer.root.hidden;
    container.replaceChildren(
      ...articles.map((a) => {
        const title = String(a.title || "Article");
        const body = el("div", { class: "article-text" });
        body.append(renderMarkdown(a.text || "", document));
        const topic = topicName(this.client.topics, a.topic);
        return el(
          "li",
          { class: "article" },
          el(
            "details",
            {},
            el("summary", {}, el("span", { class: "title", text: title }), topic ? el("span", { class: "muted", text: ` — ${topic}` }) : null),
            body,
          ),
          canInsert
            ? el(
                "button",
                { type: "button", class: "secondary small", onclick: () => this.insertIntoReply(plainFromMarkdown(a.text)) },
                "Insert",
                el("span", { class: "sr-only", text: ` “${title}” into the reply` }),
              )
            : null,
        );
      }),
    );
  }

  insertIntoReply(text) {
    this.selectCompose("reply", false);
    this.composer.insert(text);
  }

  async search() {
    const query = this.searchInput.value.trim();
    if (!query) {
      this.searchStatus.textContent = "Type words to search for.";
      return;
    }
    this.searchStatus.textContent = "Searching…";
    const ack = await this.client.search(query);
    if (!ack.ok) {
      this.searchStatus.textContent = `Search failed: ${ack.error.message}`;
      return;
    }
    this.lastResults = Array.isArray(ack.articles) ? ack.articles : [];
    const n = this.lastResults.length;
    this.searchStatus.textContent = n ? `${n} article${n === 1 ? "" : "s"} found.` : "No articles found.";
    this.renderArticles(this.searchResults, this.lastResults);
  }
}

function timeNode(iso) {
  const when = formatTime(iso);
  return when ? el("time", { datetime: when.datetime, text: when.label }) : null;
}

function compareSort(a, b) {
  for (let i = 0; i < 3; i++) {
    if (a[i] < b[i]) return -1;
    if (a[i] > b[i]) return 1;
  }
  return 0;
}

/**
 * The resident's rating of a chat, for supervisors: the score in words, whose chat it rates,
 * and the resident's comment as their own text (quoted, never markup).
 * @param {any} rating
 */
function ratingTerms(rating) {
  const agent = rating.staff?.name ? ` for ${rating.staff.name}` : "";
  return [
    el("dt", { text: "Resident's rating" }),
    el(
      "dd",
      { class: "rating" },
      el("span", { class: `stars stars-${rating.score}`, text: `${rating.score} of 5 (${rating.label})${agent}` }),
      rating.comment ? el("blockquote", { class: "resident-comment", text: rating.comment }) : "",
    ),
  ];
}
