"""The mail outbox and its sender, against a real SMTP server (aiosmtpd) on a real port."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.catalogue.knowledge import default_path, load_knowledge_base
from chatsvc.clock import utc_now
from chatsvc.db.database import Database
from chatsvc.db.models import OutboxMail
from chatsvc.outbox.mail import backoff, due_mail, mark_failed, queue_mail
from chatsvc.settings import Settings
from chatsvc.workers.mailer import Mailer
from tests.conftest import TIMEOUT, Inbox, free_port, parse
from tests.parallel import overlapping

START = datetime(2024, 11, 4, 18, 30, tzinfo=UTC)
JANE = "jane.doe@example.org"
CENTER = load_knowledge_base(default_path()).center


def smtp_settings(make_settings: Callable[..., Settings], port: int, **more: Any) -> Settings:
    return make_settings(smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", **more)


@pytest.fixture
async def open_database() -> AsyncIterator[Callable[[Settings], Awaitable[Database]]]:
    """Factory: a real Database for the settings, migrated if SQLite, closed afterwards."""
    databases: list[Database] = []

    async def open_(settings: Settings) -> Database:
        database = Database(settings)
        await database.open()
        databases.append(database)
        return database

    yield open_
    for database in databases:
        await database.close()


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def outbox(session: AsyncSession) -> list[OutboxMail]:
    return list((await session.scalars(select(OutboxMail).order_by(OutboxMail.id))).all())


async def queue(database: Database, clock: Callable[[], datetime], **overrides: Any) -> int:
    values: dict[str, Any] = {
        "kind": "after_hours_ack",
        "to": JANE,
        "subject": "We received your message",
        "body": "Hello Jane,\n\nwe received your message and will reply by Monday.\n",
        "reply_to": None,
    }
    values.update(overrides)
    mail_id: int = await database.run(queue_mail, now=clock(), **values)
    return mail_id


# --- delivery --------------------------------------------------------------------------------


async def test_queued_mail_is_delivered_once_with_its_headers(
    make_settings: Callable[..., Settings],
    open_database: Callable[[Settings], Awaitable[Database]],
    smtp_server: Callable[..., Inbox],
) -> None:
    inbox = smtp_server()
    settings = smtp_settings(
        make_settings, inbox.port, mail_reply_to="Citizen Service Center <help@city.example>"
    )
    database = await open_database(settings)
    clock = Clock()
    mailer = Mailer(database, settings, clock, center=lambda: CENTER)
    reply = await queue(
        database,
        clock,
        kind="after_hours_reply",
        subject="Re: Sperrmüll – bulky waste pickup",
        body="Grüße from the center,\n\nyour pickup is on Tuesday.\n",
        reply_to="agent.kim@city.example",
    )
    ack = await queue(database, clock)

    assert await mailer.send_due() == 2
    delivered = await inbox.wait_for(2)
    assert await mailer.send_due() == 0
    assert len(inbox.envelopes) == 2

    rows = {row.id: row for row in await database.run(outbox)}
    by_id = {message["Message-ID"]: message for message in delivered}
    assert set(by_id) == {rows[reply].message_id, rows[ack].message_id}
    first, second = by_id[rows[reply].message_id], by_id[rows[ack].message_id]
    assert first["From"] == "Citizen Service Center <no-reply@localhost>"
    assert first["To"] == JANE
    assert first["Subject"] == "Re: Sperrmüll – bulky waste pickup"
    assert first["Reply-To"] == "agent.kim@city.example"
    assert parsedate_to_datetime(first["Date"]) == START
    assert first.get_content_type() == "text/plain"
    assert first.get_content_charset() == "utf-8"
    body = first.get_content().replace("\r\n", "\n")  # SMTP carries CRLF line ends
    text, stop = body.split("\n\n--\n")
    assert text == "Grüße from the center,\n\nyour pickup is on Tuesday."
    # Every mail ends with the one-click stop link, also in its headers (RFC 8058).
    link = first["List-Unsubscribe"].strip("<>")
    assert stop == f"Did not ask for this, or want no more emails from us? {link}\n"
    assert first["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Without its own Reply-To, a mail gets the center's.
    assert second["Reply-To"] == "Citizen Service Center <help@city.example>"
    assert second["Subject"] == "We received your message"
    for envelope in inbox.envelopes:
        assert envelope.mail_from == "no-reply@localhost"
        assert envelope.rcpt_tos == [JANE]
    for row in rows.values():
        assert row.sent_at == START
        assert row.attempts == 1
        assert row.last_error is None


async def test_mail_waits_out_an_smtp_outage_and_is_then_delivered_once(
    make_settings: Callable[..., Settings],
    open_database: Callable[[Settings], Awaitable[Database]],
    smtp_server: Callable[..., Inbox],
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()  # nothing listens here yet
    settings = smtp_settings(make_settings, port)
    database = await open_database(settings)
    clock = Clock()
    mailer = Mailer(database, settings, clock, center=lambda: CENTER)
    mail_id = await queue(database, clock)

    assert await mailer.send_due() == 0
    [row] = await database.run(outbox)
    assert row.id == mail_id
    assert row.sent_at is None
    assert row.attempts == 1
    assert row.next_attempt_at == START + timedelta(seconds=30)
    assert row.last_error
    warnings = [r for r in caplog.records if r.name == "chatsvc.mail" and r.levelname == "WARNING"]
    assert len(warnings) == 1
    assert f"mail {mail_id} (after_hours_ack) not sent, attempt 1" in warnings[0].getMessage()
    assert warnings[0].exc_info is None  # one line, no traceback

    inbox = smtp_server(port)
    clock.now = START + timedelta(seconds=29)
    assert await mailer.send_due() == 0  # still backing off
    assert inbox.envelopes == []

    clock.now = START + timedelta(seconds=31)
    assert await mailer.send_due() == 1
    [delivered] = await inbox.wait_for(1)
    assert delivered["Message-ID"] == row.message_id
    assert await mailer.send_due() == 0
    assert len(inbox.envelopes) == 1
    [row] = await database.run(outbox)
    assert row.sent_at == START + timedelta(seconds=31)
    assert row.attempts == 2


async def test_background_loop_sends_when_woken(
    make_settings: Callable[..., Settings],
    open_database: Callable[[Settings], Awaitable[Database]],
    smtp_server: Callable[..., Inbox],
) -> None:
    inbox = smtp_server()
    settings = smtp_settings(make_settings, inbox.port)
    database = await open_database(settings)
    # A poll far longer than the test's timeout: only wake() can make this mail go out in time.
    mailer = Mailer(database, settings, utc_now, center=lambda: CENTER, poll_seconds=3600)
    await mailer.start()
    try:
        await queue(database, utc_now)
        mailer.wake()
        [delivered] = await inbox.wait_for(1)
        assert delivered["To"] == JANE
    finally:
        await mailer.close()
    [row] = await database.run(outbox)
    assert row.sent_at is not None


async def test_without_smtp_mail_is_written_to_the_folder(
    make_settings: Callable[..., Settings],
    open_database: Callable[[Settings], Awaitable[Database]],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="chatsvc.mail")
    folder = tmp_path / "mail"
    settings = make_settings(mail_folder=folder, mail_reply_to="help@city.example")
    database = await open_database(settings)
    clock = Clock()
    mailer = Mailer(database, settings, clock, center=lambda: CENTER)
    mail_id = await queue(database, clock, subject="Your service request SR-1042")

    assert await mailer.send_due() == 1
    assert await mailer.send_due() == 0
    [path] = list(folder.iterdir())  # no temporary file left behind
    assert path.name == f"20241104T183000Z-{mail_id}.eml"
    written = parse(path.read_bytes())
    [row] = await database.run(outbox)
    assert written["Message-ID"] == row.message_id
    assert written["From"] == "Citizen Service Center <no-reply@localhost>"  # from center.toml
    assert written["To"] == JANE
    assert written["Subject"] == "Your service request SR-1042"
    assert written["Reply-To"] == "help@city.example"
    assert parsedate_to_datetime(written["Date"]) == START
    assert written.get_content().startswith(f"{row.body.rstrip()}\n\n--\n")
    assert row.sent_at == START
    lines = [r.getMessage() for r in caplog.records if r.name == "chatsvc.mail"]
    logged = [line for line in lines if str(path) in line]
    assert len(logged) == 1
    assert "Your service request SR-1042" in logged[0]
    assert "Hello Jane" not in " ".join(lines)  # never the body


async def test_by_default_replies_reach_the_center_not_a_no_reply_address(
    make_settings: Callable[..., Settings],
    open_database: Callable[[Settings], Awaitable[Database]],
    tmp_path: Path,
) -> None:
    # Our mail says "reply to this email": with no CHATSVC_MAIL_REPLY_TO a reply goes to the
    # center's own address (center.toml), never to no-reply@localhost.
    folder = tmp_path / "mail"
    settings = make_settings(mail_folder=folder)
    database = await open_database(settings)
    clock = Clock()
    mailer = Mailer(database, settings, clock, center=lambda: CENTER)
    await queue(database, clock, subject="Your service request SR-1042")
    assert await mailer.send_due() == 1
    [path] = list(folder.iterdir())
    written = parse(path.read_bytes())
    assert written["From"] == "Citizen Service Center <no-reply@localhost>"
    assert written["Reply-To"] == "Citizen Service Center <csc@cityofpasadena.net>"


@pytest.mark.parametrize(
    "overrides",
    [
        {"subject": "Hello\r\nBcc: everyone@example.org"},
        {"subject": "Hello\nBcc: everyone@example.org"},
        {"to": "jane@example.org\r\nBcc: everyone@example.org"},
        {"to": "jane@example.org\nBcc: everyone@example.org"},
        {"to": "jane@example.org, everyone@example.org"},
        {"reply_to": "agent@city.example\r\nBcc: everyone@example.org"},
    ],
)
async def test_header_injection_is_refused(
    make_settings: Callable[..., Settings],
    open_database: Callable[[Settings], Awaitable[Database]],
    overrides: dict[str, str],
) -> None:
    database = await open_database(make_settings())
    with pytest.raises(ValueError):
        await queue(database, Clock(), **overrides)
    assert await database.run(outbox) == []


# --- the daily cap per recipient ---------------------------------------------------------------


async def test_parallel_mails_to_one_address_queue_exactly_the_cap(db: Database) -> None:
    """Each transaction counted the mails before any was committed: 8 of 8 got through a cap of
    3 on PostgreSQL. The recipient's lock makes them count one after another."""

    async def send(session: AsyncSession) -> int | None:
        return await queue_mail(
            session,
            kind="request_created",
            to=JANE.upper(),  # one address whatever its case
            subject="Your request",
            body="Hello,\n",
            reply_to=None,
            now=START,
            per_address_per_day=3,
        )

    outcomes = await overlapping(db, send, 8)
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    assert len([o for o in outcomes if o is not None]) == 3
    assert len(await db.run(outbox)) == 3


# --- retries -------------------------------------------------------------------------------


async def test_backoff_doubles_to_a_cap_and_never_gives_up(
    make_settings: Callable[..., Settings],
    open_database: Callable[[Settings], Awaitable[Database]],
) -> None:
    assert [backoff(n).total_seconds() for n in range(1, 9)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1800,
        1800,
    ]
    assert backoff(1000) == timedelta(minutes=30)

    database = await open_database(make_settings())
    clock = Clock()
    mail_id = await queue(database, clock)
    retry = None
    for _ in range(20):
        retry = await database.run(mark_failed, mail_id, "refused", now=clock())
    assert retry is not None
    assert retry.attempts == 20
    assert retry.overdue
    assert retry.next_attempt_at == START + timedelta(minutes=30)
    [row] = await database.run(outbox)
    assert row.sent_at is None  # still in the outbox, still to be sent


# --- several senders on one database (PostgreSQL) ---------------------------------------


async def queue_many(session: AsyncSession, count: int, now: datetime) -> list[int]:
    return [
        await queue_mail(
            session,
            kind="after_hours_ack",
            to=f"resident{n}@example.org",
            subject=f"Message {n}",
            body=f"Mail number {n}.\n",
            reply_to=None,
            now=now,
        )
        for n in range(count)
    ]


async def test_two_senders_deliver_each_mail_once(
    postgres_url: str,
    make_settings: Callable[..., Settings],
    open_database: Callable[[Settings], Awaitable[Database]],
    smtp_server: Callable[..., Inbox],
) -> None:
    inbox = smtp_server()
    settings = smtp_settings(
        make_settings, inbox.port, database_url=postgres_url, auto_migrate=True
    )
    first = await open_database(settings)
    second = await open_database(settings)
    await first.run(queue_many, 60, now=utc_now())
    mailers = [
        Mailer(db, settings, utc_now, center=lambda: CENTER, batch_size=4)
        for db in (first, second, first)
    ]

    sent = await asyncio.gather(*(mailer.send_due() for mailer in mailers))

    assert sum(sent) == 60
    delivered = await inbox.wait_for(60)
    assert await mailers[1].send_due() == 0
    assert len(inbox.envelopes) == 60
    rows = await first.run(outbox)
    assert sorted(m["Message-ID"] for m in delivered) == sorted(r.message_id for r in rows)
    assert all(row.sent_at is not None and row.attempts == 1 for row in rows)


async def test_a_claim_skips_mail_another_sender_holds(
    postgres_url: str,
    make_settings: Callable[..., Settings],
    open_database: Callable[[Settings], Awaitable[Database]],
    smtp_server: Callable[..., Inbox],
) -> None:
    inbox = smtp_server()
    settings = smtp_settings(
        make_settings, inbox.port, database_url=postgres_url, auto_migrate=True
    )
    database = await open_database(settings)
    other = await open_database(settings)
    ids = await database.run(queue_many, 10, now=utc_now())
    mailer = Mailer(other, settings, utc_now, center=lambda: CENTER)

    async with AsyncSession(database.engine) as session:
        # Another sender is in the middle of claiming the three oldest (not yet committed).
        held = await due_mail(session, now=utc_now(), limit=3)
        assert [mail.id for mail in held] == ids[:3]
        # Skipped, not waited for: this would hang until the timeout without SKIP LOCKED.
        assert await asyncio.wait_for(mailer.send_due(), TIMEOUT) == 7
        await session.rollback()  # that sender died before its claim committed

    assert await mailer.send_due() == 3
    delivered = await inbox.wait_for(10)
    assert len({m["Message-ID"] for m in delivered}) == 10
    assert all(row.sent_at is not None for row in await database.run(outbox))
