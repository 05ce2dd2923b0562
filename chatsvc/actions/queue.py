"""The queue and routing: who gets which waiting conversation, and how long residents wait.

Every function takes an open AsyncSession (the caller commits) and plain values, and returns what
happened; the transport tells clients after commit.

Assignment is a claim in the database, safe with several server processes on one database:
whoever gives a conversation to an agent holds the conversation's row (waiting ones are taken with
SKIP LOCKED, so two processes draining the queue split it instead of queueing behind each other)
and then the agent's row, and counts the agent's chats only once both are held. Rows are always
locked in that order, conversations before staff, so two transactions cannot wait on each other.

Locking order: `drain_queue` locks the waiting conversations it takes (SKIP LOCKED), then the
rows of the agents on duty (by id); `assign_all` expects its callers to hold both. `queue_view`
and `availability` only read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc import notices
from chatsvc.actions.accounts import StaffView
from chatsvc.actions.chat_views import ChatSummary, chat_summaries
from chatsvc.actions.conversation_state import ConversationStatus, Stage
from chatsvc.actions.conversations import (
    JOINED,
    SYSTEM_AUTHOR,
    ConversationView,
    Draft,
    MessageView,
    append_drafts,
)
from chatsvc.actions.presence import ON_DUTY, chat_loads
from chatsvc.db.models import Conversation, Staff
from chatsvc.i18n import translate

# How long a chat takes an agent, until the center has history of its own.
DEFAULT_HANDLE_TIME = timedelta(minutes=6)


HANDLE_TIME_SAMPLE = 50

# The queue: open conversations waiting for a person, emergencies first, then sent-back ones,
# then the oldest.
WAITING: ColumnElement[bool] = and_(
    Conversation.status == ConversationStatus.OPEN, Conversation.stage == Stage.WAITING
)
QUEUE_ORDER = (Conversation.priority, Conversation.queued_at, Conversation.id)


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
class Assignment:
    """A conversation given to an agent, and what the resident is told about it."""

    chat: ChatSummary
    conversation: ConversationView
    staff_id: int
    messages: list[MessageView]
    previous_staff_id: int | None = None


@dataclass(frozen=True)
class Availability:
    """Whether a person could answer a new chat soon."""

    agents_available: int
    waiting: int
    estimated_wait_seconds: int | None  # for one more resident; None: nobody to answer


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
            .where(WAITING)
            .order_by(*QUEUE_ORDER)
            .limit(limit)
            .with_for_update(of=Conversation, skip_locked=True)
        )
    )
    if not waiting:
        return []
    agents = list(
        await session.scalars(
            select(Staff)
            .where(ON_DUTY)
            .order_by(Staff.id)
            .with_for_update(of=Staff)
            .execution_options(populate_existing=True)
        )
    )
    if not agents:
        return []
    loads = await chat_loads(session, [a.id for a in agents])
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
    return await assign_all(session, chosen, now, reason="routed")


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


async def assign_all(
    session: AsyncSession,
    chosen: list[tuple[Conversation, Staff]],
    now: datetime,
    previous: dict[int, int | None] | None = None,
    *,
    reason: str,
) -> list[Assignment]:
    """Give each conversation to its agent; the resident, the agent and the previous holder
    (if another) hear it, for `reason` (routed, accepted, reassigned, transferred)."""
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
                conversation.id,
                "system",
                SYSTEM_AUTHOR,
                translate(conversation.language, "{name} joined the chat.", name=first_name),
                None,
                now,
                # The reports find the join by this marker, in every language.
                decision={"notice": JOINED},
            )
        )
    await session.flush()
    messages = await append_drafts(session, *drafts)
    for conversation, _ in chosen:
        await session.refresh(conversation)
    chats = await chat_summaries(session, [c for c, _ in chosen])
    assignments = []
    for (conversation, agent), message, summary in zip(chosen, messages, chats, strict=True):
        assignments.append(
            Assignment(
                chat=summary,
                conversation=ConversationView.of(conversation),
                staff_id=agent.id,
                messages=[message],
                previous_staff_id=(previous or {}).get(conversation.id),
            )
        )
    for assignment in assignments:
        chat = assignment.chat.as_dict()
        notices.record(
            session,
            notices.ConversationChanged(
                assignment.chat.id, assignment.conversation.as_dict(), chat
            ),
            notices.Assigned(
                assignment.chat.id, assignment.staff_id, chat, reason, assignment.previous_staff_id
            ),
        )
    notices.record(session, notices.PresenceChanged())
    return assignments


async def queue_view(
    session: AsyncSession, *, now: datetime, limit: int = 200
) -> tuple[list[QueueEntry], int]:
    """The waiting conversations in order, each with its place and an estimated wait."""
    total = await session.scalar(select(func.count()).select_from(Conversation).where(WAITING))
    conversations = list(
        await session.scalars(
            select(Conversation).where(WAITING).order_by(*QUEUE_ORDER).limit(limit)
        )
    )
    chats = await chat_summaries(session, conversations)
    per_chat = await _seconds_per_freed_slot(session, now)
    return [
        QueueEntry(
            chat,
            position,
            None if per_chat is None else math.ceil(position * per_chat),
        )
        for position, chat in enumerate(chats, start=1)
    ], total or 0


async def _seconds_per_freed_slot(session: AsyncSession, now: datetime) -> float | None:
    """How often a chat slot frees up: the average handle time over the slots of agents on duty."""
    slots = await session.scalar(select(func.sum(Staff.max_chats)).where(ON_DUTY))
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


async def availability(session: AsyncSession, *, now: datetime) -> Availability:
    agents = await session.scalar(select(func.count()).select_from(Staff).where(ON_DUTY))
    waiting = await session.scalar(select(func.count()).select_from(Conversation).where(WAITING))
    per_slot = await _seconds_per_freed_slot(session, now)
    wait = None if per_slot is None or not agents else math.ceil(((waiting or 0) + 1) * per_slot)
    if agents and wait is not None and await _has_free_slot(session):
        wait = 0
    return Availability(agents or 0, waiting or 0, wait)


async def _has_free_slot(session: AsyncSession) -> bool:
    agents = list(await session.execute(select(Staff.id, Staff.max_chats).where(ON_DUTY)))
    loads = await chat_loads(session, [a.id for a in agents])
    return any(loads.get(a.id, 0) < a.max_chats for a in agents)
