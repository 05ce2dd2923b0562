"""The widget as residents move through a chat: replies in view, across pages, offline, ending.

Chromium on the demo city page against the real server (issue 16, residents' items 1, 2, 3, 5).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Locator, Page, expect

from tests.browser.helpers import PageErrors, axe_violations
from tests.browser.test_widget_browser import (
    PERSON,
    RECONNECT_MS,
    count_conversations,
    fill_form,
    launcher,
    log,
    message,
    open_widget,
    panel,
    send,
    start_chat,
    stored,
)
from tests.conftest import AgentClient, LiveServer, ResidentClient

pytestmark = pytest.mark.browser

OFFLINE_ERRORS = r"ERR_INTERNET_DISCONNECTED|WebSocket connection to .* failed"

IN_VIEW = """node => {
    const log = node.closest(".log");
    const a = node.getBoundingClientRect(), b = log.getBoundingClientRect();
    return a.height > 0 && a.top >= b.top - 1 && a.bottom <= b.bottom + 1;
}"""


async def in_view(bubble: Locator) -> bool:
    """Whether the whole bubble is inside the visible part of the message log."""
    result: bool = await bubble.evaluate(IN_VIEW)
    return result


async def until_in_view(page: Page, bubble: Locator) -> None:
    await page.wait_for_function(IN_VIEW, arg=await bubble.element_handle())


def composer(page: Page) -> Locator:
    return page.get_by_label("Message", exact=True)


def preview(page: Page) -> Locator:
    return page.get_by_role("button", name=re.compile(r"^New message from "))


# --- 1. the newest message stays in view -------------------------------------------------------


async def test_the_agent_who_joins_and_replies_stays_in_view(
    page: Page,
    resident_client: Callable[..., Awaitable[ResidentClient]],
    agent_client: Callable[..., Awaitable[AgentClient]],
) -> None:
    maria = await agent_client("maria", display_name="Maria Lopez", max_chats=1)
    first = await resident_client()
    await first.start(name="First")
    busy = (await maria.next("assigned"))["conversation"]["id"]

    # A chat with the assistant long enough to scroll, then a person asked for in the chat:
    # the "in line" line appears under the log and takes room from it.
    await start_chat(page, "When is bulky item pickup?")
    await send(page, "How do I report a pothole?")
    await expect(log(page).locator(".msg[data-seq='4']")).to_be_visible()
    await send(page, "I'd like to talk to a person, please.")
    wait = page.locator("chatsvc-widget .wait")
    await expect(wait).to_have_text(re.compile(r"^You are next in line\."))
    assert await log(page).evaluate("log => log.scrollHeight > log.clientHeight + 100")

    await maria.ok("close", {"conversation_id": busy, "disposition": "resolved"})
    chat = (await maria.next("assigned"))["conversation"]["id"]
    joined = message(page, "Maria joined the chat.")
    await expect(joined).to_be_visible()
    await expect(wait).to_be_hidden()
    await until_in_view(page, joined)

    await maria.ok("typing", {"conversation_id": chat, "typing": True})
    await expect(page.get_by_text("Maria is typing…")).to_be_visible()
    await maria.ok(
        "message", {"conversation_id": chat, "client_id": "maria-0001", "text": "Hi, I'm Maria."}
    )
    hello = message(page, "Hi, I'm Maria.")
    await expect(hello).to_be_visible()
    await until_in_view(page, hello)
    jump = page.get_by_role("button", name=re.compile(r"new messages?$"))
    await expect(jump).to_be_hidden()

    # Scrolled up to read: left in place, told that something new came, and taken down on request.
    await log(page).hover()
    await page.mouse.wheel(0, -5000)
    # Scroll events are dispatched with the next frame: wait for two frames to have gone by.
    await log(page).evaluate(
        """log => new Promise((resolve) => {
            const done = () => (log.scrollTop === 0 ? resolve() : requestAnimationFrame(done));
            requestAnimationFrame(() => requestAnimationFrame(done));
        })"""
    )
    await maria.ok(
        "message", {"conversation_id": chat, "client_id": "maria-0002", "text": "Still there?"}
    )
    later = message(page, "Still there?")
    await expect(later).to_be_visible()
    await expect(jump).to_have_accessible_name("1 new message")
    assert not await in_view(later)
    assert not await axe_violations(page)
    await jump.click()
    await until_in_view(page, later)
    await expect(jump).to_be_hidden()
    await expect(composer(page)).to_be_focused()


# --- 2. the chat follows the resident around the site ----------------------------------------


async def test_the_open_panel_and_the_draft_come_back_on_every_page(
    page: Page, live_server: LiveServer
) -> None:
    await start_chat(page)
    await composer(page).fill("Half of a question about my cou")
    await page.reload()
    await expect(panel(page)).to_be_visible()
    await expect(launcher(page)).to_have_attribute("aria-expanded", "true")
    await expect(composer(page)).to_have_value("Half of a question about my cou")
    await expect(message(page, PERSON)).to_be_visible()

    # Another page of the site: the same.
    await page.goto(live_server.url + "/?page=parks")
    await expect(panel(page)).to_be_visible()
    await expect(composer(page)).to_have_value("Half of a question about my cou")
    await composer(page).press("End")
    await composer(page).type("ch.")
    await composer(page).press("Enter")
    await expect(message(page, "Half of a question about my couch.")).to_have_attribute(
        "data-state", "sent"
    )
    assert await stored(page, live_server, "draft") is None

    # Closed, it stays closed; the sent draft does not come back.
    await page.keyboard.press("Escape")
    await expect(panel(page)).to_be_hidden()
    await page.reload()
    await expect(launcher(page)).to_be_visible()
    await expect(panel(page)).to_be_hidden()
    await launcher(page).click()
    await expect(composer(page)).to_have_value("")
    await expect(composer(page)).to_be_focused()


async def test_a_reply_while_closed_is_previewed_beside_the_launcher(
    page: Page, agent_client: Callable[..., Awaitable[AgentClient]]
) -> None:
    maria = await agent_client("maria", display_name="Maria Lopez")
    await start_chat(page)
    chat = (await maria.next("assigned"))["conversation"]["id"]
    await expect(message(page, "Maria joined the chat.")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(preview(page)).to_have_count(0)

    await maria.ok(
        "message",
        {"conversation_id": chat, "client_id": "maria-0001", "text": "Hi Ana, I can help."},
    )
    await expect(preview(page)).to_have_accessible_name(
        re.compile(r"^New message from Maria ?: Hi Ana, I can help\.$")
    )
    await expect(launcher(page)).to_have_accessible_name(re.compile(r"1 new message"))
    violations = await axe_violations(page)
    assert not violations, f"the preview: {violations}"

    # Dismissed, it stays away, also on the next page; a newer message brings it back.
    await page.get_by_role("button", name="Dismiss new message").click()
    await expect(preview(page)).to_have_count(0)
    await page.reload()
    await expect(launcher(page)).to_have_accessible_name(re.compile(r"new messages?$"))
    await expect(preview(page)).to_have_count(0)
    await maria.ok(
        "message",
        {"conversation_id": chat, "client_id": "maria-0002", "text": "Are you still there?"},
    )
    await expect(preview(page)).to_have_accessible_name(
        re.compile(r"^New message from Maria ?: Are you still there\?$")
    )
    await preview(page).click()
    await expect(panel(page)).to_be_visible()
    await expect(preview(page)).to_have_count(0)
    await expect(composer(page)).to_be_focused()
    await expect(page.locator("chatsvc-widget .badge")).to_be_hidden()


# --- 3. a chat started offline ---------------------------------------------------------------


async def test_a_chat_started_offline_starts_when_the_connection_is_back(
    context: BrowserContext, page: Page, page_errors: PageErrors, live_server: LiveServer
) -> None:
    page_errors.allow(OFFLINE_ERRORS)
    await open_widget(page)
    await context.set_offline(True)
    await expect(page.get_by_role("status").filter(has_text="Reconnecting…")).to_be_visible()
    await fill_form(page, "Ana Ruiz", "ana@example.com", "Is the library open on Sunday?")
    await page.get_by_role("button", name="Start chat").click()

    await expect(page.get_by_role("button", name="Waiting for connection…")).to_be_visible()
    await expect(page.get_by_text("Your chat will start by itself")).to_be_visible()
    await expect(page.get_by_text("Cannot reach the chat service")).to_have_count(0)
    assert await count_conversations(live_server) == 0

    await context.set_offline(False)
    question = message(page, "Is the library open on Sunday?")
    await expect(question).to_have_attribute("data-seq", "1", timeout=RECONNECT_MS)
    await expect(composer(page)).to_be_focused()
    await expect(page.get_by_text("Your chat will start by itself")).to_have_count(0)
    assert await count_conversations(live_server) == 1


async def test_a_waiting_start_survives_a_reload_and_goes_once(
    context: BrowserContext, page: Page, page_errors: PageErrors, live_server: LiveServer
) -> None:
    page_errors.allow(OFFLINE_ERRORS)
    await open_widget(page)
    await context.set_offline(True)
    await fill_form(page, "Ana Ruiz", "ana@example.com", "Is the library open on Sunday?")
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.get_by_role("button", name="Waiting for connection…")).to_be_visible()

    # The resident reloads (or opens another page of the site) while the chat service is still
    # out of reach: the page loads, the service does not answer.
    async def unreachable(route: Any) -> None:
        await route.abort()

    page_errors.allow(re.compile("net::ERR_FAILED"))
    await page.route("**/socket.io/**", unreachable)
    await context.set_offline(False)
    await page.reload()
    await expect(page.get_by_role("button", name="Waiting for connection…")).to_be_visible()
    await expect(page.get_by_label("Question")).to_have_value("Is the library open on Sunday?")
    assert await count_conversations(live_server) == 0

    await page.unroute("**/socket.io/**")
    question = message(page, "Is the library open on Sunday?")
    await expect(question).to_have_attribute("data-seq", "1", timeout=RECONNECT_MS)
    assert await count_conversations(live_server) == 1


# --- 5. ending a chat ----------------------------------------------------------------------------


async def test_ending_a_chat_asks_first_and_speaks_to_the_resident(
    page: Page,
    live_server: LiveServer,
    agent_client: Callable[..., Awaitable[AgentClient]],
) -> None:
    maria = await agent_client("maria", display_name="Maria Lopez")
    await start_chat(page)
    await maria.next("assigned")
    question = page.get_by_role("alertdialog", name="End this chat?")
    # The same chat open in a second tab of the site.
    other = await page.context.new_page()
    await other.goto(page.url)
    if await launcher(other).get_attribute("aria-expanded") != "true":
        await launcher(other).click()
    await expect(log(other)).to_contain_text("Maria joined the chat.")

    # Changed their mind: Escape takes the question back, the panel stays open.
    await page.get_by_role("button", name="End chat").click()
    await expect(question).to_be_visible()
    await expect(page.get_by_role("button", name="Keep chatting")).to_be_focused()
    await expect(composer(page)).to_be_hidden()
    violations = await axe_violations(page)
    assert not violations, f"asking to end: {violations}"
    await page.keyboard.press("Escape")
    await expect(question).to_be_hidden()
    await expect(panel(page)).to_be_visible()
    await expect(composer(page)).to_be_focused()
    assert await stored(page, live_server) is not None

    await page.get_by_role("button", name="End chat").click()
    await page.get_by_role("button", name="Yes, end chat").click()
    ended = log(page).locator(".msg-system").last
    await expect(ended.locator(".text")).to_have_text("You ended the chat.")
    await expect(page.get_by_text("Chat ended by the resident.")).to_have_count(0)
    # The other tab speaks to the same resident: not "ended by the resident" about themselves.
    await expect(log(other).locator(".msg-system").last.locator(".text")).to_have_text(
        "You ended the chat."
    )
    await expect(other.get_by_text("Chat ended by the resident.")).to_have_count(0)
    await expect(page.get_by_text("This browser no longer keeps this chat.")).to_be_visible()
    # A person took part: "How did we do?" comes first (skippable), then "Start a new chat".
    await expect(page.get_by_role("radio", name="1 of 5, very poor")).to_be_focused()
    await page.get_by_role("button", name="Skip").click()
    await expect(page.get_by_role("button", name="Start a new chat")).to_be_focused()
    assert await stored(page, live_server) is None
    # The agent reads it from their side.
    notice: dict[str, Any] = await maria.next_where(
        "message", lambda m: m["author_kind"] == "system" and "ended" in m["text"]
    )
    assert notice["text"] == "Chat ended by the resident."
    violations = await axe_violations(page)
    assert not violations, f"ended by the resident: {violations}"
