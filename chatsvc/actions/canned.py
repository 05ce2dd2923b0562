"""Canned responses: replies supervisors keep, which agents insert with `/shortcut`.

Every function takes an open AsyncSession (the caller commits) and plain values.

Locking order: save and delete write only the canned response's own row. load_starter_canned
first inserts (or waits on) the starter set's knowledge_base_loads row, then inserts responses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc import notices
from chatsvc.actions.accounts import StaffView
from chatsvc.db.models import CannedResponse, KnowledgeBaseLoad
from chatsvc.errors import ChatError, Forbidden, NotFound


@dataclass(frozen=True)
class CannedView:
    id: int
    shortcut: str
    title: str
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "shortcut": self.shortcut, "title": self.title, "text": self.text}


async def canned_responses(session: AsyncSession) -> list[CannedView]:
    rows = await session.scalars(select(CannedResponse).order_by(CannedResponse.shortcut))
    return [CannedView(r.id, r.shortcut, r.title, r.body) for r in rows]


async def save_canned(
    session: AsyncSession,
    *,
    by: StaffView,
    canned_id: int | None,
    shortcut: str,
    title: str,
    text: str,
    now: datetime,
) -> CannedView:
    """Add or change a canned response (supervisors)."""
    if not by.is_supervisor:
        raise Forbidden("Only supervisors keep the canned responses.")
    taken = await session.scalar(
        select(CannedResponse.id).where(
            CannedResponse.shortcut == shortcut, CannedResponse.id != (canned_id or 0)
        )
    )
    if taken:
        raise ChatError(f"The shortcut /{shortcut} is already used.", code="invalid_payload")
    if canned_id is None:
        row = CannedResponse(
            shortcut=shortcut, title=title, body=text, updated_by=by.id, updated_at=now
        )
        session.add(row)
    else:
        found = await session.get(CannedResponse, canned_id)
        if found is None:
            raise NotFound("There is no such canned response.")
        row = found
        row.shortcut, row.title, row.body = shortcut, title, text
        row.updated_by, row.updated_at = by.id, now
    await session.flush()
    await _changed(session)
    return CannedView(row.id, row.shortcut, row.title, row.body)


async def delete_canned(session: AsyncSession, *, by: StaffView, canned_id: int) -> None:
    if not by.is_supervisor:
        raise Forbidden("Only supervisors keep the canned responses.")
    result = await session.execute(delete(CannedResponse).where(CannedResponse.id == canned_id))
    if not getattr(result, "rowcount", 0):
        raise NotFound("There is no such canned response.")
    await _changed(session)


STARTER_SET = "starter_canned"  # its row in knowledge_base_loads


@dataclass(frozen=True)
class CannedText:
    """A canned response to add, its placeholders already filled in."""

    shortcut: str
    title: str
    text: str


async def load_starter_canned(
    session: AsyncSession, *, starters: Sequence[CannedText], now: datetime
) -> list[CannedView]:
    """Add the knowledge base's starter canned responses, if this database never had them.

    Once only, whichever process starts first: later starts, and a set edited or emptied by
    supervisors, are left alone. A shortcut already in use keeps its response. Nothing to load
    records nothing, so a starter file added later is loaded at the next start.
    """
    if not starters:
        return []
    assert session.bind is not None
    insert = postgresql_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    marked = await session.execute(
        insert(KnowledgeBaseLoad).values(name=STARTER_SET, loaded_at=now).on_conflict_do_nothing()
    )
    if not getattr(marked, "rowcount", 0):
        return []
    taken = set(await session.scalars(select(CannedResponse.shortcut)))
    added = []
    for starter in starters:
        if starter.shortcut in taken:
            continue
        row = CannedResponse(
            shortcut=starter.shortcut,
            title=starter.title,
            body=starter.text,
            updated_by=None,
            updated_at=now,
        )
        session.add(row)
        taken.add(starter.shortcut)
        added.append(row)
    await session.flush()
    if added:
        await _changed(session)
    return [CannedView(r.id, r.shortcut, r.title, r.body) for r in added]


async def _changed(session: AsyncSession) -> None:
    """Every pane gets the whole list again, once this transaction commits."""
    canned = await canned_responses(session)
    notices.record(session, notices.CannedChanged([c.as_dict() for c in canned]))
