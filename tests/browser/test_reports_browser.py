"""The Reports tab of the agent pane, in Chromium: a supervisor reads a hand-computed day.

The day is tests/actions/test_reports.py's (chats) and test_reports_requests.py's (requests and
after-hours messages): Monday 23 November 2026 in Pasadena, read on Tuesday 24 at 10:00 local
(the server's clock and the browser's alike).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.db.models import StaffingHour
from chatsvc.settings import Settings
from chatsvc.transport.state import DATABASE
from tests.actions.test_reports import a_day, local
from tests.actions.test_reports_assistant import a_day as a_day_for_the_assistant
from tests.actions.test_reports_requests import a_day_of_requests_and_messages
from tests.browser.test_agent_pane_browser import SHOTS, NewContext, add_staff, open_pane
from tests.browser.test_agent_pane_layout_browser import screenshot
from tests.browser.test_requests_browser import assert_axe_clean
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

TUESDAY = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)  # 10:00 in Pasadena


@pytest.fixture
async def live_server(
    start_server: Callable[..., Awaitable[LiveServer]], make_settings: Callable[..., Settings]
) -> LiveServer:
    """The server reads Tuesday morning, after the hand-computed Monday (whose chat still with
    the assistant is left open: no idle close)."""
    live = await start_server(make_settings(idle_close=timedelta(days=365)), clock=lambda: TUESDAY)
    await a_day(live.app[DATABASE])
    await a_day_of_requests_and_messages(live.app[DATABASE])
    return live


async def staffing_of_monday(session: AsyncSession) -> None:
    for hour, on_duty in ((9, 0), (10, 90)):
        start = local(hour, 0)
        session.add(
            StaffingHour(
                hour_start=start,
                weekday=0,
                hour=hour,
                minutes=60,
                on_duty_sum=on_duty,
                last_minute=start + timedelta(minutes=59),
            )
        )


async def shot_of(part: Any, name: str) -> None:
    if SHOTS:
        await part.screenshot(path=f"{SHOTS}/{name}.png")


async def browser_on_tuesday(page: Page) -> None:
    await page.clock.set_fixed_time(TUESDAY)


def section(page: Page, name: str) -> Any:
    return page.get_by_role("region", name=name, exact=True)


def figure(page: Page, report: str, label: str) -> Any:
    return section(page, report).get_by_role("group", name=label, exact=True)


async def test_a_supervisor_reads_the_reports_and_an_agent_does_not_see_them(
    new_context: NewContext, live_server: LiveServer
) -> None:
    await add_staff(live_server, "sam", "Sam Super", role="supervisor")
    await add_staff(live_server, "ana", "Ana Agent")
    pane = await open_pane(
        new_context, live_server, "sam", status=None, before_sign_in=browser_on_tuesday
    )
    await pane.get_by_role("button", name="Reports", exact=True).click()
    reports = section(pane, "Reports")
    await expect(reports).to_be_visible()

    # Today (Tuesday) has no chat yet: against Monday's seven, said in words as well as arrows.
    today = pane.get_by_role("button", name="Today", exact=True)
    await expect(today).to_have_attribute("aria-pressed", "true")
    await expect(reports).to_contain_text("Tue, Nov 24, 2026 compared with Mon, Nov 23, 2026")
    offered = figure(pane, "Chats", "Chats offered")
    await expect(offered.locator(".figure-value")).to_have_text("0")
    await expect(offered).to_contain_text("Previous: 7")
    await expect(offered).to_contain_text("down 100% from the previous period")
    # Nothing to measure is a dash, never NaN; an empty chart says so.
    await expect(
        figure(pane, "Chats", "Average answer delay").locator(".figure-value")
    ).to_have_text("—")
    await expect(reports).not_to_contain_text("NaN")

    # A custom range that ends before it starts is refused at the field.
    await pane.get_by_role("button", name="Custom range").click()
    start, end = pane.get_by_label("From", exact=True), pane.get_by_label("To", exact=True)
    await expect(start).to_be_focused()
    await start.fill("2026-11-23")
    await end.fill("2026-11-20")
    await pane.get_by_role("button", name="Show", exact=True).click()
    await expect(end).to_be_focused()
    await expect(end).to_have_attribute("aria-invalid", "true")
    await expect(end).to_have_accessible_description("The last day is before the first day.")
    await end.fill("2026-11-23")
    await expect(end).not_to_have_attribute("aria-invalid", "true")
    await pane.get_by_role("button", name="Show", exact=True).click()

    # Monday, against Sunday: the hand-computed figures.
    await expect(reports).to_contain_text("Mon, Nov 23, 2026 compared with Sun, Nov 22, 2026")
    await expect(offered.locator(".figure-value")).to_have_text("7")
    await expect(offered).to_contain_text("Previous: 1")
    await expect(offered).to_contain_text("up 600% from the previous period")
    chats: dict[str, str] = {
        "Answered by a person": "3",
        "Contained by the assistant": "2",
        "Abandoned while waiting": "1",
        "Service level": "67%",
        "Average answer delay": "0:40",
        "Average handle time": "9:40",
        "Transfers": "1",
        "Satisfaction": "4.0 of 5",
    }
    for label, value in chats.items():
        await expect(figure(pane, "Chats", label).locator(".figure-value")).to_contain_text(value)
    await expect(figure(pane, "Chats", "Average answer delay")).to_contain_text("40 seconds")
    await expect(figure(pane, "Chats", "Service level")).to_contain_text(
        "Answered within 30 s · target 80%"
    )
    await expect(section(pane, "Chats")).to_contain_text("Below the target of 80%")
    # A chart's numbers are a table behind "Show table".
    await expect(
        section(pane, "Chats").get_by_role("img", name=re.compile(r"^Answer delay: Under 30 s: 2"))
    ).to_be_visible()
    await pane.get_by_text("Show table: Answer delay").click()
    table = pane.get_by_role("table", name="Answer delay")
    await expect(table).to_be_visible()
    await expect(table.get_by_role("row", name="Under 30 s 2 0")).to_be_visible()
    await expect(table.get_by_role("row", name="1 – 2 min 1 0")).to_be_visible()
    # The heat map: Monday 9 a.m. had two chats.
    heatmap = pane.get_by_role("table", name=re.compile(r"^Chats offered by weekday and hour"))
    monday = heatmap.get_by_role("row").filter(has=pane.get_by_role("rowheader", name="Monday"))
    await expect(monday.get_by_role("cell").nth(9)).to_have_text("2")
    agents = section(pane, "By agent").get_by_role("table")
    await expect(agents.get_by_role("row", name=re.compile(r"^Ann Able 1 "))).to_be_visible()
    await expect(agents.get_by_role("row", name=re.compile(r"^Bob Baker 2 "))).to_be_visible()
    requests = {
        "Opened": "5",
        "Resolved": "3",
        "Open now": "2",
        "Overdue now": "1",
        "Resolved on time": "33%",
    }
    for label, value in requests.items():
        await expect(figure(pane, "Service requests", label).locator(".figure-value")).to_have_text(
            value
        )
    await expect(figure(pane, "Service requests", "Average time to resolve")).to_contain_text(
        "1 d 4 h"
    )
    await expect(section(pane, "Service requests").get_by_role("table").last).to_contain_text(
        "1. Graffiti"
    )
    after_hours = {
        "Messages left": "5",
        "Answered on time": "1",
        "Answered late": "1",
        "Overdue now": "1",
    }
    for label, value in after_hours.items():
        await expect(figure(pane, "After hours", label).locator(".figure-value")).to_have_text(
            value
        )

    # Each report's CSV, for the same period; it downloads.
    csv = section(pane, "Chats").get_by_role("link", name="Download CSV of the chats report")
    await expect(csv).to_have_attribute(
        "href", "/agent/reports/chats.csv?from=2026-11-23&to=2026-11-23"
    )
    download = await pane.request.get(live_server.url + str(await csv.get_attribute("href")))
    assert download.status == 200
    assert (await download.text()).startswith("period,from,to,table,row,measure,value")
    await expect(
        section(pane, "Service requests").get_by_role("link", name=re.compile("Download CSV"))
    ).to_have_attribute("href", "/agent/reports/requests.csv?from=2026-11-23&to=2026-11-23")
    # Not a whole month: no monthly report.
    await expect(pane.get_by_role("link", name="Monthly report (print)")).to_be_hidden()
    await assert_axe_clean(pane, "the reports of a day, a chart's table open")
    await screenshot(pane, "reports-day")

    # This week against the week before (Sunday the 22nd's chat is in it).
    await pane.get_by_role("button", name="This week").click()
    await expect(reports).to_contain_text("Nov 23 – 29, 2026 compared with Nov 16 – 22, 2026")
    await expect(offered.locator(".figure-value")).to_have_text("7")
    await expect(offered).to_contain_text("Previous: 1")
    # A whole month links its printable report.
    await pane.get_by_role("button", name="This month").click()
    await expect(pane.get_by_role("link", name="Monthly report (print)")).to_have_attribute(
        "href", "/agent/reports/monthly?month=2026-11"
    )
    # Loaded (the month against October) before the next choice: on a loaded machine a click
    # while the month's charts were still being drawn did not reach the button.
    await expect(reports).to_contain_text("compared with Oct")
    await expect(reports).to_have_attribute("aria-busy", "false")
    last_month = pane.get_by_role("button", name="Last month")
    await last_month.click()
    await expect(last_month).to_have_attribute("aria-pressed", "true")
    await expect(pane.get_by_role("link", name="Monthly report (print)")).to_have_attribute(
        "href", "/agent/reports/monthly?month=2026-10"
    )
    await expect(offered.locator(".figure-value")).to_have_text("0")
    await assert_axe_clean(pane, "the reports of a month with no chats")

    # The assistant's Monday (one more chat at 9 a.m.), and the agents on duty then: no one at
    # 9 a.m., 1.5 at 10 a.m.
    chats = await a_day_for_the_assistant(live_server.app[DATABASE])
    await live_server.app[DATABASE].run(staffing_of_monday)
    await pane.get_by_role("button", name="This week").click()
    assistant = section(pane, "The assistant")
    await expect(
        figure(pane, "The assistant", "Could not answer").locator(".figure-value")
    ).to_have_text("4")
    await expect(figure(pane, "The assistant", "In Spanish").locator(".figure-value")).to_have_text(
        "1"
    )
    await expect(
        assistant.get_by_role("table", name=re.compile("topics asked most"))
    ).to_contain_text("Bulky Item Pick Up")
    group = assistant.locator(".question-groups > li").filter(has_text="thingamajig")
    await expect(group.locator(".badge")).to_have_text("2")
    await group.locator("summary").click()
    await expect(group.get_by_text("Not understood twice: handed over")).to_be_visible()
    gaps = section(pane, "By hour and weekday")
    await expect(
        gaps.get_by_role("listitem").filter(has_text="Monday, 9 a.m.: 3 chats")
    ).to_be_visible()
    staffed = pane.get_by_role("table", name=re.compile(r"^Agents on duty by weekday and hour"))
    staffed_monday = staffed.get_by_role("row").filter(
        has=pane.get_by_role("rowheader", name="Monday")
    )
    await expect(staffed_monday.get_by_role("cell").nth(10)).to_have_text("1.5")
    await expect(
        section(pane, "Chats").get_by_role("img", name=re.compile(r"^Chats, per day: Offered 11"))
    ).to_be_visible()
    await assert_axe_clean(pane, "the assistant's report and the staffing gaps")
    for width, height in ((1366, 768), (390, 844)):
        await pane.set_viewport_size({"width": width, "height": height})
        for name in ("The assistant", "By hour and weekday", "Chats"):
            await shot_of(section(pane, name), f"reports-{name.lower().replace(' ', '-')}-{width}")
    # A question opens its chat.
    await group.get_by_role("button", name=f"Open chat #{chats['b']}").first.click()
    await expect(pane.get_by_role("heading", name=re.compile("Resident 2"))).to_be_visible()

    # An agent has no Reports tab.
    agent = await open_pane(new_context, live_server, "ana", status=None)
    await expect(agent.get_by_role("button", name="Requests", exact=True)).to_be_visible()
    await expect(agent.get_by_role("button", name="Reports", exact=True)).to_have_count(0)
