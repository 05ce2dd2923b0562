"""The agent pane, in Chromium, against the real server, with residents in the real widget."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, WebSocketRoute, expect

from chatsvc.actions import accounts
from chatsvc.actions.canned import canned_responses, save_canned
from chatsvc.clock import utc_now
from chatsvc.db.models import AfterHoursMessage, ConversationNote, Message, OutboxMail
from chatsvc.settings import Settings
from chatsvc.transport.state import DATABASE
from tests.browser.helpers import PageErrors, axe_violations
from tests.conftest import AgentClient, LiveServer, ResidentClient, stored_rows

pytestmark = pytest.mark.browser

PASSWORD = "correct horse battery"
PERSON = "I'd like to talk to a person about a bulky item pickup."
NewContext = Callable[..., Awaitable[BrowserContext]]


# --- staff and the pane ----------------------------------------------------------------------


async def add_staff(
    live_server: LiveServer,
    username: str,
    display_name: str,
    *,
    role: str = "agent",
    workgroups: tuple[str, ...] = (),
    max_chats: int = 3,
) -> accounts.StaffView:
    return await live_server.app[DATABASE].run(
        accounts.add_staff,
        username=username,
        display_name=display_name,
        role=role,
        password=PASSWORD,
        workgroups=workgroups,
        max_chats=max_chats,
        now=utc_now(),
    )


async def sign_in(page: Page, live_server: LiveServer, username: str, password: str) -> None:
    """Fill in and send the real sign-in form."""
    await page.goto(live_server.url + "/agent/sign-in")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def open_pane(
    new_context: NewContext,
    live_server: LiveServer,
    username: str,
    *,
    status: str | None = "Available",
    fake_clock: bool = False,
    before_sign_in: Callable[[Page], Awaitable[Any]] | None = None,
) -> Page:
    """Sign in as `username` in a browser of its own, wait until connected, set the status."""
    context = await new_context()
    if fake_clock:
        await context.clock.install()  # time flows as usual until a test moves it
    page = await context.new_page()
    if before_sign_in is not None:
        await before_sign_in(page)
    await sign_in(page, live_server, username, PASSWORD)
    await expect(page).to_have_url(live_server.url + "/agent")
    await expect(connected(page)).to_be_visible()
    if status is not None:
        button = status_button(page, status)
        await button.click()
        await expect(button).to_have_attribute("aria-pressed", "true")
    return page


def connected(page: Page) -> Any:
    return page.get_by_role("status").filter(has_text=re.compile("^Connected$"))


def status_button(page: Page, label: str) -> Any:
    return page.get_by_role("group", name="My status:").get_by_role("button", name=label)


def my_chats(page: Page) -> Any:
    return page.get_by_role("region", name=re.compile(r"^My chats"))


def queue(page: Page) -> Any:
    return page.get_by_role("region", name=re.compile(r"^Queue"))


def conversation(page: Page) -> Any:
    return page.get_by_role("region", name="Conversation", exact=True)


def transcript(page: Page) -> Any:
    return page.get_by_role("region", name="Transcript", exact=True)


def pane_message(page: Page, text_: str) -> Any:
    return (
        transcript(page)
        .locator(".msg")
        .filter(has=page.locator(".text", has_text=re.compile(rf"^{re.escape(text_)}$")))
    )


def composer(page: Page) -> Any:
    return page.get_by_label(re.compile(r"^Reply to "))


def page_header(page: Page) -> Any:
    return page.get_by_role("banner")


# --- the resident's widget -------------------------------------------------------------------


def widget_message(page: Page, text_: str) -> Any:
    return page.locator("chatsvc-widget .msg").filter(
        has=page.locator(".text", has_text=re.compile(rf"^{re.escape(text_)}$"))
    )


async def resident_page(new_context: NewContext, live_server: LiveServer) -> Page:
    page = await (await new_context()).new_page()
    await page.goto(live_server.url + "/")
    return page


async def start_widget_chat(
    page: Page, question: str = PERSON, name: str = "Ana Ruiz", email: str = "ana@example.com"
) -> None:
    """A resident opens the widget on the demo page and starts a chat."""
    await page.get_by_role("button", name=re.compile(r"^Chat with us")).click()
    # With no agent available (away, or none yet) the widget first offers to leave a message.
    prechat = page.get_by_role("heading", name="Chat With Us!")
    leave = page.get_by_role("heading", name="Leave Us A Message!")
    await expect(prechat.or_(leave)).to_be_visible()
    if await leave.is_visible():
        await page.get_by_role("button", name="Ask our assistant instead").click()
        await expect(prechat).to_be_visible()
    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Question").fill(question)
    await page.get_by_role("button", name="Start chat").click()
    await expect(widget_message(page, question)).to_have_attribute("data-seq", "1")


async def resident_starts_chat(
    new_context: NewContext, live_server: LiveServer, question: str = PERSON, **who: str
) -> Page:
    page = await resident_page(new_context, live_server)
    await start_widget_chat(page, question, **who)
    return page


async def widget_send(page: Page, text_: str) -> None:
    box = page.get_by_label("Message", exact=True)
    await box.fill(text_)
    await box.press("Enter")
    await expect(widget_message(page, text_)).to_have_attribute("data-state", "sent")


async def stored_messages(live_server: LiveServer) -> list[tuple[str, str]]:
    return [(m.author_kind, m.body) for m in await stored_rows(live_server, Message)]


# --- tests -----------------------------------------------------------------------------------


@pytest.mark.postgresql_too  # the smoke run of a chat in the widget and pane on PostgreSQL
async def test_an_agent_gets_a_chat_and_talks_with_the_resident(
    new_context: NewContext, live_server: LiveServer
) -> None:
    await add_staff(live_server, "maria", "Maria Lopez", workgroups=("Street Maintenance",))
    pane = await open_pane(new_context, live_server, "maria")
    await expect(page_header(pane)).to_contain_text("Maria Lopez")
    await expect(pane.get_by_text("Chats: 0 of 3")).to_be_visible()
    # Counts sounds: the pane beeps with WebAudio oscillators, no sound file.
    await pane.evaluate(
        """() => {
            window.beeps = 0;
            const start = OscillatorNode.prototype.start;
            OscillatorNode.prototype.start = function (...args) {
                window.beeps += 1;
                return start.apply(this, args);
            };
        }"""
    )

    resident = await resident_starts_chat(new_context, live_server)

    # Routed at once to the only available agent: sound, title, and the chat on screen.
    chat_button = my_chats(pane).get_by_role("button", name=re.compile(r"^Ana Ruiz"))
    await expect(chat_button).to_be_visible()
    await expect(pane).to_have_title(re.compile(r"^\(1\) New chat – Ana Ruiz"))
    assert await pane.evaluate("window.beeps") > 0
    await expect(conversation(pane).get_by_role("heading", name="Ana Ruiz")).to_be_visible()
    await expect(pane_message(pane, PERSON)).to_have_class(re.compile(r"\bmsg-resident\b"))
    await expect(pane.get_by_text("Chats: 1 of 3")).to_be_visible()
    await expect(conversation(pane)).to_contain_text("Asked for a person")

    # The agent replies; the widget shows it, then the resident's answer comes back.
    await composer(pane).click()
    await expect(pane).to_have_title(re.compile(r"^Agent pane"))  # seen: the notice is gone
    await composer(pane).fill("Hello Ana, this is Maria. Which items are they?")
    await composer(pane).press("Enter")
    await expect(composer(pane)).to_have_value("")
    reply = widget_message(resident, "Hello Ana, this is Maria. Which items are they?")
    await expect(reply).to_have_class(re.compile(r"\bmsg-agent\b"))
    await expect(reply.locator(".author")).to_have_text("Maria")
    # The resident's widget is open: it reads the reply, and the pane says so.
    sent = pane_message(pane, "Hello Ana, this is Maria. Which items are they?")
    await expect(sent.locator(".seen")).to_have_text("Seen")
    # Typing reaches the widget, and stops when the draft is cleared.
    await composer(pane).press_sequentially("Let me che")
    typing = resident.get_by_text("Maria is typing…")
    await expect(typing).to_be_visible()
    await composer(pane).fill("")
    await expect(typing).to_be_hidden()

    await widget_send(resident, "A couch and two chairs.")
    answer = pane_message(pane, "A couch and two chairs.")
    await expect(answer).to_have_class(re.compile(r"\bmsg-resident\b"))
    await expect(answer.locator(".author")).to_have_text("Ana Ruiz")
    # The pane is focused, so the agent has read it: no unread count, and the widget says so.
    await expect(chat_button.locator(".badge.unread")).to_be_hidden()
    await expect(widget_message(resident, "A couch and two chairs.")).to_contain_text("Seen")

    # The knowledge base: articles suggested for the resident's question, one click to insert.
    suggested = pane.get_by_role("region", name="Suggested articles")
    articles = suggested.get_by_role("listitem")
    await expect(articles.first).to_contain_text(re.compile(r"bulky", re.IGNORECASE))
    assert await articles.count() <= 3
    await articles.first.get_by_role(
        "button", name=re.compile(r"^Insert “.+” into the reply$")
    ).click()
    await expect(composer(pane)).to_be_focused()
    inserted = await composer(pane).input_value()
    assert len(inserted) > 40 and "**" not in inserted, inserted
    await composer(pane).fill("")
    search = pane.get_by_role("search", name="Knowledge base")
    await search.get_by_label("Search the knowledge base").fill("graffiti removal")
    await search.get_by_role("button", name="Search").click()
    await expect(pane.get_by_text(re.compile(r"^\d+ articles? found\.$"))).to_be_visible()
    found = pane.get_by_role("region", name="Knowledge base").get_by_role("listitem")
    await expect(found.first).to_contain_text(re.compile(r"graffiti", re.IGNORECASE))

    kinds = [kind for kind, _ in await stored_messages(live_server)]
    assert kinds.count("agent") == 1, kinds


async def test_an_internal_note_never_reaches_the_resident(
    new_context: NewContext,
    live_server: LiveServer,
    resident_client: Callable[..., Awaitable[ResidentClient]],
) -> None:
    await add_staff(live_server, "maria", "Maria Lopez")
    # Ana chatted before (the assistant answered; she ended it).
    before = await resident_client()
    await before.start(question="How do I pay a parking ticket?")
    assert (await before.call("end", {}))["ok"]
    await before.disconnect()
    pane = await open_pane(new_context, live_server, "maria")
    resident = await resident_page(new_context, live_server)
    frames: list[str] = []
    resident.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(str(f))))
    await start_widget_chat(resident)
    await expect(composer(pane)).to_be_visible()
    # A second connection of the resident (another tab) records every event it receives.
    other_tab = await resident_client()
    token = await resident.evaluate(
        "key => localStorage.getItem(key)", f"chatsvc:{live_server.url}:token"
    )
    assert (await other_tab.call("resume", {"token": token}))["ok"]

    secret = "Staff only: resident was rude to the crew last week."
    # Notes are written under their own tab, beside the reply (as in a help desk).
    note_tab = conversation(pane).get_by_role("tab", name="Internal note")
    await note_tab.click()
    await expect(note_tab).to_have_attribute("aria-selected", "true")
    await expect(composer(pane)).to_be_hidden()
    note_box = pane.get_by_label("Internal note — not sent to the resident")
    await expect(note_box).to_be_focused()
    await note_box.fill(secret)
    await pane.get_by_role("button", name="Add note").click()
    await expect(note_box).to_have_value("")
    note = transcript(pane).locator(".note").filter(has_text=secret)
    await expect(note).to_contain_text("Internal note — staff only")
    await expect(note.locator(".author")).to_have_text("Maria Lopez")
    # Then a real reply: once it has arrived everywhere, the note would have too.
    await conversation(pane).get_by_role("tab", name="Reply").click()
    await expect(composer(pane)).to_be_focused()
    await expect(composer(pane)).to_have_value("")  # nothing leaked into the reply either
    await composer(pane).fill("Thank you for waiting.")
    await composer(pane).press("Enter")
    reply = await other_tab.next_where("message", lambda m: m["text"] == "Thank you for waiting.")
    assert reply["author_kind"] == "agent"
    await expect(widget_message(resident, "Thank you for waiting.")).to_be_visible()

    await expect(resident.locator("chatsvc-widget")).not_to_contain_text("rude to the crew")
    assert not [f for f in frames if "rude to the crew" in f], frames
    assert "rude to the crew" not in repr(other_tab.received), other_tab.received
    assert "rude to the crew" not in repr(await stored_messages(live_server))
    notes = await stored_rows(live_server, ConversationNote)
    assert [(n.kind, n.body) for n in notes] == [("note", secret)]

    # Her earlier conversation opens read-only, and the way back is one button.
    earlier = pane.get_by_role("region", name="Earlier conversations")
    await earlier.get_by_role("button", name=re.compile(r"How do I pay a parking ticket")).click()
    heading = conversation(pane).get_by_role("heading", name="Ana Ruiz — earlier conversation")
    await expect(heading).to_be_focused()
    await expect(pane_message(pane, "How do I pay a parking ticket?")).to_be_visible()
    await expect(conversation(pane)).to_contain_text("Read-only")
    await expect(composer(pane)).to_be_hidden()
    await expect(pane.get_by_label("Internal note — not sent to the resident")).to_be_hidden()
    await conversation(pane).get_by_role("button", name="Back to Ana Ruiz's current chat").click()
    await expect(conversation(pane).get_by_role("heading", name="Ana Ruiz")).to_be_focused()
    await expect(composer(pane)).to_be_visible()
    await expect(note).to_be_visible()


async def test_three_wrong_passwords_throttle_the_sign_in_page(
    new_context: NewContext, live_server: LiveServer, page_errors: PageErrors
) -> None:
    # Chromium logs every refused sign-in page's status as a console error.
    page_errors.allow(r"status of (401 \(Unauthorized\)|429 \(Too Many Requests\))")
    await add_staff(live_server, "maria", "Maria Lopez")
    page = await (await new_context()).new_page()

    def posted(response: Any) -> bool:
        return bool(response.url.endswith("/agent/sign-in") and response.request.method == "POST")

    for _ in range(3):
        async with page.expect_response(posted) as wrong:
            await sign_in(page, live_server, "maria", "not the password")
        assert (await wrong.value).status == 401
        await expect(page.get_by_role("alert")).to_have_text(
            "The username or password is not right."
        )
        await expect(page.get_by_label("Password")).to_be_focused()

    async with page.expect_response(posted) as throttled:
        await sign_in(page, live_server, "maria", PASSWORD)
    assert (await throttled.value).status == 429
    await expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")
    await expect(page).to_have_url(live_server.url + "/agent/sign-in")
    await page.goto(live_server.url + "/agent")
    await expect(page).to_have_url(live_server.url + "/agent/sign-in")


# Set CHATSVC_SHOTS to a folder to keep screenshots of the screens some tests reach, to look at.
SHOTS = os.environ.get("CHATSVC_SHOTS", "")


async def test_a_busy_sign_in_says_when_to_try_again_and_leads_back(
    new_context: NewContext,
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    page_errors: PageErrors,
) -> None:
    """Past the per-address limit, the page says how long to wait and links back to the form;
    it is accessible like every staff page."""
    page_errors.allow(r"status of (401 \(Unauthorized\)|429 \(Too Many Requests\))")
    server = await start_server(make_settings(sign_in_attempts_per_address_per_minute=1))
    page = await (await new_context()).new_page()
    await sign_in(page, server, "nobody", "not the password")
    await expect(page.get_by_role("alert")).to_have_text("The username or password is not right.")
    await sign_in(page, server, "nobody", "not the password")
    await expect(page.get_by_role("alert")).to_have_text(
        re.compile(r"^Too many sign-ins right now\. Try again in \d+ seconds?\.$")
    )
    assert not await axe_violations(page)
    if SHOTS:
        for size in ({"width": 1366, "height": 768}, {"width": 390, "height": 844}):
            await page.set_viewport_size(size)
            await page.screenshot(path=f"{SHOTS}/sign-in-busy-{size['width']}.png")
    await page.get_by_role("link", name="Back to sign-in").click()
    await expect(page.get_by_label("Username")).to_be_visible()


HOURS = "The Citizen Service Center is open Monday to Friday, 8 a.m. to 5 p.m."


async def add_canned(live_server: LiveServer, by: accounts.StaffView) -> None:
    """Word the starter set's /hours response as the tests expect it."""
    database = live_server.app[DATABASE]
    starter = next(c for c in await database.run(canned_responses) if c.shortcut == "hours")
    await database.run(
        save_canned,
        by=by,
        canned_id=starter.id,
        shortcut="hours",
        title="Opening hours",
        text=HOURS,
        now=utc_now(),
    )


async def tab_to(page: Page, target: Any, limit: int = 40) -> None:
    """Press Tab until `target` has focus, as a keyboard user would."""
    for _ in range(limit):
        await page.keyboard.press("Tab")
        if await target.evaluate("el => el === document.activeElement"):
            return
    pytest.fail(f"Tab never reached {target}")


async def test_accessible_and_usable_with_the_keyboard_alone(
    new_context: NewContext, live_server: LiveServer, page_errors: PageErrors
) -> None:
    page_errors.allow(r"status of 401 \(Unauthorized\)")
    await add_canned(live_server, await add_staff(live_server, "sam", "Sam Ortiz", role="admin"))
    await add_staff(live_server, "maria", "Maria Lopez")

    sign_in_page = await (await new_context()).new_page()
    await sign_in_page.goto(live_server.url + "/agent/sign-in")
    violations = await axe_violations(sign_in_page)
    assert not violations, f"sign-in page: {violations}"
    await sign_in(sign_in_page, live_server, "maria", "not the password")
    await expect(sign_in_page.get_by_role("alert")).to_be_visible()
    violations = await axe_violations(sign_in_page)
    assert not violations, f"sign-in page with an error: {violations}"

    # Away: no chat is routed to Maria, she picks it from the queue herself.
    pane = await open_pane(new_context, live_server, "maria", status="Away")
    resident = await resident_starts_chat(new_context, live_server)
    accept = queue(pane).get_by_role("button", name="Accept chat from Ana Ruiz")
    await expect(accept).to_be_visible()
    await expect(queue(pane)).to_contain_text("waiting under 1 min")
    violations = await axe_violations(pane)
    assert not violations, f"pane with a chat in the queue: {violations}"

    await pane.locator("body").focus()
    await tab_to(pane, accept)
    await expect(accept).to_have_css("outline-style", "solid")  # a visible focus ring
    await pane.keyboard.press("Enter")
    reply = composer(pane)
    await expect(reply).to_be_focused()
    await expect(
        my_chats(pane).get_by_role("button", name=re.compile(r"^Ana Ruiz"))
    ).to_be_visible()

    # "/hou" offers the canned response in a listbox; Enter inserts it, Enter again sends.
    await pane.keyboard.type("/hou")
    option = pane.get_by_role("listbox", name="Matching canned responses").get_by_role("option")
    await expect(option).to_have_count(1)
    await expect(option).to_contain_text("/hours")
    await expect(option).to_have_attribute("aria-selected", "true")
    option_id = await option.get_attribute("id")
    await expect(reply).to_have_attribute("aria-activedescendant", option_id or "?")
    await pane.keyboard.press("Enter")
    await expect(reply).to_have_value(HOURS)
    await expect(option).to_have_count(0)
    await pane.keyboard.press("Enter")
    await expect(reply).to_have_value("")
    await expect(widget_message(resident, HOURS)).to_have_class(re.compile(r"\bmsg-agent\b"))

    # The "Canned responses" menu works by keyboard too: Tab to it, arrows down, Enter.
    menu_button = conversation(pane).get_by_role("button", name="Canned responses")
    await pane.keyboard.press("Tab")
    await expect(menu_button).to_be_focused()
    await pane.keyboard.press("ArrowDown")
    await expect(menu_button).to_have_attribute("aria-expanded", "true")
    items = pane.get_by_role("list", name="Canned responses").get_by_role("button")
    await expect(items.first).to_be_focused()
    hours = (await items.all_text_contents()).index("Opening hours /hours")
    for _ in range(hours):
        await pane.keyboard.press("ArrowDown")
    await expect(pane.get_by_role("button", name="Opening hours /hours")).to_be_focused()
    await pane.keyboard.press("Enter")
    await expect(reply).to_be_focused()
    await expect(reply).to_have_value(HOURS)
    await expect(menu_button).to_have_attribute("aria-expanded", "false")
    await pane.keyboard.press("Control+A")
    await pane.keyboard.press("Delete")
    await expect(reply).to_have_value("")

    violations = await axe_violations(pane)
    assert not violations, f"pane with a conversation open: {violations}"

    # Close with a disposition: the dialog traps focus, Escape gives it back to its button.
    close = conversation(pane).get_by_role("button", name="Close chat…")
    await tab_to(pane, close)
    await pane.keyboard.press("Enter")
    dialog = pane.get_by_role("dialog", name="Close the chat with Ana Ruiz")
    resolved = dialog.get_by_role("radio", name="Resolved")
    await expect(dialog).to_be_visible()
    await expect(resolved).to_be_focused()
    violations = await axe_violations(pane)
    assert not violations, f"close dialog: {violations}"
    await pane.keyboard.press("Escape")
    await expect(dialog).to_have_count(0)
    await expect(close).to_be_focused()

    await pane.keyboard.press("Enter")
    await expect(resolved).to_be_focused()
    await pane.keyboard.press("Shift+Tab")  # wraps around to the last button
    await expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    await pane.keyboard.press("Tab")
    await expect(resolved).to_be_focused()
    await pane.keyboard.press("Tab")
    await expect(dialog.get_by_role("button", name="Close chat")).to_be_focused()
    await pane.keyboard.press("Enter")  # no disposition chosen yet
    await expect(dialog.get_by_text("Choose a disposition.")).to_be_visible()
    await expect(resolved).to_be_focused()
    await pane.keyboard.press("Space")
    await expect(resolved).to_be_checked()
    await pane.keyboard.press("Tab")
    await pane.keyboard.press("Enter")
    await expect(dialog).to_have_count(0)
    await expect(conversation(pane).get_by_role("heading", name="Ana Ruiz")).to_be_focused()
    await expect(conversation(pane)).to_contain_text("Ended: Resolved")
    await expect(resident.get_by_role("button", name="Start a new chat")).to_be_visible()
    await expect(my_chats(pane).get_by_role("button")).to_have_count(0)


async def test_a_supervisor_sees_the_team_and_takes_over_a_chat(
    new_context: NewContext,
    live_server: LiveServer,
    agent_client: Callable[..., Awaitable[AgentClient]],
    resident_client: Callable[..., Awaitable[ResidentClient]],
) -> None:
    await add_staff(live_server, "sam", "Sam Ortiz", role="supervisor")
    maria = await agent_client("maria", display_name="Maria Lopez")
    pane = await open_pane(new_context, live_server, "sam", status=None)
    await pane.get_by_role("button", name="Supervisor").click()
    team = pane.get_by_role("table", name="Each agent's status and load")
    maria_row = team.get_by_role("row", name=re.compile(r"^Maria Lopez"))
    await expect(maria_row).to_contain_text("Available")
    await expect(maria_row).to_contain_text("0 of 3")
    await expect(team.get_by_role("row", name=re.compile(r"^Sam Ortiz"))).to_contain_text("Offline")

    # Canned responses: the center's starter set is there; add one, and change one.
    canned = pane.get_by_role("table", name="Canned responses")
    for shortcut in ("hours", "phone", "bulky", "bye"):
        await expect(
            canned.get_by_role("row", name=re.compile(rf"^\/{shortcut}\b"))
        ).to_be_visible()
    await expect(canned.get_by_role("row", name=re.compile(r"^\/phone\b"))).to_contain_text(
        "(626) 744-7311"
    )
    await pane.get_by_label("Shortcut").fill("permit")
    await pane.get_by_label("Title", exact=True).fill("Permits")
    await pane.get_by_label("Text", exact=True).fill("The Permit Center can help with that.")
    await pane.get_by_role("button", name="Save").click()
    await expect(canned.get_by_role("row", name=re.compile(r"^\/permit"))).to_contain_text(
        "Permits"
    )
    await canned.get_by_role("button", name="Edit /hours").click()
    await expect(pane.get_by_label("Shortcut")).to_be_focused()
    # Its Spanish version comes with it, to edit too (kept when saved as it is).
    await expect(pane.get_by_label("Title in Spanish (optional)")).to_have_value(
        "Horario de atención"
    )
    await pane.get_by_label("Title", exact=True).fill("Opening hours")
    await pane.get_by_label("Text", exact=True).fill(HOURS)
    await pane.get_by_role("button", name="Save").click()
    await expect(canned.get_by_role("row", name=re.compile(r"^\/hours"))).to_contain_text(
        "Opening hours"
    )
    hours_row = canned.get_by_role("row", name=re.compile(r"^\/hours"))
    await expect(hours_row).to_have_accessible_name(re.compile(r"Has a Spanish version"))
    permit_row = canned.get_by_role("row", name=re.compile(r"^\/permit"))
    await expect(permit_row.get_by_text("Has a Spanish version")).to_be_hidden()
    violations = await axe_violations(pane)
    assert not violations, f"supervisor view: {violations}"

    # A resident asks for a person: the chat goes to Maria, and her load shows it.
    resident = await resident_client()
    started = await resident.start()
    chat_id = started["conversation"]["id"]
    assigned = await maria.next_where("assigned", lambda p: p["conversation"]["id"] == chat_id)
    assert assigned["reason"] == "routed"
    await expect(maria_row).to_contain_text("1 of 3")

    # Sam lists Maria's chats under her row (by keyboard), sees Ana's, and takes it over.
    maria_toggle = team.get_by_role("button", name=re.compile(r" chats of Maria Lopez$"))
    await expect(maria_toggle).to_have_accessible_name("1 of 3 chats of Maria Lopez")
    await expect(maria_toggle).to_have_attribute("aria-expanded", "false")
    await maria_toggle.focus()
    await pane.keyboard.press("Enter")
    await expect(maria_toggle).to_have_attribute("aria-expanded", "true")
    maria_chats = team.get_by_role("list", name="Chats of Maria Lopez")
    ana_item = maria_chats.get_by_role("listitem").filter(has_text="Ana Ruiz")
    await expect(maria_chats.get_by_role("listitem")).to_have_count(1)
    await expect(ana_item).to_contain_text(re.compile(r"Topic guess: |No topic guessed yet"))
    await expect(ana_item).to_contain_text("assigned under 1 min ago")
    violations = await axe_violations(pane)
    assert not violations, f"supervisor view with an agent's chats: {violations}"
    await ana_item.get_by_role("button", name="View chat with Ana Ruiz").click()
    await expect(conversation(pane).get_by_role("heading", name="Ana Ruiz")).to_be_focused()
    await expect(conversation(pane)).to_contain_text("With Maria")
    await expect(composer(pane)).to_be_hidden()
    await pane.get_by_role("button", name="Supervisor").click()
    await expect(maria_toggle).to_have_attribute("aria-expanded", "true")
    await ana_item.get_by_role("button", name="Take over chat with Ana Ruiz").click()
    await expect(composer(pane)).to_be_focused()
    await expect(conversation(pane)).to_contain_text("With you")
    await expect(conversation(pane)).to_contain_text(f"Chat #{chat_id}")
    lost = await maria.next_where("unassigned", lambda p: p["conversation_id"] == chat_id)
    assert lost["reason"] == "reassigned"
    joined = await resident.next_where("message", lambda m: m["text"].startswith("Sam "))
    assert joined["author_kind"] == "system", joined

    # The edited canned response is offered by its shortcut; Tab inserts it.
    await composer(pane).press_sequentially("/ho")
    await expect(pane.get_by_role("option", name=re.compile(r"\/hours"))).to_be_visible()
    await composer(pane).press("Tab")
    await expect(composer(pane)).to_have_value(HOURS)
    await composer(pane).press("Enter")
    said = await resident.next_where("message", lambda m: m["author_kind"] == "agent")
    assert (said["author_name"], said["text"]) == ("Sam", HOURS)

    # Back in the supervisor view, the lists follow: Maria's is empty, Sam holds the chat.
    await pane.get_by_role("button", name="Supervisor").click()
    await expect(maria_row).to_contain_text("0 of 3")
    await expect(maria_chats).to_be_hidden()
    await expect(team.get_by_text("No open chats.")).to_be_visible()
    sam_toggle = team.get_by_role("button", name=re.compile(r" chats of Sam Ortiz$"))
    await expect(sam_toggle).to_have_accessible_name("1 of 3 chats of Sam Ortiz")
    await sam_toggle.click()
    sam_chats = team.get_by_role("list", name="Chats of Sam Ortiz")
    await expect(sam_chats.get_by_role("listitem")).to_have_count(1)
    sam_item = sam_chats.get_by_role("listitem").filter(has_text="Ana Ruiz")
    await expect(sam_item.get_by_role("button", name="View chat with Ana Ruiz")).to_be_visible()
    await expect(sam_item.get_by_role("button", name=re.compile("^Take over"))).to_be_hidden()

    # And gives it back to Maria from there; both lists follow again.
    await sam_item.get_by_role("button", name="Reassign… chat with Ana Ruiz").click()
    dialog = pane.get_by_role("dialog", name="Reassign the chat with Ana Ruiz")
    await dialog.get_by_label("Give it to").select_option(
        label="Maria Lopez — Available, 0 of 3 chats"
    )
    await dialog.get_by_role("button", name="Reassign").click()
    await expect(dialog).to_have_count(0)
    back = await maria.next_where("assigned", lambda p: p["conversation"]["id"] == chat_id)
    assert back["reason"] == "reassigned"
    await expect(maria_chats.get_by_role("listitem")).to_have_count(1)
    await expect(maria_chats).to_contain_text("Ana Ruiz")
    await expect(sam_chats).to_be_hidden()
    await expect(sam_toggle).to_have_accessible_name("0 of 3 chats of Sam Ortiz")
    await expect(sam_toggle).to_be_focused()  # the Reassign… button it came from is gone
    await expect(my_chats(pane).get_by_role("button")).to_have_count(0)

    # Any chat still opens by its number.
    await pane.get_by_label("Chat number").fill(str(chat_id))
    await pane.get_by_role("button", name="Open chat").click()
    await expect(conversation(pane).get_by_role("heading", name="Ana Ruiz")).to_be_focused()
    await expect(conversation(pane)).to_contain_text("With Maria")

    # Canned responses can be deleted (after a confirmation).
    await pane.get_by_role("button", name="Supervisor").click()
    await canned.get_by_role("button", name="Delete /hours").click()
    confirm = pane.get_by_role("dialog", name="Delete /hours?")
    await confirm.get_by_role("button", name="Delete").click()
    await expect(confirm).to_have_count(0)
    await expect(canned.get_by_role("row", name=re.compile(r"^\/hours"))).to_have_count(0)
    await expect(canned.get_by_role("row", name=re.compile(r"^\/permit"))).to_be_visible()
    await expect(pane.get_by_role("heading", name="Canned responses")).to_be_focused()


RECONNECT_MS = 20_000  # socket.io-client backs off up to 5 s between attempts


async def test_the_queue_transfers_and_unread_counts(
    new_context: NewContext,
    live_server: LiveServer,
    agent_client: Callable[..., Awaitable[AgentClient]],
    resident_client: Callable[..., Awaitable[ResidentClient]],
) -> None:
    maria_id = (await add_staff(live_server, "maria", "Maria Lopez")).id
    jo = await agent_client("jo", display_name="Jo Park", available=False)
    pane = await open_pane(new_context, live_server, "maria", status="Away", fake_clock=True)

    # The assistant answers first; then the resident asks for a person and waits in line.
    ana = await resident_starts_chat(new_context, live_server, "When is bulky item pickup?")
    await expect(ana.locator("chatsvc-widget .msg-assistant")).to_have_count(1)
    await widget_send(ana, "Can I talk to a person please?")
    ana_entry = queue(pane).get_by_role("listitem").filter(has_text="Ana Ruiz")
    await expect(ana_entry).to_contain_text("When is bulky item pickup?")
    await expect(ana_entry).to_contain_text(re.compile(r"Topic guess: Bulky"))
    await expect(ana_entry).to_contain_text("waiting under 1 min")
    await expect(ana_entry.get_by_text("Emergency")).to_be_hidden()

    # An emergency goes ahead of her, marked as such.
    bo = await resident_client()
    bo_chat = (
        await bo.start(name="Bo Chen", email="bo@example.com", question="I smell gas in my street!")
    )["conversation"]["id"]
    entries = queue(pane).get_by_role("listitem")
    await expect(entries).to_have_count(2)
    await expect(entries.first).to_contain_text("Bo Chen")
    await expect(entries.first.get_by_text("Emergency")).to_be_visible()
    await expect(queue(pane).get_by_role("heading")).to_have_text("Queue (2)")

    # Two minutes later (on the pane's clock), the wait times have moved on by themselves.
    await pane.clock.fast_forward("02:00")
    await expect(ana_entry).to_contain_text("waiting 2 min")
    await expect(connected(pane)).to_be_visible(timeout=RECONNECT_MS)

    await queue(pane).get_by_role("button", name="Accept chat from Bo Chen").click()
    await expect(composer(pane)).to_be_focused()
    await expect(conversation(pane).get_by_text("Emergency", exact=True)).to_be_visible()
    await queue(pane).get_by_role("button", name="Accept chat from Ana Ruiz").click()
    await expect(conversation(pane).get_by_role("heading", name="Ana Ruiz")).to_be_visible()
    await expect(queue(pane).get_by_text("Nobody is waiting.")).to_be_visible()
    # The assistant's part of the transcript is there, rendered from its Markdown.
    await expect(transcript(pane).locator(".msg-assistant").first).to_be_visible()
    await expect(conversation(pane)).to_contain_text(re.compile(r"Topic guess: Bulky"))

    # Bo writes while Maria is in Ana's chat: his chat counts it as unread until opened.
    ack = await bo.call("message", {"client_id": "bo-message-0001", "text": "Are you there?"})
    assert ack["ok"], ack
    bo_item = my_chats(pane).get_by_role("button", name=re.compile(r"^Bo Chen"))
    await expect(bo_item).to_have_accessible_name(re.compile(r"\b1 unread"))
    await bo_item.click()
    await expect(pane_message(pane, "Are you there?")).to_be_visible()
    await expect(bo_item).not_to_have_accessible_name(re.compile("unread"))
    seq = ack["message"]["seq"]
    await bo.next_where("read", lambda r: r["reader"] == "staff" and r["seq"] >= seq)

    # He types: the pane shows it. Then Maria transfers him to Jo, with the required note.
    await bo.call("typing", {"typing": True})
    await expect(conversation(pane).get_by_text("Bo Chen is typing…")).to_be_visible()
    await conversation(pane).get_by_role("button", name="Transfer…").click()
    dialog = pane.get_by_role("dialog", name="Transfer the chat with Bo Chen")
    await expect(dialog.get_by_role("radio", name="An agent")).to_be_checked()
    await dialog.get_by_label("Agent", exact=True).select_option(
        label="Jo Park — Offline, 0 of 3 chats"
    )
    await dialog.get_by_role("button", name="Transfer").click()
    note = dialog.get_by_label("Note for the next person (required)")
    await expect(note).to_be_focused()
    await expect(note).to_have_attribute("aria-invalid", "true")
    await expect(dialog.get_by_text("Write a note for the next person.")).to_be_visible()
    await note.fill("Gas smell on Elm St; 911 already called. Wants a follow-up.")
    # The server refuses (Jo is offline): its answer shows in the dialog, which stays open.
    await dialog.get_by_role("button", name="Transfer").click()
    await expect(dialog.get_by_text("Jo is not available.", exact=False)).to_be_visible()
    await jo.available()
    await dialog.get_by_role("button", name="Transfer").click()
    await expect(dialog).to_have_count(0)

    given = await jo.next_where("assigned", lambda p: p["conversation"]["id"] == bo_chat)
    assert given["reason"] == "transferred"
    # Jo's pane loads the chat on `assigned`, note included.
    opened = await jo.ok("open", {"conversation_id": bo_chat})
    assert [(n["kind"], n["text"]) for n in opened["notes"]] == [
        ("transfer", "Gas smell on Elm St; 911 already called. Wants a follow-up.")
    ]
    await expect(my_chats(pane).get_by_role("button")).to_have_count(1)
    await expect(conversation(pane)).to_contain_text("This chat was transferred.")
    await expect(conversation(pane)).to_contain_text("With Jo")
    await expect(composer(pane)).to_be_hidden()
    await expect(transcript(pane).locator(".note")).to_contain_text("Transfer note — staff only")

    # Jo sends him back with a note. Maria's pane, still viewing the chat, gets that note as its
    # viewer, as the agent receiving the chat, and in the transcript it loads: it shows it once.
    await status_button(pane, "Available").click()
    await expect(status_button(pane, "Available")).to_have_attribute("aria-pressed", "true")
    back_note = "Back to you: he asked for Maria."
    await jo.ok(
        "transfer", {"conversation_id": bo_chat, "to_staff_id": maria_id, "note": back_note}
    )
    await expect(composer(pane)).to_be_visible()
    await expect(conversation(pane)).to_contain_text("With you")
    # A reply on the same connection: once it is shown as sent, every earlier event is in.
    await composer(pane).fill("I'm back, Bo.")
    await composer(pane).press("Enter")
    await expect(pane_message(pane, "I'm back, Bo.")).to_have_attribute(
        "data-seq", re.compile(r"^\d+$")
    )
    notes = transcript(pane).locator(".note")
    await expect(notes).to_have_count(2)
    await expect(notes.filter(has_text=back_note)).to_have_count(1)
    await expect(notes.filter(has_text=back_note)).to_contain_text("Jo Park")


async def test_after_a_network_drop_nothing_is_lost_or_shown_twice(
    new_context: NewContext,
    live_server: LiveServer,
    page_errors: PageErrors,
    resident_client: Callable[..., Awaitable[ResidentClient]],
) -> None:
    page_errors.allow(r"ERR_INTERNET_DISCONNECTED|WebSocket connection to .* failed")
    await add_staff(live_server, "maria", "Maria Lopez")
    pane = await open_pane(new_context, live_server, "maria")
    resident = await resident_client()
    await resident.start()
    await expect(composer(pane)).to_be_visible()

    await pane.context.set_offline(True)
    await expect(pane.get_by_role("status").filter(has_text="Reconnecting")).to_be_visible()
    ack = await resident.call(
        "message", {"client_id": "while-away-0001", "text": "Sent while you were away"}
    )
    assert ack["ok"], ack
    await composer(pane).fill("Typed while offline")
    await composer(pane).press("Enter")
    pending = pane_message(pane, "Typed while offline")
    await expect(pending).to_contain_text("Sending…")

    await pane.context.set_offline(False)
    await expect(connected(pane)).to_be_visible(timeout=RECONNECT_MS)
    await expect(pane_message(pane, "Sent while you were away")).to_have_count(1)
    await expect(pending).to_have_count(1)
    await expect(pending).not_to_contain_text("Sending…")
    delivered = await resident.next_where("message", lambda m: m["author_kind"] == "agent")
    assert delivered["text"] == "Typed while offline"
    stored = await stored_messages(live_server)
    assert stored.count(("agent", "Typed while offline")) == 1, stored
    # Every stored message is in the transcript once, in order.
    seqs = (
        await transcript(pane)
        .locator(".msg")
        .evaluate_all("nodes => nodes.map((n) => Number(n.dataset.seq))")
    )
    assert seqs == list(range(1, len(stored) + 1)), seqs


XSS = "<img src=x onerror=alert(1)>"


async def test_markup_from_residents_is_shown_as_text(
    new_context: NewContext,
    live_server: LiveServer,
    resident_client: Callable[..., Awaitable[ResidentClient]],
) -> None:
    await add_staff(live_server, "maria", "Maria Lopez")
    pane = await open_pane(new_context, live_server, "maria", status="Away")
    dialogs: list[str] = []
    pane.on("dialog", lambda d: dialogs.append(d.message))
    resident = await resident_client()
    await resident.start(name=f"Eve {XSS}", question=f"Talk to a person {XSS}")
    await queue(pane).get_by_role("button", name=f"Accept chat from Eve {XSS}").click()
    await expect(conversation(pane).get_by_role("heading", name=f"Eve {XSS}")).to_be_visible()
    await expect(pane_message(pane, f"Talk to a person {XSS}")).to_be_visible()
    ack = await resident.call("message", {"client_id": "markup-000001", "text": XSS})
    assert ack["ok"], ack
    await expect(pane_message(pane, XSS)).to_be_visible()
    await expect(my_chats(pane).get_by_role("button", name=re.compile("^Eve"))).to_contain_text(XSS)
    assert await pane.locator("img").count() == 0
    assert dialogs == []


# --- the after-hours inbox -------------------------------------------------------------------

BO_TEXT = "The streetlight on Elm St\nhas been out for a week."
ANA_TEXT = "My bulky item pickup was missed on Friday. <b>Please</b> come back."
ROBOT_TEXT = "Buy ivermectin online cheap!!! https://spam.example/x https://spam.example/y"
REPLY = "Dear Ana, your pickup is rescheduled for Tuesday morning.\nSorry for the trouble."


@pytest.fixture
async def inbox_server(
    start_server: Callable[..., Awaitable[LiveServer]],
    make_settings: Callable[..., Settings],
    another_database: Callable[[str], Awaitable[str]],
    tmp_path: Path,
) -> tuple[LiveServer, list[timedelta]]:
    """The real app, with a clock a test can set back to have a message left days ago."""
    shift = [timedelta(0)]
    settings = make_settings(
        database_url=await another_database("inbox"), mail_folder=tmp_path / "inbox"
    )
    server = await start_server(settings, clock=lambda: utc_now() + shift[0])
    return server, shift


async def leave_message(
    resident_client: Callable[..., Awaitable[ResidentClient]],
    server: LiveServer,
    name: str,
    email: str,
    message: str,
) -> dict[str, Any]:
    """A resident leaves a message through a real /resident connection."""
    resident = await resident_client(server.url)
    ack = await resident.call(
        "leave_message",
        {"name": name, "email": email, "message": message, "client_id": uuid.uuid4().hex},
    )
    assert ack["ok"], ack
    await resident.disconnect()
    return ack


def inbox_tab(page: Page) -> Any:
    return page.get_by_role("navigation", name="Views").get_by_role(
        "button", name=re.compile(r"^After-hours messages")
    )


def inbox_items(page: Page) -> Any:
    return page.get_by_role("list", name="Messages, reply due soonest first").get_by_role(
        "listitem"
    )


def inbox_message(page: Page) -> Any:
    return page.get_by_role("region", name="After-hours message", exact=True)


def announced(page: Page) -> Any:
    return page.locator("main > .sr-only[aria-live='polite']")


async def test_after_hours_messages_are_claimed_answered_and_filed(
    new_context: NewContext,
    inbox_server: tuple[LiveServer, list[timedelta]],
    resident_client: Callable[..., Awaitable[ResidentClient]],
    agent_client: Callable[..., Awaitable[AgentClient]],
) -> None:
    server, shift = inbox_server
    await add_staff(server, "maria", "Maria Lopez")
    # Bo wrote two weeks ago: his reply is long overdue. Ana wrote just now; a robot too.
    shift[0] = -timedelta(days=14)
    bo = await leave_message(resident_client, server, "Bo Chen", "bo@example.com", BO_TEXT)
    shift[0] = timedelta(0)
    ana = await leave_message(resident_client, server, "Ana Ruiz", "ana@example.com", ANA_TEXT)
    robot = await leave_message(
        resident_client, server, "Cheap Pills", "pills@example.com", ROBOT_TEXT
    )
    tom = await agent_client("tom", server=server, display_name="Tom Baker")
    ids = {m["reference"]: m["id"] for m in (await tom.ok("inbox"))["messages"]}
    assert list(ids) == [bo["reference"], ana["reference"]]  # the robot's is filed as spam

    # The inbox is one Tab stop away from the top, with its counts in its name.
    pane = await open_pane(new_context, server, "maria", status="Away")
    tab = inbox_tab(pane)
    await expect(tab).to_have_accessible_name("After-hours messages (2 open, 1 overdue)")
    await pane.locator("body").focus()
    await tab_to(pane, tab)
    await pane.keyboard.press("Enter")
    await expect(tab).to_have_attribute("aria-pressed", "true")
    items = inbox_items(pane)
    await expect(items).to_have_count(2)
    bo_item, ana_item = items.nth(0), items.nth(1)
    for item, who, left in ((bo_item, "Bo Chen", bo), (ana_item, "Ana Ruiz", ana)):
        await expect(item).to_contain_text(who)
        await expect(item).to_contain_text(f"{left['reference']} · {who.split()[0].lower()}@")
        await expect(item).to_contain_text(re.compile(r"Received \w+day, \w+ \d+ at "))
        # The date the resident was told, in the same words ("Monday, November 30 at 5 p.m.").
        await expect(item).to_contain_text(left["reply_due_text"])
        await expect(item).to_contain_text("New · Not claimed")
    await expect(bo_item.get_by_text("Overdue", exact=True)).to_be_visible()
    await expect(ana_item.get_by_text("Overdue", exact=True)).to_be_hidden()
    violations = await axe_violations(pane)
    assert not violations, f"the inbox: {violations}"

    # By keyboard alone: open Ana's message, claim it, answer it.
    await tab_to(pane, ana_item.get_by_role("button"))
    await pane.keyboard.press("Enter")
    message = inbox_message(pane)
    title = message.get_by_role("heading", name=f"Ana Ruiz — {ana['reference']}")
    await expect(title).to_be_focused()
    await expect(message.locator(".inbox-text").first).to_have_text(ANA_TEXT)  # as text
    await expect(message).to_contain_text("ana@example.com")
    await expect(message.get_by_label("Reply by email")).to_be_hidden()
    await pane.keyboard.press("Tab")
    await expect(message.get_by_role("button", name="Claim")).to_be_focused()
    await pane.keyboard.press("Enter")
    reply_box = message.get_by_label("Reply by email")
    await expect(reply_box).to_be_focused()
    await expect(message).to_contain_text("You are answering this message.")
    await expect(ana_item).to_contain_text("In progress · Owner: you")
    assert await pane.locator("b").count() == 0

    # Tom is too late: one owner only.
    refused = await tom.call("inbox_claim", {"id": ids[ana["reference"]]})
    assert refused["ok"] is False and refused["error"] == {
        "code": "already_taken",
        "message": "Maria Lopez is already answering this message.",
    }
    violations = await axe_violations(pane)
    assert not violations, f"a message being answered: {violations}"

    # An empty reply is not sent; a written one is, and shows under the message.
    await pane.keyboard.press("Tab")
    await expect(message.get_by_role("button", name="Send reply")).to_be_focused()
    await pane.keyboard.press("Enter")
    await expect(message.get_by_text("Write the reply before sending it.")).to_be_visible()
    await expect(reply_box).to_be_focused()
    await expect(reply_box).to_have_attribute("aria-invalid", "true")
    await pane.keyboard.type(REPLY)
    await pane.keyboard.press("Tab")
    await pane.keyboard.press("Enter")
    await expect(message.get_by_role("heading", name="Reply sent")).to_be_focused()
    await expect(message.locator(".inbox-reply")).to_have_text(REPLY)
    await expect(message).to_contain_text(re.compile(r"By email to ana@example\.com on \w+day, "))
    await expect(reply_box).to_be_hidden()
    await expect(items).to_have_count(1)  # answered: no longer open
    await expect(tab).to_have_accessible_name("After-hours messages (1 open, 1 overdue)")
    stored = {m.reference: m for m in await stored_rows(server, AfterHoursMessage)}
    assert stored[ana["reference"]].status == "replied"
    assert stored[ana["reference"]].reply_body == REPLY
    mails = [(m.kind, m.to_address) for m in await stored_rows(server, OutboxMail)]
    assert mails.count(("after_hours_reply", "ana@example.com")) == 1, mails

    # Bo's is marked as spam: it leaves the open list, and can be put back.
    await bo_item.get_by_role("button").click()
    bo_title = message.get_by_role("heading", name=f"Bo Chen — {bo['reference']}")
    await expect(bo_title).to_be_focused()
    await expect(message.get_by_text("Overdue", exact=True).first).to_be_visible()
    await message.get_by_role("button", name="Mark as spam").click()
    await expect(items).to_have_count(0)
    await expect(pane.get_by_text("No messages.", exact=True)).to_be_visible()
    await expect(tab).to_have_accessible_name("After-hours messages (0 open)")
    await expect(bo_title).to_be_focused()
    await expect(message).to_contain_text("marked as spam by staff")

    # The filter shows spam too: the robot's message, with its score and why.
    await pane.get_by_role("group", name="Show").get_by_label("Spam", exact=True).check()
    await expect(items).to_have_count(2)
    await expect(items.nth(0)).to_contain_text("Bo Chen")
    await expect(items.nth(1)).to_contain_text(robot["reference"])
    await expect(items.nth(1)).to_contain_text("Spam · Not claimed")
    await items.nth(1).get_by_role("button").click()
    await expect(message).to_contain_text("Spam score: 1.00")
    await expect(message.get_by_role("listitem")).to_have_text(
        ["2 links", "spam phrases: ivermectin, buy … online"]
    )
    violations = await axe_violations(pane)
    assert not violations, f"a spam message: {violations}"
    await items.nth(0).get_by_role("button").click()
    await message.get_by_role("button", name="Put back").click()
    await expect(message).to_contain_text("Nobody is answering it yet.")
    await expect(tab).to_have_accessible_name("After-hours messages (1 open, 1 overdue)")
    await expect(items.nth(0)).to_contain_text("New · Not claimed")

    # A message left while the pane is open appears at once, and is announced.
    cy = await leave_message(resident_client, server, "Cy Diaz", "cy@example.com", "Pothole!")
    await expect(items.filter(has_text="Cy Diaz")).to_contain_text(cy["reference"])
    await expect(announced(pane)).to_have_text(
        f"New after-hours message from Cy Diaz ({cy['reference']})."
    )
    await expect(tab).to_have_accessible_name("After-hours messages (2 open, 1 overdue)")
    await expect(items).to_have_count(3)
    await expect(items.nth(0)).to_contain_text("Bo Chen")  # still due soonest


async def test_a_claim_lost_to_a_colleague_and_the_overdue_flag_as_time_passes(
    new_context: NewContext,
    inbox_server: tuple[LiveServer, list[timedelta]],
    resident_client: Callable[..., Awaitable[ResidentClient]],
    agent_client: Callable[..., Awaitable[AgentClient]],
) -> None:
    server, _ = inbox_server
    await add_staff(server, "maria", "Maria Lopez")
    ana = await leave_message(resident_client, server, "Ana Ruiz", "ana@example.com", ANA_TEXT)
    tom = await agent_client("tom", server=server, display_name="Tom Baker")
    (listed,) = (await tom.ok("inbox"))["messages"]

    # Maria's pane hears everything, except inbox_item events while `holding`: so both can
    # click Claim on a message each sees as new.
    holding = [False]
    held: list[tuple[WebSocketRoute, str | bytes]] = []

    def relay(socket: WebSocketRoute) -> None:
        upstream = socket.connect_to_server()

        def to_page(frame: str | bytes) -> None:
            if holding[0] and isinstance(frame, str) and '"inbox_item"' in frame:
                held.append((socket, frame))
            else:
                socket.send(frame)

        upstream.on_message(to_page)
        socket.on_message(upstream.send)

    async def route(page: Page) -> None:
        await page.route_web_socket(re.compile(r"/socket\.io/"), relay)

    pane = await open_pane(
        new_context, server, "maria", status="Away", fake_clock=True, before_sign_in=route
    )
    tab = inbox_tab(pane)
    await tab.click()
    await expect(tab).to_have_accessible_name("After-hours messages (1 open)")
    item = inbox_items(pane).first
    await item.get_by_role("button").click()
    message = inbox_message(pane)
    title = message.get_by_role("heading", name=f"Ana Ruiz — {ana['reference']}")
    await expect(title).to_be_focused()

    holding[0] = True
    await tom.ok("inbox_claim", {"id": listed["id"]})
    claim = message.get_by_role("button", name="Claim")
    await claim.click()
    await expect(
        message.get_by_text("Tom Baker is already answering this message.")
    ).to_be_visible()
    assert len(held) == 1, held
    holding[0] = False
    for socket, frame in held:
        socket.send(frame)
    await expect(claim).to_be_hidden()
    await expect(title).to_be_focused()  # the button the agent was on is gone
    await expect(message).to_contain_text("Tom Baker is answering this message.")
    await expect(item).to_contain_text("In progress · Owner: Tom Baker")
    await expect(message.get_by_label("Reply by email")).to_be_hidden()
    await expect(message.get_by_role("button", name="Close")).to_be_hidden()

    # Days later on the pane's clock (the laptop was asleep): the message is overdue now.
    await expect(item.get_by_text("Overdue", exact=True)).to_be_hidden()
    await pane.clock.fast_forward(10 * 24 * 3600 * 1000)
    await expect(item.get_by_text("Overdue", exact=True)).to_be_visible()
    await expect(tab).to_have_accessible_name("After-hours messages (1 open, 1 overdue)")
    await expect(connected(pane)).to_be_visible(timeout=RECONNECT_MS)
    await expect(tab).to_have_accessible_name("After-hours messages (1 open, 1 overdue)")
