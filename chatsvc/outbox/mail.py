"""The mail outbox: mail is queued in the transaction that decided it and sent later, with retries.

Every function takes an open AsyncSession (the caller commits) and plain values.

The table is an outbox (`chatsvc.outbox`): delivery is at least once, not exactly once, and a
mail that keeps failing is retried forever with backoff. The sender
(`chatsvc.transport.mailer`) claims due mail, sends it and records the outcome. SMTP gives no
way to close the gap between the server accepting a mail and `mark_sent` committing, so a
process that dies in it sends that mail again; a resent mail keeps its Message-ID, so mail
systems and readers that dedupe on it see one mail.
"""

from __future__ import annotations

import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import getaddresses

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc import notices
from chatsvc.db.models import MailSuppression, OutboxMail
from chatsvc.outbox.base import LEASE, Outbox
from chatsvc.outbox.base import backoff as backoff
from chatsvc.outbox.replies import MailThread

log = logging.getLogger("chatsvc.mail")

MAIL_OUTBOX = Outbox(OutboxMail)
CAP_WINDOW = timedelta(days=1)

# Columns' sizes (models.OutboxMail).
MAX_KIND = 32
MAX_ADDRESS = 254
MAX_SUBJECT = 200


class InvalidMail(ValueError):
    """A mail that must not be queued: unsafe headers or an address that is not one address."""


@dataclass(frozen=True)
class DueMail:
    """A claimed mail, as the sender needs it."""

    id: int
    message_id: str
    kind: str
    to_address: str
    reply_to: str | None
    subject: str
    body: str
    created_at: datetime
    attempts: int  # attempts made before this one
    unsubscribe_token: str | None = None
    thread: MailThread | None = None
    # The Message-IDs of the thread's earlier mails, oldest first (In-Reply-To, References).
    references: tuple[str, ...] = ()

    @classmethod
    def of(cls, mail: OutboxMail, references: tuple[str, ...] = ()) -> DueMail:
        return cls(
            id=mail.id,
            message_id=mail.message_id,
            kind=mail.kind,
            to_address=mail.to_address,
            reply_to=mail.reply_to,
            subject=mail.subject,
            body=mail.body,
            created_at=mail.created_at,
            attempts=mail.attempts,
            unsubscribe_token=mail.unsubscribe_token,
            thread=_thread_of(mail),
            references=references,
        )


def _thread_of(mail: OutboxMail) -> MailThread | None:
    if mail.thread_kind is None or mail.thread_id is None:
        return None
    try:
        return MailThread(mail.thread_kind, mail.thread_id)  # type: ignore[arg-type]
    except ValueError:
        return None


def new_message_id() -> str:
    """Make a Message-ID that stays the mail's own through every resend."""
    return f"<{uuid.uuid4().hex}@chatsvc>"


async def queue_mail(
    session: AsyncSession,
    *,
    kind: str,
    to: str,
    subject: str,
    body: str,
    reply_to: str | None,
    now: datetime,
    per_address_per_day: int | None = None,
    thread: MailThread | None = None,
) -> int | None:
    """Add a mail to the outbox in the caller's transaction, due now; return its id.

    Nothing is queued (None) for an address that asked for no more mail, nor for one that was
    already sent `per_address_per_day` mails in 24 hours: a stranger who types someone else's
    address cannot make the City mail them without end. The caller's action carries on.

    A mail of a `thread` is answered at the thread's own reply address (outbox.replies), so a
    reply goes back to the chat, left message or request it is about.

    Locking order: with a cap, the recipient's lock (PostgreSQL: an advisory lock held until
    commit, so parallel transactions count one after another and none gets past the cap;
    SQLite has one connection per process, whose transactions take turns already). Call it
    after locking any rows.
    """
    if not kind or len(kind) > MAX_KIND:
        raise InvalidMail(f"mail kind must be 1 to {MAX_KIND} characters")
    _check_header("to", to)
    if _single_address("to", to) != to:
        raise InvalidMail("to must be a bare address like name@example.com")
    _check_header("subject", subject)
    if not subject.strip() or len(subject) > MAX_SUBJECT:
        raise InvalidMail(f"subject must be 1 to {MAX_SUBJECT} characters")
    if reply_to is not None:
        _check_header("reply_to", reply_to)
        _single_address("reply_to", reply_to)
    address = to.lower()
    if await session.get(MailSuppression, address) is not None:
        log.info("%s mail not queued: the address asked for no more mail", kind)
        return None
    if per_address_per_day is not None:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(
                select(func.pg_advisory_xact_lock(func.hashtext("mail"), func.hashtext(address)))
            )
        sent = await session.scalar(
            select(func.count()).where(
                OutboxMail.created_at > now - CAP_WINDOW,
                func.lower(OutboxMail.to_address) == address,
            )
        )
        if (sent or 0) >= per_address_per_day:
            log.info("%s mail not queued: the address had %d mails in 24 hours", kind, sent)
            return None
    mail = OutboxMail(
        message_id=new_message_id(),
        kind=kind,
        to_address=to,
        reply_to=reply_to,
        subject=subject,
        body=body,
        created_at=now,
        next_attempt_at=now,
        attempts=0,
        unsubscribe_token=secrets.token_urlsafe(32),
        thread_kind=thread.kind if thread else None,
        thread_id=thread.id if thread else None,
    )
    session.add(mail)
    await session.flush()
    notices.record(session, notices.MailQueued())  # the sender wakes once this commits
    return mail.id


async def due_mail(
    session: AsyncSession, *, now: datetime, limit: int, lease: timedelta = LEASE
) -> list[DueMail]:
    """Claim up to `limit` unsent mails that are due, oldest first, for `lease`."""
    mails = await MAIL_OUTBOX.claim(session, now=now, limit=limit, lease=lease)
    return [DueMail.of(mail, await _earlier_in_thread(session, mail)) for mail in mails]


MAX_REFERENCES = 10


async def _earlier_in_thread(session: AsyncSession, mail: OutboxMail) -> tuple[str, ...]:
    """The Message-IDs of the mails of `mail`'s thread queued before it (the last few)."""
    if mail.thread_kind is None:
        return ()
    rows = await session.scalars(
        select(OutboxMail.message_id)
        .where(
            OutboxMail.thread_kind == mail.thread_kind,
            OutboxMail.thread_id == mail.thread_id,
            OutboxMail.id < mail.id,
        )
        .order_by(OutboxMail.id.desc())
        .limit(MAX_REFERENCES)
    )
    return tuple(reversed(rows.all()))


async def thread_of_message_id(session: AsyncSession, message_id: str) -> MailThread | None:
    """The thread of the mail of ours with this Message-ID, if there is one."""
    mail = await session.scalar(
        select(OutboxMail).where(OutboxMail.message_id == message_id.strip())
    )
    return _thread_of(mail) if mail is not None else None


async def is_unsubscribe_token(session: AsyncSession, token: str) -> bool:
    """Tell whether a mail of ours carries this unsubscribe token."""
    found = await session.scalar(select(OutboxMail.id).where(OutboxMail.unsubscribe_token == token))
    return found is not None


async def suppress_by_token(session: AsyncSession, token: str, now: datetime) -> bool:
    """Stop all mail to the address a mail with this unsubscribe token went to.

    Tell whether the token was one of ours (a guessed or forged one suppresses nothing).
    """
    if not token or len(token) > 64:
        return False
    address = await session.scalar(
        select(OutboxMail.to_address).where(OutboxMail.unsubscribe_token == token)
    )
    if address is None:
        return False
    if await session.get(MailSuppression, address.lower()) is None:
        session.add(MailSuppression(address=address.lower(), suppressed_at=now))
        await session.flush()
    return True


_LINKABLE = re.compile(r"\S*(?:://|www\.|@|\w\.[a-z]{2,})\S*", re.IGNORECASE)


def quote_resident_text(text: str) -> list[str]:
    """Quote what a resident wrote for a mail: each line after "> ", nothing a mail reader
    would turn into a link (https://evil.example becomes https[:]//evil[.]example)."""
    return [f"> {_LINKABLE.sub(_defang, line)}".rstrip() for line in text.splitlines()] or [">"]


def _defang(match: re.Match[str]) -> str:
    return match.group().replace(":", "[:]").replace(".", "[.]").replace("@", "[at]")


# Recording outcomes is the same for every outbox (see chatsvc.outbox).
mark_sent = MAIL_OUTBOX.mark_sent
mark_failed = MAIL_OUTBOX.mark_failed
release_mail = MAIL_OUTBOX.release


def _check_header(name: str, value: str) -> None:
    # A line break in a header value would let its author add headers (or recipients).
    if any(ch in "\r\n\u2028\u2029" or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise InvalidMail(f"{name} must not contain line breaks or control characters")


def _single_address(name: str, value: str) -> str:
    if len(value) > MAX_ADDRESS:
        raise InvalidMail(f"{name} must be at most {MAX_ADDRESS} characters")
    addresses = getaddresses([value])
    if len(addresses) != 1 or "@" not in addresses[0][1] or "," in value:
        raise InvalidMail(f"{name} must be one email address")
    address = addresses[0][1]
    local, _, domain = address.rpartition("@")
    if not local or not domain or any(ch.isspace() for ch in address):
        raise InvalidMail(f"{name} must be one email address")
    return address
