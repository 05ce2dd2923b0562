"""The mail sender: sends what the outbox holds, through SMTP or into a folder, with retries.

What is due is decided in the database (`chatsvc.mail`), so any number of server processes can
run a Mailer on one database: each pass claims a batch, sends it and records the outcome. A pass
runs every few seconds and soon after `wake()`. Without an SMTP host, each mail is written to
the mail folder as an .eml file instead (for development and for a center without a mail server).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence
from datetime import UTC
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path

import aiosmtplib
from aiohttp import web

from ..mail import DueMail, due_mail, mark_failed, mark_sent, release_mail
from ..settings import Settings
from .sockets import DATABASE_DOWN
from .state import Clock, Database

log = logging.getLogger("chatsvc.mail")

POLL_SECONDS = 5.0
BATCH_SIZE = 20
SMTP_TIMEOUT = 15.0  # per SMTP command
# No new send starts later than this after a claim, so a slow server cannot make a send outlast
# the claim's lease (mail.LEASE, 3 min): past it the rest of the batch is given back.
SEND_WINDOW_SECONDS = 60.0
CLOSE_GRACE_SECONDS = 10.0
SECURITY = ("starttls", "tls", "none")


class Mailer:
    """Sends due mail from the outbox, for one server process."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        clock: Clock,
        *,
        poll_seconds: float = POLL_SECONDS,
        batch_size: int = BATCH_SIZE,
    ):
        if settings.smtp_security not in SECURITY:
            raise ValueError(f"smtp_security must be one of {', '.join(SECURITY)}")
        self.database = database
        self.settings = settings
        self.clock = clock
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self._envelope_from = parseaddr(settings.mail_from)[1]
        self._wakeup = asyncio.Event()
        self._pass = asyncio.Lock()  # one pass at a time in this process
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    # --- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start sending in the background."""
        if self.settings.smtp_host:
            log.info(
                "mail: sending through %s:%d (%s)",
                self.settings.smtp_host,
                self.settings.smtp_port,
                self.settings.smtp_security,
            )
        else:
            log.info("mail: no SMTP host set; writing mail to %s", self.settings.mail_folder)
        self._task = asyncio.create_task(self._send_forever(), name="mailer")

    async def close(self) -> None:
        """Stop after the send in progress (or, past a grace period, in the middle of it)."""
        self._closing = True
        self._wakeup.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._task, CLOSE_GRACE_SECONDS)
        except TimeoutError:
            log.warning("mail: stopped mid-send; unsent mail is retried when its claim lapses")
        self._task = None

    def wake(self) -> None:
        """Send soon: a mail was queued (call after its transaction committed)."""
        self._wakeup.set()

    async def _send_forever(self) -> None:
        while not self._closing:
            self._wakeup.clear()
            try:
                await self.send_due()
            except asyncio.CancelledError:
                raise
            except DATABASE_DOWN as exc:
                log.warning("mail: database unavailable: %s", exc)
            except Exception:
                log.exception("mail: sending failed")
            if self._closing:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.poll_seconds)

    # --- one pass ----------------------------------------------------------------------------

    async def send_due(self) -> int:
        """Send every mail that is due now, batch by batch; return how many were sent."""
        async with self._pass:
            sent = 0
            while not self._closing:
                mails = await self.database.run(due_mail, now=self.clock(), limit=self.batch_size)
                if not mails:
                    break
                if self.settings.smtp_host:
                    batch_sent, carry_on = await self._send_by_smtp(mails)
                else:
                    batch_sent, carry_on = await self._write_to_folder(mails)
                sent += batch_sent
                if not carry_on or len(mails) < self.batch_size:
                    break
            return sent

    async def _send_by_smtp(self, mails: Sequence[DueMail]) -> tuple[int, bool]:
        """Send a batch over one connection; return how many were sent and whether to go on."""
        claimed_at = asyncio.get_running_loop().time()
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
            for mail in mails:
                await self._failed(mail, exc)
            return 0, False
        sent = 0
        try:
            for index, mail in enumerate(mails):
                elapsed = asyncio.get_running_loop().time() - claimed_at
                if self._closing or elapsed > SEND_WINDOW_SECONDS or not smtp.is_connected:
                    # Not attempted: due again now (a fresh pass or another process sends them).
                    rest = [m.id for m in mails[index:]]
                    await self.database.run(release_mail, rest, now=self.clock())
                    return sent, False
                try:
                    message = build_message(mail, settings)
                    await smtp.send_message(
                        message, sender=self._envelope_from, recipients=[mail.to_address]
                    )
                except (aiosmtplib.SMTPException, OSError, ValueError) as exc:
                    await self._failed(mail, exc)
                    continue
                if await self.database.run(mark_sent, mail.id, now=self.clock()):
                    sent += 1
            return sent, True
        finally:
            await _quit(smtp)

    async def _write_to_folder(self, mails: Sequence[DueMail]) -> tuple[int, bool]:
        """Write each mail to the mail folder as an .eml file (no SMTP host configured)."""
        sent = 0
        for mail in mails:
            name = f"{mail.created_at.astimezone(UTC):%Y%m%dT%H%M%SZ}-{mail.id}.eml"
            try:
                data = build_message(mail, self.settings).as_bytes()
                path = await asyncio.to_thread(
                    _write_atomically, self.settings.mail_folder, name, data
                )
            except (OSError, ValueError) as exc:
                await self._failed(mail, exc)
                continue
            if await self.database.run(mark_sent, mail.id, now=self.clock()):
                sent += 1
                log.info("mail %d written to %s: %s", mail.id, path, mail.subject)
        return sent, True

    async def _failed(self, mail: DueMail, exc: BaseException) -> None:
        error = f"{type(exc).__name__}: {exc}"
        retry = await self.database.run(mark_failed, mail.id, error=error, now=self.clock())
        if retry is None:
            return  # sent meanwhile by another process whose claim outlived ours
        level = logging.ERROR if retry.overdue else logging.WARNING
        log.log(
            level,
            "mail %d (%s) not sent, attempt %d; next attempt at %s: %s",
            mail.id,
            mail.kind,
            retry.attempts,
            retry.next_attempt_at.isoformat(timespec="seconds"),
            error,
        )


def build_message(mail: DueMail, settings: Settings) -> EmailMessage:
    """Build the plain-text email for an outbox mail (the same bytes on every resend)."""
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    reply_to = mail.reply_to or settings.mail_reply_to
    if reply_to:
        message["Reply-To"] = reply_to
    message["Message-ID"] = mail.message_id
    message["Date"] = format_datetime(mail.created_at.astimezone(UTC))
    message.set_content(mail.body, charset="utf-8")
    return message


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
