// @ts-check
// The Chats report: where the period's chats went, how fast a person answered (against the
// service level), how long they took, transfers, dispositions and satisfaction.

import { el } from "../../shared/dom.js";
import { compareBars } from "./charts.js";
import { formatCount, formatDuration, formatPercent, formatRating, spokenDuration } from "./format.js";
import { card, chartFigure, dataTable, figureCard } from "./ui.js";
import { volumeChart } from "./volumes.js";

// chatsvc/reports/chats.py BUCKETS, in order.
const BUCKETS = [
  ["under_30s", "Under 30 s"],
  ["30s_to_1m", "30 s – 1 min"],
  ["1m_to_2m", "1 – 2 min"],
  ["2m_to_5m", "2 – 5 min"],
  ["over_5m", "5 min and over"],
];

const DISPOSITIONS = { resolved: "Resolved", referred: "Referred", no_response: "No response (idle)", spam: "Spam" };

/** @param {any} report */
const num = (report, /** @type {(r: any) => unknown} */ pick) => {
  const value = report ? pick(report) : null;
  return typeof value === "number" ? value : null;
};

/** @type {import("./sections.js").ReportSection} */
export const chatsSection = {
  id: "chats",
  title: "Chats",
  source: "chats",
  csv: true,
  render(ctx) {
    const now = ctx.current.chats;
    const before = ctx.previous.chats;
    const threshold = now.service_level?.threshold_seconds;
    const target = num(now, (r) => r.service_level?.target);
    const answeredShare = now.offered ? now.answered_by_agent / now.offered : null;
    const figures = el(
      "div",
      { class: "figures" },
      figureCard({ label: "Chats offered", value: now.offered, previous: before.offered, format: formatCount, better: null }),
      figureCard({
        label: "Answered by a person",
        value: now.answered_by_agent,
        previous: before.answered_by_agent,
        format: formatCount,
        better: null,
        note: answeredShare === null ? undefined : `${formatPercent(answeredShare)} of chats offered`,
      }),
      figureCard({
        label: "Contained by the assistant",
        value: now.contained_by_assistant,
        previous: before.contained_by_assistant,
        format: formatCount,
        better: null,
        note: "Ended without a hand-over",
      }),
      figureCard({
        label: "Abandoned while waiting",
        value: now.abandoned_waiting?.count,
        previous: before.abandoned_waiting?.count,
        format: formatCount,
        better: "down",
        note: now.abandoned_waiting?.count
          ? `Waited ${formatDuration(now.abandoned_waiting.wait_average_seconds)} on average, ${formatDuration(now.abandoned_waiting.wait_longest_seconds)} at most`
          : undefined,
      }),
      figureCard({
        label: "Service level",
        value: num(now, (r) => r.service_level?.share),
        previous: num(before, (r) => r.service_level?.share),
        format: formatPercent,
        kind: "share",
        note: `Answered within ${threshold} s${target === null ? "" : ` · target ${formatPercent(target)}`}`,
      }),
      figureCard({
        label: "Average answer delay",
        value: num(now, (r) => r.answer_delay?.average_seconds),
        previous: num(before, (r) => r.answer_delay?.average_seconds),
        format: formatDuration,
        spoken: spokenDuration,
        better: "down",
        note: "From hand-over to an agent joining",
      }),
      figureCard({
        label: "Average handle time",
        value: num(now, (r) => r.handle_time?.average_seconds),
        previous: num(before, (r) => r.handle_time?.average_seconds),
        format: formatDuration,
        spoken: spokenDuration,
        better: null,
        note: now.handle_time?.chats ? `Over ${formatCount(now.handle_time.chats)} closed chats` : undefined,
      }),
      figureCard({
        label: "Transfers",
        value: now.transfers?.count,
        previous: before.transfers?.count,
        format: formatCount,
        better: "down",
        note: now.transfers?.count ? `In ${formatCount(now.transfers.chats)} chats` : undefined,
      }),
      figureCard({
        label: "Satisfaction",
        value: num(now, (r) => r.satisfaction?.average),
        previous: num(before, (r) => r.satisfaction?.average),
        format: formatRating,
        note: now.satisfaction?.count ? `${formatCount(now.satisfaction.count)} ratings` : "No ratings yet",
      }),
    );
    const volumes = volumeChart(ctx, {
      title: "Chats",
      days: ctx.current.by_day?.days,
      series: [
        ["offered", "Offered"],
        ["answered_by_agent", "Answered by a person"],
        ["contained", "Contained by the assistant"],
        ["abandoned_waiting", "Abandoned while waiting"],
      ],
      empty: "No chats in this period.",
    });
    return [figures, volumes, el("div", { class: "chart-grid" }, outcomes(ctx), serviceLevel(ctx), answerDelays(ctx), dispositions(ctx))];
  },
};

/** @param {import("./ui.js").RenderContext} ctx */
function outcomes(ctx) {
  /** @type {[string, (r: any) => unknown][]} */
  const rows = [
    ["Answered by a person", (/** @type {any} */ r) => r.answered_by_agent],
    ["Contained by the assistant", (/** @type {any} */ r) => r.contained_by_assistant],
    ["Abandoned while waiting", (/** @type {any} */ r) => r.abandoned_waiting?.count],
    ["Still in progress", (/** @type {any} */ r) => r.in_progress],
  ];
  const now = rows.map(([, pick]) => Number(pick(ctx.current.chats)) || 0);
  const before = rows.map(([, pick]) => Number(pick(ctx.previous.chats)) || 0);
  const labels = rows.map(([name]) => String(name));
  const names = ctx.periodNames;
  const summary = labels.map((label, i) => `${label} ${formatCount(now[i])} (previous ${formatCount(before[i])})`).join(", ");
  return chartFigure(ctx, {
    title: "Where the chats went",
    summary,
    empty: ctx.current.chats.offered || ctx.previous.chats.offered ? null : "No chats in either period.",
    config: compareBars({ labels, current: now, previous: before, names, horizontal: true, format: formatCount }),
    table: { columns: ["Outcome", names.current, names.previous], rows: labels.map((label, i) => [label, formatCount(now[i]), formatCount(before[i])]) },
  });
}

/**
 * The service level as two gauges (this period and the previous one) with the target marked:
 * HTML, so the numbers are text.
 * @param {import("./ui.js").RenderContext} ctx
 */
function serviceLevel(ctx) {
  const threshold = ctx.current.chats.service_level?.threshold_seconds;
  const target = num(ctx.current.chats, (r) => r.service_level?.target);
  const gauge = (/** @type {string} */ name, /** @type {any} */ report) => {
    const share = num(report, (r) => r.service_level?.share);
    const answered = report.service_level?.answered_within;
    const fill = el("span", { class: "gauge-fill" });
    fill.style.width = `${Math.max(0, Math.min(1, share ?? 0)) * 100}%`;
    const bar = el("span", { class: "gauge-bar", "aria-hidden": "true" }, fill);
    if (target !== null) {
      const mark = el("span", { class: "gauge-target" });
      mark.style.left = `${target * 100}%`;
      bar.append(mark);
    }
    if (share !== null && target !== null) fill.classList.add(share >= target ? "met" : "missed");
    return el(
      "div",
      { class: "gauge" },
      el("p", { class: "gauge-label" }, el("span", { text: name }), el("strong", { text: formatPercent(share) })),
      bar,
      el("p", { class: "hint", text: share === null ? "No chat was answered by a person." : `${formatCount(answered)} answered within ${threshold} s` }),
    );
  };
  const verdict = (() => {
    const share = num(ctx.current.chats, (r) => r.service_level?.share);
    if (target === null || share === null) return null;
    return el("p", { class: share >= target ? "verdict met" : "verdict missed", text: share >= target ? `Target of ${formatPercent(target)} met` : `Below the target of ${formatPercent(target)}` });
  })();
  return el(
    "figure",
    { class: "chart service-level" },
    el("h4", { text: `Service level: answered within ${threshold} s` }),
    verdict,
    gauge(ctx.periodNames.current, ctx.current.chats),
    gauge(ctx.periodNames.previous, ctx.previous.chats),
    target !== null ? el("p", { class: "hint" }, el("span", { class: "target-key", "aria-hidden": "true" }), ` The line marks the target, ${formatPercent(target)}.`) : null,
  );
}

/** @param {import("./ui.js").RenderContext} ctx */
function answerDelays(ctx) {
  const pick = (/** @type {any} */ report) => BUCKETS.map(([key]) => Number(report.answer_delay?.distribution?.[key]) || 0);
  const now = pick(ctx.current.chats);
  const before = pick(ctx.previous.chats);
  const labels = BUCKETS.map(([, label]) => label);
  const names = ctx.periodNames;
  const any = [...now, ...before].some((n) => n > 0);
  return chartFigure(ctx, {
    title: "Answer delay",
    summary: labels.map((label, i) => `${label}: ${formatCount(now[i])} (previous ${formatCount(before[i])})`).join(", "),
    empty: any ? null : "No chat was answered by a person in either period.",
    config: compareBars({ labels, current: now, previous: before, names, format: formatCount }),
    table: { columns: ["Answered", names.current, names.previous], rows: labels.map((label, i) => [label, formatCount(now[i]), formatCount(before[i])]) },
  });
}

/** @param {import("./ui.js").RenderContext} ctx */
function dispositions(ctx) {
  const now = ctx.current.chats.dispositions || {};
  const before = ctx.previous.chats.dispositions || {};
  const codes = [...new Set([...Object.keys(now), ...Object.keys(before)])].sort((a, b) => (now[b] || 0) - (now[a] || 0));
  const label = (/** @type {string} */ code) => ctx.dispositions?.[code] || DISPOSITIONS[code] || code;
  return card(
    "dispositions",
    el("h4", { text: "Dispositions" }),
    codes.length
      ? dataTable({
          caption: "Ended chats by disposition",
          captionHidden: true,
          columns: ["Disposition", ctx.periodNames.current, ctx.periodNames.previous],
          rows: codes.map((code) => [label(code), formatCount(now[code] || 0), formatCount(before[code] || 0)]),
        })
      : el("p", { class: "empty-state", text: "No chat was closed with a disposition." }),
  );
}
