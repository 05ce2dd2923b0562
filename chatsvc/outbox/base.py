"""The outbox pattern: rows queued in the transaction that decided them, sent later, with retries.

Mail (`chatsvc.outbox.mail`) and department webhooks (`chatsvc.outbox.webhooks`) are both
outboxes: a table whose rows have `next_attempt_at`, `attempts`, `last_error` and `sent_at`.
An `Outbox` holds the claim, the outcome records and the backoff for one such table; every
method takes an open AsyncSession (the caller commits) and plain values.

Delivery is at least once, not exactly once. A sender claims due rows in one short transaction
that pushes their next attempt a lease ahead (`LEASE`), sends them, and marks each sent in
another. A process that dies mid-send leaves its rows to be retried once the lease runs out, so
nothing is lost; but a process that dies (or loses the database) after the far side accepted a
row and before `mark_sent` committed sends that row a second time. What never happens is two
processes sending the same row at once: the claim takes rows with FOR UPDATE SKIP LOCKED, so
concurrent senders split what is due.

A row that keeps failing is never dropped: it is retried with exponential backoff up to
`MAX_BACKOFF`, and from `LOUD_AFTER_ATTEMPTS` attempts on each failure is reported as an error.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import ClassVar, Generic, Protocol, TypeVar

from sqlalchemy import ColumnElement, FromClause, select, update
from sqlalchemy.ext.asyncio import AsyncSession

LEASE = timedelta(minutes=3)  # how long a claimed row is left alone by other senders
FIRST_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=30)
LOUD_AFTER_ATTEMPTS = 20
MAX_ERROR_CHARS = 1000


class OutboxRow(Protocol):
    """A model of an outbox table (see models.OutboxMail): these columns, at least."""

    __table__: ClassVar[FromClause]
    id: int
    next_attempt_at: datetime
    attempts: int
    last_error: str | None
    sent_at: datetime | None


Row = TypeVar("Row", bound=OutboxRow)


@dataclass(frozen=True)
class Retry:
    """A failed attempt, recorded: how many there were and when the next one is."""

    attempts: int
    next_attempt_at: datetime

    @property
    def overdue(self) -> bool:
        """Tell whether this row has failed often enough that a person should look at it."""
        return self.attempts >= LOUD_AFTER_ATTEMPTS


class Outbox(Generic[Row]):
    """Claims, outcomes and backoff for one outbox table."""

    def __init__(self, model: type[Row]) -> None:
        self.model = model
        self._columns = model.__table__.c

    async def claim(
        self,
        session: AsyncSession,
        *,
        now: datetime,
        limit: int,
        lease: timedelta = LEASE,
        where: Sequence[ColumnElement[bool]] = (),
    ) -> list[Row]:
        """Claim up to `limit` unsent rows that are due (and match `where`), oldest first.

        Rows another transaction holds are skipped, not waited for; once the caller commits, the
        claimed rows are not due again until the lease runs out (or an outcome is recorded).
        """
        columns = self._columns
        rows = (
            await session.scalars(
                select(self.model)
                .where(columns.sent_at.is_(None), columns.next_attempt_at <= now, *where)
                .order_by(columns.next_attempt_at, columns.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()
        for row in rows:
            row.next_attempt_at = now + lease
        return list(rows)

    async def mark_sent(self, session: AsyncSession, row_id: int, now: datetime) -> bool:
        """Record that the far side accepted a row; tell whether it was still unsent."""
        row = await session.get(self.model, row_id, with_for_update=True)
        if row is None or row.sent_at is not None:
            return False
        row.sent_at = now
        row.attempts += 1
        return True

    async def mark_failed(
        self, session: AsyncSession, row_id: int, error: str, now: datetime
    ) -> Retry | None:
        """Record a failed attempt and schedule the next one; None if the row is already sent."""
        row = await session.get(self.model, row_id, with_for_update=True)
        if row is None or row.sent_at is not None:
            return None
        row.attempts += 1
        row.last_error = error[:MAX_ERROR_CHARS]
        row.next_attempt_at = now + backoff(row.attempts)
        return Retry(row.attempts, row.next_attempt_at)

    async def release(self, session: AsyncSession, row_ids: Sequence[int], now: datetime) -> None:
        """Give back claimed rows that were not attempted, so they are due again now."""
        if not row_ids:
            return
        columns = self._columns
        await session.execute(
            update(self.model)
            .where(columns.id.in_(row_ids), columns.sent_at.is_(None))
            .values(next_attempt_at=now)
        )


def backoff(attempts: int) -> timedelta:
    """Wait 30 s after the first failure, doubling after each, never more than 30 min."""
    doublings = min(max(attempts - 1, 0), 16)  # past the cap long before 16; keeps 2**n small
    return min(FIRST_BACKOFF * (1 << doublings), MAX_BACKOFF)
