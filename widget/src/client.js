// @ts-check
// The resident side of the protocol (docs/protocol/resident.md): one Socket.IO connection, the
// conversation token, the messages seen so far (by seq) and the outbox of messages not yet
// acknowledged. It knows nothing about the DOM; the view listens to its events.

import { errorText } from "./errors.js";
import { language, t, tn } from "./shared/i18n.js";
import { io } from "socket.io-client";
import { ACK_TIMEOUT_MS, ask, failure, onBackOnline, toAck, waitOf } from "./shared/socket.js";
import { Emitter } from "./shared/emitter.js";
import { newClientId } from "./shared/ids.js";

/** @typedef {import("./shared/socket.js").OpenSocket} OpenSocket */
/** @typedef {import("./storage.js").Store} Store */
/**
 * A message not acknowledged yet, as the view shows it.
 * @typedef {{client_id: string, text: string, created_at: string, state: string, error?: string}} OutboxEntry
 */

const TYPING_REPEAT_MS = 2000; // resend typing:true at most this often while typing
const TYPING_IDLE_MS = 3000; // then typing:false after this long without a keystroke
const RETRY_MIN_MS = 2000;
const RETRY_MAX_MS = 30000;
const JOIN_WAIT_MS = 5000; // a message left from a chat waits this long for the chat's resume
// A start with no answer in time is sent again (the same client id finds its chat) this often.
const START_TIMEOUTS = 2;

// Errors worth retrying with the same client_id: the message may or may not have reached the
// server, and the server dedupes. Anything else is final for that message.
const TRANSIENT = new Set(["timeout", "disconnected", "not_in_conversation", "unavailable", "internal_error"]);

/** A `hours` answer (ack or event) that offers the "Leave Us A Message!" form, or null. */
function offerOf(hours) {
  return hours && typeof hours === "object" && hours.leave_message && hours.leave_message.offered === true ? hours : null;
}

/**
 * A refusal to slow down, in words for residents ("Too many message events" is the service's).
 * The forms and the composer say more (limit.js); this is for the rest (ending a chat).
 * @param {import("./shared/socket.js").Failure} ack
 * @returns {import("./shared/socket.js").Failure}
 */
function inResidentWords(ack) {
  const wait = waitOf(ack.error);
  if (wait === null) return ack;
  const seconds = Math.ceil(wait);
  const message =
    seconds <= 90
      ? tn("You're doing that quickly. Please try again in 1 second.", "You're doing that quickly. Please try again in {count} seconds.", seconds)
      : tn("You're doing that quickly. Please try again in 1 minute.", "You're doing that quickly. Please try again in {count} minutes.", Math.ceil(seconds / 60));
  return { ok: false, error: { ...ack.error, message } };
}

function isMessage(m) {
  return m && typeof m === "object" && Number.isInteger(m.seq) && typeof m.text === "string";
}

export class ChatClient extends Emitter {
  /**
   * @param {string} server the chat service's origin
   * @param {Store} store where the token and the unsent messages survive a reload
   * @param {OpenSocket} [openSocket] opens the connection (socket.io-client's `io`; tests pass a fake)
   */
  constructor(server, store, openSocket = io) {
    super();
    this.openSocket = openSocket;
    this.server = server;
    this.store = store;
    /** @type {any} socket.io-client's Socket, once connect() was called */
    this.socket = null;
    this.connection = "idle"; // idle | connecting | connected | reconnecting | unavailable
    this.epoch = 0; // bumped on every connect and reset: stale async work checks it and stops
    this.joined = false; // this connection has started or resumed the conversation
    this.linking = false; // a link from our email is being exchanged: no resume meanwhile
    this.token = store.get("token");
    const saved = store.getJSON("pending", []);
    /** @type {OutboxEntry[]} */
    this.outbox = this.token && Array.isArray(saved) ? saved.filter((e) => e && e.client_id && typeof e.text === "string") : [];
    for (const entry of this.outbox) entry.state = "pending";
    if (!this.token) {
      store.remove("pending");
      store.remove("draft");
    }
    /** @type {Map<number, any>} seq -> Message */
    this.messages = new Map();
    this.lastSeq = 0;
    /** @type {any} */
    this.conversation = null;
    /** @type {{position: number} | null} */
    this.queue = null;
    /** @type {any} */
    this.offer = null;
    this.offerSeq = 0;
    this.forgotten = false; // the resident ended the chat: it is no longer kept on this browser
    /** @type {{chat_name?: string} | null} who runs the chat (the `center` of start and resume acks) */
    this.center = null;
    this.readSeq = 0;
    this.serverReadSeq = 0;
    this.staffReadSeq = 0;
    this._clearConversation();
    // The offer to leave a message survives a reload; the resume checks it is still valid.
    const offer = this.token ? store.getJSON("offer", null) : null;
    if (offer && typeof offer === "object") {
      this.offer = offerOf(offer.hours);
      this.offerSeq = Number.isInteger(offer.after_seq) ? offer.after_seq : 0;
    }
    if (!this.offer) store.remove("offer");
    this.flushing = false;
    this.flushAgain = false;
    this.retryDelay = RETRY_MIN_MS;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.retryTimer = undefined;
    // The service said "rate_limited" to a message: the outbox waits until then (ms), and
    // is sent again by itself.
    this.limitedUntil = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.limitTimer = undefined;
    this.typingOn = false;
    this.typingSentAt = 0;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.typingIdleTimer = undefined;
  }

  // --- state ---------------------------------------------------------------------------

  get hasConversation() {
    return Boolean(this.token);
  }

  get ended() {
    return this.conversation?.status === "ended";
  }

  /** Messages wait: the service asked us to slow down (see `limit` events). */
  get limited() {
    return this.limitedUntil > Date.now();
  }

  /** What the resident typed in the composer and has not sent: it follows them to other pages. */
  get draft() {
    return (this.token && this.store.get("draft")) || "";
  }

  saveDraft(text) {
    if (this.token && text.trim()) this.store.set("draft", text);
    else this.store.remove("draft");
  }

  /** Messages from the city (assistant, agent, system) the resident has not read yet. */
  unreadCount() {
    let n = 0;
    for (const m of this.messages.values()) if (m.author_kind !== "resident" && m.seq > this.readSeq) n++;
    return n;
  }

  _clearConversation() {
    this.messages = new Map();
    this.lastSeq = 0;
    this.conversation = null;
    this.queue = null;
    this.offer = null; // the latest `hours` answer offering to leave a message instead of waiting
    this.offerSeq = 0; // the seq of the newest message when it was first offered
    this.readSeq = 0; // highest seq the resident has seen
    this.serverReadSeq = 0; // highest seq the server knows the resident has read
    this.staffReadSeq = 0;
  }

  _setConnection(state) {
    this.connection = state;
    this.emit("connection", state);
  }

  _saveOutbox() {
    if (this.outbox.length) {
      this.store.setJSON(
        "pending",
        this.outbox.map(({ client_id, text, created_at }) => ({ client_id, text, created_at })),
      );
    } else {
      this.store.remove("pending");
    }
  }

  // --- connection ----------------------------------------------------------------------

  /** Open the connection (once); socket.io-client then reconnects by itself. */
  connect() {
    if (this.socket) return;
    const socket = this.openSocket(`${this.server}/resident`, { autoConnect: false });
    this.socket = socket;
    // Back online: reconnect now rather than when the backoff timer (up to 5 s) says so.
    onBackOnline(socket);
    socket.on("connect", () => this._onConnect());
    socket.on("disconnect", (reason) => this._onDisconnect(reason));
    socket.on("connect_error", () => {
      // Not active: the server refused us (not a network problem); it will not retry.
      if (!socket.active) this._setConnection("unavailable");
    });
    socket.on("message", (m) => this._merge([m]));
    socket.on("typing", (p) => {
      if (p && p.author_kind !== "resident") this.emit("typing", p);
    });
    socket.on("read", (p) => this._onRead(p));
    socket.on("conversation", (c) => this._applyConversation(c));
    socket.on("queue", (q) => this._applyQueue(q));
    socket.on("hours", (h) => {
      if (this.conversation && !this.ended) this._applyOffer(h);
    });
    // The agent sees whether the resident is there: online, away (this tab hidden) or left.
    if (typeof document !== "undefined") {
      document.addEventListener("visibilitychange", () => {
        if (!tabShown()) this.stopTyping(); // nobody types in a hidden tab
        if (this.joined && !this.ended) this._ask("visibility", { visible: tabShown() });
      });
    }
    this._setConnection("connecting");
    socket.connect();
  }

  _onConnect() {
    const epoch = ++this.epoch;
    this.joined = false;
    this.retryDelay = RETRY_MIN_MS;
    this._setConnection("connected");
    // Socket.IO replays nothing that happened while we were away: resume does, on every connect.
    if (this.token && !this.linking) this._resumeThenFlush(epoch);
  }

  _onDisconnect(reason) {
    this.joined = false;
    this.typingOn = false;
    clearTimeout(this.retryTimer);
    for (const entry of this.outbox) entry.state = "pending";
    this._setConnection("reconnecting");
    // The server closed this connection on purpose: socket.io-client will not retry on its own.
    if (reason === "io server disconnect") setTimeout(() => this.socket.connect(), RETRY_MIN_MS);
  }

  /** Wait until connected, up to `ms`; resolve true if connected. */
  _whenConnected(ms) {
    if (this.socket?.connected) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok) => {
        clearTimeout(timer);
        this.socket.off("connect", onConnect);
        resolve(ok);
      };
      const onConnect = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      this.socket.on("connect", onConnect);
    });
  }

  /** Connected, and the browser does not know it is offline (a socket notices a little later). */
  _online() {
    return Boolean(this.socket?.connected) && (typeof navigator === "undefined" || navigator.onLine !== false);
  }

  /**
   * Wait, however long it takes, until `_online()`; resolve false if the service refuses us
   * (the socket then stops trying).
   * @returns {Promise<boolean>}
   */
  _untilOnline() {
    return new Promise((resolve) => {
      const check = () => {
        // A fresh connection is proof enough of a network, whatever navigator.onLine says.
        const state = this.connection;
        if (state === "unavailable" || state === "connected" || this._online()) {
          this.off("connection", check);
          if (typeof window !== "undefined") window.removeEventListener("online", check);
          resolve(state !== "unavailable");
        }
      };
      this.on("connection", check);
      if (typeof window !== "undefined") window.addEventListener("online", check);
    });
  }

  /** Wait until this connection has started or resumed the conversation, up to `ms`. */
  async _whenJoined(ms) {
    const until = Date.now() + ms;
    while (!this.joined && this.token && Date.now() < until) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return this.joined;
  }

  /**
   * Emit with an ack; always resolve to an ack-shaped object, transport errors included.
   * @returns {Promise<import("./shared/socket.js").Ack>}
   */
  async _ask(event, payload) {
    const ack = await ask(this.socket, event, payload, t("You are offline. Check your connection and try again."));
    return ack.ok ? ack : inResidentWords(ack);
  }

  // --- conversation ------------------------------------------------------------------------

  /**
   * Send the pre-chat form; on success keep the token and the first messages. Offline, the start
   * waits for the connection (a `start` event says "waiting", then "sending") and goes out once
   * it is back, as messages do. A start whose answer was lost (the connection dropped, or no
   * answer in time) may have opened a chat: it is sent again under the same `client_id`, and the
   * server answers with that chat rather than a second one. A caller that keeps the start (across
   * a reload) passes its `client_id` back.
   * @param {{name: string, email: string, question: string, client_id?: string}} values
   */
  async start({ name, email, question, client_id = newClientId() }) {
    this.connect();
    // The resident's language: the conversation's, for the assistant, staff and mail.
    const payload = { name, email, question, client_id, language: language() };
    let timeouts = 0;
    /** @type {import("./shared/socket.js").Ack} */
    let ack;
    for (;;) {
      while (!this._online()) {
        this.emit("start", "waiting");
        if (!(await this._untilOnline())) {
          return failure("unavailable", t("Chat is unavailable right now. Please try again later."));
        }
        if (this.socket.connected) break;
      }
      this.emit("start", "sending");
      ack = await this._ask("start", { ...payload, visible: tabShown() });
      if (ack.ok) break;
      const lost = ack.error.code === "disconnected" || (ack.error.code === "timeout" && ++timeouts <= START_TIMEOUTS);
      if (!lost) return ack;
    }
    if (typeof ack.token !== "string" || !ack.token) {
      return failure("internal_error", t("The chat service sent an unexpected answer."));
    }
    this.token = ack.token;
    this.store.set("token", ack.token);
    this.joined = true;
    this._applyCenter(ack.center);
    this._applyConversation(ack.conversation);
    this._merge(ack.messages);
    // The question asked for a person, and nobody can come soon: offer to leave a message.
    this._applyOffer(ack.hours);
    return ack;
  }

  /** Ask whether a person can chat now (the `hours` ack), connecting first if needed. */
  async hours() {
    this.connect();
    if (!(await this._whenConnected(ACK_TIMEOUT_MS))) {
      return failure("disconnected", t("Cannot reach the chat service. Check your connection and try again."));
    }
    const ack = await this._ask("hours", {});
    // The center, before any chat: whom a resident refused for the day can call instead.
    if (ack.ok) this._applyCenter(ack.center);
    return ack;
  }

  /**
   * Leave a message for the center (the "Leave Us A Message!" form). The caller keeps
   * `client_id` for retries of the same submission: the server then stores it once.
   * Sent from a chat, it ends that chat on the server.
   */
  async leaveMessage(payload) {
    this.connect();
    if (!(await this._whenConnected(ACK_TIMEOUT_MS))) {
      return failure("disconnected", t("Cannot reach the chat service. Check your connection and try again."));
    }
    // From a chat: let this connection rejoin it first, so the message is linked to the chat.
    if (this.token && !this.ended) await this._whenJoined(JOIN_WAIT_MS);
    const token = this.token;
    const ack = await this._ask("leave_message", payload);
    if (ack.ok && token && token === this.token) {
      this._applyOffer(null);
      // The server ended the chat and told its other connections, not this one: catch up.
      if (this.joined) this._resumeThenFlush(this.epoch);
    }
    return ack;
  }

  /**
   * Open the chat a link from our email names (`#chatsvc-resume=<code>`): the code is exchanged,
   * once, for the chat and a fresh token, which replaces whatever this browser kept. On a
   * refusal (used, expired, not ours) nothing changes, and the chat this browser had, if any,
   * comes back as usual.
   * @param {string} code
   */
  async openLink(code) {
    this.linking = true;
    try {
      this.connect();
      if (!(await this._whenConnected(ACK_TIMEOUT_MS))) {
        return failure("disconnected", t("Cannot reach the chat service. Check your connection and try again."));
      }
      const ack = await this._ask("resume_link", { code, visible: tabShown() });
      if (!ack.ok) return ack;
      if (typeof ack.token !== "string" || !ack.token || !ack.conversation) {
        return failure("internal_error", t("The chat service sent an unexpected answer."));
      }
      // Messages waiting to be sent belong to the chat this browser had: kept if it is this one.
      const same = Boolean(this.conversation && this.conversation.id === ack.conversation.id);
      const kept = same ? this.outbox : [];
      const dropped = same ? [] : this.outbox.map((e) => e.text);
      this.epoch++;
      this.token = ack.token;
      this.store.set("token", ack.token);
      this.outbox = kept;
      this._saveOutbox();
      if (!same) {
        this.store.remove("offer");
        this.store.remove("draft");
      }
      this.forgotten = false;
      clearTimeout(this.retryTimer);
      this._endLimit();
      this._clearConversation();
      this.emit("reset", { reason: "link", dropped, resident: null });
      for (const entry of kept) this.emit("pending", entry);
      this.joined = true;
      this._applyQueue(ack.queue);
      this._applyCenter(ack.center);
      this._applyConversation(ack.conversation);
      this._merge(ack.messages);
      return ack;
    } finally {
      this.linking = false;
      // Opened: catch up past the first page and send what waits. Refused: resume as usual.
      if (this.socket?.connected && this.token) this._resumeThenFlush(this.epoch);
    }
  }

  async _resumeThenFlush(epoch) {
    const token = this.token;
    for (;;) {
      const before = this.lastSeq;
      const ack = await this._ask("resume", { token, last_seq: this.lastSeq, visible: tabShown() });
      if (epoch !== this.epoch || token !== this.token) return; // reconnected or reset meanwhile
      if (!ack.ok) {
        const { code } = ack.error;
        // invalid_payload here can only mean the stored token is malformed: as dead as unknown.
        const wait = waitOf(ack.error);
        if (code === "invalid_token" || code === "token_expired" || code === "invalid_payload") {
          this._drop("expired");
        } else if (wait !== null) {
          // Too many reconnects at once: try again when the service says, not sooner.
          this._retryLater(() => this._resumeThenFlush(epoch), epoch, wait * 1000);
        } else if (code !== "disconnected") {
          // Database down or a bug: the connection is fine, so try again a little later.
          this.emit("problem", t("Having trouble reaching the chat service. Retrying…"));
          this._retryLater(() => this._resumeThenFlush(epoch), epoch);
        }
        return;
      }
      this.joined = true;
      this.emit("problem", null);
      this._applyQueue(ack.queue);
      this._applyCenter(ack.center);
      this._applyConversation(ack.conversation);
      this._merge(ack.messages);
      // Guard against a server that says has_more without moving forward.
      if (!ack.has_more || this.lastSeq <= before) break;
    }
    this.retryDelay = RETRY_MIN_MS;
    this._syncRead();
    this._flush();
    // Back in a chat that waits for a person, or that offered to leave a message (after a
    // reload, a reconnect): is that offer (still) right?
    if (!this.ended && (this.offer || this.conversation?.stage === "waiting")) this._checkOffer(epoch, token);
  }

  async _checkOffer(epoch, token) {
    const ack = await this._ask("hours", {});
    if (epoch !== this.epoch || token !== this.token || !ack.ok) return;
    if (!this.ended) this._applyOffer(ack);
  }

  _retryLater(fn, epoch, delay = this.retryDelay) {
    clearTimeout(this.retryTimer);
    this.retryDelay = Math.min(this.retryDelay * 2, RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      if (epoch === this.epoch && this.socket.connected) fn();
    }, delay);
  }

  /** Forget the conversation: "Start a new chat", or the server no longer knows the token. */
  _drop(reason) {
    const dropped = this.outbox.map((e) => e.text);
    this.epoch++;
    this.joined = false;
    this.token = null;
    this.outbox = [];
    this.store.remove("token");
    this.store.remove("pending");
    this.store.remove("offer");
    this.store.remove("draft");
    this._clearConversation();
    clearTimeout(this.retryTimer);
    this._endLimit();
    this.emit("reset", { reason, dropped, resident: null });
  }

  /** The resident chose to start over (after an ended chat). */
  newChat() {
    const resident = this.forgotten ? null : this.conversation?.resident || null;
    this.forgotten = false;
    this._drop("new");
    return resident;
  }

  /**
   * Upload a photo for the request being filed. The file's bytes are the body and the token
   * says whose chat it is; the assistant's next message comes back and is merged.
   */
  async uploadPhoto(file) {
    if (!this.token || this.ended) return failure("not_in_conversation", t("Start a chat first."));
    let response;
    try {
      response = await fetch(`${this.server}/resident/photos`, {
        method: "POST",
        headers: { "X-Chat-Token": this.token, "Content-Type": "application/octet-stream" },
        body: file,
      });
    } catch {
      return failure("disconnected", t("The photo could not be sent. Check your connection and try again."));
    }
    /** @type {any} */
    let body;
    try {
      body = await response.json();
    } catch {
      body = null;
    }
    if (!body || typeof body !== "object") return failure("internal_error", t("The photo could not be sent. Please try again."));
    if (body.ok && Array.isArray(body.messages)) this._merge(body.messages);
    if (body.ok) return body;
    const ack = /** @type {import("./shared/socket.js").Failure} */ (toAck(body));
    // The body says how long to wait; the Retry-After header says it too (when readable).
    const header = Number(response.headers.get("Retry-After"));
    if (ack.error.code === "rate_limited" && ack.error.retry_after === undefined && header > 0) ack.error.retry_after = header;
    return inResidentWords(ack);
  }

  /**
   * A photo sent in this chat, for the resident's own browser to show: fetched with the token
   * (a photo has no public address), as an image Blob; null when it cannot be had (gone, no
   * connection, another chat's).
   * @param {number} photoId
   * @returns {Promise<Blob | null>}
   */
  async photo(photoId) {
    if (!this.token || !Number.isInteger(photoId)) return null;
    try {
      const response = await fetch(`${this.server}/resident/photos/${photoId}`, {
        headers: { "X-Chat-Token": this.token },
        credentials: "omit",
        cache: "no-store",
      });
      if (!response.ok) return null;
      const blob = await response.blob();
      return /^image\/(?:jpeg|png|webp)$/.test(blob.type) ? blob : null;
    } catch {
      return null;
    }
  }

  async end() {
    const ack = await this._ask("end", {});
    if (ack.ok) {
      this._merge(ack.messages);
      this._applyConversation(ack.conversation);
      this._forget();
    }
    return ack;
  }

  /**
   * Email the transcript to the chat's address (or to `email`, for a chat that has none yet).
   * The ended screen asks too: this connection keeps its chat after the end, and a reconnect
   * resumes it with the token kept in memory for this page view.
   * @param {string | null} [email]
   */
  async emailTranscript(email = null) {
    if (this.token && !this.joined) await this._whenJoined(JOIN_WAIT_MS);
    const ack = await this._ask("transcript", email ? { email } : {});
    if (ack.ok && email && this.conversation && !this.conversation.resident?.email) {
      this.conversation = { ...this.conversation, resident: { ...this.conversation.resident, email } };
    }
    return ack;
  }

  /** A person answered this chat: the ended screen asks "How did we do?". */
  get personTookPart() {
    if (this.conversation?.agent) return true;
    for (const m of this.messages.values()) if (m.author_kind === "agent") return true;
    return false;
  }

  /**
   * Rate the ended chat (1 to 5) with an optional comment; once per chat.
   * @param {number} score
   * @param {string} comment
   */
  async rate(score, comment) {
    if (this.token && !this.joined) await this._whenJoined(JOIN_WAIT_MS);
    return this._ask("rate", { score, comment });
  }

  /**
   * The resident ended the chat: forget it on this browser, which may be a shared one. The
   * ended chat stays on screen for this page view (the token is kept in memory only), but a
   * reload or the next person finds a new chat, and its form is not filled with this one's
   * name and email.
   */
  _forget() {
    this.forgotten = true;
    this.store.remove("token");
    this.store.remove("pending");
    this.store.remove("offer");
    this.store.remove("draft");
  }

  /** Our place in line while waiting for a person (null: not known, or not waiting). */
  _applyQueue(queue) {
    this.queue = queue && typeof queue === "object" && Number.isInteger(queue.position) ? queue : null;
    this.emit("queue", this.queue);
  }

  /** Keep who runs the chat (before the messages are shown: it signs the system messages). */
  _applyCenter(center) {
    if (center && typeof center === "object") this.center = center;
  }

  /** Keep (or drop) the offer to leave a message from an `hours` answer. */
  _applyOffer(hours) {
    const offer = offerOf(hours);
    if (!offer && !this.offer) return;
    if (offer && !this.offer) this.offerSeq = this.lastSeq;
    this.offer = offer;
    if (offer) this.store.setJSON("offer", { hours: offer, after_seq: this.offerSeq });
    else this.store.remove("offer");
    this.emit("offer", offer);
  }

  _applyConversation(conversation) {
    if (!conversation || typeof conversation !== "object") return;
    // An older view of the same chat (an ack that left the server before an event that came
    // first, like a start's "waiting" after "Maria joined"): the newer one stands.
    const current = this.conversation;
    if (current && current.id === conversation.id && conversation.last_seq < current.last_seq) return;
    this.conversation = conversation;
    if (conversation.stage !== "waiting") this.queue = null;
    const read = conversation.read || {};
    if (Number.isInteger(read.resident)) {
      this.serverReadSeq = Math.max(this.serverReadSeq, read.resident);
      this.readSeq = Math.max(this.readSeq, read.resident);
    }
    if (Number.isInteger(read.staff)) this.staffReadSeq = Math.max(this.staffReadSeq, read.staff);
    this.emit("conversation", conversation);
    this.emit("staffRead", this.staffReadSeq);
    this.emit("unread", this.unreadCount());
  }

  /** Add messages we have not seen (dedupe by seq): from acks, resume and events alike. */
  _merge(list) {
    if (!Array.isArray(list)) return;
    const fresh = list.filter((m) => isMessage(m) && !this.messages.has(m.seq)).sort((a, b) => a.seq - b.seq);
    if (!fresh.length) return;
    let outboxChanged = false;
    for (const m of fresh) {
      this.messages.set(m.seq, m);
      this.lastSeq = Math.max(this.lastSeq, m.seq);
      // Our own message came back (ack lost, then replayed by resume): it is delivered.
      const i = m.client_id ? this.outbox.findIndex((e) => e.client_id === m.client_id) : -1;
      if (i >= 0) {
        this.outbox.splice(i, 1);
        outboxChanged = true;
      }
      this.emit("message", m);
    }
    if (outboxChanged) this._saveOutbox();
    this.emit("unread", this.unreadCount());
  }

  _onRead(payload) {
    if (!payload || !Number.isInteger(payload.seq)) return;
    if (payload.reader === "staff") {
      this.staffReadSeq = Math.max(this.staffReadSeq, payload.seq);
      this.emit("staffRead", this.staffReadSeq);
    } else if (payload.reader === "resident") {
      // Read in another tab of the same resident.
      this.readSeq = Math.max(this.readSeq, payload.seq);
      this.emit("unread", this.unreadCount());
    }
  }

  // --- sending -----------------------------------------------------------------------------

  /** Queue a message; it is shown at once and sent now or when the connection is back. */
  send(text) {
    const entry = { client_id: newClientId(), text, created_at: new Date().toISOString(), state: "pending" };
    this.outbox.push(entry);
    this._saveOutbox();
    this.emit("pending", entry);
    this.stopTyping();
    this._flush();
    return entry;
  }

  /** Send the outbox in order, one message at a time, while this connection is in the chat. */
  async _flush() {
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    this.flushing = true;
    try {
      while (this.joined && this.socket?.connected && this.outbox.length && !this.limited) {
        const entry = this.outbox[0];
        entry.state = "sending";
        this.emit("pending", entry);
        const ack = await this._ask("message", { client_id: entry.client_id, text: entry.text });
        if (ack.ok) {
          this.retryDelay = RETRY_MIN_MS;
          this._merge([ack.message]);
          this._removeFromOutbox(entry); // also when the stored copy was already merged
          continue;
        }
        if (!this.outbox.includes(entry)) continue; // delivered through resume meanwhile
        const { code, message } = ack.error;
        const wait = waitOf(ack.error);
        if (wait !== null) {
          // Not sent, and not lost: it (and whatever follows it) goes once the wait is over.
          entry.state = "pending";
          this._startLimit(wait);
          this.emit("pending", entry);
          break;
        }
        if (TRANSIENT.has(code)) {
          entry.state = "pending";
          this.emit("pending", entry);
          if (code === "not_in_conversation") this.joined = false;
          if (code !== "disconnected") {
            const epoch = this.epoch;
            this._retryLater(() => (this.joined ? this._flush() : this._resumeThenFlush(epoch)), epoch);
          }
          break;
        }
        this._removeFromOutbox(entry);
        entry.state = "failed";
        entry.error = errorText({ code, message });
        this.emit("pending", entry);
        if (code === "conversation_ended" && this.conversation && !this.ended) {
          this._applyConversation({ ...this.conversation, status: "ended" });
        }
      }
    } finally {
      this.flushing = false;
    }
    if (this.flushAgain) {
      this.flushAgain = false;
      this._flush();
    }
  }

  /** Hold the outbox for `seconds`, then send it again (a `limit` event each way). */
  _startLimit(seconds) {
    clearTimeout(this.limitTimer);
    this.limitedUntil = Date.now() + seconds * 1000;
    this.limitTimer = setTimeout(() => {
      this._endLimit();
      this._flush();
    }, seconds * 1000);
    this.emit("limit", { seconds, until: this.limitedUntil });
  }

  _endLimit() {
    clearTimeout(this.limitTimer);
    if (!this.limitedUntil) return;
    this.limitedUntil = 0;
    this.emit("limit", null);
  }

  _removeFromOutbox(entry) {
    const i = this.outbox.indexOf(entry);
    if (i >= 0) {
      this.outbox.splice(i, 1);
      this._saveOutbox();
    }
  }

  // --- typing and read receipts ----------------------------------------------------------

  /** Call on every keystroke in the composer. */
  noteTyping() {
    const now = Date.now();
    if (!this.typingOn || now - this.typingSentAt >= TYPING_REPEAT_MS) {
      this._sendTyping(true);
      this.typingSentAt = now;
    }
    clearTimeout(this.typingIdleTimer);
    this.typingIdleTimer = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping() {
    clearTimeout(this.typingIdleTimer);
    if (this.typingOn) this._sendTyping(false);
  }

  _sendTyping(typing) {
    this.typingOn = typing;
    // Best effort: a lost typing event is not worth a retry.
    if (this.joined && !this.ended) this._ask("typing", { typing });
  }

  /** Tell the server the resident has seen everything shown so far. */
  markRead() {
    if (this.lastSeq > this.readSeq) {
      this.readSeq = this.lastSeq;
      this.emit("unread", this.unreadCount());
    }
    this._syncRead();
  }

  /** Send the read receipt if the server is behind (also after a reconnect). */
  _syncRead() {
    if (!this.joined || this.readSeq <= this.serverReadSeq) return;
    this.serverReadSeq = this.readSeq;
    this._ask("read", { seq: this.readSeq });
  }
}

/** Whether the page is on screen (always, outside a browser). */
function tabShown() {
  return typeof document === "undefined" || !document.hidden;
}
