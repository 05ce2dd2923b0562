"""The monthly report's sheet: figures formatted as a council report prints them, the busiest
departments kept apart and the rest on one row."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from chatsvc.reports import Period
from chatsvc.reports.after_hours import AfterHoursReport
from chatsvc.reports.chats import BUCKETS, ChatReport, Distribution
from chatsvc.reports.daily import DailySeries
from chatsvc.reports.monthly import (
    MonthFigures,
    MonthlyReport,
    clock,
    long_duration,
    monthly_sheet,
)
from chatsvc.reports.requests import GroupRow, RequestsReport

ZONE = ZoneInfo("America/Los_Angeles")
OCTOBER = Period.month(2024, 10, ZONE)
SEPTEMBER = Period.month(2024, 9, ZONE)
NONE = Distribution((0,) * len(BUCKETS))


def chats(period: Period, offered: int, delay: float | None, handle: float | None) -> ChatReport:
    return ChatReport(
        period=period,
        offered=offered,
        in_progress=0,
        answered_by_agent=offered,
        contained_by_assistant=0,
        abandoned_waiting=0,
        abandoned_wait_average=None,
        abandoned_wait_longest=None,
        abandoned_waits=NONE,
        answer_delay_average=delay,
        answer_delays=NONE,
        service_level_seconds=30,
        answered_within_service_level=0,
        service_level=0.52 if delay else None,
        handle_time_average=handle,
        handled=offered,
        transfers=0,
        chats_transferred=0,
        dispositions={},
        rating_average=None,
        ratings=0,
    )


def requests(period: Period, departments: tuple[GroupRow, ...]) -> RequestsReport:
    opened = sum(d.opened for d in departments)
    return RequestsReport(
        period=period,
        opened=opened,
        open_now=0,
        overdue_now=0,
        resolved=3820 if departments else 0,
        closed=3820 if departments else 0,
        referred=0,
        resolved_within_service_level=0,
        service_level=None,
        resolve_time_average=3.25 * 86400 if departments else None,
        by_department=departments,
        by_topic=(),
        by_channel=(),
        daily=DailySeries(("opened", "resolved"), ()),
    )


def after_hours(period: Period) -> AfterHoursReport:
    return AfterHoursReport(period, 0, 0, 0, 0, 0, 0, 0, 45 * 60)


def test_a_council_sized_month() -> None:
    # The council report's October 2024: 4,395 requests opened, by twelve departments here.
    departments = tuple(
        GroupRow(f"Department {n:02d}", opened, 0, 0)
        for n, opened in enumerate((2873, 157, 151, 141, 124, 110, 58, 40, 30, 20, 10, 5, 676))
    )
    departments = tuple(sorted(departments, key=lambda d: -d.opened))
    report = MonthlyReport(
        city="City of Pasadena",
        center="Citizen Service Center",
        month=OCTOBER,
        previous_month=SEPTEMBER,
        current=MonthFigures(
            chats(OCTOBER, 139_119, 199, 3725), requests(OCTOBER, departments), after_hours(OCTOBER)
        ),
        previous=MonthFigures(
            chats(SEPTEMBER, 120_000, 229, None), requests(SEPTEMBER, ()), after_hours(SEPTEMBER)
        ),
        offered_by_day=tuple((date(2024, 10, d), 0) for d in range(1, 32)),
        generated_at=datetime(2024, 11, 4, 9, 30, tzinfo=ZONE),
    )
    sheet = monthly_sheet(report)
    assert sheet.month == "October 2024" and sheet.in_progress == ""
    assert sheet.file_name == "chatsvc-monthly-2024-10.pdf"
    rows = {row[0]: row[1:] for row in sheet.chats.rows}
    assert rows["Chats offered"] == ("139,119", "120,000", "+19,119")
    assert rows["Average answer delay"] == ("3:19", "3:49", "−0:30")
    assert rows["Service level (within 30 s)"] == ("52.0%", "52.0%", "0.0 pts")
    assert rows["Average handle time"] == ("1:02:05", "–", "–")
    resolved = {row[0]: row[1:] for row in sheet.requests.rows}
    assert resolved["Opened"] == ("4,395", "0", "+4,395")
    assert resolved["Average time to resolve"] == ("3.2 days", "–", "–")
    # The nine busiest departments, then the other four on one row, then the total.
    names = [row[0] for row in sheet.departments.rows]
    assert len(names) == 10 and names[0] == "Department 00"
    assert sheet.departments.rows[-1] == ("4 other departments", "65", "0", "0")
    assert sheet.departments.total == ("All departments", "4,395", "0", "0")
    assert sheet.chart.description == "No chats were offered in October 2024."
    assert sheet.chart.ticks == (0, 1, 2)


def test_durations_read_as_people_read_them() -> None:
    assert [clock(s) for s in (0, 59.6, 199, 3600, 3725)] == [
        "0:00",
        "1:00",
        "3:19",
        "1:00:00",
        "1:02:05",
    ]
    assert [long_duration(s) for s in (90, 8.5 * 3600, 79 * 3600)] == ["2 min", "8.5 h", "3.3 days"]
