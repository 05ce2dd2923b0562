"""The monthly report in Chromium: readable on a laptop and a phone, accessible, and printed on
one sheet of Letter or A4 paper with nothing but the report on it."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import BrowserContext, expect
from pypdf import PdfReader

from chatsvc.settings import Settings
from chatsvc.transport.state import DATABASE
from tests.browser.helpers import axe_violations
from tests.browser.test_agent_pane_browser import SHOTS
from tests.conftest import LiveServer, add_staff_member
from tests.realtime.test_monthly_report import TUESDAY, a_busy_month

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
async def live_server(
    start_server: Callable[..., Awaitable[LiveServer]], make_settings: Callable[..., Settings]
) -> LiveServer:
    """A November as full as the report gets (every topic, every department), read on the
    24th."""
    live = await start_server(make_settings(sweep_seconds=3600), clock=lambda: TUESDAY)
    await a_busy_month(live)
    return live


async def test_the_monthly_report_reads_on_screen_and_prints_on_one_page(
    new_context: Callable[..., Awaitable[BrowserContext]], live_server: LiveServer
) -> None:
    _, cookie = await add_staff_member(live_server.app[DATABASE], "sue", role="supervisor")
    context = await new_context(viewport=LAPTOP)
    await context.add_cookies([{"name": "chatsvc_staff", "value": cookie, "url": live_server.url}])
    page = await context.new_page()
    await page.goto(f"{live_server.url}/agent/reports/monthly?month=2026-11")
    await expect(page.get_by_role("heading", level=1)).to_have_text(
        "Monthly activity report: November 2026"
    )
    chats = page.get_by_role("table", name="Chat channel")
    await expect(chats.get_by_role("row", name="Chats offered 152 0 +152")).to_be_visible()
    topics = page.get_by_role("table", name="Top 20 topics")
    await expect(topics.locator("tbody tr")).to_have_count(20)
    await expect(page.get_by_role("img", name="Chats offered per day")).to_be_visible()
    assert await axe_violations(page) == []
    # The two columns sit side by side on a laptop, not wider than the window.
    assert await page.evaluate("document.scrollingElement.scrollWidth") <= LAPTOP["width"]
    if SHOTS:
        await page.screenshot(path=f"{SHOTS}/monthly-1366.png", full_page=True)

    await page.set_viewport_size(PHONE)
    assert await page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    if SHOTS:
        await page.screenshot(path=f"{SHOTS}/monthly-390.png", full_page=True)

    # Printed: the links are gone, and the report fits one sheet of either paper.
    await page.set_viewport_size(LAPTOP)
    await page.emulate_media(media="print")
    await expect(page.get_by_role("navigation")).to_be_hidden()
    if SHOTS:
        await page.screenshot(path=f"{SHOTS}/monthly-print-1366.png", full_page=True)
    for paper in ("Letter", "A4"):
        keep = f"{SHOTS}/monthly-print-{paper.lower()}.pdf" if SHOTS else None
        printed = await page.pdf(path=keep, format=paper, prefer_css_page_size=True)
        pages = PdfReader(io.BytesIO(printed)).pages
        assert len(pages) == 1, f"{paper}: {len(pages)} pages"
        text = pages[0].extract_text()
        for heading in ("Monthly activity report: November 2026", "After hours", "20. "):
            assert heading in text, (paper, heading)
