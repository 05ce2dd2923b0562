"""The widget of a resident who left the queue and came back after it became a message."""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import BrowserContext, expect

from chatsvc.db.models import ResidentConnection
from chatsvc.settings import Settings
from chatsvc.transport.dispatch import DISPATCHER
from tests.browser.helpers import axe_violations
from tests.browser.test_widget_browser import log, message, open_widget, start_chat
from tests.conftest import PERSON, AgentClient, LiveServer, stored_rows
from tests.realtime.test_queue_abandon import CITY, DUE_TEXT, TUESDAY_TEN, Clock
from tests.waiting import eventually

SHOTS = os.environ.get("CHATSVC_SHOTS", "")


@pytest.fixture
def clock() -> Clock:
    return Clock(TUESDAY_TEN)


@pytest.fixture
async def live_server(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    clock: Clock,
) -> LiveServer:
    return await start_server(make_settings(**CITY, sweep_seconds=3600), clock=clock)


@pytest.mark.parametrize("size", [(1366, 768), (390, 844)])
async def test_back_after_leaving_the_queue_the_widget_says_what_became_of_the_chat(
    new_context: Callable[..., Awaitable[BrowserContext]],
    live_server: LiveServer,
    clock: Clock,
    agent_client: Callable[..., Awaitable[AgentClient]],
    size: tuple[int, int],
) -> None:
    await agent_client("maria", available=False)  # signed in, taking no chats: a queue
    context = await new_context(viewport={"width": size[0], "height": size[1]})
    page = await context.new_page()
    await page.goto(live_server.url + "/")
    await start_chat(page, PERSON)
    await expect(page.locator("chatsvc-widget .wait")).to_be_visible()

    await page.goto("about:blank")  # the tab leaves the city's site
    await eventually(
        lambda: stored_rows(live_server, ResidentConnection), lambda rows: rows == [], what="gone"
    )
    clock.advance(minutes=6)
    await live_server.app[DISPATCHER].sweep()

    await page.goto(live_server.url + "/")
    await open_widget(page)
    notice = log(page).locator(".msg").last
    await expect(notice).to_contain_text(
        "You left the chat while you were waiting for a person, so we turned it into a message"
    )
    await expect(notice).to_contain_text(f"We will reply to ana@example.com by {DUE_TEXT}")
    await expect(message(page, PERSON)).to_be_visible()  # what they wrote is still there
    await expect(page.get_by_role("button", name="Start a new chat")).to_be_visible()
    await expect(page.locator("chatsvc-widget .wait")).to_be_hidden()
    await expect(page.get_by_label("Message", exact=True)).to_be_hidden()
    violations = await axe_violations(page)
    assert not violations, violations
    if SHOTS:
        await page.screenshot(path=f"{SHOTS}/widget-left-the-queue-{size[0]}.png")
