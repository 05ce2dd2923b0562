"""Conversations as staff see them in lists: the queue, an agent's chats, earlier chats.

Shared by the queue, handling and the pane. Reads only: nothing here locks a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions.conversation_state import Priority, Stage
from chatsvc.db.models import Conversation, Message, ResidentConnection, iso_utc

# Whether the resident of a chat is there: a tab of theirs is shown ("online"), only hidden
# tabs are connected ("away"), or none is ("left").
ResidentPresence = Literal["online", "away", "left"]


@dataclass(frozen=True)
class ChatSummary:
    """A conversation as staff see it in lists: the queue, their chats, earlier chats."""

    id: int
    status: str
    stage: str
    topic: str | None
    workgroup: str | None
    priority: int
    handoff_reason: str | None
    resident_name: str
    resident_email: str
    first_question: str
    created_at: datetime
    queued_at: datetime | None
    assigned_staff_id: int | None
    agent_name: str | None
    assigned_at: datetime | None
    last_seq: int
    staff_read_seq: int
    resident_read_seq: int
    updated_at: datetime
    ended_at: datetime | None
    disposition: str | None
    resident_presence: ResidentPresence = "left"
    language: str = "en"  # the conversation's (the resident's, which can change mid-chat)

    @classmethod
    def of(
        cls,
        conversation: Conversation,
        first_question: str,
        resident_presence: ResidentPresence = "left",
    ) -> ChatSummary:
        return cls(
            id=conversation.id,
            status=conversation.status,
            stage=conversation.stage,
            topic=conversation.topic,
            workgroup=conversation.workgroup,
            priority=conversation.priority,
            handoff_reason=conversation.handoff_reason,
            resident_name=conversation.resident.name,
            resident_email=conversation.resident.email,
            first_question=first_question,
            created_at=conversation.created_at,
            queued_at=conversation.queued_at,
            assigned_staff_id=conversation.assigned_staff_id,
            agent_name=conversation.agent_name,
            assigned_at=conversation.assigned_at,
            last_seq=conversation.last_seq,
            staff_read_seq=conversation.staff_read_seq,
            resident_read_seq=conversation.resident_read_seq,
            updated_at=conversation.updated_at,
            ended_at=conversation.ended_at,
            disposition=conversation.disposition,
            resident_presence=resident_presence,
            language=conversation.language,
        )

    def as_dict(self) -> dict[str, Any]:
        def when(moment: datetime | None) -> str | None:
            return iso_utc(moment) if moment else None

        return {
            "id": self.id,
            "status": self.status,
            "stage": self.stage,
            "topic": self.topic,
            "workgroup": self.workgroup,
            "emergency": self.priority == Priority.EMERGENCY,
            "handoff_reason": self.handoff_reason,
            "resident": {"name": self.resident_name, "email": self.resident_email},
            "first_question": self.first_question,
            "created_at": when(self.created_at),
            "queued_at": when(self.queued_at),
            "assigned": (
                {"id": self.assigned_staff_id, "name": self.agent_name}
                if self.stage == Stage.AGENT and self.assigned_staff_id
                else None
            ),
            "assigned_at": when(self.assigned_at),
            "last_seq": self.last_seq,
            "read": {"staff": self.staff_read_seq, "resident": self.resident_read_seq},
            "updated_at": when(self.updated_at),
            "ended_at": when(self.ended_at),
            "disposition": self.disposition,
            "resident_presence": self.resident_presence,
            "language": self.language,
        }


async def chat_summaries(
    session: AsyncSession, conversations: Sequence[Conversation]
) -> list[ChatSummary]:
    """The conversations as staff see them in lists, with first questions and presence."""
    ids = [c.id for c in conversations]
    firsts = await first_questions(session, ids)
    presences = await resident_presences(session, ids)
    return [
        ChatSummary.of(c, firsts.get(c.id, ""), presences.get(c.id, "left")) for c in conversations
    ]


async def resident_presences(
    session: AsyncSession, ids: Sequence[int]
) -> dict[int, ResidentPresence]:
    """Whether each conversation's resident is online, away or left (absent: left)."""
    if not ids:
        return {}
    found: dict[int, ResidentPresence] = {}
    rows = await session.execute(
        select(ResidentConnection.conversation_id, ResidentConnection.visible).where(
            ResidentConnection.conversation_id.in_(ids)
        )
    )
    for cid, visible in rows:
        if visible:
            found[cid] = "online"
        else:
            found.setdefault(cid, "away")
    return found


async def first_questions(session: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(
        select(Message.conversation_id, Message.body).where(
            Message.conversation_id.in_(ids), Message.seq == 1
        )
    )
    return {cid: body for cid, body in rows}
