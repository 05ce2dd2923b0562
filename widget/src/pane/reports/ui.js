// @ts-check
// The parts every report section is built of: a key figure (this period, the previous one and the
// change in words), a table of numbers (caption, headers with scope) and a chart with its numbers
// in a table beside it, so that nothing is only in a canvas.

import { el } from "../../shared/dom.js";
import { drawChart } from "./charts.js";
import { NONE, describeChange } from "./format.js";

/**
 * What a section's render() is given: the report's JSON for both periods, and where to keep the
 * charts it draws (destroyed before the next drawing).
 * @typedef {{current: any, previous: any, charts: {destroy: () => void}[], periodNames: {current: string, previous: string}, dispositions?: Record<string, string>, openConversation?: (id: number) => void}} RenderContext
 */

/**
 * One key figure: its value, the previous period's and how it changed.
 * @param {{label: string, value: unknown, previous: unknown, format: (v: unknown) => string, kind?: string, better?: "up" | "down" | null, note?: string, spoken?: (v: unknown) => string}} figure
 */
export function figureCard({ label, value, previous, format, kind = "count", better = "up", note, spoken }) {
  const change = describeChange(value, previous, { kind, better });
  const shown = format(value);
  const valueNode = el("p", { class: "figure-value" });
  if (spoken && shown !== NONE) valueNode.append(el("span", { "aria-hidden": "true", text: shown }), el("span", { class: "sr-only", text: spoken(value) }));
  else valueNode.append(shown === NONE ? el("span", { title: "No data", text: NONE }) : shown);
  const changeNode = change
    ? el(
        "span",
        { class: `change change-${change.tone}` },
        el("span", { "aria-hidden": "true", text: `${change.symbol} ${change.text}` }),
        el("span", { class: "sr-only", text: change.spoken }),
      )
    : null;
  return el(
    "div",
    { class: "figure", role: "group", "aria-label": label },
    el("p", { class: "figure-label", text: label }),
    valueNode,
    el("p", { class: "figure-compare" }, changeNode, changeNode ? " " : null, el("span", { class: "previous", text: `Previous: ${format(previous)}` })),
    note ? el("p", { class: "figure-note", text: note }) : null,
  );
}

/**
 * A table of numbers: `columns` head the columns (the first one heads the row names), each row
 * starts with its name.
 * @param {{caption: string, columns: string[], rows: (string | number)[][], className?: string, captionHidden?: boolean}} table
 */
export function dataTable({ caption, columns, rows, className = "report-table", captionHidden = false }) {
  return el(
    "table",
    { class: className },
    el("caption", { class: captionHidden ? "sr-only" : null, text: caption }),
    el("thead", {}, el("tr", {}, ...columns.map((c) => el("th", { scope: "col", text: c })))),
    el(
      "tbody",
      {},
      ...rows.map(([name, ...cells]) => el("tr", {}, el("th", { scope: "row", text: String(name) }), ...cells.map((c) => el("td", { text: String(c) })))),
    ),
  );
}

/**
 * A chart with its numbers: the canvas is an image with a summary for screen readers, and a
 * "Show table" disclosure holds the same numbers as a table. With no data: a calm line instead.
 * @param {RenderContext} ctx
 * @param {{title: string, summary: string, config: any, table: {columns: string[], rows: (string | number)[][]}, empty?: string | null, tall?: boolean}} chart
 */
export function chartFigure(ctx, { title, summary, config, table, empty = null, tall = false }) {
  const heading = el("h4", { text: title });
  if (empty) return el("figure", { class: "chart chart-empty" }, heading, el("p", { class: "empty-state", text: empty }));
  const canvas = el("canvas", { role: "img", "aria-label": `${title}: ${summary}` });
  const box = el("div", { class: tall ? "chart-box tall" : "chart-box" }, canvas);
  const details = el(
    "details",
    { class: "chart-table" },
    el("summary", {}, "Show table", el("span", { class: "sr-only", text: `: ${title}` })),
    dataTable({ caption: title, columns: table.columns, rows: table.rows }),
  );
  const figure = el("figure", { class: "chart" }, heading, box, details);
  ctx.charts.push(drawChart(canvas, config));
  return figure;
}

/** @param {string} text */
export function emptyState(text) {
  return el("p", { class: "empty-state", text });
}

/**
 * A dashboard card (a titled block inside a section).
 * @param {string} className
 * @param {...(Node | null)} children
 */
export function card(className, ...children) {
  return el("div", { class: `report-card ${className}` }, ...children);
}

export { NONE };
