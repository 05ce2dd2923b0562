"""The printable monthly report on the real server: its figures in the HTML page and in the
PDF, who may read it, and bad months.

November 2026 holds the hand-computed day of chats (tests/actions/test_reports.py), of requests
and of after-hours messages (test_reports_requests.py), read on Tuesday 24 November at 10:00 in
Pasadena. October holds two chats of its own, to compare with:

- 15 October 10:00, handed over 10:01, Ann joins 10:02 (60 s), closed 10:12 (600 s);
- 16 October 09:00, the assistant answers alone; ended 09:05.
"""

from __future__ import annotations

import asyncio
import io
import os
import re
import threading
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from pypdf import PdfReader
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.catalogue.knowledge import Topic
from chatsvc.db.database import Database
from chatsvc.db.models import ServiceRequest
from chatsvc.errors import RateLimited
from chatsvc.reports import Period
from chatsvc.reports.monthly import Bar, Chart, Sheet, Table
from chatsvc.reports.monthly_pdf import monthly_pdf
from chatsvc.settings import Settings
from chatsvc.transport.monthly_report import PDF_MAX_PENDING, PdfPrinter
from chatsvc.transport.state import DATABASE, REQUEST_POLICY
from tests.actions.test_reports import a_day, chat
from tests.actions.test_reports_requests import a_day_of_requests_and_messages
from tests.conftest import LiveServer, add_staff_member
from tests.waiting import eventually

ZONE = ZoneInfo("America/Los_Angeles")
# Tuesday 24 November, 10 a.m. in Pasadena.
TUESDAY = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)
PAGE = "/agent/reports/monthly"
# Set CHATSVC_SHOTS to a folder to keep the PDFs of a full month, to look at.
SHOTS = os.environ.get("CHATSVC_SHOTS", "")
PDF = "/agent/reports/monthly.pdf"

# Each measure of November, October and the change, as the page and the PDF print them.
CHAT_ROWS = (
    ("Chats offered", "8", "2", "+6"),  # the Monday's 7 and Sunday 22's 1
    ("Answered by a person", "3", "1", "+2"),
    ("Contained by the assistant", "3", "1", "+2"),
    ("Abandoned while waiting", "1", "0", "+1"),
    ("Average answer delay", "0:40", "1:00", "−0:20"),  # (20 + 90 + 10) / 3
    ("Service level (within 30 s)", "66.7%", "0.0%", "+66.7 pts"),
    ("Average handle time", "9:40", "10:00", "−0:20"),  # (600 + 300 + 840) / 3
    ("Transfers", "1", "0", "+1"),
    ("Satisfaction, 1 to 5 (ratings)", "4.0 (2)", "–", "–"),
)
REQUEST_ROWS = (
    ("Opened", "7", "0", "+7"),
    ("Resolved (closed or referred)", "4", "0", "+4"),  # 3, 4, 5 and 7
    ("Resolved within the service level", "50.0%", "–", "–"),  # 3 and 7
    ("Average time to resolve", "26.2 h", "–", "–"),  # (4 + 2 + 79 + 20) / 4
    ("Of those opened, still open now", "3", "0", "+3"),
    ("Of those opened, overdue now", "2", "0", "+2"),
)
DEPARTMENTS = (
    ("Public Works", "4", "2", "1"),
    ("Transportation", "2", "0", "0"),
    ("Parks", "1", "1", "1"),
    ("All departments", "7", "3", "2"),
)
TOPICS = (
    ("1. bulky", "2", "1", "0"),
    ("2. Graffiti Removal", "2", "1", "1"),
    ("3. parking", "2", "0", "0"),
    ("4. tree", "1", "1", "1"),
)
AFTER_HOURS_ROWS = (
    ("Messages left", "6", "0", "+6"),
    ("Answered on time", "2", "0", "+2"),
    ("Answered late", "1", "0", "+1"),
    ("Overdue now, not answered", "1", "0", "+1"),
    ("Not due yet", "1", "0", "+1"),
    ("Closed without a reply", "1", "0", "+1"),
    ("Average time to reply", "11.5 h", "–", "–"),  # (8.5 + 16 + 10) / 3
)
# What residents wrote in the seeded data: never in the report.
RESIDENT_TEXT = ("A question", "Please call me back", "Request 1", "Resident 1")


def october(day: int, hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 10, day, hour, minute, second, tzinfo=ZONE).astimezone(UTC)


async def two_october_chats(db: Database, ann: int) -> None:
    async def store(session: AsyncSession) -> None:
        await chat(
            session,
            20,
            october(15, 10, 0),
            handoff=october(15, 10, 1),
            joins=((october(15, 10, 2), "Ann"),),
            ended=october(15, 10, 12),
            staff_id=ann,
            disposition="resolved",
        )
        await chat(session, 21, october(16, 9, 0), ended=october(16, 9, 5))

    await db.run(store)


async def a_busy_month(live: LiveServer) -> None:
    """November 2026 as full as the report gets: chats every day, and requests of every topic
    of the catalogue (the longest names first), so the top 20 and every department print."""
    topics: list[Topic] = sorted(
        live.app[REQUEST_POLICY]().kb.topics.values(), key=lambda t: (-len(t.name), t.code)
    )

    async def store(session: AsyncSession) -> None:
        n = 1000
        for day in range(1, 31):
            weekend = date(2026, 11, day).weekday() >= 5
            for k in range(1 if weekend else 3 + day * 7 % 9):
                n += 1
                started = datetime(2026, 11, day, 9 + k % 8, 0, tzinfo=ZONE).astimezone(UTC)
                await chat(session, n, started, ended=started.replace(minute=5 + k))
        for rank, topic in enumerate(topics):
            for k in range(max(1, 24 - rank)):
                n += 1
                opened = datetime(2026, 11, 1 + k % 28, 10, 0, tzinfo=ZONE).astimezone(UTC)
                session.add(
                    ServiceRequest(
                        number=f"26-{n:06d}",
                        service_code=topic.code,
                        department=topic.department,
                        workgroup=topic.workgroup,
                        status="open",
                        description="Request",
                        attributes={},
                        source=("assistant", "agent", "open311")[k % 3],
                        requested_at=opened,
                        updated_at=opened,
                        expected_at=opened,
                    )
                )

    await live.app[DATABASE].run(store)


@pytest.fixture
async def server(
    start_server: Callable[..., Awaitable[LiveServer]], make_settings: Callable[..., Settings]
) -> LiveServer:
    # No sweep: the seeded chat still open would be closed by it, as idle, while read.
    live = await start_server(make_settings(sweep_seconds=3600), clock=lambda: TUESDAY)
    ann, _ = await a_day(live.app[DATABASE])
    await a_day_of_requests_and_messages(live.app[DATABASE])
    await two_october_chats(live.app[DATABASE], ann)
    return live


async def cookie_of(server: LiveServer, role: str) -> dict[str, str]:
    _, cookie = await add_staff_member(server.app[DATABASE], f"a-{role}", role=role)
    return {"Cookie": f"chatsvc_staff={cookie}"}


def table_rows(html: str, heading_id: str) -> list[tuple[str, ...]]:
    """The rows of the table in the section of the heading `heading_id`, each cell's text."""
    section = re.search(rf'<h2 id="{heading_id}">.*?</section>', html, re.S)
    assert section, f"no section of #{heading_id}"
    rows = re.findall(r"<tr>(.*?)</tr>", section.group(0), re.S)
    return [
        tuple(
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r)
        )
        for r in rows
    ]


async def test_a_supervisor_reads_the_month_against_the_month_before(server: LiveServer) -> None:
    headers = await cookie_of(server, "supervisor")
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}{PAGE}?month=2026-11", headers=headers) as r,
    ):
        assert r.status == 200
        assert r.content_type == "text/html"
        assert r.headers["Cache-Control"] == "no-store"
        assert "'unsafe-inline'" not in r.headers["Content-Security-Policy"]
        html = await r.text()
    assert "City of Pasadena · Citizen Service Center" in html
    assert "<h1>Monthly activity report: November 2026</h1>" in html
    assert "Generated 24 November 2026, 10:00 PST" in html
    assert "The month is not over: figures up to 24 November 2026, 10:00 PST." in html
    chats = table_rows(html, "chats")
    assert chats[0] == ("Measure", "Nov 2026", "Oct 2026", "Change")
    assert tuple(chats[1:]) == CHAT_ROWS
    assert tuple(table_rows(html, "requests")[1:]) == REQUEST_ROWS
    assert tuple(table_rows(html, "departments")[1:]) == DEPARTMENTS
    assert tuple(table_rows(html, "topics")[1:]) == TOPICS
    assert table_rows(html, "channels")[1:] == [
        ("Chat, the assistant", "3", "0", "+3"),
        ("Chat, an agent", "2", "0", "+2"),
        ("Open311 apps", "2", "0", "+2"),
    ]
    assert tuple(table_rows(html, "after-hours")[1:]) == AFTER_HOURS_ROWS
    assert "Spam is not counted (1 this month)." in html
    # The chart: a bar for each day with chats, the numbers in words and in a table.
    assert len(re.findall(r"<rect class=\"bar", html)) == 2  # Sunday 22 and Monday 23
    assert "8 chats offered in November 2026, 0.3 a day on average" in html
    assert "the busiest day was Monday 23 November with 7." in html
    per_day = table_rows(html, "per-day")
    assert len(per_day) == 31 and per_day[23] == ("Mon 23", "7")
    for text in RESIDENT_TEXT:
        assert text not in html
    # The page links to its PDF and to October; November is this month: no next month.
    assert 'href="/agent/reports/monthly.pdf?month=2026-11"' in html
    assert 'href="?month=2026-10"' in html
    assert 'rel="next"' not in html


async def test_a_month_that_is_over_says_nothing_of_being_in_progress(server: LiveServer) -> None:
    headers = await cookie_of(server, "admin")
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}{PAGE}?month=2026-10", headers=headers) as r,
    ):
        assert r.status == 200
        html = await r.text()
    assert "not over" not in html
    chats = table_rows(html, "chats")
    assert chats[0] == ("Measure", "Oct 2026", "Sep 2026", "Change")
    assert chats[1] == ("Chats offered", "2", "0", "+2")
    assert "the busiest day was Thursday 15 October with 1." in html
    for empty in ("departments", "topics"):
        assert table_rows(html, empty) == []
        assert re.search(rf'id="{empty}">[^<]*</h2>\s*<p class="empty">No requests opened', html)
    assert 'href="?month=2026-11" rel="next"' in html


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    return "\n".join(page.extract_text() for page in reader.pages)


async def test_the_pdf_holds_the_same_figures_on_one_page(server: LiveServer) -> None:
    headers = await cookie_of(server, "supervisor")
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{server.url}{PDF}?month=2026-11", headers=headers) as r,
    ):
        assert r.status == 200
        assert r.headers["Content-Type"] == "application/pdf"
        assert r.headers["Cache-Control"] == "no-store"
        assert r.headers["Content-Disposition"] == (
            'attachment; filename="chatsvc-monthly-2026-11.pdf"'
        )
        data = await r.read()
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata is not None
    assert reader.metadata.title == "Monthly activity report, November 2026"
    width, height = reader.pages[0].mediabox.width, reader.pages[0].mediabox.height
    assert (round(width), round(height)) == (612, 792)  # Letter, the default paper
    lines = [" ".join(line.split()) for line in pdf_text(data).splitlines()]
    assert "City of Pasadena · Citizen Service Center" in lines
    assert "Monthly activity report: November 2026" in lines
    for rows in (CHAT_ROWS, REQUEST_ROWS, DEPARTMENTS, TOPICS, AFTER_HOURS_ROWS):
        for row in rows:
            assert " ".join(row) in lines, row
    text = "\n".join(lines)
    for resident_text in RESIDENT_TEXT:
        assert resident_text not in text


async def test_the_pdf_paper_is_a_setting(
    start_server: Callable[..., Awaitable[LiveServer]], make_settings: Callable[..., Settings]
) -> None:
    live = await start_server(make_settings(report_paper="a4"), clock=lambda: TUESDAY)
    headers = await cookie_of(live, "supervisor")
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{live.url}{PDF}?month=2026-11", headers=headers) as r,
    ):
        data = await r.read()
    page = PdfReader(io.BytesIO(data)).pages[0]
    assert (round(page.mediabox.width), round(page.mediabox.height)) == (595, 842)  # A4


async def test_agents_and_strangers_are_refused(server: LiveServer) -> None:
    agent = await cookie_of(server, "agent")
    async with aiohttp.ClientSession() as http:
        for path in (PAGE, PDF):
            url = f"{server.url}{path}?month=2026-11"
            async with http.get(url, headers=agent) as r:
                assert r.status == 403
                assert (await r.json())["error"]["code"] == "forbidden"
            async with http.get(url) as r:
                assert r.status == 401
                assert (await r.json())["error"]["code"] == "not_signed_in"
            async with http.get(url, headers={"Cookie": "chatsvc_staff=forged"}) as r:
                assert r.status == 401
            # Refused before the month is read.
            async with http.get(f"{server.url}{path}?month=nonsense", headers=agent) as r:
                assert r.status == 403


# Each refused the same way by the page and the PDF; one server for all (CI time).
BAD_MONTHS = (
    ("", "Give month once, as YYYY-MM."),
    ("month=2026-11&month=2026-10", "Give month once, as YYYY-MM."),
    ("month=2026-13", "month is not a month: give YYYY-MM."),
    ("month=2026-00", "month is not a month: give YYYY-MM."),
    ("month=2026-1", "month is not a month: give YYYY-MM."),
    ("month=11/2026", "month is not a month: give YYYY-MM."),
    ("month=2026-11-01", "month is not a month: give YYYY-MM."),
    ("month=<script>alert(1)</script>", "month is not a month: give YYYY-MM."),
    ("month=" + "9" * 5000, "month is not a month: give YYYY-MM."),
    ("month=٢٠٢٦-١١", "month is not a month: give YYYY-MM."),  # Arabic-Indic digits
    ("month=2026-12", "month is still to come"),
    ("month=9999-01", "month is still to come"),
    ("month=1999-12", "month is before 2000."),
    ("month=2026-11&from=2026-11-01", "Unknown parameter 'from'"),
    ("month=2026-11&" + "x" * 3000 + "=1", "Unknown parameter 'xxxxxxxxxx"),
)


async def test_bad_months_are_refused_clearly(server: LiveServer) -> None:
    headers = await cookie_of(server, "supervisor")
    async with aiohttp.ClientSession() as http:
        for query, message in BAD_MONTHS:
            for path in (PAGE, PDF):
                async with http.get(f"{server.url}{path}?{query}", headers=headers) as r:
                    assert r.status == 400, (path, query[:40])
                    assert r.content_type == "application/json"
                    error = (await r.json())["error"]
                assert error["code"] == "invalid_payload"
                assert error["message"].startswith(message), (path, query[:40])
                assert len(error["message"]) < 100


async def test_a_full_month_fits_its_one_page_of_either_paper(
    start_server: Callable[..., Awaitable[LiveServer]], make_settings: Callable[..., Settings]
) -> None:
    for paper in ("letter", "a4"):  # two servers on the test's one database
        settings = make_settings(sweep_seconds=3600, report_paper=paper)
        live = await start_server(settings, clock=lambda: TUESDAY)
        if paper == "letter":
            await a_busy_month(live)
        _, cookie = await add_staff_member(live.app[DATABASE], f"sue-{paper}", role="supervisor")
        headers = {"Cookie": f"chatsvc_staff={cookie}"}
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"{live.url}{PDF}?month=2026-11", headers=headers) as r,
        ):
            assert r.status == 200
            data = await r.read()
        if SHOTS:
            await asyncio.to_thread(Path(SHOTS, f"monthly-{paper}.pdf").write_bytes, data)
        reader = PdfReader(io.BytesIO(data))
        assert len(reader.pages) == 1
        lines, lowest = text_and_lowest_line(reader)
        assert lowest >= MARGIN_PT, f"{paper}: text at {lowest} pt, in the bottom margin"
        assert any(line.startswith("20. ") for line in lines)
        # 24 + 23 + … + 1 requests, and one of each of the 18 topics after them.
        assert any(line.startswith("All departments 318 318 ") for line in lines), lines
        # The longest name, cut short to its column.
        first = next(line for line in lines if line.startswith("1. "))
        assert first.startswith("1. Housing / Shelter Information") and "…" in first, first


MARGIN_PT = 12 / 25.4 * 72  # the PDF's margin (12 mm), in points


def text_and_lowest_line(reader: PdfReader) -> tuple[list[str], float]:
    """The page's lines of text, and the height of the lowest above the page's bottom (pt)."""
    heights: list[float] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: object) -> None:
        if text.strip():
            heights.append(tm[4] * cm[1] + tm[5] * cm[3] + cm[5])

    text = reader.pages[0].extract_text(visitor_text=visit)
    return [" ".join(line.split()) for line in text.splitlines()], min(heights)


async def test_pdfs_beyond_the_printer_s_few_are_refused_at_once() -> None:
    printer = PdfPrinter()
    release = threading.Event()
    try:
        # One printing and three waiting behind it: the printer's four.
        held = [asyncio.create_task(printer.run(release.wait)) for _ in range(PDF_MAX_PENDING)]
        await eventually(lambda: printer.pending == PDF_MAX_PENDING, what="four taking places")
        with pytest.raises(RateLimited) as refused:
            await printer.run(lambda: True)
        assert refused.value.status == 429 and refused.value.retry_after == 5
        release.set()
        assert await asyncio.gather(*held) == [True] * PDF_MAX_PENDING
        assert printer.pending == 0
        assert await printer.run(lambda: "printed") == "printed"
    finally:
        release.set()
        printer.close()


def a_sheet(organisation: str, topic: str) -> Sheet:
    compared = ("Measure", "Nov 2026", "Oct 2026", "Change")
    small = Table("Some figures", compared, (("Chats offered", "1", "0", "+1"),))
    days = tuple(date(2026, 11, d) for d in range(1, 31))
    chart = Chart("Chats offered per day", "1 chat.", tuple(Bar(d, 0, False, 0) for d in days), 2)
    topics = Table("Topics", ("Topic", "Opened", "Open", "Overdue"), ((topic, "1", "1", "0"),))
    return Sheet(
        title="Monthly activity report",
        organisation=organisation,
        month="November 2026",
        month_code="2026-11",
        generated="Generated 24 November 2026, 10:00 PST",
        in_progress="",
        chats=small,
        chart=chart,
        after_hours=small,
        requests=small,
        channels=small,
        departments=small,
        topics=topics,
    )


def test_the_pdf_prints_names_in_other_scripts_and_marks_what_it_cannot() -> None:
    sheet = a_sheet("Ville de Montréal · Служба Łódź · Δήμος", "Señal dañada 市役所 ok")
    text = pdf_text(monthly_pdf(sheet))
    assert "Ville de Montréal · Служба Łódź · Δήμος" in text
    assert "Señal dañada ??? ok" in text  # no glyph for these: a question mark each


def test_a_long_topic_name_is_cut_short_on_its_one_line() -> None:
    name = "Accessibility Requests for City Meetings / Events / Classes and much more besides"
    text = pdf_text(monthly_pdf(a_sheet("City", name)))
    cut = next(line for line in text.splitlines() if line.startswith("Accessibility"))
    assert "…" in cut and "besides" not in cut


def test_months_before_a_month() -> None:
    jan = Period.month(2026, 1, ZONE)
    assert jan.month_before() == Period.month(2025, 12, ZONE)
    assert Period.month(2026, 3, ZONE).month_before().days == 28
