"""Routing actions called directly on a real database (SQLite and PostgreSQL): no server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions import handling, presence, queue
from chatsvc.actions.accounts import StaffView
from chatsvc.actions.conversation_state import Priority
from chatsvc.actions.conversations import start_conversation
from chatsvc.db.database import Database
from chatsvc.db.models import Conversation, Message, Staff
from chatsvc.errors import AgentUnavailable, ChatError
from tests.conftest import add_staff_member

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # a Monday, 10 a.m. in Pasadena
STREETS = "Street Maintenance"
WATER = "Water"
SERVER = "test-server"
GRACE = timedelta(seconds=60)


async def on_duty(
    db: Database,
    username: str,
    *,
    workgroups: tuple[str, ...] = (),
    max_chats: int = 3,
    idle_since: datetime = NOW,
) -> int:
    """An agent signed in, connected and available since `idle_since`."""
    staff_id, _ = await add_staff_member(
        db, username, workgroups=workgroups, max_chats=max_chats, now=idle_since
    )
    await db.run(
        presence.agent_connected,
        staff_id=staff_id,
        server_id=SERVER,
        sid=f"sid-{username}",
        now=idle_since,
    )
    await db.run(presence.set_status, staff_id=staff_id, status="available", now=idle_since)
    return staff_id


async def waiting(
    db: Database,
    n: int,
    *,
    workgroup: str | None = None,
    queued_at: datetime = NOW,
    priority: int = 2,
    workgroup_only: bool = False,
) -> int:
    """A conversation the assistant handed over: in the queue since `queued_at`."""
    started = await db.run(
        start_conversation,
        name=f"Resident {n}",
        email=f"r{n}@example.com",
        question=f"Question {n}",
        client_id=None,
        now=queued_at,
    )
    cid = started.conversation.id
    await db.run(
        _set,
        Conversation,
        cid,
        stage="waiting",
        queued_at=queued_at,
        priority=priority,
        workgroup=workgroup,
        workgroup_only=workgroup_only,
    )
    return cid


async def held_by(db: Database, staff_id: int, n: int, *, at: datetime = NOW) -> int:
    """A conversation an agent already holds."""
    cid = await waiting(db, n, queued_at=at)
    await db.run(
        _set,
        Conversation,
        cid,
        stage="agent",
        assigned_staff_id=staff_id,
        assigned_at=at,
        agent_name="Pat",
    )
    return cid


async def _set(session: AsyncSession, model: Any, row_id: int, **values: Any) -> None:
    await session.execute(update(model).where(model.id == row_id).values(**values))


async def _conversation(session: AsyncSession, cid: int) -> Conversation:
    found = await session.get(Conversation, cid)
    assert found is not None
    return found


async def _staff_view(session: AsyncSession, staff_id: int) -> StaffView:
    staff = await session.get(Staff, staff_id)
    assert staff is not None
    return StaffView.of(staff)


async def _system_texts(session: AsyncSession, cid: int) -> list[str]:
    rows = await session.scalars(
        select(Message.body)
        .where(Message.conversation_id == cid, Message.author_kind == "system")
        .order_by(Message.seq)
    )
    return list(rows)


def given(assignments: list[queue.Assignment]) -> dict[int, int]:
    return {a.conversation.id: a.staff_id for a in assignments}


# --- drain_queue: who gets a waiting conversation -----------------------------------------------


async def test_drain_gives_the_workgroups_least_loaded_agent(db: Database) -> None:
    busy = await on_duty(db, "busy", workgroups=(STREETS,), idle_since=NOW - timedelta(hours=2))
    free = await on_duty(db, "free", workgroups=(STREETS,))
    # Idle longest and holding nothing, but of another workgroup: only the fallback.
    await on_duty(db, "other", workgroups=(WATER,), idle_since=NOW - timedelta(hours=3))
    await held_by(db, busy, 1)
    cid = await waiting(db, 2, workgroup=STREETS)

    assignments = await db.run(queue.drain_queue, now=NOW)

    assert given(assignments) == {cid: free}
    (assignment,) = assignments
    assert assignment.chat.assigned_staff_id == free
    assert assignment.conversation.stage == "agent"
    assert [m.text for m in assignment.messages] == ["Free joined the chat."]


async def test_drain_breaks_a_tie_for_the_agent_idle_longest(db: Database) -> None:
    # Created first (lower id), but idle for less time than the second.
    await on_duty(db, "recent", workgroups=(STREETS,), idle_since=NOW - timedelta(minutes=1))
    longest = await on_duty(
        db, "longest", workgroups=(STREETS,), idle_since=NOW - timedelta(minutes=20)
    )
    cid = await waiting(db, 1, workgroup=STREETS)

    assert given(await db.run(queue.drain_queue, now=NOW)) == {cid: longest}


async def test_emergencies_jump_the_queue(db: Database) -> None:
    await on_duty(db, "solo", max_chats=1)
    older = await waiting(db, 1, queued_at=NOW - timedelta(minutes=10))
    emergency = await waiting(
        db, 2, queued_at=NOW - timedelta(minutes=1), priority=Priority.EMERGENCY
    )
    newer = await waiting(db, 3, queued_at=NOW - timedelta(minutes=5))

    entries, total = await db.run(queue.queue_view, now=NOW)
    assert total == 3
    assert [(e.chat.id, e.position) for e in entries] == [(emergency, 1), (older, 2), (newer, 3)]
    assert entries[0].chat.as_dict()["emergency"] is True

    # One free slot: the emergency takes it, though it came last.
    assert list(given(await db.run(queue.drain_queue, now=NOW))) == [emergency]
    entries, total = await db.run(queue.queue_view, now=NOW)
    assert total == 2 and [e.chat.id for e in entries] == [older, newer]


async def test_an_agent_at_capacity_is_skipped(db: Database) -> None:
    full = await on_duty(db, "full", workgroups=(STREETS,), max_chats=1)
    await held_by(db, full, 1)
    anyone = await on_duty(db, "anyone", workgroups=(WATER,))
    cid = await waiting(db, 2, workgroup=STREETS)

    assert given(await db.run(queue.drain_queue, now=NOW)) == {cid: anyone}


async def test_a_chat_for_its_workgroup_only_waits_for_that_workgroup(db: Database) -> None:
    full = await on_duty(db, "full", workgroups=(STREETS,), max_chats=1)
    held = await held_by(db, full, 1)
    await on_duty(db, "other", workgroups=(WATER,))
    cid = await waiting(db, 2, workgroup=STREETS, workgroup_only=True)

    assert await db.run(queue.drain_queue, now=NOW) == []
    assert (await db.run(_conversation, cid)).stage == "waiting"

    # The workgroup's agent frees a slot: now the chat is theirs.
    await db.run(
        handling.close_chat,
        by=await db.run(_staff_view, full),
        conversation_id=held,
        disposition="resolved",
        now=NOW,
    )
    assert given(await db.run(queue.drain_queue, now=NOW)) == {cid: full}


# --- handling: transfers, idle close ------------------------------------------------------------


async def test_a_transfer_to_a_workgroup_puts_the_chat_in_its_queue(db: Database) -> None:
    first = await on_duty(db, "first", workgroups=(STREETS,))
    water = await on_duty(db, "water", workgroups=(WATER,), idle_since=NOW - timedelta(hours=1))
    # Idle longer and holding nothing: would get the chat if it were not for Water only.
    await on_duty(db, "idle", workgroups=(STREETS,), idle_since=NOW - timedelta(hours=2))
    await held_by(db, water, 1)
    cid = await held_by(db, first, 2)
    by = await db.run(_staff_view, first)

    with pytest.raises(ChatError):
        await db.run(
            handling.transfer,
            by=by,
            conversation_id=cid,
            to_staff_id=None,
            to_workgroup="Nobody Here",
            note="Who?",
            now=NOW,
        )
    moved = await db.run(
        handling.transfer,
        by=by,
        conversation_id=cid,
        to_staff_id=None,
        to_workgroup=WATER,
        note="Leak at 100 N Garfield Ave.",
        now=NOW,
    )

    assert moved.assignment is None and moved.from_staff_id == first
    assert moved.conversation.stage == "waiting"
    assert moved.note.kind == "transfer" and moved.note.text == "Leak at 100 N Garfield Ave."
    conversation = await db.run(_conversation, cid)
    assert conversation.workgroup == WATER and conversation.workgroup_only
    assert conversation.assigned_staff_id is None
    assert conversation.priority == Priority.RETURNED
    assert "colleague who can help" in moved.messages[0].text
    assert given(await db.run(queue.drain_queue, now=NOW)) == {cid: water}


async def test_idle_conversations_close_and_waiting_ones_keep_their_place(db: Database) -> None:
    agent = await on_duty(db, "agent")
    long_ago = NOW - timedelta(minutes=31)
    idle = await held_by(db, agent, 1, at=long_ago)
    await db.run(_set, Conversation, idle, updated_at=long_ago)
    recent = await held_by(db, agent, 2, at=NOW - timedelta(minutes=5))
    queued = await waiting(db, 3, queued_at=long_ago)
    await db.run(_set, Conversation, queued, updated_at=long_ago)
    # A chat only the assistant answered: closed too, with no agent's outcome.
    assistant_only = await waiting(db, 4, queued_at=long_ago)
    await db.run(_set, Conversation, assistant_only, stage="assistant", updated_at=long_ago)

    ended = await db.run(handling.close_idle, now=NOW, idle_after=timedelta(minutes=30))

    assert [e.conversation.id for e in ended] == [idle, assistant_only]
    assert ended[0].assigned_staff_id == agent
    closed = await db.run(_conversation, idle)
    assert (closed.status, closed.ended_by, closed.disposition) == ("ended", "idle", "no_response")
    contained = await db.run(_conversation, assistant_only)
    assert (contained.status, contained.ended_by, contained.disposition) == ("ended", "idle", None)
    assert "closed after 30 minutes without a message" in ended[0].messages[0].text
    assert (await db.run(_conversation, recent)).status == "open"
    assert (await db.run(_conversation, queued)).stage == "waiting"
    # Closing again finds nothing more.
    assert await db.run(handling.close_idle, now=NOW, idle_after=timedelta(minutes=30)) == []


async def test_the_notices_of_a_spanish_chat_are_in_spanish(db: Database) -> None:
    """Idle close, an agent's join, being sent back and the agent's close: the chat's language."""
    agent = await on_duty(db, "agent")
    long_ago = NOW - timedelta(minutes=31)
    idle = await held_by(db, agent, 1, at=long_ago)
    await db.run(_set, Conversation, idle, updated_at=long_ago, language="es")
    (ended,) = await db.run(handling.close_idle, now=NOW, idle_after=timedelta(minutes=30))
    assert ended.messages[0].text == (
        "Este chat se cerró después de 30 minutos sin mensajes. Puede iniciar un chat nuevo "
        "cuando quiera."
    )

    cid = await waiting(db, 2)
    await db.run(_set, Conversation, cid, language="es")
    (assignment,) = await db.run(queue.drain_queue, now=NOW)
    (joined,) = assignment.messages
    assert (joined.text, joined.notice) == ("Agent se unió al chat.", "joined")
    by = await db.run(_staff_view, agent)
    closed = await db.run(
        handling.close_chat, by=by, conversation_id=cid, disposition="resolved", now=NOW
    )
    assert closed.messages[0].text == (
        "Agent terminó el chat. Gracias por comunicarse con la Ciudad. Puede iniciar un chat "
        "nuevo cuando quiera."
    )


# --- presence: the grace period -------------------------------------------------------------------


async def test_after_the_grace_period_chats_go_back_to_the_front_of_the_queue(
    db: Database,
) -> None:
    lost = await on_duty(db, "lost")
    first, second = await held_by(db, lost, 1), await held_by(db, lost, 2)
    in_line = await waiting(db, 3, queued_at=NOW - timedelta(minutes=30))
    state = await db.run(
        presence.agent_disconnected, server_id=SERVER, sid="sid-lost", now=NOW, grace=GRACE
    )
    assert state is not None and state.grace_until == NOW + GRACE and not state.connected

    # Within the grace period nothing changes.
    assert await db.run(presence.expire_graces, now=NOW + GRACE - timedelta(seconds=1)) == []
    assert (await db.run(_conversation, first)).assigned_staff_id == lost

    (back,) = await db.run(presence.expire_graces, now=NOW + GRACE)
    assert back.staff_id == lost
    assert sorted(c.id for c in back.conversations) == [first, second]
    assert all(c.stage == "waiting" for c in back.conversations)
    me = await db.run(presence.agent_state, lost)
    assert me.status == "offline" and me.grace_until is None and me.active_chats == 0
    entries, _ = await db.run(queue.queue_view, now=NOW + GRACE)
    assert [e.chat.id for e in entries] == [first, second, in_line]
    assert "lost their connection" in (await db.run(_system_texts, first))[-1]
    # Expired once: a second sweep returns nothing more.
    assert await db.run(presence.expire_graces, now=NOW + GRACE) == []


async def test_an_agent_in_their_grace_period_is_not_on_duty(db: Database) -> None:
    """Lost connection, grace running: no new chat, not counted as available, nor in waits."""
    lost = await on_duty(db, "lost")
    await db.run(
        presence.agent_disconnected, server_id=SERVER, sid="sid-lost", now=NOW, grace=GRACE
    )
    cid = await waiting(db, 1)

    assert await db.run(queue.drain_queue, now=NOW) == []
    seen = await db.run(queue.availability, now=NOW)
    assert (seen.agents_available, seen.waiting, seen.estimated_wait_seconds) == (0, 1, None)
    (entry,) = (await db.run(queue.queue_view, now=NOW))[0]
    assert entry.chat.id == cid and entry.estimated_wait_seconds is None
    # Nor can a colleague hand them a chat directly.
    colleague = await on_duty(db, "colleague")
    held = await held_by(db, colleague, 2)
    with pytest.raises(AgentUnavailable):
        await db.run(
            handling.transfer,
            by=await db.run(_staff_view, colleague),
            conversation_id=held,
            to_staff_id=lost,
            to_workgroup=None,
            note="Over to you.",
            now=NOW,
        )
    assert (await db.run(_conversation, held)).assigned_staff_id == colleague


async def test_every_use_of_on_duty_leaves_out_an_agent_whose_grace_has_started(
    db: Database,
) -> None:
    """A connection recorded while the grace period is set still leaves the agent off duty.

    The state a reconnect racing a disconnect on another process can leave: the grace is what
    `expire_graces` acts on, so the agent is on their way offline. Routing never gives them a
    chat, so the queue's estimated waits must not count their slots either (they once did).
    """
    leaving = await on_duty(db, "leaving", max_chats=3)
    await db.run(_set, Staff, leaving, grace_until=NOW + GRACE)
    cid = await waiting(db, 1)

    assert await db.run(queue.drain_queue, now=NOW) == []
    seen = await db.run(queue.availability, now=NOW)
    assert (seen.agents_available, seen.estimated_wait_seconds) == (0, None)
    (entry,) = (await db.run(queue.queue_view, now=NOW))[0]
    assert entry.estimated_wait_seconds is None

    # With a colleague on duty, the wait is counted on the colleague's slots alone:
    # no history yet, so 6 minutes a chat over 2 slots is 180 s for the first in line.
    colleague = await on_duty(db, "colleague", max_chats=2)
    await held_by(db, colleague, 2)
    await held_by(db, colleague, 3)
    (entry,) = (await db.run(queue.queue_view, now=NOW))[0]
    assert entry.chat.id == cid and entry.estimated_wait_seconds == 180
    seen = await db.run(queue.availability, now=NOW)
    assert (seen.agents_available, seen.estimated_wait_seconds) == (1, 360)
