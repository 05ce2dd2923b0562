// @ts-check
// The agent pane's AgentClient against a fake socket: replies, transcripts and acks.
import assert from "node:assert/strict";
import { test } from "node:test";

import { AgentClient } from "../src/pane/client.js";
import { fieldErrorOf } from "../src/shared/field-error.js";
import { FakeSocket, settle } from "./fake-socket.js";

const ME = { id: 3, name: "Maria Lopez", role: "agent", status: "available" };

function chat(id, extra = {}) {
  return {
    id,
    status: "open",
    stage: "agent",
    assigned: { id: ME.id, name: ME.name },
    assigned_at: "2025-01-06T10:00:00.000000+00:00",
    updated_at: "2025-01-06T10:00:00.000000+00:00",
    read: { staff: 0, resident: 0 },
    last_seq: 0,
    ...extra,
  };
}

function message(conversationId, seq, text, extra = {}) {
  return { conversation_id: conversationId, seq, text, author_kind: "resident", ...extra };
}

/** A "server" with one chat of mine; replies are stored and given the next seq. */
function server() {
  const stored = [message(5, 1, "I need help")];
  /** @type {Record<string, (payload: any) => unknown>} */
  const answers = {
    hello: () => ({ ok: true, me: ME, chats: [chat(5)], queue: [], queue_total: 0, agents: [ME], canned: [] }),
    open: ({ conversation_id }) => ({ ok: true, conversation: chat(conversation_id), messages: stored, notes: [], earlier: [] }),
    inbox: () => ({ ok: true, messages: [] }),
    message: ({ conversation_id, client_id, text }) => {
      const m = message(conversation_id, stored.length + 1, text, { author_kind: "agent", client_id });
      stored.push(m);
      return { ok: true, message: m };
    },
  };
  return { stored, answers };
}

async function readyClient(answers) {
  const socket = new FakeSocket(answers);
  const client = new AgentClient("https://chat.example.org", socket.open);
  client.connect();
  await settle();
  assert.equal(client.ready, true);
  return { socket, client };
}

test("a reply written while offline is sent after the next hello, once, with the same client_id", async () => {
  const { answers, stored } = server();
  const { socket, client } = await readyClient(answers);
  socket.drop();
  const entry = client.send(5, "On my way");
  await settle();
  assert.equal(entry.state, "pending");
  assert.deepEqual(socket.payloads("message"), []);

  socket.connect();
  await settle();
  assert.deepEqual(socket.payloads("message"), [{ conversation_id: 5, client_id: entry.client_id, text: "On my way" }]);
  assert.equal(entry.state, "sent");
  assert.equal(client.outbox.length, 0);
  assert.equal(stored.length, 2);
  assert.equal(client.transcript(5).lastSeq, 2);
});

test("a reply that timed out is retried after the next hello, and not again once the transcript has it", async () => {
  const { answers, stored } = server();
  const { socket, client } = await readyClient(answers);
  socket.silent.push("message");
  const entry = client.send(5, "Checking");
  await settle();
  assert.equal(entry.state, "pending", "a timeout may or may not have reached the server");
  // It did: the server stored it, and the next `open` replays it.
  stored.push(message(5, 2, "Checking", { author_kind: "agent", client_id: entry.client_id }));
  socket.silent = [];
  socket.drop();
  socket.connect();
  await settle();
  assert.equal(entry.state, "sent");
  assert.equal(socket.payloads("message").length, 1, "the replayed copy counts as delivered");
});

test("a reply the server refuses for good fails with its message and leaves the outbox", async () => {
  const { answers } = server();
  answers.message = () => ({ ok: false, error: { code: "not_assigned", message: "This chat is no longer yours." } });
  const { client } = await readyClient(answers);
  const entry = client.send(5, "Hello?");
  await settle();
  assert.equal(entry.state, "failed");
  assert.equal(entry.error, "This chat is no longer yours.");
  assert.equal(client.outbox.length, 0);
});

test("messages are deduplicated by conversation and seq; only new ones are announced", async () => {
  const { answers } = server();
  const { socket, client } = await readyClient(answers);
  /** @type {number[][]} */
  const announced = [];
  client.on("messages", (id, fresh) => announced.push(fresh.map((m) => m.seq)));
  socket.fire("message", message(5, 2, "two"));
  socket.fire("message", message(5, 2, "two"));
  socket.fire("message", message(5, 1, "I need help"));
  client._mergeMessages(5, [message(5, 4, "four"), message(5, 3, "three"), message(6, 9, "elsewhere")]);
  assert.deepEqual(announced, [[2], [3, 4]]);
  assert.deepEqual([...client.transcript(5).messages.keys()].sort(), [1, 2, 3, 4]);
  assert.equal(client.chat(5).last_seq, 4);
  assert.equal(client.unread(5), 4);
});

test("a chat taken from me leaves my chats", async () => {
  const { answers } = server();
  const { socket, client } = await readyClient(answers);
  assert.deepEqual(client.myChats().map((c) => c.id), [5]);
  socket.fire("unassigned", { conversation_id: 5, reason: "transferred" });
  assert.deepEqual(client.myChats(), []);
});

test("acks keep the field to blame; transport failures become errors too", async () => {
  const { answers } = server();
  answers.request_status = () => ({
    ok: false,
    error: { code: "invalid_request", message: "Say what the resident should do next.", field: "next_steps" },
  });
  const { socket, client } = await readyClient(answers);
  const ack = await client.changeRequestStatus({ number: "R-1", status: "referred" });
  assert.deepEqual(ack, {
    ok: false,
    error: { code: "invalid_request", message: "Say what the resident should do next.", field: "next_steps" },
  });
  assert.ok(!ack.ok);
  assert.deepEqual(fieldErrorOf(ack.error, ["note", "next_steps"]), {
    field: "next_steps",
    message: "Say what the resident should do next.",
  });
  socket.silent.push("search");
  assert.equal((await client.search("pool")).error?.code, "timeout");
  socket.drop();
  const offline = await client.search("pool");
  assert.equal(offline.ok, false);
  assert.equal(offline.error?.code, "disconnected");
});

test("fieldErrorOf: only a field of the form, its name not repeated in the sentence", () => {
  assert.deepEqual(fieldErrorOf({ message: "name: must not be empty", field: "name" }, ["name", "email"]), {
    field: "name",
    message: "Must not be empty",
  });
  assert.equal(fieldErrorOf({ message: "website: must be empty", field: "website" }, ["name", "email"]), null);
  assert.equal(fieldErrorOf({ message: "email: enter an email address" }, ["name", "email"]), null, "the message is never parsed");
});

test("a reply refused as rate_limited waits, says so, and goes by itself with the same client_id", async (t) => {
  t.mock.timers.enable({ apis: ["setTimeout"] });
  const { answers, stored } = server();
  const store = answers.message;
  let refusals = 1;
  answers.message = (payload) =>
    refusals-- > 0
      ? { ok: false, error: { code: "rate_limited", message: "Too many agent events: wait a moment and try again.", retry_after: 2.5 } }
      : store(payload);
  const { socket, client } = await readyClient(answers);
  const entry = client.send(5, "One moment, please.");
  await settle();
  assert.equal(entry.state, "pending");
  assert.equal(entry.waiting, true, "the pane shows it waiting, not failed");
  client.send(5, "Checking now.");
  await settle();
  assert.equal(socket.payloads("message").length, 1, "nothing jumps the queue while it waits");

  t.mock.timers.tick(2500);
  await settle();
  const sent = socket.payloads("message");
  assert.deepEqual(
    sent.map((p) => p.text),
    ["One moment, please.", "One moment, please.", "Checking now."],
  );
  assert.equal(sent[0].client_id, sent[1].client_id);
  assert.deepEqual(stored.slice(1).map((m) => m.text), ["One moment, please.", "Checking now."]);
  assert.equal(client.outbox.length, 0);

  // Any other action refused the same way reads as a sentence, not the service's event names.
  answers.status = () => ({ ok: false, error: { code: "rate_limited", message: "Too many agent events", retry_after: 0.4 } });
  const ack = await client.ask("status", { status: "away" });
  assert.equal(ack.ok, false);
  assert.equal(!ack.ok && ack.error.message, "Too many actions in a short time. Try again in 1 second.");
});
