"""Conversation actions on a real SQLite session (no server)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from chatsvc import conversations as actions
from chatsvc.db import create_engine, upgrade
from chatsvc.errors import ConversationEnded, InvalidToken, TokenExpired
from chatsvc.models import Conversation
from chatsvc.settings import Settings
from chatsvc.transport.state import Database

NOW = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/unit.db"))
    await database.open()
    yield database
    await database.close()


async def start(db: Database, **changes: object) -> actions.Started:
    values: dict[str, object] = {
        "name": "Ana",
        "email": "ana@example.com",
        "question": "Hi",
        "client_id": None,
        "now": NOW,
    }
    values.update(changes)
    return await db.run(actions.start_conversation, **values)


async def send(
    db: Database, conversation_id: int, text: str, client_id: str | None
) -> actions.Sent:
    return await db.run(
        actions.send_message,
        conversation_id=conversation_id,
        author_kind="resident",
        author_name="Ana",
        text=text,
        client_id=client_id,
        now=NOW,
    )


async def test_only_the_tokens_hash_is_stored(db: Database) -> None:
    started = await start(db)
    async with db.engine.connect() as conn:
        stored = await conn.scalar(select(Conversation.token_hash))
    assert stored == actions.hash_token(started.token)
    assert started.token not in (stored or "")


async def test_tokens_are_unique_and_long(db: Database) -> None:
    tokens = {(await start(db)).token for _ in range(20)}
    assert len(tokens) == 20
    assert all(len(token) >= 40 for token in tokens)


async def test_seq_counts_up_per_conversation(db: Database) -> None:
    one = await start(db)
    two = await start(db)
    a = await send(db, one.conversation.id, "a", "client-0001")
    b = await send(db, two.conversation.id, "b", "client-0001")  # same id, other conversation
    c = await send(db, one.conversation.id, "c", None)
    assert (a.message.seq, b.message.seq, c.message.seq) == (3, 3, 4)
    assert not b.duplicate


async def test_a_resent_client_id_returns_the_stored_message(db: Database) -> None:
    started = await start(db)
    first = await send(db, started.conversation.id, "hello", "client-0002")
    again = await send(db, started.conversation.id, "hello edited", "client-0002")
    assert again.duplicate and again.message == first.message


async def test_resume_returns_what_came_after_the_given_seq(db: Database) -> None:
    started = await start(db)
    for n in range(3):
        await send(db, started.conversation.id, f"m{n}", None)
    resumed = await db.run(
        actions.resume_conversation,
        token=started.token,
        after_seq=3,
        now=NOW,
        ttl=timedelta(hours=1),
    )
    assert [m.text for m in resumed.messages] == ["m1", "m2"]
    assert resumed.conversation.last_seq == 5


async def test_resume_refuses_unknown_and_expired_tokens(db: Database) -> None:
    started = await start(db)
    with pytest.raises(InvalidToken):
        await db.run(
            actions.resume_conversation, token="nope" * 8, after_seq=0, now=NOW, ttl=timedelta(1)
        )
    await db.run(
        actions.end_conversation, conversation_id=started.conversation.id, ended_by="x", now=NOW
    )
    later = NOW + timedelta(days=1, seconds=1)
    with pytest.raises(TokenExpired):
        await db.run(
            actions.resume_conversation,
            token=started.token,
            after_seq=0,
            now=later,
            ttl=timedelta(days=1),
        )


async def test_an_open_conversation_never_expires(db: Database) -> None:
    started = await start(db)
    resumed = await db.run(
        actions.resume_conversation,
        token=started.token,
        after_seq=0,
        now=NOW + timedelta(days=365),
        ttl=timedelta(hours=1),
    )
    assert resumed.conversation.status == "open"


async def test_ending_twice_adds_one_message_and_blocks_sending(db: Database) -> None:
    started = await start(db)
    cid = started.conversation.id
    ended = await db.run(actions.end_conversation, conversation_id=cid, ended_by="x", now=NOW)
    again = await db.run(actions.end_conversation, conversation_id=cid, ended_by="x", now=NOW)
    assert len(ended.messages) == 1 and again.messages == []
    assert again.conversation.last_seq == 3
    with pytest.raises(ConversationEnded):
        await send(db, cid, "late", None)


async def test_read_marks_never_go_down_or_past_the_end(db: Database) -> None:
    started = await start(db)
    cid = started.conversation.id
    mark = actions.mark_read
    assert await db.run(mark, conversation_id=cid, reader="staff", seq=1) == 1
    assert await db.run(mark, conversation_id=cid, reader="staff", seq=50) == 2
    assert await db.run(mark, conversation_id=cid, reader="staff", seq=0) == 2
    assert await db.run(mark, conversation_id=cid, reader="resident", seq=1) == 1


async def test_upgrade_is_idempotent(tmp_path: Path) -> None:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/twice.db"))
    await upgrade(engine)
    await upgrade(engine)
    await engine.dispose()
