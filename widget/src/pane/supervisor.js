// @ts-check
// The supervisor view: the team's status and load, each agent's chats under their row (View,
// Take over, Reassign…), the live queue with "Assign…", a way to open any chat by its number,
// and the canned responses (add, edit, delete).

import { el } from "../shared/dom.js";
import { formatTime, parseTime } from "../shared/time.js";
import { field, formDialog } from "./dialog.js";
import { STATUS_LABELS, assignedLabel, excerpt, topicGuess, topicName, waitingLabel } from "./format.js";
import { reconcile } from "./lists.js";

const SHORTCUT = /^[a-z0-9][a-z0-9_-]{0,31}$/;
// `agents` events come in bursts (a transfer changes two agents' loads, routing several): an
// agent's shown chats are asked for once the burst settles, one request per agent at a time.
const REFRESH_MS = 300;
const TEAM_COLUMNS = 6;

export class SupervisorView {
  constructor(client, notifier, pane) {
    this.client = client;
    this.notifier = notifier;
    this.pane = pane;
    this.editing = null; // the canned response being edited, or null when adding
    this.expanded = new Set(); // staff ids whose chats are shown under their row
    this.held = new Map(); // staff id -> {chats: [Chat]|null, error: string|null}
    this.loads = new Map(); // staff id -> active_chats in the last `agents` event
    this.dirty = new Set(); // staff ids whose shown chats are to be asked for again
    this.inFlight = new Set(); // staff ids with an agent_chats request out
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.refreshTimer = undefined;
    this.build();
    client.on("agents", () => this.onAgents());
    client.on("ready", () => {
      this.openChatHint.textContent = this.openChatHintText();
      this.refreshExpanded();
      this.loadRatings();
    });
    client.on("chat", (chat) => this.onChat(chat));
    client.on("canned", () => this.renderCanned());
  }

  /** The hint under "Chat number", naming the assistant once hello told its name. */
  openChatHintText() {
    return `Any chat, ended or with ${this.client.assistantName} too: the number is on each chat, as “Chat #42”.`;
  }

  build() {
    this.teamBody = el("tbody");
    this.teamHeading = el("h2", { id: "sv-team-h", tabindex: "-1", text: "Team" });
    this.queueBody = el("tbody");
    this.queueEmpty = el("p", { class: "hint", text: "Nobody is waiting." });
    this.cannedEmpty = el("p", { class: "hint", text: "No canned responses yet: add the first one below." });
    this.queueHeading = el("h2", { id: "sv-queue-h", tabindex: "-1", text: "Queue" });
    this.cannedBody = el("tbody");
    this.cannedHeading = el("h2", { id: "sv-canned-h", tabindex: "-1", text: "Canned responses" });

    this.chatNumber = el("input", {
      type: "text",
      inputmode: "numeric",
      id: "open-chat-number",
      autocomplete: "off",
      class: "narrow",
      "aria-describedby": "open-chat-hint",
    });
    this.openChatHint = el("p", { class: "hint", id: "open-chat-hint", text: this.openChatHintText() });
    this.openError = el("p", { class: "error", id: "open-chat-error", hidden: true, "aria-live": "polite" });
    const openForm = el(
      "form",
      { class: "inline-form", novalidate: true },
      el("label", { for: this.chatNumber.id, text: "Chat number" }),
      this.openChatHint,
      el("div", { class: "inline" }, this.chatNumber, el("button", { type: "submit", class: "secondary" }, "Open chat")),
      this.openError,
    );
    openForm.addEventListener("submit", (event) => {
      event.preventDefault();
      const id = Number(this.chatNumber.value.trim().replace(/^#/, ""));
      if (!Number.isInteger(id) || id < 1) {
        this.openError.textContent = "Enter a chat number, e.g. 42.";
        this.openError.hidden = false;
        this.chatNumber.setAttribute("aria-invalid", "true");
        this.chatNumber.setAttribute("aria-describedby", `open-chat-hint ${this.openError.id}`);
        return;
      }
      this.openError.hidden = true;
      this.chatNumber.removeAttribute("aria-invalid");
      this.chatNumber.setAttribute("aria-describedby", "open-chat-hint");
      this.pane.openConversation(id, { focus: "title" });
    });

    this.root = el(
      "div",
      { class: "supervisor" },
      el(
        "section",
        { "aria-labelledby": "sv-team-h" },
        this.teamHeading,
        el("p", { class: "hint", text: "Choose an agent's number of chats to list the chats they hold." }),
        el(
          "div",
          { class: "table-wrap" },
          el(
            "table",
            { class: "team" },
            el("caption", { class: "sr-only", text: "Each agent's status and load" }),
            el("thead", {}, row("th", ["Agent", "Role", "Status", "Chats", "Connection", "Workgroups"])),
            this.teamBody,
          ),
        ),
      ),
      el(
        "section",
        { "aria-labelledby": "sv-queue-h" },
        this.queueHeading,
        this.queueEmpty,
        el(
          "div",
          { class: "table-wrap", hidden: true },
          el(
            "table",
            { class: "queue" },
            el("caption", { class: "sr-only", text: "Residents waiting, next first" }),
            el("thead", {}, row("th", ["#", "Resident", "Topic guess", "Workgroup", "Waiting", "Actions"])),
            this.queueBody,
          ),
        ),
      ),
      this.buildRatings(),
      el("section", { "aria-labelledby": "sv-open-h" }, el("h2", { id: "sv-open-h", text: "Open a chat by number" }), openForm),
      el("section", { "aria-labelledby": "sv-canned-h" }, this.cannedHeading, this.buildCannedTable(), this.buildCannedForm()),
    );
  }

  // --- residents' ratings -----------------------------------------------------------------

  buildRatings() {
    this.ratingsBody = el("tbody");
    this.ratingsEmpty = el("p", { class: "hint", text: "No ratings in the last 30 days." });
    this.ratingsError = el("p", { class: "error", hidden: true, "aria-live": "polite" });
    this.recentRatings = el("ul", { class: "recent-ratings" });
    this.ratingsTable = el(
      "div",
      { class: "table-wrap", hidden: true },
      el(
        "table",
        { class: "ratings-table" },
        el("caption", { class: "sr-only", text: "Residents' ratings by agent, last 30 days" }),
        el(
          "thead",
          {},
          el("tr", {}, el("th", { text: "Agent" }), el("th", { class: "number", text: "Ratings" }), el("th", { class: "number", text: "Average (1 to 5)" }), el("th", { class: "by-score", text: "By score, 1 to 5" })),
        ),
        this.ratingsBody,
      ),
    );
    return el(
      "section",
      { "aria-labelledby": "sv-ratings-h" },
      el("h2", { id: "sv-ratings-h", tabindex: "-1", text: "Residents' ratings" }),
      el("p", { class: "hint", text: "Last 30 days. A rating counts for the agent who held the chat when it ended." }),
      el("button", { type: "button", class: "secondary", onclick: () => this.loadRatings() }, "Refresh ratings"),
      this.ratingsError,
      this.ratingsEmpty,
      this.ratingsTable,
      el("h3", { text: "Newest ratings" }),
      this.recentRatings,
    );
  }

  async loadRatings() {
    if (!this.client.isSupervisor) return;
    const ack = await this.client.ratings(30);
    this.ratingsError.hidden = ack.ok;
    if (!ack.ok) {
      this.ratingsError.textContent = `The ratings could not be loaded: ${ack.error.message}`;
      return;
    }
    const agents = Array.isArray(ack.agents) ? ack.agents : [];
    this.ratingsEmpty.hidden = agents.length > 0;
    this.ratingsTable.hidden = !agents.length;
    this.ratingsBody.replaceChildren(
      ...agents.map((a) =>
        el(
          "tr",
          {},
          el("th", { scope: "row", text: a.staff_name || "No agent (lost before the end)" }),
          el("td", { class: "number", text: String(a.ratings) }),
          el("td", { class: "number", text: Number(a.average).toFixed(1) }),
          el("td", { class: "by-score", text: ["1", "2", "3", "4", "5"].map((k) => a.by_score?.[k] ?? 0).join(" · ") }),
        ),
      ),
    );
    const recent = Array.isArray(ack.recent) ? ack.recent : [];
    this.recentRatings.replaceChildren(
      ...(recent.length
        ? recent.map((r) => {
            const when = formatTime(r.created_at);
            return el(
              "li",
              {},
              el("strong", { text: `${r.score} of 5 (${r.label})` }),
              ` ${r.staff?.name ? `for ${r.staff.name}` : "no agent"}, `,
              when ? el("time", { datetime: when.datetime, text: when.label }) : "",
              ", ",
              el("button", { type: "button", class: "link", onclick: () => this.pane.openConversation(r.conversation_id, { focus: "title" }) }, `Chat #${r.conversation_id}`),
              r.comment ? el("blockquote", { class: "resident-comment", text: r.comment }) : "",
            );
          })
        : [el("li", { class: "hint", text: "None yet." })]),
    );
  }

  // --- team and queue ----------------------------------------------------------------------

  renderTeam() {
    const agents = [...this.client.agents].sort((a, b) => String(a.display_name).localeCompare(String(b.display_name)));
    // Two rows an agent: theirs, then (when expanded) the chats they hold.
    const rows = agents.flatMap((agent) => [
      { key: `a:${agent.id}`, agent },
      { key: `c:${agent.id}`, agent, chats: true },
    ]);
    const lost = reconcile(
      this.teamBody,
      rows,
      (r) => r.key,
      (r) => (r.chats ? this.heldRow(r.agent) : this.agentRow(r.agent)),
      (tr, r) => (r.chats ? this.updateHeldRow(tr, r.agent) : this.updateAgentRow(tr, r.agent)),
    );
    if (lost) this.teamHeading.focus();
  }

  agentRow(agent) {
    const count = el("span");
    const who = el("span", { class: "sr-only" });
    const toggle = el(
      "button",
      {
        type: "button",
        class: "link disclosure",
        "aria-expanded": "false",
        "aria-controls": heldRowId(agent.id),
        onclick: () => this.toggleAgent(agent.id),
      },
      el("span", { class: "chevron", "aria-hidden": "true" }),
      count,
      who,
    );
    const tr = el("tr", {}, el("th", { scope: "row" }), el("td"), el("td"), el("td", {}, toggle), el("td"), el("td"));
    tr._parts = { toggle, count, who };
    return tr;
  }

  updateAgentRow(tr, a) {
    const [name, role, status, , connection, groups] = tr.children;
    const p = tr._parts;
    name.textContent = a.display_name;
    role.textContent = a.role;
    status.replaceChildren(el("span", { class: `dot dot-${a.status}`, "aria-hidden": "true" }), STATUS_LABELS[a.status] || a.status);
    p.count.textContent = `${a.active_chats} of ${a.max_chats}`;
    p.who.textContent = ` chats of ${a.display_name}`;
    p.toggle.setAttribute("aria-expanded", String(this.expanded.has(a.id)));
    const grace = a.grace_until && formatTime(a.grace_until);
    connection.textContent = a.connected ? "Connected" : grace ? `Disconnected, offline at ${grace.label}` : "Not connected";
    groups.textContent = (a.workgroups || []).join(", ") || "—";
  }

  heldRow(agent) {
    const status = el("p", { class: "hint" });
    const list = el("ul", { class: "held-list" });
    const error = el("p", { class: "error", hidden: true, "aria-live": "polite" });
    const tr = el("tr", { class: "held-row", id: heldRowId(agent.id), hidden: true }, el("td", { colspan: TEAM_COLUMNS }, status, list, error));
    tr._parts = { status, list, error };
    return tr;
  }

  updateHeldRow(tr, agent) {
    const p = tr._parts;
    const shown = this.expanded.has(agent.id);
    tr.hidden = !shown;
    if (!shown) return;
    const entry = this.held.get(agent.id);
    const chats = entry?.chats || [];
    p.list.setAttribute("aria-label", `Chats of ${agent.display_name}`);
    // A failed refresh keeps the list it had, and says so.
    const problem = entry?.error ? `The chats could not be loaded: ${entry.error}` : "";
    p.status.textContent = problem || (!entry?.chats ? "Loading…" : chats.length ? "" : "No open chats.");
    p.status.className = problem ? "error" : "hint";
    p.status.hidden = !p.status.textContent;
    p.list.hidden = chats.length === 0;
    const mine = agent.id === this.client.me?.id;
    const lost = reconcile(
      p.list,
      chats,
      (c) => c.id,
      (chat) => this.heldItem(chat, agent.id),
      (li, chat) => this.updateHeldItem(li, chat, mine),
    );
    if (lost) this.agentToggle(agent.id)?.focus();
  }

  heldItem(chat, staffId) {
    const name = el("span", { class: "name" });
    const emergency = el("span", { class: "badge emergency", text: "Emergency" });
    const topic = el("span");
    const since = el("span", { class: "held-since" });
    const labels = [0, 1, 2].map(() => el("span", { class: "sr-only" }));
    const takeOver = el(
      "button",
      { type: "button", class: "small", onclick: () => this.pane.takeOver(chat.id, (message) => this.showHeldError(staffId, message)) },
      "Take over",
      labels[1],
    );
    const li = el(
      "li",
      { class: "held-chat" },
      el("p", { class: "line" }, name, " ", emergency),
      el("p", { class: "sub" }, topic, " · ", since),
      el(
        "div",
        { class: "entry-actions" },
        el("button", { type: "button", class: "secondary small", onclick: () => this.pane.openConversation(chat.id, { focus: "title" }) }, "View", labels[0]),
        takeOver,
        el(
          "button",
          {
            type: "button",
            class: "secondary small",
            onclick: (e) => this.pane.reassignDialog(chat.id, e.currentTarget, () => this.agentToggle(staffId) || this.teamHeading),
          },
          "Reassign…",
          labels[2],
        ),
      ),
    );
    li._parts = { name, emergency, topic, since, labels, takeOver };
    return li;
  }

  updateHeldItem(li, chat, mine) {
    const p = li._parts;
    const name = chat.resident?.name || "Resident";
    p.name.textContent = name;
    p.emergency.hidden = !chat.emergency;
    p.topic.textContent = topicGuess(this.client.topics, chat.topic);
    const since = parseTime(chat.assigned_at);
    p.since.dataset.since = String(since);
    p.since.textContent = assignedLabel(since, Date.now());
    for (const label of p.labels) label.textContent = ` chat with ${name}`;
    p.takeOver.hidden = mine; // a supervisor's own chat: nothing to take over
  }

  agentToggle(staffId) {
    const tr = [...this.teamBody.children].find((node) => node.dataset.key === `a:${staffId}`);
    return tr?._parts.toggle || null;
  }

  showHeldError(staffId, message) {
    const tr = [...this.teamBody.children].find((node) => node.dataset.key === `c:${staffId}`);
    if (!tr) return;
    tr._parts.error.textContent = message || "";
    tr._parts.error.hidden = !message;
  }

  // --- keeping each shown agent's chats up to date -------------------------------------------

  toggleAgent(staffId) {
    if (this.expanded.has(staffId)) this.expanded.delete(staffId);
    else {
      this.expanded.add(staffId);
      this.dirty.add(staffId);
      this.flush();
    }
    this.renderTeam();
  }

  onAgents() {
    for (const agent of this.client.agents) {
      const before = this.loads.get(agent.id);
      this.loads.set(agent.id, agent.active_chats);
      if (before !== undefined && before !== agent.active_chats) this.stale(agent.id);
    }
    this.renderTeam();
  }

  /** A chat I see moved: the lists it left and joined are out of date. */
  onChat(chat) {
    const to = chat.status === "open" && chat.stage === "agent" ? chat.assigned?.id : null;
    for (const [staffId, entry] of this.held) {
      if (staffId !== to && entry.chats?.some((c) => c.id === chat.id)) this.stale(staffId);
    }
    if (Number.isInteger(to) && !this.held.get(to)?.chats?.some((c) => c.id === chat.id)) this.stale(to);
  }

  /** An agent's chats changed: ask again if they are shown, else forget them. */
  stale(staffId) {
    if (!this.expanded.has(staffId)) {
      this.held.delete(staffId);
      return;
    }
    this.dirty.add(staffId);
    this.schedule();
  }

  /** Called when the supervisor view is shown: what is expanded may have changed meanwhile. */
  shown() {
    this.refreshExpanded();
    this.flush();
  }

  refreshExpanded() {
    for (const staffId of this.expanded) this.dirty.add(staffId);
    this.schedule();
  }

  visible() {
    return this.pane.view === "supervisor";
  }

  schedule() {
    // Hidden: nothing is asked for until the view is shown again (shown() asks for all).
    if (this.refreshTimer || !this.visible() || !this.dirty.size) return;
    this.refreshTimer = setTimeout(() => this.flush(), REFRESH_MS);
  }

  flush() {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = undefined;
    if (!this.visible() || !this.client.ready) return;
    for (const staffId of [...this.dirty]) {
      if (this.inFlight.has(staffId)) continue; // asked again once this answer is in
      this.dirty.delete(staffId);
      if (this.expanded.has(staffId)) this.fetchHeld(staffId);
    }
  }

  async fetchHeld(staffId) {
    this.inFlight.add(staffId);
    const ack = await this.client.agentChats(staffId);
    this.inFlight.delete(staffId);
    const before = this.held.get(staffId);
    this.held.set(staffId, ack.ok ? { chats: ack.chats, error: null } : { chats: before?.chats || null, error: ack.error.message });
    const tr = [...this.teamBody.children].find((node) => node.dataset.key === `c:${staffId}`);
    const agent = this.client.agents.find((a) => a.id === staffId);
    if (tr && agent) this.updateHeldRow(tr, agent);
    if (this.dirty.has(staffId)) this.schedule();
  }

  renderQueue() {
    const entries = [...this.client.queue].sort((a, b) => (a.position ?? 0) - (b.position ?? 0));
    this.queueEmpty.hidden = entries.length > 0;
    this.queueBody.closest(".table-wrap").hidden = entries.length === 0;
    const lost = reconcile(
      this.queueBody,
      entries,
      (c) => c.id,
      (entry) => {
        const who = el("span", { class: "sr-only" });
        const who2 = el("span", { class: "sr-only" });
        const tr = el(
          "tr",
          {},
          el("td"),
          el("th", { scope: "row" }),
          el("td"),
          el("td"),
          el("td", {}, el("span", { class: "waiting" })),
          el(
            "td",
            { class: "actions" },
            el("button", { type: "button", class: "secondary small", onclick: () => this.pane.openConversation(entry.id, { focus: "title" }) }, "View", who),
            el("button", { type: "button", class: "small", onclick: (e) => this.pane.reassignDialog(entry.id, e.currentTarget) }, "Assign…", who2),
          ),
        );
        tr._parts = { who, who2 };
        return tr;
      },
      (tr, entry) => {
        const [position, resident, topic, workgroup, waiting] = tr.children;
        const name = entry.resident?.name || "Resident";
        position.textContent = String(entry.position ?? "");
        resident.replaceChildren(name);
        if (entry.emergency) resident.append(" ", el("span", { class: "badge emergency", text: "Emergency" }));
        resident.append(el("span", { class: "sub block", text: excerpt(entry.first_question, 80) }));
        topic.textContent = topicName(this.client.topics, entry.topic) || "—";
        workgroup.textContent = entry.workgroup || "—";
        const since = parseTime(entry.queued_at || entry.created_at);
        const span = waiting.firstChild;
        span.dataset.since = String(since);
        span.textContent = waitingLabel(since, Date.now());
        tr._parts.who.textContent = ` chat from ${name}`;
        tr._parts.who2.textContent = ` chat from ${name}`;
      },
    );
    if (lost) this.queueHeading.focus();
  }

  // --- canned responses ----------------------------------------------------------------------

  buildCannedTable() {
    return el(
      "div",
      {},
      this.cannedEmpty,
      el(
      "div",
      { class: "table-wrap", hidden: true },
      el(
        "table",
        { class: "canned" },
        el("caption", { class: "sr-only", text: "Canned responses" }),
        el("thead", {}, row("th", ["Shortcut", "Title", "Text", "Actions"])),
        this.cannedBody,
      ),
      ),
    );
  }

  buildCannedForm() {
    this.cannedFormTitle = el("h3", { id: "canned-form-h", tabindex: "-1", text: "Add a canned response" });
    this.cannedShortcut = el("input", { type: "text", id: "canned-shortcut", autocomplete: "off", spellcheck: "false", maxlength: 32 });
    this.cannedTitle = el("input", { type: "text", id: "canned-title", autocomplete: "off", maxlength: 100 });
    this.cannedText = el("textarea", { id: "canned-text", rows: 4, maxlength: 4000 });
    // The Spanish version: what a Spanish chat's agent inserts (both, or neither).
    this.cannedTitleEs = el("input", { type: "text", id: "canned-title-es", autocomplete: "off", maxlength: 100, lang: "es" });
    this.cannedTextEs = el("textarea", { id: "canned-text-es", rows: 4, maxlength: 4000, lang: "es" });
    this.cannedError = el("p", { class: "error", id: "canned-error", hidden: true, "aria-live": "polite" });
    this.cannedCancel = el("button", { type: "button", class: "secondary", hidden: true, onclick: () => this.resetCannedForm(true) }, "Cancel editing");
    const form = el(
      "form",
      { class: "canned-form", novalidate: true, "aria-labelledby": "canned-form-h" },
      this.cannedFormTitle,
      field("Shortcut", this.cannedShortcut, "Lower-case letters, digits, - and _: agents type / and the shortcut."),
      field("Title", this.cannedTitle),
      field("Text", this.cannedText),
      field("Title in Spanish (optional)", this.cannedTitleEs),
      field("Text in Spanish (optional)", this.cannedTextEs, "Inserted in chats in Spanish; agents can still pick the English."),
      this.cannedError,
      el("div", { class: "dialog-actions" }, el("button", { type: "submit" }, "Save"), this.cannedCancel),
    );
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.saveCanned();
    });
    return form;
  }

  renderCanned() {
    const empty = this.client.canned.length === 0;
    this.cannedEmpty.hidden = !empty;
    this.cannedBody.closest(".table-wrap").hidden = empty;
    const lost = reconcile(
      this.cannedBody,
      this.client.canned,
      (c) => c.id,
      () => {
        const edit = el("span", { class: "sr-only" });
        const del = el("span", { class: "sr-only" });
        const tr = el(
          "tr",
          {},
          el("th", { scope: "row" }),
          el("td", {}, el("span", { class: "title" }), " ", el("span", { class: "badge language", hidden: true }, el("span", { "aria-hidden": "true", text: "ES" }), el("span", { class: "sr-only", text: "Has a Spanish version" }))),
          el("td", { class: "canned-text" }),
          el(
            "td",
            { class: "actions" },
            el("button", { type: "button", class: "secondary small", onclick: () => this.editCanned(tr._canned) }, "Edit", edit),
            el("button", { type: "button", class: "danger small", onclick: (e) => this.deleteCanned(tr._canned, e.currentTarget) }, "Delete", del),
          ),
        );
        tr._labels = { edit, del };
        return tr;
      },
      (tr, c) => {
        tr._canned = c;
        const [shortcut, title, text] = tr.children;
        shortcut.textContent = `/${c.shortcut}`;
        title.querySelector(".title").textContent = c.title;
        title.querySelector(".badge").hidden = !c.translations?.es;
        text.textContent = excerpt(c.text, 160);
        tr._labels.edit.textContent = ` /${c.shortcut}`;
        tr._labels.del.textContent = ` /${c.shortcut}`;
      },
    );
    if (lost) this.cannedHeading.focus();
  }

  editCanned(canned) {
    this.editing = canned;
    this.cannedFormTitle.textContent = `Edit /${canned.shortcut}`;
    this.cannedShortcut.value = canned.shortcut;
    this.cannedTitle.value = canned.title;
    this.cannedText.value = canned.text;
    this.cannedTitleEs.value = canned.translations?.es?.title || "";
    this.cannedTextEs.value = canned.translations?.es?.text || "";
    this.cannedCancel.hidden = false;
    this.showCannedError(null);
    this.cannedShortcut.focus();
  }

  resetCannedForm(focus) {
    this.editing = null;
    this.cannedFormTitle.textContent = "Add a canned response";
    this.cannedShortcut.value = "";
    this.cannedTitle.value = "";
    this.cannedText.value = "";
    this.cannedTitleEs.value = "";
    this.cannedTextEs.value = "";
    this.cannedCancel.hidden = true;
    this.showCannedError(null);
    if (focus) this.cannedShortcut.focus();
  }

  showCannedError(message, control) {
    for (const input of [this.cannedShortcut, this.cannedTitle, this.cannedText, this.cannedTitleEs, this.cannedTextEs]) input.removeAttribute("aria-invalid");
    this.cannedError.textContent = message || "";
    this.cannedError.hidden = !message;
    if (message && control) {
      control.setAttribute("aria-invalid", "true");
      control.focus();
    }
  }

  async saveCanned() {
    const shortcut = this.cannedShortcut.value.trim().replace(/^\//, "").toLowerCase();
    const title = this.cannedTitle.value.trim();
    const text = this.cannedText.value.trim();
    if (!SHORTCUT.test(shortcut)) {
      return this.showCannedError("A shortcut is 1–32 lower-case letters, digits, - or _.", this.cannedShortcut);
    }
    if (!title) return this.showCannedError("Give it a title.", this.cannedTitle);
    if (!text) return this.showCannedError("Write the text agents insert.", this.cannedText);
    const titleEs = this.cannedTitleEs.value.trim();
    const textEs = this.cannedTextEs.value.trim();
    if (titleEs && !textEs) return this.showCannedError("Write the Spanish text too, or clear the Spanish title.", this.cannedTextEs);
    if (textEs && !titleEs) return this.showCannedError("Give the Spanish version a title too, or clear its text.", this.cannedTitleEs);
    const translations = titleEs ? { es: { title: titleEs, text: textEs } } : {};
    const fields = { shortcut, title, text, translations };
    if (this.editing) fields.id = this.editing.id;
    const ack = await this.client.saveCanned(fields);
    if (!ack.ok) return this.showCannedError(`Not saved: ${ack.error.message}`, this.cannedShortcut);
    this.notifier.announce(`Canned response /${shortcut} saved.`);
    this.resetCannedForm(false);
    this.cannedFormTitle.focus();
  }

  async deleteCanned(canned, opener) {
    const ok = await formDialog({
      title: `Delete /${canned.shortcut}?`,
      description: `“${canned.title}” will no longer be offered to agents.`,
      fields: [],
      submitLabel: "Delete",
      danger: true,
      opener,
      fallback: () => this.cannedHeading,
      onSubmit: async () => {
        const ack = await this.client.deleteCanned(canned.id);
        return ack.ok ? null : `Not deleted: ${ack.error.message}`;
      },
    });
    if (ok) {
      this.notifier.announce(`Canned response /${canned.shortcut} deleted.`);
      if (this.editing?.id === canned.id) this.resetCannedForm(false);
    }
  }
}

function heldRowId(staffId) {
  return `team-chats-${staffId}`;
}

function row(cell, labels) {
  return el("tr", {}, ...labels.map((label) => el(cell, { scope: cell === "th" ? "col" : null, text: label })));
}
