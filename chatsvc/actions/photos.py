"""Photos residents upload in a chat, for the service request the assistant is filing.

Locking order: `add_photo` locks the conversation, then inserts the photo and the messages;
`chat_photo` only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions.assistant_turns import AssistantTurn, say
from chatsvc.actions.conversation_state import ConversationStatus
from chatsvc.actions.conversations import ConversationView, Draft, append_drafts
from chatsvc.actions.service_requests.photos import (
    InvalidPhoto,
    check_photo_quota,
    store_photo,
)
from chatsvc.bot import filing
from chatsvc.catalogue.knowledge import KnowledgeBase
from chatsvc.db.models import Conversation, RequestPhoto
from chatsvc.errors import ConversationEnded, InvalidToken, NotFound, TokenExpired
from chatsvc.images import CleanImage
from chatsvc.tokens import hash_token

# What a resident's photo says where it cannot be shown (a mail, a list of chats).
PHOTO_SENT = "Sent a photo."


async def check_photo_upload(
    session: AsyncSession, *, token: str, kb: KnowledgeBase, per_conversation: int
) -> None:
    """Refuse an upload its chat would refuse, before its body is read (`add_photo` checks
    again when it stores it)."""
    await _conversation_taking_a_photo(
        session, token=token, kb=kb, per_conversation=per_conversation, lock=False
    )


async def add_photo(
    session: AsyncSession,
    *,
    token: str,
    image: CleanImage,
    kb: KnowledgeBase,
    now: datetime,
    per_conversation: int,
) -> AssistantTurn:
    """Take a photo the resident uploaded for the request they are filing, and go on.

    The conversation's token authorises the upload, as it does everything a resident does.
    """
    conversation = await _conversation_taking_a_photo(
        session, token=token, kb=kb, per_conversation=per_conversation, lock=True
    )
    photo = await store_photo(
        session,
        conversation_id=conversation.id,
        image=image,
        now=now,
        per_conversation=per_conversation,
    )
    turn = filing.after_photo(conversation.assistant_flow, photo.id, kb, conversation.language)
    assert turn is not None
    # The resident sees their photo in the chat, and the agent does, as a message of theirs.
    sent = await append_drafts(
        session,
        Draft(
            conversation.id,
            "resident",
            conversation.resident.name,
            PHOTO_SENT,
            None,
            now,
            photo_id=photo.id,
        ),
    )
    messages = await say(
        session,
        conversation.id,
        turn.text,
        now,
        author=kb.center.assistant_name,
        quick_replies=turn.quick_replies,
        offers_photo=turn.offers_photo,
        language=conversation.language,
    )
    conversation.assistant_flow = turn.state
    await session.flush()
    await session.refresh(conversation)
    return AssistantTurn([*sent, *messages], ConversationView.of(conversation), False)


@dataclass(frozen=True)
class ChatPhoto:
    content_type: str
    data: bytes


async def chat_photo(
    session: AsyncSession, *, token: str, photo_id: int, now: datetime, ttl: timedelta
) -> ChatPhoto:
    """A photo sent in the chat the token opens, for the resident's own browser to show.

    The token is the resident's key to everything in their chat, photos too, for as long as it
    reopens the chat (`resume_conversation`). Another chat's photo is not found, as is one
    that was deleted.
    """
    conversation = await session.scalar(
        select(Conversation).where(Conversation.token_hash == hash_token(token))
    )
    if conversation is None:
        raise InvalidToken("This chat link is not valid. Start a new chat.")
    if conversation.ended_at is not None and conversation.ended_at + ttl < now:
        raise TokenExpired("This chat ended a while ago and can no longer be opened.")
    photo = await session.scalar(
        select(RequestPhoto).where(
            RequestPhoto.id == photo_id, RequestPhoto.conversation_id == conversation.id
        )
    )
    if photo is None:
        raise NotFound("There is no such photo in this chat.")
    return ChatPhoto(photo.content_type, photo.data)


async def _conversation_taking_a_photo(
    session: AsyncSession, *, token: str, kb: KnowledgeBase, per_conversation: int, lock: bool
) -> Conversation:
    query = select(Conversation).where(Conversation.token_hash == hash_token(token))
    if lock:
        query = query.with_for_update(of=Conversation)
    conversation = await session.scalar(query)
    if conversation is None:
        raise InvalidToken("This chat link is not valid. Start a new chat.")
    if conversation.status != ConversationStatus.OPEN:
        raise ConversationEnded("This chat has ended.")
    if not filing.wants_photo(conversation.assistant_flow, kb):
        raise InvalidPhoto(
            "No request is waiting for a photo in this chat.", code="photo_not_expected"
        )
    if not lock:  # store_photo checks it when it stores
        await check_photo_quota(session, conversation.id, per_conversation)
    return conversation
