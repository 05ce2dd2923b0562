"""Daily caps per client address: chats started, requests the City Assistant files, and status
lookups with a wrong email.

Several people can share an address (a household, an office, a library), so the caps are wide;
they stop one client from starting chats, having requests filed or guessing a request's email
without end. The address itself is never stored: a chat keeps a hash of it
(`Conversation.sender_key`, made as left messages' is), and that is what is counted, over the
last 24 hours. A refusal is RateLimited with `retry_after`: the seconds until the oldest
counted row leaves the window and one more fits.

Counting and then inserting is a race between transactions. On PostgreSQL each check takes a
transaction-scoped advisory lock on (the cap, the sender) before it counts, held until commit,
so one address's parallel starts (or filings, or lookups) take turns and none gets past the
cap. SQLite needs nothing: the engine has one connection per process
(`chatsvc.db.engine.create_engine`), so transactions take turns already, and several
processes share a database only on PostgreSQL.

Locking order: the caller's rows first (a filing's and a lookup's conversation row), then the
cap's lock, then whatever the caller goes on to lock. Each cap has its own key space (the
two-key form of the lock), so a cap's lock is never taken while another of them is held.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from chatsvc.db.models import Conversation, ServiceRequest, StatusLookupMiss
from chatsvc.errors import RateLimited

WINDOW = timedelta(days=1)


class Cap(StrEnum):
    """What is counted per address: each its own advisory lock key space."""

    CONVERSATIONS = "conversations"
    FILINGS = "filings"
    STATUS_MISSES = "status_misses"


async def check_conversations(
    session: AsyncSession, *, sender_key: str, per_day: int, now: datetime, phone: str
) -> None:
    """Refuse a new chat from an address that started `per_day` in 24 hours (RateLimited).

    The caller inserts the conversation, with `sender_key`, in the same transaction.
    """
    wait = await _wait(
        session,
        Cap.CONVERSATIONS,
        sender_key,
        select(Conversation.created_at).where(Conversation.sender_key == sender_key),
        Conversation.created_at,
        per_day,
        now,
    )
    if wait is not None:
        call = f", or call us at {phone}" if phone else ""
        raise RateLimited(
            "Many chats were started from your internet connection today, so a new one can't "
            f"start now. Please try again {in_about(wait)}{call}.",
            retry_after=wait,
        )


async def check_filings(
    session: AsyncSession, *, sender_key: str, per_day: int, now: datetime
) -> None:
    """Refuse the City Assistant's filing for a chat whose address had `per_day` requests filed
    by it in 24 hours, in any of its chats (RateLimited). Staff's filings are not counted."""
    wait = await _wait(
        session,
        Cap.FILINGS,
        sender_key,
        select(ServiceRequest.requested_at)
        .join(Conversation, ServiceRequest.conversation_id == Conversation.id)
        .where(Conversation.sender_key == sender_key, ServiceRequest.source == "assistant"),
        ServiceRequest.requested_at,
        per_day,
        now,
    )
    if wait is not None:
        raise RateLimited(
            "Several requests were filed from your internet connection today, so no more can "
            f"be filed in the chat now. Please try again {in_about(wait)}.",
            retry_after=wait,
        )


async def check_status_misses(
    session: AsyncSession, *, sender_key: str, per_day: int, now: datetime
) -> None:
    """Refuse every status lookup from an address whose chats made `per_day` with a wrong
    email (or an unknown number) in 24 hours (RateLimited); a new chat does not reset it."""
    wait = await _wait(
        session,
        Cap.STATUS_MISSES,
        sender_key,
        select(StatusLookupMiss.at).where(StatusLookupMiss.sender_key == sender_key),
        StatusLookupMiss.at,
        per_day,
        now,
    )
    if wait is not None:
        raise RateLimited(
            "Several request numbers and emails that did not match were tried from your "
            f"internet connection today. Please try again {in_about(wait)}.",
            retry_after=wait,
        )


def in_about(seconds: float) -> str:
    """Say a wait the way a person would: "in about 3 hours"."""
    minutes = round(seconds / 60)
    if minutes <= 1:
        return "in a minute"
    if minutes < 90:
        return f"in about {minutes} minutes"
    return f"in about {round(seconds / 3600)} hours"


async def _wait(
    session: AsyncSession,
    cap: Cap,
    sender_key: str,
    counted: Select[Any],
    at: InstrumentedAttribute[datetime],
    per_day: int,
    now: datetime,
) -> int | None:
    """Seconds until one more fits, when the last 24 hours of `counted` already hold `per_day`
    (then the `per_day`-th newest must leave the window first); None when there is room."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            select(func.pg_advisory_xact_lock(func.hashtext(str(cap)), func.hashtext(sender_key)))
        )
    nth_newest: datetime | None = await session.scalar(
        counted.where(at > now - WINDOW).order_by(at.desc()).offset(per_day - 1).limit(1)
    )
    if nth_newest is None:
        return None
    return max(1, math.ceil((nth_newest + WINDOW - now).total_seconds()))
