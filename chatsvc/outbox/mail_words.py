"""A mail's words in the resident's language: its lines, dates, the center's names and signature.

The lines are msgids of the "mail" catalogue (`chatsvc/locale/<lang>/LC_MESSAGES/mail.po`): in
English a line is its msgid, so English mails read as they always did. The center's names and
signature lines (center.toml) are looked up in the same catalogue, so a translator gives them
their Spanish names there ("Citizen Service Center" → "Centro de Servicio al Ciudadano"); one
without a translation stays as center.toml writes it.

Dates and hours are written by `BusinessCalendar` (hours.py) in the mail's language ("lunes 7
de diciembre a las 5 p. m."), the same words as the chat's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from chatsvc.catalogue.center import Center
from chatsvc.hours import BusinessCalendar
from chatsvc.i18n import translate_in

DOMAIN = "mail"


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

    def when(self, at: datetime) -> str:
        """'Monday, December 7 at 5 p.m.' / 'lunes 7 de diciembre a las 5 p. m.'."""
        assert self.calendar is not None, "dates need the center's calendar"
        return self.calendar.describe_local(_aware(at), self.language)

    def day(self, at: datetime) -> str:
        assert self.calendar is not None, "dates need the center's calendar"
        return self.calendar.describe_day(_aware(at), self.language)

    def time(self, at: datetime) -> str:
        assert self.calendar is not None, "dates need the center's calendar"
        return self.calendar.describe_time(_aware(at), self.language)

    def zone(self) -> str:
        """'Pacific time' / 'hora del Pacífico' (the zone's name through the catalogue)."""
        assert self.calendar is not None, "dates need the center's calendar"
        return self.name(self.calendar.zone_words())

    def hours(self) -> str:
        """The weekly hours in words, in the mail's language."""
        assert self.calendar is not None, "hours need the center's calendar"
        if not self.spanish:
            return self.calendar.describe_hours()
        return self.calendar.describe_hours(self.language, zone=self.zone())


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


__all__ = ["MailWords"]
