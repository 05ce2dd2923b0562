"""Service requests in the agent pane, in Chromium: filing from a chat, the Requests page."""

from __future__ import annotations

import re
import struct
import zlib
from typing import Any

import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select

from chatsvc.actions.service_requests.filing import NewRequest, create_service_request
from chatsvc.actions.service_requests.photos import store_photo
from chatsvc.clock import utc_now
from chatsvc.db.models import Conversation, OutboxMail
from chatsvc.images import clean_image
from chatsvc.transport.state import DATABASE, REQUEST_POLICY
from tests.browser.helpers import axe_violations
from tests.browser.test_agent_pane_browser import (
    NewContext,
    add_staff,
    conversation,
    open_pane,
    resident_starts_chat,
    widget_send,
)
from tests.conftest import LiveServer

pytestmark = pytest.mark.browser

GRAFFITI = "There's graffiti on the wall at 100 N Garfield Ave"
NUMBER = re.compile(r"^\d{2}-000001$")


def tiny_png() -> bytes:
    """A real 1×1 PNG, so the browser can draw it."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def requests_page(page: Page) -> Any:
    return page.get_by_role("region", name="Service requests", exact=True)


def request_detail(page: Page) -> Any:
    return page.get_by_role("region", name="Service request", exact=True)


async def assert_axe_clean(page: Page, where: str) -> None:
    violations = await axe_violations(page)
    assert not violations, f"{where}: {violations}"


@pytest.mark.postgresql_too  # the smoke run of the requests page on PostgreSQL
async def test_an_agent_files_a_request_from_a_chat_and_works_it_on_the_requests_page(
    new_context: NewContext, live_server: LiveServer
) -> None:
    await add_staff(live_server, "maria", "Maria Lopez")
    pane = await open_pane(new_context, live_server, "maria")

    # The resident tells the City Assistant about graffiti, then asks for a person.
    resident = await resident_starts_chat(new_context, live_server, GRAFFITI)
    await expect(resident.locator("chatsvc-widget .msg-assistant").first).to_be_visible()
    await widget_send(resident, "I'd like to talk to a person, please.")
    await expect(conversation(pane).get_by_role("heading", name="Ana Ruiz")).to_be_visible()
    await expect(conversation(pane)).to_contain_text("Topic guess: Graffiti Removal")
    # She sent a photo in the chat too (the upload itself is the widget's).
    async with live_server.app[DATABASE].engine.connect() as conn:
        cid = await conn.scalar(select(Conversation.id))
    photo = await live_server.app[DATABASE].run(
        store_photo,
        conversation_id=cid,
        image=clean_image(tiny_png(), max_pixels=1),
        now=utc_now(),
    )

    # The form opens with the chat's topic and the address she gave; Escape closes it.
    create = conversation(pane).get_by_role("button", name="Create request…")
    await create.click()
    dialog = pane.get_by_role("dialog", name="Create a service request")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("For Ana Ruiz (ana@example.com)")
    topic = dialog.get_by_label("Topic (required)")
    await expect(topic).to_be_focused()
    await expect(topic).to_have_value("graffiti")
    address = dialog.get_by_label("Address (required)")
    await expect(address).to_have_value("100 N Garfield Ave")
    description = dialog.get_by_label("Description (required)")
    await expect(description).to_have_value(re.compile(r"graffiti on the wall"))
    await expect(dialog.get_by_label("Photo 1 from the chat")).to_be_checked()
    await assert_axe_clean(pane, "the request form")
    await pane.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()
    await expect(create).to_be_focused()

    # Again, with a place the crew cannot find: the server's answer is shown at the field.
    await pane.keyboard.press("Enter")
    await expect(dialog).to_be_visible()
    await expect(address).to_have_value("100 N Garfield Ave")
    await address.fill("behind the library")
    await dialog.get_by_role("button", name="Create request").click()
    await expect(address).to_be_focused()
    await expect(address).to_have_attribute("aria-invalid", "true")
    await expect(address).to_have_accessible_description(re.compile(r"street address"))
    await expect(dialog.get_by_text("The request was not created: check Address.")).to_be_visible()
    await assert_axe_clean(pane, "the request form with an error")
    await address.fill("100 N Garfield Ave")
    await expect(address).not_to_have_attribute("aria-invalid", "true")
    await dialog.get_by_role("button", name="Create request").click()
    await expect(dialog).to_be_hidden()
    await expect(create).to_be_focused()

    # The number shows in the pane; the resident reads it in their chat.
    filed = conversation(pane).locator(".request-filed")
    await expect(filed.locator(".request-number")).to_have_text(NUMBER)
    number = await filed.locator(".request-number").inner_text()
    await expect(filed).to_contain_text("The resident was told in the chat.")
    told = resident.locator("chatsvc-widget .msg").filter(has_text=number)
    await expect(told).to_contain_text("We expect it to be done by")
    await expect(told).to_have_class(re.compile(r"\bmsg-agent\b"))
    async with live_server.app[DATABASE].engine.connect() as conn:
        kinds = list(await conn.scalars(select(OutboxMail.kind)))
    assert kinds == ["request_created"], kinds

    # The Requests page lists it.
    tab = pane.get_by_role("navigation", name="Views").get_by_role("button", name="Requests")
    await tab.click()
    await expect(tab).to_have_attribute("aria-pressed", "true")
    listing = requests_page(pane)
    row = listing.get_by_role("row").filter(has=pane.get_by_role("button", name=number))
    await expect(row).to_contain_text("Graffiti Removal")
    await expect(row).to_contain_text("Open")
    await expect(row).to_contain_text("Public Works")
    await expect(row).to_contain_text("100 N Garfield Ave")
    await expect(row.get_by_text("Overdue")).to_be_hidden()
    await expect(listing).to_contain_text("1 request. Newest first.")

    # Filters: by status (none closed yet; then open), by topic.
    status = listing.get_by_label("Status")
    await status.select_option(label="Closed")
    await listing.get_by_role("button", name="Show requests").click()
    await expect(listing).to_contain_text("No requests match.")
    await expect(row).to_be_hidden()
    await status.select_option(label="Open")
    await listing.get_by_label("Topic").select_option(label="Graffiti Removal")
    await listing.get_by_role("button", name="Show requests").click()
    await expect(row).to_be_visible()

    # One from elsewhere (Open311 here) arrives live, at the top of the list it matches.
    other = await live_server.app[DATABASE].run(
        create_service_request,
        NewRequest(
            service_code="graffiti",
            values={"address": "Lake Ave and Colorado Blvd", "description": "Tags on a bench"},
            source="open311",
            actor="Open311 client",
        ),
        policy=live_server.app[REQUEST_POLICY](),
        now=utc_now(),
    )
    numbers = listing.locator("tbody th[scope=row]")
    await expect(numbers).to_have_text([other.number, number])

    # Its details, photo and history; then the agent closes it with a note.
    await row.get_by_role("button", name=number).click()
    detail = request_detail(pane)
    title = detail.get_by_role("heading", name=f"Request {number} — Graffiti Removal")
    await expect(title).to_be_focused()
    await expect(detail).to_contain_text("Ana Ruiz · ana@example.com")
    await expect(detail).to_contain_text("From the Agent pane")
    image = detail.get_by_role("img", name=f"Photo 1 of 1 for request {number}")
    await expect(image).to_have_attribute("src", f"/agent/requests/photos/{photo.id}")
    await expect(image).to_have_js_property("naturalWidth", 1)  # served to signed-in staff
    history = detail.get_by_role("region", name="History").get_by_role("listitem")
    await expect(history).to_have_count(1)
    await expect(history.first).to_contain_text("Request received.")
    await expect(history.first).to_contain_text("Maria Lopez")

    await detail.get_by_label("New status").select_option(label="Referred")
    await detail.get_by_label("Note", exact=True).fill("On private property.")
    await detail.get_by_role("button", name="Save status").click()
    referred_to = detail.get_by_label("Referred to (department or agency, required)")
    await expect(referred_to).to_be_focused()
    await expect(referred_to).to_have_attribute("aria-invalid", "true")
    await detail.get_by_label("New status").select_option(label="Closed")
    await expect(referred_to).to_be_hidden()
    hostile = "Painted over <b>today</b> & checked."
    await detail.get_by_label("Note", exact=True).fill(hostile)
    await detail.get_by_role("button", name="Save status").click()
    await expect(history).to_have_count(2)
    await expect(history.nth(1)).to_contain_text("Closed")
    await expect(history.nth(1).locator(".text")).to_have_text(hostile)  # text, not markup
    await expect(detail.get_by_role("heading", name="History")).to_be_focused()
    await expect(detail.get_by_label("Note", exact=True)).to_have_value("")
    await expect(row).to_contain_text("Closed")
    await assert_axe_clean(pane, "the Requests page")
    async with live_server.app[DATABASE].engine.connect() as conn:
        kinds = list(await conn.scalars(select(OutboxMail.kind).order_by(OutboxMail.id)))
    assert kinds == ["request_created", "request_closed"], kinds

    # With the filter on Closed now, it is the one listed.
    await status.select_option(label="Closed")
    await listing.get_by_role("button", name="Show requests").click()
    await expect(numbers).to_have_text([number])

    # Back in the chat, a second request on another topic: the form suggests its fields too,
    # and the Requests page, already loaded, gets it live at the top.
    await status.select_option(label="All statuses")
    await listing.get_by_label("Topic").select_option(label="All topics")
    await listing.get_by_role("button", name="Show requests").click()
    await expect(numbers).to_have_text([other.number, number])
    await pane.get_by_role("navigation", name="Views").get_by_role("button", name="Chats").click()
    await create.click()
    await expect(topic).to_have_value("graffiti")
    await expect(dialog.get_by_label("Photo 1 from the chat")).to_have_count(0)  # filed already
    await topic.select_option(label="Potholes / Street Repair — Public Works")
    await expect(address).to_have_value("100 N Garfield Ave")
    await description.fill("A deep pothole by the curb")
    await dialog.get_by_role("button", name="Create request").click()
    await expect(dialog).to_be_hidden()
    third = conversation(pane).locator(".request-filed").nth(1)
    await expect(third).to_contain_text("Potholes / Street Repair")
    third_number = await third.locator(".request-number").inner_text()
    await third.get_by_role("button", name=re.compile(r"^Open it in Requests")).click()
    await expect(
        request_detail(pane).get_by_role(
            "heading", name=f"Request {third_number} — Potholes / Street Repair"
        )
    ).to_be_focused()
    await expect(numbers).to_have_text([third_number, other.number, number])
