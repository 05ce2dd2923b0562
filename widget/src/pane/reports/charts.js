// @ts-check
// Charts of the reports, drawn by Chart.js: only the parts used are registered, so the bundle
// carries bars and nothing else. No animation: the figures are read, not watched.

import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip } from "chart.js";

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip, Legend);

const MAX_LABEL = 22; // characters of a bar's name shown on its axis

export const COLORS = {
  current: "#00558c",
  previous: "#8fb3cf",
  grid: "#e3e3e3",
  text: "#333333",
};

Chart.defaults.font.family = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif";
Chart.defaults.color = COLORS.text;

/**
 * Draw a chart on a canvas.
 * @param {HTMLCanvasElement} canvas
 * @param {any} config
 */
export function drawChart(canvas, config) {
  return new Chart(canvas, config);
}

/**
 * Bars of this period against the previous one.
 * @param {{labels: string[], current: number[], previous: number[], names: {current: string, previous: string}, horizontal?: boolean, format?: (v: number) => string, max?: number, extra?: any[]}} bars
 */
export function compareBars({ labels, current, previous, names, horizontal = false, format = (v) => String(v), max, extra = [] }) {
  const valueAxis = horizontal ? "x" : "y";
  return {
    type: "bar",
    data: {
      labels,
      datasets: [
        { label: names.current, data: current, backgroundColor: COLORS.current, borderRadius: 3, order: 1 },
        { label: names.previous, data: previous, backgroundColor: COLORS.previous, borderRadius: 3, order: 2 },
        ...extra,
      ],
    },
    options: {
      indexAxis: horizontal ? "y" : "x",
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: {
        legend: { position: "bottom", labels: { boxWidth: 12, boxHeight: 12 } },
        tooltip: { callbacks: { label: (/** @type {any} */ item) => `${item.dataset.label}: ${format(item.raw)}` } },
      },
      scales: {
        [valueAxis]: {
          beginAtZero: true,
          max,
          grid: { color: COLORS.grid },
          ticks: { precision: 0, callback: (/** @type {any} */ v) => format(Number(v)) },
        },
        [horizontal ? "y" : "x"]: {
          grid: { display: false },
          // A long name ("Parks Recreation and Community Services") is cut: the table has it whole.
          ticks: {
            callback(/** @type {any} */ value) {
              const label = String(/** @type {any} */ (this).getLabelForValue(value));
              return label.length > MAX_LABEL ? `${label.slice(0, MAX_LABEL - 1)}…` : label;
            },
          },
        },
      },
    },
  };
}
