"""When the widget offers leaving a message: a pure rule of plain values (no database)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from chatsvc.actions.availability import chat_hours, leave_message_reason
from chatsvc.actions.queue import Availability
from chatsvc.hours import BusinessCalendar
from chatsvc.settings import Settings

FIVE_MINUTES = timedelta(minutes=5)
SUNDAY_NOON = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)  # 12:00 in Pasadena: closed
TUESDAY_TEN = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # 10:00 in Pasadena: open


@pytest.mark.parametrize(
    ("is_open", "agents", "wait", "expected"),
    [
        (False, 3, 0, ("closed", 0)),
        (True, 0, None, ("no_agents", 0)),
        (True, 2, None, (None, 0)),  # nobody has finished a chat lately: no estimate, no offer
        (True, 2, 300, (None, 0)),  # exactly the threshold is still fine
        (True, 2, 301, ("long_wait", 5)),
        (True, 1, 1000, ("long_wait", 17)),
        (True, 1, 0, (None, 0)),
    ],
)
def test_the_offer_follows_hours_agents_and_the_wait(
    is_open: bool, agents: int, wait: int | None, expected: tuple[str | None, int]
) -> None:
    assert (
        leave_message_reason(
            is_open=is_open,
            agents_available=agents,
            estimated_wait_seconds=wait,
            wait_threshold=FIVE_MINUTES,
        )
        == expected
    )


def city() -> BusinessCalendar:
    settings = Settings(business_hours="mon-fri 08:00-17:00", holidays="US-CA")
    return BusinessCalendar.from_settings(settings)


def test_closed_the_widget_hears_the_next_opening_and_the_reply_due() -> None:
    hours = chat_hours(
        now=SUNDAY_NOON, calendar=city(), seen=None, wait_threshold=FIVE_MINUTES
    ).as_dict()
    assert hours["open"] is False and hours["leave_message"]["reason"] == "closed"
    assert "Monday" in hours["next_opening_text"]
    assert hours["reply_due"] == "2026-12-01T01:00:00Z"
    assert hours["reply_due_text"] == "Monday, November 30 at 5 p.m."


def test_open_with_a_long_wait_the_text_says_how_long() -> None:
    seen = Availability(agents_available=1, waiting=4, estimated_wait_seconds=600)
    hours = chat_hours(now=TUESDAY_TEN, calendar=city(), seen=seen, wait_threshold=FIVE_MINUTES)
    assert hours.open and hours.next_opening is None and hours.offered
    assert "about 10 minutes" in hours.as_dict()["leave_message"]["text"]
