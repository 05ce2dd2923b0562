"""Agents' presence: their status and maximum of chats, connections, heartbeat and grace period.

Every function takes an open AsyncSession (the caller commits) and plain values, and returns what
happened; the transport tells clients after commit.

Presence lives in the database, so that every server process sees the same: each process records
its agents' connections and keeps them fresh (`heartbeat`). An agent whose last connection is gone
keeps their chats for a grace period; after it they are offline and their chats go back to the
front of the queue (`expire_graces`). `ON_DUTY` says who may be given a chat now.

Locking order: an agent's open conversations first (`_lock_chats`), then their staff row, as
everywhere in chatsvc.actions (conversations before staff), so two transactions cannot wait on
each other. `set_status` going offline and `expire_graces` take both, in that order; the other
actions here write one agent's connection rows and then their staff row, and lock no
conversation.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, delete, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc import notices
from chatsvc.actions.accounts import StaffView
from chatsvc.actions.conversation_state import ConversationStatus, Priority, Stage
from chatsvc.actions.conversations import (
    SYSTEM_AUTHOR,
    ConversationView,
    Draft,
    MessageView,
    append_drafts,
    iso_utc,
)
from chatsvc.db.models import AgentConnection, Conversation, Staff, StaffingHour
from chatsvc.errors import ChatError, Forbidden, NotFound
from chatsvc.i18n import translate

# An agent routing may give a chat to now: available, enabled, connected, and not in a grace
# period (they lost their connection and may not come back). Routing, transfers to an agent, the
# queue's estimated waits and "is anyone there?" all count the same agents.
ON_DUTY: ColumnElement[bool] = and_(
    Staff.status == "available",
    Staff.disabled.is_(False),
    Staff.grace_until.is_(None),
    exists().where(AgentConnection.staff_id == Staff.id),
)

# A conversation an agent answers now (with `assigned_staff_id` saying whose).
HELD: ColumnElement[bool] = and_(
    Conversation.status == ConversationStatus.OPEN, Conversation.stage == Stage.AGENT
)

log = logging.getLogger("chatsvc.presence")


Status = Literal["available", "away", "offline"]


STATUSES: tuple[Status, ...] = ("available", "away", "offline")


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
class Returned:
    """Conversations sent back to the queue (their agent went offline or was lost)."""

    staff_id: int
    conversations: list[ConversationView]
    messages: list[MessageView]


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
    notices.record(session, notices.PresenceChanged())
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
    notices.record(session, notices.PresenceChanged())
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
        notices.record(session, notices.PresenceChanged())
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
            state = await agent_state(session, staff_id)
            notices.record(session, notices.AgentStateChanged(staff_id, state.as_dict()))
    if returned:
        notices.record(session, notices.PresenceChanged())
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
    staff = await enabled_staff(session, staff_id)
    if staff.status != status:
        staff.status = status
        if status == "available":
            staff.idle_since = now
    await session.flush()
    state = await agent_state(session, staff_id)
    notices.record(
        session, notices.AgentStateChanged(staff_id, state.as_dict()), notices.PresenceChanged()
    )
    return state, back


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
    staff = await enabled_staff(session, staff_id)
    staff.max_chats = max_chats
    await session.flush()
    state = await agent_state(session, staff_id)
    notices.record(
        session, notices.AgentStateChanged(staff_id, state.as_dict()), notices.PresenceChanged()
    )
    return state


async def _lock_chats(session: AsyncSession, staff_id: int) -> list[Conversation]:
    """The agent's open chats, locked (conversations before staff, as everywhere)."""
    return list(
        await session.scalars(
            select(Conversation)
            .where(Conversation.assigned_staff_id == staff_id, HELD)
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
                SYSTEM_AUTHOR,
                translate(
                    conversation.language,
                    notice,
                    agent=conversation.agent_name or translate(conversation.language, "Your agent"),
                ),
                None,
                now,
            )
        )
        unassign(conversation)
        conversation.priority = min(conversation.priority, Priority.RETURNED)
    await session.flush()
    messages = await append_drafts(session, *drafts) if drafts else []
    views = []
    for conversation in conversations:
        await session.refresh(conversation)
        view = ConversationView.of(conversation)
        views.append(view)
        notices.record(
            session,
            notices.ConversationChanged(conversation.id, view.as_dict()),
            notices.Unassigned(conversation.id, staff_id, "returned"),
        )
    if views:
        log.info("staff %d: %d conversations back in the queue", staff_id, len(views))
    return Returned(staff_id, views, messages)


def unassign(conversation: Conversation) -> None:
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
    loads = await chat_loads(session, ids)
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


async def chat_loads(session: AsyncSession, staff_ids: Sequence[int]) -> dict[int, int]:
    rows = await session.execute(
        select(Conversation.assigned_staff_id, func.count())
        .where(Conversation.assigned_staff_id.in_(staff_ids), HELD)
        .group_by(Conversation.assigned_staff_id)
    )
    return {staff_id: count for staff_id, count in rows if staff_id is not None}


async def enabled_staff(session: AsyncSession, staff_id: int, *, lock: bool = False) -> Staff:
    statement = select(Staff).where(Staff.id == staff_id)
    if lock:
        statement = statement.with_for_update(of=Staff)
    staff = await session.scalar(statement.execution_options(populate_existing=True))
    if staff is None or staff.disabled:
        raise NotFound("There is no such staff member.")
    return staff


async def record_staffing(session: AsyncSession, *, now: datetime, zone: ZoneInfo) -> bool:
    """Count the agents on duty in `now`'s minute into its hour, unless a process already
    counted that minute; say whether this call counted it. The reports read the hours as agents
    available per weekday and hour."""
    minute = now.replace(second=0, microsecond=0)
    local = minute.astimezone(zone)
    hour_start = local.replace(minute=0).astimezone(UTC)
    on_duty = int(await session.scalar(select(func.count()).select_from(Staff).where(ON_DUTY)) or 0)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    new = insert(StaffingHour).values(
        hour_start=hour_start,
        weekday=local.weekday(),
        hour=local.hour,
        minutes=1,
        on_duty_sum=on_duty,
        last_minute=minute,
    )
    counted = await session.execute(
        new.on_conflict_do_update(
            index_elements=[StaffingHour.hour_start],
            set_={
                "minutes": StaffingHour.minutes + 1,
                "on_duty_sum": StaffingHour.on_duty_sum + on_duty,
                "last_minute": minute,
            },
            where=StaffingHour.last_minute < minute,
        )
    )
    return bool(getattr(counted, "rowcount", 0))
