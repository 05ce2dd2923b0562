"""Business hours: weekly hours, holidays, closures, DST, reply due dates; fixed instants only."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from chatsvc.bot import filing
from chatsvc.catalogue.knowledge import load_knowledge_base
from chatsvc.hours import (
    DEFAULT_NOT_OBSERVED,
    BusinessCalendar,
    Closure,
    Closures,
    ClosuresError,
    EarlyClose,
    HoursError,
    OpenSpan,
    end_sentence,
    load_closures,
    parse_business_hours,
)
from chatsvc.settings import DEFAULT_KNOWLEDGE_BASE, Settings

PACIFIC = ZoneInfo("America/Los_Angeles")
EXAMPLE_CLOSURES = Path(__file__).resolve().parents[2] / "closures.example.toml"


def pacific(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PACIFIC)


def utc(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def calendar(
    hours: str = "mon-fri 08:00-17:00",
    closures: Closures | None = None,
    *,
    holiday_country: str | None = "US",
    not_observed: frozenset[str] = DEFAULT_NOT_OBSERVED,
) -> BusinessCalendar:
    return BusinessCalendar(
        parse_business_hours(hours),
        PACIFIC,
        closures or Closures(),
        holiday_country=holiday_country,
        not_observed=not_observed,
    )


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "closures.toml"
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- weekly hours


def test_the_default_hours_are_monday_to_friday_eight_to_five() -> None:
    weekly = parse_business_hours("mon-fri 08:00-17:00")
    assert weekly.days == ((OpenSpan(480, 1020),),) * 5 + ((), ())


def test_hours_take_several_groups_single_days_full_names_and_semicolons() -> None:
    weekly = parse_business_hours(
        "Mon-Thu 08:00-12:00 13:00-17:00; friday 8:00-12:00, sat 09:30-12:00"
    )
    assert weekly.on(0) == (OpenSpan(480, 720), OpenSpan(780, 1020))
    assert weekly.on(3) == (OpenSpan(480, 720), OpenSpan(780, 1020))
    assert weekly.on(4) == (OpenSpan(480, 720),)
    assert weekly.on(5) == (OpenSpan(570, 720),)
    assert weekly.on(6) == ()


def test_groups_for_the_same_day_combine_and_touching_ones_merge() -> None:
    weekly = parse_business_hours(
        "mon 08:00-12:00, mon 13:00-17:00, tue 08:00-12:00, tue 12:00-17:00"
    )
    assert weekly.on(0) == (OpenSpan(480, 720), OpenSpan(780, 1020))
    assert weekly.on(1) == (OpenSpan(480, 1020),)


def test_day_ranges_wrap_around_the_week_and_may_end_at_midnight() -> None:
    assert parse_business_hours("sun-sat 00:00-24:00").days == ((OpenSpan(0, 1440),),) * 7
    weekly = parse_business_hours("fri-mon 10:00-14:00")
    assert [bool(weekly.on(d)) for d in range(7)] == [True, False, False, False, True, True, True]


@pytest.mark.parametrize(
    ("hours", "message"),
    [
        ("", "no business hours given; write them like 'mon-fri 08:00-17:00'"),
        (" , ; ", "no business hours given; write them like 'mon-fri 08:00-17:00'"),
        (
            "mon-fry 08:00-17:00",
            "unknown day 'fry' in 'mon-fry 08:00-17:00'; use mon, tue, wed, thu, fri, sat, sun",
        ),
        (
            "mo 08:00-17:00",
            "unknown day 'mo' in 'mo 08:00-17:00'; use mon, tue, wed, thu, fri, sat, sun",
        ),
        (
            "mon-fri",
            "'mon-fri' needs days and times, like 'mon-fri 08:00-17:00' or 'sat 09:00-12:00'",
        ),
        (
            "mon-fri 17:00-08:00",
            "in 'mon-fri 17:00-08:00' the end 08:00 is not after the start 17:00 "
            "(hours cannot run past midnight)",
        ),
        (
            "mon 08:00-08:00",
            "in 'mon 08:00-08:00' the end 08:00 is not after the start 08:00 "
            "(hours cannot run past midnight)",
        ),
        (
            "mon-fri 0800",
            "'0800' in 'mon-fri 0800' is not a time range; write it like 08:00-17:00",
        ),
        (
            "mon-fri 8am-5pm",
            "bad time '8am' in 'mon-fri 8am-5pm'; use 24-hour HH:MM, like 08:00 or 17:30",
        ),
        (
            "mon-fri 08:00-25:00",
            "bad time '25:00' in 'mon-fri 08:00-25:00'; use 24-hour HH:MM, like 08:00 or 17:30",
        ),
        (
            "mon-fri 08:60-17:00",
            "bad time '08:60' in 'mon-fri 08:60-17:00'; use 24-hour HH:MM, like 08:00 or 17:30",
        ),
        (
            "mon-fri 8-17",
            "bad time '8' in 'mon-fri 8-17'; use 24-hour HH:MM, like 08:00 or 17:30",
        ),
        (
            "mon 24:00-24:00",
            "bad time '24:00' in 'mon 24:00-24:00'; use 24-hour HH:MM, like 08:00 or 17:30",
        ),
        (
            "mon-fri 08:00-12:00, wed 11:00-13:00",
            "Wednesday: 11:00-13:00 overlaps 08:00-12:00",
        ),
    ],
)
def test_bad_hours_are_refused_with_a_clear_message(hours: str, message: str) -> None:
    with pytest.raises(HoursError) as caught:
        parse_business_hours(hours)
    assert str(caught.value) == message
    assert isinstance(caught.value, ValueError)


# ----------------------------------------------------------------------------- open or closed


def test_open_during_hours_and_closed_outside_them() -> None:
    cal = calendar()
    assert cal.is_open(pacific(2026, 11, 16, 10)) is True  # Monday
    assert cal.is_open(pacific(2026, 11, 16, 8)) is True
    assert cal.is_open(pacific(2026, 11, 16, 16, 59)) is True
    assert cal.is_open(pacific(2026, 11, 16, 7, 59)) is False
    assert cal.is_open(pacific(2026, 11, 16, 17)) is False  # closing time is closed
    assert cal.is_open(pacific(2026, 11, 21, 10)) is False  # Saturday
    assert cal.is_open(utc(2026, 11, 16, 18)) is True  # 10 a.m. Pacific, given in UTC


def test_next_opening_is_the_instant_itself_when_open() -> None:
    cal = calendar()
    at = pacific(2026, 11, 16, 10, 17)
    assert cal.next_opening(at) == utc(2026, 11, 16, 18, 17)
    assert cal.next_opening(at).tzinfo is UTC


def test_next_opening_after_hours_and_before_opening() -> None:
    cal = calendar()
    assert cal.next_opening(pacific(2026, 11, 13, 18)) == utc(2026, 11, 16, 16)  # Fri → Mon
    assert cal.next_opening(pacific(2026, 11, 17, 6)) == utc(2026, 11, 17, 16)  # same morning
    assert cal.next_opening(pacific(2026, 11, 17, 17)) == utc(2026, 11, 18, 16)  # at closing


def test_closes_at_is_the_end_of_the_current_period_or_none() -> None:
    cal = calendar("mon-fri 08:00-12:00 13:00-17:00")
    assert cal.closes_at(pacific(2026, 11, 16, 10)) == utc(2026, 11, 16, 20)  # noon Pacific
    assert cal.closes_at(pacific(2026, 11, 16, 14)) == utc(2026, 11, 17, 1)  # 5 p.m. Pacific
    assert cal.closes_at(pacific(2026, 11, 16, 12, 30)) is None  # lunch
    assert cal.closes_at(pacific(2026, 11, 14, 10)) is None  # Saturday


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="has no time zone"):
        calendar().is_open(datetime(2026, 11, 16, 10))


def test_the_calendar_is_frozen() -> None:
    cal = calendar()
    with pytest.raises(dataclasses.FrozenInstanceError):
        cal.zone = ZoneInfo("UTC")  # type: ignore[misc]


# ----------------------------------------------------------------------------- daylight saving


def test_opening_stays_eight_local_when_daylight_saving_starts_in_march() -> None:
    cal = calendar()
    # Clocks go forward on Sunday, March 8, 2026: 8 a.m. is 16:00 UTC before, 15:00 UTC after.
    assert cal.next_opening(pacific(2026, 3, 6, 7)) == utc(2026, 3, 6, 16)
    assert cal.next_opening(pacific(2026, 3, 6, 18)) == utc(2026, 3, 9, 15)
    assert cal.closes_at(pacific(2026, 3, 9, 9)) == utc(2026, 3, 10, 0)
    assert cal.reply_due(pacific(2026, 3, 6, 18)) == utc(2026, 3, 10, 0)
    assert cal.is_open(utc(2026, 3, 9, 15, 30)) is True
    assert cal.is_open(utc(2026, 3, 6, 15, 30)) is False  # 7:30 a.m. PST
    assert cal.describe_next_opening(pacific(2026, 3, 6, 18)) == "Monday, March 9 at 8 a.m."


def test_opening_stays_eight_local_when_daylight_saving_ends_in_november() -> None:
    cal = calendar()
    # Clocks go back on Sunday, November 1, 2026: 8 a.m. is 15:00 UTC before, 16:00 UTC after.
    assert cal.next_opening(pacific(2026, 10, 30, 7)) == utc(2026, 10, 30, 15)
    assert cal.next_opening(pacific(2026, 10, 30, 18)) == utc(2026, 11, 2, 16)
    assert cal.reply_due(pacific(2026, 10, 30, 18)) == utc(2026, 11, 3, 1)
    assert cal.is_open(utc(2026, 11, 2, 15, 30)) is False  # 7:30 a.m. PST
    assert cal.describe_next_opening(pacific(2026, 10, 30, 18)) == "Monday, November 2 at 8 a.m."


def test_a_whole_day_is_23_or_25_hours_on_the_change_days() -> None:
    cal = calendar("sun 00:00-24:00", holiday_country=None)
    assert cal.closes_at(pacific(2026, 3, 8, 0, 30)) == utc(2026, 3, 9, 7)  # 23 hours
    assert cal.closes_at(pacific(2026, 11, 1, 0, 30)) == utc(2026, 11, 2, 8)  # 25 hours


def test_periods_that_meet_at_midnight_are_one_open_period() -> None:
    cal = calendar("sat-sun 00:00-24:00, mon 00:00-09:00", holiday_country=None)
    assert cal.closes_at(pacific(2026, 11, 14, 12)) == utc(2026, 11, 16, 17)  # Mon 9 a.m.
    assert cal.is_open(pacific(2026, 11, 15, 0)) is True


# ----------------------------------------------------------------------------- holidays


def test_thanksgiving_and_the_day_after_are_closed_in_california() -> None:
    cal = calendar()
    assert cal.is_open(pacific(2026, 11, 26, 10)) is False
    assert cal.closed_reason(date(2026, 11, 26)) == "Thanksgiving Day"
    assert cal.closed_reason(date(2026, 11, 27)) == "Day After Thanksgiving"
    assert cal.closed_reason(date(2026, 11, 25)) is None
    assert cal.is_business_day(date(2026, 11, 27)) is False


def test_a_message_on_the_eve_of_thanksgiving_is_due_the_monday_after() -> None:
    cal = calendar()
    wednesday_evening = pacific(2026, 11, 25, 18)
    assert cal.reply_due(wednesday_evening) == utc(2026, 12, 1, 1)  # Monday Nov 30, 5 p.m. PST
    assert cal.next_opening(wednesday_evening) == utc(2026, 11, 30, 16)
    assert cal.describe_next_opening(wednesday_evening) == "Monday, November 30 at 8 a.m."


def test_christmas_on_a_weekend_is_observed_on_a_weekday() -> None:
    cal = calendar()
    # 2027: Christmas is a Saturday, closed Friday the 24th.
    assert cal.closed_reason(date(2027, 12, 24)) == "Christmas Day (observed)"
    assert cal.next_opening(pacific(2027, 12, 23, 18)) == utc(2027, 12, 27, 16)
    # 2022: Christmas is a Sunday, closed Monday the 26th.
    assert cal.closed_reason(date(2022, 12, 26)) == "Christmas Day (observed)"
    assert cal.next_opening(pacific(2022, 12, 23, 18)) == utc(2022, 12, 27, 16)


def test_new_years_day_observed_on_the_last_day_of_the_year_before() -> None:
    cal = calendar()
    # January 1, 2028 is a Saturday: observed Friday, December 31, 2027.
    assert cal.closed_reason(date(2027, 12, 31)) == "New Year's Day (observed)"
    assert cal.is_open(pacific(2027, 12, 31, 10)) is False
    assert cal.reply_due(pacific(2027, 12, 30, 19)) == utc(2028, 1, 4, 1)  # Mon Jan 3, 5 p.m.


def test_a_message_on_new_years_eve_is_due_in_january() -> None:
    cal = calendar()
    # Thursday, December 31, 2026, evening; Friday is New Year's Day.
    assert cal.reply_due(pacific(2026, 12, 31, 20)) == utc(2027, 1, 5, 1)  # Mon Jan 4, 5 p.m.
    assert cal.describe_next_opening(pacific(2026, 12, 31, 20)) == "Monday, January 4 at 8 a.m."


def test_independence_day_on_a_weekend_is_observed_on_a_weekday() -> None:
    cal = calendar()
    assert cal.closed_reason(date(2026, 7, 3)) == "Independence Day (observed)"  # Sat → Fri
    assert cal.closed_reason(date(2027, 7, 5)) == "Independence Day (observed)"  # Sun → Mon
    assert cal.reply_due(pacific(2026, 7, 2, 18)) == utc(2026, 7, 7, 0)  # Mon Jul 6, 5 p.m. PDT
    assert cal.next_opening(pacific(2027, 7, 2, 18)) == utc(2027, 7, 6, 15)  # Tue Jul 6


def test_susan_b_anthony_day_is_commemorated_not_closed() -> None:
    tuesday = pacific(2028, 2, 15, 10)
    assert calendar().is_open(tuesday) is True
    assert calendar(not_observed=frozenset()).is_open(tuesday) is False
    # In 2027 it falls on Presidents' Day, which stays closed.
    assert calendar().closed_reason(date(2027, 2, 15)) == "Presidents' Day"


def test_the_closures_file_can_drop_a_holiday_the_city_does_not_observe(tmp_path: Path) -> None:
    closures = load_closures(write(tmp_path, 'not_observed = ["Diwali", "Independence Day"]\n'))
    assert calendar().closed_reason(date(2028, 10, 17)) == "Diwali"
    cal = calendar(closures=closures)
    assert cal.closed_reason(date(2028, 10, 17)) is None
    assert cal.closed_reason(date(2027, 7, 5)) is None  # its observed day goes too
    assert cal.closed_reason(date(2027, 12, 24)) == "Christmas Day (observed)"


def test_no_holidays_when_the_country_is_none() -> None:
    cal = calendar(holiday_country=None)
    assert cal.is_open(pacific(2026, 11, 26, 10)) is True
    assert cal.describe_hours() == "Monday to Friday, 8 a.m. to 5 p.m. Pacific time"


# ----------------------------------------------------------------------------- closures file

CLOSURES = """\
[[closed]]
date = 2026-12-24
reason = "Christmas Eve"

[[closed]]
from = 2026-12-28
to = 2026-12-30
reason = "Year-end closure"

[[early_close]]
date = 2026-12-31
until = "12:00"
reason = "New Year's Eve"

[[early_close]]
date = 2026-12-23
until = 07:00:00
reason = "Building maintenance"
"""


def test_the_closures_file_is_read(tmp_path: Path) -> None:
    closures = load_closures(write(tmp_path, CLOSURES))
    assert closures == Closures(
        closed=(
            Closure(date(2026, 12, 24), date(2026, 12, 24), "Christmas Eve"),
            Closure(date(2026, 12, 28), date(2026, 12, 30), "Year-end closure"),
        ),
        early_closes=(
            EarlyClose(date(2026, 12, 31), time(12), "New Year's Eve"),
            EarlyClose(date(2026, 12, 23), time(7), "Building maintenance"),
        ),
        not_observed=frozenset(),
    )


def test_closed_days_and_ranges_are_closed(tmp_path: Path) -> None:
    cal = calendar(closures=load_closures(write(tmp_path, CLOSURES)))
    assert cal.closed_reason(date(2026, 12, 24)) == "Christmas Eve"
    assert cal.closed_reason(date(2026, 12, 29)) == "Year-end closure"
    assert cal.is_open(pacific(2026, 12, 28, 10)) is False
    assert cal.is_open(pacific(2026, 12, 30, 16)) is False
    # Tuesday the 22nd after hours: the 23rd closes before it opens, then 24, 25, weekend,
    # the year-end closure: the next opening is Thursday the 31st.
    assert cal.next_opening(pacific(2026, 12, 22, 18)) == utc(2026, 12, 31, 16)
    assert cal.describe_next_opening(pacific(2026, 12, 22, 18)) == (
        "Thursday, December 31 at 8 a.m."
    )


def test_an_early_closing_ends_the_day_early(tmp_path: Path) -> None:
    cal = calendar(closures=load_closures(write(tmp_path, CLOSURES)))
    assert cal.closes_at(pacific(2026, 12, 31, 10)) == utc(2026, 12, 31, 20)  # noon Pacific
    assert cal.is_open(pacific(2026, 12, 31, 11, 59)) is True
    assert cal.is_open(pacific(2026, 12, 31, 12)) is False
    # The next business day after the 30th is the 31st, which ends at noon.
    assert cal.reply_due(pacific(2026, 12, 30, 10)) == utc(2026, 12, 31, 20)
    # Closing at 7 a.m., before the 8 a.m. opening, makes the 23rd no business day at all.
    assert cal.is_business_day(date(2026, 12, 23)) is False
    assert cal.reply_due(pacific(2026, 12, 22, 10)) == utc(2026, 12, 31, 20)


def test_the_example_closures_file_loads() -> None:
    closures = load_closures(EXAMPLE_CLOSURES)
    assert closures.closure_on(date(2026, 12, 24)) == Closure(
        date(2026, 12, 24), date(2026, 12, 24), "Christmas Eve"
    )
    assert closures.closure_on(date(2026, 11, 27)) == Closure(
        date(2026, 11, 27), date(2026, 11, 27), "Day after Thanksgiving"
    )
    assert closures.early_close_on(date(2026, 12, 31)) == EarlyClose(
        date(2026, 12, 31), time(12), "New Year's Eve"
    )
    assert closures.not_observed == frozenset()
    # Without the holiday list, the example's Friday closure alone still moves the due date.
    cal = calendar(closures=closures, holiday_country=None)
    assert cal.reply_due(pacific(2026, 11, 25, 18)) == utc(2026, 11, 27, 1)  # Thu 5 p.m.
    assert cal.reply_due(pacific(2026, 11, 26, 18)) == utc(2026, 12, 1, 1)  # Mon 5 p.m.


@pytest.mark.parametrize(
    ("text", "problems"),
    [
        (
            "[[closed]\ndate = 2026-12-24\n",
            ["1: broken TOML: Expected ']]' at the end of an array declaration"],
        ),
        (
            "[[closed]]\nreason = 'Christmas Eve'\n",
            ["1: [[closed]] needs a date (one day) or from and to (several days)"],
        ),
        (
            "[[closed]]\ndate = 2026-12-24\nreason = ''\n",
            ['3: [[closed]] needs a reason, like reason = "Cesar Chavez Day"'],
        ),
        (
            "\n[[closed]]\ndate = '24/12/2026'\nreason = 'Christmas Eve'\n",
            ["3: [[closed]] date must be a date like 2026-12-24, not '24/12/2026'"],
        ),
        (
            "[[closed]]\ndate = 2026-12-24T09:00:00\nreason = 'Christmas Eve'\n",
            [
                "2: [[closed]] date must be a date like 2026-12-24, "
                "not datetime.datetime(2026, 12, 24, 9, 0)"
            ],
        ),
        (
            "[[closed]]\nfrom = 2026-12-30\nto = 2026-12-28\nreason = 'Year end'\n",
            ["3: [[closed]] ends (2026-12-28) before it starts (2026-12-30)"],
        ),
        (
            "[[closed]]\ndate = 2026-12-24\nfrom = 2026-12-24\nto = 2026-12-25\nreason = 'x'\n",
            ["1: [[closed]] has a date, or from and to, not both"],
        ),
        (
            "[[closed]]\ndate = 2026-12-24\nresaon = 'Christmas Eve'\n",
            [
                "3: [[closed]] has unknown key 'resaon' (known: date, from, reason, to)",
                '1: [[closed]] needs a reason, like reason = "Cesar Chavez Day"',
            ],
        ),
        (
            "[[closed]]\ndate = 2026-12-24\nreason = 'Eve'\n\n"
            "[[early_close]]\ndate = 2026-12-31\nuntil = '12 noon'\nreason = 'NYE'\n",
            ["7: [[early_close]] until must be a time like \"12:00\", not '12 noon'"],
        ),
        (
            "[[closed]]\ndate = 2026-12-24\nreason = 'Eve'\n\n"
            "[[early_close]]\ndate = 2026-12-24\nuntil = '12:00'\nreason = 'Eve'\n",
            ["6: [[early_close]] on 2026-12-24 is closed all day already (Eve)"],
        ),
        (
            "[[early_close]]\ndate = 2026-12-31\nuntil = '12:00'\nreason = 'NYE'\n"
            "[[early_close]]\ndate = 2026-12-31\nuntil = '13:00'\nreason = 'NYE'\n",
            ["6: [[early_close]] on 2026-12-31 is listed twice"],
        ),
        (
            "not_observed = 'Diwali'\n[[closing]]\ndate = 2026-12-24\n",
            [
                "2: unknown entry 'closing'; use [[closed]] or [[early_close]]",
                "1: not_observed must be a list of holiday names",
            ],
        ),
        ("closed = 3\n", ["1: closed must be a list of tables, written [[closed]]"]),
    ],
)
def test_a_broken_closures_file_is_refused_with_file_and_line(
    tmp_path: Path, text: str, problems: list[str]
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ClosuresError) as caught:
        load_closures(path)
    assert [p.split(" (at line")[0] for p in caught.value.problems] == [
        f"{path}:{p}" for p in problems
    ]


def test_a_missing_closures_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ClosuresError) as caught:
        load_closures(tmp_path / "nope.toml")
    assert caught.value.problems == [f"{tmp_path / 'nope.toml'}:1: file missing"]


# ----------------------------------------------------------------------------- due dates


def test_a_message_on_friday_evening_is_due_monday_at_five() -> None:
    cal = calendar()
    assert cal.reply_due(pacific(2026, 11, 13, 18)) == utc(2026, 11, 17, 1)  # Mon 5 p.m. PST
    assert cal.reply_due(pacific(2026, 11, 13, 18)).tzinfo is UTC


def test_a_message_during_hours_is_due_the_next_business_day() -> None:
    cal = calendar()
    assert cal.reply_due(pacific(2026, 11, 16, 10)) == utc(2026, 11, 18, 1)  # Tue 5 p.m.
    # Before opening counts as the day it arrived on too.
    assert cal.reply_due(pacific(2026, 11, 16, 6)) == utc(2026, 11, 18, 1)
    # A weekend message is due at the end of Monday.
    assert cal.reply_due(pacific(2026, 11, 15, 12)) == utc(2026, 11, 17, 1)


def test_custom_hours_with_saturday() -> None:
    cal = calendar("mon-fri 08:00-17:00, sat 09:00-12:00")
    friday_evening = pacific(2026, 11, 13, 18)
    assert cal.is_open(pacific(2026, 11, 14, 10)) is True
    assert cal.next_opening(friday_evening) == utc(2026, 11, 14, 17)  # Sat 9 a.m. PST
    assert cal.reply_due(friday_evening) == utc(2026, 11, 14, 20)  # Sat noon
    assert cal.closes_at(pacific(2026, 11, 14, 10)) == utc(2026, 11, 14, 20)
    assert cal.describe_next_opening(friday_evening) == "Saturday, November 14 at 9 a.m."
    assert cal.describe_hours() == (
        "Monday to Friday, 8 a.m. to 5 p.m.; Saturday, 9 a.m. to noon Pacific time, "
        "closed on city holidays"
    )


# ----------------------------------------------------------------------------- words


def test_describe_hours_for_residents() -> None:
    assert calendar().describe_hours() == (
        "Monday to Friday, 8 a.m. to 5 p.m. Pacific time, closed on city holidays"
    )
    assert calendar(
        "mon 08:30-12:00 13:00-16:30, wed 08:30-12:00 13:00-16:30, thu-fri 10:00-14:00"
    ).describe_hours() == (
        "Monday and Wednesday, 8:30 a.m. to noon and 1 p.m. to 4:30 p.m.; "
        "Thursday and Friday, 10 a.m. to 2 p.m. Pacific time, closed on city holidays"
    )
    paris = BusinessCalendar(
        parse_business_hours("sat-sun 00:00-24:00"), ZoneInfo("Europe/Paris"), holiday_country=None
    )
    assert paris.describe_hours() == "Saturday and Sunday, 24 hours a day"
    # Open around the clock: no "midnight to midnight", and no zone to name.
    assert calendar("sun-sat 00:00-24:00").describe_hours() == (
        "every day, 24 hours a day, closed on city holidays"
    )
    assert calendar("mon-fri 00:00-24:00, sat 09:00-12:00").describe_hours() == (
        "Monday to Friday, 24 hours a day; Saturday, 9 a.m. to noon Pacific time, "
        "closed on city holidays"
    )


def test_describe_local_says_day_date_and_time_in_the_center_zone() -> None:
    cal = calendar()
    assert cal.describe_local(utc(2026, 12, 1, 1)) == "Monday, November 30 at 5 p.m."
    assert cal.describe_local(utc(2026, 12, 31, 20)) == "Thursday, December 31 at noon"
    assert cal.describe_local(utc(2026, 7, 7, 7)) == "Tuesday, July 7 at midnight"
    assert cal.describe_local(utc(2026, 3, 9, 16, 45)) == "Monday, March 9 at 9:45 a.m."


def test_describe_next_opening_when_open_describes_now() -> None:
    assert calendar().describe_next_opening(pacific(2026, 11, 16, 12, 5)) == (
        "Monday, November 16 at 12:05 p.m."
    )


# ----------------------------------------------------------------------------- settings


def test_from_settings_reads_hours_zone_and_closures(tmp_path: Path) -> None:
    settings = Settings(
        business_hours="mon-fri 09:00-16:00",
        timezone="America/New_York",
        closures_file=write(tmp_path, CLOSURES),
    )
    cal = BusinessCalendar.from_settings(settings)
    assert cal.weekly.on(0) == (OpenSpan(540, 960),)
    assert cal.zone == ZoneInfo("America/New_York")
    assert cal.closed_reason(date(2026, 12, 24)) == "Christmas Eve"
    assert cal.next_opening(utc(2026, 11, 16, 12)) == utc(2026, 11, 16, 14)  # 9 a.m. EST
    assert cal.describe_hours() == (
        "Monday to Friday, 9 a.m. to 4 p.m. Eastern time, closed on city holidays"
    )


def test_from_settings_defaults_to_the_design() -> None:
    cal = BusinessCalendar.from_settings(Settings())
    assert cal.describe_hours() == (
        "Monday to Friday, 8 a.m. to 5 p.m. Pacific time, closed on city holidays"
    )
    assert cal.closures == Closures()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            Settings(business_hours="weekdays 08:00-17:00"),
            "CHATSVC_BUSINESS_HOURS: unknown day 'weekdays' in 'weekdays 08:00-17:00'; "
            "use mon, tue, wed, thu, fri, sat, sun",
        ),
        (
            Settings(timezone="Pacific/Springfield"),
            "CHATSVC_TIMEZONE: unknown time zone 'Pacific/Springfield'; "
            "use an IANA name like America/Los_Angeles",
        ),
    ],
)
def test_from_settings_names_the_bad_setting(settings: Settings, message: str) -> None:
    with pytest.raises(HoursError) as caught:
        BusinessCalendar.from_settings(settings)
    assert str(caught.value) == message


def test_from_settings_refuses_a_missing_closures_file(tmp_path: Path) -> None:
    with pytest.raises(ClosuresError) as caught:
        BusinessCalendar.from_settings(Settings(closures_file=tmp_path / "closures.toml"))
    assert caught.value.problems == [f"{tmp_path / 'closures.toml'}:1: file missing"]


# ----------------------------------------------------------------------------- sentences with times


@pytest.mark.parametrize(
    ("words", "sentence"),
    [
        (
            "We will reply by Monday, November 30 at 5 p.m",
            "We will reply by Monday, November 30 at 5 p.m.",
        ),
        ("We will reply by Monday at 5 p.m.", "We will reply by Monday at 5 p.m."),
        ("Done by **Tuesday at 8:30 a.m.**", "Done by **Tuesday at 8:30 a.m.**"),
        ("Done by **Tuesday at noon**", "Done by **Tuesday at noon**."),
        ("We open again Monday at midnight", "We open again Monday at midnight."),
        ("Is it done?", "Is it done?"),
    ],
)
def test_a_sentence_that_ends_with_a_time_has_one_period(words: str, sentence: str) -> None:
    assert end_sentence(words) == sentence


@pytest.mark.parametrize(
    ("due", "written"),
    [
        (pacific(2026, 11, 24, 17), "Tuesday, November 24 at 5 p.m."),
        (pacific(2026, 11, 24, 8, 30), "Tuesday, November 24 at 8:30 a.m."),
        (pacific(2026, 11, 24, 12), "Tuesday, November 24 at noon."),
    ],
)
def test_the_assistant_ends_its_dates_with_one_period(due: datetime, written: str) -> None:
    """Issue 16: "5 p.m.." in the "request filed" message and the status answer."""
    expected = calendar().describe_local(due)
    topic = load_knowledge_base(DEFAULT_KNOWLEDGE_BASE).topics["graffiti"]
    filed = filing.filed("26-000001", topic, expected, "ana@example.com")
    assert f"We expect it to be done by **{expected}**" in filed
    assert ".." not in filed.replace("**", ""), filed
    found = {"service_name": "Graffiti Removal", "status": "open", "status_label": "Open"}
    answer = filing.status_answer("26-000001", {**found, "expected": expected}, phone="311")
    assert answer.endswith(f"We expect it to be done by {written}"), answer
    assert ".." not in answer
