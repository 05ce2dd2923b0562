"""Whether a chat's resident is there: online, away (every tab of theirs hidden) or left.

Each of the resident's connections (a tab) that joined the conversation is a row, written by
the process that holds it, so that every process sees the same. A resident with several tabs
has left only when the last one goes. A process refreshes its rows (`resident_heartbeat`);
rows a process stopped refreshing belong to a dead process and are dropped.

Staff hear of a change (`ResidentPresenceChanged`), and when a connection goes, that the
resident stopped typing: a tab closed mid-word never sends `typing: false` itself.

When the last connection goes the conversation keeps the time (`resident_left_at`, cleared when
one comes back): `gone_since` finds the conversations whose resident has been away since before
a time, for whatever should happen to a chat its resident left (the queue's abandon sweep).

Locking order: the conversation row first (as everywhere in chatsvc.actions), then its
connection rows; two tabs leaving at once are taken one after the other, so the last one's
transaction sees the chat empty and says so.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc import notices
from chatsvc.actions.chat_views import ResidentPresence, resident_presences
from chatsvc.db.models import Conversation, ResidentConnection


async def resident_joined(
    session: AsyncSession,
    *,
    conversation_id: int,
    server_id: str,
    sid: str,
    visible: bool,
    now: datetime,
) -> ResidentPresence:
    """Record a resident's connection to their conversation (a connection that moves leaves the
    conversation it was in; one that resumes it again only says whether it is shown)."""
    if await _conversation_of(session, server_id, sid) == conversation_id:
        return (
            await resident_visibility(session, server_id=server_id, sid=sid, visible=visible)
            or "left"
        )
    await resident_gone(session, server_id=server_id, sid=sid, now=now)
    conversation, before = await _lock(session, conversation_id)
    session.add(
        ResidentConnection(
            server_id=server_id,
            sid=sid,
            conversation_id=conversation_id,
            visible=visible,
            connected_at=now,
            seen_at=now,
        )
    )
    await session.flush()
    return await _tell(session, conversation, before, now)


async def resident_visibility(
    session: AsyncSession, *, server_id: str, sid: str, visible: bool
) -> ResidentPresence | None:
    """A resident's tab was shown or hidden; None if the connection is in no conversation."""
    conversation_id = await _conversation_of(session, server_id, sid)
    if conversation_id is None:
        return None
    conversation, before = await _lock(session, conversation_id)
    await session.execute(
        update(ResidentConnection)
        .where(ResidentConnection.server_id == server_id, ResidentConnection.sid == sid)
        .values(visible=visible)
    )
    return await _tell(session, conversation, before)


async def resident_gone(
    session: AsyncSession, *, server_id: str, sid: str, now: datetime
) -> ResidentPresence | None:
    """Forget a resident's connection; None if it was in no conversation."""
    conversation_id = await _conversation_of(session, server_id, sid)
    if conversation_id is None:
        return None
    conversation, before = await _lock(session, conversation_id)
    await session.execute(
        delete(ResidentConnection).where(
            ResidentConnection.server_id == server_id, ResidentConnection.sid == sid
        )
    )
    _stopped_typing(session, conversation)
    return await _tell(session, conversation, before, now)


async def resident_heartbeat(
    session: AsyncSession, *, server_id: str, now: datetime, stale_after: timedelta
) -> list[int]:
    """Mark this process's resident connections alive; drop those of processes that stopped.

    Returns the conversations that lost a connection that way."""
    await session.execute(
        update(ResidentConnection)
        .where(ResidentConnection.server_id == server_id)
        .values(seen_at=now)
    )
    stale = ResidentConnection.seen_at < now - stale_after
    return await _drop(session, stale, now)


async def forget_resident_connections_of_other_servers(
    session: AsyncSession, *, server_id: str, now: datetime
) -> list[int]:
    """On the embedded default one process is the whole service: older connections are dead."""
    return await _drop(session, ResidentConnection.server_id != server_id, now)


def resident_gone_since(before: datetime) -> ColumnElement[bool]:
    """Conversations whose resident has had no connection since before `before`."""
    return and_(
        Conversation.resident_left_at.is_not(None),
        Conversation.resident_left_at < before,
        ~exists().where(ResidentConnection.conversation_id == Conversation.id),
    )


async def gone_since(
    session: AsyncSession,
    *,
    before: datetime,
    where: ColumnElement[bool] | None = None,
    limit: int = 100,
) -> list[int]:
    """The conversations (also matching `where`) whose resident left before `before`, oldest
    departure first. Nothing is locked: an action on them locks each and checks again."""
    condition = resident_gone_since(before)
    if where is not None:
        condition = and_(where, condition)
    return list(
        await session.scalars(
            select(Conversation.id)
            .where(condition)
            .order_by(Conversation.resident_left_at, Conversation.id)
            .limit(limit)
        )
    )


async def _drop(session: AsyncSession, which: ColumnElement[bool], now: datetime) -> list[int]:
    conversation_ids = sorted(
        set(await session.scalars(select(ResidentConnection.conversation_id).where(which)))
    )
    for conversation_id in conversation_ids:
        conversation, before = await _lock(session, conversation_id)
        await session.execute(
            delete(ResidentConnection).where(
                ResidentConnection.conversation_id == conversation_id,
                which,
            )
        )
        _stopped_typing(session, conversation)
        await _tell(session, conversation, before, now)
    return conversation_ids


async def _conversation_of(session: AsyncSession, server_id: str, sid: str) -> int | None:
    return await session.scalar(
        select(ResidentConnection.conversation_id).where(
            ResidentConnection.server_id == server_id, ResidentConnection.sid == sid
        )
    )


async def _lock(
    session: AsyncSession, conversation_id: int
) -> tuple[Conversation, ResidentPresence]:
    """The conversation, locked, and its resident's presence before the change."""
    conversation = await session.scalar(
        select(Conversation)
        .where(Conversation.id == conversation_id)
        .with_for_update(of=Conversation)
        .execution_options(populate_existing=True)
    )
    assert conversation is not None  # connection rows reference it; conversations stay
    return conversation, await _presence(session, conversation.id)


async def _presence(session: AsyncSession, conversation_id: int) -> ResidentPresence:
    return (await resident_presences(session, [conversation_id])).get(conversation_id, "left")


async def _tell(
    session: AsyncSession,
    conversation: Conversation,
    before: ResidentPresence,
    now: datetime | None = None,
) -> ResidentPresence:
    """Tell staff of a change of presence; keep when the resident left (`now`, if given)."""
    await session.flush()
    now_there = await _presence(session, conversation.id)
    if now is not None:
        if now_there != "left":
            conversation.resident_left_at = None
        elif conversation.resident_left_at is None:
            conversation.resident_left_at = now
        await session.flush()
    if now_there != before:
        notices.record(
            session,
            notices.ResidentPresenceChanged(
                conversation.id,
                {"conversation_id": conversation.id, "presence": now_there},
                conversation.assigned_staff_id,
            ),
        )
    return now_there


def _stopped_typing(session: AsyncSession, conversation: Conversation) -> None:
    """Staff stop showing "typing…": a tab that went cannot say so itself."""
    notices.record(
        session,
        notices.Typing(
            conversation.id,
            {
                "conversation_id": conversation.id,
                "author_kind": "resident",
                "author_name": conversation.resident.name,
                "typing": False,
            },
            conversation.assigned_staff_id,
            to_resident=False,
        ),
    )
