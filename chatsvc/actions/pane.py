"""What the agent pane reads: its state on (re)connect, an agent's chats, one conversation.

Every function takes an open AsyncSession and plain values, and only reads.

Locking order: none; these queries lock no row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions.accounts import StaffView
from chatsvc.actions.canned import CannedView, canned_responses
from chatsvc.actions.chat_views import ChatSummary, chat_summaries
from chatsvc.actions.conversations import MessageView, get_conversation
from chatsvc.actions.handling import NoteView, notes_of
from chatsvc.actions.presence import HELD, AgentState, agents_overview
from chatsvc.actions.queue import QueueEntry, queue_view
from chatsvc.db.models import Conversation, Message, Resident
from chatsvc.errors import Forbidden, NotFound

EARLIER_CONVERSATIONS = 10


@dataclass(frozen=True)
class Detail:
    """Everything the pane shows about one conversation."""

    chat: ChatSummary
    messages: list[MessageView]
    notes: list[NoteView]
    earlier: list[ChatSummary]
    has_more: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversation": self.chat.as_dict(),
            "messages": [m.as_dict() for m in self.messages],
            "notes": [n.as_dict() for n in self.notes],
            "earlier": [c.as_dict() for c in self.earlier],
            "has_more": self.has_more,
        }


@dataclass(frozen=True)
class PaneState:
    """What the pane needs when it (re)connects."""

    me: AgentState
    chats: list[ChatSummary]
    queue: list[QueueEntry]
    queue_total: int
    canned: list[CannedView]
    agents: list[AgentState]
    staff_workgroups: tuple[str, ...]


async def pane_state(session: AsyncSession, *, staff_id: int, now: datetime) -> PaneState:
    entries, total = await queue_view(session, now=now)
    agents = await agents_overview(session)
    me = next((a for a in agents if a.id == staff_id), None)
    if me is None:
        raise NotFound("There is no such staff member.")
    return PaneState(
        me=me,
        chats=await _chats_of(session, staff_id),
        queue=entries,
        queue_total=total,
        canned=await canned_responses(session),
        agents=agents,
        staff_workgroups=tuple(sorted({w for a in agents for w in a.workgroups})),
    )


async def chats_of(session: AsyncSession, *, by: StaffView, staff_id: int) -> list[ChatSummary]:
    """The open conversations an agent holds, for that agent or a supervisor to see."""
    if not by.is_supervisor and staff_id != by.id:
        raise Forbidden("Only a supervisor can see another agent's chats.")
    return await _chats_of(session, staff_id)


async def _chats_of(session: AsyncSession, staff_id: int) -> list[ChatSummary]:
    """The open conversations an agent holds, oldest assignment first."""
    conversations = list(
        await session.scalars(
            select(Conversation)
            .where(Conversation.assigned_staff_id == staff_id, HELD)
            .order_by(Conversation.assigned_at, Conversation.id)
        )
    )
    return await chat_summaries(session, conversations)


async def chat_summary(session: AsyncSession, conversation_id: int) -> ChatSummary:
    conversation = await get_conversation(session, conversation_id)
    (chat,) = await chat_summaries(session, [conversation])
    return chat


async def conversation_detail(
    session: AsyncSession, *, conversation_id: int, limit: int = 500
) -> Detail:
    """A conversation's transcript with the assistant's part, staff notes and earlier chats."""
    conversation = await session.get(Conversation, conversation_id)
    if conversation is None:
        raise NotFound("There is no such conversation.")
    rows = list(
        await session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.seq.desc())
            .limit(limit + 1)
        )
    )
    messages = [MessageView.of(m) for m in reversed(rows[:limit])]
    notes = await notes_of(session, conversation_id)
    email = conversation.resident.email.lower()
    earlier_rows = list(
        await session.scalars(
            select(Conversation)
            .join(Resident, Conversation.resident_id == Resident.id)
            .where(func.lower(Resident.email) == email, Conversation.id != conversation_id)
            .order_by(Conversation.created_at.desc())
            .limit(EARLIER_CONVERSATIONS)
        )
    )
    chat, *earlier = await chat_summaries(session, [conversation, *earlier_rows])
    return Detail(
        chat=chat,
        messages=messages,
        notes=notes,
        earlier=earlier,
        has_more=len(rows) > limit,
    )


async def assigned_agent(session: AsyncSession, *, conversation_id: int) -> int | None:
    """The agent who answers the conversation now, if any."""
    staff_id: int | None = await session.scalar(
        select(Conversation.assigned_staff_id).where(Conversation.id == conversation_id, HELD)
    )
    return staff_id


async def suggestion_source(
    session: AsyncSession, *, conversation_id: int
) -> tuple[str | None, str]:
    """The resident's newest words and the conversation's language (suggestions are for them)."""
    language = await session.scalar(
        select(Conversation.language).where(Conversation.id == conversation_id)
    )
    return await latest_resident_text(session, conversation_id=conversation_id), language or "en"


async def latest_resident_text(session: AsyncSession, *, conversation_id: int) -> str | None:
    """The resident's newest words in a conversation (what suggestions are for)."""
    found: str | None = await session.scalar(
        select(Message.body)
        .where(
            Message.conversation_id == conversation_id,
            Message.author_kind == "resident",
            Message.photo_id.is_(None),  # a photo's "Sent a photo." asks nothing
        )
        .order_by(Message.seq.desc())
        .limit(1)
    )
    return found
