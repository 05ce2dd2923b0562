"""Agents at work: presence, the queue, routing, and what agents do with a conversation.

Every function takes an open AsyncSession (the caller commits) and plain values, and returns what
happened; the transport tells clients after commit.

Assignment is a claim in the database, safe with several server processes on one database:
whoever gives a conversation to an agent holds the conversation's row (waiting ones are taken with
SKIP LOCKED, so two processes draining the queue split it instead of queueing behind each other)
and then the agent's row, and counts the agent's chats only once both are held. Rows are always
locked in that order, conversations before staff, so two transactions cannot wait on each other.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions.accounts import StaffView
from chatsvc.actions.conversation_state import ConversationStatus, Priority, Stage
from chatsvc.actions.conversations import (
    SERVICE_NAME,
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
from chatsvc.actions.service_requests import Contact, NewRequest, RequestPolicy, RequestView
from chatsvc.actions.service_requests import create_service_request as file_service_request
from chatsvc.db.models import (
    AgentConnection,
    CannedResponse,
    Conversation,
    ConversationNote,
    Message,
    RequestPhoto,
    Resident,
    Staff,
)
from chatsvc.errors import (
    AgentUnavailable,
    AlreadyTaken,
    AtCapacity,
    ChatError,
    ConversationEnded,
    Forbidden,
    NotAssigned,
    NotFound,
)

Status = Literal["available", "away", "offline"]
STATUSES: tuple[Status, ...] = ("available", "away", "offline")
DISPOSITIONS = {
    "resolved": "Resolved",
    "referred": "Referred to a department",
    "no_response": "No response",
    "spam": "Spam",
}
EARLIER_CONVERSATIONS = 10
# How long a chat takes an agent, until the center has history of its own.
DEFAULT_HANDLE_TIME = timedelta(minutes=6)
HANDLE_TIME_SAMPLE = 50


# --- what clients see -------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentState:
    """An agent's presence and load, as the pane and supervisors see it."""

    id: int
    username: str
    display_name: str
    role: str
    status: str
    max_chats: int
    active_chats: int
    connected: bool
    workgroups: tuple[str, ...]
    idle_since: datetime | None
    grace_until: datetime | None

    @property
    def first_name(self) -> str:
        words = self.display_name.split()
        return words[0] if words else self.username

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "first_name": self.first_name,
            "role": self.role,
            "status": self.status,
            "max_chats": self.max_chats,
            "active_chats": self.active_chats,
            "connected": self.connected,
            "workgroups": list(self.workgroups),
            "idle_since": iso_utc(self.idle_since) if self.idle_since else None,
            "grace_until": iso_utc(self.grace_until) if self.grace_until else None,
        }


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

    @classmethod
    def of(cls, conversation: Conversation, first_question: str) -> ChatSummary:
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
        }


@dataclass(frozen=True)
class QueueEntry:
    chat: ChatSummary
    position: int
    estimated_wait_seconds: int | None  # None: nobody is available to take it

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.chat.as_dict(),
            "position": self.position,
            "estimated_wait_seconds": self.estimated_wait_seconds,
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
class CannedView:
    id: int
    shortcut: str
    title: str
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "shortcut": self.shortcut, "title": self.title, "text": self.text}


@dataclass(frozen=True)
class Assignment:
    """A conversation given to an agent, and what the resident is told about it."""

    chat: ChatSummary
    conversation: ConversationView
    staff_id: int
    messages: list[MessageView]
    previous_staff_id: int | None = None


@dataclass(frozen=True)
class Returned:
    """Conversations sent back to the queue (their agent went offline or was lost)."""

    staff_id: int
    conversations: list[ConversationView]
    messages: list[MessageView]


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
class Transferred:
    note: NoteView
    conversation: ConversationView
    from_staff_id: int
    assignment: Assignment | None  # given straight to another agent, or None: back in the queue
    messages: list[MessageView]


# --- presence -----------------------------------------------------------------------------


async def agent_connected(
    session: AsyncSession, *, staff_id: int, server_id: str, sid: str, now: datetime
) -> AgentState:
    """Record a staff connection; a reconnect within the grace period keeps everything."""
    session.add(
        AgentConnection(
            server_id=server_id, sid=sid, staff_id=staff_id, connected_at=now, seen_at=now
        )
    )
    await session.execute(update(Staff).where(Staff.id == staff_id).values(grace_until=None))
    await session.flush()
    return await agent_state(session, staff_id)


async def agent_disconnected(
    session: AsyncSession, *, server_id: str, sid: str, now: datetime, grace: timedelta
) -> AgentState | None:
    """Forget a connection; if it was the agent's last, their grace period starts."""
    staff_id = await session.scalar(
        delete(AgentConnection)
        .where(AgentConnection.server_id == server_id, AgentConnection.sid == sid)
        .returning(AgentConnection.staff_id)
    )
    if staff_id is None:
        return None
    await _start_grace_if_gone(session, [staff_id], now, grace)
    return await agent_state(session, staff_id)


async def _start_grace_if_gone(
    session: AsyncSession, staff_ids: Sequence[int], now: datetime, grace: timedelta
) -> None:
    still_here = exists().where(AgentConnection.staff_id == Staff.id)
    await session.execute(
        update(Staff)
        .where(Staff.id.in_(staff_ids), Staff.status != "offline", ~still_here)
        .values(grace_until=now + grace)
    )


async def heartbeat(
    session: AsyncSession,
    *,
    server_id: str,
    now: datetime,
    stale_after: timedelta,
    grace: timedelta,
) -> list[int]:
    """Mark this process's connections alive; drop those of processes that stopped beating.

    Returns the staff whose last connection went with a dead process (their grace starts).
    """
    await session.execute(
        update(AgentConnection).where(AgentConnection.server_id == server_id).values(seen_at=now)
    )
    gone = list(
        await session.scalars(
            delete(AgentConnection)
            .where(AgentConnection.seen_at < now - stale_after)
            .returning(AgentConnection.staff_id)
        )
    )
    if gone:
        await _start_grace_if_gone(session, sorted(set(gone)), now, grace)
    return sorted(set(gone))


async def forget_connections_of_other_servers(
    session: AsyncSession, *, server_id: str, now: datetime, grace: timedelta
) -> None:
    """On the embedded default one process is the whole service: older connections are dead."""
    gone = list(
        await session.scalars(
            delete(AgentConnection)
            .where(AgentConnection.server_id != server_id)
            .returning(AgentConnection.staff_id)
        )
    )
    if gone:
        await _start_grace_if_gone(session, sorted(set(gone)), now, grace)


async def expire_graces(session: AsyncSession, *, now: datetime) -> list[Returned]:
    """Agents whose grace ran out go offline; their chats go back to the front of the queue."""
    staff_ids = list(
        await session.scalars(
            select(Staff.id).where(Staff.grace_until.is_not(None), Staff.grace_until <= now)
        )
    )
    returned = []
    for staff_id in staff_ids:
        chats = await _lock_chats(session, staff_id)
        # Only the transaction that still finds the grace over takes the agent offline; if
        # they came back meanwhile (or another process got here first), nothing changes.
        result = await session.execute(
            update(Staff)
            .where(Staff.id == staff_id, Staff.grace_until.is_not(None), Staff.grace_until <= now)
            .values(status="offline", grace_until=None)
        )
        if getattr(result, "rowcount", 0):
            returned.append(await _send_back(session, staff_id, chats, now, LOST_NOTICE))
    return returned


LOST_NOTICE = "{agent} lost their connection. You are back in line for the next available person."
LEFT_NOTICE = "{agent} had to leave. You are back in line for the next available person."


async def set_status(
    session: AsyncSession, *, staff_id: int, status: str, now: datetime
) -> tuple[AgentState, Returned | None]:
    """Set an agent's own status; going offline sends their chats back to the queue."""
    if status not in STATUSES:
        raise ChatError(f"The status is one of {', '.join(STATUSES)}.", code="invalid_payload")
    back = None
    if status == "offline":
        back = await _send_back(
            session, staff_id, await _lock_chats(session, staff_id), now, LEFT_NOTICE
        )
    staff = await _staff(session, staff_id)
    if staff.status != status:
        staff.status = status
        if status == "available":
            staff.idle_since = now
    await session.flush()
    return await agent_state(session, staff_id), back


async def set_max_chats(
    session: AsyncSession, *, by: StaffView, staff_id: int, max_chats: int
) -> AgentState:
    """Set how many chats an agent holds at once (supervisors; or agents for themselves)."""
    if not by.is_supervisor and by.id != staff_id:
        raise Forbidden("Only a supervisor can change another agent's maximum.")
    if not 1 <= max_chats <= 20:
        raise ChatError(
            "The maximum of concurrent chats is between 1 and 20.", code="invalid_payload"
        )
    staff = await _staff(session, staff_id)
    staff.max_chats = max_chats
    await session.flush()
    return await agent_state(session, staff_id)


async def _lock_chats(session: AsyncSession, staff_id: int) -> list[Conversation]:
    """The agent's open chats, locked (conversations before staff, as everywhere)."""
    return list(
        await session.scalars(
            select(Conversation)
            .where(
                Conversation.assigned_staff_id == staff_id,
                Conversation.status == ConversationStatus.OPEN,
                Conversation.stage == Stage.AGENT,
            )
            .order_by(Conversation.id)
            .with_for_update(of=Conversation)
            .execution_options(populate_existing=True)
        )
    )


async def _send_back(
    session: AsyncSession,
    staff_id: int,
    conversations: list[Conversation],
    now: datetime,
    notice: str,
) -> Returned:
    drafts = []
    for conversation in conversations:
        drafts.append(
            Draft(
                conversation.id,
                "system",
                SERVICE_NAME,
                notice.format(agent=conversation.agent_name or "Your agent"),
                None,
                now,
            )
        )
        _unassign(conversation)
        conversation.priority = min(conversation.priority, Priority.RETURNED)
    await session.flush()
    messages = await append_drafts(session, *drafts) if drafts else []
    views = []
    for conversation in conversations:
        await session.refresh(conversation)
        views.append(ConversationView.of(conversation))
    return Returned(staff_id, views, messages)


def _unassign(conversation: Conversation) -> None:
    conversation.stage = Stage.WAITING
    conversation.assigned_staff_id = None
    conversation.assigned_at = None
    conversation.agent_name = None


async def agent_state(session: AsyncSession, staff_id: int) -> AgentState:
    states = await agents_overview(session, staff_ids=[staff_id])
    if not states:
        raise NotFound("There is no such staff member.")
    return states[0]


async def agents_overview(
    session: AsyncSession, *, staff_ids: Sequence[int] | None = None
) -> list[AgentState]:
    """Every enabled staff member's status and load (or only those asked for)."""
    statement = select(Staff).where(Staff.disabled.is_(False)).order_by(Staff.display_name)
    if staff_ids is not None:
        statement = statement.where(Staff.id.in_(staff_ids))
    staff = list(await session.scalars(statement))
    ids = [s.id for s in staff]
    loads = await _loads(session, ids)
    connected = set(
        await session.scalars(
            select(AgentConnection.staff_id).where(AgentConnection.staff_id.in_(ids)).distinct()
        )
    )
    return [
        AgentState(
            id=s.id,
            username=s.username,
            display_name=s.display_name,
            role=s.role,
            status=s.status,
            max_chats=s.max_chats,
            active_chats=loads.get(s.id, 0),
            connected=s.id in connected,
            workgroups=tuple(sorted(w.workgroup for w in s.workgroups)),
            idle_since=s.idle_since,
            grace_until=s.grace_until,
        )
        for s in staff
    ]


async def _loads(session: AsyncSession, staff_ids: Sequence[int]) -> dict[int, int]:
    rows = await session.execute(
        select(Conversation.assigned_staff_id, func.count())
        .where(
            Conversation.assigned_staff_id.in_(staff_ids),
            Conversation.status == ConversationStatus.OPEN,
            Conversation.stage == Stage.AGENT,
        )
        .group_by(Conversation.assigned_staff_id)
    )
    return {staff_id: count for staff_id, count in rows if staff_id is not None}


async def _staff(session: AsyncSession, staff_id: int, *, lock: bool = False) -> Staff:
    statement = select(Staff).where(Staff.id == staff_id)
    if lock:
        statement = statement.with_for_update(of=Staff)
    staff = await session.scalar(statement.execution_options(populate_existing=True))
    if staff is None or staff.disabled:
        raise NotFound("There is no such staff member.")
    return staff


# --- the queue and routing ----------------------------------------------------------------


async def drain_queue(
    session: AsyncSession, *, now: datetime, limit: int = 100
) -> list[Assignment]:
    """Give waiting conversations to available agents, emergencies first, then the oldest.

    An agent of the conversation's workgroup with the fewest chats (under their maximum) gets
    it, the longest idle of them on a tie; else any available agent; else it keeps waiting.
    """
    waiting = list(
        await session.scalars(
            select(Conversation)
            .where(
                Conversation.status == ConversationStatus.OPEN, Conversation.stage == Stage.WAITING
            )
            .order_by(Conversation.priority, Conversation.queued_at, Conversation.id)
            .limit(limit)
            .with_for_update(of=Conversation, skip_locked=True)
        )
    )
    if not waiting:
        return []
    connected = exists().where(AgentConnection.staff_id == Staff.id)
    agents = list(
        await session.scalars(
            select(Staff)
            .where(
                Staff.status == "available",
                Staff.disabled.is_(False),
                Staff.grace_until.is_(None),
                connected,
            )
            .order_by(Staff.id)
            .with_for_update(of=Staff)
            .execution_options(populate_existing=True)
        )
    )
    if not agents:
        return []
    loads = await _loads(session, [a.id for a in agents])
    chosen: list[tuple[Conversation, Staff]] = []
    for conversation in waiting:
        open_agents = [a for a in agents if loads.get(a.id, 0) < a.max_chats]
        if not open_agents:
            break
        agent = _pick(conversation, open_agents, loads)
        if agent is None:
            continue
        loads[agent.id] = loads.get(agent.id, 0) + 1
        chosen.append((conversation, agent))
    return await _assign_all(session, chosen, now)


def _pick(conversation: Conversation, agents: list[Staff], loads: dict[int, int]) -> Staff | None:
    group = conversation.workgroup
    own = [a for a in agents if group and group in {w.workgroup for w in a.workgroups}]
    if conversation.workgroup_only and group:
        agents = own
    candidates = own or agents
    if not candidates:
        return None
    never = datetime.min.replace(tzinfo=UTC)
    return min(candidates, key=lambda a: (loads.get(a.id, 0), a.idle_since or never, a.id))


async def _assign_all(
    session: AsyncSession,
    chosen: list[tuple[Conversation, Staff]],
    now: datetime,
    previous: dict[int, int | None] | None = None,
) -> list[Assignment]:
    if not chosen:
        return []
    drafts = []
    for conversation, agent in chosen:
        first_name = StaffView.of(agent).first_name
        conversation.stage = Stage.AGENT
        conversation.assigned_staff_id = agent.id
        conversation.assigned_at = now
        conversation.agent_name = first_name
        agent.idle_since = now
        drafts.append(
            Draft(
                conversation.id, "system", SERVICE_NAME, f"{first_name} joined the chat.", None, now
            )
        )
    await session.flush()
    messages = await append_drafts(session, *drafts)
    firsts = await _first_questions(session, [c.id for c, _ in chosen])
    assignments = []
    for (conversation, agent), message in zip(chosen, messages, strict=True):
        await session.refresh(conversation)
        assignments.append(
            Assignment(
                chat=ChatSummary.of(conversation, firsts.get(conversation.id, "")),
                conversation=ConversationView.of(conversation),
                staff_id=agent.id,
                messages=[message],
                previous_staff_id=(previous or {}).get(conversation.id),
            )
        )
    return assignments


async def accept(
    session: AsyncSession, *, staff_id: int, conversation_id: int, now: datetime
) -> Assignment:
    """Take a waiting conversation from the queue, if it is still waiting and there is room."""
    conversation = await get_conversation(session, conversation_id, lock=True)
    if conversation.status != ConversationStatus.OPEN:
        raise ConversationEnded("This chat has ended.")
    if conversation.stage != Stage.WAITING:
        raise AlreadyTaken("Someone else has already taken this chat.")
    agent = await _staff(session, staff_id, lock=True)
    if agent.status == "offline":
        raise AgentUnavailable("You are offline. Set yourself available or away first.")
    load = (await _loads(session, [staff_id])).get(staff_id, 0)
    if load >= agent.max_chats:
        raise AtCapacity(
            f"You already have {load} chat{'s' if load != 1 else ''}, your maximum. "
            "Close one first."
        )
    (assignment,) = await _assign_all(session, [(conversation, agent)], now)
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
    agent = await _staff(session, to_staff_id, lock=True)
    if agent.id != by.id and (agent.status == "offline" or agent.grace_until is not None):
        raise AgentUnavailable(f"{StaffView.of(agent).first_name} is offline.")
    (assignment,) = await _assign_all(
        session, [(conversation, agent)], now, previous={conversation.id: previous}
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
        agent = await _staff(session, to_staff_id, lock=True)
        first_name = StaffView.of(agent).first_name
        connected = await session.scalar(
            select(exists().where(AgentConnection.staff_id == agent.id))
        )
        if agent.status != "available" or agent.grace_until is not None or not connected:
            raise AgentUnavailable(f"{first_name} is not available. Transfer to their workgroup.")
        load = (await _loads(session, [agent.id])).get(agent.id, 0)
        if load >= agent.max_chats:
            raise AtCapacity(f"{first_name} has no free chat slot. Transfer to their workgroup.")
        (assignment,) = await _assign_all(
            session, [(conversation, agent)], now, previous={conversation.id: from_staff_id}
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
        _unassign(conversation)
        conversation.workgroup = to_workgroup
        conversation.workgroup_only = True
        conversation.priority = min(conversation.priority, Priority.RETURNED)
        await session.flush()
        messages = await append_drafts(
            session,
            Draft(
                conversation.id,
                "system",
                SERVICE_NAME,
                "We are connecting you with a colleague who can help. Please stay in the chat.",
                None,
                now,
            ),
        )
    saved = await _add_note(session, conversation.id, by, "transfer", note, now)
    await session.refresh(conversation)
    return Transferred(
        saved, ConversationView.of(conversation), from_staff_id, assignment, messages
    )


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
        notice=f"Chat ended by {conversation.agent_name or by.first_name}. Thank you for "
        "contacting the City. You can start a new chat any time.",
        disposition=disposition,
    )


async def close_idle(
    session: AsyncSession, *, now: datetime, idle_after: timedelta, limit: int = 100
) -> list[Ended]:
    """Close conversations nobody wrote in for `idle_after` (waiting ones keep their place)."""
    ids = list(
        await session.scalars(
            select(Conversation.id)
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
    notice = (
        f"This chat was closed after {minutes} minute{'s' if minutes != 1 else ''} without a "
        "message. Start a new chat any time."
    )
    ended = []
    for conversation_id in ids:
        outcome = await end_conversation(
            session,
            conversation_id=conversation_id,
            ended_by="idle",
            now=now,
            notice=notice,
            disposition="no_response",
        )
        if outcome.messages:
            ended.append(outcome)
    return ended


async def queue(
    session: AsyncSession, *, now: datetime, limit: int = 200
) -> tuple[list[QueueEntry], int]:
    """The waiting conversations in order, each with its place and an estimated wait."""
    total = await session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.status == ConversationStatus.OPEN, Conversation.stage == Stage.WAITING)
    )
    conversations = list(
        await session.scalars(
            select(Conversation)
            .where(
                Conversation.status == ConversationStatus.OPEN, Conversation.stage == Stage.WAITING
            )
            .order_by(Conversation.priority, Conversation.queued_at, Conversation.id)
            .limit(limit)
        )
    )
    firsts = await _first_questions(session, [c.id for c in conversations])
    per_chat = await _seconds_per_freed_slot(session, now)
    return [
        QueueEntry(
            ChatSummary.of(c, firsts.get(c.id, "")),
            position,
            None if per_chat is None else math.ceil(position * per_chat),
        )
        for position, c in enumerate(conversations, start=1)
    ], total or 0


async def _seconds_per_freed_slot(session: AsyncSession, now: datetime) -> float | None:
    """How often a chat slot frees up: the average handle time over the slots of agents on duty."""
    connected = exists().where(AgentConnection.staff_id == Staff.id)
    slots = await session.scalar(
        select(func.sum(Staff.max_chats)).where(
            Staff.status == "available", Staff.disabled.is_(False), connected
        )
    )
    if not slots:
        return None
    recent = await session.execute(
        select(Conversation.assigned_at, Conversation.ended_at)
        .where(
            Conversation.status == ConversationStatus.ENDED,
            Conversation.assigned_at.is_not(None),
            Conversation.ended_at.is_not(None),
        )
        .order_by(Conversation.ended_at.desc())
        .limit(HANDLE_TIME_SAMPLE)
    )
    spans = [
        (end - start).total_seconds() for start, end in recent if start and end and end > start
    ]
    handle = sum(spans) / len(spans) if spans else DEFAULT_HANDLE_TIME.total_seconds()
    return handle / slots


async def _first_questions(session: AsyncSession, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await session.execute(
        select(Message.conversation_id, Message.body).where(
            Message.conversation_id.in_(ids), Message.seq == 1
        )
    )
    return {cid: body for cid, body in rows}


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
            .where(
                Conversation.assigned_staff_id == staff_id,
                Conversation.status == ConversationStatus.OPEN,
                Conversation.stage == Stage.AGENT,
            )
            .order_by(Conversation.assigned_at, Conversation.id)
        )
    )
    firsts = await _first_questions(session, [c.id for c in conversations])
    return [ChatSummary.of(c, firsts.get(c.id, "")) for c in conversations]


async def chat_summary(session: AsyncSession, conversation_id: int) -> ChatSummary:
    conversation = await get_conversation(session, conversation_id)
    firsts = await _first_questions(session, [conversation_id])
    return ChatSummary.of(conversation, firsts.get(conversation_id, ""))


# --- one conversation -------------------------------------------------------------------------


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
    notes = await _notes(session, conversation_id)
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
    firsts = await _first_questions(session, [conversation_id, *(c.id for c in earlier_rows)])
    return Detail(
        chat=ChatSummary.of(conversation, firsts.get(conversation_id, "")),
        messages=messages,
        notes=notes,
        earlier=[ChatSummary.of(c, firsts.get(c.id, "")) for c in earlier_rows],
        has_more=len(rows) > limit,
    )


async def _notes(session: AsyncSession, conversation_id: int) -> list[NoteView]:
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


async def add_note(
    session: AsyncSession, *, by: StaffView, conversation_id: int, text: str, now: datetime
) -> NoteView:
    """Write an internal note on a conversation: staff see it, the resident never does."""
    await get_conversation(session, conversation_id)
    return await _add_note(session, conversation_id, by, "note", text, now)


async def _add_note(
    session: AsyncSession, conversation_id: int, by: StaffView, kind: str, text: str, now: datetime
) -> NoteView:
    note = ConversationNote(
        conversation_id=conversation_id, staff_id=by.id, kind=kind, body=text, created_at=now
    )
    session.add(note)
    await session.flush()
    return _note_view(note, by.display_name)


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


# --- canned responses -------------------------------------------------------------------------


async def canned_responses(session: AsyncSession) -> list[CannedView]:
    rows = await session.scalars(select(CannedResponse).order_by(CannedResponse.shortcut))
    return [CannedView(r.id, r.shortcut, r.title, r.body) for r in rows]


async def save_canned(
    session: AsyncSession,
    *,
    by: StaffView,
    canned_id: int | None,
    shortcut: str,
    title: str,
    text: str,
    now: datetime,
) -> CannedView:
    """Add or change a canned response (supervisors)."""
    if not by.is_supervisor:
        raise Forbidden("Only supervisors keep the canned responses.")
    taken = await session.scalar(
        select(CannedResponse.id).where(
            CannedResponse.shortcut == shortcut, CannedResponse.id != (canned_id or 0)
        )
    )
    if taken:
        raise ChatError(f"The shortcut /{shortcut} is already used.", code="invalid_payload")
    if canned_id is None:
        row = CannedResponse(
            shortcut=shortcut, title=title, body=text, updated_by=by.id, updated_at=now
        )
        session.add(row)
    else:
        found = await session.get(CannedResponse, canned_id)
        if found is None:
            raise NotFound("There is no such canned response.")
        row = found
        row.shortcut, row.title, row.body = shortcut, title, text
        row.updated_by, row.updated_at = by.id, now
    await session.flush()
    return CannedView(row.id, row.shortcut, row.title, row.body)


async def delete_canned(session: AsyncSession, *, by: StaffView, canned_id: int) -> None:
    if not by.is_supervisor:
        raise Forbidden("Only supervisors keep the canned responses.")
    result = await session.execute(delete(CannedResponse).where(CannedResponse.id == canned_id))
    if not getattr(result, "rowcount", 0):
        raise NotFound("There is no such canned response.")


async def assigned_agent(session: AsyncSession, *, conversation_id: int) -> int | None:
    """The agent who answers the conversation now, if any."""
    staff_id: int | None = await session.scalar(
        select(Conversation.assigned_staff_id).where(
            Conversation.id == conversation_id,
            Conversation.status == ConversationStatus.OPEN,
            Conversation.stage == Stage.AGENT,
        )
    )
    return staff_id


async def latest_resident_text(session: AsyncSession, *, conversation_id: int) -> str | None:
    """The resident's newest message in a conversation (what suggestions are for)."""
    found: str | None = await session.scalar(
        select(Message.body)
        .where(Message.conversation_id == conversation_id, Message.author_kind == "resident")
        .order_by(Message.seq.desc())
        .limit(1)
    )
    return found


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
    entries, total = await queue(session, now=now)
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


@dataclass(frozen=True)
class Availability:
    """Whether a person could answer a new chat soon."""

    agents_available: int
    waiting: int
    estimated_wait_seconds: int | None  # for one more resident; None: nobody to answer


async def availability(session: AsyncSession, *, now: datetime) -> Availability:
    connected = exists().where(AgentConnection.staff_id == Staff.id)
    agents = await session.scalar(
        select(func.count())
        .select_from(Staff)
        .where(
            Staff.status == "available",
            Staff.disabled.is_(False),
            Staff.grace_until.is_(None),
            connected,
        )
    )
    waiting = await session.scalar(
        select(func.count())
        .select_from(Conversation)
        .where(Conversation.status == ConversationStatus.OPEN, Conversation.stage == Stage.WAITING)
    )
    per_slot = await _seconds_per_freed_slot(session, now)
    wait = None if per_slot is None or not agents else math.ceil(((waiting or 0) + 1) * per_slot)
    if agents and wait is not None and await _has_free_slot(session):
        wait = 0
    return Availability(agents or 0, waiting or 0, wait)


async def _has_free_slot(session: AsyncSession) -> bool:
    connected = exists().where(AgentConnection.staff_id == Staff.id)
    agents = list(
        await session.execute(
            select(Staff.id, Staff.max_chats).where(
                Staff.status == "available",
                Staff.disabled.is_(False),
                Staff.grace_until.is_(None),
                connected,
            )
        )
    )
    loads = await _loads(session, [a.id for a in agents])
    return any(loads.get(a.id, 0) < a.max_chats for a in agents)


# --- service requests filed from a chat -------------------------------------------------------

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
            .where(Message.conversation_id == conversation_id, Message.author_kind == "resident")
            .order_by(Message.seq.desc())
            .limit(RESIDENT_TEXTS)
        )
    )
    photos = await session.scalars(
        select(RequestPhoto.id)
        .where(RequestPhoto.conversation_id == conversation_id, RequestPhoto.request_id.is_(None))
        .order_by(RequestPhoto.id)
    )
    return RequestSource(
        conversation_id=conversation.id,
        topic=conversation.topic,
        resident_name=conversation.resident.name,
        resident_email=conversation.resident.email,
        resident_texts=tuple(reversed(texts)),
        photo_ids=tuple(photos),
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
    text = (
        f"Your {view.service_name} request is filed. Its number is {view.number}. We expect it "
        f"to be done by {policy.calendar.describe_local(view.expected_at)}. The details are on "
        f"their way to {resident.email}."
    )
    if holder == by.id:
        draft = Draft(
            conversation_id, "agent", conversation.agent_name or by.first_name, text, None, now
        )
    else:
        draft = Draft(conversation_id, "system", SERVICE_NAME, text, None, now)
    (message,) = await append_drafts(session, draft)
    return FiledFromChat(view, message, holder)
