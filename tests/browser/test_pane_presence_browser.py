"""What the pane says about the resident: online, away, left; typing that stops with their tab;
and words, not raw values ("No topic guessed yet", never "Topic guess: none")."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.helpers import axe_violations
from tests.browser.test_agent_pane_browser import (
    SHOTS,
    NewContext,
    add_staff,
    conversation,
    my_chats,
    open_pane,
    resident_starts_chat,
)
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

ASK = "I'd like to talk to a person."


async def hide_tab(page: Page, hidden: bool) -> None:
    """Play the browser hiding the tab (another tab or window in front), or showing it again."""
    await page.evaluate(
        """(hidden) => {
            Object.defineProperty(document, "hidden", {value: hidden, configurable: true});
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )


async def shots(page: Page, name: str) -> None:
    if not SHOTS:
        return
    for size in ({"width": 1366, "height": 768}, {"width": 390, "height": 844}):
        await page.set_viewport_size(size)
        await page.screenshot(path=f"{SHOTS}/{name}-{size['width']}.png")
    await page.set_viewport_size({"width": 1366, "height": 768})


async def test_the_agent_sees_whether_the_resident_is_there(
    new_context: NewContext, live_server: LiveServer
) -> None:
    await add_staff(live_server, "maria", "Maria Lopez")
    pane = await open_pane(new_context, live_server, "maria")
    resident = await resident_starts_chat(new_context, live_server, ASK)

    item = my_chats(pane).get_by_role("button", name=re.compile(r"^Ana Ruiz"))
    head = conversation(pane).locator(".conversation-meta")
    await expect(item).to_contain_text("Online")
    await expect(head).to_contain_text("The resident is online.")
    # Words, never a raw value: no topic was guessed for "talk to a person".
    await expect(head).to_contain_text("No topic guessed yet")
    await expect(conversation(pane)).not_to_contain_text("none")

    # The resident types: the chat list says so.
    box: Any = resident.get_by_label("Message", exact=True)
    await box.press_sequentially("My couch is")
    typing = item.locator(".typing-hint")
    await expect(typing).to_be_visible()

    # They switch to another tab: away, and no longer typing.
    await hide_tab(resident, True)
    await expect(item).to_contain_text("Away")
    await expect(head).to_contain_text("The resident is away: the chat is not on their screen.")
    await expect(typing).to_be_hidden()
    assert not await axe_violations(pane), "the pane with the resident away"
    await shots(pane, "pane-resident-away")
    await hide_tab(resident, False)
    await expect(item).to_contain_text("Online")

    # They type again and close the tab mid-word: left, and "typing…" goes at once (it used to
    # stay for good).
    await box.press_sequentially(" still")
    await expect(typing).to_be_visible()
    await resident.context.close()
    await expect(item).to_contain_text("Left")
    await expect(typing).to_be_hidden(timeout=3000)
    await expect(head).to_contain_text("The resident has left: no chat window of theirs is open.")
    assert not await axe_violations(pane), "the pane with the resident gone"
    await shots(pane, "pane-resident-left")
