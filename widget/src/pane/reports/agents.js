// @ts-check
// By agent: the chats each answered (held when the chat ended), their handle time and ratings.

import { el } from "../../shared/dom.js";
import { formatCount, formatDuration, formatRating } from "./format.js";
import { dataTable, emptyState } from "./ui.js";

/** @type {import("./sections.js").ReportSection} */
export const agentsSection = {
  id: "by-agent",
  title: "By agent",
  source: "chats",
  render(ctx) {
    const agents = Array.isArray(ctx.current.by_agent?.agents) ? ctx.current.by_agent.agents : [];
    const before = new Map((ctx.previous.by_agent?.agents || []).map((/** @type {any} */ a) => [a.staff_id, a]));
    if (!agents.length) return [emptyState("No chat was answered by an agent in this period.")];
    const rows = agents.map((/** @type {any} */ a) => [
      a.name || "An agent no longer on the team",
      formatCount(a.chats),
      before.has(a.staff_id) ? formatCount(before.get(a.staff_id).chats) : "—",
      formatDuration(a.handle_time_average_seconds),
      formatRating(a.satisfaction?.average),
      formatCount(a.satisfaction?.count ?? 0),
    ]);
    return [
      el(
        "div",
        { class: "scroll-x", tabindex: "0", role: "region", "aria-label": "Chats by agent (scrolls sideways)" },
        dataTable({
          caption: `Chats by agent, ${ctx.periodNames.current}`,
          captionHidden: true,
          columns: ["Agent", "Chats answered", "Previous period", "Average handle time", "Satisfaction", "Ratings"],
          rows,
          className: "report-table numeric",
        }),
      ),
    ];
  },
};
