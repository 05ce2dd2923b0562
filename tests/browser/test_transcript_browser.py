"""The end of a chat with a person, in Chromium: the transcript by email and "How did we do?"."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import BrowserContext, Page, expect

from chatsvc.actions import handling
from chatsvc.clock import utc_now
from chatsvc.db.models import Conversation, ConversationRating
from chatsvc.settings import Settings
from chatsvc.transport.state import DATABASE
from tests.browser.helpers import axe_violations
from tests.browser.test_agent_pane_browser import (
    add_staff,
    composer,
    conversation,
    open_pane,
    resident_starts_chat,
    widget_message,
    widget_send,
)
from tests.conftest import Inbox, LiveServer, stored_rows

pytestmark = pytest.mark.browser

NewContext = Callable[..., Awaitable[BrowserContext]]
SHOTS = "/tmp/shots-transcript"
SIZES = ({"width": 1366, "height": 768}, {"width": 390, "height": 844})


@pytest.fixture
async def inbox(smtp_server: Callable[..., Inbox]) -> Inbox:
    return smtp_server()


@pytest.fixture
async def live_server(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    inbox: Inbox,
) -> LiveServer:
    settings = make_settings(smtp_host="127.0.0.1", smtp_port=inbox.port, smtp_security="none")
    return await start_server(settings)


async def shots(page: Page, name: str) -> None:
    for size in SIZES:
        await page.set_viewport_size(size)
        await page.screenshot(path=f"{SHOTS}/{name}-{size['width']}.png")
    await page.set_viewport_size(SIZES[0])


def body(mail: object) -> str:
    return mail.get_content().replace("\r\n", "\n")  # type: ignore[attr-defined]


async def test_ending_a_chat_with_an_agent_offers_the_transcript_and_a_rating(
    new_context: NewContext, live_server: LiveServer, inbox: Inbox
) -> None:
    maria = await add_staff(live_server, "maria", "Maria Lopez")
    await add_staff(live_server, "sue", "Sue Park", role="supervisor")
    pane = await open_pane(new_context, live_server, "maria")
    resident = await resident_starts_chat(new_context, live_server)
    await expect(conversation(pane).get_by_role("heading", name="Ana Ruiz")).to_be_visible()
    await composer(pane).fill("Hello Ana, this is Maria.")
    await composer(pane).press("Enter")
    await expect(widget_message(resident, "Hello Ana, this is Maria.")).to_be_visible()
    (chat,) = await stored_rows(live_server, Conversation)
    await live_server.app[DATABASE].run(
        handling.add_note,
        by=maria,
        conversation_id=chat.id,
        text="STAFF NOTE: sounds upset",
        now=utc_now(),
    )

    # The agent sends it from the pane, after reading where it goes.
    await conversation(pane).get_by_role("button", name="Email transcript…").click()
    dialog = pane.get_by_role("dialog", name="Email the transcript to Ana Ruiz")
    await expect(dialog).to_contain_text("It goes to ana@example.com")
    await dialog.get_by_role("button", name="Send transcript").click()
    await expect(dialog).to_have_count(0)
    await expect(conversation(pane)).to_contain_text("Transcript sent to ana@example.com.")
    (first,) = await inbox.wait_for(1)
    assert "Hello Ana, this is Maria." in body(first) and "STAFF NOTE" not in body(first)

    # The resident, from the menu during the chat: sent once, then "already sent".
    await widget_send(resident, "Thanks, one more thing <b>bold</b>")
    more = resident.get_by_role("button", name="More options")
    await more.click()
    item = resident.get_by_role("menuitem", name="Email me this conversation")
    await expect(item).to_be_focused()
    await resident.keyboard.press("Enter")
    status = resident.locator("chatsvc-widget .transcript-status")
    await expect(status).to_have_text(
        "Sent to a***@example.com. It may take a few minutes to arrive."
    )
    await resident.get_by_role("button", name="Email me this conversation").click()
    await expect(status).to_have_text(re.compile(r"^Already sent to a\*\*\*@example\.com\."))
    violations = await axe_violations(resident)
    assert not violations, f"transcript from the menu: {violations}"
    await shots(resident, "widget-menu-transcript")
    mails = await inbox.wait_for(2)
    assert "> Thanks, one more thing <b>bold</b>" in body(mails[1])

    # Ending asks first; then the ended screen offers a rating and the transcript.
    await resident.get_by_role("button", name="End chat").click()
    await resident.get_by_role("button", name="Yes, end chat").click()
    group = resident.get_by_role("group", name="How did we do?")
    await expect(group).to_be_visible()
    first_score = group.get_by_role("radio", name="1 of 5, very poor")
    await expect(first_score).to_be_focused()
    offer = resident.locator("chatsvc-widget .ended").get_by_role(
        "button", name="Email me this conversation"
    )
    await expect(offer).to_be_visible()
    violations = await axe_violations(resident)
    assert not violations, f"ended screen: {violations}"
    await shots(resident, "widget-ended")

    await offer.click()
    ended_status = resident.locator("chatsvc-widget .ended .transcript-status")
    await expect(ended_status).to_have_text(re.compile(r"^Sent to a\*\*\*@example\.com\."))
    mails = await inbox.wait_for(3)
    last = body(mails[2])
    assert "You ended the chat" in last or "Chat ended by the resident" in last
    assert "STAFF NOTE" not in last and "upset" not in last

    # Rated with the keyboard alone: arrows choose, the comment is optional.
    await first_score.focus()
    for _ in range(3):
        await resident.keyboard.press("ArrowRight")
    await expect(group.get_by_role("radio", name="4 of 5, good")).to_be_checked()
    await resident.get_by_label("Anything to add? (optional)").fill("<img src=x> Quick and kind")
    await resident.get_by_role("button", name="Send rating").click()
    await expect(resident.get_by_text("Thank you for your rating.")).to_be_visible()
    await expect(group).to_be_hidden()
    assert not await axe_violations(resident)
    await shots(resident, "widget-rated")
    (rating,) = await stored_rows(live_server, ConversationRating)
    assert (rating.score, rating.staff_id) == (4, maria.id)

    # A supervisor sees it in the team overview and in the ended chat, the comment as text.
    boss = await open_pane(new_context, live_server, "sue", status=None)
    await boss.get_by_role("button", name="Supervisor").click()
    table = boss.get_by_role("table", name="Residents' ratings by agent, last 30 days")
    await expect(table.get_by_role("row", name=re.compile(r"^Maria Lopez"))).to_contain_text("4.0")
    comment = boss.locator(".recent-ratings .resident-comment")
    await expect(comment).to_have_text("<img src=x> Quick and kind")
    assert await boss.locator(".recent-ratings img").count() == 0
    violations = await axe_violations(boss)
    assert not violations, f"supervisor ratings: {violations}"
    await boss.get_by_role("heading", name="Residents' ratings").scroll_into_view_if_needed()
    await shots(boss, "supervisor-ratings")
    await boss.get_by_role("button", name=f"Chat #{chat.id}").click()
    await expect(conversation(boss)).to_contain_text("4 of 5 (good) for Maria Lopez")
    await expect(conversation(boss).locator(".resident-comment")).to_have_text(
        "<img src=x> Quick and kind"
    )
    assert not await axe_violations(boss)
    await shots(boss, "supervisor-chat-rating")


async def test_a_chat_ended_by_the_agent_asks_too_and_can_be_skipped(
    new_context: NewContext, live_server: LiveServer
) -> None:
    await add_staff(live_server, "maria", "Maria Lopez")
    pane = await open_pane(new_context, live_server, "maria")
    resident = await resident_starts_chat(new_context, live_server)
    await expect(conversation(pane).get_by_role("heading", name="Ana Ruiz")).to_be_visible()
    await conversation(pane).get_by_role("button", name="Close chat…").click()
    dialog = pane.get_by_role("dialog", name="Close the chat with Ana Ruiz")
    await dialog.get_by_role("radio", name="Resolved").check()
    await dialog.get_by_role("button", name="Close chat").click()
    group = resident.get_by_role("group", name="How did we do?")
    await expect(group).to_be_visible()
    await expect(
        resident.locator("chatsvc-widget .ended").get_by_role(
            "button", name="Email me this conversation"
        )
    ).to_be_visible()
    await resident.get_by_role("button", name="Skip").click()
    await expect(group).to_be_hidden()
    await expect(resident.get_by_role("button", name="Start a new chat")).to_be_focused()
    assert await stored_rows(live_server, ConversationRating) == []


async def test_a_chat_without_an_address_asks_for_one_inline(
    new_context: NewContext, live_server: LiveServer, inbox: Inbox
) -> None:
    resident = await resident_starts_chat(new_context, live_server, "When is bulky pickup?")
    (chat,) = await stored_rows(live_server, Conversation)

    async def forget_address(session: object) -> None:
        conversation = await session.get(Conversation, chat.id)  # type: ignore[attr-defined]
        conversation.resident.email = ""

    await live_server.app[DATABASE].run(forget_address)
    await resident.get_by_role("button", name="More options").click()
    await resident.get_by_role("menuitem", name="Email me this conversation").click()
    field = resident.get_by_label("Your email address")
    await expect(field).to_be_focused()
    send = resident.get_by_role("button", name="Email me this conversation")
    await field.fill("not an address")
    await send.click()
    await expect(field).to_have_attribute("aria-invalid", "true")
    await expect(
        resident.get_by_text("Enter an email address like name@example.com.")
    ).to_be_visible()
    assert not await axe_violations(resident)
    await shots(resident, "widget-transcript-email")
    await field.fill("dana@example.com")
    await send.click()
    await expect(resident.locator("chatsvc-widget .transcript-status")).to_have_text(
        re.compile(r"^Sent to d\*\*\*@example\.com\.")
    )
    (mail,) = await inbox.wait_for(1)
    assert mail["To"] == "dana@example.com"
