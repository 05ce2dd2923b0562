"""The monthly activity report: a month of the center's measures on one printed page, as the
center reports its calls to the city council.

`MonthlyReport` holds a month's figures and the previous month's, read by the same functions as
the other reports. `monthly_sheet` turns them into what is printed (tables of formatted
figures, a chart of chats per day), so that the HTML page and the PDF print the same thing.
Only figures and catalogue names are printed: never anything a resident wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TypeVar

from chatsvc.reports.after_hours import AfterHoursReport
from chatsvc.reports.chats import ChatReport
from chatsvc.reports.period import Period
from chatsvc.reports.requests import GroupRow, RequestsReport

T = TypeVar("T", int, float)

NOTHING = "–"  # a figure with nothing to measure, or a change with nothing to compare
MINUS = "−"
DEPARTMENT_ROWS = 10  # beyond this many, the least busy departments share one row
CHANNELS = {
    "assistant": "Chat, the assistant",
    "agent": "Chat, an agent",
    "open311": "Open311 apps",
}


@dataclass(frozen=True)
class MonthFigures:
    """One month's chat, request and after-hours figures."""

    chats: ChatReport
    requests: RequestsReport
    after_hours: AfterHoursReport


@dataclass(frozen=True)
class MonthlyReport:
    """A month against the month before, as it stands at `generated_at`."""

    city: str
    center: str
    month: Period
    previous_month: Period
    current: MonthFigures
    previous: MonthFigures
    offered_by_day: tuple[tuple[date, int], ...]
    generated_at: datetime  # in the center's zone


@dataclass(frozen=True)
class Table:
    """A table of formatted figures: the first column names the rows, the others hold figures."""

    caption: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    total: tuple[str, ...] | None = None  # a last row that adds up the others
    note: str = ""  # printed under the table
    empty: str = ""  # said instead of the rows when there are none


@dataclass(frozen=True)
class Bar:
    day: date
    chats: int
    weekend: bool
    height: float  # of the chart's scale, 0 to 1


@dataclass(frozen=True)
class Chart:
    """Chats offered on each day of the month, with the same told in words."""

    title: str
    description: str
    bars: tuple[Bar, ...]
    scale: int  # the figure at the top of the chart: a round number, at least the busiest day
    legend: str = "Weekdays dark, weekends light; days of the month along the bottom."

    @property
    def ticks(self) -> tuple[int, ...]:
        """The figures marked on the vertical axis."""
        return (0, self.scale // 2, self.scale) if self.scale % 2 == 0 else (0, self.scale)


@dataclass(frozen=True)
class Sheet:
    """What the monthly report prints, every figure formatted."""

    title: str
    organisation: str
    month: str
    month_code: str  # YYYY-MM
    generated: str
    in_progress: str  # a warning that the month is not over yet, or ""
    chats: Table
    chart: Chart
    after_hours: Table
    requests: Table
    channels: Table
    departments: Table
    topics: Table

    @property
    def file_name(self) -> str:
        return f"chatsvc-monthly-{self.month_code}.pdf"


def monthly_sheet(report: MonthlyReport) -> Sheet:
    """Format a month's figures for printing."""
    month, now = report.month, report.generated_at
    months = (_short(month.start), _short(report.previous_month.start), "Change")
    in_progress = ""
    if now < month.ends_at:
        in_progress = f"The month is not over: figures up to {_moment(now)}."
    return Sheet(
        title="Monthly activity report",
        organisation=f"{report.city} · {report.center}",
        month=f"{month.start:%B %Y}",
        month_code=f"{month.start:%Y-%m}",
        generated=f"Generated {_moment(now)}",
        in_progress=in_progress,
        chats=_chat_table(report, ("Measure", *months)),
        chart=_chart(report),
        after_hours=_after_hours_table(report, ("Measure", *months)),
        requests=_requests_table(report, ("Measure", *months)),
        channels=_channels_table(report, ("Channel", *months)),
        departments=_departments_table(report.current.requests),
        topics=_topics_table(report.current.requests),
    )


# --- formatting ---------------------------------------------------------------------------


def count(n: int) -> str:
    """A count with thousands separated: 139,119."""
    return f"{n:,}"


def clock(seconds: float) -> str:
    """A duration as a clock reads it: 3:19, or 1:02:05 past an hour."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def long_duration(seconds: float) -> str:
    """A duration of minutes to days: 45 min, 8.5 h, 3.3 days."""
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def share(value: float) -> str:
    """A share from 0 to 1 as a percentage: 52.0%."""
    return f"{value * 100:.1f}%"


def points(difference: float) -> str:
    """A change of a share, in percentage points."""
    return f"{difference * 100:.1f} pts"


def rating(value: float) -> str:
    return f"{value:.1f}"


def _signed(difference: float, show: Callable[[float], str]) -> str:
    if difference == 0:
        return show(0)
    sign = "+" if difference > 0 else MINUS
    return sign + show(abs(difference))


def _row(
    label: str,
    now: T | None,
    before: T | None,
    show: Callable[[T], str],
    change: Callable[[float], str] | None = None,
) -> tuple[str, str, str, str]:
    """A measure this month, the month before and the change between them."""
    shown_change = NOTHING
    if now is not None and before is not None:
        shown_change = _signed(now - before, change or show)  # type: ignore[arg-type]
    return (
        label,
        NOTHING if now is None else show(now),
        NOTHING if before is None else show(before),
        shown_change,
    )


def _short(day: date) -> str:
    return f"{day:%b %Y}"


def _moment(at: datetime) -> str:
    return f"{at.day} {at:%B %Y}, {at:%H:%M} {at.tzname()}"


# --- the tables -----------------------------------------------------------------------------


def _chat_table(report: MonthlyReport, columns: tuple[str, ...]) -> Table:
    c, p = report.current.chats, report.previous.chats

    def rated(r: ChatReport) -> str:
        return NOTHING if r.rating_average is None else f"{rating(r.rating_average)} ({r.ratings})"

    satisfaction = _row(
        "Satisfaction, 1 to 5 (ratings)", c.rating_average, p.rating_average, rating
    )
    rows = (
        _row("Chats offered", c.offered, p.offered, count),
        _row("Answered by a person", c.answered_by_agent, p.answered_by_agent, count),
        _row(
            "Contained by the assistant",
            c.contained_by_assistant,
            p.contained_by_assistant,
            count,
        ),
        _row("Abandoned while waiting", c.abandoned_waiting, p.abandoned_waiting, count),
        _row("Average answer delay", c.answer_delay_average, p.answer_delay_average, clock),
        _row(
            f"Service level (within {c.service_level_seconds} s)",
            c.service_level,
            p.service_level,
            share,
            points,
        ),
        _row("Average handle time", c.handle_time_average, p.handle_time_average, clock),
        _row("Transfers", c.transfers, p.transfers, count),
        (satisfaction[0], rated(c), rated(p), satisfaction[3]),
    )
    return Table(
        "Chat channel",
        columns,
        rows,
        note=(
            "A chat counts in the month it started. Answer delay: from the hand-over to a person "
            "to an agent joining; handle time: from the agent joining to the close (m:ss)."
        ),
    )


def _after_hours_table(report: MonthlyReport, columns: tuple[str, ...]) -> Table:
    c, p = report.current.after_hours, report.previous.after_hours
    rows = (
        _row("Messages left", c.left, p.left, count),
        _row("Answered on time", c.answered_on_time, p.answered_on_time, count),
        _row("Answered late", c.answered_late, p.answered_late, count),
        _row("Overdue now, not answered", c.overdue_now, p.overdue_now, count),
        _row("Not due yet", c.not_answered_yet, p.not_answered_yet, count),
        _row("Closed without a reply", c.closed_without_reply, p.closed_without_reply, count),
        _row("Average time to reply", c.reply_time_average, p.reply_time_average, long_duration),
    )
    return Table(
        "After hours",
        columns,
        rows,
        note=(
            "Messages left outside business hours, due by the end of the next business day. "
            f"Spam is not counted ({count(c.spam)} this month)."
        ),
    )


def _requests_table(report: MonthlyReport, columns: tuple[str, ...]) -> Table:
    c, p = report.current.requests, report.previous.requests
    rows = (
        _row("Opened", c.opened, p.opened, count),
        _row("Resolved (closed or referred)", c.resolved, p.resolved, count),
        _row("Resolved within the service level", c.service_level, p.service_level, share, points),
        _row(
            "Average time to resolve", c.resolve_time_average, p.resolve_time_average, long_duration
        ),
        _row("Of those opened, still open now", c.open_now, p.open_now, count),
        _row("Of those opened, overdue now", c.overdue_now, p.overdue_now, count),
    )
    return Table(
        "Service requests",
        columns,
        rows,
        note=(
            "Resolved: closed or referred in the month, whenever opened; service level: by the "
            "date due for the topic."
        ),
    )


def _channels_table(report: MonthlyReport, columns: tuple[str, ...]) -> Table:
    now = {row.key: row.opened for row in report.current.requests.by_channel}
    before = {row.key: row.opened for row in report.previous.requests.by_channel}
    keys = sorted({*now, *before}, key=lambda k: (-now.get(k, 0), -before.get(k, 0), k))
    rows = tuple(_row(CHANNELS.get(k, k), now.get(k, 0), before.get(k, 0), count) for k in keys)
    return Table("Requests opened by channel", columns, rows, empty="No requests opened.")


def _group_rows(
    groups: Iterable[GroupRow], name: Callable[[GroupRow], str]
) -> tuple[tuple[str, ...], ...]:
    return tuple(
        (name(g), count(g.opened), count(g.open_now), count(g.overdue_now)) for g in groups
    )


def _departments_table(requests: RequestsReport) -> Table:
    groups = list(requests.by_department)
    if len(groups) > DEPARTMENT_ROWS:
        rest = groups[DEPARTMENT_ROWS - 1 :]
        groups = [
            *groups[: DEPARTMENT_ROWS - 1],
            GroupRow(
                f"{len(rest)} other departments",
                sum(g.opened for g in rest),
                sum(g.open_now for g in rest),
                sum(g.overdue_now for g in rest),
            ),
        ]
    total = None
    if groups:
        total = (
            "All departments",
            count(requests.opened),
            count(requests.open_now),
            count(requests.overdue_now),
        )
    return Table(
        "Requests opened by department",
        ("Department", "Opened", "Open", "Overdue"),
        _group_rows(groups, lambda g: g.key),
        total=total,
        note=(
            "Open: of the requests opened in the month, those still open now; overdue: those "
            "of them past their date due."
        ),
        empty="No requests opened this month.",
    )


def _topics_table(requests: RequestsReport) -> Table:
    named = _group_rows(requests.by_topic, lambda g: g.name or g.key)
    return Table(
        f"Top {len(named)} topics" if len(named) > 1 else "Topics",
        ("Topic", "Opened", "Open", "Overdue"),
        tuple((f"{n}. {row[0]}", *row[1:]) for n, row in enumerate(named, start=1)),
        empty="No requests opened this month.",
    )


def _chart(report: MonthlyReport) -> Chart:
    days = report.offered_by_day
    busiest = max((n for _, n in days), default=0)
    scale = _round_up(busiest)
    bars = tuple(Bar(d, n, d.weekday() >= 5, n / scale) for d, n in days)
    total = sum(n for _, n in days)
    month = f"{report.month.start:%B %Y}"
    if total == 0:
        description = f"No chats were offered in {month}."
    else:
        top_day, top = max(days, key=lambda item: (item[1], -item[0].toordinal()))
        # A month in progress: the average over its days so far.
        elapsed = sum(1 for d, _ in days if d <= report.generated_at.date()) or len(days)
        per_day = total / elapsed
        description = (
            f"{count(total)} chats offered in {month}, {per_day:.1f} a day on average; the "
            f"busiest day was {top_day:%A} {top_day.day} {top_day:%B} with {count(top)}."
        )
    return Chart("Chats offered per day", description, bars, scale)


def _round_up(n: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50… at or above n (at least 2, so the axis has a middle)."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if step * factor >= max(n, 2):
                return step * factor
        step *= 10
