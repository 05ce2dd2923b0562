// @ts-check
// Service requests: opened and resolved in the period, open and overdue now, the service level,
// by department (bars), the top topics and the channels.

import { el } from "../../shared/dom.js";
import { compareBars } from "./charts.js";
import { formatCount, formatDuration, formatPercent, spokenDuration } from "./format.js";
import { card, chartFigure, dataTable, figureCard } from "./ui.js";
import { volumeChart } from "./volumes.js";

const CHANNELS = { assistant: "Chat assistant", agent: "Agent (from a chat)", open311: "Open311 apps" };

/** @type {import("./sections.js").ReportSection} */
export const requestsSection = {
  id: "requests",
  title: "Service requests",
  source: "requests",
  csv: true,
  render(ctx) {
    const now = ctx.current;
    const before = ctx.previous;
    const figures = el(
      "div",
      { class: "figures" },
      figureCard({ label: "Opened", value: now.opened, previous: before.opened, format: formatCount, better: null }),
      figureCard({
        label: "Resolved",
        value: now.resolved?.count,
        previous: before.resolved?.count,
        format: formatCount,
        note: `${formatCount(now.resolved?.closed)} closed, ${formatCount(now.resolved?.referred)} referred`,
      }),
      figureCard({ label: "Open now", value: now.open_now, previous: before.open_now, format: formatCount, better: "down", note: "Of those opened in the period" }),
      figureCard({ label: "Overdue now", value: now.overdue_now, previous: before.overdue_now, format: formatCount, better: "down", note: "Open and past their due date" }),
      figureCard({
        label: "Resolved on time",
        value: share(now),
        previous: share(before),
        format: formatPercent,
        kind: "share",
        note: "Within each topic's service level",
      }),
      figureCard({
        label: "Average time to resolve",
        value: now.resolve_time_average_seconds ?? null,
        previous: before.resolve_time_average_seconds ?? null,
        format: formatDuration,
        spoken: spokenDuration,
        better: "down",
      }),
    );
    const volumes = volumeChart(ctx, {
      title: "Requests",
      days: now.by_day?.days,
      series: [
        ["opened", "Opened"],
        ["resolved", "Resolved"],
      ],
      empty: "No request was opened or resolved in this period.",
    });
    return [figures, volumes, el("div", { class: "chart-grid" }, departments(ctx), channels(ctx)), topics(ctx)];
  },
};

/** @param {any} report */
function share(report) {
  const value = report?.service_level?.share;
  return typeof value === "number" ? value : null;
}

/** @param {import("./ui.js").RenderContext} ctx */
function departments(ctx) {
  const now = new Map((ctx.current.by_department || []).map((/** @type {any} */ d) => [d.department, d]));
  const before = new Map((ctx.previous.by_department || []).map((/** @type {any} */ d) => [d.department, d.opened]));
  const names = [...now.keys(), ...[...before.keys()].filter((d) => !now.has(d))];
  const current = names.map((d) => now.get(d)?.opened || 0);
  const previous = names.map((d) => before.get(d) || 0);
  return chartFigure(ctx, {
    title: "Requests opened by department",
    summary: names.map((d, i) => `${d} ${formatCount(current[i])} (previous ${formatCount(previous[i])})`).join(", "),
    empty: names.length ? null : "No request was opened in either period.",
    tall: names.length > 6,
    config: compareBars({ labels: names, current, previous, names: ctx.periodNames, horizontal: true, format: formatCount }),
    table: {
      columns: ["Department", ctx.periodNames.current, ctx.periodNames.previous, "Open now", "Overdue now"],
      rows: names.map((d, i) => [d, formatCount(current[i]), formatCount(previous[i]), formatCount(now.get(d)?.open_now || 0), formatCount(now.get(d)?.overdue_now || 0)]),
    },
  });
}

/** @param {import("./ui.js").RenderContext} ctx */
function channels(ctx) {
  const rows = ctx.current.by_channel || [];
  const before = new Map((ctx.previous.by_channel || []).map((/** @type {any} */ c) => [c.source, c.opened]));
  return card(
    "channels",
    el("h4", { text: "By channel" }),
    rows.length
      ? dataTable({
          caption: "Requests opened by channel",
          captionHidden: true,
          columns: ["Channel", "Opened", "Previous period", "Open now", "Overdue now"],
          rows: rows.map((/** @type {any} */ c) => [
            CHANNELS[c.source] || c.source,
            formatCount(c.opened),
            formatCount(before.get(c.source) || 0),
            formatCount(c.open_now),
            formatCount(c.overdue_now),
          ]),
          className: "report-table numeric",
        })
      : el("p", { class: "empty-state", text: "No request was opened in this period." }),
  );
}

/** @param {import("./ui.js").RenderContext} ctx */
function topics(ctx) {
  const rows = ctx.current.by_topic || [];
  return card(
    "topics",
    el("h4", { text: "Top topics" }),
    rows.length
      ? el(
          "div",
          { class: "scroll-x", tabindex: "0", role: "region", "aria-label": "Top topics (scrolls sideways)" },
          dataTable({
            caption: `The ${rows.length === 1 ? "topic" : `${rows.length} topics`} most opened, ${ctx.periodNames.current}`,
            captionHidden: true,
            columns: ["Topic", "Opened", "Open now", "Overdue now"],
            rows: rows.map((/** @type {any} */ t, /** @type {number} */ i) => [
              `${i + 1}. ${t.name || `${t.service_code} (no longer in the catalogue)`}`,
              formatCount(t.opened),
              formatCount(t.open_now),
              formatCount(t.overdue_now),
            ]),
            className: "report-table numeric",
          }),
        )
      : el("p", { class: "empty-state", text: "No request was opened in this period." }),
  );
}
