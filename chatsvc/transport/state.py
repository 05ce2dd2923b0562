"""Typed keys for what the app holds, and the database resource they point to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import socketio
from aiohttp import web
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from ..db import check_schema, create_engine, make_sessionmaker, upgrade
from ..settings import Settings

T = TypeVar("T")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Database:
    """The engine and session factory, opened when the app starts and closed when it stops."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._engine: AsyncEngine | None = None
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None

    async def open(self) -> None:
        engine = create_engine(self.settings)
        try:
            if self.settings.migrate_on_start:
                await upgrade(engine)
            else:
                await check_schema(engine)
        except BaseException:
            await engine.dispose()
            raise
        self._engine = engine
        self._sessionmaker = make_sessionmaker(engine)

    async def close(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    @property
    def engine(self) -> AsyncEngine:
        assert self._engine is not None, "the database is not open"
        return self._engine

    async def run(self, action: Callable[..., Awaitable[T]], **kwargs: Any) -> T:
        """Run one action in its own transaction and commit it; return what it returned."""
        assert self._sessionmaker is not None, "the database is not open"
        for attempt in (1, 2):
            try:
                async with self._sessionmaker() as session, session.begin():
                    return await action(session, **kwargs)
            except IntegrityError:
                # Two clients raced on a unique key (e.g. the same message id sent twice at
                # once): the second attempt sees the winner's row and answers from it.
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
SIO = web.AppKey("sio", socketio.AsyncServer)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
