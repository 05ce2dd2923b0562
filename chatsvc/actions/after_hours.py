"""Messages left for the center when nobody can chat: stored, acknowledged by email, answered.

`leave_message` is the one action a resident's form calls. It refuses floods (per sender and per
email address), files suspected spam under `spam` instead of the inbox (nothing is dropped: staff
can still see it), and queues the acknowledgement mail and ends the chat it was left from in the
same transaction, so a message, its acknowledgement and the chat's end exist together or not at
all, and a retry finishes whatever a first attempt left undone.
"""

from __future__ import annotations

import math
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc import notices
from chatsvc.actions.accounts import StaffView
from chatsvc.actions.conversations import Ended, end_conversation, iso_utc
from chatsvc.catalogue.center import Center
from chatsvc.db.models import AfterHoursMessage, Conversation, InboundMail, Staff
from chatsvc.errors import (
    AlreadyTaken,
    ChatError,
    ConversationEnded,
    InvalidPayload,
    NotAssigned,
    NotFound,
    RateLimited,
)
from chatsvc.hours import BusinessCalendar, end_sentence
from chatsvc.i18n import translate
from chatsvc.outbox.mail import queue_mail, quote_resident_text
from chatsvc.outbox.mail_words import MailWords
from chatsvc.outbox.replies import MailThread

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


@dataclass(frozen=True)
class Limits:
    per_sender_per_hour: int
    per_email_per_day: int
    mail_per_address_per_day: int = 5  # mail of every kind (chatsvc.outbox.mail.queue_mail)


@dataclass(frozen=True)
class LeftMessage:
    """What the resident is told (the reference, by when they will have a reply), what staff
    see in their inbox, and the chat the message ended, if it was left from one."""

    id: int
    reference: str
    reply_due: datetime
    reply_due_text: str
    status: str
    duplicate: bool  # stored by an earlier attempt with the same client id
    item: InboxItem
    ended: Ended | None = None  # its messages are empty if the chat had already ended

    def as_dict(self) -> dict[str, object]:
        return {
            "reference": self.reference,
            "reply_due": iso_utc(self.reply_due),
            "reply_due_text": self.reply_due_text,
            "duplicate": self.duplicate,
        }


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
    calendar: BusinessCalendar,
    center: Center,
    now: datetime,
    language: str | None = None,
) -> LeftMessage:
    """Store a resident's message for the next business day, once per client id, and end the
    chat it was left from (a retry ends it too, if the first attempt could not).

    `language` is the widget's; without it, the chat's it was left from (else English). The
    acknowledgement, and later the reply's frame, are written in it.

    Locking order: the sender's lock (PostgreSQL), the chat's row, then the recipient's mail
    lock (queue_mail).
    """
    if client_id is not None:
        stored = await session.scalar(
            select(AfterHoursMessage).where(AfterHoursMessage.client_id == client_id)
        )
        if stored is not None:
            return await _left(session, stored, calendar, now, duplicate=True)
    reply_due = calendar.reply_due(now)
    if session.get_bind().dialect.name == "postgresql":
        # Count-then-insert is a race between concurrent transactions: one sender's messages
        # take turns (SQLite has a single writer and needs nothing).
        await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(sender_key))))
    recent = await session.scalar(
        select(func.count()).where(
            AfterHoursMessage.sender_key == sender_key,
            AfterHoursMessage.received_at > now - timedelta(hours=1),
        )
    )
    if (recent or 0) >= limits.per_sender_per_hour:
        raise RateLimited(
            "You have sent several messages in a short time. Please wait an hour before "
            "sending another, or call us.",
            retry_after=await _seconds_until_below(
                session,
                AfterHoursMessage.sender_key == sender_key,
                limit=limits.per_sender_per_hour,
                window=timedelta(hours=1),
                now=now,
            ),
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
            "them; please wait for our reply.",
            retry_after=await _seconds_until_below(
                session,
                func.lower(AfterHoursMessage.email) == email.lower(),
                limit=limits.per_email_per_day,
                window=timedelta(days=1),
                now=now,
            ),
        )
    score, reasons = spam_score(name, email, text)
    if honeypot:
        # A field people never see was filled in: a robot. Kept under spam, not dropped.
        score, reasons = 1.0, ["hidden field filled in", *reasons]
    status = "spam" if score >= SPAM_THRESHOLD else "new"
    if language is None and conversation_id is not None:
        language = await session.scalar(
            select(Conversation.language).where(Conversation.id == conversation_id)
        )
    message = AfterHoursMessage(
        language=language or "en",
        reference=await new_reference(session),
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
    # The chat ends first: its row is locked before the recipient's mail lock, as filing a
    # request in it does (conversation, then mail), so the two cannot deadlock.
    left = await _left(session, message, calendar, now, duplicate=False)
    if status != "spam":
        # No acknowledgement for suspected spam: its address is often someone else's.
        await queue_mail(
            session,
            kind="after_hours_ack",
            to=email,
            subject=MailWords(message.language, center)(
                "We received your message ({reference})", reference=message.reference
            ),
            body=_acknowledgement(message, MailWords(message.language, center, calendar)),
            reply_to=None,
            now=now,
            per_address_per_day=limits.mail_per_address_per_day,
            thread=MailThread("after_hours", message.id),
        )
    return left


async def _seconds_until_below(
    session: AsyncSession,
    which: ColumnElement[bool],
    *,
    limit: int,
    window: timedelta,
    now: datetime,
) -> int:
    """Seconds until fewer than `limit` of the messages `which` were received in `window`.

    That is when the limit-th newest of them leaves the window (at least 1 second)."""
    leaving = await session.scalar(
        select(AfterHoursMessage.received_at)
        .where(which, AfterHoursMessage.received_at > now - window)
        .order_by(AfterHoursMessage.received_at.desc())
        .offset(limit - 1)
        .limit(1)
    )
    if leaving is None:
        return 1
    return max(1, math.ceil((leaving + window - now).total_seconds()))


async def _left(
    session: AsyncSession,
    message: AfterHoursMessage,
    calendar: BusinessCalendar,
    now: datetime,
    *,
    duplicate: bool,
) -> LeftMessage:
    """Answer for a stored message, ending the chat it came from (again: ending is idempotent)."""
    due_text = calendar.describe_local(message.reply_due)
    ended = None
    if message.conversation_id is not None:
        ended = await end_conversation(
            session,
            conversation_id=message.conversation_id,
            ended_by="resident",
            now=now,
            # In the conversation's language, its date too.
            notice=lambda language: end_sentence(
                translate(
                    language,
                    "You left us a message (reference {reference}). We will reply to {email} "
                    "by {due}",
                    reference=message.reference,
                    email=message.email,
                    due=calendar.describe_local(message.reply_due, language),
                )
            ),
            disposition="left_message",
        )
    item = await inbox_item(session, message_id=message.id, now=now)
    if not duplicate:
        notices.record(session, notices.InboxItemChanged(item.as_dict()))
    return LeftMessage(
        id=message.id,
        reference=message.reference,
        reply_due=message.reply_due,
        reply_due_text=due_text,
        status=message.status,
        duplicate=duplicate,
        item=item,
        ended=ended,
    )


async def new_reference(session: AsyncSession) -> str:
    for _ in range(10):
        reference = "M-" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(6))
        taken = await session.scalar(
            select(func.count()).where(AfterHoursMessage.reference == reference)
        )
        if not taken:
            return reference
    raise ChatError("Could not number the message. Please try again.", code="internal_error")


def _acknowledgement(message: AfterHoursMessage, words: MailWords) -> str:
    # Neither the name nor the text is the City's: no "Dear {name}" (it could be "City Billing"),
    # and the text is quoted, its addresses made unclickable.
    promise = end_sentence(
        words("and will reply to this email address by {due}", due=words.when(message.reply_due))
    )
    return left_message_mail(
        words,
        words(
            "Thank you for contacting the City's {center}. We received your message {promise}",
            center=words.center_name,
            promise=promise,
        ),
        message.reference,
        message.body,
    )


def left_message_mail(words: MailWords, opening: str, reference: str, text: str) -> str:
    """A mail about a left message: its opening, the reference, what they wrote (quoted)."""
    quoted = "\n".join(quote_resident_text(text))
    signature = "\n".join(words.signature)
    reference_line = words(
        "Your reference number is {reference}. Please mention it if you call us at {phone}.",
        reference=reference,
        phone=words.center.phone,
    )
    return (
        f"{words('Hello,')}\n\n{opening}\n\n{reference_line}\n\n"
        f"{words('What you wrote:')}\n\n{quoted}\n\n"
        f"{words('If someone is in danger, call 911.')}\n\n"
        f"{signature}\n"
    )


# --- the staff inbox ----------------------------------------------------------------------------

STATUSES = ("new", "in_progress", "replied", "closed", "spam")
OPEN_STATUSES = ("new", "in_progress")


@dataclass(frozen=True)
class FollowUp:
    """The resident's reply by email to a left message or to our answer (mail_replies)."""

    text: str
    received_at: datetime

    def as_dict(self) -> dict[str, object]:
        return {"text": self.text, "received_at": iso_utc(self.received_at)}


@dataclass(frozen=True)
class InboxItem:
    """A left message as staff see it."""

    id: int
    reference: str
    name: str
    email: str
    text: str
    received_at: datetime
    reply_due: datetime
    status: str
    owner_id: int | None
    owner_name: str | None
    spam_score: float
    spam_reasons: tuple[str, ...]
    reply: str | None
    replied_at: datetime | None
    conversation_id: int | None
    overdue: bool
    follow_ups: tuple[FollowUp, ...] = ()
    language: str = "en"  # the resident's: the acknowledgement's and the reply's

    def as_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "reference": self.reference,
            "name": self.name,
            "email": self.email,
            "text": self.text,
            "received_at": iso_utc(self.received_at),
            "reply_due": iso_utc(self.reply_due),
            "status": self.status,
            "owner": {"id": self.owner_id, "name": self.owner_name} if self.owner_id else None,
            "spam_score": self.spam_score,
            "spam_reasons": list(self.spam_reasons),
            "reply": self.reply,
            "replied_at": iso_utc(self.replied_at) if self.replied_at else None,
            "conversation_id": self.conversation_id,
            "overdue": self.overdue,
            "follow_ups": [f.as_dict() for f in self.follow_ups],
            "language": self.language,
        }


async def inbox(
    session: AsyncSession, *, now: datetime, statuses: tuple[str, ...] = OPEN_STATUSES
) -> list[InboxItem]:
    """Left messages in the given statuses, the reply due soonest first."""
    rows = await session.execute(
        select(AfterHoursMessage, Staff.display_name)
        .outerjoin(Staff, AfterHoursMessage.owner_staff_id == Staff.id)
        .where(AfterHoursMessage.status.in_(statuses))
        .order_by(AfterHoursMessage.reply_due, AfterHoursMessage.id)
        .limit(500)
    )
    listed = rows.all()
    follow_ups = await _follow_ups(session, [message.id for message, _ in listed])
    return [_item(message, owner, now, follow_ups.get(message.id, ())) for message, owner in listed]


MAX_FOLLOW_UPS = 20  # shown per message: the newest


async def _follow_ups(
    session: AsyncSession, message_ids: list[int]
) -> dict[int, tuple[FollowUp, ...]]:
    if not message_ids:
        return {}
    rows = await session.execute(
        select(InboundMail.thread_id, InboundMail.body, InboundMail.received_at)
        .where(InboundMail.thread_kind == "after_hours", InboundMail.thread_id.in_(message_ids))
        .order_by(InboundMail.received_at, InboundMail.id)
    )
    found: dict[int, list[FollowUp]] = {}
    for message_id, body, received_at in rows:
        found.setdefault(message_id, []).append(FollowUp(body, received_at))
    return {key: tuple(value[-MAX_FOLLOW_UPS:]) for key, value in found.items()}


async def inbox_item(session: AsyncSession, *, message_id: int, now: datetime) -> InboxItem:
    row = (
        await session.execute(
            select(AfterHoursMessage, Staff.display_name)
            .outerjoin(Staff, AfterHoursMessage.owner_staff_id == Staff.id)
            .where(AfterHoursMessage.id == message_id)
        )
    ).first()
    if row is None:
        raise NotFound("There is no such message.")
    follow_ups = await _follow_ups(session, [message_id])
    return _item(row[0], row[1], now, follow_ups.get(message_id, ()))


def _item(
    message: AfterHoursMessage,
    owner: str | None,
    now: datetime,
    follow_ups: tuple[FollowUp, ...] = (),
) -> InboxItem:
    return InboxItem(
        id=message.id,
        reference=message.reference,
        name=message.name,
        email=message.email,
        text=message.body,
        received_at=message.received_at,
        reply_due=message.reply_due,
        status=message.status,
        owner_id=message.owner_staff_id,
        owner_name=owner,
        spam_score=message.spam_score,
        spam_reasons=tuple(message.spam_reasons or ()),
        reply=message.reply_body,
        replied_at=message.replied_at,
        conversation_id=message.conversation_id,
        overdue=message.status in OPEN_STATUSES and message.reply_due < now,
        follow_ups=follow_ups,
        language=message.language,
    )


async def claim_message(
    session: AsyncSession, *, by: StaffView, message_id: int, now: datetime
) -> InboxItem:
    """Take a new message to answer: one owner only, however many click at once."""
    result = await session.execute(
        update(AfterHoursMessage)
        .where(
            AfterHoursMessage.id == message_id,
            AfterHoursMessage.status == "new",
            AfterHoursMessage.owner_staff_id.is_(None),
        )
        .values(owner_staff_id=by.id, status="in_progress", claimed_at=now)
    )
    if not getattr(result, "rowcount", 0):
        item = await inbox_item(session, message_id=message_id, now=now)
        if item.owner_id == by.id and item.status == "in_progress":
            return _changed(session, item)
        raise AlreadyTaken(
            f"{item.owner_name} is already answering this message."
            if item.owner_name
            else f"This message is {item.status.replace('_', ' ')}."
        )
    return _changed(session, await inbox_item(session, message_id=message_id, now=now))


def _changed(session: AsyncSession, item: InboxItem) -> InboxItem:
    """Tell every staff member's inbox about `item`, once this transaction commits."""
    notices.record(session, notices.InboxItemChanged(item.as_dict()))
    return item


async def reply_to_message(
    session: AsyncSession,
    *,
    by: StaffView,
    message_id: int,
    text: str,
    center: Center,
    now: datetime,
) -> InboxItem:
    """Answer a left message by email (its owner, or a supervisor); the reply is kept with it."""
    message = await session.scalar(
        select(AfterHoursMessage).where(AfterHoursMessage.id == message_id).with_for_update()
    )
    if message is None:
        raise NotFound("There is no such message.")
    if message.status not in OPEN_STATUSES:
        raise ConversationEnded(f"This message is already {message.status.replace('_', ' ')}.")
    if message.owner_staff_id != by.id and not by.is_supervisor:
        raise NotAssigned("Claim this message before you answer it.")
    if not message.email:
        # A chat that left the queue without an address: staff reach them another way.
        raise InvalidPayload(
            "This message has no email address to answer. Close it once you have reached "
            "them another way.",
            field="text",
        )
    message.status = "replied"
    message.owner_staff_id = message.owner_staff_id or by.id
    message.reply_body = text
    message.replied_at = now
    message.replied_by = by.id
    await queue_mail(
        session,
        kind="after_hours_reply",
        to=message.email,
        subject=MailWords(message.language, center)(
            "Your message to the City ({reference})", reference=message.reference
        ),
        body=reply_mail(text, by.first_name, center, message.body, language=message.language),
        reply_to=None,
        now=now,
        thread=MailThread("after_hours", message.id),
    )
    await session.flush()
    return _changed(session, await inbox_item(session, message_id=message_id, now=now))


# How a reply may open: our "Hello," is added only when the staff member's text has none.
GREETING = re.compile(
    r"^\s*(hi|hello|hey|dear|greetings|good (morning|afternoon|evening|day))\b", re.IGNORECASE
)
# ... and in Spanish ("Hola Dana:", "Buenas tardes,", "Estimada señora:").
GREETINGS = {
    "en": GREETING,
    "es": re.compile(
        r"^\s*(hola|buen[oa]s? (d[ií]as?|tardes|noches)|buenas|estimad[oa]s?|saludos)\b",
        re.IGNORECASE,
    ),
}


def reply_mail(text: str, first_name: str, center: Center, left: str, language: str = "en") -> str:
    """The mail answering a left message: the staff member's text, greeted and signed once.

    "Hello," goes first unless the text opens with a greeting of its own ("Hi Dana,"); the
    staff member's first name goes under it unless their text already ends with it ("Thanks,
    Maria"); the center's signature always; then what the resident wrote, quoted."""
    words = MailWords(language, center)
    body = text.strip()
    greeted = GREETINGS.get(language, GREETING).match(body)
    lines = [words("Hello,"), "", body] if not greeted else [body]
    last_line = body.splitlines()[-1].strip(" ,.!-") if body else ""
    signed = bool(first_name) and last_line.lower().endswith(first_name.lower())
    lines += ["", *([] if signed else [first_name]), *words.signature]
    lines += ["", words("What you wrote:"), "", *quote_resident_text(left)]
    return "\n".join(lines) + "\n"


async def set_message_status(
    session: AsyncSession, *, by: StaffView, message_id: int, status: str, now: datetime
) -> InboxItem:
    """Close a message, file it as spam, or put it back as new (its owner, or a supervisor)."""
    if status not in ("new", "closed", "spam"):
        raise ChatError("The status is new, closed or spam.", code="invalid_payload")
    message = await session.scalar(
        select(AfterHoursMessage).where(AfterHoursMessage.id == message_id).with_for_update()
    )
    if message is None:
        raise NotFound("There is no such message.")
    mine = message.owner_staff_id in (None, by.id)
    if not mine and not by.is_supervisor:
        raise NotAssigned("Only its owner or a supervisor can change this message.")
    message.status = status
    if status == "new":
        message.owner_staff_id = None
        message.claimed_at = None
    await session.flush()
    return _changed(session, await inbox_item(session, message_id=message_id, now=now))
