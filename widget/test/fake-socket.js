// @ts-check
// A stand-in for socket.io-client's Socket and its `io()`, for the client state tests: the
// test plays the server by answering emits, and drops or restores the connection.

/** @typedef {(payload: any) => unknown} Answer */

export class FakeSocket {
  /** @param {Record<string, Answer>} answers what the "server" acks per event; unknown events get {ok: true} */
  constructor(answers = {}) {
    this.answers = answers;
    /** @type {Map<string, Function[]>} */
    this.handlers = new Map();
    this.connected = false;
    this.active = false;
    /** @type {{event: string, payload: any}[]} every emit that reached the "server" */
    this.sent = [];
    /** @type {string[]} events whose ack never comes (the client's timeout fires) */
    this.silent = [];
    /** @type {string[]} the next emit of each event listed is handled, but its ack is lost (once per entry) */
    this.lost = [];
  }

  /** The `io(url, options)` a client is given: hands out this socket. */
  get open() {
    return (/** @type {string} */ url, /** @type {object} */ options) => {
      this.url = url;
      this.options = options;
      return this;
    };
  }

  on(event, handler) {
    if (!this.handlers.has(event)) this.handlers.set(event, []);
    this.handlers.get(event)?.push(handler);
    return this;
  }

  off(event, handler) {
    this.handlers.set(event, (this.handlers.get(event) || []).filter((h) => h !== handler));
    return this;
  }

  /** An event from the "server" (or the transport: connect, disconnect). */
  fire(event, ...args) {
    for (const handler of [...(this.handlers.get(event) || [])]) handler(...args);
  }

  connect() {
    this.active = true;
    if (!this.connected) {
      this.connected = true;
      this.fire("connect");
    }
    return this;
  }

  disconnect() {
    this.drop("io client disconnect");
    this.active = false;
    return this;
  }

  /** The network went away. */
  drop(reason = "transport close") {
    if (!this.connected) return;
    this.connected = false;
    this.fire("disconnect", reason);
  }

  timeout() {
    return {
      emit: (event, payload, callback) => {
        this.sent.push({ event, payload });
        if (this.silent.includes(event)) {
          setImmediate(() => callback(new Error("operation has timed out")));
          return;
        }
        const answer = this.answers[event];
        const ack = answer ? answer(payload) : { ok: true };
        const lost = this.lost.indexOf(event);
        if (lost >= 0) {
          this.lost.splice(lost, 1);
          setImmediate(() => callback(new Error("operation has timed out")));
          return;
        }
        setImmediate(() => callback(null, ack));
      },
    };
  }

  /** The payloads sent for one event, in order. */
  payloads(event) {
    return this.sent.filter((s) => s.event === event).map((s) => s.payload);
  }
}

/** Let pending acks and the client's follow-up work run. */
export async function settle(rounds = 10) {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setImmediate(resolve));
}

/** A memory store with the widget store's interface. */
export function memoryStore(initial = {}) {
  const values = new Map(Object.entries(initial));
  return {
    values,
    get: (key) => (values.has(key) ? values.get(key) : null),
    set: (key, value) => values.set(key, value),
    remove: (key) => values.delete(key),
    getJSON(key, fallback) {
      const raw = values.get(key);
      return raw == null ? fallback : JSON.parse(raw);
    },
    setJSON(key, value) {
      values.set(key, JSON.stringify(value));
    },
  };
}
