"""A mail's words in the resident's language: its lines, dates, the center's names and signature.

The lines are msgids of the "mail" catalogue (`chatsvc/locale/<lang>/LC_MESSAGES/mail.po`): in
English a line is its msgid, so English mails read as they always did. The center's names and
signature lines (center.toml) are looked up in the same catalogue, so a translator gives them
their Spanish names there ("Citizen Service Center" → "Centro de Servicio al Ciudadano"); one
without a translation stays as center.toml writes it.

Dates the Spanish way ("lunes 7 de diciembre a las 5 p. m.") are written here; English ones by
`BusinessCalendar` (hours.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from chatsvc.catalogue.center import Center
from chatsvc.hours import MINUTES_PER_DAY, BusinessCalendar, OpenSpan
from chatsvc.i18n import translate_in

DOMAIN = "mail"

DAY_NAMES_ES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
MONTH_NAMES_ES = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)


def clock_es(hour: int, minute: int) -> str:
    """A local time the Spanish way: '5 p. m.', '1:30 p. m.', '12 del mediodía'."""
    if minute == 0 and hour == 12:
        return "12 del mediodía"
    if minute == 0 and hour == 0:
        return "12 de la noche"
    clock = str(hour % 12 or 12) + (f":{minute:02d}" if minute else "")
    return f"{clock} {'a. m.' if hour < 12 else 'p. m.'}"


def at_clock_es(hour: int, minute: int) -> str:
    """'a las 5 p. m.', 'a la 1 p. m.' (one o'clock takes the singular)."""
    article = "la" if hour % 12 == 1 else "las"
    return f"a {article} {clock_es(hour, minute)}"


def day_es(local: datetime) -> str:
    """'lunes 7 de diciembre' (no capital: Spanish writes days and months in lower case)."""
    return f"{DAY_NAMES_ES[local.weekday()]} {local.day} de {MONTH_NAMES_ES[local.month - 1]}"


def _days_es(days: list[int]) -> str:
    """'de lunes a viernes', 'sábado y domingo', 'todos los días'."""
    if days == list(range(7)):
        return "todos los días"
    runs: list[list[int]] = []
    for day in days:
        if runs and runs[-1][-1] == day - 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    words = [
        DAY_NAMES_ES[run[0]]
        if len(run) == 1
        else f"{DAY_NAMES_ES[run[0]]} y {DAY_NAMES_ES[run[1]]}"
        if len(run) == 2
        else f"de {DAY_NAMES_ES[run[0]]} a {DAY_NAMES_ES[run[-1]]}"
        for run in runs
    ]
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} y {words[-1]}"


def hours_es(calendar: BusinessCalendar, zone: str) -> str:
    """The weekly hours the Spanish way: 'de lunes a viernes, de 8 a. m. a 5 p. m. (hora del
    Pacífico), cerrado los días festivos de la ciudad' (`zone`: the zone's Spanish name)."""
    whole_day = (OpenSpan(0, MINUTES_PER_DAY),)
    groups: list[tuple[tuple[OpenSpan, ...], list[int]]] = []
    for weekday, spans in enumerate(calendar.weekly.days):
        if not spans:
            continue
        same = next((g for g in groups if g[0] == spans), None)
        if same:
            same[1].append(weekday)
        else:
            groups.append((spans, [weekday]))

    def clock(minute: int) -> str:
        return clock_es(*divmod(minute % MINUTES_PER_DAY, 60))

    def span(start: int, end: int) -> str:
        return f"de {clock(start)} a {clock(end)}"

    parts = [
        f"{_days_es(days)}, "
        + (
            "las 24 horas"
            if spans == whole_day
            else " y ".join(span(s.start, s.end) for s in spans)
        )
        for spans, days in groups
    ]
    around_the_clock = all(spans == whole_day for spans, _ in groups)
    where = "" if around_the_clock else f" ({zone})"
    holidays = ", cerrado los días festivos de la ciudad" if calendar.holiday_country else ""
    return f"{'; '.join(parts)}{where}{holidays}"


@dataclass(frozen=True)
class MailWords:
    """Writes one mail's lines in `language` ("en" writes them exactly as the msgids)."""

    language: str
    center: Center
    calendar: BusinessCalendar | None = None

    @property
    def spanish(self) -> bool:
        return self.language == "es"

    def __call__(self, msgid: str, **values: object) -> str:
        return translate_in(DOMAIN, self.language, msgid, **values)

    def name(self, text: str) -> str:
        """One of the center's own names (center.toml) in the mail's language, if translated."""
        return translate_in(DOMAIN, self.language, text) if text else text

    @property
    def center_name(self) -> str:
        return self.name(self.center.name)

    @property
    def signature(self) -> list[str]:
        return [self.name(line) for line in self.center.signature]

    def _local(self, at: datetime) -> datetime:
        assert self.calendar is not None, "dates need the center's calendar"
        aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        return aware.astimezone(self.calendar.zone)

    def when(self, at: datetime) -> str:
        """'Monday, December 7 at 5 p.m.' / 'lunes 7 de diciembre a las 5 p. m.'."""
        assert self.calendar is not None, "dates need the center's calendar"
        if not self.spanish:
            return self.calendar.describe_local(at)
        local = self._local(at)
        return f"{day_es(local)} {at_clock_es(local.hour, local.minute)}"

    def day(self, at: datetime) -> str:
        assert self.calendar is not None, "dates need the center's calendar"
        return day_es(self._local(at)) if self.spanish else self.calendar.describe_day(at)

    def time(self, at: datetime) -> str:
        assert self.calendar is not None, "dates need the center's calendar"
        if not self.spanish:
            return self.calendar.describe_time(at)
        local = self._local(at)
        return clock_es(local.hour, local.minute)

    def zone(self) -> str:
        """'Pacific time' / 'hora del Pacífico' (the zone's name through the catalogue)."""
        assert self.calendar is not None, "dates need the center's calendar"
        return self.name(self.calendar.zone_words())

    def hours(self) -> str:
        """The weekly hours in words, in the mail's language."""
        assert self.calendar is not None, "hours need the center's calendar"
        if not self.spanish:
            return self.calendar.describe_hours()
        return hours_es(self.calendar, self.zone())


__all__ = ["MailWords", "at_clock_es", "clock_es", "day_es", "hours_es"]
