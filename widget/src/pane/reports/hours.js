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
 * The agents on duty as a weekday × hour grid: their average over the minutes sampled, or null
 * where no minute was (the service was not running).
 * @param {any} byHour
 * @returns {(number | null)[][]}
 */
export function staffGrid(byHour) {
  /** @type {(number | null)[][]} */
  const grid = WEEKDAYS.map(() => Array(24).fill(null));
  for (const cell of Array.isArray(byHour?.cells) ? byHour.cells : []) {
    const ok = Number.isInteger(cell.weekday) && Number.isInteger(cell.hour) && grid[cell.weekday] && cell.hour >= 0 && cell.hour < 24;
    if (ok && typeof cell.agents_available === "number" && Number.isFinite(cell.agents_available)) grid[cell.weekday][cell.hour] = cell.agents_available;
  }
  return grid;
}

/**
 * The staffing gaps: hours with chats but no agent on duty (sampled at none), most chats first.
 * @param {number[][]} chats
 * @param {(number | null)[][]} staff
 * @returns {{weekday: number, hour: number, chats: number}[]}
 */
export function staffingGaps(chats, staff) {
  const gaps = [];
  for (let weekday = 0; weekday < 7; weekday++) {
    for (let hour = 0; hour < 24; hour++) {
      if (chats[weekday][hour] > 0 && staff[weekday][hour] === 0) gaps.push({ weekday, hour, chats: chats[weekday][hour] });
    }
  }
  return gaps.sort((a, b) => b.chats - a.chats || a.weekday - b.weekday || a.hour - b.hour);
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
    const staff = staffGrid(ctx.current.by_hour);
    const staffMax = Math.max(0, ...staff.flat().map((n) => n ?? 0));
    const gaps = recorded ? staffingGaps(grid, staff) : [];
    const table = heatTable({
      caption: "Chats offered by weekday and hour",
      hours,
      rows: grid.map((row, day) =>
        row.map((n, hour) => ({ text: n ? String(n) : "", spoken: n ? null : "0", shade: level(n, max), gap: recorded && n > 0 && staff[day][hour] === 0 })),
      ),
    });
    const staffTable = heatTable({
      caption: "Agents on duty by weekday and hour (average over the minutes sampled)",
      hours,
      rows: staff.map((row, day) =>
        row.map((n, hour) => ({
          text: n === null ? "" : n.toFixed(1).replace(/\.0$/, ""),
          spoken: n === null ? "not recorded" : null,
          shade: n === null ? 0 : level(n, staffMax),
          gap: n === 0 && grid[day][hour] > 0,
        })),
      ),
    });
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
            ? "Every minute the service runs, it counts the agents on duty (available and connected); each hour shows their average."
            : "No agent's presence was recorded in this period: the service counts the agents on duty every minute it runs.",
        ),
        recorded && max > 0
          ? el("div", { class: "scroll-x", tabindex: "0", role: "region", "aria-label": "Agents on duty by weekday and hour (scrolls sideways)" }, staffTable)
          : null,
        recorded ? gapList(gaps) : null,
      ),
      volume,
    ];
  },
};

/**
 * A weekday × hour table of shaded cells (their text is the number: any screen reader reads it).
 * @param {{caption: string, hours: string[], rows: {text: string, spoken: string | null, shade: number, gap?: boolean}[][]}} table
 */
function heatTable({ caption, hours, rows }) {
  return el(
    "table",
    { class: "heatmap" },
    el("caption", { text: caption }),
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        el("th", { scope: "col" }, el("span", { class: "sr-only", text: "Weekday" })),
        ...hours.map((h, i) => el("th", { scope: "col" }, el("span", { "aria-hidden": "true", text: i % 3 === 0 ? shortHour(i) : "" }), el("span", { class: "sr-only", text: h }))),
      ),
    ),
    el(
      "tbody",
      {},
      ...rows.map((row, day) =>
        el(
          "tr",
          {},
          el("th", { scope: "row" }, el("span", { "aria-hidden": "true", text: WEEKDAYS[day].slice(0, 3) }), el("span", { class: "sr-only", text: WEEKDAYS[day] })),
          ...row.map((cell) =>
            el(
              "td",
              { class: `heat heat-${cell.shade}${cell.gap ? " gap" : ""}`, text: cell.text },
              cell.spoken ? el("span", { class: "sr-only", text: cell.spoken }) : null,
              cell.gap ? el("span", { class: "sr-only", text: " (chats, no agent on duty)" }) : null,
            ),
          ),
        ),
      ),
    ),
  );
}

/**
 * The hours residents chatted while no agent was on duty.
 * @param {{weekday: number, hour: number, chats: number}[]} gaps
 */
function gapList(gaps) {
  if (!gaps.length) return el("p", { class: "hint", text: "Every hour with chats had an agent on duty for at least part of it." });
  const shown = gaps.slice(0, 8);
  return el(
    "div",
    { class: "staffing-gaps" },
    el("h5", { text: "Hours with chats and no agent on duty" }),
    el(
      "ul",
      {},
      ...shown.map((g) => el("li", { text: `${WEEKDAYS[g.weekday]}, ${hourLabel(g.hour)}: ${formatCount(g.chats)} ${g.chats === 1 ? "chat" : "chats"}` })),
    ),
    gaps.length > shown.length ? el("p", { class: "hint", text: `and ${gaps.length - shown.length} more hours` }) : null,
  );
}
