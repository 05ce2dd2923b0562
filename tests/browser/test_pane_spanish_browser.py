"""The agent pane with a Spanish chat: the chat's language shown (and named for screen readers),
"/hours" inserting the Spanish canned response, the English one still in the menu; axe clean on a
laptop and a phone. Screenshots: CHATSVC_SHOTS=/work/notes/shots (es-pane-*.png)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import expect

from tests.browser.helpers import axe_violations
from tests.browser.test_agent_pane_browser import (
    SHOTS,
    NewContext,
    add_staff,
    composer,
    conversation,
    inbox_items,
    inbox_tab,
    my_chats,
    open_pane,
    pane_message,
)
from tests.browser.test_agent_pane_layout_browser import LAPTOP, PHONE, say
from tests.conftest import LiveServer, ResidentClient

pytestmark = pytest.mark.browser


async def test_a_spanish_chat_shows_its_language_and_gets_spanish_canned_responses(
    new_context: NewContext,
    live_server: LiveServer,
    resident_client: Callable[..., Awaitable[ResidentClient]],
) -> None:
    await add_staff(live_server, "maria", "Maria Lopez")
    pane = await open_pane(new_context, live_server, "maria")
    await pane.set_viewport_size(LAPTOP)
    resident = await resident_client()
    await resident.start(question="Quiero hablar con una persona, por favor", language="es")
    await say(resident, "¿A qué hora abren el lunes?")
    await expect(pane_message(pane, "¿A qué hora abren el lunes?")).to_be_visible()

    # The chat list: a short "ES" badge, read as "In Spanish".
    item = my_chats(pane).get_by_role("button", name=re.compile(r"^Ana Ruiz"))
    await expect(item).to_have_accessible_name(re.compile(r"In Spanish"))
    await expect(item.locator(".badge.language")).to_have_text("ESIn Spanish")
    # The conversation's header: "Español", and what it means for screen readers.
    head_badge = conversation(pane).locator(".conversation-meta .badge.language")
    await expect(head_badge).to_contain_text("Español")
    await expect(head_badge.locator('[lang="es"]')).to_have_text("Español")

    # "/hou" offers the Spanish /hours, with the center's hours written the Spanish way.
    reply = composer(pane)
    await reply.click()
    await reply.press_sequentially("/hou")
    option = pane.get_by_role("listbox", name="Matching canned responses").get_by_role("option")
    await expect(option).to_have_count(1)
    await expect(option).to_contain_text("Horario de atención")
    violations = await axe_violations(pane)
    assert not violations, f"a Spanish chat's canned responses: {violations}"
    if SHOTS:
        await pane.screenshot(path=f"{SHOTS}/es-pane-canned-1366.png")
    await pane.keyboard.press("Enter")
    await expect(reply).to_have_value(re.compile(r"^El Centro de Servicio al Ciudadano atiende "))
    await expect(reply).to_have_value(re.compile(r"de lunes a viernes|todos los días"))
    await reply.fill("")

    # The menu: the Spanish versions first, the English ones after, marked "English".
    await conversation(pane).get_by_role("button", name="Canned responses").click()
    menu = pane.get_by_role("list", name="Canned responses")
    await expect(
        menu.get_by_role("button", name=re.compile(r"^Horario de atención \/hours"))
    ).to_be_visible()
    english = menu.get_by_role("button", name="Opening hours /hours English")
    await expect(english).to_have_attribute("lang", "en")
    violations = await axe_violations(pane)
    assert not violations, f"a Spanish chat's canned menu: {violations}"
    await english.click()
    await expect(reply).to_have_value(re.compile(r"^The Citizen Service Center is open "))
    await reply.fill("")

    violations = await axe_violations(pane)
    assert not violations, f"a Spanish chat at 1366×768: {violations}"
    if SHOTS:
        await pane.screenshot(path=f"{SHOTS}/es-pane-1366.png")

    await pane.set_viewport_size(PHONE)
    await expect(head_badge).to_be_visible()
    violations = await axe_violations(pane)
    assert not violations, f"a Spanish chat at 390×844: {violations}"
    if SHOTS:
        await pane.screenshot(path=f"{SHOTS}/es-pane-390.png")
    await conversation(pane).get_by_role("button", name="My chats and the queue").click()
    await expect(item.locator(".badge.language")).to_be_visible()
    violations = await axe_violations(pane)
    assert not violations, f"my chats with a Spanish chat at 390×844: {violations}"
    if SHOTS:
        await pane.screenshot(path=f"{SHOTS}/es-pane-list-390.png")

    # A message left in Spanish: the inbox shows its language, so the reply is written in it.
    await pane.set_viewport_size(LAPTOP)
    other = await resident_client()
    left = await other.call(
        "leave_message",
        {
            "name": "Luis Pérez",
            "email": "luis@example.com",
            "message": "Nadie recogió mi sofá el viernes.",
            "client_id": uuid.uuid4().hex,
            "language": "es",
        },
    )
    assert left["ok"], left
    await inbox_tab(pane).click()
    luis = inbox_items(pane).filter(has_text="Luis Pérez")
    await expect(luis.get_by_role("button")).to_have_accessible_name(re.compile(r"In Spanish"))
    await luis.get_by_role("button").click()
    await expect(pane.locator("#inbox-message-title")).to_have_text(re.compile(r"^Luis Pérez"))
    await expect(pane.locator(".conversation-meta .badge.language:visible")).to_contain_text(
        "Español"
    )
    violations = await axe_violations(pane)
    assert not violations, f"a Spanish left message at 1366×768: {violations}"
    if SHOTS:
        await pane.screenshot(path=f"{SHOTS}/es-pane-inbox-1366.png")
