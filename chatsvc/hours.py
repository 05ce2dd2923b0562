"""Business hours: when the Citizen Service Center is staffed and when a message is due.

Three inputs, all from settings:

- the weekly hours, e.g. ``mon-fri 08:00-17:00`` or ``mon-fri 08:00-17:00, sat 09:00-12:00``
  (`parse_business_hours`);
- the time zone the hours are in (``America/Los_Angeles``);
- city holidays: US federal and California holidays as observed, from the ``holidays`` package,
  plus a hand-edited closures file for the rest (`load_closures`; see closures.example.toml).

`BusinessCalendar` answers the questions. It takes and returns timezone-aware datetimes; the
ones it returns are in UTC. It computes in the configured zone, so an 8 a.m. opening stays 8 a.m.
local across daylight saving changes. Open periods never cross midnight (``24:00`` may end one).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from chatsvc.settings import Settings

DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
# The holidays package lists these for California, but they are days of commemoration, not days
# the offices close (Feb 15 falls on a weekday, e.g. Tuesday 2028-02-15).
DEFAULT_NOT_OBSERVED = frozenset({"Susan B. Anthony Day"})
# How far ahead to look for an opening before giving up (a closures file closing for years).
SEARCH_DAYS = 3 * 366
MINUTES_PER_DAY = 24 * 60
_FRIENDLY_ZONES = {
    "America/Los_Angeles": "Pacific time",
    "America/Denver": "Mountain time",
    "America/Phoenix": "Mountain time",
    "America/Chicago": "Central time",
    "America/New_York": "Eastern time",
    "America/Anchorage": "Alaska time",
    "Pacific/Honolulu": "Hawaii time",
    "UTC": "UTC",
    "Etc/UTC": "UTC",
}
_TIME = re.compile(r"^(\d{1,2}):(\d{2})$")
_OBSERVED_SUFFIX = " (observed)"
_Report = Callable[[int, str], None]


class HoursError(ValueError):
    """Business hours, a time zone or a closures file cannot be used; the message says why."""


class ClosuresError(HoursError):
    """The closures file cannot be used; `problems` lists each as `file:line: message`."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


class OpenSpan(NamedTuple):
    """One open period of a day, in minutes since local midnight (end may be 1440, i.e. 24:00)."""

    start: int
    end: int


@dataclass(frozen=True)
class WeeklyHours:
    """The regular week: for each weekday (Monday first), its open periods in order."""

    days: tuple[tuple[OpenSpan, ...], ...]

    def on(self, weekday: int) -> tuple[OpenSpan, ...]:
        """Return the open periods of a weekday (0 is Monday)."""
        return self.days[weekday]


@dataclass(frozen=True)
class Closure:
    """Closed all day from `first` to `last`, both included."""

    first: date
    last: date
    reason: str


@dataclass(frozen=True)
class EarlyClose:
    """Open as usual on `day` but only until `until`."""

    day: date
    until: time
    reason: str


@dataclass(frozen=True)
class Closures:
    """The closures file: extra closed days, early closings, holidays the city does not observe."""

    closed: tuple[Closure, ...] = ()
    early_closes: tuple[EarlyClose, ...] = ()
    not_observed: frozenset[str] = frozenset()

    def closure_on(self, day: date) -> Closure | None:
        """Return the closure covering `day`, if any."""
        return next((c for c in self.closed if c.first <= day <= c.last), None)

    def early_close_on(self, day: date) -> EarlyClose | None:
        """Return the early closing on `day`, if any."""
        return next((e for e in self.early_closes if e.day == day), None)


# ----------------------------------------------------------------------------- weekly hours


def parse_business_hours(text: str) -> WeeklyHours:
    """Parse weekly hours like ``mon-fri 08:00-17:00, sat 09:00-12:00``; raise HoursError."""
    days: list[list[OpenSpan]] = [[] for _ in DAY_NAMES]
    groups = [g.strip() for g in re.split(r"[,;]", text)]
    if not any(groups):
        raise HoursError("no business hours given; write them like 'mon-fri 08:00-17:00'")
    for group in groups:
        if not group:
            continue
        words = group.split()
        if len(words) < 2:
            raise HoursError(
                f"{group!r} needs days and times, like 'mon-fri 08:00-17:00' or 'sat 09:00-12:00'"
            )
        weekdays = _parse_days(words[0], group)
        for word in words[1:]:
            span = _parse_span(word, group)
            for weekday in weekdays:
                days[weekday].append(span)
    for weekday, spans in enumerate(days):
        spans.sort()
        merged: list[OpenSpan] = []
        for span in spans:
            if merged and span.start < merged[-1].end:
                raise HoursError(
                    f"{DAY_NAMES[weekday]}: {_hhmm(span.start)}-{_hhmm(span.end)} overlaps "
                    f"{_hhmm(merged[-1].start)}-{_hhmm(merged[-1].end)}"
                )
            if merged and span.start == merged[-1].end:  # 08:00-12:00 then 12:00-17:00
                merged[-1] = OpenSpan(merged[-1].start, span.end)
            else:
                merged.append(span)
        days[weekday] = merged
    return WeeklyHours(tuple(tuple(spans) for spans in days))


def _parse_days(word: str, group: str) -> list[int]:
    first, dash, last = word.partition("-")
    start = _parse_day(first, group)
    if not dash:
        return [start]
    end = _parse_day(last, group)
    # Ranges may wrap around the week: "sun-sat" is every day, "fri-mon" is Friday to Monday.
    return [(start + i) % 7 for i in range((end - start) % 7 + 1)]


def _parse_day(word: str, group: str) -> int:
    lowered = word.lower()
    for index, name in enumerate(DAY_NAMES):
        if len(lowered) >= 3 and name.lower().startswith(lowered):
            return index
    raise HoursError(f"unknown day {word!r} in {group!r}; use mon, tue, wed, thu, fri, sat, sun")


def _parse_span(word: str, group: str) -> OpenSpan:
    start_text, dash, end_text = word.partition("-")
    if not dash:
        raise HoursError(f"{word!r} in {group!r} is not a time range; write it like 08:00-17:00")
    start = _parse_minute(start_text, group)
    end = _parse_minute(end_text, group, allow_24=True)
    if end <= start:
        raise HoursError(
            f"in {group!r} the end {end_text} is not after the start {start_text} "
            "(hours cannot run past midnight)"
        )
    return OpenSpan(start, end)


def _parse_minute(text: str, group: str, *, allow_24: bool = False) -> int:
    match = _TIME.match(text)
    if match:
        hour, minute = int(match.group(1)), int(match.group(2))
        if (hour < 24 and minute < 60) or (allow_24 and hour == 24 and minute == 0):
            return hour * 60 + minute
    raise HoursError(f"bad time {text!r} in {group!r}; use 24-hour HH:MM, like 08:00 or 17:30")


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


# ----------------------------------------------------------------------------- closures file

_CLOSED_KEYS = {"date", "from", "to", "reason"}
_EARLY_KEYS = {"date", "until", "reason"}
_TOP_KEYS = {"closed", "early_close", "not_observed"}


def load_closures(path: Path) -> Closures:
    """Read and validate a closures file; raise ClosuresError listing every problem."""
    problems: list[str] = []
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise ClosuresError([f"{path}:1: file missing"]) from None
    except UnicodeDecodeError:
        raise ClosuresError([f"{path}:1: not UTF-8 text"]) from None
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = match.group(1) if match else "1"
        raise ClosuresError([f"{path}:{line}: broken TOML: {exc}"]) from None
    lines = text.splitlines()

    def add(line: int, message: str) -> None:
        problems.append(f"{path}:{line}: {message}")

    for key in data:
        if key not in _TOP_KEYS:
            add(_line_of(lines, key), f"unknown entry {key!r}; use [[closed]] or [[early_close]]")

    not_observed: list[str] = []
    raw_names = data.get("not_observed", [])
    if isinstance(raw_names, list) and all(isinstance(n, str) and n.strip() for n in raw_names):
        not_observed = [n.strip() for n in raw_names]
    else:
        add(_line_of(lines, "not_observed"), "not_observed must be a list of holiday names")

    closed: list[Closure] = []
    for entry, start in _entries(data, "closed", lines, add):
        values = _Entry(entry, start, lines, add, "[[closed]]", _CLOSED_KEYS)
        reason = values.reason()
        if "date" in entry:
            if "from" in entry or "to" in entry:
                add(start, "[[closed]] has a date, or from and to, not both")
                continue
            day = values.day_value("date")
            first = last = day
        elif "from" in entry and "to" in entry:
            first, last = values.day_value("from"), values.day_value("to")
            if first and last and last < first:
                add(values.line("to"), f"[[closed]] ends ({last}) before it starts ({first})")
                continue
        else:
            add(start, "[[closed]] needs a date (one day) or from and to (several days)")
            continue
        if first and last and reason:
            closed.append(Closure(first, last, reason))

    early: list[EarlyClose] = []
    for entry, start in _entries(data, "early_close", lines, add):
        values = _Entry(entry, start, lines, add, "[[early_close]]", _EARLY_KEYS)
        reason = values.reason()
        day = values.day_value("date")
        until = values.time_value("until")
        closure = next((c for c in closed if day and c.first <= day <= c.last), None)
        if day and any(e.day == day for e in early):
            add(values.line("date"), f"[[early_close]] on {day} is listed twice")
        elif day and closure:
            add(
                values.line("date"),
                f"[[early_close]] on {day} is closed all day already ({closure.reason})",
            )
        elif day and until and reason:
            early.append(EarlyClose(day, until, reason))

    if problems:
        raise ClosuresError(problems)
    return Closures(tuple(closed), tuple(early), frozenset(not_observed))


def _entries(
    data: dict[str, Any], name: str, lines: list[str], add: _Report
) -> Iterator[tuple[dict[str, Any], int]]:
    raw = data.get(name, [])
    header = re.compile(rf"^\s*\[\[\s*{name}\s*\]\]")
    starts = [number for number, line in enumerate(lines, 1) if header.match(line)]
    if not isinstance(raw, list):
        add(_line_of(lines, name), f"{name} must be a list of tables, written [[{name}]]")
        return
    for index, entry in enumerate(raw):
        start = starts[index] if index < len(starts) else _line_of(lines, name)
        if isinstance(entry, dict):
            yield entry, start
        else:
            add(start, f"each {name} must be a table, written [[{name}]]")


@dataclass
class _Entry:
    """One [[table]] of the closures file, with line numbers for its messages."""

    entry: dict[str, Any]
    start: int
    lines: list[str]
    add: _Report
    label: str
    allowed: set[str]

    def __post_init__(self) -> None:
        for key in self.entry:
            if key not in self.allowed:
                known = ", ".join(sorted(self.allowed))
                self.add(self.line(key), f"{self.label} has unknown key {key!r} (known: {known})")

    def line(self, key: str) -> int:
        """Return the line of `key = ...` within this table, or the table's header line."""
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for number in range(self.start + 1, len(self.lines) + 1):
            text = self.lines[number - 1]
            if re.match(r"^\s*\[", text):
                break
            if pattern.match(text):
                return number
        return self.start

    def reason(self) -> str | None:
        value = self.entry.get("reason")
        if isinstance(value, str) and value.strip():
            return value.strip()
        self.add(
            self.line("reason"), f'{self.label} needs a reason, like reason = "Cesar Chavez Day"'
        )
        return None

    def day_value(self, key: str) -> date | None:
        value = self.entry.get(key)
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        elif isinstance(value, date) and not isinstance(value, datetime):
            return value
        self.add(
            self.line(key), f"{self.label} {key} must be a date like 2026-12-24, not {value!r}"
        )
        return None

    def time_value(self, key: str) -> time | None:
        value = self.entry.get(key)
        if isinstance(value, time) and value.tzinfo is None:
            return value
        if isinstance(value, str) and _TIME.match(value):
            hour, minute = (int(p) for p in value.split(":"))
            if hour < 24 and minute < 60:
                return time(hour, minute)
        self.add(self.line(key), f'{self.label} {key} must be a time like "12:00", not {value!r}')
        return None


def _line_of(lines: list[str], needle: str) -> int:
    return next((number for number, line in enumerate(lines, 1) if needle in line), 1)


# ----------------------------------------------------------------------------- the calendar


@dataclass(frozen=True)
class BusinessCalendar:
    """When the center is open: weekly hours in a zone, minus holidays and closures."""

    weekly: WeeklyHours
    zone: ZoneInfo
    closures: Closures = Closures()
    # Public holidays from the holidays package; country None turns them off (e.g. in tests).
    holiday_country: str | None = "US"
    holiday_subdivision: str | None = "CA"
    not_observed: frozenset[str] = DEFAULT_NOT_OBSERVED
    _holidays_by_year: dict[int, dict[date, tuple[str, ...]]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> BusinessCalendar:
        """Build the calendar from the business hours, time zone and closures file settings."""
        try:
            weekly = parse_business_hours(settings.business_hours)
        except HoursError as exc:
            raise HoursError(f"CHATSVC_BUSINESS_HOURS: {exc}") from None
        try:
            zone = ZoneInfo(settings.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise HoursError(
                f"CHATSVC_TIMEZONE: unknown time zone {settings.timezone!r}; "
                "use an IANA name like America/Los_Angeles"
            ) from None
        closures = load_closures(settings.closures_file) if settings.closures_file else Closures()
        country, _, subdivision = settings.holidays.partition("-")
        if country:
            try:
                holidays.country_holidays(country, subdiv=subdivision or None, years=2026)
            except NotImplementedError:
                raise HoursError(
                    f"CHATSVC_HOLIDAYS: unknown country or subdivision {settings.holidays!r}; "
                    "use a code like US-CA, or nothing for no public holidays"
                ) from None
        return cls(
            weekly,
            zone,
            closures,
            holiday_country=country or None,
            holiday_subdivision=subdivision or None,
        )

    # -- days

    def closed_reason(self, day: date) -> str | None:
        """Say why the center is closed all day on `day` (holiday or closure), or None."""
        closure = self.closures.closure_on(day)
        if closure:
            return closure.reason
        names = self._holidays_on(day)
        return "; ".join(names) if names else None

    def is_business_day(self, day: date) -> bool:
        """Tell whether the center is open at any time on `day`."""
        return bool(self._periods_on(day))

    # -- instants

    def is_open(self, at: datetime) -> bool:
        """Tell whether the center is open at `at`."""
        return self._period_at(_utc(at)) is not None

    def next_opening(self, at: datetime) -> datetime:
        """Return when the center next opens; `at` itself (in UTC) when it is open at `at`."""
        moment = _utc(at)
        if self._period_at(moment) is not None:
            return moment
        for start, _end in self._periods_from(self._local_date(moment)):
            if start > moment:
                return start
        raise HoursError(f"the center does not open in the {SEARCH_DAYS} days after {at}")

    def closes_at(self, at: datetime) -> datetime | None:
        """Return when the open period around `at` ends, or None when closed at `at`."""
        moment = _utc(at)
        current = self._period_at(moment)
        if current is None:
            return None
        end = current[1]
        # Periods that meet (a 24:00 close and a 00:00 opening) are one open period.
        for start, next_end in self._periods_from(self._local_date(moment)):
            if start == end:
                end = next_end
            elif start > end:
                break
        return end

    def reply_due(self, received_at: datetime) -> datetime:
        """Return when an after-hours message is due: the close of the next business day.

        The next business day is the first day with open hours after the day (local date) the
        message arrived, whatever the time it arrived: Friday 6 p.m. and Friday 7 a.m. are both
        due Monday at close. An early closing day ends at its early close.
        """
        return self.business_days_after(received_at, 1)

    def business_days_after(self, at: datetime, days: int) -> datetime:
        """Return the close of the `days`-th business day after the local date of `at`.

        This is a service level's due time: a request made any time on Monday with a
        one-business-day level is due Tuesday at close (Wednesday, if Tuesday is a holiday).
        """
        if days < 1:
            raise ValueError("days must be at least 1")
        start = self._local_date(_utc(at))
        found = 0
        for offset in range(1, SEARCH_DAYS + 7 * days + 1):
            periods = self._periods_on(start + timedelta(days=offset))
            if periods:
                found += 1
                if found == days:
                    return periods[-1][1]
        raise HoursError(f"no {days} business days in the years after {start}")

    def describe_day(self, at: datetime, language: str = "en") -> str:
        """Describe the local day of an instant, e.g. 'Tuesday, November 24' ('martes 24 de
        noviembre')."""
        local = _utc(at).astimezone(self.zone)
        if language == "es":
            return _spanish_day(local)
        return f"{DAY_NAMES[local.weekday()]}, {MONTH_NAMES[local.month - 1]} {local.day}"

    def local_year(self, at: datetime) -> int:
        """Return the year at `at` in the center's zone (request numbers restart with it)."""
        return _utc(at).astimezone(self.zone).year

    # -- words for residents

    def describe_hours(self, language: str = "en", zone: str | None = None) -> str:
        """Describe the weekly hours: 'Monday to Friday, 8 a.m. to 5 p.m. Pacific time, closed
        on city holidays'; in Spanish 'de lunes a viernes, de 8 a. m. a 5 p. m. (hora del
        Pacífico), cerrado los días festivos de la ciudad' (`zone`: the zone's name in that
        language, from a catalogue; English's otherwise)."""
        groups: list[tuple[tuple[OpenSpan, ...], list[int]]] = []
        for weekday, spans in enumerate(self.weekly.days):
            if not spans:
                continue
            same = next((g for g in groups if g[0] == spans), None)
            if same:
                same[1].append(weekday)
            else:
                groups.append((spans, [weekday]))
        whole_day = (OpenSpan(0, MINUTES_PER_DAY),)
        # Hours around the clock are the same in every zone: no zone to name.
        around_the_clock = all(spans == whole_day for spans, _ in groups)
        zone = zone or _zone_name(self.zone)
        if language == "es":
            parts = [
                f"{_spanish_days(days)}, "
                + (
                    "las 24 horas"
                    if spans == whole_day
                    else " y ".join(
                        f"de {_spanish_minute(s.start)} a {_spanish_minute(s.end)}" for s in spans
                    )
                )
                for spans, days in groups
            ]
            where = "" if around_the_clock else f" ({zone})"
            holidays = ", cerrado los días festivos de la ciudad" if self.holiday_country else ""
            return f"{'; '.join(parts)}{where}{holidays}"
        parts = [
            f"{_describe_days(days)}, "
            + (
                ALL_DAY
                if spans == whole_day
                else " and ".join(
                    f"{_describe_minute(s.start)} to {_describe_minute(s.end)}" for s in spans
                )
            )
            for spans, days in groups
        ]
        holidays_note = ", closed on city holidays" if self.holiday_country else ""
        where = "" if around_the_clock else f" {zone}"
        return f"{'; '.join(parts)}{where}{holidays_note}"

    def describe_next_opening(self, at: datetime) -> str:
        """Describe the next opening in local time, e.g. 'Monday, November 30 at 8 a.m.'."""
        return self.describe_local(self.next_opening(at))

    def describe_local(self, at: datetime, language: str = "en") -> str:
        """Describe an instant in the center's zone, e.g. 'Monday, November 30 at 5 p.m.'.

        In Spanish: 'lunes 30 de noviembre a las 5 p. m.'.
        """
        local = _utc(at).astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        if language == "es":
            return f"{_spanish_day(local)} {_spanish_at(minute)}"
        return (
            f"{DAY_NAMES[local.weekday()]}, {MONTH_NAMES[local.month - 1]} {local.day} "
            f"at {_describe_minute(minute)}"
        )

    def describe_time(self, at: datetime, language: str = "en") -> str:
        """Describe the local time of an instant, e.g. '5:04 p.m.' or 'noon' ('5:04 p. m.')."""
        local = _utc(at).astimezone(self.zone)
        minute = local.hour * 60 + local.minute
        return _spanish_minute(minute) if language == "es" else _describe_minute(minute)

    def zone_words(self) -> str:
        """Name the center's time zone for residents, e.g. 'Pacific time'."""
        return _zone_name(self.zone)

    # -- internals: open periods as (start, end) UTC datetimes

    def _local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def _period_at(self, moment: datetime) -> tuple[datetime, datetime] | None:
        periods = self._periods_on(self._local_date(moment))
        return next(((s, e) for s, e in periods if s <= moment < e), None)

    def _periods_from(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        for offset in range(SEARCH_DAYS):
            yield from self._periods_on(day + timedelta(days=offset))

    def _periods_on(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        if self.closed_reason(day) is not None:
            return ()
        spans = self.weekly.on(day.weekday())
        early = self.closures.early_close_on(day)
        if early:
            until = early.until.hour * 60 + early.until.minute
            spans = tuple(OpenSpan(s.start, min(s.end, until)) for s in spans if s.start < until)
        return tuple((self._instant(day, s.start), self._instant(day, s.end)) for s in spans)

    def _instant(self, day: date, minute: int) -> datetime:
        days, minute = divmod(minute, 24 * 60)
        wall = time(minute // 60, minute % 60)
        # Wall time in the zone, then UTC: 8 a.m. stays 8 a.m. local through DST changes.
        local = datetime.combine(day + timedelta(days=days), wall, tzinfo=self.zone)
        return local.astimezone(UTC)

    def _holidays_on(self, day: date) -> tuple[str, ...]:
        if self.holiday_country is None:
            return ()
        year = self._holidays_by_year.get(day.year)
        if year is None:
            year = self._load_holidays(day.year)
            self._holidays_by_year[day.year] = year
        return year.get(day, ())

    def _load_holidays(self, year: int) -> dict[date, tuple[str, ...]]:
        assert self.holiday_country is not None
        source = holidays.country_holidays(
            self.holiday_country,
            subdiv=self.holiday_subdivision,
            observed=True,
            # The next year too: its observed days can fall in this one (New Year's Day on a
            # Saturday is observed on Friday, December 31).
            years=(year, year + 1),
            language="en_US",
        )
        skip = self.not_observed | self.closures.not_observed
        found: dict[date, tuple[str, ...]] = {}
        for day in source:
            # "Independence Day (observed)" follows "Independence Day" in not_observed.
            names = tuple(
                n for n in source.get_list(day) if n.removesuffix(_OBSERVED_SUFFIX) not in skip
            )
            if names and day.year == year:
                found[day] = names
        return found


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at} has no time zone; business hours need an aware datetime")
    return at.astimezone(UTC)


def _runs(days: list[int]) -> list[list[int]]:
    """Consecutive weekdays together: [0, 1, 2, 4] -> [[0, 1, 2], [4]]."""
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return runs


def _describe_days(days: list[int]) -> str:
    """'Monday to Friday', 'Saturday and Sunday', 'every day'."""
    if days == list(range(7)):
        return "every day"
    words = [
        DAY_NAMES[run[0]]
        if len(run) == 1
        else f"{DAY_NAMES[run[0]]} and {DAY_NAMES[run[1]]}"
        if len(run) == 2
        else f"{DAY_NAMES[run[0]]} to {DAY_NAMES[run[-1]]}"
        for run in _runs(days)
    ]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _spanish_days(days: list[int]) -> str:
    """'de lunes a viernes', 'sábado y domingo', 'todos los días'."""
    if days == list(range(7)):
        return "todos los días"
    names = SPANISH_DAY_NAMES
    words = [
        names[run[0]]
        if len(run) == 1
        else f"{names[run[0]]} y {names[run[1]]}"
        if len(run) == 2
        else f"de {names[run[0]]} a {names[run[-1]]}"
        for run in _runs(days)
    ]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} y {words[-1]}"


def end_sentence(text: str) -> str:
    """End a sentence with a full stop, unless its last word brings one ("by 5 p.m.").

    Times are written "5 p.m.": a sentence ending with one already ends with its period, and
    one more made "5 p.m..". Emphasis around the last words ("**5 p.m.**") is looked through.
    """
    if text.rstrip().rstrip("*_").endswith((".", "!", "?")):
        return text
    return f"{text}."


ALL_DAY = "24 hours a day"


def _describe_minute(minute: int) -> str:
    hour, minute = divmod(minute % (24 * 60), 60)
    if minute == 0 and hour == 0:
        return "midnight"
    if minute == 0 and hour == 12:
        return "noon"
    suffix = "a.m." if hour < 12 else "p.m."
    clock = str(hour % 12 or 12) + (f":{minute:02d}" if minute else "")
    return f"{clock} {suffix}"


# Spanish dates and times as residents write them (RAE): no capitals, "lunes 7 de diciembre",
# "a las 5 p. m.", "a la 1:30 p. m.", "al mediodía", "a la medianoche".
SPANISH_DAY_NAMES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
SPANISH_MONTH_NAMES = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio",
    "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
)  # fmt: skip


def _spanish_day(local: datetime) -> str:
    return (
        f"{SPANISH_DAY_NAMES[local.weekday()]} {local.day} de "
        f"{SPANISH_MONTH_NAMES[local.month - 1]}"
    )


def _spanish_minute(minute: int) -> str:
    hour, minute = divmod(minute % (24 * 60), 60)
    if minute == 0 and hour == 0:
        return "medianoche"
    if minute == 0 and hour == 12:
        return "mediodía"
    suffix = "a. m." if hour < 12 else "p. m."
    clock = str(hour % 12 or 12) + (f":{minute:02d}" if minute else "")
    return f"{clock} {suffix}"


def _spanish_at(minute: int) -> str:
    """'a las 5 p. m.', 'a la 1 p. m.', 'al mediodía', 'a la medianoche'."""
    said = _spanish_minute(minute)
    if said == "mediodía":
        return "al mediodía"
    if said == "medianoche" or said.startswith("1 ") or said.startswith("1:"):
        return f"a la {said}"
    return f"a las {said}"


def _zone_name(zone: ZoneInfo) -> str:
    friendly = _FRIENDLY_ZONES.get(zone.key)
    if friendly:
        return friendly
    # Europe/Paris -> "Paris time": clearer to residents than CET/CEST, and stable across DST.
    return f"{zone.key.rsplit('/', 1)[-1].replace('_', ' ')} time"
