"""Conversation actions on real SQLite and PostgreSQL sessions (no server)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions import conversations as actions
from chatsvc.actions.accounts import StaffView
from chatsvc.db.database import Database
from chatsvc.db.engine import check_schema, create_engine, upgrade
from chatsvc.db.models import Conversation, Message
from chatsvc.errors import ConversationEnded, Forbidden, InvalidToken, TokenExpired, Unavailable
from chatsvc.settings import Settings
from chatsvc.tokens import hash_token
from tests.databases import opened_database

NOW = datetime(2026, 11, 23, 17, 30, tzinfo=UTC)


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
    draft = actions.Draft(conversation_id, "resident", "Ana", text, client_id, NOW)
    return await db.run(actions.send_message, draft)


async def test_only_the_tokens_hash_is_stored(db: Database) -> None:
    started = await start(db)
    async with db.engine.connect() as conn:
        stored = await conn.scalar(select(Conversation.token_hash))
    assert stored == hash_token(started.token)
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
    assert (a.message.seq, b.message.seq, c.message.seq) == (2, 2, 3)  # 1 is the question
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
        after_seq=2,
        now=NOW,
        ttl=timedelta(hours=1),
    )
    assert [m.text for m in resumed.messages] == ["m1", "m2"]
    assert resumed.conversation.last_seq == 4


async def test_resume_refuses_unknown_and_expired_tokens(db: Database) -> None:
    started = await start(db)
    with pytest.raises(InvalidToken):
        await db.run(
            actions.resume_conversation, token="nope" * 8, after_seq=0, now=NOW, ttl=timedelta(1)
        )
    await db.run(
        actions.end_conversation,
        conversation_id=started.conversation.id,
        ended_by="resident",
        now=NOW,
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
    ended = await db.run(
        actions.end_conversation, conversation_id=cid, ended_by="resident", now=NOW
    )
    again = await db.run(
        actions.end_conversation, conversation_id=cid, ended_by="resident", now=NOW
    )
    assert len(ended.messages) == 1 and again.messages == []
    assert again.conversation.last_seq == 2
    with pytest.raises(ConversationEnded):
        await send(db, cid, "late", None)


async def test_read_marks_never_go_down_or_past_the_end(db: Database) -> None:
    started = await start(db)
    cid = started.conversation.id
    mark = actions.mark_read
    sue = StaffView(1, "sue", "Sue Park", "supervisor", False, 3, ())
    await send(db, cid, "second", None)
    assert await db.run(mark, conversation_id=cid, reader="staff", seq=1, by=sue) == 1
    assert await db.run(mark, conversation_id=cid, reader="staff", seq=50, by=sue) == 2
    assert await db.run(mark, conversation_id=cid, reader="staff", seq=0, by=sue) == 2
    tom = StaffView(2, "tom", "Tom", "agent", False, 3, ())
    with pytest.raises(Forbidden):  # not his chat: only its agent or a supervisor
        await db.run(mark, conversation_id=cid, reader="staff", seq=2, by=tom)
    assert await db.run(mark, conversation_id=cid, reader="resident", seq=1) == 1


async def test_upgrade_is_idempotent(tmp_path: Path) -> None:
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/twice.db"))

    async def schema() -> list[tuple[str, str]]:
        async with engine.connect() as connection:
            rows = await connection.execute(
                text("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
            )
            return [(name, sql) for name, sql in rows]

    async def revision() -> str:
        async with engine.connect() as connection:
            return str(await connection.scalar(text("SELECT version_num FROM alembic_version")))

    try:
        await upgrade(engine)
        once, at = await schema(), await revision()
        await upgrade(engine)
        assert await schema() == once, "a second upgrade changed the schema"
        assert await revision() == at
        await check_schema(engine)  # at the code's head revision: the service would start
        assert any(name == "conversations" for name, _ in once)
    finally:
        await engine.dispose()


async def test_one_batch_serves_many_conversations_in_order(db: Database) -> None:
    ana, ben = await start(db), await start(db, name="Ben")
    ended = await start(db, name="Cy")
    await db.run(
        actions.end_conversation,
        conversation_id=ended.conversation.id,
        ended_by="resident",
        now=NOW,
    )
    a, b, c = ana.conversation.id, ben.conversation.id, ended.conversation.id

    def draft(conversation_id: int, text: str, client_id: str | None) -> actions.Draft:
        return actions.Draft(conversation_id, "resident", "R", text, client_id, NOW)

    outcomes = await db.run(
        actions.append_messages,
        [
            draft(a, "a1", "id-1"),
            draft(b, "b1", "id-1"),  # the same client id in another conversation is another message
            draft(c, "to an ended chat", "id-2"),
            draft(a, "a1 again", "id-1"),  # a resend within the batch
            draft(9999, "nowhere", None),
            draft(a, "a2", None),
        ],
    )
    sent = [o for o in outcomes if isinstance(o, actions.Sent)]
    assert [(o.message.text, o.message.seq, o.duplicate) for o in sent] == [
        ("a1", 2, False),
        ("b1", 2, False),
        ("a1", 2, True),
        ("a2", 3, False),
    ]
    assert sent[0].message == sent[2].message
    assert isinstance(outcomes[2], ConversationEnded)
    assert isinstance(outcomes[4], ConversationEnded)

    resumed = await db.run(
        actions.resume_conversation, token=ana.token, after_seq=0, now=NOW, ttl=timedelta(days=1)
    )
    assert [m.seq for m in resumed.messages] == [1, 2, 3]
    assert resumed.conversation.last_seq == 3
    again = await db.run(actions.append_messages, [draft(a, "a1 once more", "id-1")])
    assert again == [actions.Sent(sent[0].message, duplicate=True)]


async def test_concurrent_senders_share_commits_and_keep_seq_gapless(db: Database) -> None:
    conversations = [(await start(db, name=f"R{n}")).conversation.id for n in range(5)]
    drafts = [
        actions.Draft(cid, "resident", "R", f"{cid}:{n}", f"{cid}-{n}", NOW)
        for n in range(40)
        for cid in conversations
    ]
    sent = await asyncio.gather(*(db.run_batched(actions.append_messages, d) for d in drafts))
    assert all(not s.duplicate for s in sent)
    for cid in conversations:
        seqs = [s.message.seq for s in sent if s.message.conversation_id == cid]
        assert seqs == list(range(2, 42)), "each conversation's messages are numbered in order"
    with pytest.raises(ConversationEnded):
        await db.run_batched(
            actions.append_messages, actions.Draft(9999, "resident", "R", "x", None, NOW)
        )


async def test_two_processes_writing_one_conversation_never_share_a_seq(
    postgresql_db: Database,
) -> None:
    # Two Database objects stand in for two service processes on one PostgreSQL.
    conversation_id = (await start(postgresql_db)).conversation.id
    async with opened_database(postgresql_db.settings.database_url) as other:
        drafts = [
            actions.Draft(conversation_id, "resident", "Ana", f"m{n}", f"id-{n}", NOW)
            for n in range(60)
        ]
        sent = await asyncio.gather(
            *(
                (postgresql_db if n % 2 else other).run_batched(actions.append_messages, d)
                for n, d in enumerate(drafts)
            )
        )
    assert sorted(s.message.seq for s in sent) == list(range(2, 62))


async def test_a_failed_batch_fails_its_callers_and_the_next_batch_runs(
    sqlite_db: Database,
) -> None:
    calls: list[list[int]] = []

    async def flaky(session: object, items: Sequence[int]) -> list[int | Exception]:
        calls.append(list(items))
        if len(calls) == 1:
            raise OSError("database gone")
        return [n * 10 if n >= 0 else ValueError(f"bad {n}") for n in items]

    first = await asyncio.gather(sqlite_db.run_batched(flaky, 1), return_exceptions=True)
    assert isinstance(first[0], OSError)
    results = await asyncio.gather(
        *(sqlite_db.run_batched(flaky, n) for n in (2, -1, 3)), return_exceptions=True
    )
    assert results[0] == 20 and results[2] == 30
    assert isinstance(results[1], ValueError), "one item's error stays with that item"
    assert sum(len(c) for c in calls) == 4


async def test_closing_the_database_finishes_the_batch_in_progress_and_refuses_the_rest(
    tmp_path: Path,
) -> None:
    async with opened_database(f"sqlite+aiosqlite:///{tmp_path}/close.db") as database:
        entered, release = asyncio.Event(), asyncio.Event()

        async def slow(session: object, items: Sequence[int]) -> list[int | Exception]:
            entered.set()
            await release.wait()
            return [n * 10 for n in items]

        in_progress = asyncio.create_task(database.run_batched(slow, 1))
        await asyncio.wait_for(entered.wait(), 5)
        queued = [asyncio.create_task(database.run_batched(slow, n)) for n in (2, 3)]
        closing = asyncio.create_task(database.close())
        await asyncio.sleep(0)  # a turn of the loop: close() starts, and waits for the batch
        assert not closing.done()

        async def late(session: object) -> int:
            return 1

        # Work that starts now would open the pool anew behind close's back: refused.
        with pytest.raises(Unavailable):
            await database.run(late)
        with pytest.raises(Unavailable):
            await database.run_batched(slow, 5)
        release.set()
        await asyncio.wait_for(closing, 5)
        assert await in_progress == 10, "a batch in progress is finished and answered"
        results = await asyncio.gather(*queued, return_exceptions=True)
        assert all(isinstance(r, Unavailable) for r in results), results
        with pytest.raises(Unavailable):
            await database.run_batched(slow, 4)
        with pytest.raises(Unavailable):
            await database.run(late)


async def test_closing_the_database_gives_a_stuck_batch_up(tmp_path: Path) -> None:
    async with opened_database(f"sqlite+aiosqlite:///{tmp_path}/close.db") as database:
        database.close_wait_seconds = 0.2
        entered, never = asyncio.Event(), asyncio.Event()

        async def stuck(session: object, items: Sequence[int]) -> list[int | Exception]:
            entered.set()
            await never.wait()
            return list(items)

        waiting = [asyncio.create_task(database.run_batched(stuck, n)) for n in range(3)]
        await asyncio.wait_for(entered.wait(), 5)
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert all(isinstance(r, Unavailable) for r in results), results


async def test_a_start_sent_again_is_the_same_chat_only_soon_and_from_the_same_address(
    db: Database,
) -> None:
    first = await start(db, client_id="start-1", sender_key="home")
    soon = await start(
        db, client_id="start-1", sender_key="home", now=NOW + actions.START_RETRY_WINDOW
    )
    assert soon.retried and soon.conversation.id == first.conversation.id
    assert soon.token != first.token
    # From another address the client id opens nothing of anyone's: a new chat.
    elsewhere = await start(db, client_id="start-1", sender_key="office")
    assert not elsewhere.retried and elsewhere.conversation.id != first.conversation.id
    # Later than the window: a new chat too.
    late = await start(
        db,
        client_id="start-1",
        sender_key="home",
        now=NOW + actions.START_RETRY_WINDOW + timedelta(seconds=1),
    )
    assert not late.retried and late.conversation.id not in (
        first.conversation.id,
        elsewhere.conversation.id,
    )


async def test_a_cancelled_caller_leaves_its_transaction_to_finish(db: Database) -> None:
    """A caller that goes (a client leaving, a request cut at shutdown) must not cut its
    transaction short: cancelled mid-statement, an asyncpg connection can go back to the pool
    still busy, and its next user fails. The transaction commits; close waits for it."""
    entered, release = asyncio.Event(), asyncio.Event()

    async def start_then_wait(session: AsyncSession) -> actions.Started:
        started = await actions.start_conversation(
            session,
            name="Ana",
            email="ana@example.com",
            question="Cancelled?",
            client_id=None,
            now=NOW,
        )
        entered.set()
        await release.wait()
        await session.execute(text("SELECT 1"))  # the same connection, after the cancel
        return started

    caller = asyncio.create_task(db.run(start_then_wait))
    await asyncio.wait_for(entered.wait(), 5)
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    release.set()
    await asyncio.wait_for(db.close(), 5)  # waits for the transaction
    await db.open()

    async def questions(session: AsyncSession) -> list[str]:
        return list(await session.scalars(select(Message.body).where(Message.seq == 1)))

    assert await db.run(questions) == ["Cancelled?"]


async def test_the_migrations_make_exactly_the_models_schema(db: Database) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from chatsvc.db.models import Base

    async with db.engine.connect() as conn:
        diff = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
        )
    assert diff == [], "a model changed without a migration (or the other way round)"
