"""Photos residents upload in a chat, for the service request the assistant is filing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions.assistant_turns import AssistantTurn, say
from chatsvc.actions.conversation_state import ConversationStatus
from chatsvc.actions.conversations import ConversationView
from chatsvc.actions.service_requests.photos import (
    InvalidPhoto,
    check_photo_quota,
    store_photo,
)
from chatsvc.bot import filing
from chatsvc.catalogue.knowledge import KnowledgeBase
from chatsvc.db.models import Conversation
from chatsvc.errors import ConversationEnded, InvalidToken
from chatsvc.images import CleanImage
from chatsvc.tokens import hash_token


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
    turn = filing.after_photo(conversation.assistant_flow, photo.id, kb)
    assert turn is not None
    messages = await say(
        session,
        conversation.id,
        turn.text,
        now,
        author=kb.center.assistant_name,
        quick_replies=turn.quick_replies,
        offers_photo=turn.offers_photo,
    )
    conversation.assistant_flow = turn.state
    await session.flush()
    await session.refresh(conversation)
    return AssistantTurn(messages, ConversationView.of(conversation), False)


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
