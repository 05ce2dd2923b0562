"""Notices: what a transaction records is published after it commits, and only then."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc import notices
from chatsvc.actions import conversations as actions
from chatsvc.db.database import Database
from chatsvc.db.models import Conversation
from tests.conftest import LogErrors

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


class Heard:
    """A publisher that keeps what it was handed, batch by batch."""

    def __init__(self) -> None:
        self.batches: list[list[notices.Notice]] = []

    async def __call__(self, published: Sequence[notices.Notice]) -> None:
        self.batches.append(list(published))

    def kinds(self) -> list[str]:
        return [type(n).__name__ for batch in self.batches for n in batch]


@pytest.fixture
def heard(db: Database) -> Heard:
    heard = Heard()
    db.publish = heard
    return heard


async def start(db: Database) -> actions.Started:
    return await db.run(
        actions.start_conversation,
        name="Ana",
        email="ana@example.com",
        question="Where do I pay a parking ticket?",
        client_id="start-0001",
        now=NOW,
    )


async def test_a_message_is_published_after_its_commit_with_its_origin(
    db: Database, heard: Heard
) -> None:
    started = await start(db)
    heard.batches.clear()
    draft = actions.Draft(
        started.conversation.id, "resident", "Ana", "Hello?", "msg-0001", NOW, origin="sid-1"
    )
    sent = await db.run_batched(actions.append_messages, draft)
    (batch,) = heard.batches
    (added,) = batch
    assert isinstance(added, notices.MessageAdded)
    assert added.message == sent.message.as_dict()
    assert (added.conversation_id, added.origin) == (started.conversation.id, "sid-1")
    # A resend stores nothing, so it tells nobody anything.
    again = await db.run_batched(actions.append_messages, draft)
    assert again.duplicate and len(heard.batches) == 1


async def test_a_transaction_that_rolls_back_publishes_nothing(db: Database, heard: Heard) -> None:
    started = await start(db)
    heard.batches.clear()

    async def end_then_fail(session: AsyncSession) -> None:
        await actions.end_conversation(
            session, conversation_id=started.conversation.id, ended_by="resident", now=NOW
        )
        assert notices.recorded(session), "ending records what happened"
        raise RuntimeError("something went wrong after")

    with pytest.raises(RuntimeError):
        await db.run(end_then_fail)
    assert heard.batches == []
    # The same end, committed: the resident and staff are told, and the queue looks again.
    await db.run(
        actions.end_conversation,
        conversation_id=started.conversation.id,
        ended_by="resident",
        now=NOW,
    )
    assert heard.kinds() == ["MessageAdded", "ConversationChanged", "QueueChanged"]


async def test_notices_of_a_retried_attempt_are_not_published_twice(
    db: Database, heard: Heard
) -> None:
    started = await start(db)
    heard.batches.clear()
    attempts = 0

    async def read_twice(session: AsyncSession) -> int:
        nonlocal attempts
        attempts += 1
        read = await actions.mark_read(
            session, conversation_id=started.conversation.id, reader="resident", seq=1
        )
        if attempts == 1:
            # As a unique key lost to a concurrent writer does: the whole attempt goes.
            raise IntegrityError("INSERT", {}, Exception("duplicate key"))
        return read

    assert await db.run(read_twice) == 1
    assert attempts == 2
    assert heard.kinds() == ["ReadUpTo"]


async def test_a_publisher_that_fails_does_not_undo_or_fail_the_change(
    db: Database, caplog: pytest.LogCaptureFixture, log_errors: LogErrors
) -> None:
    started = await start(db)

    async def broken(published: Sequence[notices.Notice]) -> None:
        raise ConnectionError("the socket server is gone")

    db.publish = broken
    log_errors.allow("publishing 1 notices failed")
    read = await db.run(
        actions.mark_read, conversation_id=started.conversation.id, reader="resident", seq=1
    )
    assert read == 1

    async def stored(session: AsyncSession) -> int:
        conversation = await session.get(Conversation, started.conversation.id)
        assert conversation is not None
        return conversation.resident_read_seq

    assert await db.run(stored) == 1
    assert "publishing 1 notices failed" in caplog.text


async def test_origin_is_the_serving_connection_only_inside_told_in_ack(db: Database) -> None:
    assert notices.origin.get() is None
    with notices.told_in_ack("sid-7"):
        assert notices.origin.get() == "sid-7"
    assert notices.origin.get() is None


async def test_staff_only_notices_carry_no_resident_audience(db: Database) -> None:
    """A note's notice has nowhere to name a resident: only staff ids and the viewers."""
    fields = set(notices.NoteAdded.__dataclass_fields__)
    assert fields == {"conversation_id", "note", "staff_ids"}
