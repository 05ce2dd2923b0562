"""Temporary: screenshots of the Spanish widget (not committed)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
from playwright.async_api import BrowserContext, expect

from tests.conftest import LiveServer

pytestmark = pytest.mark.browser
OUT = "/work/notes/shots/es-widget"


@pytest.mark.parametrize(("w", "h"), [(1366, 768), (390, 844)])
async def test_shots(new_context: Callable[..., Awaitable[BrowserContext]], live_server: LiveServer, w: int, h: int) -> None:
    context = await new_context(locale="es-MX", viewport={"width": w, "height": h})
    page = await context.new_page()
    await page.goto(live_server.url + "/")
    await page.get_by_role("button", name="Chatee con nosotros").click()
    leave = page.get_by_role("heading", name="¡Déjenos un mensaje!")
    await expect(leave).to_be_visible()
    await page.get_by_role("button", name="Enviar mensaje").click()
    await expect(page.get_by_text("Escriba su nombre.")).to_be_visible()
    await page.screenshot(path=f"{OUT}-leave-{w}x{h}.png")
    await page.get_by_role("button", name="Preguntar a nuestro asistente").click()
    await page.get_by_label("Correo electrónico").fill("ana@")
    await page.get_by_role("button", name="Iniciar chat").click()
    await expect(page.get_by_text("Escriba su nombre.")).to_be_visible()
    await page.screenshot(path=f"{OUT}-prechat-error-{w}x{h}.png")
    await page.get_by_label("Nombre").fill("Ana Ruiz")
    await page.get_by_label("Correo electrónico").fill("ana@example.com")
    await page.get_by_label("Pregunta").fill("¿Cuándo recogen los muebles viejos?")
    await page.get_by_role("button", name="Iniciar chat").click()
    log = page.get_by_role("log", name="Mensajes")
    await expect(log.locator(".msg[data-seq='2']")).to_be_visible()
    await page.get_by_label("Mensaje", exact=True).fill("Quiero hablar con una persona, por favor.")
    await page.get_by_label("Mensaje", exact=True).press("Enter")
    await expect(log.locator(".msg[data-seq='3']")).to_be_visible()
    await page.wait_for_timeout(1500)
    await page.screenshot(path=f"{OUT}-chat-{w}x{h}.png")
    await page.get_by_role("button", name="Más opciones").click()
    await page.screenshot(path=f"{OUT}-menu-{w}x{h}.png")
    await page.keyboard.press("Escape")
    await page.get_by_role("button", name="Terminar chat").click()
    await page.screenshot(path=f"{OUT}-end-{w}x{h}.png")
    await page.get_by_role("button", name="Sí, terminar el chat").click()
    await expect(page.get_by_text("Chat terminado")).to_be_visible()
    await page.screenshot(path=f"{OUT}-ended-{w}x{h}.png")
