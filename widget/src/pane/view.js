// @ts-check
// The agent pane: header controls (status, load, sound), the connection banner, My chats, the
// queue, the open conversation, the after-hours inbox, service requests and, for supervisors, the supervisor view. It turns the agent's
// actions into AgentClient calls and shows what the client reports. Supervisors also get the
// Reports tab (./reports/).

import { el } from "../shared/dom.js";
import { ConversationView } from "./conversation.js";
import { field, formDialog, invalid } from "./dialog.js";
import { InboxView } from "./inbox.js";
import { showLanguageBadge } from "./language.js";
import { STATUS_LABELS, assignedLabel, excerpt, plural, residentPresence, topicGuess, topicName, unassignedAnnouncement, waitingLabel } from "./format.js";
import { parseTime } from "../shared/time.js";
import { reconcile } from "./lists.js";
import { Notifier } from "./notify.js";
import { ReportsView } from "./reports/view.js";
import { RequestsView, createRequestDialog } from "./requests.js";
import { SupervisorView } from "./supervisor.js";

const TICK_MS = 15000; // how often "waiting 2 min" is brought up to date
const TYPING_HINT_MS = 6000; // "typing…" in the chat list goes after this long without news
const SELF_ACTION_MS = 10000;
const STATUSES = ["available", "away", "offline"];

export class PaneView {
  /** @type {HTMLElement[]} made by buildMeBar() */
  statusButtons;

  constructor(main, headerSlot, client) {
    this.main = main;
    this.client = client;
    this.notifier = new Notifier(document.title);
    /** @type {{id: number, readOnly: boolean, returnTo: number | null} | null} */
    this.current = null;
    this.selfActions = new Set(); // conversations I just acted on: no alerts about them
    this.unopened = new Set(); // chats given to me (routed, transferred…) not yet on my screen
    /** @type {Set<() => void>} agent lists in open dialogs, redrawn when anyone's status changes */
    this.agentPickers = new Set();
    this.view = "chats";
    this.conversation = new ConversationView(client, this.notifier, this);
    this.supervisor = new SupervisorView(client, this.notifier, this);
    this.inbox = new InboxView(client, this.notifier, this);
    this.requests = new RequestsView(client, this.notifier, this);
    this.reports = new ReportsView(client, (id) => this.openConversation(id, { focus: "title" }));

    headerSlot.replaceChildren(this.buildMeBar());
    main.replaceChildren(...this.buildMain(), this.notifier.region);

    client.on("connection", () => this.renderBanner());
    client.on("problem", (text) => {
      this.problem = text;
      this.renderBanner();
    });
    client.on("ready", () => this.onReady());
    client.on("me", () => this.renderMe());
    client.on("chats", () => this.renderMine());
    client.on("agents", () => this.agentPickers.forEach((redraw) => redraw()));
    client.on("queue", () => this.renderQueue());
    client.on("assigned", (p) => this.onAssigned(p));
    client.on("unassigned", (p) => this.onUnassigned(p));
    client.on("messages", (id, fresh, live) => live && this.onLiveMessages(id, fresh));
    client.on("typing", (p) => this.onTyping(p));

    const seen = () => {
      this.notifier.clearTitle();
      this.conversation.markReadIfSeen();
    };
    window.addEventListener("focus", seen);
    document.addEventListener("visibilitychange", () => !document.hidden && this.conversation.markReadIfSeen());
    setInterval(() => this.tick(), TICK_MS);
    this.renderBanner();
    closeOnEscapeAndOutside(document.getElementById("account"));
  }

  // --- building --------------------------------------------------------------------------

  buildMeBar() {
    this.statusButtons = STATUSES.map((status) =>
      el(
        "button",
        { type: "button", class: `status-button status-${status}`, "aria-pressed": "false", onclick: (e) => this.setStatus(status, e.currentTarget) },
        STATUS_LABELS[status],
      ),
    );
    this.loadNode = el("span", { class: "load" });
    const sound = el("input", { type: "checkbox", id: "sound-toggle" });
    sound.checked = this.notifier.soundOn;
    sound.addEventListener("change", () => this.notifier.setSound(sound.checked));
    return el(
      "div",
      { class: "me-bar" },
      el(
        "div",
        { class: "status-group", role: "group", "aria-labelledby": "status-label" },
        el("span", { id: "status-label", text: "My status:" }),
        ...this.statusButtons,
      ),
      this.loadNode,
      el("span", { class: "sound" }, sound, el("label", { for: "sound-toggle", text: "Sound for new chats" })),
    );
  }

  buildMain() {
    this.banner = el("p", { class: "banner", role: "status" });
    this.errorBanner = el("p", { class: "banner error", "aria-live": "polite", hidden: true });
    // How many of my chats have something I have not seen: a new chat or new messages.
    this.chatsCount = el("span", { class: "badge unread tab-badge", hidden: true });
    this.chatsTab = el("button", { type: "button", "aria-pressed": "true", onclick: () => this.showView("chats") }, "Chats ", this.chatsCount);
    this.inboxTab = el(
      "button",
      { type: "button", "aria-pressed": "false", onclick: () => this.showView("inbox") },
      "After-hours",
      el("span", { class: "wide-only", text: " messages" }),
      " ",
      this.inbox.tabCount,
    );
    this.requestsTab = el("button", { type: "button", "aria-pressed": "false", onclick: () => this.showView("requests") }, "Requests");
    this.supervisorTab = el(
      "button",
      { type: "button", "aria-pressed": "false", hidden: true, onclick: () => this.showView("supervisor") },
      "Supervisor",
    );
    this.reportsTab = el("button", { type: "button", "aria-pressed": "false", hidden: true, onclick: () => this.showView("reports") }, "Reports");
    this.nav = el("nav", { class: "views", "aria-label": "Views" }, this.chatsTab, this.inboxTab, this.requestsTab, this.supervisorTab, this.reportsTab);

    this.mineCount = el("span", { class: "count" });
    this.mineList = el("ul", { class: "chat-list" });
    this.mineEmpty = el("p", { class: "hint", text: "No chats yet. Set your status to Available to get chats, or accept one from the queue." });
    this.queueCount = el("span", { class: "count" });
    this.queueList = el("ul", { class: "queue-list" });
    this.queueEmpty = el("p", { class: "hint", text: "Nobody is waiting." });
    this.queueHeading = el("h2", { id: "queue-h", tabindex: "-1" }, "Queue ", this.queueCount);
    this.mineHeading = el("h2", { id: "mine-h", tabindex: "-1" }, "My chats ", this.mineCount);
    const sidebar = el(
      "div",
      { class: "sidebar" },
      el("section", { "aria-labelledby": "mine-h" }, this.mineHeading, this.mineEmpty, this.mineList),
      el("section", { "aria-labelledby": "queue-h" }, this.queueHeading, this.queueEmpty, this.queueList),
    );
    // data-show: which column a narrow screen shows (a wide one shows both).
    this.chatsView = el("div", { class: "chats-view", "data-show": "list" }, sidebar, this.conversation.root);
    this.inboxView = el("div", { class: "inbox-view", hidden: true }, this.inbox.root);
    this.requestsView = el("div", { class: "requests-view", hidden: true }, this.requests.root);
    this.supervisorView = el("div", { class: "supervisor-view", hidden: true }, this.supervisor.root);
    this.reportsView = el("div", { class: "reports-view", hidden: true }, this.reports.root);
    const bar = el("div", { class: "pane-bar" }, this.nav, this.banner);
    return [bar, this.errorBanner, this.chatsView, this.inboxView, this.requestsView, this.supervisorView, this.reportsView];
  }

  // --- connection and the agent's own state ----------------------------------------------

  renderBanner() {
    const state = this.client.connection;
    this.banner.replaceChildren();
    if (state === "refused") {
      this.banner.className = "banner error";
      const signedOut = /sign in/i.test(this.client.refusal || "");
      this.banner.append(
        signedOut
          ? "The pane is not connected: your session has ended. "
          : `The chat service refused the connection (${this.client.refusal || "no reason given"}). `,
        el("a", { href: "/agent/sign-in", text: "Sign in again" }),
        ".",
      );
    } else if (this.problem) {
      this.banner.className = "banner warn";
      this.banner.append(this.problem);
    } else if (state === "reconnecting") {
      this.banner.className = "banner warn";
      this.banner.append("Connection lost. Reconnecting… Your chats stay yours for a short while.");
    } else if (state === "connecting" || !this.client.ready) {
      this.banner.className = "banner";
      this.banner.append("Connecting…");
    } else {
      this.banner.className = "banner ok";
      this.banner.append("Connected");
    }
    this.main.setAttribute("aria-busy", state === "connected" && this.client.ready ? "false" : "true");
  }

  showError(message) {
    this.errorBanner.textContent = message || "";
    this.errorBanner.hidden = !message;
  }

  onReady() {
    this.renderBanner();
    this.supervisorTab.hidden = !this.client.isSupervisor;
    this.reportsTab.hidden = !this.client.isSupervisor;
    if (!this.client.isSupervisor && (this.view === "supervisor" || this.view === "reports")) this.showView("chats");
    // Catch up on the chat on screen: what was missed while away, and its live events again.
    if (this.current) this.conversation.show(this.current.id, this.current);
    this.tick();
  }

  renderMe() {
    const me = this.client.me;
    if (!me) return;
    for (const [i, status] of STATUSES.entries()) {
      this.statusButtons[i].setAttribute("aria-pressed", String(me.status === status));
    }
    const active = Number.isInteger(me.active_chats) ? me.active_chats : this.client.mine.size;
    this.loadNode.textContent = `Chats: ${active} of ${me.max_chats}`;
    this.supervisorTab.hidden = !this.client.isSupervisor;
    this.reportsTab.hidden = !this.client.isSupervisor;
  }

  async setStatus(status, button) {
    const me = this.client.me;
    if (!me || me.status === status) return;
    const mine = this.client.mine.size;
    if (status === "offline" && mine) {
      const ok = await formDialog({
        title: "Go offline?",
        description: `Your ${plural(mine, "open chat")} will go back to the front of the queue, and the residents are told.`,
        fields: [],
        submitLabel: "Go offline",
        opener: button,
        onSubmit: async () => this.statusError(await this.client.setStatus(status)),
      });
      if (ok) this.notifier.announce("You are offline.");
      return;
    }
    const message = this.statusError(await this.client.setStatus(status));
    if (message) this.showError(message);
    else {
      this.showError(null);
      this.notifier.announce(`You are ${STATUS_LABELS[status].toLowerCase()}.`);
    }
  }

  statusError(ack) {
    return ack.ok ? null : `Your status was not changed: ${ack.error.message}`;
  }

  // --- my chats and the queue ------------------------------------------------------------

  renderMine() {
    const chats = this.client.myChats();
    this.mineCount.textContent = chats.length ? `(${chats.length})` : "";
    this.mineEmpty.hidden = chats.length > 0;
    const lost = reconcile(
      this.mineList,
      chats,
      (c) => c.id,
      (chat) => {
        const name = el("span", { class: "name" });
        const unread = el("span", { class: "badge unread" });
        const fresh = el("span", { class: "badge new", text: "New" });
        const emergency = el("span", { class: "badge emergency", text: "Emergency" });
        const topic = el("span", { class: "sub" });
        const typing = el("span", { class: "sub typing-hint", hidden: true, text: "typing…" });
        const presence = el("span", { class: "presence", hidden: true });
        const language = el("span", { class: "badge language", hidden: true });
        const button = el(
          "button",
          { type: "button", class: "chat-item", onclick: () => this.openConversation(chat.id, { focus: "composer" }) },
          el("span", { class: "line" }, name, presence, language, emergency, fresh, unread),
          topic,
          typing,
        );
        const li = el("li", {}, button);
        li._parts = { button, name, unread, fresh, emergency, topic, typing, presence, language, typingTimer: undefined };
        return li;
      },
      (li, chat) => {
        const p = li._parts;
        p.name.textContent = chat.resident?.name || "Resident";
        const presence = residentPresence(chat);
        p.presence.hidden = !presence;
        if (presence) {
          p.presence.className = `presence presence-${presence.code}`;
          p.presence.replaceChildren(el("span", { class: "sr-only", text: "Resident: " }), presence.word);
          if (presence.code !== "online") this.setTyping(chat.id, false);
        }
        showLanguageBadge(p.language, chat);
        const n = this.client.unread(chat.id);
        p.unread.replaceChildren(String(n), el("span", { class: "sr-only", text: " unread" }));
        p.unread.hidden = n === 0;
        p.fresh.hidden = !this.unopened.has(chat.id) || n > 0;
        p.emergency.hidden = !chat.emergency;
        p.topic.textContent = topicName(this.client.topics, chat.topic) || excerpt(chat.first_question, 40);
        if (this.current?.id === chat.id) p.button.setAttribute("aria-current", "true");
        else p.button.removeAttribute("aria-current");
      },
    );
    if (lost) this.mineHeading.focus();
    this.renderChatsCount(chats);
    this.renderMe();
  }

  /** The Chats tab counts my chats with something unseen, so a new one shows from any view. */
  renderChatsCount(chats = this.client.myChats()) {
    for (const id of this.unopened) if (!this.client.isMineOpen(id)) this.unopened.delete(id);
    const n = chats.filter((c) => this.unopened.has(c.id) || this.client.unread(c.id) > 0).length;
    this.chatsCount.replaceChildren(String(n), el("span", { class: "sr-only", text: " new" }));
    this.chatsCount.hidden = n === 0;
  }

  /** Chat `id` is on the agent's screen: it is no longer new. */
  chatSeen(id) {
    if (this.unopened.delete(id)) this.renderMine();
  }

  renderQueue() {
    const entries = [...this.client.queue].sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
    const total = this.client.queueTotal;
    this.queueCount.textContent = `(${total})`;
    this.queueEmpty.hidden = entries.length > 0;
    const lost = reconcile(
      this.queueList,
      entries,
      (c) => c.id,
      (entry) => {
        const name = el("span", { class: "name" });
        const emergency = el("span", { class: "badge emergency", text: "Emergency" });
        const topic = el("p", { class: "topic" });
        const question = el("p", { class: "question" });
        const waiting = el("span", { class: "waiting" });
        const position = el("span", { class: "position" });
        const workgroup = el("p", { class: "sub" });
        const error = el("p", { class: "error", hidden: true, "aria-live": "polite" });
        const who = el("span", { class: "sr-only" });
        const who2 = el("span", { class: "sr-only" });
        const li = el(
          "li",
          { class: "queue-entry" },
          el("p", { class: "line" }, name, " ", emergency),
          topic,
          question,
          workgroup,
          el("p", { class: "sub" }, waiting, " · ", position),
          el(
            "div",
            { class: "entry-actions" },
            el("button", { type: "button", onclick: () => this.accept(entry.id) }, "Accept", who),
            el("button", { type: "button", class: "secondary", onclick: () => this.openConversation(entry.id, { focus: "title" }) }, "View", who2),
          ),
          error,
        );
        li._parts = { name, emergency, topic, question, waiting, position, workgroup, error, who, who2 };
        return li;
      },
      (li, entry) => {
        const p = li._parts;
        const name = entry.resident?.name || "Resident";
        p.name.textContent = name;
        p.who.textContent = ` chat from ${name}`;
        p.who2.textContent = ` chat from ${name}`;
        p.emergency.hidden = !entry.emergency;
        li.classList.toggle("emergency", Boolean(entry.emergency));
        p.topic.textContent = topicGuess(this.client.topics, entry.topic);
        p.question.textContent = excerpt(entry.first_question, 140);
        p.workgroup.textContent = entry.workgroup ? `For ${entry.workgroup}` : "";
        p.workgroup.hidden = !entry.workgroup;
        p.waiting.dataset.since = String(parseTime(entry.queued_at || entry.created_at));
        p.waiting.textContent = waitingLabel(Number(p.waiting.dataset.since), Date.now());
        p.position.textContent = `#${entry.position ?? "?"} in line`;
      },
    );
    if (lost) this.queueHeading.focus();
    this.supervisor.renderQueue();
  }

  /** Bring every "waiting N min" and "assigned N min ago" up to date. */
  tick() {
    const now = Date.now();
    /** @type {[string, (sinceMs: number, nowMs: number) => string][]} */
    const labels = [
      [".waiting[data-since]", waitingLabel],
      [".held-since[data-since]", assignedLabel],
    ];
    for (const [selector, label] of labels) {
      for (const node of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll(selector))) {
        const text = label(Number(node.dataset.since), now);
        if (node.textContent !== text) node.textContent = text;
      }
    }
  }

  queueError(id, message) {
    const li = [...this.queueList.children].find((node) => node.dataset.key === String(id));
    if (li) {
      li._parts.error.textContent = message;
      li._parts.error.hidden = false;
      return true;
    }
    return false;
  }

  // --- events about my chats -------------------------------------------------------------

  markSelf(id) {
    this.selfActions.add(id);
    setTimeout(() => this.selfActions.delete(id), SELF_ACTION_MS);
  }

  onAssigned({ conversation, reason }) {
    const name = conversation.resident?.name || "a resident";
    if (reason !== "accepted" && !this.selfActions.has(conversation.id)) {
      this.unopened.add(conversation.id);
      this.renderMine();
      this.notifier.newChat(name);
      const how = reason === "transferred" ? "transferred to you" : reason === "reassigned" ? "given to you by a supervisor" : "assigned to you";
      this.notifier.announce(`New chat ${how}: ${name}.`);
    }
    // Shown in the chats view, without taking the agent away from the inbox or the team.
    if (!this.current) this.openConversation(conversation.id, { focus: null, switchView: false });
  }

  onUnassigned({ conversation_id: id, reason }) {
    const name = this.client.chat(id)?.resident?.name || "a resident";
    if (!this.selfActions.has(id)) this.notifier.announce(unassignedAnnouncement(name, reason));
    const current = this.current;
    if (current && current.id === id) {
      if (!this.selfActions.has(id)) this.conversation.noteUnassigned(reason);
      // Reopen as a viewer: the chat's events keep coming and its state is brought up to date.
      this.conversation.show(id, current);
    }
  }

  onLiveMessages(id, fresh) {
    const last = fresh.filter((m) => m.author_kind === "resident").pop();
    if (!last) return;
    const name = last.author_name || this.client.chat(id)?.resident?.name || "The resident";
    if (this.current?.id === id && this.view === "chats") this.notifier.announce(`${name}: ${excerpt(last.text, 200)}`);
    else if (this.client.isMineOpen(id)) this.notifier.announce(`New message from ${name}.`);
    this.setTyping(id, false);
  }

  onTyping(p) {
    if (p.author_kind === "resident") this.setTyping(p.conversation_id, p.typing);
  }

  setTyping(id, typing) {
    const li = [...this.mineList.children].find((node) => node.dataset.key === String(id));
    if (!li) return;
    const p = li._parts;
    clearTimeout(p.typingTimer);
    p.typing.hidden = !typing;
    // A "typing: false" that never comes (a lost connection) does not leave it there for good.
    if (typing) p.typingTimer = setTimeout(() => (p.typing.hidden = true), TYPING_HINT_MS);
  }

  // --- opening and acting on conversations -------------------------------------------------

  showView(name) {
    this.view = name;
    this.chatsView.hidden = name !== "chats";
    this.inboxView.hidden = name !== "inbox";
    this.requestsView.hidden = name !== "requests";
    this.supervisorView.hidden = name !== "supervisor";
    this.reportsView.hidden = name !== "reports";
    this.chatsTab.setAttribute("aria-pressed", String(name === "chats"));
    this.inboxTab.setAttribute("aria-pressed", String(name === "inbox"));
    this.requestsTab.setAttribute("aria-pressed", String(name === "requests"));
    this.supervisorTab.setAttribute("aria-pressed", String(name === "supervisor"));
    this.reportsTab.setAttribute("aria-pressed", String(name === "reports"));
    if (name === "chats") this.conversation.markReadIfSeen();
    else if (name === "inbox") this.inbox.shown();
    else if (name === "requests") return this.requests.shown();
    else if (name === "reports") return this.reports.shown();
    else this.supervisor.shown();
  }

  /** Show a conversation; focus: "composer" (or the title when it has none), "title", or null. */
  /**
   * @param {number} id
   * @param {{readOnly?: boolean, returnTo?: number | null, focus?: string | null, switchView?: boolean}} [options]
   */
  async openConversation(id, { readOnly = false, returnTo = null, focus = null, switchView = true } = {}) {
    const previous = this.current;
    if (previous && previous.id !== id) this.client.closeView(previous.id);
    this.current = { id, readOnly, returnTo };
    // A narrow screen shows it in place of the list (a wide one beside it).
    this.chatsView.dataset.show = "conversation";
    if (switchView) this.showView("chats");
    const loaded = this.conversation.show(id, this.current);
    this.renderMine();
    if (focus === "composer") this.conversation.focusComposer();
    else if (focus === "title") this.conversation.focusTitle();
    const ack = await loaded;
    // The chat became mine while it loaded: put the agent where they can reply.
    if (focus === "composer" && this.current?.id === id && document.activeElement === this.conversation.title) {
      this.conversation.focusComposer();
    }
    return ack;
  }

  /** Narrow screens: back from a chat to My chats and the queue. */
  showChatList() {
    this.chatsView.dataset.show = "list";
    this.mineHeading.focus();
  }

  async accept(id) {
    const name = this.client.chat(id)?.resident?.name || "the resident";
    this.markSelf(id);
    const ack = await this.client.accept(id);
    if (!ack.ok) {
      const message = `Could not accept the chat with ${name}: ${ack.error.message}`;
      if (this.current?.id === id) this.conversation.showActionError(message);
      else if (!this.queueError(id, message)) this.showError(message);
      return;
    }
    this.notifier.announce(`You accepted the chat with ${name}.`);
    await this.openConversation(id, { focus: "composer" });
  }

  /** Reassign a chat to myself; report(message) shows a failure where the agent acted. */
  async takeOver(id, report = (message) => this.conversation.showActionError(message)) {
    const name = this.client.chat(id)?.resident?.name || "the resident";
    this.markSelf(id);
    const ack = await this.client.reassign(id, this.client.me.id);
    if (!ack.ok) {
      report(`Could not take over the chat with ${name}: ${ack.error.message}`);
      return;
    }
    report(null);
    this.conversation.showActionError(null);
    this.notifier.announce(`You took over the chat with ${name}.`);
    await this.openConversation(id, { focus: "composer" });
  }

  /**
   * Fill an agent <select> with `agents` (labelled by `label`), keeping the chosen one chosen;
   * return whether it still is there. Options are updated in place, so a screen reader on the
   * list does not lose its place.
   */
  agentOptions(select, agents, label = (a) => this.agentLabel(a)) {
    const chosen = select.value;
    const options = new Map([...select.options].map((o) => [o.value, o]));
    const wanted = agents.map((a) => {
      const option = options.get(String(a.id)) || el("option", { value: a.id });
      if (option.textContent !== label(a)) option.textContent = label(a);
      return option;
    });
    for (const option of [...select.options]) if (!wanted.includes(option)) option.remove();
    wanted.forEach((option, i) => {
      if (select.options[i] !== option) select.insertBefore(option, select.options[i] || null);
    });
    const kept = chosen !== "" && agents.some((a) => String(a.id) === chosen);
    if (kept) select.value = chosen;
    return kept;
  }

  agentLabel(agent) {
    const status = STATUS_LABELS[agent.status] || agent.status;
    return `${agent.display_name} — ${status}, ${agent.active_chats} of ${agent.max_chats} chats`;
  }

  async transferDialog(id, opener) {
    const chat = this.client.chat(id);
    const others = () => this.client.agents.filter((a) => a.id !== this.client.me?.id);
    const toAgent = el("input", { type: "radio", name: "target", value: "agent", id: "transfer-to-agent" });
    const toGroup = el("input", { type: "radio", name: "target", value: "workgroup", id: "transfer-to-workgroup" });
    const agentSelect = el("select", { id: "transfer-agent" });
    const groupSelect = el(
      "select",
      { id: "transfer-workgroup" },
      ...this.client.workgroups.map((w) => el("option", { value: w, text: w })),
    );
    if (chat?.workgroup && this.client.workgroups.includes(chat.workgroup)) groupSelect.value = chat.workgroup;
    const firstFree = (agents) => agents.find((a) => a.status === "available" && a.active_chats < a.max_chats);
    const note = el("textarea", { id: "transfer-note", rows: 3, required: true });
    const sync = () => {
      agentSelect.disabled = !toAgent.checked;
      groupSelect.disabled = !toGroup.checked;
    };
    toAgent.addEventListener("change", sync);
    toGroup.addEventListener("change", sync);
    // The list follows the team while the dialog is open (someone goes Available, takes a chat).
    const redraw = () => {
      const agents = others();
      const keep = this.agentOptions(agentSelect, agents);
      if (!keep && firstFree(agents)) agentSelect.value = String(firstFree(agents).id);
      toAgent.disabled = !agents.length;
      if (!agents.length && toAgent.checked && !toGroup.disabled) toGroup.checked = true;
      sync();
    };
    redraw();
    if (!this.client.workgroups.length) toGroup.disabled = true;
    (!toAgent.disabled ? toAgent : toGroup).checked = true;
    sync();
    this.agentPickers.add(redraw);
    const name = chat?.resident?.name || "the resident";
    let target = "";
    const ok = await formDialog({
      title: `Transfer the chat with ${name}`,
      fields: [
        el(
          "fieldset",
          {},
          el("legend", { text: "Transfer to" }),
          el("div", { class: "choice" }, toAgent, el("label", { for: toAgent.id, text: "An agent" })),
          field("Agent", agentSelect),
          el("div", { class: "choice" }, toGroup, el("label", { for: toGroup.id, text: "A workgroup (back to the queue)" })),
          field("Workgroup", groupSelect),
        ),
        field("Note for the next person (required)", note, "What they need to know. Staff only: the resident does not see it."),
      ],
      submitLabel: "Transfer",
      opener,
      fallback: () => this.conversation.title,
      onSubmit: async () => {
        const text = note.value.trim();
        if (!text) return invalid(note, "Write a note for the next person.");
        let payload;
        if (toAgent.checked) {
          if (!agentSelect.value) return invalid(agentSelect, "Choose an agent.");
          payload = { to_staff_id: Number(agentSelect.value) };
          target = agentSelect.selectedOptions[0]?.textContent.split(" — ")[0] || "the agent";
        } else {
          if (!groupSelect.value) return invalid(groupSelect, "Choose a workgroup.");
          payload = { to_workgroup: groupSelect.value };
          target = groupSelect.value;
        }
        this.markSelf(id);
        const ack = await this.client.transfer(id, payload, text);
        return ack.ok ? null : ack.error.message;
      },
    });
    this.agentPickers.delete(redraw);
    if (ok) {
      this.conversation.noteUnassigned("transferred");
      this.notifier.announce(`The chat with ${name} was transferred to ${target}.`);
    }
  }

  /** File a service request from a chat, with what the resident said suggested. */
  async createRequest(id, opener) {
    const filed = await createRequestDialog({
      client: this.client,
      conversationId: id,
      opener,
      // The chat's buttons are redrawn when the resident's message arrives: find it again.
      fallback: () => this.conversation.actionButton("Create request…") || this.conversation.title,
      report: (message) => this.conversation.showActionError(message),
    });
    if (!filed) return;
    const { request, message } = filed;
    this.conversation.noteFiled(id, request, Boolean(message));
    const told = message ? "The resident was told its number in the chat." : "The resident is told by email.";
    this.notifier.announce(`Request ${request.number} created: ${request.service_name}. ${told}`);
  }

  /** Show a service request on the Requests page. */
  async openRequest(number) {
    await this.showView("requests");
    await this.requests.open(number);
  }

  async closeDialog(id, opener) {
    const chat = this.client.chat(id);
    const name = chat?.resident?.name || "the resident";
    const radios = Object.entries(this.client.dispositions).map(([code, label]) => {
      const input = el("input", { type: "radio", name: "disposition", value: code, id: `disposition-${code}` });
      return { input, row: el("div", { class: "choice" }, input, el("label", { for: input.id, text: label })) };
    });
    const fieldset = el("fieldset", {}, el("legend", { text: "Disposition (required)" }), ...radios.map((r) => r.row));
    let label = "";
    const ok = await formDialog({
      title: `Close the chat with ${name}`,
      description: "The resident is told the chat has ended.",
      fields: [fieldset],
      submitLabel: "Close chat",
      opener,
      fallback: () => this.conversation.title,
      onSubmit: async () => {
        const chosen = radios.find((r) => r.input.checked);
        if (!chosen) return invalid(radios[0].input, "Choose a disposition.");
        label = this.client.dispositions[chosen.input.value];
        this.markSelf(id);
        const ack = await this.client.close(id, chosen.input.value);
        return ack.ok ? null : ack.error.message;
      },
    });
    if (ok) this.notifier.announce(`The chat with ${name} is closed: ${label}.`);
  }

  /** Email the chat's transcript to the resident, after saying which address it goes to. */
  async transcriptDialog(id, opener) {
    const chat = this.client.chat(id);
    const name = chat?.resident?.name || "the resident";
    const email = chat?.resident?.email || "";
    let outcome = "";
    const ok = await formDialog({
      title: `Email the transcript to ${name}`,
      description: `It goes to ${email || "the address the resident gave"}: every message of the chat with its time, and the requests filed in it. Staff notes are never included.`,
      fields: [],
      submitLabel: "Send transcript",
      opener,
      fallback: () => this.conversation.title,
      onSubmit: async () => {
        const ack = await this.client.emailTranscript(id);
        if (!ack.ok) return ack.error.message;
        const to = ack.to || email;
        outcome =
          ack.outcome === "sent"
            ? `Transcript sent to ${to}.`
            : ack.outcome === "already_sent"
              ? `The transcript was already sent to ${to} a few minutes ago; it was not sent again.`
              : `Not sent: ${to} has had the most mail allowed today, or asked for no more.`;
        return null;
      },
    });
    if (ok) {
      this.conversation.showActionError("");
      this.notifier.announce(outcome);
      this.conversation.showActionNote(outcome);
    }
  }

  async reassignDialog(id, opener, fallback = null) {
    const chat = this.client.chat(id);
    const name = chat?.resident?.name || "the resident";
    const me = this.client.me;
    const select = el("select", { id: "reassign-agent" });
    const redraw = () => {
      const holder = this.client.chat(id)?.assigned?.id;
      this.agentOptions(
        select,
        this.client.agents.filter((a) => a.id !== holder),
        (a) => (a.id === me?.id ? `Me (take over) — ${this.agentLabel(a)}` : this.agentLabel(a)),
      );
    };
    redraw();
    this.agentPickers.add(redraw);
    let target = "";
    const ok = await formDialog({
      title: `Reassign the chat with ${name}`,
      description: chat?.assigned?.name ? `${chat.assigned.name} has it now.` : "It is waiting in the queue.",
      fields: [field("Give it to", select)],
      submitLabel: "Reassign",
      opener,
      fallback: fallback || (() => (this.view === "chats" ? this.conversation.title : this.supervisor.queueHeading)),
      onSubmit: async () => {
        if (!select.value) return invalid(select, "Choose an agent.");
        const staffId = Number(select.value);
        target = staffId === me?.id ? "you" : select.selectedOptions[0]?.textContent.split(" — ")[0];
        this.markSelf(id);
        const ack = await this.client.reassign(id, staffId);
        return ack.ok ? null : ack.error.message;
      },
    });
    this.agentPickers.delete(redraw);
    if (ok) this.notifier.announce(`The chat with ${name} was given to ${target}.`);
  }
}

/** A <details> menu that closes on Escape (focus back on its summary) and on a click outside. */
function closeOnEscapeAndOutside(details) {
  if (!(details instanceof HTMLDetailsElement)) return;
  const summary = details.querySelector("summary");
  details.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && details.open) {
      details.open = false;
      summary?.focus();
    }
  });
  document.addEventListener("pointerdown", (event) => {
    if (details.open && !details.contains(/** @type {Node | null} */ (event.target))) details.open = false;
  });
}
