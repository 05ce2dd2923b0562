"""The agent pane as a CSR sees it on a laptop and a phone: the reply box always on screen, the
canned-response menus that get out of the way, a transferred chat that opens where it matters."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import Page, expect

from chatsvc.actions.canned import canned_responses, delete_canned, save_canned
from chatsvc.cli import known_workgroups
from chatsvc.clock import utc_now
from chatsvc.transport.state import DATABASE
from tests.browser.helpers import axe_violations
from tests.browser.test_agent_pane_browser import (
    SHOTS,
    NewContext,
    add_staff,
    composer,
    conversation,
    inbox_tab,
    my_chats,
    open_pane,
    page_header,
    pane_message,
    status_button,
    transcript,
)
from tests.conftest import LiveServer, ResidentClient
from tests.waiting import eventually

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


async def say(resident: ResidentClient, *texts: str) -> None:
    for text in texts:
        ack = await resident.call("message", {"client_id": uuid.uuid4().hex, "text": text})
        assert ack["ok"], ack


def story(lines: int) -> list[str]:
    return [
        f"Line {n}: the bill went from $80 to $310 and nothing changed at home."
        for n in range(lines)
    ]


async def on_screen(page: Page, target: Any) -> None:
    """`target` is wholly inside the window, and the page itself does not scroll."""
    box = await target.bounding_box()
    size = page.viewport_size
    assert box is not None and size is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], (box, size)
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], (box, size)
    scroll = await page.evaluate(
        "() => [document.scrollingElement.scrollHeight, innerHeight, scrollY]"
    )
    assert scroll[0] <= scroll[1] and scroll[2] == 0, f"the page scrolls: {scroll}"


async def screenshot(page: Page, name: str) -> None:
    if SHOTS:
        size = page.viewport_size or {"width": 0}
        await page.screenshot(path=f"{SHOTS}/{name}-{size['width']}.png")


async def test_the_reply_box_is_on_screen_on_a_laptop_and_a_phone(
    new_context: NewContext,
    live_server: LiveServer,
    resident_client: Callable[..., Awaitable[ResidentClient]],
) -> None:
    # Maria is in every workgroup of the knowledge base, as the demo accounts are (24 of them).
    workgroups = tuple(sorted(known_workgroups(live_server.settings)))
    assert len(workgroups) >= 20
    await add_staff(live_server, "maria", "Maria Lopez", workgroups=workgroups)
    pane = await open_pane(new_context, live_server, "maria")
    await pane.set_viewport_size(LAPTOP)
    resident = await resident_client()
    await resident.start()
    lines = story(12)
    await say(resident, *lines)
    newest = pane_message(pane, lines[-1])
    await expect(newest).to_be_visible()

    # The reply box and Send are on screen, under the newest message; the page does not scroll.
    reply = composer(pane)
    await on_screen(pane, reply)
    await on_screen(pane, conversation(pane).get_by_role("button", name="Send"))
    await expect(newest).to_be_in_viewport()
    # The queue and my chats on the left, the resident's details on the right, all in view.
    await expect(my_chats(pane)).to_be_in_viewport()
    await expect(pane.get_by_role("region", name="Resident")).to_be_in_viewport()
    # The workgroups wait behind the account menu; Escape closes it again.
    header = page_header(pane)
    await expect(header.get_by_text("Street Maintenance")).to_be_hidden()
    account = header.get_by_text("Signed in as Maria Lopez (agent)", exact=True)
    account_button = pane.locator("#account > summary")
    await expect(account_button).to_have_accessible_name(
        "Signed in as Maria Lopez (agent), workgroups and sign out"
    )
    await account_button.click()
    await expect(
        header.get_by_role("heading", name=f"Workgroups ({len(workgroups)})")
    ).to_be_visible()
    await expect(header.get_by_role("listitem")).to_have_count(len(workgroups))
    await expect(account).to_be_visible()
    await expect(header.get_by_role("button", name="Sign out")).to_be_visible()
    assert not await axe_violations(pane)
    await pane.keyboard.press("Escape")
    await expect(header.get_by_text("Street Maintenance")).to_be_hidden()
    await expect(account_button).to_be_focused()
    violations = await axe_violations(pane)
    assert not violations, f"pane at 1366×768: {violations}"
    await screenshot(pane, "pane-chat")

    # A phone: the chat alone, its reply box on screen.
    await pane.set_viewport_size(PHONE)
    await expect(my_chats(pane)).to_be_hidden()
    await on_screen(pane, reply)
    await on_screen(pane, conversation(pane).get_by_role("button", name="Send"))
    await expect(newest).to_be_in_viewport()
    await reply.fill("Hello Ana, this is Maria.")
    await reply.press("Enter")
    await expect(pane_message(pane, "Hello Ana, this is Maria.")).to_be_in_viewport()
    violations = await axe_violations(pane)
    assert not violations, f"pane at 390×844: {violations}"
    await screenshot(pane, "pane-chat")
    # The resident's details come with a button, and the chat comes back with it.
    details = conversation(pane).get_by_role("button", name="Details")
    await details.click()
    await expect(details).to_have_attribute("aria-expanded", "true")
    await expect(pane.get_by_role("region", name="Resident")).to_be_visible()
    await expect(transcript(pane)).to_be_hidden()
    violations = await axe_violations(pane)
    assert not violations, f"a chat's details at 390×844: {violations}"
    await details.click()
    await expect(reply).to_be_visible()
    # My chats and the queue are one button away, and the chat one more.
    await conversation(pane).get_by_role("button", name="My chats and the queue").click()
    await expect(my_chats(pane).get_by_role("heading")).to_be_focused()
    await expect(reply).to_be_hidden()
    violations = await axe_violations(pane)
    assert not violations, f"my chats at 390×844: {violations}"
    await screenshot(pane, "pane-list")
    await my_chats(pane).get_by_role("button", name=re.compile(r"^Ana Ruiz")).click()
    await expect(reply).to_be_focused()
    await on_screen(pane, reply)


async def test_the_canned_menus_close_on_escape_blur_and_send(
    new_context: NewContext,
    live_server: LiveServer,
    resident_client: Callable[..., Awaitable[ResidentClient]],
) -> None:
    sam = await add_staff(live_server, "sam", "Sam Carter", role="supervisor")
    await add_staff(live_server, "maria", "Maria Lopez")
    pane = await open_pane(new_context, live_server, "maria")
    resident = await resident_client()
    await resident.start()
    reply = composer(pane)
    await expect(reply).to_be_visible()

    # A new installation has the center's starter set: /hours with the center's hours.
    options = pane.get_by_role("listbox", name="Matching canned responses")
    await reply.press_sequentially("/hou")
    await expect(options.get_by_role("option")).to_have_text(
        [re.compile(r"^/hours Opening hoursThe Citizen Service Center is open ")]
    )
    await pane.keyboard.press("Escape")
    await expect(options).to_be_hidden()
    await expect(reply).to_have_value("/hou")
    # Leaving the box closes them.
    await reply.press_sequentially("r")
    await expect(options).to_be_visible()
    await transcript(pane).click()
    await expect(options).to_be_hidden()
    # And sending.
    await reply.fill("Our hours are on /hou")
    await expect(options).to_be_visible()
    await conversation(pane).get_by_role("button", name="Send").click()
    await expect(pane_message(pane, "Our hours are on /hou")).to_be_visible()
    await expect(options).to_be_hidden()
    await screenshot(pane, "pane-sent")

    # The "Canned responses" menu: Escape, a click in the reply box, and Send close it.
    menu_button = conversation(pane).get_by_role("button", name="Canned responses")
    menu = pane.get_by_role("list", name="Canned responses")
    await menu_button.click()
    await expect(menu.get_by_role("button", name="Opening hours /hours")).to_be_visible()
    await screenshot(pane, "pane-canned-menu")
    await pane.keyboard.press("Escape")
    await expect(menu).to_be_hidden()
    await expect(menu_button).to_be_focused()
    await expect(menu_button).to_have_attribute("aria-expanded", "false")
    await menu_button.click()
    await expect(menu).to_be_visible()
    await reply.click()
    await expect(menu).to_be_hidden()
    await menu_button.click()
    await expect(menu).to_be_visible()
    await conversation(pane).get_by_role("button", name="Send").click()
    await expect(menu).to_be_hidden()

    # With none at all, the menu says so, and that closes just the same.
    database = live_server.app[DATABASE]
    for canned in await database.run(canned_responses):
        await database.run(delete_canned, by=sam, canned_id=canned.id)
    await expect(options.get_by_role("option")).to_have_count(0)
    none_yet = pane.get_by_text("No canned responses yet.")
    await menu_button.click()
    await expect(none_yet).to_be_visible()
    await pane.keyboard.press("Escape")
    await expect(none_yet).to_be_hidden()
    await menu_button.click()
    await expect(none_yet).to_be_visible()
    await reply.click()
    await expect(none_yet).to_be_hidden()
    await reply.fill("Thank you for waiting")
    await menu_button.click()
    await expect(none_yet).to_be_visible()
    await conversation(pane).get_by_role("button", name="Send").click()
    await expect(pane_message(pane, "Thank you for waiting")).to_be_visible()
    await expect(none_yet).to_be_hidden()
    await reply.press_sequentially("/hours")
    await expect(none_yet).to_be_hidden()
    await expect(options).to_be_hidden()

    # A response added meanwhile does not open the closed menu over the reply box.
    await database.run(
        save_canned,
        by=sam,
        canned_id=None,
        shortcut="hours",
        title="Opening hours",
        text="Open 8 to 5.",
        now=utc_now(),
    )
    await reply.press("Backspace")
    await reply.press_sequentially("s")
    await expect(options.get_by_role("option")).to_have_count(1)
    await expect(menu).to_be_hidden()
    await pane.keyboard.press("Escape")
    await expect(options).to_be_hidden()
    violations = await axe_violations(pane)
    assert not violations, f"pane after the menus: {violations}"


async def test_a_transferred_chat_opens_at_its_newest_message_with_the_note(
    new_context: NewContext,
    live_server: LiveServer,
    resident_client: Callable[..., Awaitable[ResidentClient]],
) -> None:
    await add_staff(live_server, "maria", "Maria Lopez")
    jo_id = (await add_staff(live_server, "jo", "Jo Park")).id
    maria = await open_pane(new_context, live_server, "maria")
    jo = await open_pane(new_context, live_server, "jo", status="Away")
    await maria.set_viewport_size(LAPTOP)
    await jo.set_viewport_size(LAPTOP)
    resident = await resident_client()
    await resident.start(name="Bo Chen", email="bo@example.com")
    lines = story(15)
    await say(resident, *lines)
    await expect(pane_message(maria, lines[-1])).to_be_visible()

    # Jo answers after-hours messages. Maria opens the transfer dialog: Jo is away.
    await inbox_tab(jo).click()
    await conversation(maria).get_by_role("button", name="Transfer…").click()
    dialog = maria.get_by_role("dialog", name="Transfer the chat with Bo Chen")
    agents = dialog.get_by_label("Agent", exact=True)
    jo_option = agents.locator(f"option[value='{jo_id}']")
    await expect(jo_option).to_have_text("Jo Park — Away, 0 of 3 chats")
    # Jo becomes available: the open dialog says so at once, Jo still chosen.
    await status_button(jo, "Available").click()
    await expect(jo_option).to_have_text("Jo Park — Available, 0 of 3 chats")
    await expect(agents).to_have_value(str(jo_id))
    note_text = "Bill jumped from $80 to $310; he asked for a meter re-read. Prefers email."
    await dialog.get_by_label("Note for the next person (required)").fill(note_text)
    await dialog.get_by_role("button", name="Transfer").click()
    await expect(dialog).to_have_count(0)

    # Jo's Chats tab says a chat is new, for eyes and screen readers.
    chats_tab = jo.get_by_role("navigation", name="Views").get_by_role(
        "button", name=re.compile(r"^Chats")
    )
    await expect(chats_tab).to_have_accessible_name("Chats 1 new")
    await screenshot(jo, "pane-transfer-badge")
    violations = await axe_violations(jo)
    assert not violations, f"the inbox with a new chat: {violations}"

    # Opened, the chat shows its newest message and the transfer note under it.
    await chats_tab.click()
    note = transcript(jo).locator(".note").filter(has_text=note_text)
    await expect(note).to_contain_text("Transfer note — staff only")
    await expect(note).to_be_in_viewport()
    await expect(pane_message(jo, lines[-1])).to_be_in_viewport()
    at_bottom = "t => t.scrollHeight - t.scrollTop - t.clientHeight < 2"
    assert await transcript(jo).evaluate("t => t.scrollHeight > 2 * t.clientHeight")
    await eventually(lambda: transcript(jo).evaluate(at_bottom), what="at the newest message")
    await expect(chats_tab).to_have_accessible_name("Chats")
    bo_item = my_chats(jo).get_by_role("button", name=re.compile(r"^Bo Chen"))
    await expect(bo_item.get_by_text("New", exact=True)).to_be_hidden()
    await on_screen(jo, composer(jo))
    violations = await axe_violations(jo)
    assert not violations, f"a transferred chat: {violations}"
    await screenshot(jo, "pane-transfer")

    # Scrolled up to read, Jo stays there when Bo writes, and is offered the way down.
    await transcript(jo).evaluate("t => { t.scrollTop = 0; }")
    await say(resident, "Are you still there?")
    below = conversation(jo).get_by_role("button", name="New messages below")
    await expect(below).to_be_visible()
    assert await transcript(jo).evaluate("t => t.scrollTop") == 0
    await expect(pane_message(jo, "Are you still there?")).not_to_be_in_viewport()
    await below.click()
    await expect(pane_message(jo, "Are you still there?")).to_be_in_viewport()
    await expect(below).to_be_hidden()
    await jo.set_viewport_size(PHONE)
    await expect(note).to_be_in_viewport()
    await on_screen(jo, composer(jo))
    await screenshot(jo, "pane-transfer")
