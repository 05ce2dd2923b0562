"""What agents do with one conversation: accept, reassign, transfer, write, note and close it.

Every function takes an open AsyncSession (the caller commits) and plain values, and returns what
happened; the transport tells clients after commit.

Locking order: the conversation's row first (`get_conversation(..., lock=True)`), then the row of
the agent who gets it (`accept`, `reassign`, `transfer` to an agent), whose chats are counted only
once both are held: conversations before staff, as in the queue's `drain_queue`. `close_chat`,
`close_idle` and `agent_message` lock only the conversation (one at a time); notes lock nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc import notices
from chatsvc.actions.accounts import StaffView
from chatsvc.actions.chat_views import chat_summaries
from chatsvc.actions.conversation_state import ConversationStatus, Priority, Stage
from chatsvc.actions.conversations import (
    SYSTEM_AUTHOR,
    ConversationView,
    Draft,
    Ended,
    MessageView,
    Sent,
    append_drafts,
    end_conversation,
    get_conversation,
    iso_utc,
    send_message,
)
from chatsvc.actions.presence import ON_DUTY, chat_loads, enabled_staff, unassign
from chatsvc.actions.queue import Assignment, assign_all
from chatsvc.db.models import Conversation, ConversationNote, Staff
from chatsvc.errors import (
    AgentUnavailable,
    AlreadyTaken,
    AtCapacity,
    ChatError,
    ConversationEnded,
    Forbidden,
    NotAssigned,
)
from chatsvc.i18n import translate

DISPOSITIONS = {
    "resolved": "Resolved",
    "referred": "Referred to a department",
    "no_response": "No response",
    "spam": "Spam",
}


@dataclass(frozen=True)
class NoteView:
    id: int
    conversation_id: int
    staff_id: int
    author_name: str
    kind: str
    text: str
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "staff_id": self.staff_id,
            "author_name": self.author_name,
            "kind": self.kind,
            "text": self.text,
            "created_at": iso_utc(self.created_at),
        }


@dataclass(frozen=True)
class Transferred:
    note: NoteView
    conversation: ConversationView
    from_staff_id: int
    assignment: Assignment | None  # given straight to another agent, or None: back in the queue
    messages: list[MessageView]


async def accept(
    session: AsyncSession, *, staff_id: int, conversation_id: int, now: datetime
) -> Assignment:
    """Take a waiting conversation from the queue, if it is still waiting and there is room."""
    conversation = await get_conversation(session, conversation_id, lock=True)
    if conversation.status != ConversationStatus.OPEN:
        raise ConversationEnded("This chat has ended.")
    if conversation.stage != Stage.WAITING:
        raise AlreadyTaken("Someone else has already taken this chat.")
    agent = await enabled_staff(session, staff_id, lock=True)
    if agent.status == "offline":
        raise AgentUnavailable("You are offline. Set yourself available or away first.")
    load = (await chat_loads(session, [staff_id])).get(staff_id, 0)
    if load >= agent.max_chats:
        raise AtCapacity(
            f"You already have {load} chat{'s' if load != 1 else ''}, your maximum. "
            "Close one first."
        )
    (assignment,) = await assign_all(session, [(conversation, agent)], now, reason="accepted")
    return assignment


async def reassign(
    session: AsyncSession, *, by: StaffView, conversation_id: int, to_staff_id: int, now: datetime
) -> Assignment:
    """Give a conversation to another agent (supervisors); to themselves is taking it over."""
    if not by.is_supervisor:
        raise Forbidden("Only a supervisor can reassign a chat.")
    conversation = await get_conversation(session, conversation_id, lock=True)
    if conversation.status != ConversationStatus.OPEN:
        raise ConversationEnded("This chat has ended.")
    previous = conversation.assigned_staff_id if conversation.stage == Stage.AGENT else None
    if previous == to_staff_id:
        raise AlreadyTaken("That agent already has this chat.")
    agent = await enabled_staff(session, to_staff_id, lock=True)
    if agent.id != by.id and (agent.status == "offline" or agent.grace_until is not None):
        raise AgentUnavailable(f"{StaffView.of(agent).first_name} is offline.")
    (assignment,) = await assign_all(
        session,
        [(conversation, agent)],
        now,
        previous={conversation.id: previous},
        reason="reassigned",
    )
    return assignment


async def transfer(
    session: AsyncSession,
    *,
    by: StaffView,
    conversation_id: int,
    to_staff_id: int | None,
    to_workgroup: str | None,
    note: str,
    now: datetime,
) -> Transferred:
    """Hand a conversation to another agent, or to a workgroup's queue, with a note for them."""
    if (to_staff_id is None) == (to_workgroup is None):
        raise ChatError("Transfer to an agent or to a workgroup.", code="invalid_payload")
    conversation = await get_conversation(session, conversation_id, lock=True)
    if conversation.status != ConversationStatus.OPEN:
        raise ConversationEnded("This chat has ended.")
    if conversation.stage != Stage.AGENT or (
        conversation.assigned_staff_id != by.id and not by.is_supervisor
    ):
        raise NotAssigned("This chat is not yours to transfer.")
    from_staff_id = conversation.assigned_staff_id or by.id
    assignment = None
    messages: list[MessageView]
    if to_staff_id is not None:
        if to_staff_id == from_staff_id:
            raise ChatError("Choose another agent.", code="invalid_payload")
        agent = await enabled_staff(session, to_staff_id, lock=True)
        first_name = StaffView.of(agent).first_name
        on_duty = await session.scalar(select(Staff.id).where(Staff.id == agent.id, ON_DUTY))
        if on_duty is None:
            raise AgentUnavailable(f"{first_name} is not available. Transfer to their workgroup.")
        load = (await chat_loads(session, [agent.id])).get(agent.id, 0)
        if load >= agent.max_chats:
            raise AtCapacity(f"{first_name} has no free chat slot. Transfer to their workgroup.")
        (assignment,) = await assign_all(
            session,
            [(conversation, agent)],
            now,
            previous={conversation.id: from_staff_id},
            reason="transferred",
        )
        messages = assignment.messages
    else:
        assert to_workgroup is not None
        members = await session.scalar(
            select(func.count())
            .select_from(Staff)
            .where(
                Staff.disabled.is_(False),
                Staff.workgroups.any(workgroup=to_workgroup),
            )
        )
        if not members:
            raise ChatError(f"Nobody works in {to_workgroup!r}.", code="invalid_payload")
        unassign(conversation)
        conversation.workgroup = to_workgroup
        conversation.workgroup_only = True
        conversation.priority = min(conversation.priority, Priority.RETURNED)
        await session.flush()
        messages = await append_drafts(
            session,
            Draft(
                conversation.id,
                "system",
                SYSTEM_AUTHOR,
                translate(
                    conversation.language,
                    "We are connecting you with a colleague who can help. Please stay in the chat.",
                ),
                None,
                now,
            ),
        )
    saved = await _add_note(session, conversation.id, by, "transfer", note, now)
    await session.refresh(conversation)
    view = ConversationView.of(conversation)
    if assignment is None:
        # Back in the queue, for the workgroup: the resident is told, the agent lets it go.
        (chat,) = await chat_summaries(session, [conversation])
        notices.record(
            session,
            notices.ConversationChanged(conversation.id, view.as_dict(), chat.as_dict()),
            notices.Unassigned(conversation.id, from_staff_id, "transferred"),
            notices.PresenceChanged(),
            notices.QueueChanged(),
        )
    # The note is for whoever takes over above all (and the agent who wrote it).
    receiver = () if assignment is None else (assignment.staff_id,)
    notices.record(
        session, notices.NoteAdded(conversation.id, saved.as_dict(), (from_staff_id, *receiver))
    )
    return Transferred(saved, view, from_staff_id, assignment, messages)


async def close_chat(
    session: AsyncSession, *, by: StaffView, conversation_id: int, disposition: str, now: datetime
) -> Ended:
    """End a conversation the agent holds (or any, for supervisors), with a disposition."""
    if disposition not in DISPOSITIONS:
        raise ChatError(
            f"The disposition is one of {', '.join(DISPOSITIONS)}.", code="invalid_payload"
        )
    conversation = await get_conversation(session, conversation_id, lock=True)
    if conversation.status != ConversationStatus.OPEN:
        raise ConversationEnded("This chat has already ended.")
    mine = conversation.stage == Stage.AGENT and conversation.assigned_staff_id == by.id
    if not mine and not by.is_supervisor:
        raise NotAssigned("This chat is not yours to close.")
    return await end_conversation(
        session,
        conversation_id=conversation_id,
        ended_by="agent",
        now=now,
        notice=lambda language: translate(
            language,
            "Chat ended by {agent}. Thank you for contacting the City. You can start a new chat "
            "any time.",
            agent=conversation.agent_name or by.first_name,
        ),
        disposition=disposition,
        reason="closed",
    )


async def close_idle(
    session: AsyncSession, *, now: datetime, idle_after: timedelta, limit: int = 100
) -> list[Ended]:
    """Close conversations nobody wrote in for `idle_after` (waiting ones keep their place).

    A chat an agent held is closed as `no_response` (the resident stopped answering); one the
    assistant alone answered gets no disposition: the resident had what they came for or went,
    and the reports count it as contained, not among the agents' outcomes."""
    rows = list(
        await session.execute(
            select(Conversation.id, Conversation.stage)
            .where(
                Conversation.status == ConversationStatus.OPEN,
                Conversation.stage.in_((Stage.ASSISTANT, Stage.AGENT)),
                Conversation.updated_at < now - idle_after,
            )
            .order_by(Conversation.id)
            .limit(limit)
        )
    )
    minutes = round(idle_after.total_seconds() / 60)

    def notice(language: str) -> str:
        return translate(
            language,
            "This chat was closed after 1 minute without a message. Start a new chat any time."
            if minutes == 1
            else "This chat was closed after {minutes} minutes without a message. Start a new "
            "chat any time.",
            minutes=minutes,
        )

    ended = []
    for conversation_id, stage in rows:
        outcome = await end_conversation(
            session,
            conversation_id=conversation_id,
            ended_by="idle",
            now=now,
            notice=notice,
            disposition="no_response" if stage == Stage.AGENT else None,
            reason="idle",
        )
        if outcome.messages:
            ended.append(outcome)
    return ended


async def agent_message(
    session: AsyncSession,
    *,
    by: StaffView,
    conversation_id: int,
    text: str,
    client_id: str,
    now: datetime,
) -> Sent:
    """Send a message to the resident as the agent the conversation is assigned to."""
    conversation = await get_conversation(session, conversation_id, lock=True)
    if conversation.status != ConversationStatus.OPEN:
        raise ConversationEnded("This chat has ended.")
    if conversation.stage != Stage.AGENT or conversation.assigned_staff_id != by.id:
        raise NotAssigned("This chat is not assigned to you. Take it over first.")
    sent = await send_message(
        session,
        Draft(
            conversation_id, "agent", conversation.agent_name or by.first_name, text, client_id, now
        ),
    )
    if not sent.duplicate and conversation.first_agent_reply_at is None:
        conversation.first_agent_reply_at = now
    return sent


async def add_note(
    session: AsyncSession, *, by: StaffView, conversation_id: int, text: str, now: datetime
) -> NoteView:
    """Write an internal note on a conversation: staff see it, the resident never does."""
    conversation = await get_conversation(session, conversation_id)
    note = await _add_note(session, conversation_id, by, "note", text, now)
    holder = conversation.assigned_staff_id if conversation.stage == Stage.AGENT else None
    staff_ids = (by.id,) if holder is None else (by.id, holder)
    notices.record(session, notices.NoteAdded(conversation_id, note.as_dict(), staff_ids))
    return note


async def _add_note(
    session: AsyncSession, conversation_id: int, by: StaffView, kind: str, text: str, now: datetime
) -> NoteView:
    note = ConversationNote(
        conversation_id=conversation_id, staff_id=by.id, kind=kind, body=text, created_at=now
    )
    session.add(note)
    await session.flush()
    return _note_view(note, by.display_name)


async def notes_of(session: AsyncSession, conversation_id: int) -> list[NoteView]:
    rows = await session.execute(
        select(ConversationNote, Staff.display_name)
        .join(Staff, ConversationNote.staff_id == Staff.id)
        .where(ConversationNote.conversation_id == conversation_id)
        .order_by(ConversationNote.id)
    )
    return [_note_view(note, name) for note, name in rows]


def _note_view(note: ConversationNote, author: str) -> NoteView:
    return NoteView(
        id=note.id,
        conversation_id=note.conversation_id,
        staff_id=note.staff_id,
        author_name=author,
        kind=note.kind,
        text=note.body,
        created_at=note.created_at,
    )
