"""Service requests filed from a chat: what the form starts from, and filing it in the chat.

Every function takes an open AsyncSession (the caller commits) and plain values. Kept apart from
`filing` because it reads and writes the conversation, and `chatsvc.actions.conversations`
files requests itself (through `filing`).

Locking order: the conversation's row first, as every action that writes to a conversation
does, then what `filing.create_service_request` locks (the year's counter row, the chat's
photos), then the conversation's messages.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions.accounts import StaffView
from chatsvc.actions.conversation_state import ConversationStatus, Stage
from chatsvc.actions.conversations import (
    SYSTEM_AUTHOR,
    Draft,
    MessageView,
    append_drafts,
    get_conversation,
)
from chatsvc.actions.service_requests.filing import NewRequest
from chatsvc.actions.service_requests.filing import create_service_request as file_service_request
from chatsvc.actions.service_requests.views import Contact, RequestPolicy, RequestView
from chatsvc.db.models import AfterHoursMessage, Conversation, Message, RequestPhoto
from chatsvc.errors import NotFound
from chatsvc.hours import end_sentence
from chatsvc.i18n import translate

RESIDENT_TEXTS = 50  # the newest messages a request's suggestions are drawn from


@dataclass(frozen=True)
class RequestSource:
    """What a request filed from a conversation starts from: its topic, resident and words."""

    conversation_id: int
    topic: str | None
    resident_name: str
    resident_email: str
    resident_texts: tuple[str, ...]  # oldest first
    photo_ids: tuple[int, ...]  # photos uploaded in the chat and not filed with a request yet
    # The message the resident left after hours from this chat, if any (the newest): it says
    # what they want done, and the chat before it is small talk with the assistant.
    left_message: str | None = None

    @property
    def suggestion_texts(self) -> tuple[str, ...]:
        """What the form's suggestions are drawn from: the left message, else the chat."""
        return (self.left_message,) if self.left_message else self.resident_texts


@dataclass(frozen=True)
class FiledFromChat:
    request: RequestView
    message: MessageView | None  # what the resident was told in the chat (None: ended, resent)
    assigned_staff_id: int | None


async def request_source(session: AsyncSession, *, conversation_id: int) -> RequestSource:
    """Gather what a service request form needs from a conversation; NotFound if none."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("There is no such conversation.")
    texts = list(
        await session.scalars(
            select(Message.body)
            .where(
                Message.conversation_id == conversation_id,
                Message.author_kind == "resident",
                Message.photo_id.is_(None),  # "Sent a photo." describes nothing
            )
            .order_by(Message.seq.desc())
            .limit(RESIDENT_TEXTS)
        )
    )
    photos = await session.scalars(
        select(RequestPhoto.id)
        .where(RequestPhoto.conversation_id == conversation_id, RequestPhoto.request_id.is_(None))
        .order_by(RequestPhoto.id)
    )
    left = await session.scalar(
        select(AfterHoursMessage.body)
        .where(AfterHoursMessage.conversation_id == conversation_id)
        .order_by(AfterHoursMessage.received_at.desc(), AfterHoursMessage.id.desc())
        .limit(1)
    )
    return RequestSource(
        conversation_id=conversation.id,
        topic=conversation.topic,
        resident_name=conversation.resident.name,
        resident_email=conversation.resident.email,
        resident_texts=tuple(reversed(texts)),
        photo_ids=tuple(photos),
        left_message=left,
    )


async def file_request_from_chat(
    session: AsyncSession,
    *,
    by: StaffView,
    conversation_id: int,
    service_code: str,
    values: dict[str, str],
    photo_ids: Sequence[int] = (),
    client_id: str,
    policy: RequestPolicy,
    now: datetime,
) -> FiledFromChat:
    """File a request for a conversation's resident, and tell them its number in the chat.

    The agent who holds the chat tells them; anyone else's filing is told by the service. An
    ended chat gets no message (the resident has the confirmation mail). Sending the same
    `client_id` again files nothing more and says nothing more.
    """
    # The conversation first, as every action that writes to it locks it before other rows.
    found = await session.scalar(
        select(Conversation.id).where(Conversation.id == conversation_id).with_for_update()
    )
    if found is None:
        raise NotFound("There is no such conversation.")
    conversation = await get_conversation(session, conversation_id)
    resident = conversation.resident
    view = await file_service_request(
        session,
        NewRequest(
            service_code=service_code,
            values=values,
            contact=Contact(resident.name, resident.email),
            photo_ids=tuple(photo_ids),
            conversation_id=conversation_id,
            client_id=client_id,
            source="agent",
            staff_id=by.id,
            actor=by.display_name,
        ),
        policy=policy,
        now=now,
    )
    holder = conversation.assigned_staff_id if conversation.stage == Stage.AGENT else None
    if view.duplicate or conversation.status != ConversationStatus.OPEN:
        return FiledFromChat(view, None, holder)
    language = conversation.language
    expected = policy.calendar.describe_local(view.expected_at, language)
    service = (
        policy.kb.topic_name(view.service_code, language)
        if view.service_code in policy.kb.topics
        else view.service_name
    )
    text = (
        translate(
            language,
            "Your {service} request is filed. Its number is {number}.",
            service=service,
            number=view.number,
        )
        + " "
        + end_sentence(
            translate(language, "We expect it to be done by {expected}", expected=expected)
        )
        + " "
        + translate(language, "The details are on their way to {email}.", email=resident.email)
    )
    if holder == by.id:
        draft = Draft(
            conversation_id, "agent", conversation.agent_name or by.first_name, text, None, now
        )
    else:
        draft = Draft(conversation_id, "system", SYSTEM_AUTHOR, text, None, now)
    (message,) = await append_drafts(session, draft)
    return FiledFromChat(view, message, holder)
