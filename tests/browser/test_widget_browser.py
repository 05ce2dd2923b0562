"""The resident widget, in Chromium, on the demo city page, against the real server."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import pytest
from playwright.async_api import (
    BrowserContext,
    Dialog,
    Page,
    expect,
)
from sqlalchemy import select, text

from chatsvc.actions import conversations as actions
from chatsvc.clock import utc_now
from chatsvc.db.models import AfterHoursMessage, Conversation, OutboxMail
from chatsvc.settings import Settings
from chatsvc.transport.state import DATABASE
from tests.browser.helpers import PageErrors, axe_violations
from tests.conftest import AgentClient, LiveServer, ResidentClient, stored_rows
from tests.waiting import eventually

pytestmark = pytest.mark.browser

RECONNECT_MS = 20_000  # socket.io-client backs off up to 5 s between attempts
XSS = "<img src=x onerror=alert(1)>"
EXPIRED_NOTICE = "Your previous chat has ended. Start a new one below."


# --- helpers -------------------------------------------------------------------------------


def launcher(page: Page) -> Any:
    return page.get_by_role("button", name=re.compile(r"^Chat with us"))


def panel(page: Page) -> Any:
    return page.get_by_role("dialog", name="Chat with us")


def log(page: Page) -> Any:
    return page.get_by_role("log", name="Messages")


def message(page: Page, text: str) -> Any:
    """The message bubbles whose text is exactly `text`."""
    return page.locator("chatsvc-widget .msg").filter(
        has=page.locator(".text", has_text=re.compile(rf"^{re.escape(text)}$"))
    )


ASSISTANT_INSTEAD = "Ask our assistant instead"


async def open_widget(page: Page) -> None:
    """Open the panel (after a reload it may already be open, as the resident left it)."""
    await expect(launcher(page)).to_be_visible()
    if await launcher(page).get_attribute("aria-expanded") != "true":
        await launcher(page).click()
    await expect(panel(page)).to_be_visible()
    await choose_assistant(page)


async def choose_assistant(page: Page) -> None:
    """Go on to the pre-chat form if the widget first offers to leave a message.

    It does when nobody can chat: out of hours, or (most tests here) with no agent signed in.
    """
    prechat = page.get_by_role("heading", name="Chat With Us!")
    leave = page.get_by_role("heading", name="Leave Us A Message!")
    await expect(prechat.or_(leave).or_(log(page))).to_be_visible()
    if await leave.is_visible():
        await page.get_by_role("button", name=ASSISTANT_INSTEAD).click()
        await expect(prechat).to_be_visible()


async def fill_form(page: Page, name: str, email: str, question: str) -> None:
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Question").fill(question)


# Asking for a person hands the chat over at once: the assistant then stays quiet, so tests of
# the widget see only the messages they send and publish.
PERSON = "I'd like to talk to a person about a bulky item pickup."


async def start_chat(page: Page, question: str = PERSON) -> None:
    """Open the widget and start a chat; wait for the service's first reply."""
    await open_widget(page)
    await fill_form(page, "Ana Ruiz", "ana@example.com", question)
    await page.get_by_role("button", name="Start chat").click()
    await expect(message(page, question)).to_have_attribute("data-seq", "1")
    await expect(log(page).locator(".msg[data-seq='2']")).to_be_visible()
    await expect(page.get_by_label("Message", exact=True)).to_be_focused()


async def send(page: Page, text: str) -> None:
    composer = page.get_by_label("Message", exact=True)
    await composer.fill(text)
    await composer.press("Enter")
    await expect(composer).to_have_value("")


async def stored(page: Page, live_server: LiveServer, name: str = "token") -> str | None:
    """Read what the widget keeps in localStorage (its keys are namespaced by server origin)."""
    return await page.evaluate(
        "key => localStorage.getItem(key)", f"chatsvc:{live_server.url}:{name}"
    )


async def count_conversations(live_server: LiveServer) -> int:
    return len(await stored_rows(live_server, Conversation))


async def shadow_focus(page: Page) -> str | None:
    """Describe the element focused inside the widget (None when focus is elsewhere)."""
    return await page.evaluate(
        """() => {
            const host = document.querySelector("chatsvc-widget");
            if (document.activeElement !== host) return null;
            const el = host.shadowRoot.activeElement;
            return el ? (el.id || el.className) : null;
        }"""
    )


# --- tests ---------------------------------------------------------------------------------


async def test_empty_email_is_refused_in_the_browser(page: Page, live_server: LiveServer) -> None:
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(str(payload))))
    page.on("request", lambda r: sent.append(r.post_data or "") if r.method == "POST" else None)

    await open_widget(page)
    await expect(page.get_by_label("Name")).to_be_focused()
    await fill_form(page, "Ana Ruiz", "", "When is bulky item pickup?")
    await page.get_by_role("button", name="Start chat").click()

    email = page.get_by_label("Email")
    await expect(email).to_be_focused()
    await expect(email).to_have_attribute("aria-invalid", "true")
    await expect(email).to_have_accessible_description("Enter your email address.")
    await expect(page.get_by_text("Enter your email address.")).to_be_visible()
    await expect(page.get_by_label("Name")).not_to_have_attribute("aria-invalid", "true")

    # A bad address is refused the same way, and fixing the field clears its error.
    await email.fill("ana@example")
    await page.get_by_role("button", name="Start chat").click()
    await expect(email).to_have_accessible_description(
        "Enter an email address like name@example.com."
    )
    await email.fill("ana@example.com")
    await expect(email).not_to_have_attribute("aria-invalid", "true")

    assert not [frame for frame in sent if '"start"' in frame], sent
    assert await count_conversations(live_server) == 0
    assert await stored(page, live_server) is None


async def test_server_errors_are_shown_inline(page: Page, live_server: LiveServer) -> None:
    # Only control characters: the browser sees a name, the server strips it to nothing.
    await open_widget(page)
    await fill_form(page, "\u0001\u0002", "ana@example.com", "Hello?")
    await page.get_by_role("button", name="Start chat").click()
    name = page.get_by_label("Name")
    await expect(name).to_have_attribute("aria-invalid", "true")
    await expect(name).to_be_focused()
    await expect(name).to_have_accessible_description(re.compile(r"^Must not be empty"))
    assert await count_conversations(live_server) == 0

    await name.fill("Ana Ruiz")
    await page.get_by_role("button", name="Start chat").click()
    await expect(page.get_by_label("Message", exact=True)).to_be_focused()

    # A message the server refuses is marked failed, not retried, and the chat goes on.
    await send(page, "\u0001")
    failed = log(page).locator(".msg[data-state='failed']")
    await expect(failed).to_contain_text("Not sent: text:")
    await send(page, "Still there?")
    await expect(message(page, "Still there?")).to_have_attribute("data-state", "sent")
    assert await stored(page, live_server, "pending") is None


async def test_history_comes_back_after_a_reload(page: Page) -> None:
    # The real assistant answers here: its answers, with their buttons, come back too.
    await start_chat(page, "When is bulky item pickup?")
    answer = log(page).locator(".msg[data-seq='2']")
    await expect(answer).to_have_class(re.compile(r"\bmsg-assistant\b"))
    reply = await answer.locator(".text").text_content()
    assert reply
    await send(page, "It is a couch and two chairs.")
    sent = message(page, "It is a couch and two chairs.")
    await expect(sent).to_have_attribute("data-seq", "3")
    # Written as the service writes times to residents ("2:07 p.m.", "noon").
    await expect(sent.locator("time")).to_have_text(
        re.compile(r"^(\d{1,2}(:\d{2})? [ap]\.m\.|noon|midnight)$")
    )
    second = log(page).locator(".msg[data-seq='4']")
    await expect(second).to_have_class(re.compile(r"\bmsg-assistant\b"))
    buttons = page.get_by_role("group", name="Suggested replies").get_by_role("button")
    await expect(buttons).to_have_text(["File a request", "Talk to a person"])

    await page.reload()
    # Open as it was left, without taking the focus from the page.
    await expect(panel(page)).to_be_visible()
    assert await shadow_focus(page) is None
    await expect(message(page, "When is bulky item pickup?")).to_have_attribute("data-seq", "1")
    await expect(log(page).locator(".msg[data-seq='2'] .text")).to_have_text(reply)
    await expect(message(page, "It is a couch and two chairs.")).to_have_attribute("data-seq", "3")
    await expect(log(page).locator(".msg")).to_have_count(4)
    await expect(buttons).to_have_text(["File a request", "Talk to a person"])
    await expect(page.get_by_role("button", name="Start chat")).to_be_hidden()


async def test_markup_is_shown_as_text_and_never_run(page: Page) -> None:
    dialogs: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    await start_chat(page, f"Question {XSS}")
    await send(page, XSS)
    await expect(message(page, XSS)).to_have_attribute("data-state", "sent")
    await page.reload()
    await open_widget(page)
    await expect(message(page, XSS)).to_be_visible()
    await expect(message(page, f"Question {XSS}")).to_be_visible()

    images = await page.evaluate(
        "document.querySelector('chatsvc-widget').shadowRoot.querySelectorAll('img').length"
    )
    assert images == 0
    assert await page.locator("img").count() == 0
    assert dialogs == []


async def test_no_accessibility_violations(page: Page) -> None:
    await expect(launcher(page)).to_be_visible()
    violations = await axe_violations(page)
    assert not violations, f"closed widget on the demo page: {violations}"

    await open_widget(page)
    violations = await axe_violations(page)
    assert not violations, f"open pre-chat form: {violations}"

    await page.get_by_role("button", name="Start chat").click()
    await expect(page.get_by_label("Name")).to_have_attribute("aria-invalid", "true")
    violations = await axe_violations(page)
    assert not violations, f"form with errors: {violations}"

    await fill_form(page, "Ana Ruiz", "ana@example.com", "When is bulky item pickup?")
    await page.get_by_role("button", name="Start chat").click()
    await expect(log(page).locator(".msg[data-seq='2']")).to_be_visible()
    await send(page, "It is a couch and two chairs.\nAnd a lamp.")
    await expect(log(page).locator(".msg[data-seq='3']")).to_be_visible()
    violations = await axe_violations(page)
    assert not violations, f"active chat: {violations}"


async def test_keyboard_only(page: Page) -> None:
    # Tab through the city page until the launcher has focus, as a keyboard user would.
    for _ in range(60):
        await page.keyboard.press("Tab")
        if await shadow_focus(page) == "launcher":
            break
    else:
        pytest.fail("Tab never reached the chat launcher")
    await expect(launcher(page)).to_have_attribute("aria-expanded", "false")

    await page.keyboard.press("Enter")
    await expect(panel(page)).to_be_visible()
    await expect(launcher(page)).to_have_attribute("aria-expanded", "true")
    # Nobody is signed in to chat: the widget offers to leave a message; the resident asks the
    # City Assistant instead.
    await expect(page.get_by_role("heading", name="Leave Us A Message!")).to_be_visible()
    await expect(page.get_by_label("Name")).to_be_focused()
    for _ in range(4):  # Email, Message, Send message, then the way to the assistant
        await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name=ASSISTANT_INSTEAD)).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Chat With Us!")).to_be_visible()
    await expect(page.get_by_label("Name")).to_be_focused()
    await page.keyboard.type("Ana Ruiz")
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Email")).to_be_focused()
    await page.keyboard.type("ana@example.com")
    await page.keyboard.press("Tab")
    await page.keyboard.type("Can I talk to a person about a parking ticket?")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Start chat")).to_be_focused()
    await page.keyboard.press("Enter")

    composer = page.get_by_label("Message", exact=True)
    await expect(composer).to_be_focused()
    await expect(log(page).locator(".msg[data-seq='2']")).to_be_visible()
    await page.keyboard.type("First line")
    await page.keyboard.press("Shift+Enter")
    await page.keyboard.type("second line")
    await expect(composer).to_have_value("First line\nsecond line")
    await page.keyboard.press("Enter")
    await expect(composer).to_have_value("")
    await expect(message(page, "First line\nsecond line")).to_have_attribute("data-seq", "3")

    await page.keyboard.press("Escape")
    await expect(panel(page)).to_be_hidden()
    await expect(launcher(page)).to_have_attribute("aria-expanded", "false")
    assert await shadow_focus(page) == "launcher"

    # Enter reopens it with focus back in the composer; the offer to leave a message (nobody
    # can come) and the End chat control are reachable.
    await page.keyboard.press("Enter")
    await expect(composer).to_be_focused()
    await page.keyboard.press("Shift+Tab")
    await expect(page.get_by_role("button", name="Leave a message")).to_be_focused()
    # The center's number in the assistant's answer is a link to call it, in the tab order.
    await page.keyboard.press("Shift+Tab")
    await expect(log(page).get_by_role("link", name="(626) 744-7311")).to_be_focused()
    await page.keyboard.press("Shift+Tab")
    await expect(log(page)).to_be_focused()
    await page.keyboard.press("Shift+Tab")
    await expect(page.get_by_role("button", name="Close chat window")).to_be_focused()
    await page.keyboard.press("Shift+Tab")
    await expect(page.get_by_role("button", name="End chat")).to_be_focused()
    # It asks first, with the safe answer focused; the other is one Shift+Tab away.
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("button", name="Keep chatting")).to_be_focused()
    await page.keyboard.press("Shift+Tab")
    await expect(page.get_by_role("button", name="Yes, end chat")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("button", name="Start a new chat")).to_be_focused()
    await expect(composer).to_be_hidden()


async def test_offline_message_is_sent_once_when_back(
    context: BrowserContext,
    page: Page,
    page_errors: PageErrors,
    live_server: LiveServer,
    resident_client: Callable[..., Awaitable[ResidentClient]],
) -> None:
    # While offline the browser reports the failed reconnection attempts.
    page_errors.allow(r"ERR_INTERNET_DISCONNECTED|WebSocket connection to .* failed")
    await start_chat(page)
    status = page.get_by_role("status")

    await context.set_offline(True)
    await expect(status).to_have_text("Reconnecting…")
    await send(page, "Sent while offline")
    pending = message(page, "Sent while offline")
    await expect(pending).to_have_attribute("data-state", "pending")
    await expect(pending).to_contain_text("Waiting for connection")
    outbox = json.loads(await stored(page, live_server, "pending") or "[]")
    assert [entry["text"] for entry in outbox] == ["Sent while offline"]

    await context.set_offline(False)
    await expect(pending).to_have_attribute("data-state", "sent", timeout=RECONNECT_MS)
    await expect(pending).to_have_attribute("data-seq", "3")
    await expect(pending.locator(".state")).to_have_count(0)
    await expect(status).to_have_text("Connected")

    token = await stored(page, live_server)
    resident = await resident_client()
    ack = await resident.call("resume", {"token": token, "last_seq": 0})
    assert ack["ok"], ack
    texts = [m["text"] for m in ack["messages"]]
    assert texts.count("Sent while offline") == 1, texts


async def test_pending_messages_survive_a_reload(
    context: BrowserContext,
    page: Page,
    page_errors: PageErrors,
    live_server: LiveServer,
    resident_client: Callable[..., Awaitable[ResidentClient]],
) -> None:
    page_errors.allow(r"ERR_INTERNET_DISCONNECTED|WebSocket connection to .* failed")
    await start_chat(page)
    await context.set_offline(True)
    await expect(page.get_by_role("status")).to_have_text("Reconnecting…")
    await send(page, "Typed offline, then the page reloaded")
    await context.set_offline(False)
    # Reload at once: the message may or may not have gone out; either way it is stored once.
    await page.reload()
    await open_widget(page)
    await expect(message(page, "Typed offline, then the page reloaded")).to_have_attribute(
        "data-state", "sent", timeout=RECONNECT_MS
    )
    ack = await (await resident_client()).call(
        "resume", {"token": await stored(page, live_server), "last_seq": 0}
    )
    texts = [m["text"] for m in ack["messages"]]
    assert texts.count("Typed offline, then the page reloaded") == 1, texts


@pytest.mark.parametrize("token", ["bogus", "x" * 43], ids=["malformed", "unknown"])
async def test_a_dead_token_leads_to_a_new_chat(
    context: BrowserContext, live_server: LiveServer, token: str
) -> None:
    key = f"chatsvc:{live_server.url}:token"
    pending = [{"client_id": "c0ffee00-1", "text": "Lost words", "created_at": ""}]
    await context.add_init_script(
        f"if (location.origin === {json.dumps(live_server.url)}) {{"
        f" localStorage.setItem({json.dumps(key)}, {json.dumps(token)});"
        f" localStorage.setItem({json.dumps(key.replace(':token', ':pending'))},"
        f" {json.dumps(json.dumps(pending))}); }}"
    )
    page = await context.new_page()
    await page.goto(live_server.url + "/")
    # The widget resumes at once on load, learns the token is dead and forgets it.
    await page.wait_for_function("key => localStorage.getItem(key) === null", arg=key)
    await open_widget(page)
    await expect(page.get_by_text(EXPIRED_NOTICE)).to_be_visible()
    await expect(page.get_by_label("Name")).to_be_focused()
    # What the resident had typed for the dead chat is offered as the new question.
    await expect(page.get_by_label("Question")).to_have_value("Lost words")
    await expect(log(page).locator(".msg")).to_have_count(0)


async def test_end_chat_and_start_a_new_one(page: Page, live_server: LiveServer) -> None:
    await start_chat(page)
    first_token = await stored(page, live_server)
    await page.get_by_role("button", name="End chat").click()
    await page.get_by_role("button", name="Yes, end chat").click()
    await expect(page.get_by_text("Chat ended", exact=True)).to_be_visible()
    await expect(page.get_by_label("Message", exact=True)).to_be_hidden()
    await expect(page.get_by_role("button", name="End chat")).to_be_hidden()

    # A shared computer: the ended chat is forgotten on this browser once it is shown ended.
    assert await stored(page, live_server) is None
    await page.get_by_role("button", name="Start a new chat").click()
    await choose_assistant(page)
    await expect(page.get_by_role("button", name="Start chat")).to_be_visible()
    await expect(page.get_by_label("Name")).to_have_value("")
    await expect(page.get_by_label("Email")).to_have_value("")
    # Nor does a reload bring it back.
    await page.reload()
    await open_widget(page)
    await expect(page.get_by_text("Chat ended", exact=True)).to_be_hidden()
    await expect(page.get_by_label("Name")).to_have_value("")
    await page.get_by_label("Name").fill("Bo Chen")
    await page.get_by_label("Email").fill("bo@example.com")
    await page.get_by_label("Question").fill("Another question")
    await page.get_by_role("button", name="Start chat").click()
    await expect(message(page, "Another question")).to_have_attribute("data-seq", "1")
    assert await stored(page, live_server) not in (None, first_token)
    assert await count_conversations(live_server) == 2


async def test_an_agent_joins_replies_types_reads_and_closes(
    page: Page, agent_client: Callable[..., Awaitable[AgentClient]]
) -> None:
    """A real agent on /agent: the widget shows who joined, their typing, replies, read, close."""
    maria = await agent_client("maria", display_name="Maria Lopez")
    await start_chat(page)
    chat = (await maria.next("assigned"))["conversation"]
    cid = chat["id"]
    await expect(message(page, "Maria joined the chat.")).to_be_visible()

    await maria.ok("typing", {"conversation_id": cid, "typing": True})
    typing = page.get_by_text("Maria is typing…")
    await expect(typing).to_be_visible()
    await maria.ok("read", {"conversation_id": cid, "seq": 1})
    await expect(message(page, PERSON)).to_contain_text("Seen")

    await maria.ok(
        "message",
        {"conversation_id": cid, "client_id": "maria-0001", "text": "Hi Ana, I can help."},
    )
    reply = message(page, "Hi Ana, I can help.")
    await expect(reply).to_have_class(re.compile(r"\bmsg-agent\b"))
    await expect(reply.locator(".author")).to_have_text("Maria")
    await expect(typing).to_be_hidden()

    # Closed panel: the reply counts as unread on the launcher; opening reads it.
    await page.keyboard.press("Escape")
    await maria.ok(
        "message",
        {"conversation_id": cid, "client_id": "maria-0002", "text": "Are you still there?"},
    )
    await expect(launcher(page)).to_have_accessible_name(re.compile(r"1 new message"))
    await open_widget(page)
    await expect(page.locator("chatsvc-widget .badge")).to_be_hidden()

    await maria.ok("close", {"conversation_id": cid, "disposition": "resolved"})
    await expect(log(page).locator(".msg-system").last).to_contain_text("Chat ended by Maria")
    # A chat with a person: "How did we do?" has focus first; skipped, "Start a new chat".
    await expect(page.get_by_role("radio", name="1 of 5, very poor")).to_be_focused()
    await page.get_by_role("button", name="Skip").click()
    await expect(page.get_by_role("button", name="Start a new chat")).to_be_focused()


async def test_the_resident_sees_their_place_in_line_then_who_joined(
    page: Page,
    resident_client: Callable[..., Awaitable[ResidentClient]],
    agent_client: Callable[..., Awaitable[AgentClient]],
) -> None:
    maria = await agent_client("maria", display_name="Maria Lopez", max_chats=1)
    first = await resident_client()
    await first.start(name="First")
    busy = (await maria.next("assigned"))["conversation"]["id"]

    await start_chat(page)
    wait = page.locator("chatsvc-widget .wait")
    await expect(wait).to_have_text(
        re.compile(r"^You are next in line\. Estimated wait: about \d+ minutes?\.$")
    )
    assert await wait.get_attribute("aria-live") == "polite"
    # A reload keeps the place in line (it comes back with the resume).
    await page.reload()
    await open_widget(page)
    await expect(wait).to_have_text(re.compile(r"^You are next in line\."))

    await maria.ok("close", {"conversation_id": busy, "disposition": "resolved"})
    await expect(message(page, "Maria joined the chat.")).to_be_visible()
    await expect(wait).to_be_hidden()


async def _only_conversation_id(live_server: LiveServer) -> int:
    (only,) = await stored_rows(live_server, Conversation)
    return int(only.id)


async def test_narrow_screens_get_a_full_screen_panel(
    new_context: Callable[..., Awaitable[BrowserContext]], live_server: LiveServer
) -> None:
    # Reduced motion: the panel must then appear in place, with no slide-in to wait for.
    context = await new_context(viewport={"width": 375, "height": 667}, reduced_motion="reduce")
    page = await context.new_page()
    await page.goto(live_server.url + "/")
    await open_widget(page)
    box = await panel(page).bounding_box()
    assert box is not None
    assert [round(box[k]) for k in ("x", "y", "width", "height")] == [0, 0, 375, 667], box
    violations = await axe_violations(page)
    assert not violations, f"open form on a phone: {violations}"


@pytest.mark.parametrize(
    ("accent", "background", "on_accent"),
    [
        ("#ffd700", "rgb(255, 215, 0)", "rgb(0, 0, 0)"),
        ("#777", "rgb(119, 119, 119)", "rgb(0, 0, 0)"),
        ("not a colour", "rgb(0, 85, 140)", "rgb(255, 255, 255)"),  # the default
    ],
)
async def test_any_accent_colour_keeps_contrast(
    context: BrowserContext, live_server: LiveServer, accent: str, background: str, on_accent: str
) -> None:
    """Text on the city's accent is black or white, whichever keeps AA contrast."""
    # The city sets its own colour: change the tag's attribute as the parser inserts it (the
    # deferred script runs only after parsing ends).
    await context.add_init_script(
        "new MutationObserver((records, observer) => {"
        "  const tag = document.querySelector('script[data-accent]');"
        f"  if (tag) {{ tag.dataset.accent = {json.dumps(accent)}; observer.disconnect(); }}"
        "}).observe(document, {childList: true, subtree: true});"
    )
    page = await context.new_page()
    await page.goto(live_server.url + "/")
    await expect(launcher(page)).to_have_css("background-color", background)
    await expect(launcher(page)).to_have_css("color", on_accent)
    await start_chat(page)
    violations = await axe_violations(page)
    assert not violations, f"active chat with accent {accent}: {violations}"


async def test_typing_and_read_receipts_reach_the_other_tab(
    page: Page,
    live_server: LiveServer,
    resident_client: Callable[..., Awaitable[ResidentClient]],
) -> None:
    """The widget emits typing (then stops) and read receipts; another tab's message shows up."""
    await start_chat(page)
    other_tab = await resident_client()
    ack = await other_tab.call("resume", {"token": await stored(page, live_server)})
    assert ack["ok"], ack
    cid = ack["conversation"]["id"]

    await page.get_by_label("Message", exact=True).press_sequentially("A cou")
    assert (await other_tab.next("typing"))["typing"] is True
    typing = await other_tab.next("typing")  # 3 s after the last keystroke
    while typing["typing"]:  # a repeat while typing went on
        typing = await other_tab.next("typing")
    assert typing == {
        "conversation_id": cid,
        "author_kind": "resident",
        "author_name": "Ana Ruiz",
        "typing": False,
    }

    ack = await other_tab.call("message", {"client_id": "other-tab-0001", "text": "From my phone"})
    assert ack["ok"], ack
    await expect(message(page, "From my phone").locator(".author")).to_have_text("You")
    # The panel is open and visible: the widget reports it has read up to the new message.
    read = await other_tab.next("read")
    while read["seq"] < ack["message"]["seq"]:
        read = await other_tab.next("read")
    assert read == {"conversation_id": cid, "reader": "resident", "seq": ack["message"]["seq"]}


# --- the assistant: Markdown and quick replies ---------------------------------------------

ASSISTANT_MARKDOWN = (
    "Bulky item pickup is **free** twice a year.\n"
    "Before you book, have ready:\n"
    "\n"
    "- the address\n"
    "- up to **5** items\n"
    "\n"
    "1. Book online\n"
    "2. Put the items out\n"
    "\n"
    "Book at [the city site](https://example.org/bulky?day=1&items=5)"
    " or call [311](tel:+16265550100).\n"
    f"Not links: [click me](javascript:alert(1)) and {XSS}"
)


async def publish_assistant(
    live_server: LiveServer,
    conversation_id: int,
    text_: str,
    quick_replies: list[dict[str, str]] | None = None,
    author_kind: Literal["assistant", "agent"] = "assistant",
) -> int:
    """Store a message as the assistant (or an agent) does; its commit publishes it. Its seq."""
    name = "City Assistant" if author_kind == "assistant" else "Maria"
    sent = await live_server.app[DATABASE].run(
        actions.send_message,
        actions.Draft(
            conversation_id,
            author_kind,
            name,
            text_,
            None,
            utc_now(),
            format="markdown" if author_kind == "assistant" else "text",
            quick_replies=tuple((r["label"], r["text"]) for r in quick_replies or []),
        ),
    )
    return sent.message.seq


async def stored_messages(
    live_server: LiveServer, conversation_id: int
) -> list[tuple[int, str, str, str | None]]:
    """(seq, author_kind, text, client_id) of each stored message, in order."""
    async with live_server.app[DATABASE].engine.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT seq, author_kind, body, client_id FROM messages"
                " WHERE conversation_id = :id ORDER BY seq"
            ),
            {"id": conversation_id},
        )
        return [(r.seq, r.author_kind, r.body, r.client_id) for r in rows]


def suggested_replies(page: Page) -> Any:
    return page.get_by_role("group", name="Suggested replies")


async def test_assistant_markdown_is_rendered_safely(page: Page, live_server: LiveServer) -> None:
    dialogs: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    await start_chat(page)
    seq = await publish_assistant(
        live_server, await _only_conversation_id(live_server), ASSISTANT_MARKDOWN
    )

    bubble = log(page).locator(f".msg[data-seq='{seq}']")
    await expect(bubble).to_have_class(re.compile(r"\bmsg-assistant\b"))
    await expect(bubble.locator(".author")).to_have_text("City Assistant")
    body = bubble.locator(".text")
    await expect(body.locator("ul > li")).to_have_text(["the address", "up to 5 items"])
    await expect(body.locator("ol > li")).to_have_text(["Book online", "Put the items out"])
    await expect(body.locator("strong")).to_have_text(["free", "5"])
    # Line breaks inside a paragraph, in the first and the last one.
    await expect(body.locator("p br")).to_have_count(2)

    links = body.get_by_role("link")
    await expect(links).to_have_text(["the city site", "311"])
    site = links.first
    await expect(site).to_have_attribute("href", "https://example.org/bulky?day=1&items=5")
    await expect(site).to_have_attribute("target", "_blank")
    await expect(site).to_have_attribute("rel", "noopener noreferrer")
    await expect(links.last).to_have_attribute("href", "tel:+16265550100")
    # The javascript: link and the markup stay the text they were written as.
    await expect(body).to_contain_text(f"Not links: [click me](javascript:alert(1)) and {XSS}")
    hrefs = await bubble.locator("a").evaluate_all("links => links.map((a) => a.href)")
    assert hrefs == ["https://example.org/bulky?day=1&items=5", "tel:+16265550100"], hrefs

    images = await page.evaluate(
        "document.querySelector('chatsvc-widget').shadowRoot.querySelectorAll('img').length"
    )
    assert images == 0
    assert dialogs == []


async def test_phone_numbers_the_city_writes_are_tap_to_call(
    page: Page, live_server: LiveServer
) -> None:
    """Numbers in the assistant's answers, an agent's and a notice are tel: links; a number the
    resident typed stays text."""
    await start_chat(page)
    await send(page, "My neighbour says call 626-555-0100")
    conversation_id = await _only_conversation_id(live_server)
    answer = await publish_assistant(
        live_server, conversation_id, "Call **(626) 744-7311** or 1-800-799-7233 at night."
    )
    agent = await publish_assistant(
        live_server, conversation_id, "Water and Power: 626-744-4005.", author_kind="agent"
    )
    notice = await live_server.app[DATABASE].run(
        actions.send_message,
        actions.Draft(
            conversation_id, "system", None, "We are closed. Call (626) 744-7311.", None, utc_now()
        ),
    )
    calls = {
        answer: [("(626) 744-7311", "tel:+16267447311"), ("1-800-799-7233", "tel:+18007997233")],
        agent: [("626-744-4005", "tel:+16267444005")],
        notice.message.seq: [("(626) 744-7311", "tel:+16267447311")],
    }
    for seq, expected in calls.items():
        links = log(page).locator(f".msg[data-seq='{seq}'] a")
        await expect(links).to_have_text([text_ for text_, _ in expected])
        hrefs = await links.evaluate_all("links => links.map((a) => [a.href, a.target])")
        assert hrefs == [[href, ""] for _, href in expected], hrefs
    await expect(message(page, "My neighbour says call 626-555-0100").locator("a")).to_have_count(0)


async def test_quick_replies_are_sent_like_typed_messages(
    page: Page, live_server: LiveServer
) -> None:
    await start_chat(page)
    conversation_id = await _only_conversation_id(live_server)
    composer = page.get_by_label("Message", exact=True)
    group = suggested_replies(page)

    seq = await publish_assistant(
        live_server,
        conversation_id,
        "What would you like to do?",
        [
            {"label": "Book a pickup", "text": "I want to book a bulky item pickup."},
            {"label": "Talk to a person", "text": "I would like to talk to a person."},
        ],
    )
    await expect(group.get_by_role("button")).to_have_text(["Book a pickup", "Talk to a person"])
    # Right below the message that offers them.
    await expect(log(page).locator(f".msg[data-seq='{seq}'] + .quick-replies")).to_be_visible()

    await group.get_by_role("button", name="Book a pickup").click()
    await expect(group).to_have_count(0)
    sent = message(page, "I want to book a bulky item pickup.")
    await expect(sent).to_have_class(re.compile(r"\bmsg-resident\b"))
    await expect(sent).to_have_attribute("data-state", "sent")
    await expect(sent).to_have_attribute("data-seq", str(seq + 1))
    await expect(composer).to_be_focused()
    (stored_seq, kind, body, client_id) = (await stored_messages(live_server, conversation_id))[-1]
    assert (stored_seq, kind, body) == (seq + 1, "resident", "I want to book a bulky item pickup.")
    assert client_id  # sent through the outbox, like a typed message

    # Keyboard: the buttons come right before the composer in tab order; Enter and Space work.
    for key, label, reply in [("Enter", "Yes", "Yes, please."), ("Space", "No", "No, thanks.")]:
        seq = await publish_assistant(
            live_server,
            conversation_id,
            "Anything else?",
            [{"label": "Yes", "text": "Yes, please."}, {"label": "No", "text": "No, thanks."}],
        )
        await expect(group).to_be_visible()
        await page.keyboard.press("Shift+Tab")
        await expect(group.get_by_role("button", name="No")).to_be_focused()
        if label == "Yes":
            await page.keyboard.press("Shift+Tab")
        button = group.get_by_role("button", name=label)
        await expect(button).to_be_focused()
        await expect(button).to_have_css("outline-style", "solid")  # a visible focus ring
        await page.keyboard.press(key)
        await expect(group).to_have_count(0)
        await expect(message(page, reply)).to_have_attribute("data-seq", str(seq + 1))
        await expect(composer).to_be_focused()
    texts = [m[2] for m in await stored_messages(live_server, conversation_id)]
    assert texts[-3:] == ["Yes, please.", "Anything else?", "No, thanks."], texts

    # Any newer message takes them away, and only the newest message offers any.
    await publish_assistant(
        live_server, conversation_id, "Pick one", [{"label": "Later", "text": "Later."}]
    )
    await expect(group.get_by_role("button")).to_have_text(["Later"])
    await publish_assistant(live_server, conversation_id, "Hi, Maria here.", author_kind="agent")
    await expect(message(page, "Hi, Maria here.")).to_be_visible()
    await expect(group).to_have_count(0)


async def test_no_accessibility_violations_with_the_assistant(
    page: Page, live_server: LiveServer
) -> None:
    await start_chat(page)
    long_label = "I would like to talk to a person about my bulky item pickup, please"
    await publish_assistant(
        live_server,
        await _only_conversation_id(live_server),
        ASSISTANT_MARKDOWN,
        [
            {"label": "Book a pickup", "text": "Book a pickup"},
            {"label": long_label, "text": "Talk to a person"},
        ],
    )
    group = suggested_replies(page)
    await expect(group.get_by_role("button")).to_have_count(2)
    violations = await axe_violations(page)
    assert not violations, f"Markdown and quick replies: {violations}"

    # On a phone the buttons wrap and stay inside the screen.
    await page.set_viewport_size({"width": 320, "height": 640})
    long_button = group.get_by_role("button", name=long_label)
    await long_button.scroll_into_view_if_needed()
    for box in [await b.bounding_box() for b in await group.get_by_role("button").all()]:
        assert box is not None
        assert box["x"] >= 0 and box["x"] + box["width"] <= 320, box
        assert box["height"] >= 44, box
    long_box = await long_button.bounding_box()
    assert long_box is not None and long_box["height"] > 60, long_box  # wrapped onto lines
    violations = await axe_violations(page)
    assert not violations, f"Markdown and quick replies on a phone: {violations}"


# --- after hours: "Leave Us A Message!" ------------------------------------------------------

SUNDAY_NOON = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)  # noon in Pasadena: the center is closed
UNAVAILABLE = (
    "Agents are unavailable right now. Please leave a message and we will respond by next"
    " business day."
)
NEXT_OPENING = "We open again Monday, November 30 at 8 a.m."
REPLY_DUE = "Monday, November 30 at 5 p.m."
REFERENCE = re.compile(r"^M-[0-9A-Z]{6}$")


@pytest.fixture
def start_closed(
    start_server: Callable[..., Awaitable[LiveServer]],
    make_settings: Callable[..., Settings],
    another_database: Callable[[str], Awaitable[str]],
    tmp_path: Path,
) -> Callable[..., Awaitable[LiveServer]]:
    """Factory: the service on a Sunday at noon, with its own database, writing mail to a folder."""

    async def start(**overrides: Any) -> LiveServer:
        values: dict[str, Any] = {
            "database_url": await another_database("closed"),
            "mail_folder": tmp_path / "mail",
            "business_hours": "mon-fri 08:00-17:00",
        }
        settings = make_settings(**{**values, **overrides})
        return await start_server(settings, clock=lambda: SUNDAY_NOON)

    return start


@pytest.fixture
async def closed_server(start_closed: Callable[..., Awaitable[LiveServer]]) -> LiveServer:
    return await start_closed()


@pytest.fixture
def page_on(context: BrowserContext) -> Callable[[LiveServer], Awaitable[Page]]:
    """Factory: a tab on the demo city page of a given server."""

    async def open_page(server: LiveServer) -> Page:
        page = await context.new_page()
        await page.goto(server.url + "/")
        return page

    return open_page


def leave_form(page: Page) -> Any:
    return page.get_by_role("form", name="Leave Us A Message!")


def confirmation(page: Page) -> Any:
    return page.get_by_role("region", name=re.compile(r"^Thank you, "))


async def left_messages(server: LiveServer) -> list[Any]:
    async with server.app[DATABASE].engine.connect() as conn:
        rows = await conn.execute(
            select(
                AfterHoursMessage.reference,
                AfterHoursMessage.name,
                AfterHoursMessage.email,
                AfterHoursMessage.body,
                AfterHoursMessage.status,
                AfterHoursMessage.conversation_id,
            ).order_by(AfterHoursMessage.id)
        )
        return list(rows)


async def queued_mail(server: LiveServer) -> list[Any]:
    async with server.app[DATABASE].engine.connect() as conn:
        rows = await conn.execute(select(OutboxMail.to_address, OutboxMail.subject))
        return list(rows)


async def mail_files(folder: Path, count: int) -> list[str]:
    """Wait until the mail sender has written `count` .eml files; return their text."""

    def read() -> list[str]:
        files = sorted(folder.glob("*.eml")) if folder.is_dir() else []
        return [f.read_text(encoding="utf-8", errors="replace") for f in files]

    return await eventually(
        lambda: asyncio.to_thread(read),
        lambda texts: len(texts) >= count,
        every=0.1,
        what=f"{count} .eml file(s) in {folder}",
    )


async def until(check: Callable[[], bool]) -> None:
    """Wait until `check()` holds (fails after the browser's usual wait)."""
    await eventually(check, every=0.1)


async def reference_shown(page: Page) -> str:
    reference = await confirmation(page).locator("strong").text_content()
    assert reference and REFERENCE.match(reference), reference
    return reference


async def test_a_closed_center_takes_a_message(
    closed_server: LiveServer, page_on: Callable[[LiveServer], Awaitable[Page]], tmp_path: Path
) -> None:
    page = await page_on(closed_server)
    sent: list[str] = []
    page.on("websocket", lambda ws: ws.on("framesent", lambda payload: sent.append(str(payload))))

    await launcher(page).click()
    form = leave_form(page)
    await expect(form).to_contain_text(UNAVAILABLE)
    await expect(form).to_contain_text(
        re.compile(r"Our hours: Monday to Friday, 8 a\.m\. to 5 p\.m\.")
    )
    await expect(form.get_by_text(re.compile("^We open again"))).to_have_text(NEXT_OPENING)
    await expect(page.get_by_role("button", name=ASSISTANT_INSTEAD)).to_be_visible()
    name, email, text_ = (page.get_by_label(f, exact=True) for f in ("Name", "Email", "Message"))
    await expect(name).to_be_focused()

    # Nothing filled in: every field says what is missing, and focus goes to the first.
    await page.get_by_role("button", name="Send message").click()
    for field, error in [
        (name, "Enter your name."),
        (email, "Enter your email address."),
        (text_, "Enter your message."),
    ]:
        await expect(field).to_have_attribute("aria-invalid", "true")
        await expect(field).to_have_accessible_description(error)
    await expect(name).to_be_focused()

    await name.fill("Ana Ruiz")
    await expect(name).not_to_have_attribute("aria-invalid", "true")
    await email.fill("ana@example")
    await text_.fill("My bulky item pickup was missed on Friday.")
    await page.get_by_role("button", name="Send message").click()
    await expect(email).to_be_focused()
    await expect(email).to_have_accessible_description(
        "Enter an email address like name@example.com."
    )
    assert not [frame for frame in sent if '"leave_message"' in frame], sent

    # Only control characters: the browser sees a name, the server refuses it, under the field.
    await email.fill("ana@example.com")
    await name.fill("\u0001\u0002")
    await page.get_by_role("button", name="Send message").click()
    await expect(name).to_have_attribute("aria-invalid", "true")
    await expect(name).to_be_focused()
    await expect(name).to_have_accessible_description(re.compile(r"^Must not be empty"))
    assert await left_messages(closed_server) == []

    await name.fill("Ana Ruiz")
    await page.get_by_role("button", name="Send message").click()
    heading = page.get_by_role("heading", name="Thank you, Ana Ruiz. We received your message.")
    await expect(heading).to_be_focused()
    done = confirmation(page)
    await expect(done).to_contain_text(re.compile(r"Your reference number is M-[0-9A-Z]{6}\."))
    # The time's period ends the sentence: no "5 p.m.." (issue 16).
    await expect(done).to_contain_text(f"We will reply to ana@example.com by {REPLY_DUE}")
    await expect(done).not_to_contain_text("p.m..")
    reference = await reference_shown(page)
    await expect(page.locator("chatsvc-widget [aria-live='polite']").last).to_have_text(
        f"Message sent. Reference {reference}. Reply by {REPLY_DUE}"
    )

    # Stored once, acknowledged by mail.
    (row,) = await left_messages(closed_server)
    assert tuple(row) == (
        reference,
        "Ana Ruiz",
        "ana@example.com",
        "My bulky item pickup was missed on Friday.",
        "new",
        None,
    )
    assert len([frame for frame in sent if '"leave_message"' in frame]) == 2, sent
    mail = await queued_mail(closed_server)
    assert [m.to_address for m in mail] == ["ana@example.com"]
    assert reference in mail[0].subject
    (eml,) = await mail_files(tmp_path / "mail", 1)
    assert reference in eml and "ana@example.com" in eml

    # Closed and opened again, the confirmation is still there; a new start keeps the details.
    await page.get_by_role("button", name="Close", exact=True).click()
    await expect(panel(page)).to_be_hidden()
    await launcher(page).click()
    await expect(heading).to_be_focused()
    await page.get_by_role("button", name="Start a new chat").click()
    await expect(form).to_be_visible()
    await expect(name).to_have_value("Ana Ruiz")
    await expect(email).to_have_value("ana@example.com")
    await expect(text_).to_have_value("")
    await expect(text_).to_be_focused()


async def test_after_hours_a_person_is_offered_as_a_message(
    closed_server: LiveServer, page_on: Callable[[LiveServer], Awaitable[Page]]
) -> None:
    page = await page_on(closed_server)
    # The City Assistant still answers after hours: the widget offers it next to the form.
    await open_widget(page)
    await fill_form(page, "Ana Ruiz", "ana@example.com", "When is bulky item pickup?")
    await page.get_by_role("button", name="Start chat").click()
    answer = log(page).locator(".msg[data-seq='2']")
    await expect(answer).to_have_class(re.compile(r"\bmsg-assistant\b"))
    offer = log(page).locator(".offer")
    await expect(offer).to_have_count(0)

    # Nobody can come: the assistant says so and the widget offers the form instead.
    await send(page, PERSON)
    await expect(offer).to_contain_text(UNAVAILABLE)
    # Right after the answer to that message, and still there after a reload.
    after_answer = log(page).locator(".msg[data-seq='4'] + .offer")
    await expect(after_answer).to_be_visible()
    await page.reload()
    await open_widget(page)
    await expect(after_answer).to_contain_text(UNAVAILABLE)
    leave = page.get_by_role("button", name="Leave a message")
    await leave.click()
    form = leave_form(page)
    await expect(form).to_contain_text(NEXT_OPENING)
    await expect(page.get_by_label("Name", exact=True)).to_have_value("Ana Ruiz")
    await expect(page.get_by_label("Email", exact=True)).to_have_value("ana@example.com")
    text_ = page.get_by_label("Message", exact=True)
    written = f"When is bulky item pickup?\n\n{PERSON}"
    await expect(text_).to_have_value(written)
    await expect(text_).to_be_focused()

    # Back to the chat and again: what was typed in the form stays.
    await text_.fill(f"{written}\nIt was missed on Friday.")
    await page.get_by_role("button", name="Back to the chat").click()
    await expect(leave).to_be_focused()
    await leave.press("Enter")
    await expect(text_).to_have_value(f"{written}\nIt was missed on Friday.")

    await page.get_by_role("button", name="Send message").click()
    heading = page.get_by_role("heading", name="Thank you, Ana Ruiz. We received your message.")
    await expect(heading).to_be_focused()
    await expect(confirmation(page)).to_contain_text(
        f"We will reply to ana@example.com by {REPLY_DUE}"
    )
    await expect(confirmation(page)).not_to_contain_text("p.m..")
    reference = await reference_shown(page)

    # The chat was ended with a note of the reference; the confirmation stays on screen.
    async with closed_server.app[DATABASE].engine.connect() as conn:
        (conversation_id, status) = (
            await conn.execute(select(Conversation.id, Conversation.status))
        ).one()
    assert status == "ended"
    (row,) = await left_messages(closed_server)
    assert (row.reference, row.body, row.conversation_id) == (
        reference,
        f"{written}\nIt was missed on Friday.",
        conversation_id,
    )
    notes = [m for m in await stored_messages(closed_server, conversation_id) if m[1] == "system"]
    assert reference in notes[-1][2], notes
    await expect(heading).to_be_visible()

    # Reloaded, the ended chat shows that note, and the offer is gone.
    await page.reload()
    await open_widget(page)
    await expect(log(page).locator(".msg-system").last).to_contain_text(reference)
    # Open as it was left; focus stays with the page until the resident moves it.
    await expect(page.get_by_role("button", name="Start a new chat")).to_be_visible()
    await expect(leave).to_have_count(0)


async def send_message_in_view(page: Page) -> None:
    """The message form's Send button is on screen without scrolling, none of it cut off."""
    button = page.get_by_role("button", name="Send message")
    await expect(button).to_be_in_viewport(ratio=1)
    scrolled = await leave_form(page).evaluate("form => form.scrollTop")
    assert scrolled == 0


@pytest.mark.parametrize("size", [(1366, 768), (390, 844)])
async def test_after_hours_one_offer_and_the_form_fits_with_send_in_view(
    closed_server: LiveServer, context: BrowserContext, size: tuple[int, int]
) -> None:
    """Send was below the fold of the desktop panel; the assistant said "**leave us a
    message**" in bold, not a button, above a box that offered it again."""
    page = await context.new_page()
    await page.set_viewport_size({"width": size[0], "height": size[1]})
    await page.goto(closed_server.url + "/")
    await launcher(page).click()
    await expect(leave_form(page)).to_be_visible()
    await send_message_in_view(page)
    if size == (1366, 768):
        # The whole form fits the panel: nothing to scroll to.
        fits = await leave_form(page).evaluate("form => form.scrollHeight <= form.clientHeight")
        assert fits

    await page.get_by_role("button", name=ASSISTANT_INSTEAD).click()
    await fill_form(page, "Ana Ruiz", "ana@example.com", "When is bulky item pickup?")
    await page.get_by_role("button", name="Start chat").click()
    await expect(log(page).locator(".msg[data-seq='2']")).to_be_visible()
    await send(page, PERSON)
    answer = log(page).locator(".msg[data-seq='4']")
    await expect(answer).to_contain_text("nobody can join this chat")
    # One offer: the box under the answer, with its button; the answer does not repeat it.
    await expect(answer.locator("strong")).to_have_count(0)
    await expect(answer).not_to_contain_text("leave us a message")
    offer = page.get_by_role("button", name="Leave a message")
    await expect(offer).to_have_count(1)
    await expect(offer).to_be_in_viewport(ratio=1)
    await offer.click()
    await expect(page.get_by_label("Message", exact=True)).to_be_focused()
    await send_message_in_view(page)
    assert await axe_violations(page) == []


async def test_the_message_form_is_accessible_and_hides_its_honeypot(
    closed_server: LiveServer, page_on: Callable[[LiveServer], Awaitable[Page]]
) -> None:
    page = await page_on(closed_server)
    await launcher(page).click()
    await expect(leave_form(page)).to_be_visible()
    violations = await axe_violations(page)
    assert not violations, f"closed, the message form: {violations}"

    # The honeypot is in the form, but not in the accessibility tree nor in the tab order.
    honeypot = page.locator("chatsvc-widget input[name='website']")
    await expect(honeypot).to_have_count(1)
    for attribute, value in [("tabindex", "-1"), ("aria-hidden", "true"), ("autocomplete", "off")]:
        await expect(honeypot).to_have_attribute(attribute, value)
    await expect(panel(page).get_by_role("textbox")).to_have_count(3)
    tree = await panel(page).aria_snapshot()
    assert "Website" not in tree and "website" not in tree, tree
    focused = []
    for _ in range(12):
        await page.keyboard.press("Tab")
        focused.append(await shadow_focus(page))
    assert "csc-lm-website" not in focused, focused
    assert focused[:4] == ["csc-lm-email", "csc-lm-message", "primary", "secondary"], focused

    await page.get_by_role("button", name="Send message").click()
    await expect(page.get_by_label("Name", exact=True)).to_have_attribute("aria-invalid", "true")
    violations = await axe_violations(page)
    assert not violations, f"the message form with errors: {violations}"

    # A robot fills in the hidden field: the value goes to the server as it is (filed as spam,
    # so no acknowledgement), and the page looks the same to it.
    await page.get_by_label("Name", exact=True).fill("Ana Ruiz")
    await page.get_by_label("Email", exact=True).fill("ana@example.com")
    await page.get_by_label("Message", exact=True).fill("Is the library open on Monday?")
    await honeypot.evaluate("(input) => { input.value = 'https://example.com'; }")
    await page.get_by_role("button", name="Send message").click()
    await expect(confirmation(page)).to_be_visible()
    (row,) = await left_messages(closed_server)
    assert row.status == "spam"
    assert await queued_mail(closed_server) == []

    violations = await axe_violations(page)
    assert not violations, f"the confirmation: {violations}"
    await page.set_viewport_size({"width": 375, "height": 667})
    violations = await axe_violations(page)
    assert not violations, f"the confirmation on a phone: {violations}"


async def test_a_refused_message_is_retried_with_the_same_client_id(
    start_closed: Callable[..., Awaitable[LiveServer]],
    page_on: Callable[[LiveServer], Awaitable[Page]],
) -> None:
    server = await start_closed(messages_per_ip_per_hour=1)
    page = await page_on(server)
    sent: list[dict[str, Any]] = []

    def on_frame(payload: str | bytes) -> None:
        # Socket.IO over the WebSocket: 42/resident,<ack id>["leave_message",{...}]
        match = re.match(r'^42/resident,\d*(\["leave_message",.*)$', str(payload))
        if match:
            sent.append(json.loads(match.group(1))[1])

    page.on("websocket", lambda ws: ws.on("framesent", on_frame))
    await launcher(page).click()
    await page.get_by_label("Name", exact=True).fill("Ana Ruiz")
    await page.get_by_label("Email", exact=True).fill("ana@example.com")
    await page.get_by_label("Message", exact=True).fill("First message.")
    await page.get_by_role("button", name="Send message").click()
    await expect(confirmation(page)).to_be_visible()
    await page.get_by_role("button", name="Start a new chat").click()

    # The second one is over the hour's limit: the form says so (calmly: not an error, and
    # with the center's number), and nothing is stored. An hour is not waited for on the page:
    # the button still sends.
    text_ = page.get_by_label("Message", exact=True)
    await expect(text_).to_be_focused()
    await text_.fill("Second message.")
    send_button = page.get_by_role("button", name="Send message")
    await send_button.click()
    notice = leave_form(page).locator(".limit")
    hour = (
        "You have sent several messages in a short time. You can send another in about an hour."
        " If it can't wait, please call us at (626) 744-7311."
    )
    await expect(notice).to_have_text(hour)
    await expect(leave_form(page).locator(".error[role='alert']")).to_have_text("")
    await send_button.click()
    await until(lambda: len(sent) == 3)
    await text_.fill("Second message, shorter.")
    await send_button.click()
    await until(lambda: len(sent) == 4)
    await expect(notice).to_have_text(re.compile(r"^You have sent several messages"))

    ids = [frame["client_id"] for frame in sent]
    # The same submission keeps its client_id; another text is another submission.
    assert ids[1] == ids[2] and len({ids[0], ids[1], ids[3]}) == 3, ids
    assert [frame["website"] for frame in sent] == [""] * 4
    assert len(await left_messages(server)) == 1
