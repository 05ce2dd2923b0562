// @ts-check
// The resident widget's ChatClient against a fake socket: what it keeps, sends and shows.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ChatClient } from "../src/client.js";
import { FakeSocket, memoryStore, settle } from "./fake-socket.js";

const CONVERSATION = { id: 7, status: "open", stage: "assistant", read: {} };

function message(seq, text, extra = {}) {
  return { seq, text, author_kind: "assistant", created_at: "2025-01-06T10:00:00.000000+00:00", ...extra };
}

/** A "server" that stores resident messages by seq and replays those after last_seq. */
function server(initial = []) {
  const stored = [...initial];
  /** @type {Record<string, (payload: any) => unknown>} */
  const answers = {
    resume: ({ last_seq }) => ({ ok: true, conversation: CONVERSATION, queue: null, has_more: false, messages: stored.filter((m) => m.seq > last_seq) }),
    message: ({ client_id, text }) => {
      const m = message(stored.length + 1, text, { author_kind: "resident", client_id });
      stored.push(m);
      return { ok: true, message: m };
    },
  };
  return { stored, answers };
}

function resumedClient(answers, store = memoryStore({ token: "tok" })) {
  const socket = new FakeSocket(answers);
  const client = new ChatClient("https://chat.example.org", store, socket.open);
  return { socket, client, store };
}

test("a message written while offline is kept, stored, and sent once the chat is resumed", async () => {
  const { answers, stored } = server([message(1, "Hello! How can I help?")]);
  const { socket, client, store } = resumedClient(answers);
  client.connect();
  await settle();
  assert.equal(client.joined, true);

  socket.drop();
  const entry = client.send("Is the pool open?");
  await settle();
  assert.deepEqual(socket.payloads("message"), [], "nothing is emitted while offline");
  assert.equal(entry.state, "pending");
  assert.deepEqual(
    store.getJSON("pending", []).map((e) => e.text),
    ["Is the pool open?"],
    "a reload now would not lose it",
  );

  socket.connect();
  await settle();
  const [resume] = socket.payloads("resume").slice(-1);
  assert.equal(resume.last_seq, 1);
  assert.deepEqual(socket.payloads("message"), [{ client_id: entry.client_id, text: "Is the pool open?" }]);
  assert.equal(stored.length, 2);
  assert.equal(client.outbox.length, 0);
  assert.equal(store.get("pending"), null);
  // The resume comes first: a message sent before it would be refused (not_in_conversation).
  const order = socket.sent.map((s) => s.event).filter((e) => e === "resume" || e === "message");
  assert.deepEqual(order, ["resume", "resume", "message"]);
});

test("messages kept from an earlier page view are sent after the resume, with the same client_id", async () => {
  const pending = [{ client_id: "c-1", text: "Still there?", created_at: "2025-01-06T10:00:00Z" }];
  const { answers } = server([message(1, "Hi")]);
  const { socket, client } = resumedClient(answers, memoryStore({ token: "tok", pending: JSON.stringify(pending) }));
  assert.equal(client.outbox[0].state, "pending");
  client.connect();
  await settle();
  assert.deepEqual(socket.payloads("message"), [{ client_id: "c-1", text: "Still there?" }]);
});

test("without a token, pending messages from an old chat are forgotten", () => {
  const store = memoryStore({ pending: JSON.stringify([{ client_id: "c-1", text: "old" }]) });
  const client = new ChatClient("https://chat.example.org", store, new FakeSocket().open);
  assert.deepEqual(client.outbox, []);
  assert.equal(store.get("pending"), null);
});

test("a reconnect asks only for what came after the last seq, and shows nothing twice", async () => {
  const { answers, stored } = server([message(1, "one"), message(2, "two")]);
  const { socket, client } = resumedClient(answers);
  /** @type {number[]} */
  const shown = [];
  client.on("message", (m) => shown.push(m.seq));
  client.connect();
  await settle();
  assert.deepEqual(shown, [1, 2]);

  socket.drop();
  stored.push(message(3, "three"));
  // A server that replays more than asked (or an event that raced the resume) changes nothing.
  answers.resume = ({ last_seq }) => ({ ok: true, conversation: CONVERSATION, has_more: false, messages: stored.filter((m) => m.seq >= last_seq) });
  socket.connect();
  await settle();
  assert.equal(socket.payloads("resume").at(-1).last_seq, 2);
  socket.fire("message", message(3, "three"));
  assert.deepEqual(shown, [1, 2, 3]);
  assert.equal(client.lastSeq, 3);
  assert.equal(client.messages.size, 3);
});

test("a resume with has_more asks again from the new last seq", async () => {
  const all = [1, 2, 3, 4].map((seq) => message(seq, `m${seq}`));
  const { socket, client } = resumedClient({
    resume: ({ last_seq }) => {
      const rest = all.filter((m) => m.seq > last_seq);
      return { ok: true, conversation: CONVERSATION, messages: rest.slice(0, 2), has_more: rest.length > 2 };
    },
  });
  client.connect();
  await settle();
  assert.deepEqual(socket.payloads("resume").map((p) => p.last_seq), [0, 2]);
  assert.equal(client.lastSeq, 4);
});

test("a message whose ack was lost is taken as delivered when the resume replays it", async () => {
  const { answers, stored } = server([message(1, "Hi")]);
  const { socket, client } = resumedClient(answers);
  client.connect();
  await settle();
  socket.silent.push("message"); // stored by the server, but the ack never arrives
  const entry = client.send("Thanks");
  await settle();
  assert.equal(entry.state, "pending", "a timeout is worth a retry");
  stored.push(message(2, "Thanks", { author_kind: "resident", client_id: entry.client_id }));

  socket.silent = [];
  socket.drop();
  socket.connect();
  await settle();
  assert.equal(client.outbox.length, 0);
  assert.equal(socket.payloads("message").length, 1, "not sent again: the resume brought it back");
  assert.equal(client.messages.get(2).client_id, entry.client_id);
});

test("a message the server refuses for good is marked failed and not retried", async () => {
  const { answers } = server();
  answers.message = () => ({ ok: false, error: { code: "invalid_payload", message: "text: must not be empty" } });
  const { socket, client, store } = resumedClient(answers);
  client.connect();
  await settle();
  const entry = client.send("\u0001");
  await settle();
  assert.equal(entry.state, "failed");
  assert.equal(entry.error, "text: must not be empty");
  assert.equal(client.outbox.length, 0);
  assert.equal(store.get("pending"), null);
  assert.equal(socket.payloads("message").length, 1);
});

test("an expired token forgets the chat and says which messages were dropped", async () => {
  const { socket, client, store } = resumedClient({
    resume: () => ({ ok: false, error: { code: "token_expired", message: "This chat has ended." } }),
  });
  client.outbox.push({ client_id: "c-9", text: "lost", created_at: "", state: "pending" });
  /** @type {any[]} */
  const resets = [];
  client.on("reset", (r) => resets.push(r));
  client.connect();
  await settle();
  assert.equal(client.token, null);
  assert.equal(store.get("token"), null);
  assert.deepEqual(resets, [{ reason: "expired", dropped: ["lost"], resident: null }]);
  assert.equal(socket.payloads("message").length, 0);
});

test("acks become errors the form can show: codes, messages and the field to blame", async () => {
  const { socket, client } = resumedClient({
    start: () => ({ ok: false, error: { code: "invalid_payload", message: "name: must not be empty", field: "name" } }),
    hours: () => "not an object",
  });
  const store = memoryStore();
  const fresh = new ChatClient("https://chat.example.org", store, socket.open);
  const refused = await fresh.start({ name: "\u0001", email: "ana@example.com", question: "Hi" });
  assert.deepEqual(refused, {
    ok: false,
    error: { code: "invalid_payload", message: "name: must not be empty", field: "name" },
  });
  assert.equal(fresh.token, null);

  assert.deepEqual(await fresh.hours(), {
    ok: false,
    error: { code: "internal_error", message: "The chat service sent an unexpected answer." },
  });
  socket.silent.push("hours");
  assert.equal((await fresh.hours()).error.code, "timeout");
  socket.drop();
  assert.equal((await client._ask("end", {})).error.code, "disconnected");
});

test("a message refused as rate_limited keeps its place, and it and the next go by themselves after the wait", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000_000 });
  const { answers, stored } = server([message(1, "Hi")]);
  const store = answers.message;
  let refusals = 1;
  answers.message = (payload) =>
    refusals-- > 0
      ? { ok: false, error: { code: "rate_limited", message: "Too many message events: wait a moment and try again.", retry_after: 2.5 } }
      : store(payload);
  const { socket, client, store: kept } = resumedClient(answers);
  /** @type {any[]} */
  const limits = [];
  client.on("limit", (limit) => limits.push(limit));
  client.connect();
  await settle();

  const first = client.send("Is the pool open?");
  await settle();
  const second = client.send("And on Sunday?");
  await settle();
  assert.deepEqual(limits, [{ seconds: 2.5, until: 1_002_500 }]);
  assert.equal(client.limited, true);
  assert.equal(first.state, "pending", "not failed: it is sent again");
  assert.deepEqual(client.outbox.map((e) => e.text), ["Is the pool open?", "And on Sunday?"]);
  assert.deepEqual(kept.getJSON("pending", []).map((e) => e.text), ["Is the pool open?", "And on Sunday?"]);
  assert.equal(socket.payloads("message").length, 1, "nothing more is sent while it waits");

  t.mock.timers.tick(2400);
  await settle();
  assert.equal(socket.payloads("message").length, 1);
  t.mock.timers.tick(100);
  await settle();
  assert.equal(client.limited, false);
  assert.deepEqual(limits.at(-1), null);
  const sent = socket.payloads("message");
  assert.deepEqual(sent.map((p) => p.client_id), [first.client_id, first.client_id, second.client_id]);
  assert.deepEqual(stored.slice(1).map((m) => m.text), ["Is the pool open?", "And on Sunday?"]);
  assert.equal(client.outbox.length, 0);
});

test("other refusals to slow down read as a sentence for residents", async () => {
  const { socket, client } = resumedClient({
    end: () => ({ ok: false, error: { code: "rate_limited", message: "Too many resident events", retry_after: 4.2 } }),
  });
  client.connect();
  await settle();
  const ack = await client._ask("end", {});
  assert.deepEqual(ack, {
    ok: false,
    error: { code: "rate_limited", message: "You're doing that quickly. Please try again in 5 seconds.", retry_after: 4.2 },
  });
  assert.equal(socket.connected, true);
});

test("a chat started offline waits for the connection and goes once, when it is back", async () => {
  const socket = new FakeSocket({
    start: ({ question, client_id }) => ({
      ok: true,
      token: "tok",
      conversation: CONVERSATION,
      messages: [message(1, question, { author_kind: "resident", client_id })],
    }),
  });
  const store = memoryStore();
  const client = new ChatClient("https://chat.example.org", store, socket.open);
  client.connect();
  socket.drop();
  /** @type {string[]} */
  const states = [];
  client.on("start", (state) => states.push(state));

  const started = client.start({ name: "Ana", email: "ana@example.com", question: "Is the pool open?" });
  await settle();
  assert.deepEqual(socket.payloads("start"), [], "nothing is emitted while offline");
  assert.deepEqual(states, ["waiting"]);

  socket.connect();
  const ack = await started;
  assert.equal(ack.ok, true);
  assert.equal(socket.payloads("start").length, 1);
  assert.deepEqual(states, ["waiting", "sending"]);
  assert.equal(store.get("token"), "tok");
});

test("a start whose answer was lost is sent again with the same client_id, and gets its chat", async () => {
  /** @type {Map<string, number>} */
  const chats = new Map(); // the "server": one chat per client_id
  const socket = new FakeSocket({
    start: ({ question, client_id }) => {
      if (!chats.has(client_id)) chats.set(client_id, chats.size + 7);
      return {
        ok: true,
        token: `tok-${chats.size}`,
        conversation: { ...CONVERSATION, id: chats.get(client_id) },
        messages: [message(1, question, { author_kind: "resident", client_id })],
      };
    },
  });
  const store = memoryStore();
  const client = new ChatClient("https://chat.example.org", store, socket.open);
  client.connect();
  socket.lost.push("start");

  const ack = await client.start({ name: "Ana", email: "ana@example.com", question: "Is the pool open?" });
  assert.equal(ack.ok, true);
  const sent = socket.payloads("start");
  assert.equal(sent.length, 2, "sent again once");
  assert.equal(sent[1].client_id, sent[0].client_id);
  assert.equal(chats.size, 1, "one chat");
  assert.equal(client.conversation.id, 7);
  assert.equal(store.get("token"), "tok-1");
});

test("a start kept across a reload goes under the client_id it was given", async () => {
  const socket = new FakeSocket({
    start: ({ client_id }) => ({ ok: true, token: "tok", conversation: CONVERSATION, messages: [message(1, "Hi", { author_kind: "resident", client_id })] }),
  });
  const client = new ChatClient("https://chat.example.org", memoryStore(), socket.open);
  client.connect();
  await client.start({ name: "Ana", email: "ana@example.com", question: "Hi", client_id: "kept-1" });
  assert.equal(socket.payloads("start")[0].client_id, "kept-1");
});

test("a start refused by the server is not sent again", async () => {
  const socket = new FakeSocket({
    start: () => ({ ok: false, error: { code: "invalid_payload", message: "Enter your name.", field: "name" } }),
  });
  const client = new ChatClient("https://chat.example.org", memoryStore(), socket.open);
  client.connect();
  const ack = await client.start({ name: "", email: "ana@example.com", question: "Hi" });
  assert.equal(ack.ok, false);
  assert.equal(socket.payloads("start").length, 1);
});

test("the composer's draft is kept with the chat and forgotten with it", async () => {
  const { client, store } = resumedClient(server([message(1, "Hello! How can I help?")]).answers);
  client.saveDraft("Half a questi");
  assert.equal(client.draft, "Half a questi");
  client.saveDraft("  ");
  assert.equal(store.get("draft"), null, "an empty box keeps nothing");
  client.saveDraft("Half a questi");
  client.connect();
  await settle();
  await client.end();
  assert.equal(store.get("draft"), null, "ending the chat forgets it on this browser");
  assert.equal(client.draft, "");
});

test("a link from our email opens its chat with a fresh token, and no resume goes with the old one", async () => {
  const { answers } = server([message(1, "Hello!"), message(2, "Your pickup is Tuesday.", { author_kind: "agent" })]);
  answers.resume_link = ({ code }) =>
    code === "good-code-0123456789"
      ? { ok: true, token: "fresh", conversation: CONVERSATION, queue: null, has_more: false, messages: /** @type {any} */ (answers.resume({ last_seq: 0 })).messages }
      : { ok: false, error: { code: "link_used", message: "This chat link has already been used." } };
  const { socket, client, store } = resumedClient(answers, memoryStore({ token: "old" }));
  const resets = [];
  client.on("reset", (info) => resets.push(info.reason));

  const ack = await client.openLink("good-code-0123456789");
  await settle();
  assert.equal(ack.ok, true);
  assert.equal(client.token, "fresh");
  assert.equal(store.get("token"), "fresh", "the new token replaces the old one in storage");
  assert.deepEqual(resets, ["link"]);
  assert.deepEqual([...client.messages.keys()], [1, 2]);
  assert.equal(client.unreadCount(), 2);
  assert.ok(
    socket.payloads("resume").every((p) => p.token === "fresh"),
    "the old token is never sent once the link is being exchanged",
  );
  assert.equal(client.joined, true);
});

test("a refused link changes nothing: the chat this browser had comes back as usual", async () => {
  const { answers } = server([message(1, "Hello!")]);
  answers.resume_link = () => ({ ok: false, error: { code: "link_used", message: "This chat link has already been used." } });
  const { socket, client, store } = resumedClient(answers, memoryStore({ token: "mine" }));
  const ack = await client.openLink("used-code-0123456789");
  await settle();
  assert.equal(ack.ok, false);
  assert.equal(ack.ok === false && ack.error.code, "link_used");
  assert.equal(store.get("token"), "mine");
  assert.deepEqual(socket.payloads("resume").map((p) => p.token), ["mine"]);
  assert.equal(client.joined, true);
});

test("an ack's older view of the chat does not undo a newer event's", async () => {
  /** @type {FakeSocket} */
  let socket;
  socket = new FakeSocket({
    start: ({ question, client_id }) => {
      // The agent joined (an event) before the start's ack, which still says "waiting", arrives.
      socket.fire("conversation", { ...CONVERSATION, stage: "agent", last_seq: 3 });
      return {
        ok: true,
        token: "tok",
        conversation: { ...CONVERSATION, stage: "waiting", last_seq: 2 },
        messages: [message(1, question, { author_kind: "resident", client_id })],
      };
    },
  });
  const client = new ChatClient("https://chat.example.org", memoryStore(), socket.open);
  client.connect();
  await client.start({ name: "Ana", email: "ana@example.com", question: "A person please" });
  assert.equal(client.conversation.stage, "agent");
});
