"""The widget in Spanish, in Chromium: chosen from the browser's language, switched to English
and back by the resident, kept in the browser, sent with the start, and axe-clean in Spanish."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, expect

from chatsvc.db.models import AfterHoursMessage, Conversation, OutboxMail
from tests.browser.helpers import axe_violations
from tests.conftest import LiveServer, stored_rows

pytestmark = pytest.mark.browser

QUESTION = "¿Cuándo recogen los muebles viejos?"


def panel(page: Page, title: str) -> Any:
    return page.get_by_role("dialog", name=title)


async def past_the_message_form(page: Page, heading: str, instead: str, prechat: str) -> None:
    """With no agent signed in the widget first offers to leave a message: go to the form."""
    form = page.get_by_role("heading", name=prechat)
    leave = page.get_by_role("heading", name=heading)
    await expect(form.or_(leave)).to_be_visible()
    if await leave.is_visible():
        await page.get_by_role("button", name=instead).click()
    await expect(form).to_be_visible()


async def test_the_widget_in_spanish(
    new_context: Callable[..., Awaitable[BrowserContext]], live_server: LiveServer
) -> None:
    # A Spanish-speaking resident's browser on the city's (English) page.
    context = await new_context(locale="es-MX")
    page = await context.new_page()
    await page.goto(live_server.url + "/")
    host = page.locator("chatsvc-widget")
    await expect(host).to_have_attribute("lang", "es")

    launcher = page.get_by_role("button", name=re.compile(r"^Chatee con nosotros"))
    await launcher.click()
    await expect(panel(page, "Chatee con nosotros")).to_be_visible()
    await past_the_message_form(
        page, "¡Déjenos un mensaje!", "Preguntar a nuestro asistente", "¡Chatee con nosotros!"
    )
    await expect(page.get_by_label("Nombre")).to_be_visible()
    await expect(page.get_by_label("Correo electrónico")).to_be_visible()
    await expect(page.get_by_label("Pregunta")).to_be_visible()

    # A validation error, in Spanish, and nothing of it breaks WCAG.
    await page.get_by_role("button", name="Iniciar chat").click()
    await expect(page.get_by_label("Nombre")).to_have_attribute("aria-invalid", "true")
    await expect(page.get_by_text("Escriba su nombre.")).to_be_visible()
    violations = await axe_violations(page)
    assert not violations, f"Spanish pre-chat form with errors: {violations}"

    # To English and back with the keyboard-usable select; what was typed stays.
    await page.get_by_label("Nombre").fill("Ana Ruiz")
    await page.get_by_label("Idioma").select_option("en")
    await expect(host).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", name="Chat With Us!")).to_be_visible()
    await expect(page.get_by_label("Name")).to_have_value("Ana Ruiz")
    await expect(page.get_by_label("Language")).to_be_focused()
    key = f"chatsvc:{live_server.url}:language"
    assert await page.evaluate("k => localStorage.getItem(k)", key) == "en"
    await page.get_by_label("Language").select_option("es")
    await expect(host).to_have_attribute("lang", "es")
    await expect(page.get_by_role("heading", name="¡Chatee con nosotros!")).to_be_visible()
    assert await page.evaluate("k => localStorage.getItem(k)", key) == "es"

    # The chat starts in Spanish: the server keeps the conversation's language.
    await page.get_by_label("Correo electrónico").fill("ana@example.com")
    await page.get_by_label("Pregunta").fill(QUESTION)
    await page.get_by_role("button", name="Iniciar chat").click()
    log = page.get_by_role("log", name="Mensajes")
    await expect(log.locator(".msg[data-seq='2']")).to_be_visible()
    await expect(log.locator(".msg[data-seq='1'] .author")).to_have_text("Usted")
    await expect(page.get_by_label("Mensaje", exact=True)).to_be_focused()
    await expect(page.get_by_role("button", name="Terminar chat")).to_be_visible()
    # The language is chosen before a chat, not during it.
    await expect(page.get_by_label("Idioma")).to_be_hidden()
    rows = await stored_rows(live_server, Conversation)
    assert [row.language for row in rows] == ["es"]
    violations = await axe_violations(page)
    assert not violations, f"Spanish chat: {violations}"


async def test_a_message_left_from_the_spanish_widget_is_acknowledged_in_spanish(
    new_context: Callable[..., Awaitable[BrowserContext]], live_server: LiveServer
) -> None:
    # Nobody is signed in: the widget offers the message form first, in Spanish.
    page = await (await new_context(locale="es-MX")).new_page()
    await page.goto(live_server.url + "/")
    await page.get_by_role("button", name=re.compile(r"^Chatee con nosotros")).click()
    await expect(page.get_by_role("heading", name="¡Déjenos un mensaje!")).to_be_visible()
    await page.get_by_label("Nombre", exact=True).fill("Ana Ruiz")
    await page.get_by_label("Correo electrónico", exact=True).fill("ana@example.com")
    await page.get_by_label("Mensaje", exact=True).fill("No recogieron mi sofá el viernes.")
    await page.get_by_role("button", name="Enviar mensaje").click()
    await expect(page.get_by_text(re.compile(r"M-[0-9A-Z]{6}")).first).to_be_visible()

    # The widget sent its language: the message keeps it, and its acknowledgement is Spanish.
    (message,) = await stored_rows(live_server, AfterHoursMessage)
    assert message.language == "es"
    (mail,) = await stored_rows(live_server, OutboxMail)
    assert mail.subject == f"Recibimos su mensaje ({message.reference})"
    assert "Lo que usted escribió:\n\n> No recogieron mi sofá el viernes." in mail.body
