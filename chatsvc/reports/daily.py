"""Volumes over time: figures per day of the period, each day a whole day in the center's zone.

PostgreSQL places an instant in its local day itself (`AT TIME ZONE`). SQLite knows no time
zones: the period is cut where the zone's offset changes (daylight saving, twice a year at
most), and each instant is shifted by the offset of the stretch it falls in. Either way the
database returns one row per day, so a year is 366 rows, whatever the volume.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Date, case, cast, func, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.reports.period import Period


@dataclass(frozen=True)
class Day:
    day: date
    values: tuple[int, ...]  # the series' figures that day, in the order of their names


@dataclass(frozen=True)
class DailySeries:
    """Named figures for every day of a period, days with nothing included (zeros)."""

    names: tuple[str, ...]
    days: tuple[Day, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": [
                {"date": d.day.isoformat(), **dict(zip(self.names, d.values, strict=True))}
                for d in self.days
            ]
        }

    def total(self, name: str) -> int:
        i = self.names.index(name)
        return sum(d.values[i] for d in self.days)


async def per_local_day(
    session: AsyncSession,
    *,
    moment: Any,
    period: Period,
    figures: Sequence[tuple[str, ColumnElement[Any]]],
    where: ColumnElement[bool] | None = None,
) -> DailySeries:
    """`figures` (name, aggregate) of the rows whose `moment` falls in each day of `period`."""
    names = tuple(name for name, _ in figures)
    found: dict[date, list[int]] = {}
    for start, end, local_day in _pieces(session, moment, period):
        query = select(local_day, *(f for _, f in figures)).where(moment >= start, moment < end)
        if where is not None:
            query = query.where(where)
        for row in await session.execute(query.group_by(local_day)):
            when = row[0] if isinstance(row[0], date) else date.fromisoformat(str(row[0]))
            values = found.setdefault(when, [0] * len(names))
            for i, value in enumerate(row[1:]):
                values[i] += int(value or 0)
    days = []
    day = period.start
    while day <= period.end:
        days.append(Day(day, tuple(found.get(day, [0] * len(names)))))
        day += timedelta(days=1)
    return DailySeries(names, tuple(days))


def _pieces(
    session: AsyncSession, moment: Any, period: Period
) -> list[tuple[datetime, datetime, ColumnElement[Any]]]:
    """(from, to, the local day of `moment`): one read of the period, on either database."""
    if session.get_bind().dialect.name == "postgresql":
        local_day = cast(func.timezone(period.zone.key, moment), Date)
        return [(period.starts_at, period.ends_at, local_day)]
    # SQLite: each instant shifted by the offset of the stretch it falls in (a CASE over the
    # stretches: one scan of the period, not one per stretch).
    stretches = offsets(period)
    shifts = [f"{int(offset.total_seconds() // 60):+d} minutes" for _, _, offset in stretches]
    shift: ColumnElement[Any] = literal(shifts[-1])
    if len(stretches) > 1:
        shift = case(
            *((moment < end, text) for (_, end, _), text in zip(stretches, shifts, strict=True)),
            else_=shifts[-1],
        )
    return [(period.starts_at, period.ends_at, func.date(moment, shift))]


def offsets(period: Period) -> list[tuple[datetime, datetime, timedelta]]:
    """The period cut where the zone's UTC offset changes: (from, to, offset), in UTC.

    Offsets change on the hour in every zone that has daylight saving: a day whose offset at
    its end differs from its start is searched hour by hour."""
    zone = period.zone

    def offset_at(at: datetime) -> timedelta:
        return at.astimezone(zone).utcoffset() or timedelta(0)

    pieces: list[tuple[datetime, datetime, timedelta]] = []
    start, offset = period.starts_at, offset_at(period.starts_at)
    day_start = period.starts_at
    while day_start < period.ends_at:
        day_end = min(day_start + timedelta(days=1), period.ends_at)
        if offset_at(day_end - timedelta(microseconds=1)) != offset:
            at = day_start
            while at < day_end:
                if (now := offset_at(at)) != offset:
                    pieces.append((start, at, offset))
                    start, offset = at, now
                at += timedelta(hours=1)
        day_start = day_end
    pieces.append((start, period.ends_at, offset))
    return pieces


def count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    """How many rows of a group meet `condition`."""
    return func.sum(case((condition, 1), else_=0))
