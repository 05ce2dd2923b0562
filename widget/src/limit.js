// @ts-check
// "You're sending messages quickly. You can send again in 12 s.": what the widget says when the
// service refuses something as `rate_limited` (docs/protocol/README.md), for chat messages, the
// pre-chat form, the message form and photos. A short wait is counted down on screen; a long one
// (a daily limit) is said plainly, with the center's phone number. Not an error: calm colours,
// and what the resident wrote stays where it is.
//
// The words are pure functions (tested in Node); LimitNotice puts them on the page. Its
// countdown is not a live region, so screen readers are not told every second: a separate
// polite live region says the whole sentence once when the wait starts, and once when it ends.

import { el } from "./shared/dom.js";
import { language, t, tn } from "./shared/i18n.js";
import { afterTime, endSentence } from "./shared/time.js";

/** Waits up to this long are counted down in seconds; longer ones are said in words. */
export const COUNTDOWN_UP_TO_S = 120;
const HOUR_S = 3600;
const QUIET_MS = 10_000; // a new wait this soon after the last one ended is shown, not said

/**
 * @typedef {"message" | "start" | "leave" | "photo"} LimitKind
 * @typedef {{city?: string, name?: string, phone?: string, phone_tel?: string} | null | undefined} CenterInfo
 */

// Whole sentences, each a text of the catalogue (languages put the wait in different places).
// Functions, so each is read in the language of the moment.
/**
 * @typedef {object} LimitWords
 * @property {() => string} quick
 * @property {(s: number) => string} againShort "in 12 s."
 * @property {(s: number) => string} againSpoken "in 12 seconds."
 * @property {() => string} ready
 * @property {(minutes: number) => string} anotherMinutes
 * @property {() => string} anotherHour
 * @property {(when: string) => string} today
 */
/** @type {Record<LimitKind, LimitWords>} */
const WORDS = {
  message: {
    quick: () => t("You're sending messages quickly."),
    againShort: (s) => t("You can send again in {seconds} s.", { seconds: s }),
    againSpoken: (s) => tn("You can send again in 1 second.", "You can send again in {count} seconds.", s),
    ready: () => t("You can send messages again."),
    anotherMinutes: (m) =>
      tn(
        "You have sent many messages in a short time. You can send another in about 1 minute.",
        "You have sent many messages in a short time. You can send another in about {count} minutes.",
        m,
      ),
    anotherHour: () => t("You have sent many messages in a short time. You can send another in about an hour."),
    today: (when) => t("You have reached today's limit for messages. You can send another {when}", { when }),
  },
  start: {
    quick: () => t("You're starting chats quickly."),
    againShort: (s) => t("You can start a chat again in {seconds} s.", { seconds: s }),
    againSpoken: (s) => tn("You can start a chat again in 1 second.", "You can start a chat again in {count} seconds.", s),
    ready: () => t("You can start your chat now."),
    anotherMinutes: (m) =>
      tn(
        "You have started several chats in a short time. You can start another in about 1 minute.",
        "You have started several chats in a short time. You can start another in about {count} minutes.",
        m,
      ),
    anotherHour: () => t("You have started several chats in a short time. You can start another in about an hour."),
    today: (when) => t("You have reached today's limit for new chats. You can start another {when}", { when }),
  },
  leave: {
    quick: () => t("You're sending messages quickly."),
    againShort: (s) => t("You can send again in {seconds} s.", { seconds: s }),
    againSpoken: (s) => tn("You can send again in 1 second.", "You can send again in {count} seconds.", s),
    ready: () => t("You can send your message now."),
    anotherMinutes: (m) =>
      tn(
        "You have sent several messages in a short time. You can send another in about 1 minute.",
        "You have sent several messages in a short time. You can send another in about {count} minutes.",
        m,
      ),
    anotherHour: () => t("You have sent several messages in a short time. You can send another in about an hour."),
    today: (when) => t("You have reached today's limit for messages. You can send another {when}", { when }),
  },
  photo: {
    quick: () => t("You're sending photos quickly."),
    againShort: (s) => t("Your photo will be sent in {seconds} s.", { seconds: s }),
    againSpoken: (s) => tn("Your photo will be sent in 1 second.", "Your photo will be sent in {count} seconds.", s),
    ready: () => t("Sending your photo…"),
    anotherMinutes: (m) =>
      tn(
        "You have sent many photos in a short time. You can send another in about 1 minute.",
        "You have sent many photos in a short time. You can send another in about {count} minutes.",
        m,
      ),
    anotherHour: () => t("You have sent many photos in a short time. You can send another in about an hour."),
    today: (when) => t("You have reached today's limit for photos. You can send another {when}", { when }),
  },
};

/**
 * When a long wait ends, for people: "after 3:15 p.m.", "tomorrow after 9:40 a.m.", or the date.
 * @param {number} endsMs
 * @param {number} nowMs
 */
export function endOfWait(endsMs, nowMs) {
  const end = new Date(endsMs);
  // The house style ("after 3:15 p.m.", "after midnight"), in the resident's own clock.
  const after = afterTime(end.getHours(), end.getMinutes());
  const today = new Date(nowMs);
  const tomorrow = new Date(nowMs);
  tomorrow.setDate(today.getDate() + 1);
  if (end.toDateString() === today.toDateString()) return after;
  if (end.toDateString() === tomorrow.toDateString()) return t("tomorrow {after}", { after });
  const day = end.toLocaleDateString(language(), { weekday: "long", month: "long", day: "numeric" });
  return t("on {day} {after}", { day, after });
}

/**
 * What to say while a wait runs: `text` for the screen, `spoken` for screen readers (units in
 * words), and whether the center's phone number belongs with it (a long wait).
 * @param {LimitKind} kind
 * @param {number} totalS the wait as the service gave it (decides how it is said)
 * @param {number} endsMs when it ends
 * @param {number} nowMs
 * @returns {{text: string, spoken: string, long: boolean}}
 */
export function waitWords(kind, totalS, endsMs, nowMs) {
  const words = WORDS[kind];
  const leftS = Math.max(0, Math.ceil((endsMs - nowMs) / 1000));
  if (totalS <= COUNTDOWN_UP_TO_S) {
    return {
      text: `${words.quick()} ${words.againShort(leftS)}`,
      spoken: `${words.quick()} ${words.againSpoken(leftS)}`,
      long: false,
    };
  }
  let sentence;
  if (totalS <= HOUR_S + 60) {
    const minutes = Math.max(1, Math.ceil(leftS / 60));
    sentence = minutes >= 60 ? words.anotherHour() : words.anotherMinutes(minutes);
  } else {
    sentence = endSentence(words.today(endOfWait(endsMs, nowMs)));
  }
  return { text: sentence, spoken: sentence, long: true };
}


/**
 * The center's phone number for people and for a tel: link, or null when it is not known.
 * @param {CenterInfo} center
 * @returns {{phone: string, tel: string} | null}
 */
export function phoneOf(center) {
  if (!center || typeof center.phone !== "string" || !center.phone.trim()) return null;
  const phone = center.phone.trim();
  const tel = typeof center.phone_tel === "string" && center.phone_tel ? center.phone_tel : phone.replace(/[^\d+]/g, "");
  return { phone, tel };
}

/**
 * The sentence offering the phone instead of a long wait, or "" when the center is unknown.
 * @param {CenterInfo} center
 */
export function phoneWords(center) {
  const reach = phoneOf(center);
  return reach ? t("If it can't wait, please call us at {phone}.", { phone: reach.phone }) : "";
}

/**
 * Hold a button while a short wait runs (aria-disabled keeps it focusable; `waiting` greys it).
 * @param {HTMLElement} button
 * @param {boolean} waiting
 */
export function holdButton(button, waiting) {
  if (waiting) button.setAttribute("aria-disabled", "true");
  else button.removeAttribute("aria-disabled");
  button.classList.toggle("waiting", waiting);
}

/** The words for when a wait is over. @param {LimitKind} kind */
export function readyWords(kind) {
  return WORDS[kind].ready();
}

/**
 * A notice of one kind of wait, and its announcements. Its node goes where the resident will
 * look: above the composer, or above a form's button.
 */
export class LimitNotice {
  /**
   * @param {LimitKind} kind
   * @param {() => CenterInfo} center who to call (the Center of the service's acks), when known
   */
  constructor(kind, center) {
    this.kind = kind;
    this.center = center;
    this.totalS = 0;
    this.endsMs = 0;
    /** @type {ReturnType<typeof setInterval> | undefined} */
    this.ticker = undefined;
    /** @type {(() => void) | null} */
    this.onReady = null;
    this.readyAt = 0; // when the last wait ended
    this.text = el("span");
    this.phoneLink = el("a");
    this.phone = el("span", { class: "limit-phone" });
    this.box = el("p", { class: "limit", hidden: true }, this.text, this.phone);
    // Polite, and only changed when a wait starts or ends: never once a second.
    this.live = el("p", { class: "sr-only", "aria-live": "polite" });
    this.node = el("div", { class: "limit-area" }, this.box, this.live);
  }

  /** A wait is running now. */
  get active() {
    return this.endsMs > Date.now();
  }

  /** A short wait is running: the button it is about waits with it. */
  get counting() {
    return this.active && this.totalS <= COUNTDOWN_UP_TO_S;
  }

  /**
   * Start (or restart) a wait of `seconds`; `onReady` runs when it is over, if it is short (a
   * wait of hours is not waited out on the page). Said aloud unless one was running or just
   * ended: a flood of refusals is not a flood of speech.
   * @param {number} seconds
   * @param {(() => void) | null} [onReady]
   */
  start(seconds, onReady = null) {
    const showing = !this.box.hidden && (this.active || Date.now() - this.readyAt < QUIET_MS);
    this.totalS = seconds;
    this.endsMs = Date.now() + seconds * 1000;
    this.onReady = seconds <= COUNTDOWN_UP_TO_S ? onReady : null;
    this.box.classList.remove("ready");
    this.box.hidden = false;
    const words = this.render();
    if (!showing) this.say(this.spoken(words));
    clearInterval(this.ticker);
    this.ticker = setInterval(() => this.tick(), 1000);
  }

  /** Show the words as of now (the countdown moves; nothing is announced). */
  render() {
    const words = waitWords(this.kind, this.totalS, this.endsMs, Date.now());
    if (this.text.textContent !== words.text) this.text.textContent = words.text;
    const reach = words.long ? phoneOf(this.center()) : null;
    if (reach) {
      // "If it can't wait, please call us at (626) 744-7311." with the number as a link.
      if (this.phoneLink.textContent !== reach.phone) this.phoneLink.textContent = reach.phone;
      this.phoneLink.setAttribute("href", `tel:${reach.tel}`);
      if (!this.phone.firstChild) {
        // The sentence's words around the number, in the catalogue's order.
        const [before, after = ""] = t("If it can't wait, please call us at {phone}.").split("{phone}");
        this.phone.replaceChildren(` ${before}`, this.phoneLink, after);
      }
    } else if (this.phone.firstChild) {
      this.phone.replaceChildren();
    }
    return words;
  }

  tick() {
    if (this.active) {
      this.render();
      return;
    }
    clearInterval(this.ticker);
    this.readyAt = Date.now();
    this.text.textContent = readyWords(this.kind);
    this.phone.replaceChildren();
    this.box.classList.add("ready");
    this.say(readyWords(this.kind));
    const onReady = this.onReady;
    this.onReady = null;
    if (onReady) onReady();
  }

  /** Say the notice again, as of now (the resident pressed a button that is waiting). */
  remind() {
    if (this.box.hidden) return;
    if (!this.active) {
      this.say(readyWords(this.kind));
      return;
    }
    this.say(this.spoken(this.render()));
  }

  /** @param {{spoken: string, long: boolean}} words */
  spoken(words) {
    const phone = words.long ? phoneWords(this.center()) : "";
    return phone ? `${words.spoken} ${phone}` : words.spoken;
  }

  /** Take the notice away (the wait is over and the resident moved on, or it no longer applies). */
  clear() {
    clearInterval(this.ticker);
    this.endsMs = 0;
    this.onReady = null;
    this.box.hidden = true;
    this.live.textContent = "";
  }

  /** @param {string} text */
  say(text) {
    // Emptied first, so the same sentence twice is announced twice.
    this.live.textContent = "";
    setTimeout(() => {
      this.live.textContent = text;
    }, 100);
  }
}
