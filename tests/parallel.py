"""Transactions that really run at once, for tests of counts that must not overshoot.

On PostgreSQL none of them commits before every one has done its work or waits for a lock (seen
in pg_stat_activity): a count-then-insert without a lock then lets each one count before any
insert is visible, every time, not only when the scheduler happens to interleave them. SQLite
has one connection per process: its transactions take turns whatever the test does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.db.database import Database
from tests.waiting import eventually

T = TypeVar("T")

WAITING_FOR_LOCKS = text(
    "SELECT count(*) FROM pg_stat_activity"
    " WHERE datname = current_database() AND wait_event_type = 'Lock'"
)


async def overlapping(
    database: Database, action: Callable[[AsyncSession], Awaitable[T]], count: int
) -> list[T | BaseException]:
    """Run `action` in `count` transactions at once; return each outcome (or its error)."""
    if database.engine.dialect.name != "postgresql":
        runs = [database.run(action) for _ in range(count)]
        return await asyncio.gather(*runs, return_exceptions=True)
    done = 0
    commit = asyncio.Event()

    async def held(session: AsyncSession) -> T:
        nonlocal done
        outcome = await action(session)
        done += 1
        await commit.wait()
        return outcome

    async def blocked(session: AsyncSession) -> int:
        return int(await session.scalar(WAITING_FOR_LOCKS) or 0)

    runs = [asyncio.ensure_future(database.run(held)) for _ in range(count)]
    try:
        await eventually(
            lambda: database.run(blocked),
            lambda waiting: done + waiting >= count,
            what=f"all {count} transactions done or waiting for a lock",
        )
    finally:
        commit.set()
    return await asyncio.gather(*runs, return_exceptions=True)
