// @ts-check
// chatsvc resident chat widget. Embed with one tag:
//   <script src="https://chat.example.org/widget.js" data-title="Chat with us"
//           data-title-es="Chatee con nosotros" data-accent="#00558c"
//           data-server="https://chat.example.org" defer></script>
// A button anywhere on the page opens the chat with a question ready to send:
//   <button type="button" data-chatsvc-ask="How do I schedule a bulky item pickup?">Chat with us</button>
// Everything renders in an open shadow root so the city's CSS and ours never meet.

import { ChatClient } from "./client.js";
import { createStore } from "./storage.js";
import { stylesheet } from "./styles.js";
import { themeFor } from "./theme.js";
import { ChatView } from "./view.js";
import { CATALOGS } from "./catalogs.generated.js";
import { LANGUAGES } from "./languages.js";
import { installCatalogs, language, pickLanguage, setLanguage, t } from "./shared/i18n.js";

// Only available while this script first runs, so read it now.
const script = /** @type {HTMLScriptElement | null} */ (document.currentScript);

function readConfig() {
  const data = (script && script.dataset) || {};
  const fallback = script && script.src ? script.src : location.href;
  let server;
  try {
    // Socket.IO reads a URL path as a namespace, so only the origin is usable.
    server = new URL(data.server || fallback, location.href).origin;
  } catch {
    server = location.origin;
  }
  return {
    server,
    /** @type {Record<string, string>} `data-title` (English), `data-title-es`...: the city's titles */
    titles: Object.fromEntries(
      Object.entries(data)
        .filter(([key]) => key === "title" || /^title[A-Z][a-z]*$/.test(key))
        .map(([key, value]) => [key === "title" ? "en" : key.slice(5).toLowerCase(), String(value || "").trim()]),
    ),
    theme: themeFor(data.accent),
  };
}

function addStyles(shadow, css) {
  // A constructed stylesheet is not blocked by a page's Content-Security-Policy style-src.
  try {
    const sheet = new CSSStyleSheet();
    sheet.replaceSync(css);
    shadow.adoptedStyleSheets = [sheet];
  } catch {
    const style = document.createElement("style");
    style.textContent = css;
    shadow.append(style);
  }
}

// The link in our email when an agent answered after the resident left: the city page with
// `#chatsvc-resume=<code>`. A fragment never reaches a server or its logs.
const RESUME_LINK = /^#chatsvc-resume=([A-Za-z0-9_-]{1,200})$/;

/** The code of a link from our email, taken out of the address bar (it works once). */
function takeResumeCode() {
  const match = RESUME_LINK.exec(location.hash);
  if (!match) return null;
  try {
    history.replaceState(history.state, "", location.pathname + location.search);
  } catch {
    location.hash = "";
  }
  return match[1];
}

function mount() {
  if (document.querySelector("chatsvc-widget")) return; // the tag was included twice
  const config = readConfig();
  const host = document.createElement("chatsvc-widget");
  const shadow = host.attachShadow({ mode: "open" });
  addStyles(shadow, stylesheet(config.theme));
  const store = createStore(config.server);
  installCatalogs(CATALOGS);
  const offered = LANGUAGES.map((l) => l.code);
  setLanguage(
    pickLanguage({ chosen: store.get("language"), page: document.documentElement.lang, browser: navigator.languages || [navigator.language] }, offered),
  );
  // Screen readers pronounce the widget's texts in its language, whatever the page's.
  host.lang = language();
  const client = new ChatClient(config.server, store);
  const ui = createStore(config.server, "session");
  // The city's title in the resident's language (data-title-es="..."; data-title is English),
  // else ours, in that language: an English title in a Spanish widget would be read wrongly.
  const title = () => config.titles[language()] || t("Chat with us");
  /** @param {string} code the resident's choice: kept, and the widget built again in it */
  const chooseLanguage = (code) => {
    if (!offered.includes(code) || code === language()) return;
    store.set("language", code);
    setLanguage(code);
    host.lang = language();
    const state = view.destroy();
    view = new ChatView(shadow, client, { title: title(), ui, onLanguage: chooseLanguage });
    view.carryOver(state);
  };
  let view = new ChatView(shadow, client, { title: title(), ui, onLanguage: chooseLanguage });
  // The chat's language is the server's to change (the resident wrote in another one, and the
  // assistant answers in it from then on): the widget follows, after the event's other
  // listeners (the view is rebuilt).
  client.on("conversation", (/** @type {any} */ conversation) => {
    const spoken = conversation && conversation.language;
    if (typeof spoken === "string" && offered.includes(spoken) && spoken !== language()) {
      queueMicrotask(() => chooseLanguage(spoken));
    }
  });
  document.body.append(host);
  // The link pasted into a tab that is already on the site changes only the fragment.
  window.addEventListener("hashchange", () => {
    const pasted = takeResumeCode();
    if (pasted) view.openFromLink(pasted);
  });
  // A city page's "Chat with us" button, <button data-chatsvc-ask="My question">: opens the
  // chat with that question ready to send (View.ask).
  document.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target.closest("[data-chatsvc-ask]") : null;
    if (!target) return;
    event.preventDefault();
    view.ask(target.getAttribute("data-chatsvc-ask") || "");
  });
  const code = takeResumeCode();
  if (code) {
    view.openFromLink(code);
    return;
  }
  view.restore(); // the panel as the resident left it on the previous page
  // A returning resident: catch up now, so the launcher can show unread replies.
  if (client.hasConversation) client.connect();
}

if (document.body) mount();
else document.addEventListener("DOMContentLoaded", mount, { once: true });
