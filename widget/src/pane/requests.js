// @ts-check
// Service requests in the pane. `createRequestDialog` files one from a chat: the topic and the
// fields the resident already gave are suggested by the server, the agent checks and edits them,
// and the resident is told the number in the chat. `RequestsView` is the Requests page: the
// list with its filters (status, department, topic, dates) and pages, kept live by `request`
// events (from the pane, the assistant and Open311 alike), and one request beside it with
// its details, photos, history and a form to change its status with a note.

import { el } from "../shared/dom.js";
import { fieldErrorOf } from "../shared/field-error.js";
import { newClientId } from "../shared/ids.js";
import { formDialog } from "./dialog.js";
import { plural } from "./format.js";
import { dateTimeLabel, parseTime } from "../shared/time.js";
import { reconcile } from "./lists.js";

const OPEN_STATUSES = ["open", "in_progress"];
const NOTE_MAX = 4000;
const REFERRED_TO_MAX = 100;
const TICK_MS = 60000; // overdue markers are worked out again this often
const SOURCES = { agent: "Agent pane", open311: "Open311" };
const STATUS_FILTERS = [
  ["", "All statuses"],
  ["active", "Open or in progress"],
  ["open", "Open"],
  ["in_progress", "In progress"],
  ["closed", "Closed"],
  ["referred", "Referred"],
];

let counter = 0;

/** Whether a request is still to be done and past its expected date. */
export function isOverdueRequest(request, nowMs = Date.now()) {
  return OPEN_STATUSES.includes(request.status) && parseTime(request.expected_at) < nowMs;
}

function statusLabel(client, request) {
  return request.status_label || client.catalogue?.statuses?.[request.status] || request.status;
}

function timeNode(iso, now = Date.now()) {
  const ms = parseTime(iso);
  if (!Number.isFinite(ms)) return el("span", { text: "—" });
  return el("time", { datetime: new Date(ms).toISOString(), text: dateTimeLabel(ms, now) });
}

/** A photo of a request, from the staff-only photo route (ids only: nothing else in the URL). */
function photoNode(id, alt) {
  if (!Number.isInteger(id)) return null;
  const src = `/agent/requests/photos/${id}`;
  return el(
    "a",
    { href: src, target: "_blank", rel: "noopener", class: "request-photo" },
    el("img", { src, alt, loading: "lazy", width: 160, height: 120 }),
  );
}

/**
 * A labelled control with a hint and an error line, both read with it.
 * Returns {node, control, setError(message)}.
 */
function formField(label, control, hint) {
  const id = control.id || `req-fld-${++counter}`;
  control.id = id;
  const hintNode = hint ? el("p", { class: "hint", id: `${id}-hint`, text: hint }) : null;
  const error = el("p", { class: "error field-error", id: `${id}-error`, hidden: true });
  const describe = (withError) => {
    const ids = [hintNode?.id, withError ? error.id : null].filter(Boolean).join(" ");
    if (ids) control.setAttribute("aria-describedby", ids);
    else control.removeAttribute("aria-describedby");
  };
  describe(false);
  const setError = (message) => {
    error.textContent = message || "";
    error.hidden = !message;
    if (message) control.setAttribute("aria-invalid", "true");
    else control.removeAttribute("aria-invalid");
    describe(Boolean(message));
  };
  control.addEventListener("input", () => setError(null));
  control.addEventListener("change", () => setError(null));
  const node = el("div", { class: "field" }, el("label", { for: id, text: label }), hintNode, control, error);
  return { node, control, setError };
}

function fieldControl(spec, id) {
  const attrs = { id, name: spec.name };
  if (spec.required) {
    attrs.required = true;
    attrs["aria-required"] = "true";
  }
  if (spec.datatype === "singlevaluelist") {
    return el(
      "select",
      attrs,
      el("option", { value: "", text: "Choose…" }),
      ...(spec.values || []).map((v) => el("option", { value: v.key, text: v.name })),
    );
  }
  if (Number.isInteger(spec.max_length)) attrs.maxlength = spec.max_length;
  if (spec.datatype === "text") return el("textarea", { ...attrs, rows: 4 });
  if (spec.datatype === "number") return el("input", { ...attrs, type: "text", inputmode: "decimal", autocomplete: "off" });
  return el("input", { ...attrs, type: "text", autocomplete: "off" });
}

/**
 * A topic's fields, with a description (optional) when the topic has none of its own: every
 * request may carry the resident's words ("missed two weeks in a row"), and the department sees
 * them with it.
 * @param {any} topic
 * @param {any[]} topics
 */
export function requestFields(topic, topics) {
  const fields = Array.isArray(topic?.fields) ? topic.fields : [];
  if (fields.some((f) => f.name === "description")) return fields;
  const known = topics.flatMap((t) => t.fields || []).find((f) => f.name === "description");
  const description = {
    name: "description",
    label: "Description",
    datatype: "text",
    max_length: 4000,
    ...known,
    required: false,
    description: "In the resident's words, for the department. This topic does not ask for it; add it when it helps.",
  };
  return [...fields, description];
}

/**
 * File a service request from a chat, in a dialog. Resolves with {request, message, duplicate}
 * (message: what the resident was told in the chat, null for an ended chat), or null when
 * cancelled or when the form could not be loaded (the error is then shown by `report`).
 * @typedef {{request: any, message: any, duplicate: boolean}} FiledRequest
 * @returns {Promise<FiledRequest | null>}
 */
export async function createRequestDialog({ client, conversationId, opener, fallback, report }) {
  const first = await client.requestPrefill(conversationId);
  if (!first.ok) {
    report(`The request form could not be opened: ${first.error.message}`);
    return null;
  }
  report(null);
  const topics = client.catalogue?.topics || [];
  const clientId = newClientId(); // one per form: a resend after a lost answer files it once
  const values = new Map(); // field name -> what the form holds (typed or suggested)
  const edited = new Set(); // fields the agent changed: suggestions never overwrite them
  const suggested = new Map(Object.entries(first.values || {}));
  for (const [name, value] of suggested) values.set(name, String(value ?? ""));
  let rendered = new Map(); // field name -> {control, setError}
  /** @type {FiledRequest | null} */
  let filed = null;

  const topicSelect = el(
    "select",
    { id: "request-topic", required: true, "aria-required": "true" },
    el("option", { value: "", text: "Choose a topic…" }),
    ...topics.map((t) => el("option", { value: t.code, text: `${t.name} — ${t.department}` })),
  );
  topicSelect.value = first.service_code || "";
  const topicField = formField(
    "Topic (required)",
    topicSelect,
    first.topic ? `${client.assistantName}'s topic for this chat is chosen.` : "The chat has no request topic yet: choose one.",
  );
  const fieldsBox = el("div", { class: "request-fields", "aria-live": "off" });
  const photoIds = Array.isArray(first.photo_ids) ? first.photo_ids.filter(Number.isInteger) : [];
  const photoBoxes = photoIds.map((id, i) => {
    const input = el("input", { type: "checkbox", id: `request-photo-${id}`, value: String(id) });
    input.checked = true;
    return {
      id,
      input,
      node: el(
        "div",
        { class: "choice photo-choice" },
        input,
        el("label", { for: input.id }, `Photo ${i + 1} from the chat`),
        photoNode(id, `Photo ${i + 1} the resident sent in the chat`),
      ),
    };
  });
  const photos = photoBoxes.length
    ? el("fieldset", {}, el("legend", { text: "Photos to file with it" }), ...photoBoxes.map((p) => p.node))
    : null;
  const contact = first.contact || {};
  const who = contact.email ? `${contact.name || "The resident"} (${contact.email})` : contact.name || "the resident";

  const renderFields = () => {
    const topic = topics.find((t) => t.code === topicSelect.value);
    rendered = new Map();
    if (!topic) {
      fieldsBox.replaceChildren(el("p", { class: "hint", text: "Choose a topic to see what the request needs." }));
      return;
    }
    const nodes = [];
    for (const spec of requestFields(topic, topics)) {
      if (spec.datatype === "photo") continue;
      const control = fieldControl(spec, `request-field-${spec.name}`);
      control.value = values.get(spec.name) || "";
      if (control.tagName === "SELECT" && control.value !== (values.get(spec.name) || "")) control.value = "";
      const onEdit = () => {
        edited.add(spec.name);
        values.set(spec.name, control.value);
      };
      control.addEventListener("input", onEdit);
      control.addEventListener("change", onEdit);
      const label = spec.required ? `${spec.label} (required)` : `${spec.label} (optional)`;
      const built = formField(label, control, spec.description);
      rendered.set(spec.name, built);
      nodes.push(built.node);
    }
    fieldsBox.replaceChildren(...nodes);
  };

  topicSelect.addEventListener("change", async () => {
    renderFields();
    const code = topicSelect.value;
    if (!code) return;
    // Suggestions for the new topic's fields, from the same chat; what the agent typed stays.
    const ack = await client.requestPrefill(conversationId, code);
    if (!ack.ok || topicSelect.value !== code) return;
    for (const [name, value] of Object.entries(ack.values || {})) {
      if (edited.has(name)) continue;
      values.set(name, String(value ?? ""));
      const shown = rendered.get(name);
      if (shown && document.activeElement !== shown.control) shown.control.value = values.get(name);
    }
  });
  renderFields();

  const ok = await formDialog({
    title: "Create a service request",
    description: `For ${who}. Check the suggested details: they come from the chat (from the message the resident left, when they left one). The resident is told the request number in the chat and by email.`,
    fields: [topicField.node, fieldsBox, photos].filter(Boolean),
    submitLabel: "Create request",
    opener,
    fallback,
    onSubmit: async () => {
      const topic = topics.find((t) => t.code === topicSelect.value);
      if (!topic) {
        topicField.setError("Choose the request's topic.");
        return "Choose the request's topic.";
      }
      const payload = {};
      let missing = null;
      for (const spec of requestFields(topic, topics)) {
        const shown = rendered.get(spec.name);
        if (!shown) continue;
        const value = shown.control.value.trim();
        if (value) payload[spec.name] = value;
        else if (spec.required) {
          shown.setError(`${spec.label} is required.`);
          missing = missing || spec.label;
        }
      }
      if (missing) return `Fill in ${missing} before creating the request.`;
      const chosen = photoBoxes.filter((p) => p.input.checked).map((p) => p.id);
      const ack = await client.createRequest(conversationId, topic.code, payload, clientId, chosen);
      if (!ack.ok) {
        const blamed = fieldErrorOf(ack.error, [...rendered.keys()]);
        const where = blamed && rendered.get(blamed.field);
        if (where) {
          where.setError(blamed.message);
          return `The request was not created: check ${where.control.labels?.[0]?.textContent?.replace(/ \((required|optional)\)$/, "") || "the field"}.`;
        }
        return `The request was not created: ${ack.error.message}`;
      }
      filed = { request: ack.request, message: ack.message || null, duplicate: Boolean(ack.duplicate) };
      return null;
    },
  });
  return ok ? /** @type {FiledRequest | null} */ (filed) : null;
}

export class RequestsView {
  /** @type {Record<string, {node: HTMLElement, control: any, setError: (message: string | null) => void}>} made by build() */
  fields;

  constructor(client, notifier, pane) {
    this.client = client;
    this.notifier = notifier;
    this.pane = pane;
    this.filters = {}; // what the list shows (as sent)
    this.page = 1;
    this.total = 0;
    this.perPage = 25;
    this.items = []; // numbers on this page, in order
    this.loaded = false;
    this.loading = 0;
    this.listError = null;
    this.openNumber = null;
    this.renderedDetail = null; // the number whose status form is on screen
    this.shownState = null; // what the details on screen were drawn from
    this.build();
    client.on("request", (request, before, live) => this.onRequest(request, before, live));
    client.on("catalogue", () => this.renderFilterChoices());
    client.on("ready", () => this.onReady());
    setInterval(() => this.render(), TICK_MS);
  }

  // --- building --------------------------------------------------------------------------

  build() {
    this.heading = el("h2", { id: "requests-h", tabindex: "-1", text: "Service requests" });
    this.statusFilter = el(
      "select",
      { id: "requests-status" },
      ...STATUS_FILTERS.map(([value, label]) => el("option", { value, text: label })),
    );
    this.departmentFilter = el("select", { id: "requests-department" }, el("option", { value: "", text: "All departments" }));
    this.topicFilter = el("select", { id: "requests-topic" }, el("option", { value: "", text: "All topics" }));
    this.startFilter = el("input", { type: "date", id: "requests-from" });
    this.endFilter = el("input", { type: "date", id: "requests-to" });
    this.filterError = el("p", { class: "error", id: "requests-filter-error", hidden: true, "aria-live": "polite" });
    const cell = (label, control) => el("div", { class: "filter" }, el("label", { for: control.id, text: label }), control);
    this.filterForm = el(
      "form",
      { class: "requests-filter", "aria-label": "Filter requests", novalidate: true },
      cell("Status", this.statusFilter),
      cell("Department", this.departmentFilter),
      cell("Topic", this.topicFilter),
      cell("Requested from", this.startFilter),
      cell("Requested to", this.endFilter),
      el(
        "div",
        { class: "filter filter-actions" },
        el("button", { type: "submit" }, "Show requests"),
        el("button", { type: "reset", class: "secondary" }, "Clear filters"),
      ),
    );
    this.filterForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.applyFilters();
    });
    this.filterForm.addEventListener("reset", () => setTimeout(() => this.applyFilters(), 0));

    this.listStatus = el("p", { class: "hint", role: "status" });
    this.body = el("tbody");
    this.table = el(
      "table",
      { class: "requests-table" },
      el("caption", { class: "sr-only", text: "Service requests, newest first" }),
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          ...["Number", "Topic", "Status", "Department", "Address", "Requested", "Expected"].map((h) =>
            el("th", { scope: "col", text: h }),
          ),
        ),
      ),
      this.body,
    );
    this.pageLabel = el("span", { class: "page-label" });
    this.previousButton = el("button", { type: "button", class: "secondary", onclick: () => this.goTo(this.page - 1) }, "Previous page");
    this.nextButton = el("button", { type: "button", class: "secondary", onclick: () => this.goTo(this.page + 1) }, "Next page");
    this.pager = el("nav", { class: "pager", "aria-label": "Request pages" }, this.previousButton, this.pageLabel, this.nextButton);
    const listSection = el(
      "section",
      { class: "requests-list", "aria-labelledby": "requests-h" },
      this.heading,
      this.filterForm,
      this.filterError,
      this.listStatus,
      el("div", { class: "table-wrap" }, this.table),
      this.pager,
    );

    this.buildDetail();
    this.root = el("div", { class: "requests" }, listSection, this.detail);
  }

  buildDetail() {
    this.empty = el(
      "div",
      { class: "conversation-empty" },
      el("h2", { text: "No request open" }),
      el("p", { text: "Choose a request's number in the list to see it and change its status." }),
    );
    this.title = el("h2", { id: "request-title", tabindex: "-1" });
    this.meta = el("p", { class: "conversation-meta" });
    this.facts = el("dl", { class: "resident-info request-facts" });
    this.photosHeading = el("h3", { id: "request-photos-h", text: "Photos" });
    this.photoList = el("ul", { class: "request-photos" });
    this.photosSection = el("section", { "aria-labelledby": "request-photos-h", hidden: true }, this.photosHeading, this.photoList);
    this.historyHeading = el("h3", { id: "request-history-h", tabindex: "-1", text: "History" });
    this.history = el("ol", { class: "request-history" });
    this.detailError = el("p", { class: "error", hidden: true, "aria-live": "polite" });

    this.newStatus = el("select", { id: "request-new-status" });
    this.note = el("textarea", { id: "request-note", rows: 3, maxlength: NOTE_MAX });
    this.isPublic = el("input", { type: "checkbox", id: "request-note-public" });
    this.isPublic.checked = true;
    this.referredTo = el("input", {
      type: "text",
      id: "request-referred-to",
      maxlength: REFERRED_TO_MAX,
      list: "request-departments",
      autocomplete: "off",
    });
    this.departmentList = el("datalist", { id: "request-departments" });
    this.nextSteps = el("textarea", { id: "request-next-steps", rows: 3, maxlength: NOTE_MAX });
    this.fields = {
      status: formField("New status", this.newStatus),
      note: formField("Note", this.note, "Say what was done or decided. A public note is mailed to the resident when the request is closed or referred."),
      referred_to: formField("Referred to (department or agency, required)", this.referredTo),
      next_steps: formField("Next steps for the resident (required)", this.nextSteps, "Mailed to the resident with the referral."),
    };
    this.referral = el("div", { class: "referral", hidden: true }, this.fields.referred_to.node, this.departmentList, this.fields.next_steps.node);
    this.newStatus.addEventListener("change", () => this.syncReferral());
    this.statusError = el("p", { class: "error", id: "request-status-error", hidden: true, "aria-live": "polite" });
    this.saveButton = el("button", { type: "submit" }, "Save status");
    this.statusForm = el(
      "form",
      { class: "request-status-form", novalidate: true, "aria-labelledby": "request-change-h" },
      el("h3", { id: "request-change-h", text: "Change the status" }),
      this.fields.status.node,
      this.fields.note.node,
      el("div", { class: "choice" }, this.isPublic, el("label", { for: this.isPublic.id, text: "Public note: the resident may be told" })),
      this.referral,
      this.statusError,
      el("div", { class: "composer-actions" }, this.saveButton),
    );
    this.statusForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.saveStatus();
    });

    this.detailBody = el(
      "div",
      { class: "request-detail", hidden: true },
      el("div", { class: "conversation-head" }, this.title, this.meta),
      this.detailError,
      this.facts,
      this.photosSection,
      el("section", { "aria-labelledby": "request-history-h" }, this.historyHeading, this.history),
      this.statusForm,
    );
    this.detail = el("section", { class: "request-detail-section", "aria-label": "Service request" }, this.empty, this.detailBody);
  }

  renderFilterChoices() {
    const catalogue = this.client.catalogue;
    if (!catalogue) return;
    const keep = (select) => select.value;
    const department = keep(this.departmentFilter);
    const topic = keep(this.topicFilter);
    this.departmentFilter.replaceChildren(
      el("option", { value: "", text: "All departments" }),
      ...catalogue.departments.map((d) => el("option", { value: d, text: d })),
    );
    this.topicFilter.replaceChildren(
      el("option", { value: "", text: "All topics" }),
      ...catalogue.topics.map((t) => el("option", { value: t.code, text: t.name })),
    );
    this.departmentFilter.value = department;
    this.topicFilter.value = topic;
    for (const option of this.statusFilter.options) {
      if (catalogue.statuses[option.value]) option.textContent = catalogue.statuses[option.value];
    }
    const current = this.newStatus.value;
    this.newStatus.replaceChildren(...Object.entries(catalogue.statuses).map(([value, label]) => el("option", { value, text: label })));
    if (current) this.newStatus.value = current;
    this.departmentList.replaceChildren(...catalogue.departments.map((d) => el("option", { value: d })));
  }

  // --- loading -----------------------------------------------------------------------------

  onReady() {
    // After a reconnect, what changed meanwhile: the page again, and the request shown.
    if (this.loaded || this.loading) this.load();
    if (this.openNumber) this.client.getRequest(this.openNumber).then(() => this.render());
  }

  /** Called when the Requests page is shown. */
  async shown() {
    if (!this.client.catalogue) await this.client.requestCatalogue();
    this.renderFilterChoices();
    if (!this.loaded && !this.loading) await this.load();
    else this.render();
  }

  readFilters() {
    const filters = {};
    const status = this.statusFilter.value;
    if (status === "active") filters.statuses = [...OPEN_STATUSES];
    else if (status) filters.status = status;
    if (this.departmentFilter.value) filters.department = this.departmentFilter.value;
    if (this.topicFilter.value) filters.service_code = this.topicFilter.value;
    if (this.startFilter.value) filters.start = this.startFilter.value;
    if (this.endFilter.value) filters.end = this.endFilter.value;
    return filters;
  }

  async applyFilters() {
    const filters = this.readFilters();
    if (filters.start && filters.end && filters.end < filters.start) {
      this.filterError.textContent = "The “Requested to” date is before the “Requested from” date.";
      this.filterError.hidden = false;
      this.endFilter.setAttribute("aria-invalid", "true");
      this.endFilter.setAttribute("aria-describedby", this.filterError.id);
      this.endFilter.focus();
      return;
    }
    this.filterError.hidden = true;
    this.endFilter.removeAttribute("aria-invalid");
    this.endFilter.removeAttribute("aria-describedby");
    this.filters = filters;
    this.page = 1;
    await this.load();
    if (!this.listError) this.notifier.announce(`${plural(this.total, "request")} found.`);
  }

  async goTo(page) {
    if (page < 1 || page > this.pageCount()) return;
    this.page = page;
    await this.load();
    if (!this.listError) this.notifier.announce(`Page ${this.page} of ${this.pageCount()}.`);
  }

  pageCount() {
    return Math.max(1, Math.ceil(this.total / this.perPage));
  }

  async load() {
    this.loading += 1;
    this.render();
    const ack = await this.client.listRequests({ ...this.filters, page: this.page });
    this.loading -= 1;
    if (!ack.ok) {
      this.listError = `The requests could not be loaded: ${ack.error.message}`;
    } else {
      this.listError = null;
      this.loaded = true;
      this.items = ack.requests.map((r) => r.number);
      this.total = Number.isInteger(ack.total) ? ack.total : this.items.length;
      if (Number.isInteger(ack.per_page) && ack.per_page > 0) this.perPage = ack.per_page;
    }
    this.render();
    return ack;
  }

  /** Whether a request belongs in the list as filtered (for one that arrives live). */
  matches(request) {
    const f = this.filters;
    const statuses = f.statuses || (f.status ? [f.status] : null);
    if (statuses && !statuses.includes(request.status)) return false;
    if (f.department && request.department !== f.department) return false;
    if (f.service_code && request.service_code !== f.service_code) return false;
    const day = localDay(request.requested_at);
    if (f.start && day < f.start) return false;
    if (f.end && day > f.end) return false;
    return true;
  }

  onRequest(request, before, live) {
    if (!live) return;
    const listed = this.items.includes(request.number);
    const newest = this.items.length ? this.client.requests.get(this.items[0]) : null;
    const isNew = !newest || !(parseTime(request.requested_at) < parseTime(newest.requested_at));
    if (!listed && isNew && this.loaded && this.page === 1 && this.matches(request)) {
      // New: at the top of the first page, as the server sorts (newest first).
      this.items = [request.number, ...this.items].slice(0, this.perPage);
      this.total += 1;
      if (!this.pane || this.pane.view === "requests") {
        this.notifier.announce(`New request ${request.number}: ${request.service_name}.`);
      }
    }
    // One that no longer matches the filters stays listed, with its new status, until the list
    // is asked for again: rows do not jump away under the agent's hand.
    this.render();
  }

  // --- the list ------------------------------------------------------------------------------

  render() {
    const now = Date.now();
    this.renderList(now);
    this.renderDetail(now);
  }

  renderList(now) {
    let status;
    if (this.listError) status = this.listError;
    else if (!this.loaded) status = this.loading ? "Loading…" : "";
    else if (!this.total) status = "No requests match.";
    else status = `${plural(this.total, "request")}. Newest first.`;
    this.listStatus.textContent = status;
    this.listStatus.className = this.listError ? "error" : "hint";
    const requests = this.items.map((n) => this.client.requests.get(n)).filter(Boolean);
    this.table.hidden = !requests.length;
    const lost = reconcile(
      this.body,
      requests,
      (r) => r.number,
      () => this.rowNode(),
      (tr, r) => this.updateRow(tr, r, now),
    );
    if (lost) this.heading.focus();
    const pages = this.pageCount();
    this.pager.hidden = !this.loaded || pages <= 1;
    this.pageLabel.textContent = `Page ${this.page} of ${pages}`;
    this.previousButton.disabled = this.page <= 1;
    this.nextButton.disabled = this.page >= pages;
  }

  rowNode() {
    const open = el("button", { type: "button", class: "link request-number" });
    const cells = {
      topic: el("td"),
      status: el("td"),
      department: el("td"),
      address: el("td", { class: "address" }),
      requested: el("td"),
      expected: el("td"),
    };
    const tr = el(
      "tr",
      {},
      el("th", { scope: "row" }, open),
      cells.topic,
      cells.status,
      cells.department,
      cells.address,
      cells.requested,
      cells.expected,
    );
    tr._parts = { open, ...cells };
    return tr;
  }

  updateRow(tr, r, now) {
    const p = tr._parts;
    p.open.textContent = r.number;
    p.open.onclick = () => this.open(r.number);
    if (this.openNumber === r.number) p.open.setAttribute("aria-current", "true");
    else p.open.removeAttribute("aria-current");
    p.topic.textContent = r.service_name || r.service_code;
    p.status.textContent = statusLabel(this.client, r);
    p.department.textContent = r.department || "";
    p.address.textContent = r.address || (Number.isFinite(r.lat) ? `${r.lat}, ${r.long}` : "—");
    p.requested.replaceChildren(timeNode(r.requested_at, now));
    const late = isOverdueRequest(r, now);
    p.expected.replaceChildren(timeNode(r.expected_at, now), late ? " " : "", late ? el("span", { class: "badge overdue", text: "Overdue" }) : "");
    tr.classList.toggle("overdue", late);
  }

  // --- one request ------------------------------------------------------------------------------

  /** Show a request beside the list and put focus on its heading. */
  async open(number) {
    const changed = this.openNumber !== number;
    this.openNumber = number;
    if (changed) this.resetStatusForm();
    this.showDetailError(null);
    this.render();
    this.title.focus();
    const ack = await this.client.getRequest(number);
    if (this.openNumber !== number) return;
    if (!ack.ok) this.showDetailError(`The request could not be loaded: ${ack.error.message}`);
    this.render();
  }

  current() {
    return this.openNumber ? this.client.requests.get(this.openNumber) || null : null;
  }

  resetStatusForm() {
    const request = this.current();
    this.renderedDetail = this.openNumber;
    this.note.value = "";
    this.isPublic.checked = true;
    this.referredTo.value = "";
    this.nextSteps.value = "";
    if (request) this.newStatus.value = request.status;
    for (const f of Object.values(this.fields)) f.setError(null);
    this.showStatusError(null);
    this.syncReferral();
  }

  syncReferral() {
    this.referral.hidden = this.newStatus.value !== "referred";
  }

  renderDetail(now = Date.now()) {
    const r = this.current();
    this.empty.hidden = Boolean(r);
    this.detailBody.hidden = !r;
    if (!r) return;
    if (this.renderedDetail !== r.number) this.resetStatusForm();
    const late = isOverdueRequest(r, now);
    // Drawn again only when something shown changed: a focused control (the chat's link, a
    // photo) stays where the agent left it through other requests' events and the minute tick.
    const state = JSON.stringify([r.number, r.status, r.updated_at, r.history?.length, r.photo_ids, late]);
    if (state === this.shownState) return;
    this.shownState = state;
    const label = statusLabel(this.client, r);
    this.title.textContent = `Request ${r.number} — ${r.service_name || r.service_code}`;
    const meta = [el("span", { class: "chip", text: label })];
    if (late) meta.push(el("span", { class: "badge overdue", text: "Overdue" }));
    const source = r.source === "assistant" ? `From ${this.client.assistantName} (chat)` : `From the ${SOURCES[r.source] || r.source}`;
    meta.push(el("span", { class: "muted", text: source }));
    this.meta.replaceChildren(...meta.flatMap((node, i) => (i ? [" ", node] : [node])));

    const rows = [
      ["Status", label],
      ["Department", r.workgroup ? `${r.department} — ${r.workgroup}` : r.department],
      ["Address", r.address || (Number.isFinite(r.lat) ? `${r.lat}, ${r.long}` : "—")],
      ["Description", r.description || "—"],
    ];
    const topic = this.client.catalogue?.topics.find((t) => t.code === r.service_code);
    for (const [name, value] of Object.entries(r.attributes || {})) {
      const spec = topic?.fields.find((f) => f.name === name);
      const option = spec?.values?.find((v) => v.key === value);
      rows.push([spec?.label || name, option ? option.name : String(value)]);
    }
    const contact = r.contact || {};
    rows.push(["Resident", [contact.name, contact.email, contact.phone].filter(Boolean).join(" · ") || "—"]);
    rows.push(["Requested", timeNode(r.requested_at, now)]);
    rows.push(["Expected by", late ? el("span", {}, timeNode(r.expected_at, now), " ", el("span", { class: "badge overdue", text: "Overdue" })) : timeNode(r.expected_at, now)]);
    if (r.closed_at) rows.push([r.status === "referred" ? "Referred" : "Closed", timeNode(r.closed_at, now)]);
    if (r.referred_to) rows.push(["Referred to", r.referred_to]);
    if (r.next_steps) rows.push(["Next steps", r.next_steps]);
    if (r.media_url) rows.push(["Photo address", r.media_url]);
    if (Number.isInteger(r.conversation_id)) {
      rows.push([
        "Chat",
        el("button", { type: "button", class: "link", onclick: () => this.pane?.openConversation(r.conversation_id, { focus: "title" }) }, `Chat #${r.conversation_id}`),
      ]);
    }
    this.facts.replaceChildren(
      ...rows.flatMap(([term, value]) => [el("dt", { text: term }), el("dd", {}, value instanceof Node ? value : String(value ?? ""))]),
    );

    const photoIds = (r.photo_ids || []).filter(Number.isInteger);
    this.photosSection.hidden = !photoIds.length;
    this.photoList.replaceChildren(
      ...photoIds.map((id, i) => el("li", {}, photoNode(id, `Photo ${i + 1} of ${photoIds.length} for request ${r.number}`))),
    );

    const history = Array.isArray(r.history) ? r.history : [];
    this.history.replaceChildren(
      ...history.map((h) =>
        el(
          "li",
          { class: "request-history-entry" },
          el(
            "p",
            { class: "meta" },
            el("strong", { text: this.client.catalogue?.statuses?.[h.status] || h.status }),
            " · ",
            timeNode(h.created_at, now),
            ` · ${h.actor || "Staff"}`,
            h.note ? ` · ${h.public ? "public note" : "staff-only note"}` : "",
          ),
          h.note ? el("p", { class: "text", text: h.note }) : null,
        ),
      ),
    );
  }

  showDetailError(message) {
    this.detailError.textContent = message || "";
    this.detailError.hidden = !message;
  }

  showStatusError(message) {
    this.statusError.textContent = message || "";
    this.statusError.hidden = !message;
  }

  async saveStatus() {
    const r = this.current();
    if (!r || this.saving) return;
    for (const f of Object.values(this.fields)) f.setError(null);
    this.showStatusError(null);
    const status = this.newStatus.value;
    const note = this.note.value.trim();
    const change = { number: r.number, status, public: this.isPublic.checked };
    if (note) change.note = note;
    /** @type {[string, string] | null} */
    let problem = null;
    if (status === r.status && !note) problem = ["note", "The request already has this status: write a note to add to it."];
    if (status === "referred") {
      const to = this.referredTo.value.trim();
      const steps = this.nextSteps.value.trim();
      if (!steps) problem = ["next_steps", "Say what the resident should do next."];
      if (!to) problem = ["referred_to", "Say which department or agency it goes to."];
      change.referred_to = to;
      change.next_steps = steps;
    }
    if (problem) {
      this.fields[problem[0]].setError(problem[1]);
      this.fields[problem[0]].control.focus();
      return;
    }
    this.saving = true;
    this.saveButton.disabled = true;
    let ack;
    try {
      ack = await this.client.changeRequestStatus(change);
    } finally {
      this.saving = false;
      this.saveButton.disabled = false;
    }
    if (this.openNumber !== r.number) return;
    if (!ack.ok) {
      const blamed = fieldErrorOf(ack.error, Object.keys(this.fields));
      const where = blamed && this.fields[blamed.field];
      if (where) {
        where.setError(blamed.message);
        where.control.focus();
      } else {
        this.showStatusError(`The status was not changed: ${ack.error.message}`);
      }
      return;
    }
    this.resetStatusForm();
    this.render();
    this.notifier.announce(`Request ${r.number} is now ${statusLabel(this.client, ack.request).toLowerCase()}.`);
    this.historyHeading.focus();
  }
}

/** The local calendar day (YYYY-MM-DD) of a server time, as the date filters are written. */
function localDay(iso) {
  const ms = parseTime(iso);
  if (!Number.isFinite(ms)) return "";
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
