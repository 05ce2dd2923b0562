"""The period a report covers: whole days in the center's time zone, and the one before it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from chatsvc.errors import ChatError

# A report covers at most this many days: a year and a bit (a year against the year before).
MAX_DAYS = 400


@dataclass(frozen=True)
class Period:
    """The days `start` to `end`, both included, in `zone`."""

    start: date
    end: date
    zone: ZoneInfo

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ChatError("The period ends before it starts.", code="invalid_payload")
        if self.days > MAX_DAYS:
            raise ChatError(f"A report covers at most {MAX_DAYS} days.", code="invalid_payload")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def starts_at(self) -> datetime:
        """The first instant of the period (local midnight of `start`), in UTC."""
        return _midnight(self.start, self.zone)

    @property
    def ends_at(self) -> datetime:
        """The first instant after the period (local midnight after `end`), in UTC."""
        return _midnight(self.end + timedelta(days=1), self.zone)

    def previous(self) -> Period:
        """The period to compare with: as many whole calendar months before when this one is
        whole months (October against September, a quarter against the quarter before),
        otherwise as many days just before it."""
        months = self._whole_months()
        if months:
            year, month = divmod(self.start.year * 12 + self.start.month - 1 - months, 12)
            return Period(date(year, month + 1, 1), self.start - timedelta(days=1), self.zone)
        return Period(
            self.start - timedelta(days=self.days), self.start - timedelta(days=1), self.zone
        )

    def _whole_months(self) -> int:
        """How many calendar months the period is, if it is whole months; 0 otherwise."""
        if self.start.day != 1 or (self.end + timedelta(days=1)).day != 1:
            return 0
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1

    def month_before(self) -> Period:
        """The calendar month before the one this period starts in."""
        first = self.start.replace(day=1)
        before = first - timedelta(days=1)
        return Period.month(before.year, before.month, self.zone)

    @classmethod
    def day(cls, at: datetime, zone: ZoneInfo) -> Period:
        """The day `at` falls on in the center's zone (today, given now)."""
        local = at.astimezone(zone).date()
        return cls(local, local, zone)

    @classmethod
    def week(cls, at: datetime, zone: ZoneInfo) -> Period:
        """The week (Monday to Sunday) `at` falls in."""
        local = at.astimezone(zone).date()
        monday = local - timedelta(days=local.weekday())
        return cls(monday, monday + timedelta(days=6), zone)

    @classmethod
    def month(cls, year: int, month: int, zone: ZoneInfo) -> Period:
        """A calendar month."""
        first = date(year, month, 1)
        following = date(year + month // 12, month % 12 + 1, 1)
        return cls(first, following - timedelta(days=1), zone)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
