"""The mail sender: sends what the mail outbox holds, through SMTP or into a folder, with retries.

The loop, the claims and the retries are the outbox sender's (`chatsvc.transport.outbox`); this
module says how a batch of mail goes out. Without an SMTP host, each mail is written to the mail
folder as an .eml file instead (for development and for a center without a mail server).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
from collections.abc import Callable, Sequence
from datetime import UTC
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path

import aiosmtplib
from aiohttp import web

from chatsvc.actions.accounts import server_secret
from chatsvc.catalogue.center import Center
from chatsvc.clock import Clock
from chatsvc.db.database import Database
from chatsvc.outbox import replies
from chatsvc.outbox.mail import MAIL_OUTBOX, DueMail, due_mail
from chatsvc.settings import Settings
from chatsvc.workers.sender import BATCH_SIZE, POLL_SECONDS, OutboxSender

log = logging.getLogger("chatsvc.mail")

SMTP_TIMEOUT = 15.0  # per SMTP command
SECURITY = ("starttls", "tls", "none")
SMTP_ERRORS = (aiosmtplib.SMTPException, OSError, ValueError)


class Mailer(OutboxSender[DueMail]):
    """Sends due mail from the outbox, for one server process."""

    noun = "mail"

    def __init__(
        self,
        database: Database,
        settings: Settings,
        clock: Clock,
        *,
        center: Callable[[], Center],
        poll_seconds: float = POLL_SECONDS,
        batch_size: int = BATCH_SIZE,
    ):
        if settings.smtp_security not in SECURITY:
            raise ValueError(f"smtp_security must be one of {', '.join(SECURITY)}")
        super().__init__(
            database, clock, MAIL_OUTBOX, log, poll_seconds=poll_seconds, batch_size=batch_size
        )
        self.settings = settings
        self.center = center  # the knowledge base's, as it is now: it reloads when edited
        self._reply_key: bytes | None = None

    def sender(self) -> str:
        """The From header: CHATSVC_MAIL_FROM, or else the center's name at no-reply@localhost."""
        return self.settings.mail_from or self.center().mail_from()

    def reply_address(self) -> str:
        """The default Reply-To: CHATSVC_MAIL_REPLY_TO, or else the center's own address.

        Our mail asks residents to reply to it; a reply must reach people even when the From
        is a no-reply address."""
        return self.settings.mail_reply_to or self.center().mail_reply_to()

    async def reply_key(self) -> bytes:
        """The key that signs reply addresses (see `reply_key`)."""
        if self._reply_key is None:
            self._reply_key = await reply_key(self.database, self.settings)
        return self._reply_key

    def describe(self) -> str:
        """Say whether mail goes through SMTP (and where) or into the mail folder."""
        settings = self.settings
        if settings.smtp_host:
            return (
                f"sending through {settings.smtp_host}:{settings.smtp_port} "
                f"({settings.smtp_security})"
            )
        return f"no SMTP host set; writing mail to {settings.mail_folder}"

    def label(self, item: DueMail) -> str:
        """Name a mail by its kind (never its address or content)."""
        return item.kind

    async def claim(self, limit: int) -> Sequence[DueMail]:
        """Claim due mail."""
        return await self.database.run(due_mail, now=self.clock(), limit=limit)

    async def send_batch(self, batch: Sequence[DueMail], deadline: float) -> tuple[int, bool]:
        """Send a batch over one SMTP connection, or write it to the mail folder."""
        if not self.settings.smtp_host:
            return await self.send_each(
                batch, deadline, self._write_to_folder, (OSError, ValueError)
            )
        settings = self.settings
        smtp = aiosmtplib.SMTP(
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            username=settings.smtp_username or None,
            password=settings.smtp_password or None,
            timeout=SMTP_TIMEOUT,
        )
        try:
            await smtp.connect()
        except (aiosmtplib.SMTPException, OSError) as exc:
            # The server is down or refuses us: every mail of the batch waits its backoff.
            for mail in batch:
                await self.failed(mail, exc)
            return 0, False
        try:
            send = functools.partial(self._send_by_smtp, smtp)
            return await self.send_each(
                batch, deadline, send, SMTP_ERRORS, usable=lambda: smtp.is_connected
            )
        finally:
            await _quit(smtp)

    async def _send_by_smtp(self, smtp: aiosmtplib.SMTP, mail: DueMail) -> None:
        sender = self.sender()
        message = build_message(
            mail, self.settings, sender, self.reply_address(), await self.reply_key()
        )
        await smtp.send_message(message, sender=parseaddr(sender)[1], recipients=[mail.to_address])

    async def _write_to_folder(self, mail: DueMail) -> str:
        # No SMTP host configured: the mail folder is the outbox's far side.
        name = f"{mail.created_at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{mail.id}.eml"
        message = build_message(
            mail, self.settings, self.sender(), self.reply_address(), await self.reply_key()
        )
        data = message.as_bytes()
        path = await asyncio.to_thread(_write_atomically, self.settings.mail_folder, name, data)
        return f"written to {path}: {mail.subject}"


async def reply_key(database: Database, settings: Settings) -> bytes:
    """The key that signs reply addresses: CHATSVC_MAIL_REPLY_SECRET, or else one generated
    once and kept in the database, so that the mail-in server verifies what any sender signed."""
    if settings.mail_reply_secret:
        return settings.mail_reply_secret.encode()
    return (await database.run(server_secret, name=REPLY_SECRET_NAME)).encode()


REPLY_SECRET_NAME = "mail_reply"


def build_message(
    mail: DueMail,
    settings: Settings,
    sender: str,
    reply_address: str = "",
    reply_key: bytes = b"",
) -> EmailMessage:
    """Build the plain-text email for an outbox mail, from `sender`, answered at the mail's own
    Reply-To, or its thread's reply address (with CHATSVC_MAIL_REPLY_DOMAIN), or else
    `reply_address` (the same bytes on every resend, unless the sender or the reply address
    was changed meanwhile)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    reply_to = mail.reply_to or reply_address or settings.mail_reply_to
    if mail.thread is not None and settings.mail_reply_domain and reply_key:
        reply_to = _thread_reply_to(
            sender, replies.reply_address(reply_key, mail.thread, settings.mail_reply_domain)
        )
    if reply_to:
        message["Reply-To"] = reply_to
    message["Message-ID"] = mail.message_id
    if mail.references:
        message["In-Reply-To"] = mail.references[-1]
        message["References"] = " ".join(mail.references)
    message["Date"] = format_datetime(mail.created_at.astimezone(UTC))
    body = mail.body
    if mail.unsubscribe_token:
        # One click stops all our mail to this address (RFC 8058): for whoever never asked for
        # it, since anyone can type anyone's address into a chat.
        link = unsubscribe_url(settings, mail.unsubscribe_token)
        message["List-Unsubscribe"] = f"<{link}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        body = (
            f"{body.rstrip()}\n\n--\nDid not ask for this, or want no more emails from us? {link}\n"
        )
    message.set_content(body, charset="utf-8")
    return message


def _thread_reply_to(sender: str, address: str) -> str:
    # The center's name (from the From) on the thread's address: the reply says who it is to.
    name = parseaddr(sender)[0]
    return formataddr((name, address)) if name else address


def unsubscribe_url(settings: Settings, token: str) -> str:
    """The link that stops all mail to the address a mail went to."""
    return f"{settings.base_url}/mail/stop?token={token}"


def _write_atomically(folder: Path, name: str, data: bytes) -> Path:
    # Readers of the folder see a whole file or none; a resend replaces it with the same bytes.
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    temporary = folder / f".{name}.tmp"
    try:
        with open(temporary, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


async def _quit(smtp: aiosmtplib.SMTP) -> None:
    if not smtp.is_connected:
        return
    try:
        await smtp.quit()
    except (aiosmtplib.SMTPException, OSError):
        smtp.close()


MAILER = web.AppKey("mailer", Mailer)
