"""Canned responses: replies supervisors keep, which agents insert with `/shortcut`.

Every function takes an open AsyncSession (the caller commits) and plain values.

Locking order: save and delete write only the canned response's own row. load_starter_canned
first inserts (or waits on) the starter set's knowledge_base_loads row, then inserts responses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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
    # The same response in other languages: {"es": {"title": ..., "text": ...}}.
    translations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, row: CannedResponse) -> CannedView:
        return cls(row.id, row.shortcut, row.title, row.body, dict(row.translations or {}))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "shortcut": self.shortcut,
            "title": self.title,
            "text": self.text,
            "translations": {code: dict(t) for code, t in sorted(self.translations.items())},
        }


async def canned_responses(session: AsyncSession) -> list[CannedView]:
    rows = await session.scalars(select(CannedResponse).order_by(CannedResponse.shortcut))
    return [CannedView.of(r) for r in rows]


async def save_canned(
    session: AsyncSession,
    *,
    by: StaffView,
    canned_id: int | None,
    shortcut: str,
    title: str,
    text: str,
    now: datetime,
    translations: Mapping[str, tuple[str, str]] | None = None,
) -> CannedView:
    """Add or change a canned response (supervisors).

    `translations` ({"es": (title, text)}) replaces the other languages' versions; None keeps
    them as they are."""
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
    if translations is not None:
        row.translations = {
            code: {"title": t, "text": x} for code, (t, x) in sorted(translations.items())
        } or None
    await session.flush()
    await _changed(session)
    return CannedView.of(row)


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
    return [CannedView.of(r) for r in added]


async def load_starter_translations(
    session: AsyncSession, *, language: str, starters: Sequence[CannedText], now: datetime
) -> list[str]:
    """Give the starter responses their `language` version (its canned.toml), once.

    Once per language and database, whichever process starts first, to the responses with the
    same shortcut that have no version in that language yet (what a supervisor wrote stays).
    Returns the shortcuts it gave a translation."""
    if not starters:
        return []
    assert session.bind is not None
    insert = postgresql_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    marker = f"{STARTER_SET}:{language}"
    marked = await session.execute(
        insert(KnowledgeBaseLoad).values(name=marker, loaded_at=now).on_conflict_do_nothing()
    )
    if not getattr(marked, "rowcount", 0):
        return []
    by_shortcut = {s.shortcut: s for s in starters}
    rows = await session.scalars(
        select(CannedResponse).where(CannedResponse.shortcut.in_(by_shortcut))
    )
    given = []
    for row in rows:
        if language in (row.translations or {}):
            continue
        starter = by_shortcut[row.shortcut]
        row.translations = {
            **(row.translations or {}),
            language: {"title": starter.title, "text": starter.text},
        }
        given.append(row.shortcut)
    await session.flush()
    if given:
        await _changed(session)
    return sorted(given)


async def _changed(session: AsyncSession) -> None:
    """Every pane gets the whole list again, once this transaction commits."""
    canned = await canned_responses(session)
    notices.record(session, notices.CannedChanged([c.as_dict() for c in canned]))
