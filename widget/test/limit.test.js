// @ts-check
// What the widget says when the service asks a resident to slow down (src/limit.js).
import assert from "node:assert/strict";
import { test } from "node:test";

import { endOfWait, phoneOf, phoneWords, readyWords, waitWords } from "../src/limit.js";

const CENTER = { phone: "(626) 744-7311", phone_tel: "+16267447311" };
const NOON = new Date(2026, 10, 23, 12, 0, 0).getTime(); // local time, as the browser's

test("a short wait is counted down in seconds, written short and spoken in words", () => {
  const words = waitWords("message", 12, NOON + 12_000, NOON);
  assert.deepEqual(words, {
    text: "You're sending messages quickly. You can send again in 12 s.",
    spoken: "You're sending messages quickly. You can send again in 12 seconds.",
    long: false,
  });
  assert.equal(waitWords("message", 12, NOON + 12_000, NOON + 10_500).text.endsWith("in 2 s."), true);
  assert.equal(waitWords("message", 12, NOON + 12_000, NOON + 11_500).spoken.endsWith("in 1 second."), true);
  assert.equal(waitWords("start", 3, NOON + 3000, NOON).text, "You're starting chats quickly. You can start a chat again in 3 s.");
  assert.equal(waitWords("photo", 5, NOON + 5000, NOON).text, "You're sending photos quickly. Your photo will be sent in 5 s.");
});

test("a wait of minutes is said in minutes, one of hours as a time of day, and both are long", () => {
  const minutes = waitWords("leave", 2700, NOON + 2_700_000, NOON);
  assert.equal(minutes.text, "You have sent several messages in a short time. You can send another in about 45 minutes.");
  assert.equal(minutes.long, true);
  assert.equal(waitWords("photo", 3600, NOON + 3_600_000, NOON).text.endsWith("in about an hour."), true);
  const day = waitWords("leave", 86_400, NOON + 86_400_000, NOON);
  assert.match(day.text, /^You have reached today's limit for messages\. You can send another tomorrow after noon\.$/);
  assert.equal(day.long, true);
});

test("the end of a long wait: today, tomorrow, or its day", () => {
  assert.equal(endOfWait(NOON + 3 * 3_600_000 + 15 * 60_000, NOON), "after 3:15 p.m.");
  assert.equal(endOfWait(NOON + 20 * 3_600_000, NOON), "tomorrow after 8 a.m.");
  assert.equal(endOfWait(NOON + 3 * 86_400_000, NOON), "on Thursday, November 26 after noon");
});

test("the phone is offered from the center, when known", () => {
  assert.equal(phoneWords(CENTER), "If it can't wait, please call us at (626) 744-7311.");
  assert.deepEqual(phoneOf(CENTER), { phone: "(626) 744-7311", tel: "+16267447311" });
  assert.deepEqual(phoneOf({ phone: "(626) 744-7311" }), { phone: "(626) 744-7311", tel: "6267447311" });
  assert.equal(phoneWords(null), "");
  assert.equal(phoneWords({ phone: " " }), "");
  assert.equal(readyWords("message"), "You can send messages again.");
});
