"""Photos residents upload in a chat, for the service request the assistant is filing."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions.assistant_turns import AssistantTurn, say
from chatsvc.actions.conversation_state import ConversationStatus
from chatsvc.actions.conversations import ConversationView
from chatsvc.actions.service_requests.photos import InvalidPhoto, store_photo
from chatsvc.bot import filing
from chatsvc.catalogue.knowledge import KnowledgeBase
from chatsvc.db.models import Conversation
from chatsvc.errors import ConversationEnded, InvalidToken
from chatsvc.tokens import hash_token


async def add_photo(
    session: AsyncSession, *, token: str, data: bytes, kb: KnowledgeBase, now: datetime
) -> AssistantTurn:
    """Take a photo the resident uploaded for the request they are filing, and go on.

    The conversation's token authorises the upload, as it does everything a resident does.
    """
    conversation = await session.scalar(
        select(Conversation)
        .where(Conversation.token_hash == hash_token(token))
        .with_for_update(of=Conversation)
    )
    if conversation is None:
        raise InvalidToken("This chat link is not valid. Start a new chat.")
    if conversation.status != ConversationStatus.OPEN:
        raise ConversationEnded("This chat has ended.")
    if not filing.wants_photo(conversation.assistant_flow, kb):
        raise InvalidPhoto(
            "No request is waiting for a photo in this chat.", code="photo_not_expected"
        )
    photo = await store_photo(session, conversation_id=conversation.id, data=data, now=now)
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
