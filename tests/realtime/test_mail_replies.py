"""Replies by email reach the chat: our mail goes out through a real SMTP server, a resident's
reply to it comes back through the real inbound server (`chatsvc mail-in`'s), and staff see it
live, in the real pane's events."""

from __future__ import annotations

import asyncio
import io
import os
import re
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import aiosmtplib
import pytest
from PIL import Image
from sqlalchemy import select

from chatsvc.actions.conversations import get_conversation
from chatsvc.app import MAIL_IN
from chatsvc.db.database import Database
from chatsvc.db.models import AfterHoursMessage, InboundMail, Message
from chatsvc.outbox.mail import queue_mail
from chatsvc.outbox.replies import MailThread
from chatsvc.settings import Settings
from chatsvc.transport.state import CLOCK, DATABASE
from chatsvc.workers.mailer import MAILER
from tests.conftest import (
    AgentClient,
    Inbox,
    LiveServer,
    ResidentClient,
    free_port,
    run_chatsvc,
    stored_rows,
)
from tests.realtime.test_after_hours import CITY, SUNDAY_NOON, form
from tests.realtime.test_requests_pane import chat_with_agent, file_graffiti
from tests.waiting import eventually

Residents = Callable[..., Awaitable[ResidentClient]]
Agents = Callable[..., Awaitable[AgentClient]]
DOMAIN = "replies.example.org"
REPLY_ADDRESS = re.compile(r"reply\+[cmr][0-9]+-[a-z2-7]{26}@replies\.example\.org")


@pytest.fixture
def city_with_mail(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    smtp_server: Callable[..., Inbox],
) -> Callable[..., Awaitable[tuple[LiveServer, Inbox]]]:
    """Factory: the service sending through a real SMTP server and receiving replies."""

    async def start(clock: Callable[[], datetime] | None = None, **overrides: Any) -> Any:
        inbox = smtp_server()
        settings = make_settings(
            smtp_host="127.0.0.1",
            smtp_port=inbox.port,
            smtp_security="none",
            mail_from="Citizen Service Center <csc@example.org>",
            mail_reply_to="csc@example.org",
            mail_reply_domain=DOMAIN,
            mail_reply_secret="a test secret, not a real one",
            mail_in_port=0,
            **overrides,
        )
        server = await (start_server(settings, clock=clock) if clock else start_server(settings))
        return server, inbox

    return start


def answer(mail: EmailMessage, text: str, **changes: Any) -> EmailMessage:
    """The resident's reply as a mail program writes it: the text, a signature, our mail quoted."""
    reply = EmailMessage()
    reply["From"] = changes.get("sender", "Ana Ruiz <ana@example.com>")
    reply["To"] = changes.get("to", mail["Reply-To"])
    reply["Subject"] = changes.get("subject", f"Re: {mail['Subject']}")
    reply["Message-ID"] = make_msgid(domain="example.com")
    if changes.get("thread_headers", True):
        reply["In-Reply-To"] = mail["Message-ID"]
        reply["References"] = mail["Message-ID"]
    quoted = "\n".join(f"> {line}" for line in mail.get_content().splitlines())
    reply.set_content(
        f"{text}\n\n-- \nAna Ruiz\nSent from my phone\n\n"
        f"On Sun, Nov 29, 2026 at 12:00 PM Citizen Service Center <csc@example.org> wrote:\n"
        f"{quoted}\n"
    )
    return reply


async def send_reply(server: LiveServer, reply: EmailMessage, to: str | None = None) -> None:
    port = server.app[MAIL_IN].port
    await aiosmtplib.send(
        reply,
        hostname="127.0.0.1",
        port=port,
        sender="ana@example.com",
        recipients=[to or reply["To"].addresses[0].addr_spec],
        timeout=10,
    )


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def forged(address: str) -> str:
    local, _, domain = address.partition("@")
    last = "a" if local[-1] != "a" else "b"
    return f"{local[:-1]}{last}@{domain}"


async def mail_to_conversation(server: LiveServer, cid: int, inbox: Inbox, count: int) -> Any:
    """A mail of the chat (as the unread-messages mail will be), sent; return it as received."""
    await server.app[DATABASE].run(
        queue_mail,
        kind="test_chat",
        to="ana@example.com",
        subject="Maria answered you",
        body="Maria wrote: Which wall is it?\n",
        reply_to=None,
        now=server.app[CLOCK](),
        thread=MailThread("conversation", cid),
    )
    server.app[MAILER].wake()
    return (await inbox.wait_for(count))[-1]


# --- the after-hours inbox ---------------------------------------------------------------------


async def test_a_reply_to_the_acknowledgement_lands_under_the_left_message(
    city_with_mail: Callable[..., Awaitable[tuple[LiveServer, Inbox]]],
    resident_client: Residents,
    agent_client: Agents,
) -> None:
    server, inbox = await city_with_mail(clock=lambda: SUNDAY_NOON, **CITY)
    supervisor = await agent_client("sam", server=server, role="supervisor", available=False)
    resident = await resident_client(server.url)
    left = await resident.call("leave_message", form())
    assert left["ok"], left
    (ack,) = await inbox.wait_for(1)
    # Answered at the message's own signed address; the reference stays in the subject.
    assert REPLY_ADDRESS.fullmatch(ack["Reply-To"].addresses[0].addr_spec), ack["Reply-To"]
    assert ack["Reply-To"].addresses[0].addr_spec.startswith("reply+m")
    assert ack["Reply-To"].addresses[0].display_name == "Citizen Service Center"
    assert left["reference"] in ack["Subject"]
    assert ack["In-Reply-To"] is None  # the thread's first mail
    await supervisor.next_where("inbox_item", lambda i: i["reference"] == left["reference"])

    await send_reply(server, answer(ack, "Also, the couch is still on the curb."))
    item = await supervisor.next_where("inbox_item", lambda i: i["follow_ups"])
    assert item["reference"] == left["reference"] and item["status"] == "new"
    assert [f["text"] for f in item["follow_ups"]] == ["Also, the couch is still on the curb."]
    assert len(await stored_rows(server, AfterHoursMessage)) == 1

    # The same mail delivered again by a relay: stored once.
    reply = answer(ack, "Once only.")
    await send_reply(server, reply)
    await send_reply(server, reply)
    item = await supervisor.next_where("inbox_item", lambda i: len(i["follow_ups"]) == 2)
    assert len(await stored_rows(server, InboundMail)) == 2


async def test_the_answer_carries_the_thread_and_a_reply_opens_the_message_again(
    city_with_mail: Callable[..., Awaitable[tuple[LiveServer, Inbox]]],
    resident_client: Residents,
    agent_client: Agents,
) -> None:
    server, inbox = await city_with_mail(clock=lambda: SUNDAY_NOON, **CITY)
    sam = await agent_client("sam", server=server, role="supervisor", available=False)
    resident = await resident_client(server.url)
    left = await resident.call("leave_message", form())
    (ack,) = await inbox.wait_for(1)
    item = await sam.next_where("inbox_item", lambda i: i["reference"] == left["reference"])
    await sam.ok("inbox_claim", {"id": item["id"]})
    await sam.ok("inbox_reply", {"id": item["id"], "text": "We will pick it up Monday."})
    answered = (await inbox.wait_for(2))[1]
    assert answered["Reply-To"] == ack["Reply-To"]  # one thread, one address
    assert answered["In-Reply-To"] == ack["Message-ID"]
    assert answered["References"] == ack["Message-ID"]
    await sam.next_where("inbox_item", lambda i: i["status"] == "replied")

    await send_reply(server, answer(answered, "Thank you! What time Monday?"))
    item = await sam.next_where("inbox_item", lambda i: i["follow_ups"])
    assert item["status"] == "in_progress" and item["owner"]["name"] == "Sam Tester"
    assert item["follow_ups"][0]["text"] == "Thank you! What time Monday?"


# --- the chat -------------------------------------------------------------------------------------


async def test_a_reply_reaches_the_agent_live_and_reopens_an_ended_chat(
    city_with_mail: Callable[..., Awaitable[tuple[LiveServer, Inbox]]],
    resident_client: Residents,
    agent_client: Agents,
) -> None:
    server, inbox = await city_with_mail()
    maria = await agent_client("maria", server=server, display_name="Maria Lopez")
    resident, cid = await chat_with_agent(server, resident_client, maria)
    mail = await mail_to_conversation(server, cid, inbox, 1)
    assert mail["Reply-To"].addresses[0].addr_spec.startswith(f"reply+c{cid}-")

    await send_reply(server, answer(mail, "The east wall, by the parking lot."))
    seen = await maria.next_where("message", lambda m: m["author_kind"] == "resident")
    assert seen["text"] == "The east wall, by the parking lot."  # no quote, no signature
    assert seen["conversation_id"] == cid and seen["author_name"] == "Ana Ruiz"
    mine = await resident.next_where("message", lambda m: m["text"].startswith("The east"))
    assert mine["seq"] == seen["seq"]

    # The chat ends; a reply to a later mail reopens it, waiting for a person, and routing gives
    # it to the agent who is free.
    await maria.ok("close", {"conversation_id": cid, "disposition": "resolved"})
    later = await mail_to_conversation(server, cid, inbox, 2)
    assert later["In-Reply-To"] == mail["Message-ID"]
    await send_reply(server, answer(later, "Sorry, one more thing: it is blue paint."))
    assigned = await maria.next_where("assigned", lambda p: p["conversation"]["id"] == cid)
    assert assigned["conversation"]["status"] == "open"
    conversation = await server.app[DATABASE].run(get_conversation, cid)
    assert (conversation.status, conversation.ended_at) == ("open", None)
    texts = [m.body for m in await stored_rows(server, Message) if m.conversation_id == cid]
    assert texts[-2:] == ["Sorry, one more thing: it is blue paint.", "Maria joined the chat."]


async def test_a_forged_reference_never_reaches_the_chat(
    city_with_mail: Callable[..., Awaitable[tuple[LiveServer, Inbox]]],
    resident_client: Residents,
    agent_client: Agents,
) -> None:
    server, inbox = await city_with_mail()
    maria = await agent_client("maria", server=server, display_name="Maria Lopez")
    sam = await agent_client("sam", server=server, role="supervisor", available=False)
    resident, cid = await chat_with_agent(server, resident_client, maria)
    mail = await mail_to_conversation(server, cid, inbox, 1)
    address = mail["Reply-To"].addresses[0].addr_spec
    before = [m.id for m in await stored_rows(server, Message)]

    # A stranger's mail to the chat's address with a made-up signature, even naming our mail.
    fake = answer(mail, "Click here to see your prize", sender="Mallory <m@evil.example>")
    await send_reply(server, fake, to=forged(address))
    item = await sam.next_where("inbox_item", lambda i: i["email"] == "m@evil.example")
    assert item["status"] == "new" and "does not verify" in item["spam_reasons"][0]
    assert "Click here to see your prize" in item["text"]
    # Nothing in the chat, and Maria heard nothing of it.
    assert [m.id for m in await stored_rows(server, Message)] == before
    assert not [d for e, d in maria.received if e == "message" and "prize" in d["text"]]
    assert not [d for e, d in resident.received if e == "message" and "prize" in d["text"]]

    # The right address, but what it says scores as spam: filed under spam, not in the chat.
    spam = answer(mail, "Buy viagra online https://pills.example/a https://pills.example/b")
    await send_reply(server, spam)
    item = await sam.next_where("inbox_item", lambda i: i["status"] == "spam")
    assert item["email"] == "ana@example.com" and "suspected spam" in item["spam_reasons"][0]
    assert [m.id for m in await stored_rows(server, Message)] == before


async def test_a_reply_to_an_ended_chat_when_the_center_is_closed_is_left_for_staff(
    city_with_mail: Callable[..., Awaitable[tuple[LiveServer, Inbox]]],
    resident_client: Residents,
    agent_client: Agents,
) -> None:
    now = [datetime(2026, 12, 1, 18, 0, tzinfo=UTC)]  # Tuesday 10:00 in Pasadena: open
    server, inbox = await city_with_mail(clock=lambda: now[0], **CITY)
    maria = await agent_client("maria", server=server, display_name="Maria Lopez")
    _, cid = await chat_with_agent(server, resident_client, maria)
    await maria.ok("close", {"conversation_id": cid, "disposition": "resolved"})
    mail = await mail_to_conversation(server, cid, inbox, 1)
    now[0] = SUNDAY_NOON + timedelta(days=7)  # Sunday: closed
    await send_reply(server, answer(mail, "One more question about the wall."))
    item = await maria.next_where("inbox_item", lambda i: i["conversation_id"] == cid)
    assert item["text"].endswith("One more question about the wall.")
    assert item["status"] == "new" and item["spam_reasons"] == ["by email: after hours"]
    conversation = await server.app[DATABASE].run(get_conversation, cid)
    assert conversation.status == "ended"  # not reopened while nobody works


async def test_unknown_recipients_too_big_and_too_many_are_refused(
    city_with_mail: Callable[..., Awaitable[tuple[LiveServer, Inbox]]],
) -> None:
    server, _ = await city_with_mail(mail_in_max_bytes=100_000, mail_in_per_sender_per_hour=3)
    port = server.app[MAIL_IN].port
    note = EmailMessage()
    note["From"] = "ana@example.com"
    note["Subject"] = "hello"
    note.set_content("hello")
    for to in ("csc@replies.example.org", "reply+c1-abc@replies.example.org", "x@elsewhere.org"):
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            await aiosmtplib.send(note, hostname="127.0.0.1", port=port, recipients=[to])
        assert refused.value.recipients[0].code == 550

    big = EmailMessage()
    big["From"] = "ana@example.com"
    big["Subject"] = "photos"
    big.set_content("see attached")
    big.add_attachment(b"\0" * 200_000, maintype="image", subtype="png", filename="a.png")
    good_address = "reply+c1-" + "a" * 26 + "@" + DOMAIN  # well formed: taken, then checked
    # Announced (SIZE=): refused at once; not announced: refused once the DATA passes the limit.
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as announced:
        await aiosmtplib.send(
            big, hostname="127.0.0.1", port=port, sender="bo@example.com", recipients=[good_address]
        )
    assert announced.value.code == 552
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10)
    async with client:
        await client.mail("bo@example.com")
        await client.rcpt(good_address)
        with pytest.raises(aiosmtplib.SMTPDataError) as too_big:
            await client.data(big.as_bytes())
    assert too_big.value.code == 552

    # Three mails an hour from one sender; the fourth is deferred (the relay retries later).
    limited_sender: dict[str, Any] = {"sender": "cy@example.com", "recipients": [good_address]}
    for _ in range(3):
        del note["Message-ID"]
        note["Message-ID"] = make_msgid()
        await aiosmtplib.send(note, hostname="127.0.0.1", port=port, **limited_sender)
    with pytest.raises(aiosmtplib.SMTPSenderRefused) as limited:
        await aiosmtplib.send(note, hostname="127.0.0.1", port=port, **limited_sender)
    assert limited.value.code == 451
    # The forged ones went to the inbox, under the sender's address, never into chat 1.
    rows = await stored_rows(server, AfterHoursMessage)
    assert len(rows) == 3 and {r.email for r in rows} == {"ana@example.com"}
    assert all("does not verify" in r.spam_reasons[0] for r in rows)


# --- the request --------------------------------------------------------------------------------


async def test_a_reply_to_the_request_mail_lands_in_its_history_with_its_photo(
    city_with_mail: Callable[..., Awaitable[tuple[LiveServer, Inbox]]],
    resident_client: Residents,
    agent_client: Agents,
) -> None:
    server, inbox = await city_with_mail()
    maria = await agent_client("maria", server=server, display_name="Maria Lopez")
    _, cid = await chat_with_agent(server, resident_client, maria)
    filed = (await file_graffiti(maria, cid))["request"]
    (mail,) = await inbox.wait_for(1)
    assert filed["number"] in mail["Subject"]
    assert mail["Reply-To"].addresses[0].addr_spec.startswith(f"reply+r{filed['id']}-")

    reply = answer(mail, "Here is a photo of the wall.")
    reply.add_attachment(png(), maintype="image", subtype="png", filename="wall.png")
    await send_reply(server, reply)
    seen = await maria.next_where("request", lambda r: len(r["history"]) == 2)
    entry = seen["history"][-1]
    assert (entry["actor"], entry["note"], entry["public"]) == (
        "Resident, by email",
        "Here is a photo of the wall.",
        False,
    )
    assert len(seen["photo_ids"]) == 1

    # An HTML-only reply with a script: its words, as text, and nothing of the script.
    html = EmailMessage()
    html["From"] = "Ana Ruiz <ana@example.com>"
    html["Subject"] = f"Re: {mail['Subject']}"
    html["Message-ID"] = make_msgid()
    html.set_content(
        "<html><head><script>alert(1)</script></head><body><p>It is <b>gone</b> now,"
        " thanks!</p><script>steal()</script></body></html>",
        subtype="html",
    )
    await send_reply(server, html, to=mail["Reply-To"].addresses[0].addr_spec)
    seen = await maria.next_where("request", lambda r: len(r["history"]) == 3)
    assert seen["history"][-1]["note"] == "It is gone now, thanks!"

    # An "out of office" answer is taken and dropped (the next mail is history entry 4).
    away = answer(mail, "I am away until Monday.")
    away["Auto-Submitted"] = "auto-replied"
    await send_reply(server, away)

    # A reply with no words at all still reaches the history, saying so.
    empty = EmailMessage()
    empty["From"] = "ana@example.com"
    empty["Message-ID"] = make_msgid()
    empty.set_content("\n")
    await send_reply(server, empty, to=mail["Reply-To"].addresses[0].addr_spec)
    seen = await maria.next_where("request", lambda r: len(r["history"]) == 4)
    assert seen["history"][-1]["note"] == "(The email had no text.)"
    stored = await eventually(
        lambda: server.app[DATABASE].run(
            lambda s: s.scalars(select(InboundMail.thread_kind).order_by(InboundMail.id))
        ),
        what="the replies kept",
    )
    assert list(stored) == ["request", "request", "request"]


# --- the command ------------------------------------------------------------------------------


async def test_the_mail_in_command_receives_mail_and_stops_cleanly(tmp_path: Any) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path}/mail-in.db"
    env = {"DATABASE_URL": database_url, "CHATSVC_MAIL_FOLDER": str(tmp_path / "mail")}
    refused = run_chatsvc("mail-in", env=env)
    assert refused.returncode == 2 and "CHATSVC_MAIL_REPLY_DOMAIN" in refused.stderr

    port = free_port()
    env = {**os.environ, **env, "CHATSVC_MAIL_REPLY_DOMAIN": DOMAIN}
    env["CHATSVC_MAIL_IN_PORT"] = str(port)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chatsvc", "mail-in", env=env, stderr=asyncio.subprocess.PIPE
    )
    output: list[str] = []
    try:
        assert process.stderr is not None

        async def listening() -> None:
            assert process.stderr is not None
            while line := (await process.stderr.readline()).decode():
                output.append(line)
                if f"chatsvc mail-in listening on 127.0.0.1:{port}" in line:
                    return
            raise AssertionError("mail-in exited:\n" + "".join(output))

        await asyncio.wait_for(listening(), 30)
        note = EmailMessage()
        note["From"] = "Ana Ruiz <ana@example.com>"
        note["Subject"] = "About my request"
        note["Message-ID"] = make_msgid()
        note.set_content("Is anyone there?")
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
            await aiosmtplib.send(
                note, hostname="127.0.0.1", port=port, recipients=[f"csc@{DOMAIN}"], timeout=10
            )
        made_up = f"reply+r5-{'q' * 26}@{DOMAIN}"
        await aiosmtplib.send(note, hostname="127.0.0.1", port=port, recipients=[made_up])
    finally:
        process.terminate()
        code = await asyncio.wait_for(process.wait(), 15)
    assert code == 0, "".join(output)
    database = Database(Settings(database_url=database_url))
    await database.open()
    try:

        async def bodies(session: Any) -> list[str]:
            return list((await session.scalars(select(AfterHoursMessage.body))).all())

        assert await database.run(bodies) == ["Subject: About my request\n\nIs anyone there?"]
    finally:
        await database.close()
