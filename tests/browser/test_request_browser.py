"""Filing a request in the widget, in Chromium: graffiti, a photo, the number, the mail."""

from __future__ import annotations

import io
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.async_api import Page, expect
from sqlalchemy import select

from chatsvc.actions.service_requests.filing import NewRequest, create_service_request
from chatsvc.actions.service_requests.status import change_status
from chatsvc.actions.service_requests.views import Contact
from chatsvc.db.models import RequestPhoto, ServiceRequest
from chatsvc.settings import Settings
from chatsvc.transport.state import CLOCK, DATABASE, REQUEST_POLICY
from tests.browser.helpers import axe_violations
from tests.browser.test_agent_pane_browser import (
    NewContext,
    add_staff,
    my_chats,
    open_pane,
    transcript,
)
from tests.browser.test_widget_browser import log, send, start_chat
from tests.conftest import Inbox, LiveServer

pytestmark = pytest.mark.browser


def a_pixel() -> bytes:
    """A real 1×1 PNG: the server decodes every photo in full."""
    out = io.BytesIO()
    Image.new("RGBA", (1, 1), (255, 0, 0, 255)).save(out, "PNG")
    return out.getvalue()


PIXEL = a_pixel()


@pytest.fixture
async def inbox(smtp_server: Callable[..., Inbox]) -> Inbox:
    return smtp_server()


@pytest.fixture
async def live_server(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    inbox: Inbox,
) -> LiveServer:
    """The server the page talks to, mailing through a real SMTP server."""
    settings = make_settings(
        smtp_host="127.0.0.1",
        smtp_port=inbox.port,
        smtp_security="none",
        mail_from="Citizen Service Center <csc@example.org>",
    )
    return await start_server(settings)


def last_assistant(page: Page) -> Any:
    return log(page).locator(".msg-assistant").last


async def test_graffiti_with_a_photo_is_filed_and_mailed(
    page: Page, live_server: LiveServer, inbox: Inbox, tmp_path: Path
) -> None:
    await start_chat(page, "There is graffiti all over the wall by my house")
    await expect(last_assistant(page)).to_contain_text("Would you like me to file")
    await page.get_by_role("button", name="File a request").click()
    # The answer to the click (seq 4), not the offer above it, which mentions an address too.
    await expect(log(page).locator(".msg-assistant[data-seq='4']")).to_contain_text("address")
    await send(page, "100 N Garfield Ave")
    await expect(last_assistant(page)).to_contain_text("describe")
    await send(page, "Black spray paint tags across the east wall of the building")
    photo_button = page.get_by_role("button", name=re.compile("Add a photo"))
    await expect(photo_button).to_be_visible()
    assert await axe_violations(page) == []

    picture = tmp_path / "wall.jpg"  # a PNG named .jpg: the server goes by the content
    picture.write_bytes(PIXEL)
    async with page.expect_file_chooser() as chooser:
        await photo_button.click()
    await (await chooser.value).set_files(str(picture))
    await expect(last_assistant(page)).to_contain_text("Shall I file it?")
    await expect(last_assistant(page)).to_contain_text("Photo: 1 photo")
    await page.get_by_role("button", name="Confirm").click()

    number = re.compile(r"\d{2}-\d{6}")
    await expect(last_assistant(page)).to_contain_text(number)
    shown = await last_assistant(page).inner_text()  # type: ignore[attr-defined]
    found = number.search(shown)
    assert found is not None

    async def stored(session: object) -> tuple[ServiceRequest, list[RequestPhoto]]:
        request = await session.scalar(select(ServiceRequest))  # type: ignore[attr-defined]
        photos = list(await session.scalars(select(RequestPhoto)))  # type: ignore[attr-defined]
        return request, photos

    request, photos = await live_server.app[DATABASE].run(stored)
    assert request.number == found.group(0) and request.service_code == "graffiti"
    assert [(p.request_id, p.content_type) for p in photos] == [(request.id, "image/png")]

    (mail,) = await inbox.wait_for(1)
    assert mail["To"] == "ana@example.com" and request.number in mail["Subject"]
    body = mail.get_content()
    assert "100 N Garfield Ave" in body and "We expect it to be done by" in body


async def test_status_lookup_right_and_wrong_in_the_widget(
    page: Page, live_server: LiveServer
) -> None:
    policy = live_server.app[REQUEST_POLICY]()
    now = live_server.app[CLOCK]()
    database = live_server.app[DATABASE]
    view = await database.run(
        create_service_request,
        NewRequest(
            "street-light",
            {"address": "500 E Colorado Blvd", "pole": "SL-4471"},
            Contact("Ana Ruiz", "ana@example.com"),
        ),
        policy=policy,
        now=now,
    )
    await database.run(
        change_status,
        number=view.number,
        status="referred",
        note=None,
        staff_id=None,
        actor="Maria",
        referred_to="Southern California Edison",
        next_steps="This light belongs to SCE: they will repair it within 10 days.",
        policy=policy,
        now=now,
    )
    await start_chat(page, f"What is the status of request {view.number}?")
    await expect(last_assistant(page)).to_contain_text("what email address")
    # The email of the chat is offered as a quick reply; a wrong one is typed.
    await expect(page.get_by_role("button", name="ana@example.com")).to_be_visible()
    await send(page, "somebody@example.com")
    await expect(last_assistant(page)).to_contain_text("couldn't find a request")
    await send(page, f"status of {view.number}")
    await page.get_by_role("button", name="ana@example.com").click()
    answer = last_assistant(page)
    await expect(answer).to_contain_text("Referred")
    await expect(answer).to_contain_text("Southern California Edison")
    await expect(answer).to_contain_text("they will repair it within 10 days")


async def photo_shown(image: Any) -> None:
    """Wait until the <img> has loaded and drawn the photo (a broken image has no width)."""
    await expect(image).to_be_visible()
    await expect(image).to_have_js_property("complete", True)
    assert await image.evaluate("img => img.naturalWidth") > 0


async def test_the_residents_photo_shows_in_the_chat_for_them_and_for_the_agent(
    page: Page, live_server: LiveServer, new_context: NewContext, tmp_path: Path
) -> None:
    """The photo used to leave only "Photo sent." in error red under the log, and the button
    relied on a camera emoji (an empty box without the font). Phone numbers the City writes are
    tel: links on both sides; one the resident typed never is."""
    await add_staff(live_server, "maria", "Maria Lopez", workgroups=("Street Maintenance",))
    await start_chat(page, "There is graffiti all over the wall by my house")
    await page.get_by_role("button", name="File a request").click()
    await expect(log(page).locator(".msg-assistant[data-seq='4']")).to_contain_text("address")
    await send(page, "100 N Garfield Ave")
    await expect(last_assistant(page)).to_contain_text("describe")
    await send(page, "Black tags on the east wall. The owner is at 626-555-0100.")
    photo_button = page.get_by_role("button", name="Add a photo", exact=True)
    await expect(photo_button).to_be_visible()
    # A drawn icon (hidden from screen readers) and words: no emoji glyph to go missing.
    await expect(photo_button.locator("svg[aria-hidden='true'] path")).to_have_count(1)
    assert "\U0001f4f7" not in await photo_button.inner_text()

    picture = tmp_path / "wall.png"
    picture.write_bytes(PIXEL)
    async with page.expect_file_chooser() as chooser:
        await photo_button.click()
    await (await chooser.value).set_files(str(picture))
    await expect(last_assistant(page)).to_contain_text("Shall I file it?")
    mine = log(page).locator(".msg-resident").filter(has=page.locator("img"))
    await expect(mine).to_have_count(1)
    await photo_shown(mine.get_by_role("img", name="Your photo"))
    # Sent is not an error: nothing in the alert line, nothing in red.
    await expect(page.locator("chatsvc-widget .alert")).to_have_text("")
    await expect(page.get_by_text("Photo sent.")).to_have_count(0)
    assert await axe_violations(page) == []

    # The resident's number, in their message and in the assistant's summary, is no link.
    summary = last_assistant(page)
    await expect(summary).to_contain_text("The owner is at 626-555-0100.")
    await expect(log(page).locator("a[href='tel:+16265550100']")).to_have_count(0)

    # Still there after a reload (fetched again with the chat's token); the panel comes back
    # open, as the resident left it.
    await page.reload()
    await photo_shown(log(page).get_by_role("img", name="Your photo"))

    # The agent who takes the chat sees the photo too, and the City's number as a link.
    pane = await open_pane(new_context, live_server, "maria")
    await send(page, "Talk to a person")
    await expect(log(page).locator(".msg-assistant").last).to_contain_text("(626) 744-7311")
    call = log(page).locator(".msg-assistant").last.get_by_role("link", name="(626) 744-7311")
    await expect(call).to_have_attribute("href", "tel:+16267447311")
    # Routed to Maria, the chat opens in her pane (a loaded machine may take a while).
    await expect(my_chats(pane)).to_contain_text("Ana Ruiz", timeout=15_000)
    photo = transcript(pane).get_by_role("img", name="Photo sent by the resident")
    await photo_shown(photo)
    city = transcript(pane).locator(".msg-assistant").get_by_role("link", name="(626) 744-7311")
    await expect(city.last).to_have_attribute("href", "tel:+16267447311")
    owner = transcript(pane).locator(".msg-resident").filter(has_text="626-555-0100")
    await expect(owner).to_have_count(1)
    await expect(owner.get_by_role("link")).to_have_count(0)
    await expect(transcript(pane).locator("a[href='tel:+16265550100']")).to_have_count(0)
    assert await axe_violations(pane) == []
