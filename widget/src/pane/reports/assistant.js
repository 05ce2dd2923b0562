// @ts-check
// The assistant: what residents asked it, how sure it was, when it brought in a person, and the
// questions it could not answer, grouped by similarity, each opening its chat, so the knowledge
// base is improved where residents actually ask.

import { el } from "../../shared/dom.js";
import { compareBars } from "./charts.js";
import { formatCount, formatPercent } from "./format.js";
import { card, chartFigure, dataTable, emptyState, figureCard } from "./ui.js";

const BANDS = [
  ["confident", "Answered"],
  ["unsure", "Offered choices"],
  ["none", "Did not understand"],
];
const INTENTS = [
  ["emergency", "Emergencies (told to call 911)"],
  ["human", "Asked for a person"],
  ["status", "Asked about a request"],
  ["greeting", "Greetings"],
  ["thanks", "Thanks"],
];
const REASONS = /** @type {Record<string, string>} */ ({
  asked: "Asked for a person",
  emergency: "An emergency",
  no_match: "Two misses in a row",
  email: "A reply by email",
  unknown: "Not recorded",
});
const KINDS = /** @type {Record<string, string>} */ ({
  no_match: "Not understood",
  unsure: "Offered choices",
  handed_over: "Not understood twice: handed over",
});
const TOPICS_SHOWN = 20;
const ARTICLES_SHOWN = 10;

/** @param {any} bands */
function bandTotal(bands) {
  return BANDS.reduce((sum, [key]) => sum + (Number(bands?.[key]) || 0), 0);
}

/** @param {string} iso */
function when(iso) {
  const at = new Date(iso);
  if (Number.isNaN(at.getTime())) return "";
  return at.toLocaleString("en-US", { month: "short", day: "numeric", hour: "numeric", minute: "2-digit" });
}

/** @type {import("./sections.js").ReportSection} */
export const assistantSection = {
  id: "assistant",
  title: "The assistant",
  source: "assistant",
  csv: true,
  render(ctx) {
    const now = ctx.current;
    const before = ctx.previous;
    const names = ctx.periodNames;
    const topicQuestions = bandTotal(now.bands);
    const topicQuestionsBefore = bandTotal(before.bands);
    const answeredShare = topicQuestions ? (Number(now.bands?.confident) || 0) / topicQuestions : null;
    const answeredShareBefore = topicQuestionsBefore ? (Number(before.bands?.confident) || 0) / topicQuestionsBefore : null;
    const figures = el(
      "div",
      { class: "figures" },
      figureCard({ label: "Answers given", value: now.answers, previous: before.answers, format: formatCount, better: null }),
      figureCard({ label: "Chats it answered", value: now.conversations, previous: before.conversations, format: formatCount, better: null }),
      figureCard({ label: "Questions answered", value: answeredShare, previous: answeredShareBefore, format: formatPercent, kind: "share", note: "Of the questions about City services" }),
      figureCard({ label: "Could not answer", value: now.unanswered?.total ?? null, previous: before.unanswered?.total ?? null, format: formatCount, better: "down" }),
      figureCard({ label: "In Spanish", value: now.languages?.es ?? 0, previous: before.languages?.es ?? 0, format: formatCount, better: null }),
    );
    const bandLabels = BANDS.map(([, label]) => label);
    const bandNow = BANDS.map(([key]) => Number(now.bands?.[key]) || 0);
    const bandBefore = BANDS.map(([key]) => Number(before.bands?.[key]) || 0);
    const bands = chartFigure(ctx, {
      title: "How sure it was",
      summary: bandLabels.map((l, i) => `${l} ${formatCount(bandNow[i])} (previous ${formatCount(bandBefore[i])})`).join(", "),
      empty: topicQuestions || topicQuestionsBefore ? null : "No questions about City services in either period.",
      config: compareBars({ labels: bandLabels, current: bandNow, previous: bandBefore, names, horizontal: true, format: formatCount }),
      table: { columns: ["Answer", names.current, names.previous], rows: bandLabels.map((l, i) => [l, formatCount(bandNow[i]), formatCount(bandBefore[i])]) },
    });
    const reasonKeys = [...new Set([...Object.keys(now.handovers || {}), ...Object.keys(before.handovers || {})])];
    const reasonLabels = reasonKeys.map((k) => REASONS[k] || k);
    const reasonNow = reasonKeys.map((k) => Number(now.handovers?.[k]) || 0);
    const reasonBefore = reasonKeys.map((k) => Number(before.handovers?.[k]) || 0);
    const handovers = chartFigure(ctx, {
      title: "Why it brought in a person",
      summary: reasonLabels.map((l, i) => `${l} ${formatCount(reasonNow[i])} (previous ${formatCount(reasonBefore[i])})`).join(", ") || "none",
      empty: reasonKeys.length ? null : "No chat was handed to a person in either period.",
      config: compareBars({ labels: reasonLabels, current: reasonNow, previous: reasonBefore, names, horizontal: true, format: formatCount }),
      table: { columns: ["Reason", names.current, names.previous], rows: reasonLabels.map((l, i) => [l, formatCount(reasonNow[i]), formatCount(reasonBefore[i])]) },
    });
    const topics = Array.isArray(now.topics) ? now.topics : [];
    const topicsBefore = new Map((Array.isArray(before.topics) ? before.topics : []).map((/** @type {any} */ t) => [t.code, t]));
    const topicsCard = card(
      "assistant-topics",
      el("h4", { text: "What residents asked about" }),
      topics.length
        ? el(
            "div",
            { class: "scroll-x", tabindex: "0", role: "region", "aria-label": "Topics asked (scrolls sideways)" },
            dataTable({
              caption: `The ${Math.min(TOPICS_SHOWN, topics.length)} topics asked most, ${names.current}`,
              captionHidden: true,
              columns: ["Topic", "Asked", "Answered", "Offered choices", "Previous period"],
              rows: topics.slice(0, TOPICS_SHOWN).map((/** @type {any} */ t) => [
                t.name || t.code,
                formatCount(t.asked),
                formatCount(t.confident),
                formatCount(t.unsure),
                formatCount(topicsBefore.get(t.code)?.asked ?? 0),
              ]),
              className: "report-table numeric",
            }),
          )
        : emptyState("No question about a City service in this period."),
    );
    const intents = card(
      "assistant-intents",
      el("h4", { text: "Besides questions" }),
      dataTable({
        caption: "Messages the assistant recognised besides questions",
        captionHidden: true,
        columns: ["Message", names.current, names.previous],
        rows: INTENTS.map(([key, label]) => [label, formatCount(now.intents?.[key] ?? 0), formatCount(before.intents?.[key] ?? 0)]),
        className: "report-table numeric",
      }),
    );
    const articles = Array.isArray(now.articles) ? now.articles : [];
    const articlesCard = card(
      "assistant-articles",
      el("h4", { text: "Articles it answered with" }),
      articles.length
        ? dataTable({
            caption: `The ${Math.min(ARTICLES_SHOWN, articles.length)} articles given most`,
            captionHidden: true,
            columns: ["Article", "Answers"],
            rows: articles.slice(0, ARTICLES_SHOWN).map((/** @type {any} */ a) => [a.title || a.id, formatCount(a.answers)]),
            className: "report-table numeric",
          })
        : emptyState("No article was given in this period."),
    );
    return [
      figures,
      el("div", { class: "chart-grid" }, bands, handovers),
      el("div", { class: "card-grid" }, topicsCard, el("div", {}, intents, articlesCard)),
      unansweredCard(ctx, now),
    ];
  },
};

/**
 * The questions it could not answer, grouped: newest group first, each opening to its questions,
 * each question a button that opens its chat.
 * @param {import("./ui.js").RenderContext} ctx
 * @param {any} now
 */
function unansweredCard(ctx, now) {
  const groups = Array.isArray(now.groups) ? now.groups : [];
  const total = Number(now.unanswered?.total) || 0;
  const heading = el("h4", { text: "Questions it could not answer" });
  if (!groups.length) return card("assistant-unanswered", heading, emptyState("It answered every question in this period."));
  const shown = Number(now.questions_grouped) || 0;
  const intro = el(
    "p",
    { class: "hint" },
    `${formatCount(total)} in this period${shown < total ? `; the newest ${formatCount(shown)} are grouped here` : ""}. Questions alike are grouped, newest first. Open a chat to see what the resident needed, then add or improve the article.`,
  );
  const list = el(
    "ol",
    { class: "question-groups" },
    ...groups.map((/** @type {any} */ group) =>
      el(
        "li",
        {},
        el(
          "details",
          {},
          el(
            "summary",
            {},
            el("span", { class: "badge count", text: formatCount(group.count) }),
            el("span", { class: "sr-only", text: group.count === 1 ? " question: " : " questions like: " }),
            " ",
            el("q", { text: group.example }),
            " ",
            el("span", { class: "hint", text: when(group.newest_at) }),
          ),
          el(
            "ul",
            { class: "questions" },
            ...group.questions.map((/** @type {any} */ q) =>
              el(
                "li",
                { lang: q.language === "es" ? "es" : null },
                el("q", { text: q.text }),
                " ",
                el("span", { class: "hint", text: `${KINDS[q.kind] || q.kind} · ${when(q.at)}` }),
                q.offered?.length ? el("span", { class: "hint", text: ` · offered: ${q.offered.join(", ")}` }) : null,
                " ",
                ctx.openConversation
                  ? el(
                      "button",
                      { type: "button", class: "link", onclick: () => ctx.openConversation?.(q.conversation_id) },
                      `Open chat #${q.conversation_id}`,
                    )
                  : el("span", { text: `Chat #${q.conversation_id}` }),
              ),
            ),
            group.count > group.questions.length
              ? el("li", { class: "hint", text: `and ${formatCount(group.count - group.questions.length)} more like these` })
              : null,
          ),
        ),
      ),
    ),
  );
  return card("assistant-unanswered", heading, intro, list);
}
