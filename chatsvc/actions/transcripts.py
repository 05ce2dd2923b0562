"""A chat's transcript by email: to the resident who asks for it, or sent by staff for them.

The transcript is the conversation's messages only: staff notes and transfer notes live in
another table (`ConversationNote`) and never come near it. What the resident wrote is quoted
(`quote_resident_text`) so that it cannot pass for the City's words; the requests filed in the
chat are listed with their numbers. The mail goes through the outbox under the per-address
daily cap of every resident-triggered mail. A second request for the same transcript (the
same address, no message since) within `COOLDOWN` sends nothing and says so: repeated clicks,
two tabs, or a resident and an agent at once make one mail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions.conversations import get_conversation
from chatsvc.actions.service_requests.views import STATUS_LABELS
from chatsvc.catalogue.center import Center
from chatsvc.db.models import Conversation, Message, ServiceRequest
from chatsvc.errors import InvalidPayload
from chatsvc.hours import BusinessCalendar
from chatsvc.outbox.mail import queue_mail, quote_resident_text
from chatsvc.outbox.mail_words import MailWords
from chatsvc.outbox.replies import MailThread

COOLDOWN = timedelta(minutes=10)
MAIL_KIND = "transcript"

Outcome = Literal["sent", "already_sent", "not_sent"]


@dataclass(frozen=True)
class TranscriptRequest:
    """What became of a request for a transcript, and where it went (masked for the page)."""

    outcome: Outcome
    to: str  # the address, for staff (they confirm it); residents get `masked`
    masked: str

    def as_dict(self, *, staff: bool = False) -> dict[str, str]:
        shown = {"to": self.to} if staff else {}
        return {"outcome": self.outcome, "masked": self.masked, **shown}


def mask_address(address: str) -> str:
    """Show an address the way a page may: d***@example.com."""
    local, _, domain = address.rpartition("@")
    return f"{local[:1]}***@{domain}"


async def email_transcript(
    session: AsyncSession,
    *,
    conversation_id: int,
    email: str | None,
    center: Center,
    calendar: BusinessCalendar,
    now: datetime,
    per_address_per_day: int,
) -> TranscriptRequest:
    """Queue the conversation's transcript for its resident's address (open or ended chats).

    `email` is stored as the resident's address when the chat has none yet (it is used only
    then: a chat's address is the one given before it started). Locking order: the
    conversation's row, then the recipient's mail lock (queue_mail).
    """
    conversation = await get_conversation(session, conversation_id, lock=True)
    resident = conversation.resident
    if not resident.email and email:
        resident.email = email
    to = resident.email
    if not to:
        raise InvalidPayload("Enter your email address.", field="email")
    masked = mask_address(to)
    if (
        conversation.transcript_sent_at is not None
        and conversation.transcript_sent_to == to
        and conversation.transcript_sent_at > now - COOLDOWN
        and conversation.updated_at <= conversation.transcript_sent_at
    ):
        return TranscriptRequest("already_sent", to, masked)
    body = await transcript_text(session, conversation, center=center, calendar=calendar)
    words = MailWords(conversation.language, center)
    queued = await queue_mail(
        session,
        kind=MAIL_KIND,
        to=to,
        subject=words("Your chat with the City's {center}", center=words.center_name)[:200],
        body=body,
        reply_to=None,
        now=now,
        per_address_per_day=per_address_per_day,
        thread=MailThread("conversation", conversation.id),  # a reply joins the chat
    )
    if queued is None:
        return TranscriptRequest("not_sent", to, masked)
    conversation.transcript_sent_at = now
    conversation.transcript_sent_to = to
    await session.flush()
    return TranscriptRequest("sent", to, masked)


_LINK = re.compile(r"\[([^\]\n]+)\]\(([^)\s]+)\)")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1")


def _plain(text: str, format: str) -> str:
    """The assistant's Markdown as plain text: "[Bulky items](https://…)" reads "Bulky items
    (https://…)", and emphasis loses its stars."""
    if format != "markdown":
        return text
    return _EMPHASIS.sub(r"\2", _LINK.sub(r"\1 (\2)", text))


async def transcript_text(
    session: AsyncSession,
    conversation: Conversation,
    *,
    center: Center,
    calendar: BusinessCalendar,
) -> str:
    """Write the transcript mail's body: who wrote what, when (the center's local time)."""
    messages = list(
        await session.scalars(
            select(Message).where(Message.conversation_id == conversation.id).order_by(Message.seq)
        )
    )
    requests = list(
        await session.scalars(
            select(ServiceRequest)
            .where(ServiceRequest.conversation_id == conversation.id)
            .order_by(ServiceRequest.id)
        )
    )
    words = MailWords(conversation.language, center, calendar)
    lines = [
        words("Hello,"),
        "",
        words(
            "Here is your chat with the City's {center}, as you asked. Times are in {zone}. "
            'What you wrote is quoted with ">".',
            center=words.center_name,
            zone=words.zone(),
        ),
    ]
    if requests:
        lines += ["", words("Requests filed in this chat:")]
        lines += [
            f"- {r.number}: {r.service_code.replace('_', ' ')} "
            f"({words.name(STATUS_LABELS.get(r.status, r.status))})"
            for r in requests
        ]
    day = ""
    for message in messages:
        this_day = words.day(message.created_at)
        if this_day != day:
            day = this_day
            lines += ["", f"--- {day} ---"]
        when = words.time(message.created_at)
        if message.author_kind == "resident":
            lines += ["", words("{when}, you wrote:", when=when)]
            lines += quote_resident_text(message.body)
            continue
        if message.author_kind == "agent":
            who = message.author_name or words("Agent")
        elif message.author_kind == "assistant":
            who = message.author_name or center.assistant_name
        else:
            who = center.chat_name
        lines += ["", f"{when}, {who}:", _plain(message.body, message.format or "text")]
    lines += [
        "",
        "---",
        words(
            "If you have more questions, start a new chat or call us at {phone}.",
            phone=center.phone,
        ),
        "",
        *words.signature,
    ]
    return "\n".join(lines) + "\n"
