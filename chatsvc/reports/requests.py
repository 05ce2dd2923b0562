"""Service requests: opened, resolved, open and overdue now, by department, topic and channel.

Two clocks, read from `service_requests`:

- opened: `requested_at`; the request's due date is `expected_at`, set when it was filed to the
  topic's service level (its business days after filing, in the center's calendar);
- resolved: `closed_at`, set when it was closed or referred (cleared if it is reopened).

Opened, open now and overdue now count the requests *opened* in the period; resolved, within the
service level and time to resolve count the requests *resolved* in the period, whenever opened
(as the council report counts them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from chatsvc.db.models import ServiceRequest
from chatsvc.reports.chats import _count, _float, _seconds, period_dict
from chatsvc.reports.period import Period

OPEN_STATUSES = ("open", "in_progress")
RESOLVED_STATUSES = ("closed", "referred")
TOP_TOPICS = 20


@dataclass(frozen=True)
class GroupRow:
    """Requests opened in the period with one department, topic or channel."""

    key: str
    opened: int
    open_now: int
    overdue_now: int
    name: str | None = None  # a topic's name in the catalogue (None: not in it any more)

    def as_dict(self, key: str) -> dict[str, Any]:
        named = {"name": self.name} if key == "service_code" else {}
        return {
            key: self.key,
            **named,
            "opened": self.opened,
            "open_now": self.open_now,
            "overdue_now": self.overdue_now,
        }


@dataclass(frozen=True)
class RequestsReport:
    """Service requests in a period, as they stand at `now` (durations in seconds)."""

    period: Period
    opened: int
    open_now: int
    overdue_now: int
    resolved: int
    closed: int
    referred: int
    resolved_within_service_level: int
    service_level: float | None  # share of the resolved, 0 to 1
    resolve_time_average: float | None
    by_department: tuple[GroupRow, ...]
    by_topic: tuple[GroupRow, ...]  # the TOP_TOPICS most opened
    by_channel: tuple[GroupRow, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "period": period_dict(self.period),
            "opened": self.opened,
            "open_now": self.open_now,
            "overdue_now": self.overdue_now,
            "resolved": {"count": self.resolved, "closed": self.closed, "referred": self.referred},
            "service_level": {
                "resolved_within": self.resolved_within_service_level,
                "share": self.service_level,
            },
            "resolve_time_average_seconds": self.resolve_time_average,
            "by_department": [r.as_dict("department") for r in self.by_department],
            "by_topic": [r.as_dict("service_code") for r in self.by_topic],
            "by_channel": [r.as_dict("source") for r in self.by_channel],
        }


async def requests_report(
    session: AsyncSession,
    *,
    period: Period,
    now: datetime,
    topic_names: Mapping[str, str] | None = None,
) -> RequestsReport:
    """Opened, resolved, open and overdue now, the service level and the groups; the topics
    are named from `topic_names` (code to name)."""
    r = ServiceRequest
    opened_in = and_(r.requested_at >= period.starts_at, r.requested_at < period.ends_at)
    still_open = r.status.in_(OPEN_STATUSES)
    overdue = and_(still_open, r.expected_at < now)
    opened = (
        await session.execute(
            select(func.count(), _count(still_open), _count(overdue)).where(opened_in)
        )
    ).one()
    # The status is tested in the figures, not in WHERE: there SQLite (without statistics)
    # would read every resolved request by ix_service_requests_status_requested instead of the
    # period's by ix_service_requests_closed_at.
    is_resolved = r.status.in_(RESOLVED_STATUSES)
    resolved = (
        await session.execute(
            select(
                _count(is_resolved),
                _count(r.status == "closed"),
                _count(r.status == "referred"),
                _count(and_(is_resolved, r.closed_at <= r.expected_at)),
                func.avg(_seconds(session, r.closed_at, r.requested_at)).filter(is_resolved),
            ).where(r.closed_at >= period.starts_at, r.closed_at < period.ends_at)
        )
    ).one()

    async def groups(
        column: InstrumentedAttribute[str], limit: int | None = None
    ) -> tuple[GroupRow, ...]:
        n = func.count()
        rows = await session.execute(
            select(column, n, _count(still_open), _count(overdue))
            .where(opened_in)
            .group_by(column)
            .order_by(n.desc(), column)
            .limit(limit)
        )
        return tuple(GroupRow(k, int(a), int(b), int(c)) for k, a, b, c in rows)

    n_resolved, within = int(resolved[0]), int(resolved[3])
    return RequestsReport(
        period=period,
        opened=int(opened[0]),
        open_now=int(opened[1]),
        overdue_now=int(opened[2]),
        resolved=n_resolved,
        closed=int(resolved[1]),
        referred=int(resolved[2]),
        resolved_within_service_level=within,
        service_level=round(within / n_resolved, 4) if n_resolved else None,
        resolve_time_average=_float(resolved[4]),
        by_department=await groups(r.department),
        by_topic=tuple(
            replace(row, name=(topic_names or {}).get(row.key))
            for row in await groups(r.service_code, TOP_TOPICS)
        ),
        by_channel=await groups(r.source),
    )
