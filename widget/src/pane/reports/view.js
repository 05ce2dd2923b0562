// @ts-check
// The Reports tab (supervisors and admins): the period picker, the export links and one section
// per report (./sections.js), each loaded from /agent/reports/<source> for the period and the
// one before it. The pane sends dates only; the server reads them in the center's time zone.

import { el } from "../../shared/dom.js";
import { currentTimeZone } from "../../shared/time.js";
import { PRESETS, dateIn, periodLabel, presetPeriod, rangeProblem, wholeMonth } from "./format.js";
import { SECTIONS } from "./sections.js";

/** @typedef {{from: string, to: string}} Period */

export class ReportsView {
  // Made by build():
  /** @type {any} */ root;
  /** @type {any} */ status;
  /** @type {any} */ periodLine;
  /** @type {any} */ zoneLine;
  /** @type {any} */ monthly;
  /** @type {any[]} */ presetButtons = [];
  /** @type {{section: import("./sections.js").ReportSection, root: HTMLElement, body: HTMLElement, csv: HTMLElement | null}[]} */ sections = [];

  /**
   * @param {any} client the AgentClient (its dispositions name the codes)
   * @param {(id: number) => void} [openConversation] opens a chat in the pane (the assistant's
   *   unanswered questions link to theirs)
   */
  constructor(client, openConversation) {
    this.client = client;
    this.openConversation = openConversation;
    this.preset = "today";
    /** @type {Period | null} */
    this.period = null;
    /** @type {{destroy: () => void}[]} */
    this.charts = [];
    this.loads = 0; // the newest load wins: an older answer arriving late is dropped
    this.build();
  }

  /** Today in the center's time zone. */
  today() {
    return dateIn(Date.now(), currentTimeZone());
  }

  build() {
    this.presetButtons = PRESETS.map(([name, label]) =>
      el("button", { type: "button", class: "segment", "aria-pressed": "false", "data-preset": name, onclick: () => this.choosePreset(name) }, label),
    );
    this.customButton = el(
      "button",
      { type: "button", class: "segment", "aria-pressed": "false", "aria-expanded": "false", "aria-controls": "report-range", onclick: () => this.openCustom() },
      "Custom range",
    );
    this.fromInput = el("input", { type: "date", id: "report-from", "aria-describedby": "report-from-error" });
    this.toInput = el("input", { type: "date", id: "report-to", "aria-describedby": "report-to-error" });
    this.fromError = el("p", { class: "field-error", id: "report-from-error" });
    this.toError = el("p", { class: "field-error", id: "report-to-error" });
    for (const input of [this.fromInput, this.toInput]) input.addEventListener("input", () => this.setErrors(null));
    this.rangeForm = el(
      "form",
      { class: "report-range", id: "report-range", hidden: true, novalidate: true, "aria-label": "Custom range", onsubmit: (/** @type {Event} */ e) => this.submitRange(e) },
      el("div", { class: "field" }, el("label", { for: "report-from", text: "From" }), this.fromInput, this.fromError),
      el("div", { class: "field" }, el("label", { for: "report-to", text: "To" }), this.toInput, this.toError),
      el("button", { type: "submit", text: "Show" }),
    );
    this.periodLine = el("p", { class: "report-period" });
    this.zoneLine = el("p", { class: "report-zone hint" });
    this.status = el("p", { class: "report-status", role: "status" });
    this.monthly = el("a", { class: "monthly-link", hidden: true }, "Monthly report (print)");
    this.heading = el("h2", { id: "reports-h", tabindex: "-1", text: "Reports" });
    const toolbar = el(
      "div",
      { class: "report-toolbar" },
      el("div", { class: "report-title" }, this.heading, this.periodLine, this.zoneLine),
      el("div", { class: "segments", role: "group", "aria-label": "Period" }, ...this.presetButtons, this.customButton),
      this.rangeForm,
      el("div", { class: "report-actions" }, this.status, this.monthly),
    );
    this.sections = SECTIONS.map((section) => {
      const headingId = `report-${section.id}-h`;
      const body = el("div", { class: "report-body" });
      const csv = section.csv ? el("a", { class: "csv-link", download: "" }, "Download CSV", el("span", { class: "sr-only", text: ` of the ${section.title.toLowerCase()} report` })) : null;
      const root = el(
        "section",
        { class: `report-section report-${section.id}`, "aria-labelledby": headingId },
        el("div", { class: "report-section-head" }, el("h3", { id: headingId, text: section.title }), csv),
        body,
      );
      return { section, root, body, csv };
    });
    this.root = el("section", { class: "reports", "aria-labelledby": "reports-h" }, toolbar, ...this.sections.map((s) => s.root));
  }

  /** The tab is shown: load the chosen period (today the first time). */
  shown() {
    if (!this.period) return this.choosePreset(this.preset);
    return this.load();
  }

  /** @param {string} name */
  choosePreset(name) {
    this.preset = name;
    this.rangeForm.hidden = true;
    this.customButton.setAttribute("aria-expanded", "false");
    this.setErrors(null);
    return this.show(presetPeriod(name, this.today()));
  }

  openCustom() {
    const open = this.rangeForm.hidden;
    this.rangeForm.hidden = !open;
    this.customButton.setAttribute("aria-expanded", String(open));
    if (open) {
      if (this.period) {
        this.fromInput.value = this.period.from;
        this.toInput.value = this.period.to;
      }
      this.fromInput.focus();
    }
  }

  /** @param {Event} event */
  submitRange(event) {
    event.preventDefault();
    // A date input holds "" for a date it cannot read, so say so rather than "enter a date".
    const from = this.fromInput.value || (this.fromInput.validity?.badInput ? "?" : "");
    const to = this.toInput.value || (this.toInput.validity?.badInput ? "?" : "");
    const problem = rangeProblem(from, to);
    this.setErrors(problem);
    if (problem) {
      (problem.field === "from" ? this.fromInput : this.toInput).focus();
      return;
    }
    this.preset = "custom";
    return this.show({ from, to });
  }

  /** @param {{field: "from" | "to", message: string} | null} problem */
  setErrors(problem) {
    for (const [name, input, node] of /** @type {const} */ ([
      ["from", this.fromInput, this.fromError],
      ["to", this.toInput, this.toError],
    ])) {
      const message = problem?.field === name ? problem.message : "";
      node.textContent = message;
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }
  }

  /** @param {Period} period */
  show(period) {
    this.period = period;
    for (const button of this.presetButtons) button.setAttribute("aria-pressed", String(button.dataset.preset === this.preset));
    this.customButton.setAttribute("aria-pressed", String(this.preset === "custom"));
    const month = wholeMonth(period);
    this.monthly.hidden = !month;
    if (month) this.monthly.setAttribute("href", `/agent/reports/monthly?month=${month}`);
    const query = `from=${period.from}&to=${period.to}`;
    for (const { section, csv } of this.sections) if (csv) csv.setAttribute("href", `/agent/reports/${section.source}.csv?${query}`);
    return this.load();
  }

  async load() {
    const period = this.period;
    if (!period) return;
    const load = ++this.loads;
    this.status.textContent = "Loading…";
    this.root.setAttribute("aria-busy", "true");
    for (const { body } of this.sections) {
      if (!body.childElementCount) body.replaceChildren(el("p", { class: "loading", text: "Loading…" }));
    }
    const query = `from=${period.from}&to=${period.to}`;
    const sources = [...new Set(SECTIONS.map((s) => s.source))];
    const answers = new Map(
      await Promise.all(sources.map(async (source) => /** @type {const} */ ([source, await fetchReport(`/agent/reports/${source}?${query}`)]))),
    );
    if (load !== this.loads) return;
    this.root.setAttribute("aria-busy", "false");
    for (const chart of this.charts.splice(0)) chart.destroy();
    const first = [...answers.values()].find((a) => a.ok)?.body;
    const previous = first && firstPeriod(first.previous);
    const names = { current: "This period", previous: "Previous period" };
    this.periodLine.replaceChildren(el("strong", { text: periodLabel(period) }), previous ? ` compared with ${periodLabel(previous)}` : "");
    this.zoneLine.textContent = currentTimeZone() ? `Whole days in the center's time zone (${currentTimeZone()}).` : "";
    const failed = [...answers.values()].find((a) => !a.ok);
    this.status.textContent = failed ? failed.message : `Showing ${periodLabel(period)}.`;
    this.status.className = failed ? "report-status problem" : "report-status";
    for (const { section, body } of this.sections) {
      const answer = answers.get(section.source);
      if (!answer?.ok) {
        body.replaceChildren(problemNode(answer?.message || "Not loaded.", answer?.signIn, () => this.load()));
        continue;
      }
      try {
        body.replaceChildren(
          ...section.render({
            current: answer.body.current,
            previous: answer.body.previous,
            charts: this.charts,
            periodNames: names,
            dispositions: this.client.dispositions,
            openConversation: this.openConversation,
          }),
        );
      } catch (error) {
        console.warn(`The ${section.id} report could not be drawn`, error);
        body.replaceChildren(problemNode("This report could not be shown: its figures were not as expected.", false, () => this.load()));
      }
    }
  }
}

/**
 * The period of a report's JSON (each report names it somewhere: at the top or in its tables).
 * @param {any} report
 * @returns {Period | null}
 */
function firstPeriod(report) {
  const period = report?.period || report?.chats?.period;
  return period && typeof period.from === "string" && typeof period.to === "string" ? { from: period.from, to: period.to } : null;
}

/**
 * @param {string} message
 * @param {boolean | undefined} signIn
 * @param {() => void} retry
 */
function problemNode(message, signIn, retry) {
  return el(
    "div",
    { class: "report-problem" },
    el("p", { text: message }),
    signIn ? el("a", { href: "/agent/sign-in", text: "Sign in again" }) : el("button", { type: "button", class: "secondary small", onclick: retry }, "Try again"),
  );
}

/**
 * GET a report; a refusal or a lost connection comes back as a message for people.
 * @param {string} url
 * @returns {Promise<{ok: true, body: any} | {ok: false, message: string, signIn?: boolean}>}
 */
export async function fetchReport(url) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  } catch {
    return { ok: false, message: "The reports could not be loaded: the connection to the chat service was lost. Try again in a moment." };
  }
  if (response.status === 401) return { ok: false, message: "Your session has ended: sign in again to see the reports.", signIn: true };
  if (response.status === 403) return { ok: false, message: "Only supervisors and admins can see reports." };
  /** @type {any} */
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON: said below.
  }
  if (!response.ok || !body || typeof body !== "object") {
    const reason = body?.error?.message;
    return { ok: false, message: reason ? `The report was not loaded: ${reason}` : `The report could not be loaded (error ${response.status}). Try again in a moment.` };
  }
  if (!body.current || !body.previous) return { ok: false, message: "The report could not be read. Try again in a moment." };
  return { ok: true, body };
}
