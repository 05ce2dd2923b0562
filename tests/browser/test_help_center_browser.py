"""The help center in Chromium, as a resident uses it: search with a typo, read, answer "Was
this helpful?", open the chat from the article with its context, and look up a request; every
screen axe clean. Set CHATSVC_SHOTS to a folder to keep screenshots (help-*.png) to look at."""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable

from playwright.async_api import BrowserContext, Page, expect

from chatsvc.actions.service_requests.filing import NewRequest, create_service_request
from chatsvc.actions.service_requests.views import Contact
from chatsvc.db.models import ArticleVote
from chatsvc.settings import Settings
from chatsvc.transport.state import DATABASE, REQUEST_POLICY
from tests.browser.helpers import PageErrors, axe_violations
from tests.browser.test_widget_browser import choose_assistant, panel
from tests.conftest import LiveServer, stored_rows
from tests.realtime.test_request_chat import CITY, MONDAY_TEN

SHOTS = os.environ.get("CHATSVC_SHOTS")
SIZES = [{"width": 1366, "height": 768}, {"width": 390, "height": 844}]


async def screenshots(page: Page, name: str) -> None:
    if not SHOTS:
        return
    for size in SIZES:
        await page.set_viewport_size(size)
        await page.screenshot(path=f"{SHOTS}/help-{name}-{size['width']}.png", full_page=True)
    await page.set_viewport_size(SIZES[0])


async def assert_axe_clean(page: Page) -> None:
    violations = await axe_violations(page)
    assert violations == [], violations


async def test_a_resident_searches_reads_answers_and_chats_from_an_article(
    new_context: Callable[..., Awaitable[BrowserContext]], live_server: LiveServer
) -> None:
    page = await (await new_context(viewport=SIZES[0])).new_page()
    await page.goto(live_server.url + "/help")
    await expect(page).to_have_title("Help center | Citizen Service Center | City of Pasadena")
    await assert_axe_clean(page)
    await screenshots(page, "home")

    # Keyboard only: the skip link, then the search box.
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    search = page.get_by_label("Search for answers")
    await search.fill("scedule a couch pikup")
    await search.press("Enter")
    results = page.locator(".results li h2 a")
    await expect(results.first).to_have_text("Schedule a bulky item pickup")
    await assert_axe_clean(page)
    await screenshots(page, "search")

    await results.first.focus()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(live_server.url + "/help/bulky-item-pickup/schedule")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Schedule a bulky item pickup")
    await expect(page.get_by_role("navigation", name="Related articles")).to_be_visible()
    await assert_axe_clean(page)
    await screenshots(page, "article")

    # Printed: the article, without the search, the forms and the chat.
    await page.emulate_media(media="print")
    await expect(page.locator(".helpful")).to_be_hidden()
    await expect(page.locator(".still")).to_be_hidden()
    await expect(page.locator(".article-body")).to_be_visible()
    await page.emulate_media(media="screen")

    await page.get_by_role("button", name="Yes").click()
    await expect(page.locator(".helpful [role=status]")).to_contain_text("glad this helped")
    votes = await stored_rows(live_server, ArticleVote)
    assert [(v.article_id, v.helpful) for v in votes] == [("bulky-item-pickup-schedule", True)]
    await assert_axe_clean(page)

    # "Still need help?": the chat opens with the article as the question, ready to send.
    await page.locator("[data-chatsvc-ask]").click()
    await expect(panel(page)).to_be_visible()
    await choose_assistant(page)
    await expect(page.get_by_label("Question")).to_have_value(
        "Schedule a bulky item pickup: I still have a question."
    )
    await assert_axe_clean(page)
    await screenshots(page, "article-chat")


async def test_the_no_results_page_offers_the_chat_and_the_phone(
    new_context: Callable[..., Awaitable[BrowserContext]], live_server: LiveServer
) -> None:
    page = await (await new_context(viewport=SIZES[0])).new_page()
    await page.goto(live_server.url + "/help?q=zzqqxx")
    await expect(page.get_by_role("heading", name="No articles found")).to_be_visible()
    await expect(page.get_by_role("link", name="(626) 744-7311").first).to_be_visible()
    await assert_axe_clean(page)
    await screenshots(page, "no-results")
    # Zoomed to 200%: nothing needs a sideways scroll.
    await page.set_viewport_size({"width": 683, "height": 384})
    wide = await page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not wide


async def test_a_resident_looks_up_a_request_without_javascript(
    new_context: Callable[..., Awaitable[BrowserContext]],
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    page_errors: PageErrors,
) -> None:
    # The form sent empty is answered 400 with its errors, which Chromium logs.
    page_errors.allow(r"status of 400 \(Bad Request\)")
    server = await start_server(make_settings(**CITY), clock=lambda: MONDAY_TEN)
    view = await server.app[DATABASE].run(
        create_service_request,
        NewRequest(
            "pothole",
            {"address": "300 N Lake Ave", "description": "Deep pothole in the right lane"},
            Contact("Bo", "bo@example.com"),
        ),
        policy=server.app[REQUEST_POLICY](),
        now=MONDAY_TEN,
    )
    page = await (await new_context(viewport=SIZES[0], java_script_enabled=False)).new_page()
    await page.goto(server.url + "/requests/lookup")
    await page.get_by_role("button", name="Check status").click()
    await expect(page.locator("#lookup-number-error")).to_be_visible()
    await page.get_by_label("Request number").fill(view.number)
    await page.get_by_label("Email address").fill("bo@example.com")
    await page.get_by_role("button", name="Check status").click()
    status = page.get_by_role("status")
    await expect(status).to_contain_text(f"Request {view.number}")
    await expect(status).to_contain_text("Potholes / Street Repair")
    await page.close()
    # axe needs script: the same page again in a context with JavaScript.
    page = await (await new_context(viewport=SIZES[0])).new_page()
    await page.goto(server.url + "/requests/lookup")
    await page.get_by_label("Request number").fill(view.number)
    await page.get_by_label("Email address").fill("bo@example.com")
    await page.get_by_role("button", name="Check status").click()
    await expect(page.locator(".status-card")).to_contain_text(f"Request {view.number}")
    await assert_axe_clean(page)
    await screenshots(page, "lookup")


async def test_the_spanish_article_switches_language_and_opens_the_chat_in_spanish(
    new_context: Callable[..., Awaitable[BrowserContext]], live_server: LiveServer
) -> None:
    page = await (await new_context(viewport=SIZES[0])).new_page()
    await page.goto(live_server.url + "/help/bulky-item-pickup/schedule")
    await page.get_by_role("link", name="Español").click()
    await expect(page).to_have_url(live_server.url + "/es/ayuda/bulky-item-pickup/schedule")
    await expect(page.get_by_role("button", name="Sí")).to_be_visible()
    await assert_axe_clean(page)
    await screenshots(page, "es-article")
    await page.locator("[data-chatsvc-ask]").click()
    # Nobody is on duty: the message form comes first, with the question in it.
    asked = re.compile(r": todavía tengo una pregunta\.$")
    await expect(page.locator("chatsvc-widget #csc-lm-message")).to_have_value(asked)
    await page.get_by_role("link", name="English").click()
    await expect(page).to_have_url(live_server.url + "/help/bulky-item-pickup/schedule")
