// @ts-check
// The staff side of the protocol (docs/protocol/agent.md): one Socket.IO connection, what the
// server said in `hello` and since (me, my chats, the queue, the team, canned responses), the
// transcripts loaded so far (messages deduplicated by conversation and seq, notes by id), the
// agent's unsent replies and the after-hours inbox (left messages by id). It knows nothing about
// the DOM; the views listen to its events.

import { io } from "socket.io-client";
import { ask, onBackOnline, waitOf } from "../shared/socket.js";
import { newClientId } from "../shared/ids.js";
import { Emitter } from "../shared/emitter.js";
import { parseTime, setTimeZone } from "../shared/time.js";
import { RESIDENT_PRESENCE } from "./format.js";

/** @typedef {import("../shared/socket.js").OpenSocket} OpenSocket */

const HELLO_RETRY_MS = 3000;
const TYPING_REPEAT_MS = 2000; // resend typing:true at most this often while typing
const TYPING_IDLE_MS = 3000; // then typing:false after this long without a keystroke

// A reply that failed with one of these may or may not have reached the server: it is sent
// again, with the same client_id, once the connection is back. Anything else is final.
const TRANSIENT = new Set(["timeout", "disconnected", "unavailable", "internal_error"]);

export const DEFAULT_DISPOSITIONS = {
  resolved: "Resolved",
  referred: "Referred to a department",
  no_response: "No response",
  spam: "Spam",
};

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function isMessage(m) {
  return isObject(m) && Number.isInteger(m.conversation_id) && Number.isInteger(m.seq) && typeof m.text === "string";
}

function isChat(c) {
  return isObject(c) && Number.isInteger(c.id);
}

function isRequest(r) {
  return isObject(r) && typeof r.number === "string" && typeof r.status === "string";
}

function isLeftMessage(m) {
  return isObject(m) && Number.isInteger(m.id) && typeof m.status === "string" && typeof m.text === "string";
}

export const INBOX_STATUSES = ["new", "in_progress", "replied", "closed", "spam"];
export const INBOX_OPEN = ["new", "in_progress"];
const INBOX_LIMIT = 500; // the server lists at most this many: a full page may not be all

/** Whether a left message is open and past its reply due time (the server's flag, or now). */
export function isOverdue(item, nowMs = Date.now()) {
  if (!INBOX_OPEN.includes(item.status)) return false;
  return item.overdue === true || parseTime(item.reply_due) <= nowMs;
}

/** What the pane knows of one conversation's contents. */
export class Transcript {
  constructor(id) {
    this.id = id;
    this.messages = new Map(); // seq -> Message
    this.notes = new Map(); // id -> Note
    this.earlier = [];
    this.suggestions = [];
    this.hasMore = false;
    this.loaded = false;
    this.lastSeq = 0;
    this.residentRead = 0; // highest seq the resident has read
    /** @type {any} the resident's rating of the chat (supervisors only), or null */
    this.rating = null;
  }
}

export class AgentClient extends Emitter {
  /**
   * @param {string} origin the chat service's origin
   * @param {OpenSocket} [openSocket] opens the connection (socket.io-client's `io`; tests pass a fake)
   */
  constructor(origin, openSocket = io) {
    super();
    this.openSocket = openSocket;
    this.origin = origin;
    /** @type {any} socket.io-client's Socket, once connect() was called */
    this.socket = null;
    this.connection = "connecting"; // connecting | connected | reconnecting | refused
    this.epoch = 0; // bumped on every connect: answers for an older connection are dropped
    this.ready = false; // hello answered on this connection
    this.me = null;
    this.known = new Map(); // conversation id -> newest Chat seen
    this.mine = new Set(); // ids of the open chats assigned to me
    this.queue = [];
    this.queueTotal = 0;
    this.agents = [];
    this.canned = [];
    this.workgroups = [];
    this.topics = {};
    this.dispositions = DEFAULT_DISPOSITIONS;
    /** @type {{assistant_name?: string} | null} who runs the chat (the `center` of the hello ack) */
    this.center = null;
    this.transcripts = new Map();
    this.loading = new Map(); // conversation id -> the open request in flight
    this.outbox = []; // replies not yet acknowledged, oldest first
    this.flushing = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} sends the outbox again after a rate_limited */
    this.flushTimer = undefined;
    /** @type {{id: number | null, on: boolean, sentAt: number, timer: ReturnType<typeof setTimeout> | undefined}} */
    this.typing = { id: null, on: false, sentAt: 0, timer: undefined };
    this.inbox = new Map(); // left message id -> newest Left message seen
    this.inboxLoaded = false; // the open ones were listed once
    this.inboxRequests = 0; // `inbox` requests out
    this.inboxLive = new Set(); // ids an event updated while a list was out: the event is newer
    this.requests = new Map(); // service request number -> newest Request seen
    this.catalogue = null; // {topics, statuses, departments}: what requests can be filed
  }

  get isSupervisor() {
    return this.me?.role === "supervisor" || this.me?.role === "admin";
  }

  /** The assistant's name, from the knowledge base's center.toml (hello's `center`). */
  get assistantName() {
    const name = this.center?.assistant_name;
    return typeof name === "string" && name.trim() ? name.trim() : "Assistant";
  }

  // --- connection ----------------------------------------------------------------------

  /** Open the connection; socket.io-client then reconnects by itself. */
  connect() {
    if (this.socket) return;
    // WebSocket first: its handshake always carries the Origin the server checks (a browser's
    // same-origin polling GET carries none); long-polling remains the fallback.
    const socket = this.openSocket(`${this.origin}/agent`, {
      autoConnect: false,
      withCredentials: true,
      transports: ["websocket", "polling"],
      tryAllTransports: true,
    });
    this.socket = socket;
    onBackOnline(socket);
    socket.on("connect", () => this._onConnect());
    socket.on("disconnect", (reason) => {
      this.ready = false;
      this.typing.on = false;
      for (const entry of this.outbox) if (entry.state === "sending") entry.state = "pending";
      this._setConnection("reconnecting");
      // The server closed the connection on purpose: socket.io-client will not retry by itself.
      if (reason === "io server disconnect") setTimeout(() => socket.connect(), HELLO_RETRY_MS);
    });
    socket.on("connect_error", (err) => {
      // Not active: the server refused us (signed out, session expired), it is not the network.
      if (!socket.active) {
        this.refusal = String(err?.message || "");
        this._setConnection("refused");
      }
    });
    socket.on("me", (agent) => {
      if (!isObject(agent)) return;
      this.me = agent;
      this.emit("me", agent);
    });
    socket.on("queue", (payload) => this._applyQueue(payload?.queue, payload?.total));
    socket.on("agents", (payload) => {
      if (!Array.isArray(payload?.agents)) return;
      this.agents = payload.agents.filter(isObject);
      this.emit("agents", this.agents);
      // My own row is as new as a `me` event (the server may send only this on a new chat).
      const mine = this.me && this.agents.find((a) => a.id === this.me.id);
      if (mine) {
        this.me = { ...this.me, ...mine };
        this.emit("me", this.me);
      }
    });
    socket.on("assigned", (payload) => {
      if (!isChat(payload?.conversation)) return;
      this._applyChat(payload.conversation);
      this.emit("assigned", payload);
      this.load(payload.conversation.id);
    });
    socket.on("unassigned", (payload) => {
      const id = payload?.conversation_id;
      if (!Number.isInteger(id)) return;
      this.mine.delete(id);
      this.emit("chats");
      this.emit("unassigned", payload);
    });
    socket.on("message", (m) => {
      if (isMessage(m)) this._mergeMessages(m.conversation_id, [m], true);
    });
    socket.on("typing", (payload) => {
      if (isObject(payload) && Number.isInteger(payload.conversation_id)) this.emit("typing", payload);
    });
    socket.on("read", (payload) => this._onRead(payload));
    socket.on("resident_presence", (payload) => {
      const chat = this.known.get(payload?.conversation_id);
      if (!chat || !Object.hasOwn(RESIDENT_PRESENCE, payload.presence)) return;
      this._applyChat({ ...chat, resident_presence: payload.presence });
      // A resident who is no longer there is not typing (their closed tab cannot say so).
      if (payload.presence !== "online") {
        this.emit("typing", { conversation_id: chat.id, author_kind: "resident", author_name: chat.resident?.name, typing: false });
      }
    });
    socket.on("note", (note) => {
      if (isObject(note) && Number.isInteger(note.conversation_id)) this._mergeNotes(note.conversation_id, [note]);
    });
    socket.on("conversation", (chat) => {
      if (isChat(chat)) this._applyChat(chat);
    });
    // Not in the protocol yet: if the server ever tells everyone about canned changes, use it.
    socket.on("canned", (payload) => {
      if (Array.isArray(payload?.canned)) this._setCanned(payload.canned);
    });
    socket.on("inbox_item", (item) => {
      if (isLeftMessage(item)) this._applyLeftMessage(item, true);
    });
    socket.on("request", (request) => {
      if (isRequest(request)) this._applyRequest(request, true);
    });
    socket.connect();
  }

  _setConnection(state) {
    this.connection = state;
    this.emit("connection", state);
  }

  _onConnect() {
    const epoch = ++this.epoch;
    this._setConnection("connected");
    this._hello(epoch);
  }

  async _hello(epoch) {
    const ack = await this.ask("hello", {});
    if (epoch !== this.epoch) return;
    if (!ack.ok) {
      this.emit("problem", `The pane could not load: ${ack.error.message} Retrying…`);
      setTimeout(() => {
        if (epoch === this.epoch && this.socket.connected) this._hello(epoch);
      }, HELLO_RETRY_MS);
      return;
    }
    this.emit("problem", null);
    if (isObject(ack.me)) this.me = ack.me;
    if (Array.isArray(ack.canned)) this.canned = ack.canned.filter(isObject);
    if (Array.isArray(ack.workgroups)) this.workgroups = ack.workgroups.filter((w) => typeof w === "string");
    if (isObject(ack.topics)) this.topics = ack.topics;
    if (isObject(ack.dispositions) && Object.keys(ack.dispositions).length) this.dispositions = ack.dispositions;
    if (isObject(ack.center)) this.center = ack.center;
    setTimeZone(ack.timezone);
    if (Array.isArray(ack.agents)) this.agents = ack.agents.filter(isObject);
    const chats = Array.isArray(ack.chats) ? ack.chats.filter(isChat) : [];
    this.mine = new Set();
    for (const chat of chats) this._remember(chat);
    for (const chat of chats) if (this._isMine(this.known.get(chat.id))) this.mine.add(chat.id);
    this._applyQueue(ack.queue, ack.queue_total, false);
    this.ready = true;
    this.emit("ready");
    this.emit("me", this.me);
    this.emit("agents", this.agents);
    this.emit("canned", this.canned);
    this.emit("queue");
    this.emit("chats");
    this.loadInbox(INBOX_OPEN); // the counts in the inbox's tab; not waited for
    // Catch up on every chat of mine (unread counts, replies sent while away), then resend.
    await Promise.all([...this.mine].map((id) => this.load(id)));
    if (epoch === this.epoch) this._flush();
  }

  /**
   * Emit with an ack; always resolve to an ack-shaped object, transport errors included.
   * @returns {Promise<import("../shared/socket.js").Ack>}
   */
  async ask(event, payload) {
    const ack = await ask(this.socket, event, payload, "The pane is offline. It reconnects by itself; please try again then.");
    const wait = ack.ok ? null : waitOf(ack.error);
    if (ack.ok || wait === null) return ack;
    // The service's "Too many agent events" is its own wording: say what to do instead.
    const seconds = Math.ceil(wait);
    const message = `Too many actions in a short time. Try again in ${seconds} second${seconds === 1 ? "" : "s"}.`;
    return { ok: false, error: { ...ack.error, message } };
  }

  // --- state ---------------------------------------------------------------------------

  chat(id) {
    return this.known.get(id) || null;
  }

  transcript(id) {
    if (!this.transcripts.has(id)) this.transcripts.set(id, new Transcript(id));
    return this.transcripts.get(id);
  }

  /** My open chats, oldest assignment first. */
  myChats() {
    return [...this.mine]
      .map((id) => this.known.get(id))
      .filter(Boolean)
      .sort((a, b) => (parseTime(a.assigned_at) || 0) - (parseTime(b.assigned_at) || 0) || a.id - b.id);
  }

  /** Messages from the resident after what staff have read (known exactly once loaded). */
  unread(id) {
    const chat = this.known.get(id);
    if (!chat) return 0;
    const readSeq = chat.read?.staff || 0;
    const t = this.transcripts.get(id);
    if (!t || !t.loaded) return Math.max(0, (chat.last_seq || 0) - readSeq);
    let n = 0;
    for (const m of t.messages.values()) if (m.author_kind === "resident" && m.seq > readSeq) n++;
    return n;
  }

  isMineOpen(id) {
    return this.mine.has(id);
  }

  _isMine(chat) {
    return Boolean(
      chat && this.me && chat.status === "open" && chat.stage === "agent" && chat.assigned && chat.assigned.id === this.me.id,
    );
  }

  /** Keep the newest copy of a Chat; read marks never go down. */
  _remember(chat) {
    const old = this.known.get(chat.id);
    let next = chat;
    if (old && parseTime(old.updated_at) > parseTime(chat.updated_at)) next = old;
    const read = {
      staff: Math.max(old?.read?.staff || 0, chat.read?.staff || 0),
      resident: Math.max(old?.read?.resident || 0, chat.read?.resident || 0),
    };
    const lastSeq = Math.max(old?.last_seq || 0, chat.last_seq || 0);
    next = { ...next, read, last_seq: lastSeq };
    this.known.set(chat.id, next);
    const t = this.transcripts.get(chat.id);
    if (t) t.residentRead = Math.max(t.residentRead, read.resident);
    return next;
  }

  _applyChat(chat) {
    const stored = this._remember(chat);
    const wasMine = this.mine.has(chat.id);
    if (this._isMine(stored)) this.mine.add(chat.id);
    else this.mine.delete(chat.id);
    this.emit("chat", stored);
    if (wasMine || this.mine.has(chat.id)) this.emit("chats");
  }

  _applyQueue(queue, total, announce = true) {
    if (!Array.isArray(queue)) return;
    this.queue = queue.filter(isChat);
    this.queueTotal = Number.isInteger(total) ? total : this.queue.length;
    for (const entry of this.queue) this._remember(entry);
    if (announce) this.emit("queue");
  }

  _setCanned(list) {
    this.canned = list.filter(isObject).sort((a, b) => String(a.shortcut).localeCompare(String(b.shortcut)));
    this.emit("canned", this.canned);
  }

  /** Add messages not seen yet (dedupe by conversation and seq). */
  _mergeMessages(id, list, live = false) {
    if (!Array.isArray(list)) return [];
    const t = this.transcript(id);
    const fresh = list
      .filter((m) => isMessage(m) && m.conversation_id === id && !t.messages.has(m.seq))
      .sort((a, b) => a.seq - b.seq);
    if (!fresh.length) return fresh;
    for (const m of fresh) {
      t.messages.set(m.seq, m);
      t.lastSeq = Math.max(t.lastSeq, m.seq);
      // Our own reply came back (ack lost, then replayed by open): it is delivered.
      const i = m.client_id ? this.outbox.findIndex((e) => e.client_id === m.client_id) : -1;
      if (i >= 0) {
        const [entry] = this.outbox.splice(i, 1);
        entry.state = "sent";
        this.emit("pending", entry);
      }
    }
    const chat = this.known.get(id);
    if (chat && t.lastSeq > (chat.last_seq || 0)) this.known.set(id, { ...chat, last_seq: t.lastSeq });
    this.emit("messages", id, fresh, live);
    if (this.mine.has(id)) this.emit("chats");
    return fresh;
  }

  /**
   * Add notes not seen yet (dedupe by id). One note can come several ways: a transfer note
   * reaches the receiving agent as a `note` event (to them, and again to the chat's viewers)
   * and in the `open` ack that follows `assigned`; my own note in its ack and as an event.
   */
  _mergeNotes(id, list) {
    if (!Array.isArray(list)) return;
    const t = this.transcript(id);
    const fresh = [];
    for (const note of list) {
      if (!isObject(note) || !Number.isInteger(note.id) || note.conversation_id !== id || t.notes.has(note.id)) continue;
      t.notes.set(note.id, note);
      fresh.push(note);
    }
    if (fresh.length) this.emit("notes", id, fresh);
  }

  _onRead(payload) {
    if (!isObject(payload) || !Number.isInteger(payload.conversation_id) || !Number.isInteger(payload.seq)) return;
    const id = payload.conversation_id;
    const chat = this.known.get(id);
    if (payload.reader === "resident") {
      const t = this.transcript(id);
      t.residentRead = Math.max(t.residentRead, payload.seq);
      if (chat) this.known.set(id, { ...chat, read: { ...chat.read, resident: Math.max(chat.read?.resident || 0, payload.seq) } });
      this.emit("seen", id, t.residentRead);
    } else if (payload.reader === "staff" && chat) {
      // Read in another tab of mine (or by a colleague viewing it).
      this.known.set(id, { ...chat, read: { ...chat.read, staff: Math.max(chat.read?.staff || 0, payload.seq) } });
      this.emit("chats");
    }
  }

  // --- loading conversations -----------------------------------------------------------

  /** Open a conversation: its transcript, notes, earlier chats and suggested articles. */
  load(id) {
    if (this.loading.has(id)) return this.loading.get(id);
    const request = this.ask("open", { conversation_id: id }).then((ack) => {
      this.loading.delete(id);
      if (!ack.ok) return ack;
      const t = this.transcript(id);
      if (isChat(ack.conversation)) this._applyChat(ack.conversation);
      t.earlier = Array.isArray(ack.earlier) ? ack.earlier.filter(isChat) : [];
      if (Array.isArray(ack.suggestions)) t.suggestions = ack.suggestions.filter(isObject);
      t.hasMore = Boolean(ack.has_more);
      t.rating = isObject(ack.rating) ? ack.rating : null;
      const wasLoaded = t.loaded;
      t.loaded = true;
      this._mergeNotes(id, ack.notes);
      this._mergeMessages(id, ack.messages, false);
      if (!wasLoaded) this.emit("chats");
      this.emit("loaded", id);
      return ack;
    });
    this.loading.set(id, request);
    return request;
  }

  /** Stop receiving a conversation's live events (one that is not mine, left by the view). */
  closeView(id) {
    if (this.mine.has(id)) return;
    this.ask("close_view", { conversation_id: id });
  }

  // --- acting on conversations ---------------------------------------------------------

  async _chatAction(event, payload) {
    const ack = await this.ask(event, payload);
    if (ack.ok && isChat(ack.conversation)) this._applyChat(ack.conversation);
    return ack;
  }

  accept(id) {
    return this._chatAction("accept", { conversation_id: id });
  }

  transfer(id, target, note) {
    return this._chatAction("transfer", { conversation_id: id, ...target, note });
  }

  close(id, disposition) {
    return this._chatAction("close", { conversation_id: id, disposition });
  }

  reassign(id, staffId) {
    return this._chatAction("reassign", { conversation_id: id, to_staff_id: staffId });
  }

  /** The open chats an agent holds (a supervisor may ask about anyone, an agent about themselves). */
  /** Email a chat's transcript to its resident (nothing is sent twice in a few minutes). */
  emailTranscript(id) {
    return this.ask("transcript", { conversation_id: id });
  }

  /** The residents' ratings of the last `days` days, by agent, and the newest (supervisors). */
  ratings(days = 30) {
    return this.ask("ratings", { days });
  }

  async agentChats(staffId) {
    const ack = await this.ask("agent_chats", { staff_id: staffId });
    if (!ack.ok) return ack;
    const chats = Array.isArray(ack.chats) ? ack.chats.filter(isChat) : [];
    for (const chat of chats) this._remember(chat); // names for dialogs, "With Maria"…
    return { ...ack, chats };
  }

  async addNote(id, text) {
    const ack = await this.ask("note", { conversation_id: id, text });
    if (ack.ok && isObject(ack.note)) this._mergeNotes(id, [ack.note]);
    return ack;
  }

  async setStatus(status) {
    const ack = await this.ask("status", { status });
    if (ack.ok && isObject(ack.me)) {
      this.me = ack.me;
      this.emit("me", this.me);
    }
    return ack;
  }

  search(query) {
    return this.ask("search", { query });
  }

  async suggest(id) {
    const ack = await this.ask("suggest", { conversation_id: id });
    if (ack.ok && Array.isArray(ack.suggestions)) {
      this.transcript(id).suggestions = ack.suggestions.filter(isObject);
      this.emit("suggestions", id);
    }
    return ack;
  }

  async saveCanned(fields) {
    const ack = await this.ask("canned_save", fields);
    if (!ack.ok) return ack;
    if (Array.isArray(ack.canned)) this._setCanned(ack.canned);
    else if (isObject(ack.canned)) this._setCanned([...this.canned.filter((c) => c.id !== ack.canned.id), ack.canned]);
    return ack;
  }

  async deleteCanned(id) {
    const ack = await this.ask("canned_delete", { id });
    if (ack.ok) this._setCanned(this.canned.filter((c) => c.id !== id));
    return ack;
  }

  // --- the after-hours inbox -----------------------------------------------------------

  /** Left messages in the given statuses, soonest reply due first (as the server sorts). */
  inboxItems(statuses = INBOX_OPEN) {
    return [...this.inbox.values()]
      .filter((m) => statuses.includes(m.status))
      .sort((a, b) => (parseTime(a.reply_due) || 0) - (parseTime(b.reply_due) || 0) || a.id - b.id);
  }

  /** How many left messages are open, and how many of those are overdue now. */
  inboxCounts(nowMs = Date.now()) {
    const open = this.inboxItems(INBOX_OPEN);
    return { open: open.length, overdue: open.filter((m) => isOverdue(m, nowMs)).length };
  }

  /** Ask for the left messages in `statuses`; what was known in them is replaced. */
  async loadInbox(statuses = INBOX_OPEN) {
    this.inboxRequests += 1;
    const ack = await this.ask("inbox", { statuses });
    this.inboxRequests -= 1;
    const live = this.inboxLive;
    if (!this.inboxRequests) this.inboxLive = new Set();
    if (!ack.ok) {
      this.emit("inbox");
      return ack;
    }
    const items = Array.isArray(ack.messages) ? ack.messages.filter(isLeftMessage) : [];
    const listed = new Set(items.map((m) => m.id));
    if (items.length < INBOX_LIMIT) {
      // Gone from these statuses while we were away (answered, closed in another tab…).
      for (const [id, item] of this.inbox) {
        if (statuses.includes(item.status) && !listed.has(id) && !live.has(id)) this.inbox.delete(id);
      }
    }
    for (const item of items) if (!live.has(item.id)) this.inbox.set(item.id, item);
    if (INBOX_OPEN.every((s) => statuses.includes(s))) this.inboxLoaded = true;
    this.emit("inbox");
    return ack;
  }

  /** Keep a left message from an event or an ack; tell the views what it was before. */
  _applyLeftMessage(item, live) {
    const before = this.inbox.get(item.id) || null;
    this.inbox.set(item.id, item);
    if (this.inboxRequests) this.inboxLive.add(item.id);
    this.emit("inbox_item", item, before, live);
    this.emit("inbox");
  }

  async _inboxAction(event, payload) {
    const ack = await this.ask(event, payload);
    if (ack.ok && isLeftMessage(ack.message)) this._applyLeftMessage(ack.message, false);
    return ack;
  }

  claimMessage(id) {
    return this._inboxAction("inbox_claim", { id });
  }

  replyToMessage(id, text) {
    return this._inboxAction("inbox_reply", { id, text });
  }

  /** "new" (put it back, unowned), "closed" or "spam". */
  setMessageStatus(id, status) {
    return this._inboxAction("inbox_status", { id, status });
  }

  // --- service requests ----------------------------------------------------------------

  /** Keep a request from an event or an ack (the newest change wins); tell the views. */
  _applyRequest(request, live) {
    const before = this.requests.get(request.number) || null;
    // Every change adds to the history, so the longer history is the newer copy.
    const length = (r) => (Array.isArray(r.history) ? r.history.length : 0);
    const newer =
      !before ||
      length(request) > length(before) ||
      (length(request) === length(before) && !(parseTime(request.updated_at) < parseTime(before.updated_at)));
    if (newer) this.requests.set(request.number, request);
    this.emit("request", newer ? request : before, before, live);
    return newer ? request : before;
  }

  _keepCatalogue(ack) {
    if (Array.isArray(ack.topics) && isObject(ack.statuses) && Array.isArray(ack.departments)) {
      const catalogue = {
        topics: ack.topics.filter((t) => isObject(t) && typeof t.code === "string" && Array.isArray(t.fields)),
        statuses: ack.statuses,
        departments: ack.departments.filter((d) => typeof d === "string"),
      };
      // The knowledge base reloads when edited: tell the views only when something changed.
      if (JSON.stringify(catalogue) === JSON.stringify(this.catalogue)) return;
      this.catalogue = catalogue;
      this.emit("catalogue", this.catalogue);
    }
  }

  /** The request topics with their fields, the statuses and departments (asked for once). */
  async requestCatalogue() {
    if (this.catalogue) return { ok: true, ...this.catalogue };
    const ack = await this.ask("request_topics", {});
    if (ack.ok) this._keepCatalogue(ack);
    return ack;
  }

  /** What a request form for a chat starts from: topic, suggested values, the resident. */
  async requestPrefill(conversationId, serviceCode = null) {
    const payload = { conversation_id: conversationId };
    if (serviceCode) payload.service_code = serviceCode;
    const ack = await this.ask("request_prefill", payload);
    if (ack.ok) this._keepCatalogue(ack);
    return ack;
  }

  async createRequest(conversationId, serviceCode, values, clientId, photoIds = []) {
    const ack = await this.ask("request_create", {
      conversation_id: conversationId,
      service_code: serviceCode,
      values,
      client_id: clientId,
      photo_ids: photoIds,
    });
    if (ack.ok && isMessage(ack.message)) this._mergeMessages(conversationId, [ack.message]);
    if (ack.ok && isRequest(ack.request)) ack.request = this._applyRequest(ack.request, false);
    return ack;
  }

  /** A page of requests: filters {status, statuses, department, service_code, start, end, page}. */
  async listRequests(filters) {
    const ack = await this.ask("requests", filters);
    if (!ack.ok) return ack;
    const requests = (Array.isArray(ack.requests) ? ack.requests : []).filter(isRequest);
    return { ...ack, requests: requests.map((r) => this._applyRequest(r, false)) };
  }

  async getRequest(number) {
    const ack = await this.ask("request", { number });
    if (ack.ok && isRequest(ack.request)) ack.request = this._applyRequest(ack.request, false);
    return ack;
  }

  /** {number, status, note, public, referred_to?, next_steps?} */
  async changeRequestStatus(change) {
    const ack = await this.ask("request_status", change);
    if (ack.ok && isRequest(ack.request)) ack.request = this._applyRequest(ack.request, false);
    return ack;
  }

  // --- replies -------------------------------------------------------------------------

  /** Send a reply; it shows at once and is retried with the same client_id after a drop. */
  send(id, text) {
    const entry = { conversation_id: id, client_id: newClientId(), text, state: "pending", error: null, waiting: false };
    this.outbox.push(entry);
    this.stopTyping();
    this.emit("pending", entry);
    this._flush();
    return entry;
  }

  async _flush() {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.ready) {
        const entry = this.outbox.find((e) => e.state === "pending");
        if (!entry || entry.waiting) break;
        entry.state = "sending";
        this.emit("pending", entry);
        const ack = await this.ask("message", {
          conversation_id: entry.conversation_id,
          client_id: entry.client_id,
          text: entry.text,
        });
        if (ack.ok) {
          const i = this.outbox.indexOf(entry);
          if (i >= 0) this.outbox.splice(i, 1);
          entry.state = "sent";
          if (isMessage(ack.message)) {
            entry.seq = ack.message.seq;
            this._mergeMessages(entry.conversation_id, [ack.message]);
          }
          this.emit("pending", entry);
          continue;
        }
        if (!this.outbox.includes(entry)) continue; // delivered through open meanwhile
        const wait = waitOf(ack.error);
        if (wait !== null) {
          // Too many at once: the reply waits (it says so), then goes by itself.
          entry.state = "pending";
          entry.waiting = true;
          this.emit("pending", entry);
          clearTimeout(this.flushTimer);
          this.flushTimer = setTimeout(() => {
            entry.waiting = false;
            this._flush();
          }, wait * 1000);
          break;
        }
        if (TRANSIENT.has(ack.error.code)) {
          entry.state = "pending"; // sent again after the next hello
          this.emit("pending", entry);
          break;
        }
        this.outbox.splice(this.outbox.indexOf(entry), 1);
        entry.state = "failed";
        entry.error = ack.error.message;
        this.emit("pending", entry);
      }
    } finally {
      this.flushing = false;
    }
  }

  // --- typing and read receipts --------------------------------------------------------

  /** Call on every keystroke in a conversation's composer. */
  noteTyping(id) {
    const typing = this.typing;
    if (typing.id !== id) this.stopTyping();
    typing.id = id;
    const now = Date.now();
    if (!typing.on || now - typing.sentAt >= TYPING_REPEAT_MS) {
      typing.on = true;
      typing.sentAt = now;
      this.ask("typing", { conversation_id: id, typing: true });
    }
    clearTimeout(typing.timer);
    typing.timer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    const typing = this.typing;
    clearTimeout(typing.timer);
    if (typing.on && typing.id !== null) this.ask("typing", { conversation_id: typing.id, typing: false });
    typing.on = false;
  }

  /** Tell the server I have seen everything shown of a chat of mine. */
  async markRead(id) {
    const chat = this.known.get(id);
    const t = this.transcripts.get(id);
    if (!chat || !t || !this.mine.has(id)) return;
    const before = chat.read?.staff || 0;
    if (t.lastSeq <= before) return;
    const seq = t.lastSeq;
    this.known.set(id, { ...chat, read: { ...chat.read, staff: seq } });
    this.emit("chats");
    const ack = await this.ask("read", { conversation_id: id, seq });
    const now = this.known.get(id);
    if (!now) return;
    if (!ack.ok && (now.read?.staff || 0) === seq) {
      // Not stored: count them as unread again, so the receipt goes out next time.
      this.known.set(id, { ...now, read: { ...now.read, staff: before } });
      this.emit("chats");
    }
  }
}
