// @ts-check
// Volumes over time: the reports' figures per day (`by_day`), drawn per day for a month or so,
// per week up to half a year, per month beyond, so that a year is twelve readable bars.

import { COLORS } from "./charts.js";
import { formatCount } from "./format.js";
import { chartFigure } from "./ui.js";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAILY_UP_TO = 62; // days
const WEEKLY_UP_TO = 190; // days
const SERIES_COLORS = [COLORS.current, "#d9822b", "#5b8c3a", "#8a5fb0"];

/** @param {string} iso YYYY-MM-DD */
function parts(iso) {
  const [y, m, d] = iso.split("-").map(Number);
  return { y, m, d };
}

/** @param {string} iso */
function dayLabel(iso) {
  const { m, d } = parts(iso);
  return `${MONTHS[m - 1]} ${d}`;
}

/**
 * The days grouped for drawing: per day, per week (from each Monday) or per month.
 * @param {{date: string, [key: string]: unknown}[]} days
 * @param {string[]} keys the figures to add up
 * @returns {{unit: "day" | "week" | "month", labels: string[], values: number[][]}} values[k][i]: key k, group i
 */
export function bucketDays(days, keys) {
  const list = Array.isArray(days) ? days.filter((d) => d && typeof d.date === "string") : [];
  const unit = list.length <= DAILY_UP_TO ? "day" : list.length <= WEEKLY_UP_TO ? "week" : "month";
  /** @type {string[]} */
  const labels = [];
  const values = keys.map(() => /** @type {number[]} */ ([]));
  let current = "";
  for (const day of list) {
    const { y, m, d } = parts(day.date);
    let key = day.date;
    let label = dayLabel(day.date);
    if (unit === "week") {
      const weekday = (new Date(Date.UTC(y, m - 1, d)).getUTCDay() + 6) % 7; // 0 Monday
      const monday = new Date(Date.UTC(y, m - 1, d - weekday)).toISOString().slice(0, 10);
      key = monday;
      label = `Week of ${dayLabel(monday)}`;
    } else if (unit === "month") {
      key = `${y}-${m}`;
      label = `${MONTHS[m - 1]} ${y}`;
    }
    if (key !== current) {
      current = key;
      labels.push(label);
      for (const v of values) v.push(0);
    }
    keys.forEach((k, i) => {
      values[i][values[i].length - 1] += Number(day[k]) || 0;
    });
  }
  return { unit, labels, values };
}

/**
 * Bars of several figures over time.
 * @param {{labels: string[], series: {label: string, data: number[]}[]}} bars
 */
export function seriesBars({ labels, series }) {
  return {
    type: "bar",
    data: {
      labels,
      datasets: series.map((s, i) => ({ label: s.label, data: s.data, backgroundColor: SERIES_COLORS[i % SERIES_COLORS.length], borderRadius: 2 })),
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 12, boxHeight: 12 } },
        tooltip: { callbacks: { label: (/** @type {any} */ item) => `${item.dataset.label}: ${formatCount(item.raw)}` } },
      },
      scales: {
        y: { beginAtZero: true, grid: { color: COLORS.grid }, ticks: { precision: 0 } },
        x: { grid: { display: false }, ticks: { autoSkip: true, maxRotation: 0 } },
      },
    },
  };
}

/**
 * A chart of figures over the period's days, with its table.
 * @param {import("./ui.js").RenderContext} ctx
 * @param {{title: string, days: any[], series: [string, string][], empty: string}} chart
 */
export function volumeChart(ctx, { title, days, series, empty }) {
  const keys = series.map(([key]) => key);
  const { unit, labels, values } = bucketDays(days, keys);
  const any = values.some((v) => v.some((n) => n > 0));
  const per = { day: "per day", week: "per week", month: "per month" }[unit];
  const totals = series.map(([, label], i) => `${label} ${formatCount(values[i].reduce((a, b) => a + b, 0))}`).join(", ");
  return chartFigure(ctx, {
    title: `${title}, ${per}`,
    summary: `${totals} in ${labels.length} ${unit}s`,
    empty: any ? null : empty,
    config: seriesBars({ labels, series: series.map(([, label], i) => ({ label, data: values[i] })) }),
    table: {
      columns: [unit === "day" ? "Day" : unit === "week" ? "Week" : "Month", ...series.map(([, label]) => label)],
      rows: labels.map((label, i) => [label, ...values.map((v) => formatCount(v[i]))]),
    },
  });
}


