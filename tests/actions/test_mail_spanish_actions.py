"""Each mail of a Spanish conversation, request or left message in Spanish (subject, frame,
dates, signature), the resident's words quoted as in English, what staff wrote as they wrote it.
Actions on a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions import conversations as chats
from chatsvc.actions import transcripts
from chatsvc.actions.service_requests.filing import create_service_request
from chatsvc.actions.service_requests.status import change_status
from chatsvc.actions.unread_replies import UnreadMailPolicy, unread_mail
from chatsvc.db.database import Database
from chatsvc.db.models import AfterHoursMessage, Conversation, Message, OutboxMail, ServiceRequest
from tests.actions.test_abandoned import abandon, gone_from_the_queue
from tests.actions.test_service_requests import CALENDAR, KB, MONDAY_TEN, POLICY, graffiti, rows

CENTER = KB.center
SIGNATURE = "Centro de Servicio al Ciudadano\nCiudad de Pasadena"


async def spanish_chat(db: Database, question: str = "Hay grafiti en la pared") -> int:
    started = await db.run(
        chats.start_conversation,
        name="Ana Ruiz",
        email="ana@example.com",
        question=question,
        client_id=None,
        now=MONDAY_TEN,
        language="es",
    )
    cid: int = started.conversation.id
    return cid


async def test_a_request_filed_in_a_spanish_chat_is_mailed_in_spanish(db: Database) -> None:
    cid = await spanish_chat(db)
    view = await db.run(
        create_service_request, graffiti(conversation_id=cid), policy=POLICY, now=MONDAY_TEN
    )
    (request,) = await rows(db, ServiceRequest)
    assert request.language == "es"
    (created,) = await rows(db, OutboxMail)
    assert created.subject == f"Su solicitud {view.number}: Eliminación de grafiti"
    body = created.body
    assert body.startswith(f"Hola:\n\nGracias por su solicitud. Su número es {view.number}.\n")
    # Monday's graffiti is due Tuesday, November 24 at 5 p.m.
    assert "Esperamos atenderla a más tardar el martes 24 de noviembre a las 5 p. m." in body
    assert "Solicitud: Eliminación de grafiti" in body
    assert "Lo que usted escribió:\n> Dirección: 100 N Garfield Ave" in body
    assert f'escriba "estado de {view.number}"' in body
    assert body.endswith(SIGNATURE)

    later = MONDAY_TEN + timedelta(hours=2)
    common: dict[str, Any] = {"number": view.number, "staff_id": None, "actor": "Maria"}
    await db.run(
        change_status, policy=POLICY, now=later, status="closed", note="Ya quedó", **common
    )
    await db.run(change_status, policy=POLICY, now=later, status="open", note=None, **common)
    await db.run(
        change_status,
        policy=POLICY,
        now=later,
        status="referred",
        note=None,
        referred_to="LA County Public Works",
        next_steps="Call them at (626) 458-5100.",
        **common,
    )
    closed, referred = (await rows(db, OutboxMail))[1:]
    assert closed.subject == f"Su solicitud {view.number} está cerrada"
    assert f"Su solicitud {view.number} (Eliminación de grafiti) está cerrada." in closed.body
    assert "Nota de nuestro equipo: Ya quedó" in closed.body
    assert referred.subject == f"Su solicitud {view.number} fue remitida"
    assert "fue remitida a LA County Public Works, que se encarga" in referred.body
    # The department's next steps go as staff wrote them.
    assert "Próximos pasos:\nCall them at (626) 458-5100." in referred.body


async def test_a_spanish_chat_s_transcript_is_in_spanish(db: Database) -> None:
    cid = await spanish_chat(db, "¿Dónde pago mi recibo? Dear City Billing")
    ack = await db.run(
        transcripts.email_transcript,
        conversation_id=cid,
        email=None,
        center=CENTER,
        calendar=CALENDAR,
        now=MONDAY_TEN,
        per_address_per_day=5,
    )
    assert ack.outcome == "sent"
    (mail,) = await rows(db, OutboxMail)
    assert mail.subject == "Su chat con el Centro de Servicio al Ciudadano de la Ciudad"
    assert mail.body.startswith("Hola:\n\nAquí tiene su chat con el Centro de Servicio")
    assert "Las horas están en hora del Pacífico." in mail.body
    assert "--- lunes 23 de noviembre ---" in mail.body
    assert "10 a. m., usted escribió:\n> ¿Dónde pago mi recibo? Dear City Billing" in mail.body
    assert mail.body.rstrip().endswith(SIGNATURE)


async def test_the_unread_replies_mail_in_spanish(db: Database) -> None:
    policy = UnreadMailPolicy(
        unread_after=timedelta(minutes=5),
        link_ttl=timedelta(days=7),
        page_url="https://city.example/contact",
        center=CENTER,
        calendar=CALENDAR,
        mail_per_address_per_day=5,
    )
    reply = Message(author_name="Maria", body="Hola Ana,\nya lo revisé.", created_at=MONDAY_TEN)
    link = "https://city.example/contact#chatsvc-resume=abc"
    body = unread_mail([reply], link, MONDAY_TEN + timedelta(days=7), policy, language="es")
    assert body.startswith("Hola:\n\nTiene una respuesta en su chat con el Centro de Servicio")
    assert "Maria escribió el lunes 23 de noviembre a las 10 a. m.:\n\n  Hola Ana," in body
    assert "hasta el lunes 30 de noviembre a las 10 a. m.:\n\n" + link in body
    assert "Para leer toda la conversación y responder" in body
    assert body.rstrip().endswith(SIGNATURE)
    english = unread_mail([reply], link, MONDAY_TEN + timedelta(days=7), policy)
    assert english.startswith("Hello,\n\nYou have a reply in your chat with the City's Citizen")


async def test_a_spanish_chat_left_in_the_queue_is_answered_by_a_spanish_mail(
    db: Database,
) -> None:
    cid = await gone_from_the_queue(db, 1)

    async def in_spanish(session: AsyncSession) -> None:
        await session.execute(
            update(Conversation).where(Conversation.id == cid).values(language="es")
        )

    await db.run(in_spanish)
    (done,) = await db.run(abandon)
    assert done.mailed
    message = await db.run(
        lambda s: s.scalar(select(AfterHoursMessage).where(AfterHoursMessage.id == done.message_id))
    )
    assert message.language == "es"
    (mail,) = await rows(db, OutboxMail)
    assert mail.subject == f"Le responderemos su chat por correo ({done.reference})"
    assert mail.body.startswith("Hola:\n\nUsted pidió hablar con una persona del Centro")
    assert "Lo que usted escribió:\n\n> Question 1" in mail.body
    assert mail.body.rstrip().endswith(SIGNATURE)
    assert "y le responderemos a este correo a más tardar el " in mail.body
