"""Daily caps per address under parallel transactions, on SQLite and PostgreSQL (no server).

Each test runs eight transactions that overlap for real on PostgreSQL (tests/parallel.py): a
count taken without the cap's lock let every one of them through.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions import address_caps
from chatsvc.actions import conversations as actions
from chatsvc.actions.service_requests.filing import NewRequest, create_service_request
from chatsvc.actions.service_requests.queries import lookup_status
from chatsvc.actions.service_requests.views import Contact, RequestPolicy, RequestView
from chatsvc.catalogue.knowledge import default_path, load_knowledge_base
from chatsvc.db.database import Database
from chatsvc.db.models import Conversation, ServiceRequest, StatusLookupMiss
from chatsvc.errors import RateLimited
from chatsvc.hours import BusinessCalendar
from chatsvc.settings import Settings
from tests.parallel import overlapping

KB = load_knowledge_base(default_path())
POLICY = RequestPolicy(KB, BusinessCalendar.from_settings(Settings()))
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)
SENDER = "a" * 64
CAP = 3


async def count(db: Database, model: type[object]) -> int:
    async def read(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count()).select_from(model)) or 0)

    return await db.run(read)


def outcomes_of(results: list[object]) -> tuple[int, int]:
    """How many got through, how many were refused (anything else fails the test)."""
    refused = [r for r in results if isinstance(r, RateLimited)]
    errors = [r for r in results if isinstance(r, BaseException) and r not in refused]
    assert not errors, errors
    assert all(r.retry_after == 24 * 3600 for r in refused)
    return len(results) - len(refused), len(refused)


async def start(session: AsyncSession, sender_key: str = SENDER) -> actions.Started:
    return await actions.start_conversation(
        session,
        name="Ana",
        email="ana@example.com",
        question="Hi",
        client_id=None,
        now=NOW,
        sender_key=sender_key,
        per_address_per_day=CAP,
        phone="(626) 744-7311",
    )


async def test_parallel_starts_from_one_address_stop_at_the_cap(db: Database) -> None:
    assert outcomes_of(await overlapping(db, start, 8)) == (CAP, 8 - CAP)
    assert await count(db, Conversation) == CAP
    await db.run(start, "b" * 64)  # another address


async def test_parallel_wrong_lookups_from_one_address_stop_at_the_cap(db: Database) -> None:
    async def guess(session: AsyncSession) -> object:
        return await lookup_status(
            session,
            number="26-000001",
            email="guess@example.com",
            kb=KB,
            now=NOW,
            sender_key=SENDER,
            misses_per_address_per_day=CAP,
        )

    assert outcomes_of(await overlapping(db, guess, 8)) == (CAP, 8 - CAP)
    assert await count(db, StatusLookupMiss) == CAP


async def test_parallel_wrong_lookups_of_one_number_stop_at_its_cap(db: Database) -> None:
    """From as many chats (no address cap), guesses at one number's email count exactly."""

    async def guess(session: AsyncSession) -> object:
        return await lookup_status(
            session,
            number="26-000001",
            email="guess@example.com",
            kb=KB,
            now=NOW,
            misses_per_number_per_day=CAP,
        )

    await overlapping(db, guess, 8)
    assert await count(db, StatusLookupMiss) == CAP


async def test_parallel_filings_from_one_address_stop_at_the_cap(db: Database) -> None:
    chats = [(await db.run(start, f"{n}" * 64)).conversation.id for n in range(8)]

    async def mark_one_address(session: AsyncSession) -> None:
        for chat in chats:
            conversation = await session.get(Conversation, chat)
            assert conversation is not None
            conversation.sender_key = SENDER

    await db.run(mark_one_address)
    taken = iter(chats)

    async def file(session: AsyncSession) -> RequestView:
        chat = next(taken)  # each transaction files in a chat of its own
        await address_caps.check_filings(session, sender_key=SENDER, per_day=CAP, now=NOW)
        return await create_service_request(
            session,
            NewRequest(
                "graffiti",
                {"address": "100 N Garfield Ave", "description": "Tags on the wall"},
                Contact("Ana", "ana@example.com"),
                conversation_id=chat,
                source="assistant",
            ),
            policy=POLICY,
            now=NOW,
        )

    assert outcomes_of(await overlapping(db, file, 8)) == (CAP, 8 - CAP)
    assert await count(db, ServiceRequest) == CAP


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(30, "in a minute"), (600, "in about 10 minutes"), (5400, "in about 2 hours")],
)
def test_a_wait_is_said_as_a_person_would(seconds: int, words: str) -> None:
    assert address_caps.in_about(seconds) == words
