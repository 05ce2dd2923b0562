"""The mail outbox: mail is queued in the transaction that decided it and sent later, with retries.

Every function takes an open AsyncSession (the caller commits) and plain values.

Delivery is at least once, not exactly once. The sender (`chatsvc.transport.mailer`) claims due
mail in one short transaction that pushes its next attempt a lease ahead (`LEASE`), sends it, and
marks it sent in another. A process that dies mid-send leaves the mail to be retried once the
lease runs out, so nothing is lost; but a process that dies (or loses the database) after the
SMTP server accepted a mail and before `mark_sent` committed sends that mail a second time. SMTP
gives no way to close that gap. A resent mail keeps its Message-ID, so mail systems and readers
that dedupe on it see one mail. What never happens is two processes sending the same mail at
once: the claim takes rows with FOR UPDATE SKIP LOCKED, so concurrent senders split the due mail.

A mail that keeps failing is never dropped: it is retried with exponential backoff up to
`MAX_BACKOFF`, and from `LOUD_AFTER_ATTEMPTS` attempts on each failure is reported as an error.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import getaddresses

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .models import OutboxMail

LEASE = timedelta(minutes=3)  # how long a claimed mail is left alone by other senders
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=30)
LOUD_AFTER_ATTEMPTS = 20
MAX_ERROR_CHARS = 1000

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

    @classmethod
    def of(cls, mail: OutboxMail) -> DueMail:
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
        )


@dataclass(frozen=True)
class Retry:
    """A failed attempt, recorded: how many there were and when the next one is."""

    attempts: int
    next_attempt_at: datetime

    @property
    def overdue(self) -> bool:
        """Tell whether this mail has failed often enough that a person should look at it."""
        return self.attempts >= LOUD_AFTER_ATTEMPTS


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
) -> int:
    """Add a mail to the outbox in the caller's transaction, due now; return its id."""
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
    )
    session.add(mail)
    await session.flush()
    return mail.id


async def due_mail(
    session: AsyncSession, *, now: datetime, limit: int, lease: timedelta = LEASE
) -> list[DueMail]:
    """Claim up to `limit` unsent mails that are due, oldest first, for `lease`.

    Rows another transaction holds are skipped, not waited for; once the caller commits, the
    claimed mails are not due again until the lease runs out (or a result is recorded).
    """
    mails = (
        await session.scalars(
            select(OutboxMail)
            .where(OutboxMail.sent_at.is_(None), OutboxMail.next_attempt_at <= now)
            .order_by(OutboxMail.next_attempt_at, OutboxMail.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    for mail in mails:
        mail.next_attempt_at = now + lease
    return [DueMail.of(mail) for mail in mails]


async def mark_sent(session: AsyncSession, mail_id: int, now: datetime) -> bool:
    """Record that the mail server accepted a mail; tell whether it was still unsent."""
    mail = await session.get(OutboxMail, mail_id, with_for_update=True)
    if mail is None or mail.sent_at is not None:
        return False
    mail.sent_at = now
    mail.attempts += 1
    return True


async def mark_failed(
    session: AsyncSession, mail_id: int, error: str, now: datetime
) -> Retry | None:
    """Record a failed attempt and schedule the next one; None if the mail is already sent."""
    mail = await session.get(OutboxMail, mail_id, with_for_update=True)
    if mail is None or mail.sent_at is not None:
        return None
    mail.attempts += 1
    mail.last_error = error[:MAX_ERROR_CHARS]
    mail.next_attempt_at = now + backoff(mail.attempts)
    return Retry(mail.attempts, mail.next_attempt_at)


async def release_mail(session: AsyncSession, mail_ids: Sequence[int], now: datetime) -> None:
    """Give back claimed mails that were not attempted, so they are due again now."""
    if not mail_ids:
        return
    await session.execute(
        update(OutboxMail)
        .where(OutboxMail.id.in_(mail_ids), OutboxMail.sent_at.is_(None))
        .values(next_attempt_at=now)
    )


def backoff(attempts: int) -> timedelta:
    """Wait 30 s after the first failure, doubling after each, never more than 30 min."""
    doublings = min(max(attempts - 1, 0), 16)  # past the cap long before 16; keeps 2**n small
    return min(FIRST_BACKOFF * (1 << doublings), MAX_BACKOFF)


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
