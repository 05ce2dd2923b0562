"""The inbound SMTP server: residents' replies by email, relayed by the city's mail server.

It accepts mail for our reply addresses only (`reply+…@CHATSVC_MAIL_REPLY_DOMAIN`; anything
else is 550), at most CHATSVC_MAIL_IN_MAX_BYTES of it (552), and at most so many mails an hour
from one sender and overall (451: the relay tries again later). A mail is read and its images
are redrawn off the event loop; then one action (`actions.mail_replies.receive_reply`) puts it
where it belongs, and its events reach the staff's panes when that commits, as a resident's
message's do. Automatic replies ("out of office") are taken and dropped.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from aiosmtpd.smtp import SMTP, Envelope, Session

from chatsvc.actions.mail_replies import Reply, receive_reply
from chatsvc.actions.service_requests.views import RequestPolicy
from chatsvc.clock import Clock
from chatsvc.db.database import DATABASE_DOWN, Database
from chatsvc.hours import BusinessCalendar
from chatsvc.images import CleanImage, NotAnImage, clean_image
from chatsvc.mail_in.reading import IncomingReply, read_reply
from chatsvc.outbox.replies import read_reply_address
from chatsvc.settings import Rate, Settings
from chatsvc.transport.limits import Bucket
from chatsvc.workers.mailer import reply_key

log = logging.getLogger("chatsvc.mail_in")

MAX_RECIPIENTS = 5
COMMAND_TIMEOUT = 60.0  # seconds a client may stay silent
UNKNOWN_RECIPIENT = "550 5.1.1 No such recipient here"
LIMITED = "451 4.7.1 Too many mails; try again later"
TRY_LATER = "451 4.3.0 Cannot take this mail now; try again later"


class MailIn:
    """Receives replies by email on one address and port, in the app's event loop."""

    def __init__(
        self,
        database: Database,
        settings: Settings,
        clock: Clock,
        calendar: BusinessCalendar,
        policy: Callable[[], RequestPolicy],
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.database = database
        self.settings = settings
        self.clock = clock
        self.calendar = calendar
        self.policy = policy
        self.monotonic = monotonic
        self.key = b""
        self.server: asyncio.Server | None = None
        per_hour = settings.mail_in_per_sender_per_hour
        self.sender_rate = Rate(per_hour, per_hour / 60)
        self.overall_rate = Rate(settings.mail_in_per_hour, settings.mail_in_per_hour / 60)
        self._senders: dict[str, Bucket] = {}
        self._overall = Bucket(self.overall_rate.burst, monotonic())

    @property
    def port(self) -> int:
        """The port it listens on (CHATSVC_MAIL_IN_PORT=0 picks a free one)."""
        assert self.server is not None, "the mail-in server is not running"
        return int(self.server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Listen on CHATSVC_MAIL_IN_HOST:CHATSVC_MAIL_IN_PORT."""
        settings = self.settings
        if not settings.mail_reply_domain:
            log.warning("mail-in: CHATSVC_MAIL_REPLY_DOMAIN is not set: every mail is refused")
        self.key = await reply_key(self.database, settings)
        loop = asyncio.get_running_loop()
        self.server = await loop.create_server(
            lambda: SMTP(
                self,
                data_size_limit=settings.mail_in_max_bytes,
                hostname=settings.mail_reply_domain or "localhost",
                ident="chatsvc mail-in",
                timeout=COMMAND_TIMEOUT,
                enable_SMTPUTF8=True,
            ),
            settings.mail_in_host,
            settings.mail_in_port or 0,
        )
        log.info("mail-in: listening on %s:%d", settings.mail_in_host, self.port)

    async def close(self) -> None:
        """Stop taking connections and wait for the open ones to finish."""
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()
            self.server = None

    # --- aiosmtpd's handler hooks --------------------------------------------------------

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        """Refuse a sender past its hourly mails, or everyone past the overall ones."""
        now = self.monotonic()
        if len(self._senders) > 10_000:
            self._senders = {
                a: b for a, b in self._senders.items() if not b.full(self.sender_rate, now)
            }
        sender = address.lower()
        bucket = self._senders.setdefault(sender, Bucket(self.sender_rate.burst, now))
        if bucket.take(self.sender_rate, now) or self._overall.take(self.overall_rate, now):
            log.warning("mail-in: refused a mail: too many mails")
            return LIMITED
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        """Take our reply addresses only (a forged signature too: it goes to the inbox)."""
        domain = self.settings.mail_reply_domain
        if not domain or read_reply_address(self.key, address, domain) is None:
            return UNKNOWN_RECIPIENT
        if len(envelope.rcpt_tos) >= MAX_RECIPIENTS:
            return "452 4.5.3 Too many recipients"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        """Read the mail and put it where it belongs; 451 if the database cannot take it."""
        raw = envelope.original_content or b""
        if isinstance(raw, str):  # only with decode_data, which is off
            raw = raw.encode("utf-8", errors="replace")
        incoming, images, automatic = await asyncio.to_thread(
            _read, raw, self.settings.photo_max_pixels
        )
        if automatic:
            log.info("mail-in: dropped an automatic reply")
            return "250 OK"
        reference = read_reply_address(
            self.key, envelope.rcpt_tos[0], self.settings.mail_reply_domain
        )
        reply = Reply(
            message_id=incoming.message_id or f"<{hashlib.sha256(raw).hexdigest()[:40]}@mail-in>",
            from_name=incoming.from_name,
            from_address=incoming.from_address or str(envelope.mail_from or "")[:254],
            subject=incoming.subject,
            text=incoming.text,
            references=incoming.references,
            images=images,
        )
        try:
            landed = await self.database.run(
                receive_reply,
                reply=reply,
                reference=reference,
                calendar=self.calendar,
                policy=self.policy(),
                now=self.clock(),
            )
        except DATABASE_DOWN as exc:
            log.warning("mail-in: database unavailable: %s", exc)
            return TRY_LATER
        except Exception:
            log.exception("mail-in: could not store a reply")
            return TRY_LATER
        log.info("mail-in: a reply went to %s %d (%s)", landed.where, landed.id, landed.reason)
        return "250 OK"


def _read(raw: bytes, max_pixels: int) -> tuple[IncomingReply, tuple[CleanImage, ...], bool]:
    """Read a mail and redraw its images (a worker thread's part)."""
    incoming = read_reply(raw)
    images = []
    for data in incoming.images:
        try:
            images.append(clean_image(data, max_pixels=max_pixels))
        except NotAnImage:
            continue  # an attachment that only says it is an image: dropped
    automatic = _automatic(raw)
    return replace(incoming, images=()), tuple(images), automatic


def _automatic(raw: bytes) -> bool:
    """Tell whether a mail says it was sent by a machine (RFC 3834), like "out of office"."""
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0].lower()
    for line in head.splitlines():
        if line.startswith(b"auto-submitted:") and line.split(b":", 1)[1].strip() != b"no":
            return True
    return False
