// @ts-check
// The widget's stylesheet. It lives in the shadow root: the city's CSS cannot reach in and ours
// cannot leak out. Theme values come from themeFor() (validated hex colours only).
// Text colours were picked for WCAG AA: #1b1b1b and #4d4d4d on the light backgrounds used
// here are ≥ 7:1, the error red #b00020 on white is 6.6:1.

export function stylesheet({ accent, onAccent, focus }) {
  return `
:host {
  all: initial;
  --accent: ${accent};
  --on-accent: ${onAccent};
  --focus: ${focus};
  --text: #1b1b1b;
  --muted: #4d4d4d;
  --border: #6b6b6b;
  --error: #b00020;
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
.root {
  font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--text);
}
.sr-only {
  position: absolute; width: 1px; height: 1px; margin: -1px; padding: 0; border: 0;
  overflow: hidden; clip: rect(0 0 0 0); clip-path: inset(50%); white-space: nowrap;
}
button, input, textarea { font: inherit; color: inherit; }
button { cursor: pointer; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }

.launcher {
  position: fixed; right: 16px; bottom: 16px; z-index: 2147483000;
  display: inline-flex; align-items: center; gap: 8px;
  min-height: 48px; padding: 10px 18px; border: 2px solid var(--on-accent); border-radius: 999px;
  background: var(--accent); color: var(--on-accent); font-weight: 600;
  box-shadow: 0 4px 14px rgba(0, 0, 0, 0.3);
}
/* The newest unread message beside the closed launcher: dark text on white (16:1). */
.preview-area {
  position: fixed; right: 16px; bottom: 76px; z-index: 2147483000;
  width: 300px; max-width: calc(100vw - 32px);
}
.preview {
  display: flex; align-items: flex-start;
  background: #fff; border: 1px solid #8a8a8a; border-radius: 12px;
  box-shadow: 0 4px 14px rgba(0, 0, 0, 0.25);
}
.preview-open {
  flex: 1; min-width: 0; display: flex; flex-direction: column; gap: 2px;
  padding: 10px 4px 12px 14px; border: 0; border-radius: 12px 0 0 12px; background: transparent;
  color: var(--text); text-align: left; font-size: 15px; line-height: 1.35;
}
.preview-open:hover .preview-text { text-decoration: underline; }
.preview-author { font-weight: 700; font-size: 14px; }
.preview-text {
  display: -webkit-box; -webkit-box-orient: vertical; -webkit-line-clamp: 3; overflow: hidden;
  overflow-wrap: anywhere;
}
.preview-dismiss {
  display: inline-flex; align-items: center; justify-content: center; flex: none;
  width: 40px; height: 40px; margin: 2px; padding: 0; border: 0; border-radius: 8px;
  background: transparent; color: var(--muted);
}
.preview-dismiss:hover { background: #eef0f3; color: var(--text); }
.badge {
  min-width: 24px; padding: 0 6px; border-radius: 12px; background: #b00020; color: #fff;
  font-size: 14px; line-height: 24px; text-align: center;
}

.panel {
  position: fixed; right: 16px; bottom: 84px; z-index: 2147483001;
  display: flex; flex-direction: column;
  width: 380px; max-width: calc(100vw - 32px);
  height: 680px; max-height: calc(100vh - 110px);
  background: #fff; border: 1px solid #8a8a8a; border-radius: 12px; overflow: hidden;
  box-shadow: 0 8px 30px rgba(0, 0, 0, 0.3);
  animation: csc-open 0.16s ease-out;
}
/* Movement only, no fade: text keeps its full contrast from the first frame. */
@keyframes csc-open { from { transform: translateY(12px); } }

.header {
  display: flex; align-items: center; gap: 8px; padding: 10px 12px 10px 16px;
  background: var(--accent); color: var(--on-accent);
}
.header h2 { flex: 1; margin: 0; font-size: 18px; line-height: 1.3; }
.header button {
  min-height: 36px; border: 1px solid var(--on-accent); border-radius: 6px;
  background: transparent; color: var(--on-accent); padding: 4px 10px;
}
.header .close { display: inline-flex; align-items: center; justify-content: center; width: 40px; padding: 0; border-color: transparent; }
.header :focus-visible { outline-color: var(--on-accent); outline-offset: 1px; }
/* The language (English / Español): like the header's buttons; its list in the page's colours. */
.header .language[hidden] { display: none; }
.header select {
  min-height: 36px; border: 1px solid var(--on-accent); border-radius: 6px; font: inherit; font-size: 15px;
  background: transparent; color: var(--on-accent); padding: 4px 6px; cursor: pointer;
}
.header select option { color: #1a1a1a; background: #fff; }

.status { margin: 0; padding: 6px 16px; background: #fff3cd; color: #3d2e00; font-size: 14px; }
.status.ok { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); padding: 0; }

.body { flex: 1; display: flex; flex-direction: column; min-height: 0; }

.prechat { flex: 1; overflow-y: auto; padding: 16px; }
.prechat h3 { margin: 0 0 8px; font-size: 20px; }
.prechat p { margin: 0 0 12px; }
.notice { padding: 8px 12px; border-left: 4px solid var(--focus); background: #eef0f3; }
/* An empty live region stays in place (a status said into it is announced) but shows nothing. */
.notice:empty { padding: 0; border: 0; background: none; margin: 0; }
.hint { color: var(--muted); font-size: 14px; }
.field { margin-bottom: 14px; }
.field label { display: block; font-weight: 600; margin-bottom: 4px; }
.field input, .field textarea, .composer textarea {
  display: block; width: 100%; padding: 8px 10px; border: 1px solid var(--border); border-radius: 6px;
  background: #fff;
}
.field textarea { min-height: 96px; resize: vertical; }
[aria-invalid="true"] { border: 2px solid var(--error) !important; }
.error { margin: 4px 0 0 !important; color: var(--error); font-size: 14px; }
.error:empty { display: none; }
.primary {
  min-height: 44px; padding: 8px 18px; border: 0; border-radius: 6px;
  background: var(--accent); color: var(--on-accent); font-weight: 600;
}
.primary[aria-disabled="true"] { cursor: progress; opacity: 0.85; }
/* Second choices: dark text on white (16:1), a border in the focus colour (≥ 3:1, see themeFor). */
.secondary {
  min-height: 44px; padding: 8px 16px; border: 2px solid var(--focus); border-radius: 6px;
  background: #fff; color: var(--text); font-weight: 600; text-align: left;
}
.secondary:hover { background: #eef0f3; }
.actions { display: flex; flex-wrap: wrap; gap: 8px; margin-bottom: 12px; }

/* The leave-a-message form and its confirmation. Its buttons stay at the panel's foot when
   the form is taller than the panel (scroll-padding keeps a focused field clear of them). */
.lead { font-weight: 600; }
.leave { padding-bottom: 0; scroll-padding-bottom: 76px; }
.leave p.hours { color: var(--muted); font-size: 14px; margin-bottom: 4px; }
.leave .hint { margin-bottom: 8px; }
.leave .field { margin-bottom: 8px; }
.leave .field label { margin-bottom: 2px; }
.leave .field textarea { min-height: 72px; }
.leave .actions {
  position: sticky; bottom: 0; flex-wrap: nowrap; gap: 6px; margin: 0 -16px; padding: 8px 16px;
  background: #fff; border-top: 1px solid #d0d0d0;
}
.leave .actions .primary { padding: 8px 14px; white-space: nowrap; }
.leave .actions .secondary { font-size: 14px; padding: 6px 10px; }
.checking p { color: var(--muted); }
.confirmation h3 { outline-offset: 4px; }
.confirmation strong { font-weight: 700; letter-spacing: 0.04em; }
/* The honeypot: off-screen (not display:none, which robots notice), never in the tab order. */
.trap { position: absolute; left: -10000px; top: auto; width: 1px; height: 1px; overflow: hidden; }

.chat { flex: 1; display: flex; flex-direction: column; min-height: 0; }
.log-wrap { flex: 1; min-height: 0; position: relative; display: flex; flex-direction: column; }
.log {
  flex: 1; min-height: 0; overflow-y: auto; padding: 12px; display: flex; flex-direction: column; gap: 10px;
}
/* Scrolled up when a message came: a pill over the log's bottom takes the resident down. */
.new-messages {
  position: absolute; bottom: 10px; left: 50%; transform: translateX(-50%);
  display: inline-flex; align-items: center; gap: 6px;
  min-height: 36px; padding: 6px 14px; border: 2px solid var(--on-accent); border-radius: 18px;
  background: var(--accent); color: var(--on-accent); font-size: 14px; font-weight: 600;
  box-shadow: 0 2px 8px rgba(0, 0, 0, 0.3); white-space: nowrap;
}
.log:focus-visible { outline-offset: -3px; }
.msg { max-width: 85%; padding: 8px 12px; border-radius: 12px; align-self: flex-start; }
.msg p { margin: 0; }
.meta { display: flex; gap: 8px; font-size: 13px; color: var(--muted); }
.author { font-weight: 700; }
.text { white-space: pre-wrap; overflow-wrap: anywhere; }
.text a { color: #0b4f8a; }
/* The assistant's Markdown: blocks instead of preformatted text. */
.text.markdown { white-space: normal; }
.msg .markdown > * + * { margin-top: 8px; }
.markdown ul, .markdown ol { margin: 0; padding-left: 1.4em; }
.markdown li + li { margin-top: 2px; }
.markdown strong { font-weight: 700; }
/* A photo the resident sent: a thumbnail in their bubble, never wider than it. */
.text.photo img { display: block; max-width: 100%; max-height: 200px; border-radius: 8px; background: #fff; }
.msg-resident .text.photo { font-size: 14px; font-style: italic; }
.quick-reply.photo { display: inline-flex; align-items: center; gap: 6px; }
.quick-reply.photo svg { flex: none; width: 20px; height: 20px; }
.msg-resident { align-self: flex-end; background: var(--accent); color: var(--on-accent); border-bottom-right-radius: 4px; }
.msg-resident .meta, .msg-resident .text a, .msg-resident .state { color: var(--on-accent); }
.msg-assistant { background: #eef0f3; border-bottom-left-radius: 4px; }
.msg-agent { background: #fdf1dc; border: 1px solid #c98a1b; border-bottom-left-radius: 4px; }
.msg-system { align-self: center; max-width: 95%; padding: 2px 8px; text-align: center; color: var(--muted); font-size: 14px; }
.msg-system .meta { justify-content: center; }
/* Suggested replies under the newest message: pills that wrap, 44 px targets, dark text on white
   (16:1) and a border in the focus colour (≥ 3:1 on white, see themeFor). */
.quick-replies { display: flex; flex-wrap: wrap; gap: 8px; max-width: 100%; align-self: flex-start; }
.quick-reply {
  max-width: 100%; min-height: 44px; padding: 8px 14px; border: 2px solid var(--focus); border-radius: 22px;
  background: #fff; color: var(--text); font-size: 15px; line-height: 1.3; text-align: left;
  white-space: normal; overflow-wrap: anywhere;
}
.quick-reply:hover { background: #eef0f3; }
/* In the log after a handover nobody can take soon: leave a message instead of waiting. */
.offer {
  align-self: stretch; padding: 10px 12px; border: 1px solid #8a9bb0; border-radius: 8px;
  background: #eef4fa; color: var(--text); font-size: 15px;
}
.offer p { margin: 0 0 8px; }
.state { font-size: 13px; font-style: italic; margin-top: 2px !important; }
.msg[data-state="failed"] { background: #fff; color: var(--text); border: 2px solid var(--error); }
.msg[data-state="failed"] .meta { color: var(--muted); }
.msg[data-state="failed"] .state { color: var(--error); font-style: normal; }
.msg[data-state="pending"], .msg[data-state="sending"] { opacity: 0.92; }

.wait { margin: 0; padding: 8px 16px; background: var(--wait-bg, #eef4fa); color: #1b1b1b; font-size: 14px; border-top: 1px solid #d0d7de; }
/* Asked to slow down: information, not an error (no red). Dark text on pale grey (15:1) with a
   bar in the focus colour, like the form's notices; once the wait is over, plain white. */
.limit {
  margin: 0; padding: 8px 12px; border-top: 1px solid #d0d7de; border-left: 4px solid var(--focus);
  background: #eef0f3; color: var(--text); font-size: 14px;
}
.limit.ready { background: #fff; }
.limit a { color: #0b4f8a; font-weight: 600; white-space: nowrap; }
.prechat .limit { margin: 0 0 12px; border-top: 0; }
/* A button waiting for the end of a wait: it looks unavailable (and says so: aria-disabled). */
.primary.waiting { cursor: not-allowed; opacity: 0.6; }
.typing { margin: 0; padding: 2px 16px 6px; color: var(--muted); font-size: 14px; font-style: italic; }
.ended { padding: 12px 16px; border-top: 1px solid #d0d0d0; text-align: center; }
.ended p { margin: 0 0 8px; font-weight: 600; }
.ended .hint { font-weight: 400; }
/* The ended screen can hold a rating and the transcript offer: it scrolls, the log keeps room. */
.ended { max-height: 65%; overflow-y: auto; }
.ended > .primary { margin-top: 4px; }
.transcript { margin: 0 0 10px; }
.transcript .field { text-align: left; }
.transcript-status { margin: 6px 0 0 !important; font-weight: 400 !important; font-size: 14px; }
.transcript-status:empty { display: none; }
.transcript-strip {
  display: flex; flex-direction: row-reverse; flex-wrap: wrap; align-items: flex-start; gap: 8px;
  padding: 8px 12px; border-top: 1px solid #d0d0d0; background: #f6f7f9;
}
.transcript-strip .transcript { flex: 1; margin: 0; }
.link {
  min-height: 44px; padding: 4px 8px; border: 0; background: transparent; color: #0b4f8a;
  text-decoration: underline; font-size: 14px;
}
/* "How did we do?": five numbered choices, each a 44 px target with its words for screen readers. */
.rating { text-align: left; margin: 0 0 12px; }
.rating fieldset { border: 0; margin: 0; padding: 0; min-width: 0; }
.rating legend { font-weight: 600; padding: 0; margin-bottom: 2px; }
.rating p.hint { margin: 0 0 6px; font-weight: 400; }
.rating .field { margin: 10px 0 8px; }
.rating .field label { font-weight: 600; }
.rating .field textarea { min-height: 56px; resize: vertical; }
.rating .actions { margin: 0; }
.scores { display: flex; gap: 6px; flex-wrap: wrap; }
.score {
  display: inline-flex; align-items: center; gap: 4px; min-width: 52px; min-height: 44px;
  padding: 4px 10px; border: 2px solid var(--focus); border-radius: 6px; background: #fff;
  font-weight: 600; cursor: pointer;
}
.score:has(input:checked) { background: var(--accent); color: var(--on-accent); border-color: var(--accent); }
.score input { margin: 0; accent-color: var(--accent); }
.thanks { font-weight: 400 !important; }
.thanks:empty { display: none; }
/* The header's "More options" menu. */
.menu-wrap { position: relative; }
.header .more { font-size: 20px; line-height: 1; width: 40px; padding: 0; }
.menu {
  position: absolute; right: 0; top: calc(100% + 4px); z-index: 2; min-width: 240px;
  padding: 4px; border: 1px solid #8a8a8a; border-radius: 8px; background: #fff;
  box-shadow: 0 4px 16px rgba(0, 0, 0, 0.25);
}
.menu [role="menuitem"] {
  display: block; width: 100%; min-height: 44px; padding: 8px 12px; border: 0; border-radius: 6px;
  background: transparent; color: var(--text); text-align: left; font-weight: 400;
}
.menu [role="menuitem"]:hover, .menu [role="menuitem"]:focus { background: #eef0f3; }
.header .menu :focus-visible { outline-color: var(--focus); }
/* "End this chat?" in the composer's place. */
.confirm-end { padding: 12px 16px; border-top: 1px solid #d0d0d0; background: #fff; }
.confirm-end p { margin: 0 0 8px; font-size: 15px; }
.confirm-end .actions { margin: 0; }
.alert { margin: 0; padding: 0 16px 6px; color: var(--error); font-size: 14px; }
.alert:empty { display: none; }
.progress { margin: 0; padding: 0 16px 6px; color: var(--muted); font-size: 14px; }
.progress:empty { display: none; }
.composer { display: flex; flex-wrap: wrap; gap: 8px; align-items: flex-end; padding: 10px 12px 12px; border-top: 1px solid #d0d0d0; }
.composer textarea { flex: 1; min-width: 0; height: 64px; max-height: 160px; resize: none; }
.composer textarea::placeholder, .field ::placeholder { color: #595959; opacity: 1; }
.counter { flex-basis: 100%; order: 3; margin: 0; font-size: 13px; color: var(--muted); }
.counter.over { color: var(--error); font-weight: 600; }

@media (max-width: 479.98px) {
  .panel {
    inset: 0; right: 0; bottom: 0; width: 100%; max-width: none; height: 100%; max-height: none;
    border: 0; border-radius: 0;
  }
}
@media (prefers-reduced-motion: reduce) {
  .panel { animation: none; }
  .log { scroll-behavior: auto; }
}
@media (forced-colors: active) {
  .msg, .launcher, .primary { border: 1px solid CanvasText; }
  .quick-reply, .secondary { border-color: ButtonText; }
  .offer, .limit, .preview, .new-messages { border: 1px solid CanvasText; }
}
`;
}
