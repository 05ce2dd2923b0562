"""The service's rate limits as residents and agents meet them, in Chromium, on the real server.

A `rate_limited` refusal is not an error to them: the widget says calmly how long to wait (a
countdown that screen readers hear once, not every second), keeps what was typed, and sends what
it had queued by itself once the wait is over; a limit of hours is said plainly, with the
center's phone number. Each test starts the server with small limits.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, expect

from chatsvc.db.models import AfterHoursMessage, Message
from chatsvc.settings import Rate, Settings
from chatsvc.transport.state import SIO
from tests.browser.helpers import PageErrors, axe_violations
from tests.browser.test_agent_pane_browser import (
    add_staff,
    composer,
    open_pane,
    pane_message,
    resident_starts_chat,
    status_button,
    widget_message,
)
from tests.browser.test_request_browser import PIXEL, last_assistant
from tests.browser.test_widget_browser import (
    SUNDAY_NOON,
    confirmation,
    fill_form,
    launcher,
    leave_form,
    log,
    message,
    open_widget,
    send,
    start_chat,
    stored,
)
from tests.conftest import LiveServer, stored_rows
from tests.realtime.test_uploads import open_upload

pytestmark = pytest.mark.browser

LONG_WAIT_MS = 30_000  # a wait of seconds (7.5 s here), on a loaded machine
PHONE = "(626) 744-7311"
NewContext = Callable[..., Awaitable[BrowserContext]]


def notices(page: Page) -> Any:
    """The visible limit notices of the screen shown."""
    return page.locator("chatsvc-widget .limit:not([hidden])")


def said(page: Page, index: int = 0) -> Any:
    """What the index-th limit notice of the screen says to screen readers (its live region)."""
    return page.locator("chatsvc-widget .limit-area").nth(index).locator("[aria-live='polite']")


async def socket_frames(page: Page, event: str) -> list[dict[str, Any]]:
    """Start collecting the payloads of `event` the page sends over its WebSocket."""
    frames: list[dict[str, Any]] = []

    def on_frame(payload: str | bytes) -> None:
        # Socket.IO over the WebSocket: 42/resident,<ack id>["event",{...}]
        found = re.match(rf'^42/resident,\d*(\["{event}",.*)$', str(payload))
        if found:
            frames.append(json.loads(found.group(1))[1])

    page.on("websocket", lambda ws: ws.on("framesent", on_frame))
    return frames


async def start_with(
    start_server: Callable[..., Awaitable[LiveServer]],
    make_settings: Callable[..., Settings],
    **limits: Any,
) -> LiveServer:
    return await start_server(make_settings(**limits))


# --- chat messages --------------------------------------------------------------------------------


async def test_a_flood_of_messages_waits_and_then_goes_without_retyping(
    new_context: NewContext,
    start_server: Callable[..., Awaitable[LiveServer]],
    make_settings: Callable[..., Settings],
) -> None:
    # Three messages at once, then one every 7.5 s (long enough to look at the wait).
    server = await start_with(start_server, make_settings, rate_message=Rate(3, 8))
    page = await (await new_context()).new_page()
    await page.goto(server.url + "/")
    await start_chat(page)
    for n in range(1, 5):
        await send(page, f"Message {n}")

    # The fourth is refused: a calm notice with a countdown, the message kept, waiting.
    notice = notices(page)
    await expect(notice).to_have_text(
        re.compile(r"^You're sending messages quickly\. You can send again in \d+ s\.$")
    )
    await expect(message(page, "Message 4")).to_contain_text("Waiting to send")
    await expect(message(page, "Message 4")).to_have_attribute("data-state", "pending")
    assert await notice.evaluate("n => getComputedStyle(n).color") == "rgb(27, 27, 27)"  # not red
    await expect(page.locator("chatsvc-widget .alert")).to_have_text("")

    # Send waits too: what is typed meanwhile stays in the box.
    box = page.get_by_label("Message", exact=True)
    send_button = page.get_by_role("button", name="Send", exact=True)
    await expect(send_button).to_have_attribute("aria-disabled", "true")
    await box.fill("Message 5, typed while waiting")
    await box.press("Enter")
    await expect(box).to_be_focused()
    await send_button.click(force=True)  # force: Playwright itself waits for aria-disabled
    await expect(box).to_have_value("Message 5, typed while waiting")
    await expect(message(page, "Message 5, typed while waiting")).to_have_count(0)

    # Screen readers hear the sentence once: the countdown moves, the live region does not.
    spoken = said(page)
    await expect(spoken).to_have_text(
        re.compile(r"^You're sending messages quickly\. You can send again in \d+ seconds?\.$")
    )
    first_words = await spoken.text_content()
    shown = await notice.text_content()
    await expect(notice).not_to_have_text(shown or "")  # a second later
    assert await spoken.text_content() == first_words
    assert not await axe_violations(page)

    # Once the wait is over the message goes by itself, and Send is back.
    await expect(message(page, "Message 4")).to_have_attribute(
        "data-state", "sent", timeout=LONG_WAIT_MS
    )
    await expect(send_button).not_to_have_attribute("aria-disabled", "true")
    await expect(notice).to_have_text("You can send messages again.")
    await expect(spoken).to_have_text("You can send messages again.")
    await box.press("Enter")
    await expect(box).to_have_value("")
    await expect(message(page, "Message 5, typed while waiting")).to_have_attribute(
        "data-state", "sent", timeout=LONG_WAIT_MS
    )

    # Each stored once, in order: nothing lost, nothing twice.
    texts = [m.body for m in await stored_rows(server, Message) if m.author_kind == "resident"]
    assert texts[1:] == [*(f"Message {n}" for n in range(1, 5)), "Message 5, typed while waiting"]


# --- the pre-chat form ----------------------------------------------------------------------------


async def test_a_start_refused_for_a_moment_keeps_the_form_and_waits(
    new_context: NewContext,
    start_server: Callable[..., Awaitable[LiveServer]],
    make_settings: Callable[..., Settings],
) -> None:
    # One `start` at once, then one every 7.5 s.
    server = await start_with(start_server, make_settings, rate_start=Rate(1, 8))
    page = await (await new_context()).new_page()
    starts = await socket_frames(page, "start")
    await page.goto(server.url + "/")
    await open_widget(page)
    # A name the browser takes and the server refuses: that start is counted all the same.
    await fill_form(page, "\u0001\u0002", "ana@example.com", "When is bulky item pickup?")
    start_button = page.get_by_role("button", name="Start chat")
    await start_button.click()
    await expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    await page.get_by_label("Name").fill("Ana Ruiz")
    await start_button.click()

    notice = notices(page)
    await expect(notice).to_have_text(
        re.compile(r"^You're starting chats quickly\. You can start a chat again in \d+ s\.$")
    )
    await expect(page.locator("chatsvc-widget .prechat .error[role='alert']")).to_have_text("")
    await expect(start_button).to_have_attribute("aria-disabled", "true")
    await start_button.click(force=True)  # it waits: nothing is sent
    assert len(starts) == 2, starts
    for field, value in [
        ("Name", "Ana Ruiz"),
        ("Email", "ana@example.com"),
        ("Question", "When is bulky item pickup?"),
    ]:
        await expect(page.get_by_label(field)).to_have_value(value)
    assert not await axe_violations(page)

    await expect(notice).to_have_text("You can start your chat now.", timeout=LONG_WAIT_MS)
    await expect(start_button).not_to_have_attribute("aria-disabled", "true")
    await start_button.click()
    await expect(message(page, "When is bulky item pickup?")).to_have_attribute("data-seq", "1")


# --- leaving a message ----------------------------------------------------------------------------


@pytest.fixture
def start_closed(
    start_server: Callable[..., Awaitable[LiveServer]],
    make_settings: Callable[..., Settings],
    another_database: Callable[[str], Awaitable[str]],
    tmp_path: Path,
) -> Callable[..., Awaitable[LiveServer]]:
    """Factory: the service on a Sunday at noon (closed: the widget offers the message form)."""

    async def start(**limits: Any) -> LiveServer:
        settings = make_settings(
            database_url=await another_database("closed"),
            mail_folder=tmp_path / "mail",
            business_hours="mon-fri 08:00-17:00",
            **limits,
        )
        return await start_server(settings, clock=lambda: SUNDAY_NOON)

    return start


async def leave_a_message(page: Page, text: str) -> None:
    await page.get_by_label("Name", exact=True).fill("Ana Ruiz")
    await page.get_by_label("Email", exact=True).fill("ana@example.com")
    await page.get_by_label("Message", exact=True).fill(text)
    await page.get_by_role("button", name="Send message").click()


async def test_a_message_left_too_soon_waits_seconds_and_keeps_its_client_id(
    start_closed: Callable[..., Awaitable[LiveServer]], new_context: NewContext
) -> None:
    server = await start_closed(rate_leave_message=Rate(1, 8))  # then one every 7.5 s
    page = await (await new_context()).new_page()
    sent = await socket_frames(page, "leave_message")
    await page.goto(server.url + "/")
    await launcher(page).click()
    await leave_a_message(page, "First message.")
    await expect(confirmation(page)).to_be_visible()
    await page.get_by_role("button", name="Start a new chat").click()
    await leave_a_message(page, "Second message.")

    notice = leave_form(page).locator(".limit")
    await expect(notice).to_have_text(
        re.compile(r"^You're sending messages quickly\. You can send again in \d+ s\.$")
    )
    send_button = page.get_by_role("button", name="Send message")
    await expect(send_button).to_have_attribute("aria-disabled", "true")
    await send_button.click(force=True)  # it waits: nothing is sent
    await expect(page.get_by_label("Message", exact=True)).to_have_value("Second message.")
    await expect(notice).to_have_text("You can send your message now.", timeout=LONG_WAIT_MS)
    await send_button.click()
    await expect(confirmation(page)).to_be_visible()

    # The refused attempt and the one stored are one submission: the same client_id.
    assert len(sent) == 3, sent
    assert sent[1]["client_id"] == sent[2]["client_id"] != sent[0]["client_id"]
    assert [m.body for m in await stored_rows(server, AfterHoursMessage)] == [
        "First message.",
        "Second message.",
    ]


async def test_a_daily_limit_is_said_plainly_with_the_phone_number(
    start_closed: Callable[..., Awaitable[LiveServer]], new_context: NewContext
) -> None:
    server = await start_closed(messages_per_email_per_day=1)
    page = await (await new_context()).new_page()
    await page.goto(server.url + "/")
    await launcher(page).click()
    await leave_a_message(page, "First message.")
    await expect(confirmation(page)).to_be_visible()
    await page.get_by_role("button", name="Start a new chat").click()
    await leave_a_message(page, "Second message.")

    # No chat yet: the center's number came with the hours answer.
    notice = leave_form(page).locator(".limit")
    await expect(notice).to_have_text(
        re.compile(
            r"^You have reached today's limit for messages\. You can send another tomorrow after"
            # One full stop: "p.m." ends the sentence itself (never "p.m..").
            r" (\d+(:\d\d)? [ap]\.m\.|noon\.|midnight\.)"
            rf" If it can't wait, please call us at {re.escape(PHONE)}\.$"
        )
    )
    call = notice.get_by_role("link", name=PHONE)
    await expect(call).to_have_attribute("href", "tel:+16267447311")
    await expect(said(page)).to_contain_text(f"please call us at {PHONE}.")
    # Not a countdown: nothing to wait for on this page; what was written stays.
    send_button = page.get_by_role("button", name="Send message")
    await expect(send_button).not_to_have_attribute("aria-disabled", "true")
    await expect(page.get_by_label("Message", exact=True)).to_have_value("Second message.")
    await expect(leave_form(page).locator(".error[role='alert']")).to_have_text("")
    assert not await axe_violations(page)
    assert len(await stored_rows(server, AfterHoursMessage)) == 1


# --- photos ---------------------------------------------------------------------------------------


async def test_a_photo_refused_for_a_moment_is_sent_by_itself(
    new_context: NewContext,
    start_server: Callable[..., Awaitable[LiveServer]],
    make_settings: Callable[..., Settings],
    tmp_path: Path,
    page_errors: PageErrors,
) -> None:
    # Chromium logs every HTTP error answer to a fetch; the 429 is the one this test wants.
    page_errors.allow(r"status of 429 \(Too Many Requests\)")
    server = await start_with(start_server, make_settings, uploads_at_once=1)
    page = await (await new_context()).new_page()
    await page.goto(server.url + "/")
    await start_chat(page, "There is graffiti all over the wall by my house")
    await expect(last_assistant(page)).to_contain_text("Would you like me to file")
    await page.get_by_role("button", name="File a request").click()
    await expect(log(page).locator(".msg-assistant[data-seq='4']")).to_contain_text("address")
    await send(page, "100 N Garfield Ave")
    await expect(last_assistant(page)).to_contain_text("describe")
    await send(page, "Black spray paint tags across the east wall of the building")
    photo_button = page.get_by_role("button", name=re.compile("Add a photo"))
    await expect(photo_button).to_be_visible()

    # Someone else's upload holds the only place: this one is told to wait a few seconds.
    token = await stored(page, server)
    assert token
    _, stalled = await open_upload(server, token, 10_000, b"\xff\xd8\xff")
    picture = tmp_path / "wall.png"
    picture.write_bytes(PIXEL)
    async with page.expect_file_chooser() as chooser:
        await photo_button.click()
    await (await chooser.value).set_files(str(picture))
    notice = notices(page)
    await expect(notice).to_have_text(
        re.compile(r"^You're sending photos quickly\. Your photo will be sent in \d+ s\.$")
    )
    await expect(photo_button).to_be_disabled()
    stalled.close()

    # No need to pick it again: it goes once the wait is over.
    await expect(last_assistant(page)).to_contain_text("Photo: 1 photo", timeout=LONG_WAIT_MS)
    await expect(notice).to_have_count(0)


# --- the agent pane -------------------------------------------------------------------------------


def drain(server: LiveServer, kind: str) -> None:
    """Spend every token of `kind` of every connection: its next event is rate_limited."""
    for buckets in server.app[SIO].limits._connections.values():
        if kind in buckets:
            buckets[kind].tokens = 0
            buckets[kind].updated = time.monotonic()


async def test_the_pane_shows_a_limit_in_words_and_sends_the_reply_after_it(
    new_context: NewContext,
    start_server: Callable[..., Awaitable[LiveServer]],
    make_settings: Callable[..., Settings],
) -> None:
    # The agent's events as usual, but refilled at one every 2 s once spent.
    server = await start_with(start_server, make_settings, rate_agent=Rate(200, 30))
    await add_staff(server, "maria", "Maria Lopez", workgroups=("Street Maintenance",))
    pane = await open_pane(new_context, server, "maria")
    resident = await resident_starts_chat(new_context, server)
    await expect(composer(pane)).to_be_visible()

    drain(server, "agent")
    await composer(pane).fill("One moment, please.")
    await composer(pane).press("Enter")
    waiting = pane_message(pane, "One moment, please.")
    await expect(waiting).to_contain_text("Waiting a moment to send (too many at once)…")
    await expect(widget_message(resident, "One moment, please.")).to_be_visible(
        timeout=LONG_WAIT_MS
    )
    await expect(waiting.locator(".state")).to_have_count(0)

    # Another action refused the same way reads as a sentence, not as the service's code.
    drain(server, "agent")
    await status_button(pane, "Away").click()
    await expect(
        pane.get_by_text(
            re.compile(r"Too many actions in a short time\. Try again in \d+ seconds?\.")
        )
    ).to_be_visible()
    await expect(pane.get_by_text("rate_limited")).to_have_count(0)
