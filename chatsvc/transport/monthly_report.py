"""The monthly activity report for supervisors and admins: an HTML page that prints on one sheet,
and the same as a PDF.

Its figures come from the same compute functions as the JSON and CSV reports
(chatsvc/transport/reports.py), for the month asked for and the month before it.
"""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import TypeVar

from aiohttp import web

from chatsvc.errors import ChatError, RateLimited
from chatsvc.reports import Period
from chatsvc.reports.daily import DailySeries
from chatsvc.reports.monthly import MonthFigures, MonthlyReport, Sheet, monthly_sheet
from chatsvc.reports.monthly_pdf import monthly_pdf
from chatsvc.transport.http import STATIC
from chatsvc.transport.reports import (
    compute_after_hours,
    compute_chats,
    compute_requests,
    require_supervisor,
)
from chatsvc.transport.staff import render_page, versioned
from chatsvc.transport.state import ASSISTANT, CALENDAR, CLOCK, SETTINGS

T = TypeVar("T")

MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")  # ASCII digits: \d would take any script's
FIRST_YEAR = 2000
# PDFs are drawn in one thread (fpdf2 is pure Python: more threads would only share the GIL);
# beyond this many drawn or waiting, a request is refused rather than queued.
PDF_WORKERS = 1
PDF_MAX_PENDING = 4


class PdfPrinter:
    """Draws PDFs off the event loop, a bounded few at a time."""

    def __init__(self) -> None:
        self.pending = 0
        self._executor = ThreadPoolExecutor(PDF_WORKERS, thread_name_prefix="pdf-printer")

    async def run(self, work: Callable[[], T]) -> T:
        """Run `work` in the printer's thread, or raise RateLimited when too many wait."""
        if self.pending >= PDF_MAX_PENDING:
            raise RateLimited("Many reports are being printed: try again shortly.", retry_after=5)
        self.pending += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work)
        finally:
            self.pending -= 1

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


PDF_PRINTER = web.AppKey("pdf_printer", PdfPrinter)


def add_monthly_report_routes(app: web.Application) -> None:
    app[PDF_PRINTER] = PdfPrinter()
    app.cleanup_ctx.append(_printer_ctx)
    app.router.add_get("/agent/reports/monthly", monthly_page)
    app.router.add_get("/agent/reports/monthly.pdf", monthly_pdf_file)


async def _printer_ctx(app: web.Application) -> AsyncIterator[None]:
    yield
    app[PDF_PRINTER].close()


async def monthly_page(request: web.Request) -> web.Response:
    """The month's report as a page to read and print."""
    month, sheet = await _sheet(request)
    before = month.month_before()
    after = None if month.ends_at > request.app[CLOCK]() else _month_code(month.end, +1)
    return render_page(
        request,
        "agent/monthly_report.html",
        sheet=sheet,
        report_css_url=versioned("/agent/report.css", STATIC / "report.css"),
        pdf_url=f"/agent/reports/monthly.pdf?month={sheet.month_code}",
        previous_url=(f"?month={before.start:%Y-%m}" if before.start.year >= FIRST_YEAR else None),
        next_url=f"?month={after}" if after else None,
    )


async def monthly_pdf_file(request: web.Request) -> web.Response:
    """The month's report as a one-page PDF, to download."""
    _, sheet = await _sheet(request)
    paper = request.app[SETTINGS].report_paper
    data = await request.app[PDF_PRINTER].run(functools.partial(monthly_pdf, sheet, paper=paper))
    return web.Response(
        body=data,
        content_type="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{sheet.file_name}"',
            "Cache-Control": "no-store",
        },
    )


async def _sheet(request: web.Request) -> tuple[Period, Sheet]:
    await require_supervisor(request)
    month = _month(request)
    before = month.month_before()

    async def figures(period: Period) -> tuple[MonthFigures, DailySeries]:
        chats = await compute_chats(request, period)
        requests = await compute_requests(request, period)
        after_hours = await compute_after_hours(request, period)
        return MonthFigures(chats.chats, requests, after_hours), chats.daily

    center = request.app[ASSISTANT].index.kb.center
    current, daily = await figures(month)
    offered = daily.names.index("offered")
    report = MonthlyReport(
        city=center.city,
        center=center.name,
        month=month,
        previous_month=before,
        current=current,
        previous=(await figures(before))[0],
        offered_by_day=tuple((d.day, d.values[offered]) for d in daily.days),
        generated_at=request.app[CLOCK]().astimezone(month.zone),
    )
    return month, monthly_sheet(report)


def _month(request: web.Request) -> Period:
    """The month asked for (`month=YYYY-MM`): this month or one before it, from 2000 on."""
    query = request.query
    unknown = sorted(set(query) - {"month"})
    if unknown:
        name = unknown[0] if len(unknown[0]) <= 40 else unknown[0][:40] + "…"
        raise ChatError(
            f"Unknown parameter {name!r}: give month (YYYY-MM).", code="invalid_payload"
        )
    values = query.getall("month", [])
    if len(values) != 1:
        raise ChatError("Give month once, as YYYY-MM.", code="invalid_payload")
    found = MONTH.fullmatch(values[0])
    if found is None or not 1 <= int(found[2]) <= 12:
        raise ChatError("month is not a month: give YYYY-MM.", code="invalid_payload")
    year, month = int(found[1]), int(found[2])
    zone = request.app[CALENDAR].zone
    today = request.app[CLOCK]().astimezone(zone).date()
    if (year, month) > (today.year, today.month):
        raise ChatError(
            "month is still to come: give this month or an earlier one.", code="invalid_payload"
        )
    if year < FIRST_YEAR:
        raise ChatError(f"month is before {FIRST_YEAR}.", code="invalid_payload")
    return Period.month(year, month, zone)


def _month_code(day: date, months: int) -> str:
    """The month `months` after the one `day` is in, as YYYY-MM."""
    index = day.year * 12 + day.month - 1 + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
