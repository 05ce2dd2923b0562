"""Alembic environment: runs on the connection chatsvc hands it, or on DATABASE_URL."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from chatsvc.db.models import Base
from chatsvc.settings import Settings

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_from_settings() -> None:
    from chatsvc.db.engine import create_engine

    engine = create_engine(Settings.from_env())
    async with engine.begin() as conn:
        await conn.run_sync(run)
    await engine.dispose()


given = config.attributes.get("connection")
if given is not None:
    run(given)
else:
    # `alembic` run by hand (e.g. `alembic revision --autogenerate`): use DATABASE_URL.
    asyncio.run(run_from_settings())
