"""Whether a person can chat now, and when to offer leaving a message instead.

The rule is a pure function of plain values (`leave_message_reason`): closed, nobody available,
or a wait longer than the center accepts. `chat_hours` adds what the widget shows with it (the
hours, the next opening, when a left message will be answered); `hours_offer` is the action the
transport calls, reading who is available only while the center is open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions import queue
from chatsvc.db.models import iso_utc
from chatsvc.hours import BusinessCalendar
from chatsvc.i18n import translate_in

Reason = Literal["closed", "no_agents", "long_wait"]
UNAVAILABLE: dict[Reason, str] = {
    "closed": "Agents are unavailable right now. Please leave a message and we will respond "
    "by next business day.",
    "no_agents": "No one is available to chat right now. Please leave a message and we will "
    "respond by next business day.",
    "long_wait": "The wait to chat with a person is about {minutes} minutes. You can also "
    "leave a message and we will respond by next business day.",
}


def leave_message_reason(
    *,
    is_open: bool,
    agents_available: int,
    estimated_wait_seconds: int | None,
    wait_threshold: timedelta,
) -> tuple[Reason | None, int]:
    """Say why to offer leaving a message (None: a person can answer soon), with the wait in
    minutes when it is too long."""
    if not is_open:
        return "closed", 0
    if agents_available == 0:
        return "no_agents", 0
    wait = estimated_wait_seconds
    if wait is not None and wait > wait_threshold.total_seconds():
        return "long_wait", max(1, round(wait / 60))
    return None, 0


@dataclass(frozen=True)
class ChatHours:
    """The center's hours as the widget shows them, and whether it offers the message form."""

    open: bool
    hours: str
    next_opening: datetime | None  # None while open
    next_opening_text: str | None
    reply_due: datetime  # when a message left now would be answered
    reply_due_text: str
    reason: Reason | None
    minutes: int = 0  # the expected wait, for a long one
    # The weekly hours in the residents' other languages ("es": "de lunes a viernes, …").
    hours_in: dict[str, str] = field(default_factory=dict)

    @property
    def offered(self) -> bool:
        return self.reason is not None

    def as_dict(self) -> dict[str, Any]:
        return {
            "open": self.open,
            "hours": self.hours,
            "hours_in": dict(self.hours_in),
            "next_opening": iso_utc(self.next_opening) if self.next_opening else None,
            "next_opening_text": self.next_opening_text,
            "reply_due": iso_utc(self.reply_due),
            "reply_due_text": self.reply_due_text,
            "leave_message": {
                "offered": self.offered,
                "reason": self.reason,
                "text": UNAVAILABLE[self.reason].format(minutes=self.minutes)
                if self.reason
                else None,
            },
        }


def chat_hours(
    *,
    now: datetime,
    calendar: BusinessCalendar,
    seen: queue.Availability | None,
    wait_threshold: timedelta,
) -> ChatHours:
    """Describe the hours at `now`, given who was available (`seen`; None when closed)."""
    is_open = calendar.is_open(now)
    reason, minutes = leave_message_reason(
        is_open=is_open,
        agents_available=seen.agents_available if seen else 0,
        estimated_wait_seconds=seen.estimated_wait_seconds if seen else None,
        wait_threshold=wait_threshold,
    )
    reply_due = calendar.reply_due(now)
    return ChatHours(
        open=is_open,
        hours=calendar.describe_hours(),
        next_opening=None if is_open else calendar.next_opening(now),
        next_opening_text=None if is_open else calendar.describe_next_opening(now),
        reply_due=reply_due,
        reply_due_text=calendar.describe_local(reply_due),
        reason=reason,
        minutes=minutes,
        hours_in={
            "es": calendar.describe_hours(
                "es", zone=translate_in("mail", "es", calendar.zone_words())
            )
        },
    )


async def hours_offer(
    session: AsyncSession,
    *,
    calendar: BusinessCalendar,
    wait_threshold: timedelta,
    now: datetime,
) -> ChatHours:
    """Whether a person can chat now, and whether to offer leaving a message instead."""
    seen = await queue.availability(session, now=now) if calendar.is_open(now) else None
    return chat_hours(now=now, calendar=calendar, seen=seen, wait_threshold=wait_threshold)
