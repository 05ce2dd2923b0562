"""A resident's reply by email shows in the agent pane's inbox, live: real SMTP both ways."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from playwright.async_api import expect

from chatsvc.settings import Settings
from tests.browser.helpers import axe_violations
from tests.browser.test_agent_pane_browser import (
    SHOTS,
    NewContext,
    add_staff,
    inbox_items,
    inbox_message,
    inbox_tab,
    leave_message,
    open_pane,
)
from tests.conftest import Inbox, LiveServer, ResidentClient
from tests.realtime.test_mail_replies import answer, send_reply

FOLLOW_UP = "The couch is still on the curb.\nCould you come on Tuesday instead?"


async def test_a_reply_by_email_appears_under_the_message_live(
    new_context: NewContext,
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    smtp_server: Callable[..., Inbox],
    resident_client: Callable[..., Awaitable[ResidentClient]],
) -> None:
    outgoing = smtp_server()
    settings = make_settings(
        smtp_host="127.0.0.1",
        smtp_port=outgoing.port,
        smtp_security="none",
        mail_from="Citizen Service Center <csc@example.org>",
        mail_reply_domain="replies.example.org",
        mail_in_port=0,
    )
    server = await start_server(settings)
    await add_staff(server, "maria", "Maria Lopez")
    left = await leave_message(
        resident_client, server, "Ana Ruiz", "ana@example.com", "My pickup was missed."
    )
    (ack,) = await outgoing.wait_for(1)

    pane = await open_pane(new_context, server, "maria", status="Away")
    await inbox_tab(pane).click()
    await inbox_items(pane).first.get_by_role("button").click()
    message = inbox_message(pane)
    await expect(
        message.get_by_role("heading", name=f"Ana Ruiz — {left['reference']}")
    ).to_be_visible()
    replies = message.get_by_role("region", name="Their replies by email")
    await expect(replies).to_be_hidden()

    await send_reply(server, answer(ack, FOLLOW_UP))
    await expect(replies).to_be_visible()
    await expect(replies.get_by_role("listitem")).to_have_count(1)
    await expect(replies.locator(".inbox-text")).to_have_text(FOLLOW_UP)  # as text, no quote
    await expect(replies).to_contain_text("Received ")
    assert not await axe_violations(pane)
    if SHOTS:
        for size in ({"width": 1366, "height": 768}, {"width": 390, "height": 844}):
            await pane.set_viewport_size(size)
            await replies.scroll_into_view_if_needed()
            await pane.screenshot(path=f"{SHOTS}/inbox-follow-up-{size['width']}.png")
