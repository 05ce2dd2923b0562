// @ts-check
// After hours: the messages left while the center was closed, answered by the next business day
// or late, overdue now.

import { el } from "../../shared/dom.js";
import { compareBars } from "./charts.js";
import { formatCount, formatDuration, spokenDuration } from "./format.js";
import { chartFigure, figureCard } from "./ui.js";

const OUTCOMES = [
  ["answered_on_time", "Answered on time"],
  ["answered_late", "Answered late"],
  ["overdue_now", "Overdue now"],
  ["not_answered_yet", "Not yet due"],
  ["closed_without_reply", "Closed without a reply"],
];

/** @type {import("./sections.js").ReportSection} */
export const afterHoursSection = {
  id: "after-hours",
  title: "After hours",
  source: "after-hours",
  csv: true,
  render(ctx) {
    const now = ctx.current;
    const before = ctx.previous;
    const figures = el(
      "div",
      { class: "figures" },
      figureCard({ label: "Messages left", value: now.left, previous: before.left, format: formatCount, better: null, note: now.spam ? `Spam apart: ${formatCount(now.spam)}` : undefined }),
      figureCard({ label: "Answered on time", value: now.answered_on_time, previous: before.answered_on_time, format: formatCount, note: "By the next business day" }),
      figureCard({ label: "Answered late", value: now.answered_late, previous: before.answered_late, format: formatCount, better: "down" }),
      figureCard({ label: "Overdue now", value: now.overdue_now, previous: before.overdue_now, format: formatCount, better: "down", note: "Not answered, past the due time" }),
      figureCard({
        label: "Average reply time",
        value: now.reply_time_average_seconds ?? null,
        previous: before.reply_time_average_seconds ?? null,
        format: formatDuration,
        spoken: spokenDuration,
        better: "down",
      }),
    );
    const current = OUTCOMES.map(([key]) => Number(now[key]) || 0);
    const previous = OUTCOMES.map(([key]) => Number(before[key]) || 0);
    const labels = OUTCOMES.map(([, label]) => label);
    const chart = chartFigure(ctx, {
      title: "What became of the messages",
      summary: labels.map((label, i) => `${label} ${formatCount(current[i])} (previous ${formatCount(previous[i])})`).join(", "),
      empty: now.left || before.left ? null : "No message was left after hours in either period.",
      config: compareBars({ labels, current, previous, names: ctx.periodNames, horizontal: true, format: formatCount }),
      table: { columns: ["Outcome", ctx.periodNames.current, ctx.periodNames.previous], rows: labels.map((l, i) => [l, formatCount(current[i]), formatCount(previous[i])]) },
    });
    return [figures, el("div", { class: "chart-grid" }, chart)];
  },
};
