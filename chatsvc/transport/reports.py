"""Reports for supervisors and admins over HTTP: the chat, request and after-hours measures as
JSON and as CSV."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Generic, TypeVar

from aiohttp import web

from chatsvc.actions.conversations import iso_utc
from chatsvc.errors import ChatError, Forbidden
from chatsvc.reports import (
    AfterHoursReport,
    AssistantReport,
    ChatFigures,
    Period,
    RequestsReport,
    after_hours_report,
    assistant_report,
    chat_figures,
    grouped,
    requests_report,
)
from chatsvc.reports.daily import DailySeries
from chatsvc.transport.staff import current_staff
from chatsvc.transport.state import CALENDAR, CLOCK, DATABASE, REQUEST_POLICY, SETTINGS

Report = TypeVar("Report")

QUERY_KEYS = frozenset({"from", "to"})
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


Row = tuple[str, str, str, Any]  # (table, row, measure, value)


@dataclass(frozen=True)
class ReportKind(Generic[Report]):
    """A report: how one period's figures are computed, and flattened for a spreadsheet."""

    name: str  # its path under /agent/reports/ and its CSV file's name
    # The figures of a period; `detail` false for the period compared with, whose lists (the
    # assistant's questions) nobody reads.
    compute: Callable[[web.Request, Period, bool], Awaitable[Report]]
    rows: Callable[[Report], list[Row]]
    as_dict: Callable[[Report], dict[str, Any]]


def add_report_routes(app: web.Application) -> None:
    for kind in REPORTS:
        app.router.add_get(f"/agent/reports/{kind.name}", _json_view(kind))
        app.router.add_get(f"/agent/reports/{kind.name}.csv", _csv_view(kind))


def _json_view(kind: ReportKind[Any]) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def view(request: web.Request) -> web.Response:
        """A report's figures for a period and for the period before it."""
        _, current, previous = await _both_periods(request, kind)
        return web.json_response(
            {"current": kind.as_dict(current), "previous": kind.as_dict(previous)},
            headers={"Cache-Control": "no-store"},
        )

    return view


def _csv_view(kind: ReportKind[Any]) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def view(request: web.Request) -> web.Response:
        """The same figures as one CSV table, a row per figure, for a spreadsheet."""
        period, current, previous = await _both_periods(request, kind)
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(["period", "from", "to", "table", "row", "measure", "value"])
        for label, of, report in (
            ("current", period, current),
            ("previous", period.previous(), previous),
        ):
            start, end = of.start.isoformat(), of.end.isoformat()
            for table, row, measure, value in kind.rows(report):
                writer.writerow(
                    [safe_cell(v) for v in (label, start, end, table, row, measure, value)]
                )
        filename = f"{kind.name}-{period.start.isoformat()}-to-{period.end.isoformat()}.csv"
        return web.Response(
            text=out.getvalue(),
            content_type="text/csv",
            charset="utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{filename}"',
                "Cache-Control": "no-store",
            },
        )

    return view


async def _both_periods(
    request: web.Request, kind: ReportKind[Report]
) -> tuple[Period, Report, Report]:
    period = await _supervisor_period(request)
    current = await kind.compute(request, period, True)
    previous = await kind.compute(request, period.previous(), False)
    return period, current, previous


def csv_rows(figures: ChatFigures) -> list[tuple[str, str, str, Any]]:
    """Flatten the tables: (table, row, measure, value)."""
    rows: list[tuple[str, str, str, Any]] = []
    chats = figures.chats.as_dict()
    del chats["period"]
    dispositions = chats.pop("dispositions")
    for measure, value in _flatten(chats):
        rows.append(("chats", "", measure, value))
    for disposition, count in dispositions.items():
        rows.append(("dispositions", disposition, "chats", count))
    for cell in figures.hourly.cells:
        rows.append(
            ("by_hour", f"{WEEKDAYS[cell.weekday]} {cell.hour:02d}:00", "offered", cell.offered)
        )
    rows += _day_rows(figures.daily)
    for agent in figures.agents.agents:
        label = agent.name or "(agent lost before the end)"
        for measure, value in _flatten(agent.as_dict()):
            if measure not in ("staff_id", "name"):
                rows.append(("by_agent", label, measure, value))
    return rows


def _day_rows(series: DailySeries) -> list[Row]:
    return [
        ("by_day", day.day.isoformat(), name, value)
        for day in series.days
        for name, value in zip(series.names, day.values, strict=True)
    ]


def _flatten(values: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    flat: list[tuple[str, Any]] = []
    for key, value in values.items():
        if isinstance(value, dict):
            flat += _flatten(value, f"{prefix}{key}.")
        else:
            flat.append((f"{prefix}{key}", value))
    return flat


def safe_cell(value: Any) -> str:
    """A cell's text, with a formula's first character defused (CSV injection)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_STARTS) and not _is_number(text):
        return "'" + text
    return text


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def request_rows(report: RequestsReport) -> list[tuple[str, str, str, Any]]:
    """Flatten the request tables: (table, row, measure, value)."""
    figures = report.as_dict()
    rows: list[tuple[str, str, str, Any]] = []
    for measure, value in _flatten(figures):
        if not measure.startswith("period.") and not isinstance(value, list):
            rows.append(("requests", "", measure, value))
    rows += _day_rows(report.daily)
    for table, key in (
        ("by_department", "department"),
        ("by_topic", "service_code"),
        ("by_channel", "source"),
    ):
        for group in figures[table]:
            for measure, value in group.items():
                if measure != key:
                    rows.append((table, group[key], measure, value))
    return rows


def after_hours_rows(report: AfterHoursReport) -> list[tuple[str, str, str, Any]]:
    figures = report.as_dict()
    del figures["period"]
    return [("after_hours", "", measure, value) for measure, value in _flatten(figures)]


def assistant_rows(report: AssistantReport) -> list[Row]:
    """Flatten the assistant's tables; each question it could not answer is a row of its own."""
    figures = report.as_dict()
    rows: list[Row] = [
        ("assistant", "", "answers", figures["answers"]),
        ("assistant", "", "conversations", figures["conversations"]),
    ]
    for table in ("intents", "bands", "languages", "handovers", "unanswered"):
        rows += [(table, name, "answers", n) for name, n in figures[table].items()]
    rows += [
        ("by_topic", f"{t['code']} {t['name']}", measure, t[measure])
        for t in figures["topics"]
        for measure in ("asked", "confident", "unsure")
    ]
    rows += [("by_article", a["title"], "answers", a["answers"]) for a in figures["articles"]]
    rows += [
        ("helpful", a["title"], answer, a[answer])
        for a in figures["helpful"]["articles"]
        for answer in ("yes", "no")
    ]
    for number, group in enumerate(report.groups, 1):
        for q in group.questions:
            rows.append(
                (
                    "unanswered_questions",
                    f"group {number} ({group.count}), chat {q.conversation_id}, {iso_utc(q.at)}",
                    q.kind,
                    q.text,
                )
            )
    return rows


async def require_supervisor(request: web.Request) -> None:
    """Refuse a caller who is not signed in (401) or neither a supervisor nor an admin (403)."""
    signed_in = await current_staff(request)
    if signed_in is None:
        raise ChatError("Sign in to see reports.", code="not_signed_in", status=401)
    if not signed_in.staff.is_supervisor:
        raise Forbidden("Only supervisors and admins can see reports.")


async def _supervisor_period(request: web.Request) -> Period:
    """The period asked for, once the caller is known to be a supervisor or an admin."""
    await require_supervisor(request)
    return _period(request)


async def compute_chats(request: web.Request, period: Period, detail: bool = True) -> ChatFigures:
    """The chat figures of a period, against the service level threshold and target."""
    settings = request.app[SETTINGS]
    return await request.app[DATABASE].run(
        chat_figures,
        period=period,
        service_level_seconds=settings.service_level_seconds,
        service_level_target=settings.service_level_target_percent / 100,
    )


async def compute_requests(
    request: web.Request, period: Period, detail: bool = True
) -> RequestsReport:
    """The request figures of a period as they stand now, topics named from the catalogue."""
    names = {code: t.name for code, t in request.app[REQUEST_POLICY]().kb.topics.items()}
    return await request.app[DATABASE].run(
        requests_report, period=period, now=request.app[CLOCK](), topic_names=names
    )


async def compute_after_hours(
    request: web.Request, period: Period, detail: bool = True
) -> AfterHoursReport:
    """The after-hours figures of a period as they stand now."""
    return await request.app[DATABASE].run(
        after_hours_report, period=period, now=request.app[CLOCK]()
    )


async def _assistant(request: web.Request, period: Period, detail: bool) -> AssistantReport:
    kb = request.app[REQUEST_POLICY]().kb
    report = await request.app[DATABASE].run(
        assistant_report,
        period=period,
        topic_names={code: t.name for code, t in kb.topics.items()},
        article_titles={a.id: a.title for a in kb.articles},
    )
    return await grouped(report) if detail else replace(report, questions=())


REPORTS: tuple[ReportKind[Any], ...] = (
    ReportKind("chats", compute_chats, csv_rows, ChatFigures.as_dict),
    ReportKind("requests", compute_requests, request_rows, RequestsReport.as_dict),
    ReportKind("after-hours", compute_after_hours, after_hours_rows, AfterHoursReport.as_dict),
    ReportKind("assistant", _assistant, assistant_rows, AssistantReport.as_dict),
)


def _period(request: web.Request) -> Period:
    """The period asked for (`from` and `to`, both included); today when neither is given."""
    query = request.query
    unknown = sorted(set(query) - QUERY_KEYS)
    if unknown:
        raise ChatError(
            f"Unknown parameter {unknown[0]!r}: give from and to (YYYY-MM-DD).",
            code="invalid_payload",
        )
    zone = request.app[CALENDAR].zone
    if not query:
        return Period.day(request.app[CLOCK](), zone)
    return Period(_date(query, "from"), _date(query, "to"), zone)


def _date(query: Any, key: str) -> date:
    values = query.getall(key, [])
    if len(values) != 1:
        raise ChatError(f"Give {key} once, as YYYY-MM-DD.", code="invalid_payload")
    text = values[0]
    try:
        if not DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ChatError(f"{key} is not a date: give YYYY-MM-DD.", code="invalid_payload") from None
