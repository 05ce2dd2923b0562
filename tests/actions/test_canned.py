"""Canned responses' actions on a real database: the starter set a new installation gets."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

from alembic import command
from sqlalchemy import Connection, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions import accounts
from chatsvc.actions.canned import (
    CannedText,
    canned_responses,
    delete_canned,
    load_starter_canned,
    save_canned,
)
from chatsvc.clock import utc_now
from chatsvc.db.database import Database
from chatsvc.db.engine import alembic_config, create_engine, upgrade
from chatsvc.db.models import CannedResponse
from chatsvc.settings import Settings

STARTERS = [
    CannedText("hours", "Opening hours", "We are open Monday to Friday, 8 a.m. to 5 p.m."),
    CannedText("phone", "Phone number", "Call us at (626) 744-7311."),
    CannedText("bye", "Closing the chat", "Thank you for contacting us."),
]


async def supervisor(db: Database) -> accounts.StaffView:
    return await db.run(
        accounts.add_staff,
        username="sam",
        display_name="Sam Carter",
        role="supervisor",
        password="correct horse battery",
        workgroups=(),
        max_chats=3,
        now=utc_now(),
    )


async def shortcuts(db: Database) -> dict[str, str]:
    return {c.shortcut: c.text for c in await db.run(canned_responses)}


async def test_the_starter_set_is_loaded_once_and_supervisors_changes_stay(db: Database) -> None:
    loaded = await db.run(load_starter_canned, starters=STARTERS, now=utc_now())
    assert [c.shortcut for c in loaded] == ["hours", "phone", "bye"]

    async def authors(session: AsyncSession) -> list[int | None]:
        return list(await session.scalars(select(CannedResponse.updated_by)))

    assert await db.run(authors) == [None, None, None]  # nobody wrote them: the starter set did

    sam = await supervisor(db)
    hours = next(c for c in loaded if c.shortcut == "hours")
    bye = next(c for c in loaded if c.shortcut == "bye")
    await db.run(
        save_canned,
        by=sam,
        canned_id=hours.id,
        shortcut="hours",
        title="Opening hours",
        text="Open 9 to 4.",
        now=utc_now(),
    )
    await db.run(delete_canned, by=sam, canned_id=bye.id)

    # A later start (or another process) loads nothing: the edit and the deletion stay.
    assert await db.run(load_starter_canned, starters=STARTERS, now=utc_now()) == []
    assert await shortcuts(db) == {"hours": "Open 9 to 4.", "phone": "Call us at (626) 744-7311."}


async def test_a_shortcut_already_in_use_keeps_its_response(db: Database) -> None:
    sam = await supervisor(db)
    await db.run(
        save_canned,
        by=sam,
        canned_id=None,
        shortcut="phone",
        title="Our number",
        text="Ring us.",
        now=utc_now(),
    )
    loaded = await db.run(load_starter_canned, starters=STARTERS, now=utc_now())
    assert [c.shortcut for c in loaded] == ["hours", "bye"]
    assert (await shortcuts(db))["phone"] == "Ring us."


async def test_nothing_to_load_records_nothing(db: Database) -> None:
    # A knowledge base without canned.toml; the file added later is loaded at the next start.
    assert await db.run(load_starter_canned, starters=[], now=utc_now()) == []
    assert len(await db.run(load_starter_canned, starters=STARTERS, now=utc_now())) == 3


async def test_processes_starting_together_load_the_set_once(db: Database) -> None:
    results = await asyncio.gather(
        *(db.run(load_starter_canned, starters=STARTERS, now=utc_now()) for _ in range(4))
    )
    assert sorted(len(r) for r in results) == [0, 0, 0, 3]
    assert set(await shortcuts(db)) == {"hours", "phone", "bye"}


async def test_an_installation_that_keeps_canned_responses_gets_no_starter_set(
    tmp_path: Path,
) -> None:
    """Upgraded to the migration that brought the starter set, a database whose supervisors
    already wrote canned responses counts it as loaded; a new one does not."""
    engine = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/old.db"))

    def to(revision: str) -> Callable[[Connection], None]:
        def run(connection: Connection) -> None:
            config = alembic_config()
            config.attributes["connection"] = connection
            command.upgrade(config, revision)

        return run

    try:
        async with engine.begin() as connection:
            await connection.run_sync(to("0009"))
            await connection.execute(
                text(
                    "INSERT INTO staff (id, username, display_name, role, password_hash, "
                    "disabled, max_chats, created_at) VALUES (1, 'sam', 'Sam', 'supervisor', "
                    "'x', 0, 3, '2026-01-05 10:00:00.000000')"
                )
            )
            await connection.execute(
                text(
                    "INSERT INTO canned_responses (shortcut, title, body, updated_by, updated_at) "
                    "VALUES ('hi', 'Hi', 'Hello!', 1, '2026-01-05 10:00:00.000000')"
                )
            )
        await upgrade(engine)
        async with engine.connect() as connection:
            loads = (await connection.execute(text("SELECT name FROM knowledge_base_loads"))).all()
        assert [name for (name,) in loads] == ["starter_canned"]
    finally:
        await engine.dispose()

    fresh = create_engine(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/new.db"))
    try:
        await upgrade(fresh)
        async with fresh.connect() as connection:
            loads = (await connection.execute(text("SELECT name FROM knowledge_base_loads"))).all()
        assert loads == []
    finally:
        await fresh.dispose()
