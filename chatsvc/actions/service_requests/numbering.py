"""Request numbers: the year and a counter, as in 26-000123, given once each.

Locking order: `next_number` holds the year's counter row until commit (PostgreSQL), or
SQLite's single writer; nothing else.
"""

from __future__ import annotations

import re

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.db.models import ServiceRequestCounter

NUMBER = re.compile(r"\b(\d{2})\s*-?\s*(\d{1,9})\b")


def parse_number(text: str) -> str | None:
    """Read a request number as residents write it (26-000123, 26000123, 26-123)."""
    match = NUMBER.search(text or "")
    if match is None:
        return None
    return format_number(int(match.group(1)), int(match.group(2)))


def format_number(year: int, sequence: int) -> str:
    return f"{year % 100:02d}-{sequence:06d}"


async def next_number(session: AsyncSession, year: int) -> str:
    # One row per year, bumped in place: concurrent creators queue on the row's lock
    # (PostgreSQL) or on SQLite's single writer, so no number is given twice.
    dialect = session.get_bind().dialect.name
    dialect_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        dialect_insert(ServiceRequestCounter).values(year=year, last=0).on_conflict_do_nothing()
    )
    last = await session.scalar(
        update(ServiceRequestCounter)
        .where(ServiceRequestCounter.year == year)
        .values(last=ServiceRequestCounter.last + 1)
        .returning(ServiceRequestCounter.last)
    )
    assert last is not None
    return format_number(year, last)
