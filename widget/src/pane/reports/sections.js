// @ts-check
// The sections of the Reports tab, in the order shown. A section is one module: the report it
// reads (`source`, a path under /agent/reports/), and how it draws it. Sections reading the same
// report share one request. A new report is a new module added here.

import { afterHoursSection } from "./after-hours.js";
import { assistantSection } from "./assistant.js";
import { agentsSection } from "./agents.js";
import { chatsSection } from "./chats.js";
import { hoursSection } from "./hours.js";
import { requestsSection } from "./requests.js";

/**
 * @typedef {object} ReportSection
 * @property {string} id used in element ids
 * @property {string} title its heading
 * @property {string} source the report it reads: GET /agent/reports/<source> (and <source>.csv)
 * @property {boolean} [csv] offer the report's CSV in this section's header
 * @property {(ctx: import("./ui.js").RenderContext) => Node[]} render
 */

/** @type {ReportSection[]} */
export const SECTIONS = [chatsSection, hoursSection, agentsSection, assistantSection, requestsSection, afterHoursSection];
