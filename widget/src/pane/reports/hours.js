// @ts-check
// Chats by hour of the day and day of the week: a heat map as a table (its numbers are the cells,
// read by any screen reader), and the chats per hour against the previous period.

import { el } from "../../shared/dom.js";
import { compareBars } from "./charts.js";
import { formatCount } from "./format.js";
import { chartFigure } from "./ui.js";

const WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
const LEVELS = 5;

/** @param {number} hour */
export function hourLabel(hour) {
  if (hour === 0) return "12 a.m.";
  if (hour === 12) return "12 p.m.";
  return hour < 12 ? `${hour} a.m.` : `${hour - 12} p.m.`;
}

/** "12a", "3p": the heat map's column heads. @param {number} hour */
function shortHour(hour) {
  return `${hour % 12 || 12}${hour < 12 ? "a" : "p"}`;
}

/**
 * The cells as a weekday × hour grid of counts.
 * @param {any} byHour
 * @returns {number[][]}
 */
export function hourGrid(byHour) {
  const grid = WEEKDAYS.map(() => Array(24).fill(0));
  for (const cell of Array.isArray(byHour?.cells) ? byHour.cells : []) {
    if (Number.isInteger(cell.weekday) && Number.isInteger(cell.hour) && grid[cell.weekday] && cell.hour >= 0 && cell.hour < 24) {
      grid[cell.weekday][cell.hour] += Number(cell.offered) || 0;
    }
  }
  return grid;
}

/**
 * A cell's shade, 0 (none) to LEVELS.
 * @param {number} n
 * @param {number} max
 */
export function level(n, max) {
  return n <= 0 || max <= 0 ? 0 : Math.max(1, Math.ceil((n / max) * LEVELS));
}

/** @type {import("./sections.js").ReportSection} */
export const hoursSection = {
  id: "by-hour",
  title: "By hour and weekday",
  source: "chats",
  render(ctx) {
    const grid = hourGrid(ctx.current.by_hour);
    const previous = hourGrid(ctx.previous.by_hour);
    const max = Math.max(0, ...grid.flat());
    const perHour = (/** @type {number[][]} */ g) => Array.from({ length: 24 }, (_, h) => g.reduce((sum, row) => sum + row[h], 0));
    const nowByHour = perHour(grid);
    const beforeByHour = perHour(previous);
    const hours = Array.from({ length: 24 }, (_, h) => hourLabel(h));
    const busiest = nowByHour.indexOf(Math.max(...nowByHour));
    const names = ctx.periodNames;
    const volume = chartFigure(ctx, {
      title: "Chats offered by hour of the day",
      summary:
        max > 0
          ? `busiest at ${hourLabel(busiest)} with ${formatCount(nowByHour[busiest])} chats; ${hours.map((h, i) => `${h} ${nowByHour[i]}`).filter((_, i) => nowByHour[i]).join(", ")}`
          : "no chats in this period",
      empty: max > 0 || beforeByHour.some((n) => n) ? null : "No chats in either period.",
      config: compareBars({ labels: hours, current: nowByHour, previous: beforeByHour, names, format: formatCount }),
      table: { columns: ["Hour", names.current, names.previous], rows: hours.map((h, i) => [h, formatCount(nowByHour[i]), formatCount(beforeByHour[i])]) },
    });
    const recorded = ctx.current.by_hour?.agents_available_recorded === true;
    const table = el(
      "table",
      { class: "heatmap" },
      el("caption", { text: "Chats offered by weekday and hour" }),
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", { scope: "col" }, el("span", { class: "sr-only", text: "Weekday" })),
          ...hours.map((h, i) =>
            el("th", { scope: "col" }, el("span", { "aria-hidden": "true", text: i % 3 === 0 ? shortHour(i) : "" }), el("span", { class: "sr-only", text: h })),
          ),
        ),
      ),
      el(
        "tbody",
        {},
        ...grid.map((row, day) =>
          el(
            "tr",
            {},
            el("th", { scope: "row" }, el("span", { "aria-hidden": "true", text: WEEKDAYS[day].slice(0, 3) }), el("span", { class: "sr-only", text: WEEKDAYS[day] })),
            ...row.map((n) => el("td", { class: `heat heat-${level(n, max)}`, text: n ? String(n) : "" }, n ? null : el("span", { class: "sr-only", text: "0" }))),
          ),
        ),
      ),
    );
    const legend = el(
      "p",
      { class: "heat-legend hint", "aria-hidden": "true" },
      "Fewer ",
      ...Array.from({ length: LEVELS + 1 }, (_, i) => el("span", { class: `heat-swatch heat-${i}` })),
      " More",
    );
    return [
      el(
        "div",
        { class: "report-card heatmap-card" },
        el("h4", { text: "When residents chat" }),
        max > 0
          ? el("div", { class: "scroll-x", tabindex: "0", role: "region", "aria-label": "Chats by weekday and hour (scrolls sideways)" }, table)
          : el("p", { class: "empty-state", text: "No chats in this period." }),
        max > 0 ? legend : null,
        el(
          "p",
          { class: "hint" },
          recorded
            ? "Agents available per hour are in the CSV."
            : "Agents available per hour are not recorded yet: the service keeps each agent's current status, not its history, so the staffing gap cannot be drawn here.",
        ),
      ),
      volume,
    ];
  },
};
