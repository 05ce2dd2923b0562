"""The widget in Spanish, in Chromium: chosen from the browser's language, switched to English
and back by the resident, kept in the browser, sent with the start, and axe-clean in Spanish;
and a whole chat in Spanish, from the question to a request filed, its status and a person."""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, expect

from chatsvc.db.models import AfterHoursMessage, Conversation, OutboxMail, ServiceRequest
from tests.browser.helpers import axe_violations
from tests.conftest import AgentClient, LiveServer, stored_rows

pytestmark = pytest.mark.browser

QUESTION = "¿Cuándo recogen los muebles viejos?"
SHOTS = os.environ.get("CHATSVC_SHOTS", "")


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


async def test_a_whole_spanish_chat_files_a_request_asks_its_status_and_meets_a_person(
    new_context: Callable[..., Awaitable[BrowserContext]],
    live_server: LiveServer,
    agent_client: Callable[..., Awaitable[AgentClient]],
) -> None:
    """Issue 19: question, answer, a request filed, its status and a hand-over, in Spanish."""
    await agent_client("maria", display_name="María López")
    context = await new_context(locale="es-MX", viewport={"width": 1366, "height": 768})
    page = await context.new_page()
    await page.goto(live_server.url + "/")
    await page.get_by_role("button", name=re.compile(r"^Chatee con nosotros")).click()
    await past_the_message_form(
        page, "¡Déjenos un mensaje!", "Preguntar a nuestro asistente", "¡Chatee con nosotros!"
    )
    await page.get_by_label("Nombre").fill("Ana Ruiz")
    await page.get_by_label("Correo electrónico").fill("ana@example.com")
    await page.get_by_label("Pregunta").fill("hay grafiti en la pared de mi edificio")
    await page.get_by_role("button", name="Iniciar chat").click()
    log = page.get_by_role("log", name="Mensajes")
    composer = page.get_by_label("Mensaje", exact=True)

    async def said(text: str) -> None:
        await expect(log.locator(".msg").last).to_contain_text(text)

    async def write(text: str) -> None:
        await composer.fill(text)
        await composer.press("Enter")
        await expect(composer).to_have_value("")

    def reply(name: str) -> Any:
        return page.get_by_role("group", name="Respuestas sugeridas").get_by_role(
            "button", name=name, exact=True
        )

    await said("¿Quiere que presente ahora mismo una solicitud de Eliminación de grafiti")
    await reply("Presentar una solicitud").click()
    await said("¿Cuál es la dirección o el cruce de calles más cercano?")
    await write("100 N Garfield Ave")
    await said("Por favor, describa lo que ve")
    await write("Pintaron letras negras en toda la pared del lado este.")
    await said("¿Quiere agregar una foto?")
    await expect(reply("Agregar una foto")).to_be_visible()
    await reply("Omitir").click()
    await said("¿La presento?")
    violations = await axe_violations(page)
    assert not violations, f"Spanish request summary: {violations}"
    await screenshot(page, "es-filing-summary")
    await reply("Confirmar").click()
    await said("Su solicitud de Eliminación de grafiti quedó presentada. Su número es 26-0")
    await expect(log.locator(".msg").last).to_contain_text(
        re.compile(r"a más tardar el \w+ \d+ de \w+ (a las? \d|al mediodía|a la medianoche)")
    )
    await write("¿cómo va mi solicitud?")
    await said("(Eliminación de grafiti) está: Abierta.")
    await said("Última novedad: Solicitud recibida.")
    await write("quiero hablar con una persona")
    await expect(log).to_contain_text("Voy a llamar a una persona del equipo")
    await expect(log.locator(".msg").filter(has_text="María se unió al chat.")).to_be_visible()
    violations = await axe_violations(page)
    assert not violations, f"Spanish chat with a person: {violations}"
    await screenshot(page, "es-filing-joined")
    await page.set_viewport_size({"width": 390, "height": 844})
    await screenshot(page, "es-filing-joined")
    (request,) = await stored_rows(live_server, ServiceRequest)
    assert (request.service_code, request.address) == ("graffiti", "100 N Garfield Ave")


async def screenshot(page: Page, name: str) -> None:
    if SHOTS:
        size = page.viewport_size or {"width": 0, "height": 0}
        await page.screenshot(path=f"{SHOTS}/{name}-{size['width']}x{size['height']}.png")


async def test_a_message_left_from_the_spanish_widget_is_acknowledged_in_spanish(
    new_context: Callable[..., Awaitable[BrowserContext]], live_server: LiveServer
) -> None:
    # Nobody is signed in: the widget offers the message form first, in Spanish.
    page = await (await new_context(locale="es-MX")).new_page()
    await page.goto(live_server.url + "/")
    await page.get_by_role("button", name=re.compile(r"^Chatee con nosotros")).click()
    await expect(page.get_by_role("heading", name="¡Déjenos un mensaje!")).to_be_visible()
    # The center's hours in Spanish words (the service's `hours_in`), not hidden.
    await expect(page.get_by_text(re.compile(r"^Nuestro horario: todos los días"))).to_be_visible()
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


async def test_the_widget_follows_the_chat_into_spanish(
    new_context: Callable[..., Awaitable[BrowserContext]], live_server: LiveServer
) -> None:
    """An English widget; the resident writes in Spanish, the assistant answers in Spanish from
    then on, and the widget's own texts follow."""
    page = await (await new_context(locale="en-US")).new_page()
    await page.goto(live_server.url + "/")
    await page.get_by_role("button", name=re.compile(r"^Chat with us")).click()
    await past_the_message_form(page, "Leave us a message!", "Ask our assistant", "Chat With Us!")
    await page.get_by_label("Name").fill("Ana Ruiz")
    await page.get_by_label("Email").fill("ana@example.com")
    await page.get_by_label("Question").fill("When is bulky item pickup?")
    await page.get_by_role("button", name="Start chat").click()
    composer = page.get_by_label("Message", exact=True)
    await expect(composer).to_be_focused()
    await composer.fill("necesito ayuda, no recogieron mi basura ayer")
    await composer.press("Enter")
    # The chat is Spanish now: the widget's log, composer and buttons too.
    log = page.get_by_role("log", name="Mensajes")
    await expect(log).to_be_visible()
    await expect(page.get_by_label("Mensaje", exact=True)).to_be_visible()
    await expect(page.locator("chatsvc-widget")).to_have_attribute("lang", "es")
    await expect(page.get_by_role("button", name="Terminar chat")).to_be_visible()
    (row,) = await stored_rows(live_server, Conversation)
    assert row.language == "es"
    violations = await axe_violations(page)
    assert not violations, f"the chat after it turned Spanish: {violations}"
