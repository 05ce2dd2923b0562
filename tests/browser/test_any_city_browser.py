"""The agent pane of another city (tests/data/riverbend/) names that city's assistant."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import expect

from chatsvc.settings import Settings
from tests.browser.test_agent_pane_browser import NewContext, add_staff, conversation, open_pane
from tests.conftest import LiveServer, ResidentClient
from tests.realtime.test_any_city import RIVERBEND

pytestmark = pytest.mark.browser


@pytest.fixture
async def live_server(
    make_settings: Callable[..., Settings], start_server: Callable[..., Awaitable[LiveServer]]
) -> LiveServer:
    """The service run by Riverbend, whose assistant is "Riverbend Helper"."""
    return await start_server(make_settings(knowledge_base=RIVERBEND))


async def test_the_pane_names_the_citys_assistant(
    new_context: NewContext,
    live_server: LiveServer,
    resident_client: Callable[..., Awaitable[ResidentClient]],
) -> None:
    await add_staff(live_server, "sam", "Sam Ortiz", role="supervisor")
    pane = await open_pane(new_context, live_server, "sam", status="Away")
    resident = await resident_client(live_server.url)
    started = await resident.call(
        "start", {"name": "Ana Ruiz", "email": "ana@example.com", "question": "hello"}
    )
    assert started["ok"], started
    chat_id = started["conversation"]["id"]

    # A chat still with the assistant opens by its number; the pane names the assistant.
    await pane.get_by_role("button", name="Supervisor").click()
    await expect(
        pane.get_by_text(re.compile(r"^Any chat, ended or with Riverbend Helper too"))
    ).to_be_visible()
    await pane.get_by_label("Chat number").fill(str(chat_id))
    await pane.get_by_role("button", name="Open chat").click()
    chat = conversation(pane)
    await expect(chat.get_by_role("heading", name="Ana Ruiz")).to_be_focused()
    await expect(chat).to_contain_text("With Riverbend Helper")
    await expect(chat.get_by_text("Riverbend Helper is answering this chat.")).to_be_visible()
    await expect(chat.locator(".msg-assistant .author").first).to_have_text("Riverbend Helper")
    await expect(pane.locator("body")).not_to_contain_text("City Assistant")
