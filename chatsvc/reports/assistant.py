"""The City Assistant's report: what residents asked it, how sure it was, when it handed over,
and the questions it could not answer, grouped by similarity for the knowledge base's editors.

An assistant's answer stores what it made of the message it answers in `messages.decision`
(`intent`, `band`, `article_id`, `suggestions`, `language`); that is what is counted here, in the
period the answer was written. The question is the resident's last message before the answer in
the same chat. An answer written inside a dialogue (filing a request, looking one up) stores the
dialogue's step instead and is not a decision of the matcher.

Questions it could not answer, of three kinds:
- `no_match`: it understood nothing (band "none"), and said so;
- `unsure`: it offered its three likeliest articles instead of answering;
- `handed_over`: a second miss in a row, after which it brought in a person (its decision says
  `"handoff": "no_match"`; an answer that hands over records why, and one that would have
  while the center was closed records `"wanted"`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from rapidfuzz import fuzz
from sqlalchemy import and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from chatsvc.actions.article_votes import votes_between
from chatsvc.actions.conversations import iso_utc
from chatsvc.bot.text import normalize, terms
from chatsvc.db.models import Conversation, Message
from chatsvc.reports.chats import period_dict
from chatsvc.reports.period import Period

# The intents the matcher recognises besides the topics. "none" is counted with the topics'
# bands: it is a question the assistant could not place.
SPECIAL_INTENTS = ("emergency", "human", "status", "greeting", "thanks")
BANDS = ("confident", "unsure", "none")
# The newest questions it could not answer that are read and grouped (a year may hold many):
# enough for the editors' work of a month, bounded so a report stays fast.
MAX_QUESTIONS = 500
MAX_QUESTION_CHARS = 300  # a question is shown up to this long
SHOWN_PER_GROUP = 10  # questions listed under a group (its count says how many it holds)
# Two questions are alike when their content words, stemmed and sorted, are this similar
# (rapidfuzz's token_sort_ratio, 0-100: typos and word order do not matter), or when they share
# this share of their content words.
SIMILAR_RATIO = 75.0
SIMILAR_SHARED = 0.6


@dataclass(frozen=True)
class TopicRow:
    code: str
    name: str
    confident: int
    unsure: int

    @property
    def asked(self) -> int:
        return self.confident + self.unsure

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "asked": self.asked,
            "confident": self.confident,
            "unsure": self.unsure,
        }


@dataclass(frozen=True)
class Question:
    """A resident's question the assistant could not answer, and where it was asked."""

    conversation_id: int
    seq: int  # the assistant's answer's place in the chat
    text: str
    at: datetime
    kind: str  # "no_match", "unsure" or "handed_over"
    language: str
    offered: tuple[str, ...] = ()  # the articles it offered, when unsure

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "seq": self.seq,
            "text": self.text,
            "at": iso_utc(self.at),
            "kind": self.kind,
            "language": self.language,
            "offered": list(self.offered),
        }


@dataclass(frozen=True)
class QuestionGroup:
    """Questions alike, newest first: `count` of them, the first SHOWN_PER_GROUP listed."""

    count: int
    questions: tuple[Question, ...]

    def as_dict(self) -> dict[str, Any]:
        newest = self.questions[0]
        return {
            "count": self.count,
            "example": newest.text,
            "newest_at": iso_utc(newest.at),
            "questions": [q.as_dict() for q in self.questions],
        }


@dataclass(frozen=True)
class AssistantReport:
    """What the assistant was asked in a period, and what it could not answer."""

    period: Period
    answers: int  # its answers that were a decision of the matcher
    conversations: int  # chats it answered at least once
    intents: dict[str, int]  # special intent → answers
    bands: dict[str, int]  # of the other answers (topics and "none"): band → answers
    languages: dict[str, int]  # "en", "es" → answers
    topics: tuple[TopicRow, ...]  # most asked first
    articles: tuple[tuple[str, str, int], ...]  # (id, title, answers given), most given first
    handovers: dict[str, int]  # reason → chats handed over in the period
    unanswered: dict[str, int]  # kind → questions in the period
    # The newest questions it could not answer (at most MAX_QUESTIONS), and the same grouped
    # by `grouped` (off the event loop), newest group first.
    questions: tuple[Question, ...] = ()
    groups: tuple[QuestionGroup, ...] = ()
    # The help center's "Was this helpful?" answers in the period: (id, title, yes, no) per
    # article, the most answered first.
    helpful: tuple[tuple[str, str, int, int], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": period_dict(self.period),
            "answers": self.answers,
            "conversations": self.conversations,
            "intents": self.intents,
            "bands": self.bands,
            "languages": self.languages,
            "topics": [t.as_dict() for t in self.topics],
            "articles": [
                {"id": article_id, "title": title, "answers": n}
                for article_id, title, n in self.articles
            ],
            "handovers": self.handovers,
            "unanswered": {**self.unanswered, "total": sum(self.unanswered.values())},
            "groups": [g.as_dict() for g in self.groups],
            "questions_grouped": len(self.questions),
            "helpful": {
                "yes": sum(row[2] for row in self.helpful),
                "no": sum(row[3] for row in self.helpful),
                "articles": [
                    {"id": article_id, "title": title, "yes": yes, "no": no}
                    for article_id, title, yes, no in self.helpful
                ],
            },
        }


async def assistant_report(
    session: AsyncSession,
    *,
    period: Period,
    topic_names: Mapping[str, str],
    article_titles: Mapping[str, str],
) -> AssistantReport:
    """Count the assistant's decisions in the period and read its newest unanswered questions
    (not grouped yet: `grouped` does that off the event loop)."""
    decision = Message.decision
    intent = decision["intent"].as_string()
    band = decision["band"].as_string()
    language = decision["language"].as_string()
    answered = and_(
        Message.author_kind == "assistant",
        Message.created_at >= period.starts_at,
        Message.created_at < period.ends_at,
        intent.is_not(None),
    )
    article = decision["article_id"].as_string()
    handoff = decision["handoff"].as_string()
    # One read of the period's answers, grouped finely enough for every count below (a few
    # hundred groups: intents, bands, languages, articles, hand-overs).
    rows = await session.execute(
        select(intent, band, language, article, handoff, func.count())
        .where(answered)
        .group_by(intent, band, language, article, handoff)
    )
    intents = dict.fromkeys(SPECIAL_INTENTS, 0)
    bands = dict.fromkeys(BANDS, 0)
    languages: dict[str, int] = {"en": 0, "es": 0}
    per_topic: dict[str, list[int]] = {}
    given: dict[str, int] = {}
    unanswered = {"no_match": 0, "unsure": 0, "handed_over": 0}
    answers = 0
    for name, how, lang, article_id, handed, n in rows:
        n = int(n)
        answers += n
        languages[lang or "en"] = languages.get(lang or "en", 0) + n
        if name in intents:
            intents[name] += n
            continue
        bands[how if how in bands else "none"] += n
        if how in ("none", "unsure"):
            kind = (
                "handed_over"
                if handed == "no_match"
                else "unsure"
                if how == "unsure"
                else "no_match"
            )
            unanswered[kind] += n
        if name != "none" and how in ("confident", "unsure"):
            counts = per_topic.setdefault(name, [0, 0])
            counts[0 if how == "confident" else 1] += n
        if how == "confident" and article_id:
            given[article_id] = given.get(article_id, 0) + n
    topics = sorted(
        (TopicRow(code, topic_names.get(code, code), c, u) for code, (c, u) in per_topic.items()),
        key=lambda t: (-t.asked, t.name.lower()),
    )
    conversations = await session.scalar(
        select(func.count(func.distinct(Message.conversation_id))).where(answered)
    )
    articles = sorted(
        ((a, article_titles.get(a, a), n) for a, n in given.items()),
        key=lambda row: (-row[2], row[1].lower()),
    )
    reasons = await session.execute(
        select(Conversation.handoff_reason, func.count())
        .where(
            Conversation.handoff_at >= period.starts_at,
            Conversation.handoff_at < period.ends_at,
        )
        .group_by(Conversation.handoff_reason)
    )
    handovers = {reason or "unknown": int(n) for reason, n in reasons}
    questions = await _unanswered(session, period, article_titles)
    votes = await votes_between(session, starts_at=period.starts_at, ends_at=period.ends_at)
    helpful = sorted(
        ((a, article_titles.get(a, a), yes, no) for a, (yes, no) in votes.items()),
        key=lambda row: (-(row[2] + row[3]), row[1].lower()),
    )
    return AssistantReport(
        period,
        answers,
        int(conversations or 0),
        intents,
        bands,
        languages,
        tuple(topics),
        tuple(articles),
        handovers,
        unanswered,
        questions=tuple(questions),
        helpful=tuple(helpful),
    )


async def _unanswered(
    session: AsyncSession,
    period: Period,
    article_titles: Mapping[str, str],
) -> list[Question]:
    """The newest MAX_QUESTIONS questions it could not answer."""
    answer = aliased(Message)
    intent = answer.decision["intent"].as_string()
    band = answer.decision["band"].as_string()
    missed = and_(
        answer.author_kind == "assistant",
        answer.created_at >= period.starts_at,
        answer.created_at < period.ends_at,
        intent.is_not(None),
        intent.not_in(SPECIAL_INTENTS),
        band.in_(("none", "unsure")),
    )
    kind = case((answer.decision["handoff"].as_string() == "no_match", "handed_over"), else_=band)
    question = aliased(Message)
    asked = (
        select(question.body)
        .where(
            question.conversation_id == answer.conversation_id,
            question.author_kind == "resident",
            question.seq < answer.seq,
        )
        .order_by(question.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(answer.conversation_id, answer.seq, answer.created_at, answer.decision, kind, asked)
        .where(missed)
        .order_by(answer.created_at.desc(), answer.id.desc())
        .limit(MAX_QUESTIONS)
    )
    questions = []
    for conversation_id, seq, at, decision, how, text in rows:
        if not text:
            continue  # the chat's first words were not the resident's (nothing to show)
        offered = tuple(
            str(s.get("title") or article_titles.get(str(s.get("article_id")), ""))
            for s in (decision.get("suggestions") or [])[:3]
            if isinstance(s, dict)
        )
        questions.append(
            Question(
                conversation_id,
                seq,
                _clip(text),
                at,
                "no_match" if how == "none" else how,
                str(decision.get("language") or "en"),
                tuple(o for o in offered if o),
            )
        )
    return questions


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_QUESTION_CHARS else text[: MAX_QUESTION_CHARS - 1] + "…"


def group_questions(questions: Sequence[Question]) -> tuple[QuestionGroup, ...]:
    """Group questions alike, each joining the first (newest) group whose first question is
    like it; groups come newest first. CPU work (rapidfuzz, bounded by MAX_QUESTIONS): run it
    off the event loop."""
    groups: list[tuple[str, frozenset[str], list[Question]]] = []
    for q in questions:
        words = terms(normalize(q.text).split())
        key = " ".join(sorted(words)) or normalize(q.text)
        bag = frozenset(words)
        for first_key, first_bag, members in groups:
            if _alike(key, bag, first_key, first_bag):
                members.append(q)
                break
        else:
            groups.append((key, bag, [q]))
    return tuple(
        QuestionGroup(len(members), tuple(members[:SHOWN_PER_GROUP])) for _, _, members in groups
    )


def _alike(key: str, bag: frozenset[str], other_key: str, other_bag: frozenset[str]) -> bool:
    if key == other_key:
        return True
    if bag and other_bag and len(bag & other_bag) / len(bag | other_bag) >= SIMILAR_SHARED:
        return True
    return fuzz.token_sort_ratio(key, other_key) >= SIMILAR_RATIO


async def grouped(report: AssistantReport) -> AssistantReport:
    """The report with its questions grouped, the grouping done in a worker thread."""
    groups = await asyncio.to_thread(group_questions, report.questions)
    return replace(report, groups=groups)
