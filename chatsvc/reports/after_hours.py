"""Messages left after hours: answered by their due time or late, overdue now, not yet answered.

A message belongs to the period it was left in (`after_hours_messages.received_at`). Its due
time is `reply_due` (set when it was left: the next business day); it is answered when an agent
replied (`replied_at`). Spam (`status = 'spam'`) is counted apart and left out of every other
figure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.db.models import AfterHoursMessage
from chatsvc.reports.chats import _count, _float, _seconds, period_dict
from chatsvc.reports.period import Period

OPEN_STATUSES = ("new", "in_progress")


@dataclass(frozen=True)
class AfterHoursReport:
    """After-hours messages left in a period, as they stand at `now` (durations in seconds)."""

    period: Period
    left: int
    answered_on_time: int
    answered_late: int
    overdue_now: int
    not_answered_yet: int
    closed_without_reply: int
    spam: int
    reply_time_average: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": period_dict(self.period),
            "left": self.left,
            "answered_on_time": self.answered_on_time,
            "answered_late": self.answered_late,
            "overdue_now": self.overdue_now,
            "not_answered_yet": self.not_answered_yet,
            "closed_without_reply": self.closed_without_reply,
            "spam": self.spam,
            "reply_time_average_seconds": self.reply_time_average,
        }


async def after_hours_report(
    session: AsyncSession, *, period: Period, now: datetime
) -> AfterHoursReport:
    """Messages left in the period; spam apart."""
    m = AfterHoursMessage
    spam = m.status == "spam"
    kept = m.status != "spam"
    replied = and_(kept, m.replied_at.is_not(None))
    waiting = and_(kept, m.replied_at.is_(None), m.status.in_(OPEN_STATUSES))
    row = (
        await session.execute(
            select(
                _count(kept),
                _count(and_(replied, m.replied_at <= m.reply_due)),
                _count(and_(replied, m.replied_at > m.reply_due)),
                _count(and_(waiting, m.reply_due < now)),
                _count(and_(waiting, m.reply_due >= now)),
                _count(and_(kept, m.replied_at.is_(None), m.status.not_in(OPEN_STATUSES))),
                _count(spam),
                func.avg(_seconds(session, m.replied_at, m.received_at)).filter(replied),
            ).where(m.received_at >= period.starts_at, m.received_at < period.ends_at)
        )
    ).one()
    left, on_time, late, overdue, waiting_n, closed, spam_n = (int(v) for v in row[:7])
    return AfterHoursReport(
        period=period,
        left=left,
        answered_on_time=on_time,
        answered_late=late,
        overdue_now=overdue,
        not_answered_yet=waiting_n,
        closed_without_reply=closed,
        spam=spam_n,
        reply_time_average=_float(row[7]),
    )
