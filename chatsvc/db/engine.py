"""Database engine, sessions and schema migrations."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from chatsvc.settings import Settings

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


class SchemaOutOfDate(RuntimeError):
    """The database schema is not the one this code expects."""


def create_engine(settings: Settings) -> AsyncEngine:
    """Create the engine for DATABASE_URL (SQLite gets WAL and one serialised connection)."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        # No pool_pre_ping: a round trip before every transaction cost a fifth of a stored
        # message's CPU. A connection the server closed (restart, outage, idle timeout) is
        # known closed to asyncpg without asking, and is replaced when it is checked out.
        engine = create_async_engine(url, pool_size=10, max_overflow=10)
        event.listen(engine.sync_engine, "checkout", _replace_closed)
        return engine
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    # One connection: SQLite has one writer at a time anyway, and queuing in the pool
    # avoids "database is locked" errors between our own transactions.
    # Sessions always end in commit or rollback, so the pool's own rollback on return is a
    # wasted round trip to SQLite's thread.
    engine = create_async_engine(
        url, pool_size=1, max_overflow=0, pool_timeout=30, pool_reset_on_return=None
    )
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _replace_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Make the pool replace a pooled connection its server has closed, before it is used."""
    is_closed = getattr(dbapi_connection.driver_connection, "is_closed", None)
    if is_closed is not None and is_closed():
        raise DisconnectionError("the database closed this connection")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # First: the statements below may need a lock another process holds (the server while an
    # admin command opens the file): they wait for it rather than fail "database is locked".
    cursor.execute("PRAGMA busy_timeout=10000")
    # WAL: readers don't block the writer. synchronous=NORMAL in WAL mode survives a killed
    # process (the WAL is in the OS's hands once written); it can lose the last commits
    # only if the whole machine loses power.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[Any]:
    """Create the session factory every action runs in."""
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(settings: Settings | None = None) -> Config:
    """Build the Alembic configuration without an ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if settings is not None:
        config.set_main_option("sqlalchemy.url", settings.database_url.replace("%", "%%"))
    return config


async def upgrade(engine: AsyncEngine) -> None:
    """Bring the schema up to the newest migration."""
    async with engine.begin() as conn:
        await conn.run_sync(_upgrade)


def _upgrade(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def check_schema(engine: AsyncEngine) -> None:
    """Refuse to run against a schema that is not at the newest migration."""
    async with engine.connect() as conn:
        current = await conn.run_sync(
            lambda c: MigrationContext.configure(c).get_current_revision()
        )
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if current != head:
        raise SchemaOutOfDate(
            f"the database schema is at revision {current or 'none'}, this code needs {head}: "
            "run `chatsvc db upgrade`"
        )
