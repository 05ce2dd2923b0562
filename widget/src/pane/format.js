// @ts-check
// Pure helpers for the pane: wait labels, names, and the plain-text form of an article.

/** "under 1 min", "2 min", "1 h 5 min" from sinceMs to nowMs, or "" for an unknown time. */
export function elapsed(sinceMs, nowMs) {
  if (!Number.isFinite(sinceMs)) return "";
  const minutes = Math.floor(Math.max(0, nowMs - sinceMs) / 60000);
  if (minutes < 1) return "under 1 min";
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** "waiting under 1 min", "waiting 2 min", "waiting 1 h 5 min". */
export function waitingLabel(sinceMs, nowMs) {
  const time = elapsed(sinceMs, nowMs);
  return time && `waiting ${time}`;
}

/** "assigned under 1 min ago", "assigned 2 min ago", "assigned 1 h 5 min ago". */
export function assignedLabel(sinceMs, nowMs) {
  const time = elapsed(sinceMs, nowMs);
  return time && `assigned ${time} ago`;
}

/** The name of a topic code from hello's `topics`, or null. */
export function topicName(topics, code) {
  if (!code) return null;
  const topic = topics && topics[code];
  return (topic && typeof topic.name === "string" && topic.name) || code;
}

/** The assistant's topic guess in words: "Topic guess: Graffiti", or "No topic guessed yet". */
export function topicGuess(topics, code) {
  const name = topicName(topics, code);
  return name ? `Topic guess: ${name}` : "No topic guessed yet";
}

export const HANDOFF_REASONS = {
  asked: "Asked for a person",
  emergency: "Reported an emergency",
  no_match: "The assistant could not answer",
  status: "Asked about a request's status",
  request: "Wants to file a request",
};

// Why a chat stopped being mine (`unassigned`'s reason): the notice in the chat, and how the
// announcement ends ("The chat with Ana Ruiz was transferred.").
const UNASSIGNED_REASONS = {
  transferred: { notice: "This chat was transferred. It is no longer yours.", gone: "was transferred" },
  reassigned: { notice: "A supervisor gave this chat to someone else.", gone: "was given to someone else by a supervisor" },
  closed: { notice: "This chat was closed.", gone: "was closed" },
  ended: { notice: "The resident ended this chat.", gone: "was ended by the resident" },
  returned: { notice: "This chat went back to the queue.", gone: "went back to the queue" },
  idle: { notice: "This chat was closed after a long silence.", gone: "was closed after a long silence" },
};

function known(reason) {
  return Object.prototype.hasOwnProperty.call(UNASSIGNED_REASONS, reason) ? UNASSIGNED_REASONS[reason] : null;
}

/** The notice shown in a chat that is no longer mine. */
export function unassignedNotice(reason) {
  return known(reason)?.notice || "This chat is no longer yours.";
}

/** What is announced when a chat with `name` is no longer mine. */
export function unassignedAnnouncement(name, reason) {
  return `The chat with ${name} ${known(reason)?.gone || "is no longer yours"}.`;
}

// Whether the resident is there (a Chat's `resident_presence`): a word for the chat list, and a
// sentence for the conversation's header.
export const RESIDENT_PRESENCE = {
  online: { word: "Online", sentence: "The resident is online." },
  away: { word: "Away", sentence: "The resident is away: the chat is not on their screen." },
  left: { word: "Left", sentence: "The resident has left: no chat window of theirs is open." },
};

/** The resident's presence in a chat, or null when the server did not say. */
export function residentPresence(chat) {
  const code = chat?.resident_presence;
  return typeof code === "string" && Object.hasOwn(RESIDENT_PRESENCE, code) ? { code, ...RESIDENT_PRESENCE[code] } : null;
}

// The resident's language (a Chat's `language`) when it is not English: a short badge, its name
// for screen readers, and the language's own name.
export const CHAT_LANGUAGES = {
  es: { badge: "ES", name: "Spanish", own: "Español", tag: "es" },
};

/** The chat's language when it is not English (English chats show nothing), or null. */
export function chatLanguage(chat) {
  const code = chat?.language;
  return typeof code === "string" && Object.hasOwn(CHAT_LANGUAGES, code) ? { code, ...CHAT_LANGUAGES[code] } : null;
}

export const STATUS_LABELS = { available: "Available", away: "Away", offline: "Offline" };

/** Turn the knowledge base's Markdown into text a resident's widget shows well as plain text. */
export function plainFromMarkdown(markdown) {
  return String(markdown ?? "")
    .replace(/\r\n?/g, "\n")
    .replace(/\[([^\]\n]+)\]\(\s*([^\s)]+)\s*\)/g, (_, text, url) => {
      const bare = url.replace(/^(mailto|tel):/i, "");
      return text.trim() === bare || text.trim() === url ? url : `${text} (${bare})`;
    })
    .replace(/\*\*(\S(?:[\s\S]*?\S)?)\*\*/g, "$1")
    .replace(/\\([!-/:-@[-`{-~])/g, "$1")
    .replace(/^\s*\*\s+/gm, "- ")
    .replace(/\n{3,}/g, "\n\n")
    .trim();
}

/** A short, one-line excerpt of a text. */
export function excerpt(text, length = 160) {
  const flat = String(text ?? "").replace(/\s+/g, " ").trim();
  return flat.length > length ? `${flat.slice(0, length - 1).trimEnd()}…` : flat;
}

/** "1 chat", "2 chats". */
export function plural(n, one, many = `${one}s`) {
  return `${n} ${n === 1 ? one : many}`;
}
