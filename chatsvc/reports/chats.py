"""The chat channel's measures, computed in SQL on SQLite and PostgreSQL alike.

A chat belongs to the period it was started in (`conversations.created_at`), and every measure
of it is counted there, even when it was answered or closed after the period ended. The clocks:

- handed over: `conversations.handoff_at`, set when the assistant hands the chat to a person;
- an agent joined: the first "… joined the chat." system message at or after the hand-over
  (marked {"notice": "joined"} in any language; older English rows by their words).
  `assigned_at` is not used: it is overwritten by every transfer and cleared when a chat goes
  back to the queue, while the system message is written once per assignment and never changed;
- closed: `conversations.ended_at`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
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
from chatsvc.actions.conversations import JOINED
from chatsvc.db.models import (
    Conversation,
    ConversationNote,
    ConversationRating,
    Message,
    Staff,
    StaffingHour,
)
from chatsvc.reports.daily import DailySeries, per_local_day
from chatsvc.reports.period import Period

# queue.assign_all writes "<first name> joined the chat." in the chat's language, marked
# {"notice": "joined"}; rows from before the marker are English, found by their end.
JOINED_SUFFIX = " joined the chat."

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
    service_level_target: float | None = None  # what the center aims for, 0 to 1 (a setting)

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
                "target": self.service_level_target,
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
    # Agents on duty in that hour, averaged over the minutes sampled in it (None: none sampled,
    # the service was not running), and how many minutes were sampled.
    agents_available: float | None = None
    minutes_sampled: int = 0


@dataclass(frozen=True)
class HourlyReport:
    """Chats offered per weekday and hour, against the agents on duty then (sampled each minute
    while the service runs, summed per hour: `staffing_hours`)."""

    period: Period
    cells: tuple[HourCell, ...]  # the hours with chats or samples, Monday 0:00 first
    agents_available_recorded: bool = False  # any minute of the period was sampled

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": period_dict(self.period),
            "cells": [
                {
                    "weekday": c.weekday,
                    "hour": c.hour,
                    "offered": c.offered,
                    "agents_available": c.agents_available,
                    "minutes_sampled": c.minutes_sampled,
                }
                for c in self.cells
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


def _started_in(period: Period) -> ColumnElement[bool]:
    """The chat was started in the period (by ix_conversations_created_at)."""
    return and_(
        Conversation.created_at >= period.starts_at,
        Conversation.created_at < period.ends_at,
    )


def _facts(session: AsyncSession, period: Period) -> CTE:
    """One row per chat started in the period, with the moment an agent first joined it and
    its clocks in seconds: answer delay, wait (to the end, from the hand-over) and handle time.

    The join messages are found by an outer join grouped by chat, not by a correlated
    subquery: both databases inline a CTE used once, and the subquery then ran again for every
    reference to `joined_at` (a year of chats took seconds on PostgreSQL; bench/reports.py).
    The chats of the period come first, each one's messages by its key: a day's report does not
    read a year of messages. The clocks are worked out here, once per chat: the figures read
    each of them up to a dozen times (every bucket of a distribution).
    """
    joined_at = func.min(Message.created_at)
    return (
        select(
            Conversation.id,
            Conversation.created_at,
            Conversation.status,
            Conversation.handoff_at,
            Conversation.disposition,
            Conversation.assigned_staff_id,
            joined_at.label("joined_at"),
            _seconds(session, joined_at, Conversation.handoff_at).label("delay"),
            _seconds(session, Conversation.ended_at, Conversation.handoff_at).label("wait"),
            _seconds(session, Conversation.ended_at, joined_at).label("handle"),
        )
        .outerjoin(
            Message,
            and_(
                Message.conversation_id == Conversation.id,
                Message.author_kind == "system",
                # Marked since the notice is written in the chat's language; English before.
                or_(
                    Message.decision["notice"].as_string() == JOINED,
                    Message.body.like("%" + JOINED_SUFFIX),
                ),
                or_(
                    Conversation.handoff_at.is_(None),
                    Message.created_at >= Conversation.handoff_at,
                ),
            ),
        )
        .where(_started_in(period))
        # Grouped by chat; by the start first, so that SQLite reads the period's chats in the
        # order of ix_conversations_created_at (by the key alone it scans every chat ever, in
        # the key's order). The other columns depend on the key, as PostgreSQL requires.
        .group_by(Conversation.created_at, Conversation.id)
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
    session: AsyncSession,
    *,
    period: Period,
    service_level_seconds: int,
    service_level_target: float | None = None,
) -> ChatReport:
    """Offered, answered, contained, abandoned, delays, service level, handle time and more."""
    facts = _facts(session, period)
    c = facts.c
    ended = c.status == ConversationStatus.ENDED
    answered = c.joined_at.is_not(None)
    delay_measured = and_(answered, c.handoff_at.is_not(None))
    abandoned = and_(ended, c.handoff_at.is_not(None), c.joined_at.is_(None))
    handled = and_(ended, answered)
    delay, wait, handle = c.delay, c.wait, c.handle
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
            .join(Conversation, Conversation.id == ConversationNote.conversation_id)
            .where(ConversationNote.kind == "transfer", _started_in(period))
        )
    ).one()
    dispositions = await session.execute(
        select(Conversation.disposition, func.count())
        .where(
            _started_in(period),
            Conversation.status == ConversationStatus.ENDED,
            Conversation.disposition.is_not(None),
        )
        .group_by(Conversation.disposition)
        .order_by(Conversation.disposition)
    )
    rating = (
        await session.execute(
            select(func.avg(ConversationRating.score), func.count())
            .select_from(ConversationRating)
            .join(Conversation, Conversation.id == ConversationRating.conversation_id)
            .where(_started_in(period))
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
        dispositions={str(d): int(k) for d, k in dispositions},
        rating_average=None if rating[1] == 0 else round(float(rating[0]), 2),
        ratings=int(rating[1]),
        service_level_target=service_level_target,
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
    the minutes are then placed in the zone's weekday and hour. The agents on duty come from
    the minutes sampled (`presence.record_staffing`), placed in the zone's hour when sampled.
    """
    minute = _utc_minute(session, Conversation.created_at).label("minute")
    rows = await session.execute(
        select(minute, func.count()).where(_started_in(period)).group_by(minute)
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
    sampled = await session.execute(
        select(
            StaffingHour.weekday,
            StaffingHour.hour,
            func.sum(StaffingHour.on_duty_sum),
            func.sum(StaffingHour.minutes),
        )
        .where(
            StaffingHour.hour_start >= period.starts_at, StaffingHour.hour_start < period.ends_at
        )
        .group_by(StaffingHour.weekday, StaffingHour.hour)
    )
    staffing = {
        (int(w), int(h)): (round(int(total) / int(n), 2), int(n)) for w, h, total, n in sampled if n
    }
    cells = tuple(
        HourCell(w, h, counts.get((w, h), 0), *staffing.get((w, h), (None, 0)))
        for w, h in sorted({*counts, *staffing})
    )
    return HourlyReport(period, cells, agents_available_recorded=bool(staffing))


async def by_agent(session: AsyncSession, *, period: Period) -> AgentReport:
    """Per agent: chats answered, average handle time and satisfaction."""
    facts = _facts(session, period)
    c = facts.c
    handled = and_(c.status == ConversationStatus.ENDED, c.joined_at.is_not(None))
    handle = c.handle
    chats = await session.execute(
        select(c.assigned_staff_id, func.count(), func.avg(case((handled, handle))))
        .where(c.joined_at.is_not(None))
        .group_by(c.assigned_staff_id)
    )
    ratings = await session.execute(
        select(ConversationRating.staff_id, func.avg(ConversationRating.score), func.count())
        .join(Conversation, Conversation.id == ConversationRating.conversation_id)
        .where(_started_in(period))
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
    daily: DailySeries

    def as_dict(self) -> dict[str, Any]:
        return {
            "chats": self.chats.as_dict(),
            "by_hour": self.hourly.as_dict(),
            "by_agent": self.agents.as_dict(),
            "by_day": self.daily.as_dict(),
        }


async def chat_figures(
    session: AsyncSession,
    *,
    period: Period,
    service_level_seconds: int,
    service_level_target: float | None = None,
) -> ChatFigures:
    """The chat measures, by weekday and hour and by agent, for one period."""
    return ChatFigures(
        await chat_report(
            session,
            period=period,
            service_level_seconds=service_level_seconds,
            service_level_target=service_level_target,
        ),
        await by_hour_and_weekday(session, period=period),
        await by_agent(session, period=period),
        await chats_by_day(session, period=period),
    )


async def chats_by_day(session: AsyncSession, *, period: Period) -> DailySeries:
    """Per day the chats were started on: offered, answered by a person, contained by the
    assistant and abandoned while waiting (the same definitions as `chat_report`)."""
    facts = _facts(session, period)
    c = facts.c
    ended = c.status == ConversationStatus.ENDED
    return await per_local_day(
        session,
        moment=c.created_at,
        period=period,
        figures=(
            ("offered", func.count()),
            ("answered_by_agent", _count(c.joined_at.is_not(None))),
            ("contained", _count(and_(ended, c.handoff_at.is_(None), c.joined_at.is_(None)))),
            (
                "abandoned_waiting",
                _count(and_(ended, c.handoff_at.is_not(None), c.joined_at.is_(None))),
            ),
        ),
    )
