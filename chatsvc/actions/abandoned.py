"""No ghosts in the queue: a waiting resident who has gone becomes a left message.

A resident who asked for a person and then closed the tab would wait in the queue until an
agent took the chat and closed it with "no response". Instead, once they have had no
connection for a while (`resident_presence.gone_since`), the sweep turns the chat into an
after-hours message: it leaves the queue, the inbox gains an item that carries what the
resident wrote and links to the whole chat, the reply is due by the usual next-business-day
rule, and the resident is told by email (if the address takes mail) that we will answer there.
A resident who comes back in time keeps their place; one who comes back later reads, in the
chat, what became of it.

Each conversation is taken in its own compare-and-set: its row is locked and everything
checked again (still waiting, resident still gone since before the deadline), so two processes
sweeping at once convert it once. The left message's client id is the conversation's, so even
a second conversion could not store a second message.

Locking order: the conversation's row, then the recipient's mail lock (queue_mail), as leaving
a message from a chat does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc import notices
from chatsvc.actions import resident_presence
from chatsvc.actions.after_hours import (
    SPAM_THRESHOLD,
    InboxItem,
    inbox_item,
    left_message_mail,
    new_reference,
    spam_score,
)
from chatsvc.actions.conversation_state import ConversationStatus, Stage
from chatsvc.actions.conversations import end_conversation, get_conversation
from chatsvc.actions.queue import WAITING
from chatsvc.catalogue.center import Center
from chatsvc.db.models import AfterHoursMessage, Conversation, Message, ResidentConnection
from chatsvc.hours import BusinessCalendar, end_sentence
from chatsvc.i18n import translate
from chatsvc.outbox.mail import queue_mail
from chatsvc.outbox.mail_words import MailWords
from chatsvc.outbox.replies import MailThread

# What the inbox item quotes of the chat (the item links to the whole of it).
MAX_QUOTED_CHARS = 20_000


@dataclass(frozen=True)
class Abandoned:
    """A waiting chat whose resident left, turned into a left message."""

    conversation_id: int
    message_id: int
    reference: str
    reply_due: datetime
    mailed: bool  # the resident was mailed (an address that takes mail, not spam)
    item: InboxItem


def client_id_of(conversation_id: int) -> str:
    """The left message's client id: one conversation can become one message only."""
    return f"abandoned-{conversation_id}"


async def abandon_waiting(
    session: AsyncSession,
    *,
    now: datetime,
    after: timedelta,
    calendar: BusinessCalendar,
    center: Center,
    mail_per_address_per_day: int,
    limit: int = 100,
) -> list[Abandoned]:
    """Turn waiting chats whose resident has been gone for `after` into left messages."""
    before = now - after
    ids = await resident_presence.gone_since(session, before=before, where=WAITING, limit=limit)
    done = []
    for conversation_id in ids:
        abandoned = await _abandon(
            session,
            conversation_id,
            before=before,
            now=now,
            calendar=calendar,
            center=center,
            mail_per_address_per_day=mail_per_address_per_day,
        )
        if abandoned is not None:
            done.append(abandoned)
    return done


async def _abandon(
    session: AsyncSession,
    conversation_id: int,
    *,
    before: datetime,
    now: datetime,
    calendar: BusinessCalendar,
    center: Center,
    mail_per_address_per_day: int,
) -> Abandoned | None:
    conversation = await get_conversation(session, conversation_id, lock=True)
    # The compare-and-set: as it is now that its row is ours, not as the list saw it. Another
    # process may have converted it, an agent taken it, or the resident come back.
    if not await _still_abandoned(session, conversation, before):
        return None
    resident = conversation.resident
    text = await _what_they_wrote(session, conversation_id)
    score, reasons = spam_score(resident.name, resident.email, text)
    status = "spam" if score >= SPAM_THRESHOLD else "new"
    reply_due = calendar.reply_due(now)
    message = AfterHoursMessage(
        reference=await new_reference(session),
        client_id=client_id_of(conversation_id),
        name=resident.name,
        email=resident.email,
        body=text,
        conversation_id=conversation_id,
        received_at=now,
        reply_due=reply_due,
        status=status,
        spam_score=score,
        spam_reasons=reasons or None,
        sender_key=conversation.sender_key or "",
        language=conversation.language,
    )
    session.add(message)
    await session.flush()
    await end_conversation(
        session,
        conversation_id=conversation_id,
        ended_by="abandoned",
        now=now,
        notice=lambda language: _chat_notice(
            message.reference,
            resident.email,
            calendar.describe_local(reply_due, language),
            center,
            language,
        ),
        disposition="left_message",
        reason="abandoned",
    )
    mailed = False
    if status != "spam" and resident.email:
        mailed = (
            await queue_mail(
                session,
                kind="queue_abandoned",
                to=resident.email,
                subject=MailWords(message.language, center)(
                    "We will answer your chat by email ({reference})", reference=message.reference
                ),
                body=_mail(message, MailWords(message.language, center, calendar)),
                reply_to=None,
                now=now,
                per_address_per_day=mail_per_address_per_day,
                # A reply joins the left message the chat became, as its follow-up.
                thread=MailThread("after_hours", message.id),
            )
            is not None
        )
    item = await inbox_item(session, message_id=message.id, now=now)
    notices.record(session, notices.InboxItemChanged(item.as_dict()))
    return Abandoned(conversation_id, message.id, message.reference, reply_due, mailed, item)


async def _still_abandoned(
    session: AsyncSession, conversation: Conversation, before: datetime
) -> bool:
    if conversation.status != ConversationStatus.OPEN or conversation.stage != Stage.WAITING:
        return False
    if conversation.resident_left_at is None or conversation.resident_left_at >= before:
        return False
    connected = await session.scalar(
        select(ResidentConnection.id)
        .where(ResidentConnection.conversation_id == conversation.id)
        .limit(1)
    )
    return connected is None


async def _what_they_wrote(session: AsyncSession, conversation_id: int) -> str:
    """The resident's own messages, oldest first (the inbox item links to the whole chat)."""
    texts = list(
        await session.scalars(
            select(Message.body)
            .where(Message.conversation_id == conversation_id, Message.author_kind == "resident")
            .order_by(Message.seq)
        )
    )
    text = "\n\n".join(t.strip() for t in texts if t.strip()) or "(no message)"
    if len(text) > MAX_QUOTED_CHARS:
        text = text[:MAX_QUOTED_CHARS].rstrip() + "\n\n[… the rest is in the chat]"
    return text


def _chat_notice(
    reference: str, email: str, due_text: str, center: Center, language: str = "en"
) -> str:
    """What the resident reads in the chat if they come back to it, in its language."""

    def _(msgid: str, **values: object) -> str:
        return translate(language, msgid, **values)

    opening = _(
        "You left the chat while you were waiting for a person, so we turned it into a "
        "message (reference {reference}).",
        reference=reference,
    )
    if email:
        return f"{opening} " + end_sentence(
            _("We will reply to {email} by {due}", email=email, due=due_text)
        )
    return f"{opening} " + _("Please call us at {phone}, or start a new chat.", phone=center.phone)


def _mail(message: AfterHoursMessage, words: MailWords) -> str:
    # The resident's words are quoted, never written as the City's (see after_hours).
    promise = end_sentence(
        words("and will reply to this email address by {due}", due=words.when(message.reply_due))
    )
    opening = words(
        "You asked to chat with a person at the City's {center}, and left the chat before one "
        "was free. We kept what you wrote as a message {promise}",
        center=words.center_name,
        promise=promise,
    )
    return left_message_mail(words, opening, message.reference, message.body)
