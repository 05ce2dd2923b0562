"""The link in the "reply in your chat" mail, opened in Chromium with the real widget."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from playwright.async_api import BrowserContext, Page, expect

from chatsvc.clock import utc_now
from chatsvc.db.models import ResidentConnection
from chatsvc.settings import Settings
from chatsvc.transport.dispatch import DISPATCHER
from tests.browser.helpers import axe_violations
from tests.browser.test_widget_browser import launcher, log, message, panel, start_chat, stored
from tests.conftest import AgentClient, Inbox, LiveServer, ResidentClient, free_port, stored_rows
from tests.waiting import eventually

pytestmark = pytest.mark.browser

SHOTS = os.environ.get("CHATSVC_SHOTS")
SIZES = [{"width": 1366, "height": 768}, {"width": 390, "height": 844}]


async def screenshots(page: Page, name: str) -> None:
    """Keep the screen at both sizes when CHATSVC_SHOTS names a folder (to look at)."""
    if not SHOTS:
        return
    for size in SIZES:
        await page.set_viewport_size(size)
        await page.screenshot(path=f"{SHOTS}/{name}-{size['width']}.png")
    await page.set_viewport_size(SIZES[0])


@dataclass
class Mailed:
    """A chat whose resident closed the tab, Maria's two replies mailed to them, and the link."""

    server: LiveServer
    now: list[datetime]
    context: BrowserContext
    maria: AgentClient
    cid: int
    old_token: str
    link: str


async def replies_mailed(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    new_context: Callable[..., Awaitable[BrowserContext]],
    agent_client: Callable[..., Awaitable[AgentClient]],
    smtp_server: Callable[..., Inbox],
) -> Mailed:
    inbox = smtp_server()
    port = free_port()  # the link names the service's own demo page: its port, known first
    now = [utc_now()]
    server = await start_server(
        make_settings(
            port=port,
            smtp_host="127.0.0.1",
            smtp_port=inbox.port,
            smtp_security="none",
            sweep_seconds=3600,  # the test sweeps, at the times it sets
        ),
        clock=lambda: now[0],
        port=port,
    )
    maria = await agent_client("maria", server=server, display_name="Maria Lopez")
    context = await new_context(viewport={"width": 1366, "height": 768})
    page = await context.new_page()
    await page.goto(server.url + "/")
    await start_chat(page)
    cid = (await maria.next("assigned"))["conversation"]["id"]
    await expect(message(page, "Maria joined the chat.")).to_be_visible()
    old_token = await stored(page, server)
    assert old_token

    # The resident closes the tab; Maria answers twice; minutes pass (on the server's clock).
    await page.close()
    await eventually(lambda: stored_rows(server, ResidentConnection), lambda rows: rows == [])
    for text in ("Your pickup is booked for Tuesday.", "Put the couch at the curb by 7 a.m."):
        await maria.ok(
            "message", {"conversation_id": cid, "client_id": uuid.uuid4().hex, "text": text}
        )
    await server.app[DISPATCHER].sweep()
    now[0] += timedelta(minutes=6)
    await server.app[DISPATCHER].sweep()
    (mail,) = await inbox.wait_for(1)
    body = mail.get_content()
    assert "Your pickup is booked for Tuesday." in body
    assert "Put the couch at the curb by 7 a.m." in body
    match = re.search(rf"^({re.escape(server.url)}/#chatsvc-resume=[A-Za-z0-9_-]+)\r?$", body, re.M)
    assert match, body
    return Mailed(server, now, context, maria, cid, old_token, match.group(1))


async def test_the_mail_link_reopens_the_chat_once_with_a_new_token(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    new_context: Callable[..., Awaitable[BrowserContext]],
    agent_client: Callable[..., Awaitable[AgentClient]],
    resident_client: Callable[..., Awaitable[ResidentClient]],
    smtp_server: Callable[..., Inbox],
) -> None:
    mailed = await replies_mailed(
        make_settings, start_server, new_context, agent_client, smtp_server
    )
    server, context, maria, link = mailed.server, mailed.context, mailed.maria, mailed.link
    old_token = mailed.old_token

    # Opened in the same browser: the panel opens on the chat, the code leaves the address bar.
    page = await context.new_page()
    await page.goto(link)
    await expect(panel(page)).to_be_visible()
    await expect(message(page, "Put the couch at the curb by 7 a.m.")).to_be_visible()
    await expect(message(page, "Your pickup is booked for Tuesday.")).to_be_visible()
    await expect(log(page).locator(".msg[data-seq='1']")).to_be_visible()  # the whole history
    assert page.url == server.url + "/"
    new_token = await stored(page, server)
    assert new_token and new_token != old_token
    await expect(page.get_by_label("Message", exact=True)).to_be_visible()
    await expect(page.locator("chatsvc-widget .badge")).to_be_hidden()
    assert await axe_violations(page) == []
    await screenshots(page, "resume-link-opened")
    # The old token opens nothing any more; the resident can answer.
    stranger = await resident_client(server.url)
    refused = await stranger.call("resume", {"token": old_token})
    assert refused["error"]["code"] == "invalid_token"
    composer = page.get_by_label("Message", exact=True)
    await composer.fill("Thank you, Maria!")
    await composer.press("Enter")
    await maria.next_where("message", lambda m: m["text"] == "Thank you, Maria!")

    # The same link on another browser (the mail forwarded, or opened again): refused plainly,
    # with the pre-chat form to start a new chat; the chat keeps its token.
    other = await (await new_context(viewport={"width": 1366, "height": 768})).new_page()
    await other.goto(link)
    await expect(panel(other)).to_be_visible()
    notice = other.locator("chatsvc-widget p.notice", has_text="already been used")
    await expect(notice).to_be_visible()
    await expect(notice).to_contain_text("You can start a new chat below.")
    await expect(other.get_by_role("button", name="Start chat")).to_be_visible()
    assert other.url == server.url + "/"
    assert await stored(other, server) is None
    assert (await stranger.call("resume", {"token": new_token}))["ok"]
    assert await axe_violations(other) == []
    await screenshots(other, "resume-link-used")

    # The same link again in the browser that used it (a new tab): said so, and its chat is
    # still there.
    again = await context.new_page()
    await again.goto(link)
    page = again
    await expect(page.get_by_role("alert")).to_contain_text("already been used")
    await expect(message(page, "Thank you, Maria!")).to_be_visible()
    assert await stored(page, server) == new_token


async def test_a_made_up_link_is_said_to_be_not_valid(
    live_server: LiveServer, context: BrowserContext
) -> None:
    page = await context.new_page()
    await page.goto(live_server.url + "/#chatsvc-resume=" + "A" * 43)
    await expect(panel(page)).to_be_visible()
    notice = page.locator("chatsvc-widget p.notice", has_text="This chat link is not valid.")
    await expect(notice).to_be_visible()
    assert page.url == live_server.url + "/"
    await expect(launcher(page)).to_have_attribute("aria-expanded", "true")
    assert await axe_violations(page) == []


async def test_an_expired_link_is_said_to_be_expired_and_the_chat_stays_as_it_was(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    new_context: Callable[..., Awaitable[BrowserContext]],
    agent_client: Callable[..., Awaitable[AgentClient]],
    smtp_server: Callable[..., Inbox],
) -> None:
    mailed = await replies_mailed(
        make_settings, start_server, new_context, agent_client, smtp_server
    )
    mailed.now[0] += timedelta(days=7, minutes=1)
    page = await mailed.context.new_page()
    await page.goto(mailed.link)
    # This browser still has the chat: it comes back, under the plain sentence.
    await expect(page.get_by_role("alert")).to_have_text(
        "This chat link has expired. Your chat on this browser is shown above."
    )
    await expect(message(page, "Put the couch at the curb by 7 a.m.")).to_be_visible()
    assert await stored(page, mailed.server) == mailed.old_token
    assert page.url == mailed.server.url + "/"
    assert await axe_violations(page) == []
    await screenshots(page, "resume-link-expired")
