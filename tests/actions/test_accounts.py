"""Staff accounts' actions on a real database."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions import accounts
from chatsvc.clock import utc_now
from chatsvc.db.database import Database
from chatsvc.db.models import SignInThrottle
from chatsvc.errors import SignInThrottled


async def test_sign_in_counts_a_day_old_are_forgotten_but_not_a_block_in_force(
    db: Database,
) -> None:
    database = db
    now = utc_now()
    day_ago = now - accounts.ATTEMPTS_FORGOTTEN_AFTER - timedelta(minutes=1)
    # A flood of usernames a day ago, one from an hour ago, one blocked until after now.
    for n in range(20):
        await database.run(
            accounts.begin_sign_in, username=f"flood{n}", address="127.0.0.9", now=day_ago
        )
    await database.run(
        accounts.begin_sign_in, username="recent", address="127.0.0.9", now=now - timedelta(hours=1)
    )
    blocked = None
    for _ in range(accounts.ATTEMPTS_BEFORE_DELAY + 1):
        blocked = await database.run(
            accounts.begin_sign_in, username="held", address="127.0.0.9", now=day_ago
        )
    assert isinstance(blocked, SignInThrottled)

    async def rows(session: AsyncSession) -> int:
        return int(await session.scalar(select(func.count()).select_from(SignInThrottle)) or 0)

    async def held_until_later(session: AsyncSession) -> None:
        await session.execute(
            SignInThrottle.__table__.update()
            .where(SignInThrottle.username == "held")
            .values(blocked_until=now + timedelta(minutes=5))
        )

    await database.run(held_until_later)
    assert await database.run(rows) == 22
    assert await database.run(accounts.forget_sign_in_attempts, now=now) == 20
    assert await database.run(rows) == 2
    assert await database.run(accounts.forget_sign_in_attempts, now=now) == 0
