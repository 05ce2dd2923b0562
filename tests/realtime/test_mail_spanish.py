"""Mail in Spanish: a message left from a Spanish widget or chat is acknowledged in Spanish
(subject, frame, dates, signature) with the resident's words quoted as in English; staff see the
chat's language. The real server, a fixed clock, real clients."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.db.models import AfterHoursMessage, Conversation, OutboxMail
from chatsvc.transport.state import DATABASE
from tests.conftest import AgentClient, LiveServer, ResidentClient, stored_rows
from tests.realtime.test_after_hours import closed_server, form
from tests.realtime.test_unread_replies import OpenChat, link_code, open_chat

__all__ = ["closed_server", "open_chat"]

Residents = Callable[..., Awaitable[ResidentClient]]
Agents = Callable[..., Awaitable[AgentClient]]


async def test_a_message_left_in_spanish_is_acknowledged_in_spanish(
    closed_server: LiveServer, resident_client: Residents, agent_client: Agents
) -> None:
    resident = await resident_client(closed_server.url)
    text = "Mi basura no la recogieron el viernes. Visite http://ejemplo.com"
    left = await resident.call("leave_message", form(message=text, language="es"))
    assert left["ok"], left
    (message,) = await stored_rows(closed_server, AfterHoursMessage)
    assert message.language == "es"
    (mail,) = await stored_rows(closed_server, OutboxMail)
    assert mail.subject == f"Recibimos su mensaje ({left['reference']})"
    body = mail.body
    assert body.startswith("Hola:\n\nGracias por comunicarse con el Centro de Servicio al")
    # The reply is due Monday, November 30 at 5 p.m., written the Spanish way.
    assert "a más tardar el lunes 30 de noviembre a las 5 p. m." in body
    assert f"Su número de referencia es {left['reference']}." in body
    # The resident's words stay quoted (never the City's), their address unclickable.
    assert "Lo que usted escribió:\n\n> Mi basura no la recogieron el viernes." in body
    assert "http://ejemplo.com" not in body
    assert "Si alguien está en peligro, llame al 911." in body
    assert body.rstrip().endswith("Centro de Servicio al Ciudadano\nCiudad de Pasadena")
    assert "Monday" not in body and "Hello" not in body

    # Staff see its language in the inbox: they answer in Spanish, under a Spanish frame.
    maria = await agent_client("maria", server=closed_server)
    inbox = await maria.ok("inbox", {})
    assert [(m["reference"], m["language"]) for m in inbox["messages"]] == [
        (left["reference"], "es")
    ]


async def test_a_message_left_from_a_spanish_chat_takes_the_chat_s_language(
    closed_server: LiveServer, resident_client: Residents
) -> None:
    resident = await resident_client(closed_server.url)
    # Asked in Spanish: an English sentence would switch the chat to English (its language rule).
    started = await resident.start(question="quiero hablar con una persona", language="es")
    assert started["ok"] and started["conversation"]["language"] == "es"
    left = await resident.call("leave_message", form())  # no language: the chat's
    assert left["ok"], left
    (message,) = await stored_rows(closed_server, AfterHoursMessage)
    assert message.language == "es" and message.conversation_id == started["conversation"]["id"]
    (mail,) = await stored_rows(closed_server, OutboxMail)
    assert mail.subject.startswith("Recibimos su mensaje")


async def test_english_stays_english_without_a_language(
    closed_server: LiveServer, resident_client: Residents
) -> None:
    resident = await resident_client(closed_server.url)
    left = await resident.call("leave_message", form())
    (message,) = await stored_rows(closed_server, AfterHoursMessage)
    (mail,) = await stored_rows(closed_server, OutboxMail)
    assert message.language == "en"
    assert mail.subject == f"We received your message ({left['reference']})"
    assert mail.body.startswith("Hello,\n\nThank you for contacting the City's Citizen Service")


@pytest.mark.parametrize("language", ["fr", "ES", 7, None, "<script>", "es" * 100, ["es"]])
async def test_a_bad_language_is_refused_and_nothing_is_stored(
    closed_server: LiveServer, resident_client: Residents, language: Any
) -> None:
    resident = await resident_client(closed_server.url)
    payload = form(language=language)
    if language is None:
        payload["language"] = None  # explicit null is the same as leaving it out
        assert (await resident.call("leave_message", payload))["ok"]
        return
    ack = await resident.call("leave_message", payload)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload", ack
    assert ack["error"].get("field") == "language"
    assert await stored_rows(closed_server, AfterHoursMessage) == []
    assert await stored_rows(closed_server, OutboxMail) == []


async def test_an_unread_reply_in_a_spanish_chat_is_mailed_in_spanish(open_chat: OpenChat) -> None:
    chat = await open_chat()

    async def in_spanish(session: AsyncSession) -> None:
        await session.execute(
            update(Conversation).where(Conversation.id == chat.cid).values(language="es")
        )

    await chat.server.app[DATABASE].run(in_spanish)
    await chat.resident_leaves()
    await chat.reply("Su recolección quedó para el martes.")
    await chat.sweep()
    chat.later(minutes=6)
    await chat.sweep()
    (mail,) = await chat.inbox.wait_for(1)
    assert mail["Subject"] == "Ciudad de Pasadena: tiene una respuesta en su chat"
    body = mail.get_content().replace("\r\n", "\n")
    assert body.startswith("Hola:\n\nTiene una respuesta en su chat con el Centro de Servicio")
    assert "  Su recolección quedó para el martes." in body
    assert "Para leer toda la conversación y responder, abra este enlace." in body
    assert link_code(mail)  # the same one-time link back
    assert "Centro de Servicio al Ciudadano\nCiudad de Pasadena" in body
