"""The chat channel's measures, computed in SQL on SQLite and PostgreSQL alike.

A chat belongs to the period it was started in (`conversations.created_at`), and every measure
of it is counted there, even when it was answered or closed after the period ended. The clocks:

- handed over: `conversations.handoff_at`, set when the assistant hands the chat to a person;
- an agent joined: the first "… joined the chat." system message at or after the hand-over.
  `assigned_at` is not used: it is overwritten by every transfer and cleared when a chat goes
  back to the queue, while the system message is written once per assignment and never changed;
- closed: `conversations.ended_at`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    extract,
    func,
    or_,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import CTE

from chatsvc.actions.conversation_state import ConversationStatus
from chatsvc.db.models import Conversation, ConversationNote, ConversationRating, Message, Staff
from chatsvc.reports.period import Period

JOINED_SUFFIX = " joined the chat."  # queue.assign_all writes "<first name> joined the chat."

# Answer delays and waits fall in these buckets: (name, from seconds, below seconds).
BUCKETS: tuple[tuple[str, float, float | None], ...] = (
    ("under_30s", 0, 30),
    ("30s_to_1m", 30, 60),
    ("1m_to_2m", 60, 120),
    ("2m_to_5m", 120, 300),
    ("over_5m", 300, None),
)


@dataclass(frozen=True)
class Distribution:
    """How many durations fell in each of BUCKETS, in order."""

    counts: tuple[int, ...]

    def as_dict(self) -> dict[str, int]:
        return {name: n for (name, _, _), n in zip(BUCKETS, self.counts, strict=True)}


@dataclass(frozen=True)
class ChatReport:
    """The chat channel in a period (durations in seconds; None where nothing was measured)."""

    period: Period
    offered: int
    in_progress: int
    answered_by_agent: int
    contained_by_assistant: int
    abandoned_waiting: int
    abandoned_wait_average: float | None
    abandoned_wait_longest: float | None
    abandoned_waits: Distribution
    answer_delay_average: float | None
    answer_delays: Distribution
    service_level_seconds: int
    answered_within_service_level: int
    service_level: float | None  # share of answered chats with a measured delay, 0 to 1
    handle_time_average: float | None
    handled: int  # chats with a handle time: answered and closed
    transfers: int
    chats_transferred: int
    dispositions: dict[str, int]
    rating_average: float | None
    ratings: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": period_dict(self.period),
            "offered": self.offered,
            "in_progress": self.in_progress,
            "answered_by_agent": self.answered_by_agent,
            "contained_by_assistant": self.contained_by_assistant,
            "abandoned_waiting": {
                "count": self.abandoned_waiting,
                "wait_average_seconds": self.abandoned_wait_average,
                "wait_longest_seconds": self.abandoned_wait_longest,
                "waits": self.abandoned_waits.as_dict(),
            },
            "answer_delay": {
                "average_seconds": self.answer_delay_average,
                "distribution": self.answer_delays.as_dict(),
            },
            "service_level": {
                "threshold_seconds": self.service_level_seconds,
                "answered_within": self.answered_within_service_level,
                "share": self.service_level,
            },
            "handle_time": {"average_seconds": self.handle_time_average, "chats": self.handled},
            "transfers": {"count": self.transfers, "chats": self.chats_transferred},
            "dispositions": dict(self.dispositions),
            "satisfaction": {"average": self.rating_average, "count": self.ratings},
        }


@dataclass(frozen=True)
class HourCell:
    weekday: int  # 0 Monday … 6 Sunday, in the center's zone
    hour: int  # 0 … 23, in the center's zone
    offered: int


@dataclass(frozen=True)
class HourlyReport:
    """Chats offered per weekday and hour. Agent availability is not recorded over time
    (presence keeps only each agent's current status), so it is not reported."""

    period: Period
    cells: tuple[HourCell, ...]  # only the hours with chats, Monday 0:00 first
    agents_available_recorded: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": period_dict(self.period),
            "cells": [
                {"weekday": c.weekday, "hour": c.hour, "offered": c.offered} for c in self.cells
            ],
            "agents_available_recorded": self.agents_available_recorded,
        }


@dataclass(frozen=True)
class AgentRow:
    staff_id: int | None  # None: the chat's agent was lost before it ended
    name: str | None
    chats: int
    handle_time_average: float | None
    rating_average: float | None
    ratings: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "staff_id": self.staff_id,
            "name": self.name,
            "chats": self.chats,
            "handle_time_average_seconds": self.handle_time_average,
            "satisfaction": {"average": self.rating_average, "count": self.ratings},
        }


@dataclass(frozen=True)
class AgentReport:
    """Per agent: the answered chats they held when the chat ended (as ratings count them)."""

    period: Period
    agents: tuple[AgentRow, ...]

    def as_dict(self) -> dict[str, Any]:
        return {"period": period_dict(self.period), "agents": [a.as_dict() for a in self.agents]}


def period_dict(period: Period) -> dict[str, Any]:
    return {
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "days": period.days,
        "time_zone": period.zone.key,
    }


def _seconds(session: AsyncSession, later: Any, earlier: Any) -> ColumnElement[Any]:
    """`later - earlier` in seconds (to the millisecond on SQLite)."""
    if session.get_bind().dialect.name == "postgresql":
        return extract("epoch", later - earlier)
    return func.round((func.julianday(later) - func.julianday(earlier)) * 86_400_000) / 1000.0


def _facts(period: Period) -> CTE:
    """One row per chat started in the period, with the moment an agent first joined it."""
    joined = (
        select(func.min(Message.created_at))
        .where(
            Message.conversation_id == Conversation.id,
            Message.author_kind == "system",
            Message.body.like("%" + JOINED_SUFFIX),
            or_(Conversation.handoff_at.is_(None), Message.created_at >= Conversation.handoff_at),
        )
        .scalar_subquery()
    )
    return (
        select(
            Conversation.id,
            Conversation.status,
            Conversation.handoff_at,
            Conversation.ended_at,
            Conversation.disposition,
            Conversation.assigned_staff_id,
            joined.label("joined_at"),
        )
        .where(
            Conversation.created_at >= period.starts_at,
            Conversation.created_at < period.ends_at,
        )
        .cte("facts")
    )


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _buckets(seconds: ColumnElement[Any], among: ColumnElement[bool]) -> list[ColumnElement[Any]]:
    columns = []
    for _, low, high in BUCKETS:
        inside = seconds >= low if high is None else and_(seconds >= low, seconds < high)
        columns.append(_count(and_(among, inside)))
    return columns


def _float(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


async def chat_report(
    session: AsyncSession, *, period: Period, service_level_seconds: int
) -> ChatReport:
    """Offered, answered, contained, abandoned, delays, service level, handle time and more."""
    facts = _facts(period)
    c = facts.c
    ended = c.status == ConversationStatus.ENDED
    answered = c.joined_at.is_not(None)
    delay_measured = and_(answered, c.handoff_at.is_not(None))
    abandoned = and_(ended, c.handoff_at.is_not(None), c.joined_at.is_(None))
    handled = and_(ended, answered)
    delay = _seconds(session, c.joined_at, c.handoff_at)
    wait = _seconds(session, c.ended_at, c.handoff_at)
    handle = _seconds(session, c.ended_at, c.joined_at)
    row = (
        await session.execute(
            select(
                func.count(),
                _count(c.status == ConversationStatus.OPEN),
                _count(answered),
                _count(and_(ended, c.handoff_at.is_(None), c.joined_at.is_(None))),
                _count(abandoned),
                func.avg(case((abandoned, wait))),
                func.max(case((abandoned, wait))),
                func.avg(case((delay_measured, delay))),
                _count(and_(delay_measured, delay <= service_level_seconds)),
                _count(delay_measured),
                func.avg(case((handled, handle))),
                _count(handled),
                *_buckets(wait, abandoned),
                *_buckets(delay, delay_measured),
            ).select_from(facts)
        )
    ).one()
    n = len(BUCKETS)
    (offered, in_progress, by_agent, contained, abandoned_n, wait_avg, wait_max) = row[:7]
    (delay_avg, within, measured, handle_avg, handled_n) = row[7:12]
    wait_buckets = tuple(int(v) for v in row[12 : 12 + n])
    delay_buckets = tuple(int(v) for v in row[12 + n : 12 + 2 * n])

    transfers = (
        await session.execute(
            select(func.count(), func.count(func.distinct(ConversationNote.conversation_id)))
            .select_from(ConversationNote)
            .join(facts, facts.c.id == ConversationNote.conversation_id)
            .where(ConversationNote.kind == "transfer")
        )
    ).one()
    dispositions = await session.execute(
        select(c.disposition, func.count())
        .where(ended, c.disposition.is_not(None))
        .group_by(c.disposition)
        .order_by(c.disposition)
    )
    rating = (
        await session.execute(
            select(func.avg(ConversationRating.score), func.count())
            .select_from(ConversationRating)
            .join(facts, facts.c.id == ConversationRating.conversation_id)
        )
    ).one()
    return ChatReport(
        period=period,
        offered=int(offered),
        in_progress=int(in_progress),
        answered_by_agent=int(by_agent),
        contained_by_assistant=int(contained),
        abandoned_waiting=int(abandoned_n),
        abandoned_wait_average=_float(wait_avg),
        abandoned_wait_longest=_float(wait_max),
        abandoned_waits=Distribution(wait_buckets),
        answer_delay_average=_float(delay_avg),
        answer_delays=Distribution(delay_buckets),
        service_level_seconds=service_level_seconds,
        answered_within_service_level=int(within),
        service_level=round(int(within) / int(measured), 4) if measured else None,
        handle_time_average=_float(handle_avg),
        handled=int(handled_n),
        transfers=int(transfers[0]),
        chats_transferred=int(transfers[1]),
        dispositions={d: int(k) for d, k in dispositions},
        rating_average=None if rating[1] == 0 else round(float(rating[0]), 2),
        ratings=int(rating[1]),
    )


def _utc_minute(session: AsyncSession, moment: Any) -> ColumnElement[str]:
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone("UTC", moment), "YYYY-MM-DD HH24:MI")
    return func.strftime("%Y-%m-%d %H:%M", moment)


async def _offered_local_minutes(
    session: AsyncSession, period: Period
) -> list[tuple[datetime, int]]:
    """Chats started in the period, counted per minute, each minute in the center's zone.

    The database groups by UTC minute (so any zone's offset, whole hour or not, maps exactly);
    the minutes are then placed in the zone.
    """
    minute = _utc_minute(session, Conversation.created_at).label("minute")
    rows = await session.execute(
        select(minute, func.count())
        .where(
            Conversation.created_at >= period.starts_at,
            Conversation.created_at < period.ends_at,
        )
        .group_by(minute)
    )
    return [
        (
            datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC).astimezone(period.zone),
            int(n),
        )
        for text, n in rows
    ]


async def by_hour_and_weekday(session: AsyncSession, *, period: Period) -> HourlyReport:
    """Chats offered per weekday and hour of the day, in the center's time zone."""
    counts: dict[tuple[int, int], int] = {}
    for local, n in await _offered_local_minutes(session, period):
        key = (local.weekday(), local.hour)
        counts[key] = counts.get(key, 0) + n
    cells = tuple(HourCell(w, h, counts[w, h]) for w, h in sorted(counts))
    return HourlyReport(period, cells)


async def offered_by_day(session: AsyncSession, *, period: Period) -> tuple[tuple[date, int], ...]:
    """Chats offered on each day of the period (every day, none left out), in the center's
    time zone."""
    counts = {period.start + timedelta(days=d): 0 for d in range(period.days)}
    for local, n in await _offered_local_minutes(session, period):
        counts[local.date()] += n
    return tuple(counts.items())


async def by_agent(session: AsyncSession, *, period: Period) -> AgentReport:
    """Per agent: chats answered, average handle time and satisfaction."""
    facts = _facts(period)
    c = facts.c
    handled = and_(c.status == ConversationStatus.ENDED, c.joined_at.is_not(None))
    handle = _seconds(session, c.ended_at, c.joined_at)
    chats = await session.execute(
        select(c.assigned_staff_id, func.count(), func.avg(case((handled, handle))))
        .where(c.joined_at.is_not(None))
        .group_by(c.assigned_staff_id)
    )
    ratings = await session.execute(
        select(ConversationRating.staff_id, func.avg(ConversationRating.score), func.count())
        .join(facts, facts.c.id == ConversationRating.conversation_id)
        .group_by(ConversationRating.staff_id)
    )
    rated = {staff_id: (float(avg), int(n)) for staff_id, avg, n in ratings}
    found = {staff_id: (int(n), _float(avg)) for staff_id, n, avg in chats}
    ids = [i for i in {*found, *rated} if i is not None]
    named = await session.execute(select(Staff.id, Staff.display_name).where(Staff.id.in_(ids)))
    names: dict[int, str] = {staff_id: name for staff_id, name in named}
    rows = []
    for staff_id in {*found, *rated}:
        n, handle_avg = found.get(staff_id, (0, None))
        avg, count = rated.get(staff_id, (None, 0))
        rows.append(
            AgentRow(
                staff_id,
                names.get(staff_id) if staff_id is not None else None,
                n,
                handle_avg,
                None if avg is None else round(avg, 2),
                count,
            )
        )
    rows.sort(key=lambda r: (r.name is None, (r.name or "").lower(), r.staff_id or 0))
    return AgentReport(period, tuple(rows))


@dataclass(frozen=True)
class ChatFigures:
    """Every chat table of one period, read in one transaction."""

    chats: ChatReport
    hourly: HourlyReport
    agents: AgentReport

    def as_dict(self) -> dict[str, Any]:
        return {
            "chats": self.chats.as_dict(),
            "by_hour": self.hourly.as_dict(),
            "by_agent": self.agents.as_dict(),
        }


async def chat_figures(
    session: AsyncSession, *, period: Period, service_level_seconds: int
) -> ChatFigures:
    """The chat measures, by weekday and hour and by agent, for one period."""
    return ChatFigures(
        await chat_report(session, period=period, service_level_seconds=service_level_seconds),
        await by_hour_and_weekday(session, period=period),
        await by_agent(session, period=period),
    )
