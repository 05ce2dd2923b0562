"""Where a resident's reply by email lands: their chat, their left message, their request.

`receive_reply` is the one action the inbound mail server (`chatsvc.mail_in.server`) calls.
A reply reaches a chat or a request only when it proves it answers our mail: its recipient is
the thread's signed reply address (outbox.replies), or it names one of our Message-IDs. A left
message's reference in the subject is taken from the address that message came from; anything
else (a forged signature, a guessed reference, suspected spam) becomes a new message in the
after-hours inbox, where staff read it first: never someone's chat.

Each reply is stored once per Message-ID (`InboundMail`): a relay that delivers it again
changes nothing.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc import notices
from chatsvc.actions import after_hours
from chatsvc.actions.chat_views import chat_summaries
from chatsvc.actions.conversation_state import ConversationStatus, Priority, Stage, move_status
from chatsvc.actions.conversations import ConversationView, Draft, append_drafts, get_conversation
from chatsvc.actions.photos import PHOTO_SENT
from chatsvc.actions.service_requests.photos import store_photo
from chatsvc.actions.service_requests.views import RequestPolicy, request_view
from chatsvc.db.models import (
    AfterHoursMessage,
    Conversation,
    InboundMail,
    RequestPhoto,
    ServiceRequest,
    ServiceRequestUpdate,
)
from chatsvc.hours import BusinessCalendar
from chatsvc.images import CleanImage
from chatsvc.outbox.mail import thread_of_message_id
from chatsvc.outbox.replies import MailThread, Reference

NO_TEXT = "(The email had no text.)"
BY_EMAIL = "Resident, by email"
_LEFT_REFERENCE = re.compile(r"\bM-[2-9A-HJKMNP-TV-Z]{6}\b")
LandedIn = Literal["conversation", "after_hours", "request", "inbox", "duplicate"]


@dataclass(frozen=True)
class Reply:
    """A reply as the server read it (mail_in.reading), its images already redrawn."""

    message_id: str
    from_name: str
    from_address: str
    subject: str
    text: str
    references: tuple[str, ...]
    images: tuple[CleanImage, ...] = ()


@dataclass(frozen=True)
class Landed:
    """Where a reply went: a thread, or the inbox as a new left message (`id` is its id)."""

    where: LandedIn
    id: int
    reason: str


async def receive_reply(
    session: AsyncSession,
    *,
    reply: Reply,
    reference: Reference | None,
    calendar: BusinessCalendar,
    policy: RequestPolicy,
    now: datetime,
) -> Landed:
    """Put a reply where it belongs (see the module's docstring), once per Message-ID."""
    stored = await session.scalar(
        select(InboundMail).where(InboundMail.message_id == reply.message_id)
    )
    if stored is not None:
        return Landed("duplicate", stored.thread_id, "delivered before")
    thread, reason = await _route(session, reply, reference)
    score, _ = after_hours.spam_score(reply.from_name, reply.from_address, reply.text)
    if thread is not None and score >= after_hours.SPAM_THRESHOLD:
        thread, reason = None, "suspected spam"
    landed: Landed | None = None
    if thread is not None:
        if thread.kind == "conversation":
            landed = await _into_conversation(session, thread.id, reply, calendar, now)
        elif thread.kind == "request":
            landed = await _into_request(session, thread.id, reply, policy, now)
        else:
            landed = await _into_left_message(session, thread.id, reply, now)
    if landed is None:
        landed = await _new_left_message(
            session, reply, calendar, now, reason=reason if thread is None else "no such thread"
        )
    session.add(
        InboundMail(
            message_id=reply.message_id,
            from_address=reply.from_address,
            subject=reply.subject,
            body=_text(reply),
            thread_kind=landed.where,
            thread_id=landed.id,
            received_at=now,
        )
    )
    await session.flush()
    if landed.where == "after_hours":
        item = await after_hours.inbox_item(session, message_id=landed.id, now=now)
        notices.record(session, notices.InboxItemChanged(item.as_dict()))
    return landed


async def _route(
    session: AsyncSession, reply: Reply, reference: Reference | None
) -> tuple[MailThread | None, str]:
    if reference is not None:
        if reference.verified:
            return reference.thread, "reply address"
        return None, "the reply address's signature does not verify"
    for message_id in reply.references:
        thread = await thread_of_message_id(session, message_id)
        if thread is not None:
            return thread, "answers our mail"
    found = _LEFT_REFERENCE.search(reply.subject)
    if found:
        message_id = await session.scalar(
            select(AfterHoursMessage.id).where(
                AfterHoursMessage.reference == found.group(),
                func.lower(AfterHoursMessage.email) == reply.from_address.lower(),
            )
        )
        if message_id is not None:
            return MailThread("after_hours", message_id), "the subject's reference"
    return None, "no thread of ours"


def _text(reply: Reply) -> str:
    return reply.text or (PHOTO_SENT if reply.images else NO_TEXT)


async def _into_conversation(
    session: AsyncSession,
    conversation_id: int,
    reply: Reply,
    calendar: BusinessCalendar,
    now: datetime,
) -> Landed | None:
    """The reply as the resident's message; an ended chat reopens, waiting for a person (or,
    when nobody works, the reply is left for the next business day, in the inbox)."""
    conversation = await session.scalar(
        select(Conversation)
        .where(Conversation.id == conversation_id)
        .with_for_update(of=Conversation)  # not the resident, outer-joined
        .execution_options(populate_existing=True)
    )
    if conversation is None:
        return None
    reopened = conversation.status != ConversationStatus.OPEN
    if reopened and not calendar.is_open(now):
        return await _new_left_message(
            session, reply, calendar, now, reason="after hours", conversation=conversation
        )
    if reopened:
        conversation.status = move_status(conversation.status, ConversationStatus.OPEN)
        conversation.ended_at = None
        conversation.ended_by = None
        conversation.disposition = None
        if conversation.stage != Stage.WAITING:
            conversation.stage = Stage.WAITING  # from the assistant, or its agent's hands
        conversation.assigned_staff_id = None
        conversation.handoff_reason = conversation.handoff_reason or "email"
        conversation.handoff_at = now
        conversation.queued_at = now
        conversation.priority = Priority.NORMAL
        # Its resident is on email now, not gone from the queue: the abandon sweep, which
        # reads how long ago they left the chat, must not turn it into a left message at once.
        # Should they open the chat and leave again, their leaving counts from then.
        conversation.resident_left_at = None
        await session.flush()
    name = conversation.resident.name
    drafts = [Draft(conversation.id, "resident", name, _text(reply), None, now)]
    for image in reply.images:
        photo = await store_photo(session, conversation_id=conversation.id, image=image, now=now)
        drafts.append(
            Draft(conversation.id, "resident", name, PHOTO_SENT, None, now, photo_id=photo.id)
        )
    await append_drafts(session, *drafts)
    if reopened:
        conversation = await get_conversation(session, conversation.id)
        view = ConversationView.of(conversation)
        (chat,) = await chat_summaries(session, [conversation])
        notices.record(
            session,
            notices.ConversationChanged(conversation.id, view.as_dict(), chat.as_dict()),
            notices.QueueChanged(),
        )
    return Landed("conversation", conversation.id, "reopened" if reopened else "open")


async def _into_request(
    session: AsyncSession, request_id: int, reply: Reply, policy: RequestPolicy, now: datetime
) -> Landed | None:
    """The reply in the request's history (for staff: not told back to the resident)."""
    request = await session.scalar(
        select(ServiceRequest).where(ServiceRequest.id == request_id).with_for_update()
    )
    if request is None:
        return None
    note = _text(reply)
    for image in reply.images:
        session.add(
            RequestPhoto(
                conversation_id=None,
                request_id=request.id,
                content_type=image.content_type,
                size=len(image.data),
                sha256=hashlib.sha256(image.data).hexdigest(),
                data=image.data,
                created_at=now,
            )
        )
    session.add(
        ServiceRequestUpdate(
            request_id=request.id,
            status=request.status,
            note=note,
            public=False,
            staff_id=None,
            actor=BY_EMAIL,
            created_at=now,
        )
    )
    request.updated_at = now
    await session.flush()
    view = await request_view(session, request, policy.kb)
    notices.record(session, notices.RequestChanged(view.as_dict()))  # staff see it live
    return Landed("request", request.id, "history")


async def _into_left_message(
    session: AsyncSession, message_id: int, reply: Reply, now: datetime
) -> Landed | None:
    """The reply under the left message it answers; an answered message is open again."""
    message = await session.scalar(
        select(AfterHoursMessage).where(AfterHoursMessage.id == message_id).with_for_update()
    )
    if message is None or message.status == "spam":
        return None
    if message.status in ("replied", "closed"):
        message.status = "in_progress" if message.owner_staff_id else "new"
    await session.flush()
    # The reply itself is the InboundMail the caller stores: the inbox shows it from there.
    return Landed("after_hours", message.id, "follow-up")


async def _new_left_message(
    session: AsyncSession,
    reply: Reply,
    calendar: BusinessCalendar,
    now: datetime,
    *,
    reason: str,
    conversation: Conversation | None = None,
) -> Landed:
    """A new message in the after-hours inbox, as if left in the chat's form (no
    acknowledgement: a mail's From can be anyone's address)."""
    score, reasons = after_hours.spam_score(reply.from_name, reply.from_address, reply.text)
    if reason == "suspected spam":
        score = max(score, after_hours.SPAM_THRESHOLD)
    text = _text(reply)
    if reply.subject:
        text = f"Subject: {reply.subject}\n\n{text}"
    message = AfterHoursMessage(
        reference=await after_hours.new_reference(session),
        client_id=None,
        name=reply.from_name or reply.from_address.partition("@")[0][:100] or "By email",
        email=reply.from_address,
        body=text,
        conversation_id=conversation.id if conversation is not None else None,
        received_at=now,
        reply_due=calendar.reply_due(now),
        status="spam" if score >= after_hours.SPAM_THRESHOLD else "new",
        spam_score=score,
        spam_reasons=[f"by email: {reason}", *reasons],
        sender_key="mail:" + hashlib.sha256(reply.from_address.lower().encode()).hexdigest()[:59],
    )
    session.add(message)
    await session.flush()
    item = await after_hours.inbox_item(session, message_id=message.id, now=now)
    notices.record(session, notices.InboxItemChanged(item.as_dict()))
    return Landed("inbox", message.id, reason)
