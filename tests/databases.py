"""The database under test: SQLite, then PostgreSQL on a second pass of the suite.

`make test` runs the suite twice: on the embedded default, then with
CHATSVC_TEST_DATABASE=postgresql. Every test that uses the database under test (`database_url`,
and so `make_settings` and the live servers) gets a database of its own on that backend, ready
migrated. Tests that choose their backend themselves (`db`, `postgres_url`, ...) run on both in
the first pass; the second pass leaves them out, with the tests that use no database at all.

Browser tests run once, in the first pass, unless marked `@pytest.mark.postgresql_too`. What
they add to the tiers below is the widget's and the pane's JavaScript in Chromium, which is the
same whatever database the server stands on; what the server does with the database (every
event, listing, sweep and refusal they click through) the real-time tier's tests drive on both
backends. Running them again cost about a third of the PostgreSQL pass (the slowest tier by
far) for no difference they could see. The marked ones are end-to-end smoke runs of each client
on the production backend (a chat with an agent in the widget and pane; a request filed and
worked on the requests page).

Migrating takes longer than most tests, so each backend migrates one template per test session
(per xdist worker): SQLite copies its file; PostgreSQL hands out copies of it and, when a test
is over, empties them for the next test rather than paying for CREATE and DROP DATABASE again.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Protocol, TypeVar

import asyncpg
import pytest

from chatsvc.db.database import Database
from chatsvc.settings import Settings
from tests.missing import in_ci, missing

T = TypeVar("T")
TEST_DATABASE = os.environ.get("CHATSVC_TEST_DATABASE", "sqlite")
ADMIN_DSN = os.environ.get("CHATSVC_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
UNDER_TEST = {"database_url", "another_database", "empty_database_url"}
CHOOSE_THEIR_BACKEND = {"db", "sqlite_db", "postgresql_db", "postgres_url"}
UNREACHABLE = (TimeoutError, OSError, asyncpg.PostgresError)
# The fixture every browser test uses (tests/browser/helpers.py); see the module's docstring.
BROWSER = "browser"


# --- the two passes ----------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    if TEST_DATABASE not in ("sqlite", "postgresql"):
        raise pytest.UsageError(
            f"CHATSVC_TEST_DATABASE must be sqlite or postgresql, not {TEST_DATABASE!r}"
        )
    if TEST_DATABASE == "postgresql" and (problem := in_thread(postgres_unreachable)):
        # A developer without PostgreSQL gets one line and exit 0; CI must have it.
        pytest.exit(f"skipped the PostgreSQL pass: {problem}", returncode=1 if in_ci() else 0)


def pytest_report_header(config: pytest.Config) -> str:
    return f"database under test: {TEST_DATABASE}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if TEST_DATABASE == "sqlite":
        return
    keep, leave_out = [], []
    for item in items:
        names = set(getattr(item, "fixturenames", ()))
        uses_it = bool(names & UNDER_TEST) and not names & CHOOSE_THEIR_BACKEND
        ui_only = BROWSER in names and item.get_closest_marker("postgresql_too") is None
        (keep if uses_it and not ui_only else leave_out).append(item)
    config.hook.pytest_deselected(items=leave_out)
    items[:] = keep


# --- where each test's database comes from -----------------------------------------------------


class Source(Protocol):
    async def take(self, folder: Path, name: str) -> str:
        """A migrated database of its own for a test (`folder` and `name` may place it)."""

    async def give_back(self, url: str) -> None:
        """The test is over: whatever it left in the database goes."""

    async def close(self) -> None:
        """The session is over: remove what was made."""


class SqliteDatabases:
    def __init__(self, folder: Path):
        self.template = folder / "template.db"

    async def take(self, folder: Path, name: str) -> str:
        if not self.template.exists():
            async with opened_database(sqlite_url(self.template)):
                pass  # migrated to the latest revision
        target = folder / f"{name}.db"
        shutil.copyfile(self.template, target)
        return sqlite_url(target)

    async def give_back(self, url: str) -> None:
        pass  # the file goes with the test's tmp_path

    async def close(self) -> None:
        pass


class PostgresDatabases:
    def __init__(self) -> None:
        self.template = ""
        self.shape: tuple[str, ...] = ()
        self.made: list[str] = []
        self.free: list[str] = []

    async def take(self, folder: Path, name: str) -> str:
        if not self.template:
            await self._make_template()
        if self.free:
            return postgres_url_of(self.free.pop())
        copy = new_name()
        await admin(f'CREATE DATABASE "{copy}" TEMPLATE "{self.template}"')
        self.made.append(copy)
        return postgres_url_of(copy)

    async def give_back(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        try:
            if await self._emptied(name):
                self.free.append(name)
                return
        except UNREACHABLE:
            pass
        self.made.remove(name)
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def close(self) -> None:
        for name in [*self.made, self.template]:
            if name:
                await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def _make_template(self) -> None:
        name = new_name("template")
        await admin(f'CREATE DATABASE "{name}"')
        async with opened_database(postgres_url_of(name)):
            pass  # migrated to the latest revision
        connection = await asyncpg.connect(plain_dsn_of(name))
        try:
            self.shape = await shape(connection)
        finally:
            await connection.close()
        self.template = name

    async def _emptied(self, name: str) -> bool:
        """Delete every row and restart every sequence; False if the test changed the schema."""
        # Sessions a test left behind (a killed server's, a cut proxy's) would hold locks.
        await admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
        connection = await asyncpg.connect(plain_dsn_of(name), timeout=3)
        try:
            if await shape(connection) != self.shape:
                return False
            tables = [t for t in self.shape if not t.startswith(("alembic:", "seq:"))]
            sequences = [s.removeprefix("seq:") for s in self.shape if s.startswith("seq:")]
            await connection.execute(
                "SET session_replication_role = replica;"
                + "".join(f'DELETE FROM "{table}";' for table in tables)
                + "".join(f'ALTER SEQUENCE "{sequence}" RESTART;' for sequence in sequences)
                + "SET session_replication_role = DEFAULT;"
            )
        finally:
            await connection.close()
        return True


async def shape(connection: asyncpg.Connection) -> tuple[str, ...]:
    """The tables (but alembic's), sequences and schema revision of a database."""
    tables = await connection.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        " AND tablename <> 'alembic_version' ORDER BY tablename"
    )
    sequences = await connection.fetch(
        "SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1"
    )
    revision = await connection.fetchval("SELECT string_agg(version_num, ',') FROM alembic_version")
    return (
        *(row[0] for row in tables),
        *(f"seq:{row[0]}" for row in sequences),
        f"alembic:{revision}",
    )


@contextlib.asynccontextmanager
async def own_database(source: Source, folder: Path, name: str) -> AsyncIterator[str]:
    url = await source.take(folder, name)
    try:
        yield url
    finally:
        await source.give_back(url)


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Source]]:
    sources: dict[str, Source] = {
        "sqlite": SqliteDatabases(tmp_path_factory.mktemp("databases")),
        "postgresql": PostgresDatabases(),
    }
    yield sources
    for source in sources.values():
        in_thread(source.close)


@pytest.fixture
async def database_url(tmp_path: Path, databases: dict[str, Source]) -> AsyncIterator[str]:
    """This test's own database on the backend under test, migrated."""
    async with own_database(databases[TEST_DATABASE], tmp_path, "chatsvc") as url:
        yield url


@pytest.fixture
async def another_database(
    tmp_path: Path, databases: dict[str, Source]
) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """Factory: a further database on the backend under test, by name, for servers of its own."""
    urls: dict[str, str] = {}
    async with contextlib.AsyncExitStack() as stack:

        async def make(name: str) -> str:
            if name not in urls:
                source = databases[TEST_DATABASE]
                urls[name] = await stack.enter_async_context(own_database(source, tmp_path, name))
            return urls[name]

        yield make


@pytest.fixture
async def empty_database_url(tmp_path: Path) -> AsyncIterator[str]:
    """A database on the backend under test that nothing has migrated yet."""
    if TEST_DATABASE == "sqlite":
        yield sqlite_url(tmp_path / "empty.db")
        return
    async with postgres_database() as url:
        yield url


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A new empty database on the local PostgreSQL, dropped afterwards."""
    async with postgres_database() as url:
        yield url


# --- actions on a real database, SQLite and PostgreSQL ------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Database:
    """Each action runs on the embedded default and on PostgreSQL."""
    database: Database = request.getfixturevalue(f"{request.param}_db")
    return database


@pytest.fixture
async def sqlite_db(tmp_path: Path, databases: dict[str, Source]) -> AsyncIterator[Database]:
    async with opened_own_database(databases["sqlite"], tmp_path) as database:
        yield database


@pytest.fixture
async def postgresql_db(tmp_path: Path, databases: dict[str, Source]) -> AsyncIterator[Database]:
    async with opened_own_database(databases["postgresql"], tmp_path) as database:
        yield database


@contextlib.asynccontextmanager
async def opened_own_database(source: Source, folder: Path) -> AsyncIterator[Database]:
    async with own_database(source, folder, "unit") as url, opened_database(url) as database:
        yield database


@contextlib.asynccontextmanager
async def opened_database(url: str) -> AsyncIterator[Database]:
    """Open (and migrate) a database for actions tests, closed on exit."""
    database = Database(Settings(database_url=url, auto_migrate=True))
    await database.open()
    try:
        yield database
    finally:
        await database.close()


# --- PostgreSQL administration -----------------------------------------------------------------


@contextlib.asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A new empty database on the local PostgreSQL, dropped afterwards."""
    name = new_name()
    await admin(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url_of(name)
    finally:
        await admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def admin(sql: str, *args: object) -> None:
    """Run one statement on the maintenance database; skip (CI: fail) if PostgreSQL is away."""
    try:
        connection = await asyncpg.connect(ADMIN_DSN, timeout=3)
    except UNREACHABLE as exc:
        missing(f"PostgreSQL unreachable at {ADMIN_DSN}: {exc}")
    try:
        await connection.execute(sql, *args)
    finally:
        await connection.close()


async def postgres_unreachable() -> str | None:
    try:
        connection = await asyncpg.connect(ADMIN_DSN, timeout=3)
    except UNREACHABLE as exc:
        return f"PostgreSQL unreachable at {ADMIN_DSN}: {exc}"
    await connection.close()
    return None


def new_name(kind: str = "test") -> str:
    return f"chatsvc_{kind}_{uuid.uuid4().hex[:12]}"


def plain_dsn_of(name: str) -> str:
    return f"{ADMIN_DSN.rsplit('/', 1)[0]}/{name}"


def postgres_url_of(name: str) -> str:
    return plain_dsn_of(name).replace("postgresql://", "postgresql+asyncpg://", 1)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def in_thread(work: Callable[[], Awaitable[T]]) -> T:
    """Run async work on a loop of its own, whatever loop (if any) the tests are on."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, work()).result()
