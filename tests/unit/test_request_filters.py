"""The staff request list's filters: local days to UTC ranges, status groups, pages (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from chatsvc.actions.service_requests.checks import InvalidRequest
from chatsvc.actions.service_requests.filters import (
    RequestListQuery,
    request_filter,
    requested_between,
    status_group,
)

PACIFIC = ZoneInfo("America/Los_Angeles")


def test_a_local_day_is_its_midnight_to_the_next_in_utc() -> None:
    since, until = requested_between(date(2026, 12, 1), date(2026, 12, 1), PACIFIC)
    assert since == datetime(2026, 12, 1, 8, 0, tzinfo=UTC)  # PST: UTC-8
    assert until == datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


def test_days_across_the_clock_change_keep_their_local_midnights() -> None:
    # DST ends on November 1, 2026: that day has 25 hours in Pasadena.
    since, until = requested_between(date(2026, 10, 31), date(2026, 11, 1), PACIFIC)
    assert since == datetime(2026, 10, 31, 7, 0, tzinfo=UTC)  # PDT: UTC-7
    assert until == datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # PST: UTC-8


def test_either_end_may_be_open() -> None:
    assert requested_between(None, None, PACIFIC) == (None, None)
    assert requested_between(date(2026, 12, 1), None, PACIFIC)[1] is None
    assert requested_between(None, date(2026, 12, 1), PACIFIC)[0] is None


def test_a_to_date_before_the_from_date_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidRequest) as raised:
        requested_between(date(2026, 12, 2), date(2026, 12, 1), PACIFIC)
    assert raised.value.field == "end"


def test_a_status_and_a_group_are_listed_each_once_in_order() -> None:
    assert status_group(None, ()) == ()
    assert status_group("closed", ()) == ("closed",)
    assert status_group("in_progress", ("open", "in_progress")) == ("in_progress", "open")


def test_the_page_sets_the_offset() -> None:
    query = RequestListQuery(statuses=("open",), department="Public Works", page=3)
    filters = request_filter(query, zone=PACIFIC, per_page=25)
    assert (filters.limit, filters.offset) == (25, 50)
    assert (filters.statuses, filters.department, filters.start) == (
        ("open",),
        "Public Works",
        None,
    )
