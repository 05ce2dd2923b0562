"""Conversation actions: start, resume, send, read, end.

Each action takes an open AsyncSession (inside a transaction the caller commits) and plain values,
and returns plain results. None of them talk to clients: the transport emits after commit.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from .errors import ConversationEnded, InvalidToken, TokenExpired
from .models import Conversation, Message, Resident

AuthorKind = Literal["resident", "assistant", "agent", "system"]
Reader = Literal["resident", "staff"]

SERVICE_NAME = "City of Pasadena"
RESUME_PAGE = 500


@dataclass(frozen=True)
class MessageView:
    """A committed message, as clients see it."""

    id: int
    conversation_id: int
    seq: int
    client_id: str | None
    author_kind: str
    author_name: str | None
    text: str
    created_at: datetime

    @classmethod
    def of(cls, message: Message) -> MessageView:
        return cls(
            id=message.id,
            conversation_id=message.conversation_id,
            seq=message.seq,
            client_id=message.client_id,
            author_kind=message.author_kind,
            author_name=message.author_name,
            text=message.body,
            created_at=message.created_at,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "seq": self.seq,
            "client_id": self.client_id,
            "author_kind": self.author_kind,
            "author_name": self.author_name,
            "text": self.text,
            "created_at": _iso(self.created_at),
        }


@dataclass(frozen=True)
class ConversationView:
    """A conversation's state, as its participants see it."""

    id: int
    status: str
    created_at: datetime
    ended_at: datetime | None
    last_seq: int
    resident_name: str
    resident_email: str
    resident_read_seq: int
    staff_read_seq: int

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationView:
        return cls(
            id=conversation.id,
            status=conversation.status,
            created_at=conversation.created_at,
            ended_at=conversation.ended_at,
            last_seq=conversation.last_seq,
            resident_name=conversation.resident.name,
            resident_email=conversation.resident.email,
            resident_read_seq=conversation.resident_read_seq,
            staff_read_seq=conversation.staff_read_seq,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "created_at": _iso(self.created_at),
            "ended_at": _iso(self.ended_at) if self.ended_at else None,
            "last_seq": self.last_seq,
            "resident": {"name": self.resident_name, "email": self.resident_email},
            "read": {"resident": self.resident_read_seq, "staff": self.staff_read_seq},
        }


@dataclass(frozen=True)
class Started:
    conversation: ConversationView
    token: str
    messages: list[MessageView]


@dataclass(frozen=True)
class Resumed:
    conversation: ConversationView
    messages: list[MessageView]
    has_more: bool


@dataclass(frozen=True)
class Sent:
    message: MessageView
    duplicate: bool


@dataclass(frozen=True)
class Ended:
    conversation: ConversationView
    messages: list[MessageView]


def hash_token(token: str) -> str:
    """Hash a conversation token: only the hash is stored, so a database leak resumes nothing."""
    return hashlib.sha256(token.encode()).hexdigest()


def received_reply(name: str) -> str:
    """Say that the question arrived (until the assistant and agents answer for real)."""
    return (
        f"Thank you, {name}. We received your question and saved this conversation. "
        "A member of the Citizen Service Center will reply here."
    )


async def start_conversation(
    session: AsyncSession,
    *,
    name: str,
    email: str,
    question: str,
    client_id: str | None,
    now: datetime,
) -> Started:
    """Open a conversation from the pre-chat form, with the question as its first message."""
    token = secrets.token_urlsafe(32)
    resident = Resident(name=name, email=email, created_at=now)
    conversation = Conversation(
        token_hash=hash_token(token),
        resident=resident,
        status="open",
        created_at=now,
        updated_at=now,
        last_seq=0,
        resident_read_seq=0,
        staff_read_seq=0,
    )
    session.add(conversation)
    await session.flush()
    first = await _append(session, conversation, "resident", name, question, client_id, now)
    reply = await _append(
        session, conversation, "system", SERVICE_NAME, received_reply(name), None, now
    )
    await session.refresh(conversation)
    return Started(ConversationView.of(conversation), token, [first, reply])


async def resume_conversation(
    session: AsyncSession, *, token: str, after_seq: int, now: datetime, ttl: timedelta
) -> Resumed:
    """Find the conversation a token opens and the messages after `after_seq`."""
    conversation = await session.scalar(
        select(Conversation).where(Conversation.token_hash == hash_token(token))
    )
    if conversation is None:
        raise InvalidToken("This chat link is not valid. Start a new chat.")
    if conversation.ended_at is not None and conversation.ended_at + ttl < now:
        raise TokenExpired("This chat ended a while ago and can no longer be opened.")
    messages = await messages_after(session, conversation.id, after_seq, RESUME_PAGE + 1)
    return Resumed(
        ConversationView.of(conversation),
        messages[:RESUME_PAGE],
        has_more=len(messages) > RESUME_PAGE,
    )


async def messages_after(
    session: AsyncSession, conversation_id: int, after_seq: int, limit: int
) -> list[MessageView]:
    """List a conversation's messages with seq greater than `after_seq`, oldest first."""
    rows = await session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.seq > after_seq)
        .order_by(Message.seq)
        .limit(limit)
    )
    return [MessageView.of(m) for m in rows]


async def send_message(
    session: AsyncSession,
    *,
    conversation_id: int,
    author_kind: AuthorKind,
    author_name: str | None,
    text: str,
    client_id: str | None,
    now: datetime,
) -> Sent:
    """Store a message once per client id, with the conversation's next seq."""
    if client_id is not None:
        existing = await session.scalar(
            select(Message).where(
                Message.conversation_id == conversation_id, Message.client_id == client_id
            )
        )
        if existing is not None:
            return Sent(MessageView.of(existing), duplicate=True)
    conversation = await _get(session, conversation_id)
    if conversation.status != "open":
        raise ConversationEnded("This chat has ended. Start a new chat to write to us again.")
    message = await _append(session, conversation, author_kind, author_name, text, client_id, now)
    return Sent(message, duplicate=False)


async def mark_read(
    session: AsyncSession, *, conversation_id: int, reader: Reader, seq: int
) -> int:
    """Record that `reader` has seen the conversation up to `seq`; return the stored value."""
    conversation = await _get(session, conversation_id)
    seq = min(seq, conversation.last_seq)
    if reader == "resident":
        conversation.resident_read_seq = max(conversation.resident_read_seq, seq)
        return conversation.resident_read_seq
    conversation.staff_read_seq = max(conversation.staff_read_seq, seq)
    return conversation.staff_read_seq


async def end_conversation(
    session: AsyncSession, *, conversation_id: int, ended_by: str, now: datetime
) -> Ended:
    """End an open conversation with a system message; ending twice changes nothing."""
    conversation = await _get(session, conversation_id)
    if conversation.status != "open":
        return Ended(ConversationView.of(conversation), [])
    conversation.status = "ended"
    conversation.ended_at = now
    message = await _append(
        session, conversation, "system", SERVICE_NAME, f"Chat ended by {ended_by}.", None, now
    )
    await session.refresh(conversation)
    return Ended(ConversationView.of(conversation), [message])


async def _get(session: AsyncSession, conversation_id: int) -> Conversation:
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationEnded("This conversation no longer exists.")
    return conversation


async def _append(
    session: AsyncSession,
    conversation: Conversation,
    author_kind: str,
    author_name: str | None,
    text: str,
    client_id: str | None,
    now: datetime,
) -> MessageView:
    # The UPDATE ... RETURNING takes the conversation's row lock, so two writers to one
    # conversation (even in two processes on PostgreSQL) can never get the same seq.
    seq = await session.scalar(
        update(Conversation)
        .where(Conversation.id == conversation.id)
        .values(last_seq=Conversation.last_seq + 1, updated_at=now)
        .returning(Conversation.last_seq)
        .execution_options(synchronize_session=False)
    )
    assert seq is not None
    message = Message(
        conversation_id=conversation.id,
        seq=seq,
        client_id=client_id,
        author_kind=author_kind,
        author_name=author_name,
        body=text,
        created_at=now,
    )
    session.add(message)
    await session.flush()
    return MessageView.of(message)


def _iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
