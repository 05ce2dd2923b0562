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
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, and_, func, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.db.models import ServiceRequest
from chatsvc.reports.chats import _count, _float, _seconds, period_dict
from chatsvc.reports.daily import DailySeries, Day, per_local_day
from chatsvc.reports.period import Period

OPEN_STATUSES = ("open", "in_progress")
RESOLVED_STATUSES = ("closed", "referred")
TOP_TOPICS = 20


@dataclass(frozen=True)
class GroupRow:
    """Requests opened in the period with one department, topic or channel."""

    FIGURES: ClassVar[tuple[str, ...]] = ("opened", "open_now", "overdue_now")

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
    daily: DailySeries  # opened and resolved per day

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
            "by_day": self.daily.as_dict(),
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
    opened = await _opened(session, opened_in, still_open, overdue)
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

    n_resolved, within = int(resolved[0]), int(resolved[3])
    return RequestsReport(
        period=period,
        opened=opened.total.opened,
        open_now=opened.total.open_now,
        overdue_now=opened.total.overdue_now,
        resolved=n_resolved,
        closed=int(resolved[1]),
        referred=int(resolved[2]),
        resolved_within_service_level=within,
        service_level=round(within / n_resolved, 4) if n_resolved else None,
        resolve_time_average=_float(resolved[4]),
        by_department=opened.groups["department"],
        by_topic=tuple(
            replace(row, name=(topic_names or {}).get(row.key))
            for row in opened.groups["service_code"][:TOP_TOPICS]
        ),
        by_channel=opened.groups["source"],
        daily=await requests_by_day(session, period=period),
    )


@dataclass(frozen=True)
class _Opened:
    total: GroupRow
    groups: dict[str, tuple[GroupRow, ...]]  # by column name, most opened first, then by key


GROUPED_BY = ("department", "service_code", "source")


async def _opened(
    session: AsyncSession,
    opened_in: ColumnElement[bool],
    still_open: ColumnElement[bool],
    overdue: ColumnElement[bool],
) -> _Opened:
    """The requests opened in the period, in all and by department, topic and channel.

    One statement reads the period's requests once: they are counted per department, topic
    and channel together (a few hundred cells at most), and each grouping adds the cells up,
    ranked in SQL as ORDER BY would rank them (most opened first, then by the database's
    collation). Four statements read a year of requests four times.
    """
    r = ServiceRequest
    cells = (
        select(
            *(getattr(r, column) for column in GROUPED_BY),
            func.count().label("opened"),
            _count(still_open).label("open_now"),
            _count(overdue).label("overdue_now"),
        )
        .where(opened_in)
        .group_by(*(getattr(r, column) for column in GROUPED_BY))
        .cte("cells")
    )
    sums = [func.coalesce(func.sum(cells.c[name]), 0) for name in GroupRow.FIGURES]
    branches = [
        select(literal("total"), literal(""), *sums, literal(0)),
        *(
            select(
                literal(column),
                cells.c[column],
                *sums,
                func.row_number().over(order_by=(sums[0].desc(), cells.c[column])),
            ).group_by(cells.c[column])
            for column in GROUPED_BY
        ),
    ]
    rows = await session.execute(union_all(*branches))
    found: dict[str, list[tuple[int, GroupRow]]] = {}
    for kind, key, opened, open_now, overdue_now, rank in rows:
        row = GroupRow(key, int(opened), int(open_now), int(overdue_now))
        found.setdefault(kind, []).append((int(rank), row))
    (total,) = (row for _, row in found.pop("total"))
    return _Opened(
        total,
        {
            column: tuple(row for _, row in sorted(found.get(column, []), key=lambda f: f[0]))
            for column in GROUPED_BY
        },
    )


async def requests_by_day(session: AsyncSession, *, period: Period) -> DailySeries:
    """Per day: requests opened (filed that day) and resolved (closed or referred that day)."""
    r = ServiceRequest
    opened = await per_local_day(
        session, moment=r.requested_at, period=period, figures=(("opened", func.count()),)
    )
    resolved = await per_local_day(
        session,
        moment=r.closed_at,
        period=period,
        figures=(("resolved", func.count()),),
        where=r.status.in_(RESOLVED_STATUSES),
    )
    return DailySeries(
        ("opened", "resolved"),
        tuple(
            Day(a.day, (*a.values, *b.values))
            for a, b in zip(opened.days, resolved.days, strict=True)
        ),
    )
