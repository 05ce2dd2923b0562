"""Messages left for the center when nobody can chat: stored, acknowledged by email, answered.

`leave_message` is the one action a resident's form calls. It refuses floods (per sender and per
email address), files suspected spam under `spam` instead of the inbox (nothing is dropped: staff
can still see it), and queues the acknowledgement mail in the same transaction, so a message and
its acknowledgement exist together or not at all.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from .conversations import _iso
from .errors import ChatError
from .mail import queue_mail
from .models import AfterHoursMessage

REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U: read out on the phone
SPAM_THRESHOLD = 0.7
SPAM_PHRASES = (
    "ivermectin",
    "viagra",
    "cialis",
    "casino",
    "crypto",
    "bitcoin",
    "forex",
    "payday loan",
    "seo services",
    "backlinks",
    "buy followers",
    "weight loss pills",
    "work from home and earn",
    "click here",
)
_BUY_ONLINE = re.compile(r"\bbuy\b.{0,40}\bonline\b", re.IGNORECASE | re.DOTALL)
_LINK = re.compile(r"https?://|www\.|\[url=|<a\s", re.IGNORECASE)


class RateLimited(ChatError):
    code = "rate_limited"
    status = 429


@dataclass(frozen=True)
class Limits:
    per_sender_per_hour: int
    per_email_per_day: int


@dataclass(frozen=True)
class LeftMessage:
    """What the resident is told: the reference, and by when they will have a reply."""

    id: int
    reference: str
    reply_due: datetime
    status: str
    duplicate: bool

    def as_dict(self) -> dict[str, object]:
        return {"reference": self.reference, "reply_due": _iso(self.reply_due)}


def spam_score(name: str, email: str, text: str) -> tuple[float, list[str]]:
    """Score how much a message looks like comment spam (0 to 1), with the reasons."""
    reasons = []
    score = 0.0
    lowered = f"{name}\n{text}".lower()
    links = len(_LINK.findall(text)) + len(_LINK.findall(name))
    if links:
        score += min(0.6, 0.3 * links)
        reasons.append(f"{links} link{'s' if links > 1 else ''}")
    phrases = [p for p in SPAM_PHRASES if p in lowered]
    if _BUY_ONLINE.search(lowered):
        phrases.append("buy … online")
    if phrases:
        score += 0.5 + 0.1 * (len(phrases) - 1)
        reasons.append("spam phrases: " + ", ".join(phrases[:5]))
    letters = [c for c in text if c.isalpha()]
    if len(letters) >= 20 and sum(c.isupper() for c in letters) / len(letters) > 0.8:
        score += 0.2
        reasons.append("shouting")
    if _LINK.search(name):
        score += 0.3
        reasons.append("a link as the name")
    return min(1.0, round(score, 3)), reasons


async def leave_message(
    session: AsyncSession,
    *,
    name: str,
    email: str,
    text: str,
    client_id: str | None,
    conversation_id: int | None,
    sender_key: str,
    honeypot: str,
    limits: Limits,
    reply_due: datetime,
    due_text: str,
    now: datetime,
) -> LeftMessage:
    """Store a resident's message for the next business day, once per client id."""
    if client_id is not None:
        stored = await session.scalar(
            select(AfterHoursMessage).where(AfterHoursMessage.client_id == client_id)
        )
        if stored is not None:
            return _left(stored, duplicate=True)
    recent = await session.scalar(
        select(func.count()).where(
            AfterHoursMessage.sender_key == sender_key,
            AfterHoursMessage.received_at > now - timedelta(hours=1),
        )
    )
    if (recent or 0) >= limits.per_sender_per_hour:
        raise RateLimited(
            "You have sent several messages in a short time. Please wait an hour before "
            "sending another, or call us."
        )
    same_email = await session.scalar(
        select(func.count()).where(
            func.lower(AfterHoursMessage.email) == email.lower(),
            AfterHoursMessage.received_at > now - timedelta(days=1),
        )
    )
    if (same_email or 0) >= limits.per_email_per_day:
        raise RateLimited(
            "We already have several messages from this email address today. We will answer "
            "them; please wait for our reply."
        )
    score, reasons = spam_score(name, email, text)
    if honeypot:
        # A field people never see was filled in: a robot. Kept under spam, not dropped.
        score, reasons = 1.0, ["hidden field filled in", *reasons]
    status = "spam" if score >= SPAM_THRESHOLD else "new"
    message = AfterHoursMessage(
        reference=await _new_reference(session),
        client_id=client_id,
        name=name,
        email=email,
        body=text,
        conversation_id=conversation_id,
        received_at=now,
        reply_due=reply_due,
        status=status,
        spam_score=score,
        spam_reasons=reasons or None,
        sender_key=sender_key,
    )
    session.add(message)
    await session.flush()
    if status != "spam":
        # No acknowledgement for suspected spam: its address is often someone else's.
        await queue_mail(
            session,
            kind="after_hours_ack",
            to=email,
            subject=f"We received your message ({message.reference})",
            body=_acknowledgement(name, message.reference, text, due_text),
            reply_to=None,
            now=now,
        )
    return _left(message, duplicate=False)


def _left(message: AfterHoursMessage, *, duplicate: bool) -> LeftMessage:
    return LeftMessage(message.id, message.reference, message.reply_due, message.status, duplicate)


async def _new_reference(session: AsyncSession) -> str:
    for _ in range(10):
        reference = "M-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
        taken = await session.scalar(
            select(func.count()).where(AfterHoursMessage.reference == reference)
        )
        if not taken:
            return reference
    raise ChatError("Could not number the message. Please try again.", code="internal_error")


def _acknowledgement(name: str, reference: str, text: str, due_text: str) -> str:
    quoted = "\n".join(f"> {line}" for line in text.splitlines())
    return (
        f"Dear {name},\n\n"
        "Thank you for contacting the City's Citizen Service Center. We received your message "
        f"and will reply to this email address by {due_text}.\n\n"
        f"Your reference number is {reference}. Please mention it if you call us at "
        "(626) 744-7311.\n\n"
        f"Your message:\n\n{quoted}\n\n"
        "If someone is in danger, call 911.\n\n"
        "Citizen Service Center\nCity of Pasadena\n"
    )
