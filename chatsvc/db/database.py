"""Transactions: `Database.run` (each in a task of its own) and group commit (`run_batched`)."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from chatsvc.db.engine import check_schema, create_engine, make_sessionmaker, upgrade
from chatsvc.errors import Unavailable
from chatsvc.notices import Notice, recorded
from chatsvc.settings import Settings

log = logging.getLogger(__name__)

# What a database that is down or unreachable raises: callers answer "unavailable", not a bug.
DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout, OSError)

T = TypeVar("T")
P = ParamSpec("P")
Item = TypeVar("Item")
Outcome = TypeVar("Outcome")
BatchAction = Callable[[AsyncSession, Sequence[Item]], Awaitable[Sequence[Outcome | Exception]]]

MAX_BATCH = 200
CLOSE_WAIT_SECONDS = 10  # for transactions in progress when the database closes


RETRYABLE = {"40001", "40P01"}  # serialization_failure, deadlock_detected


def _sqlstate(exc: DBAPIError) -> str | None:
    for error in (exc.orig, getattr(exc.orig, "__cause__", None)):
        code = getattr(error, "sqlstate", None) or getattr(error, "pgcode", None)
        if isinstance(code, str):
            return code
    return None


class Database:
    """The engine and session factory, opened when the app starts and closed when it stops."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._engine: AsyncEngine | None = None
        self._sessionmaker: async_sessionmaker[AsyncSession] | None = None
        self._batches: dict[object, GroupCommit[Any, Any]] = {}
        self._transactions: set[asyncio.Task[Any]] = set()  # running, for close to wait for
        self._closing = False
        self.close_wait_seconds = CLOSE_WAIT_SECONDS
        # Where notices go once their transaction commits (the app sets it; none: dropped).
        self.publish: Callable[[Sequence[Notice]], Awaitable[None]] | None = None

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
        """Close, after the transactions in progress (close_wait_seconds at most in all).

        New ones are refused from now on (Unavailable)."""
        deadline = asyncio.get_running_loop().time() + self.close_wait_seconds
        self._closing = True
        for batch in self._batches.values():
            await batch.close(deadline)
        self._batches.clear()
        if self._transactions:
            wait = max(0.0, deadline - asyncio.get_running_loop().time())
            _, late = await asyncio.wait(self._transactions, timeout=wait)
            if late:
                log.warning("closing the database with %d transactions still running", len(late))
                for transaction in late:
                    transaction.cancel()
                await asyncio.wait(late)
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None
        self._closing = False

    @property
    def engine(self) -> AsyncEngine:
        assert self._engine is not None, "the database is not open"
        return self._engine

    async def run(
        self,
        action: Callable[Concatenate[AsyncSession, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        """Run one action in its own transaction and commit it; return what it returned.

        A caller that is cancelled (its client left, the server is stopping) stops waiting, but
        its transaction runs on to commit or roll back in a task of its own, and `close` waits
        for it. Cancelled in the middle of a statement, SQLAlchemy can put an asyncpg
        connection back in the pool with the statement still running, and whoever takes that
        connection next fails with "another operation is in progress".
        """
        if self._engine is None or self._closing:
            # Not open yet, or closing: work that starts now would open the pool anew behind
            # close's back (and outlive it).
            raise Unavailable("The service is not ready. Try again.")
        transaction = asyncio.get_running_loop().create_task(
            self._transaction(action, *args, **kwargs)
        )
        self._transactions.add(transaction)
        transaction.add_done_callback(self._transaction_done)
        return await asyncio.shield(transaction)

    async def tell(self, *notices: Notice) -> None:
        """Publish notices no transaction records (someone typing; an offer made from a read)."""
        if self.publish is not None:
            await self.publish(notices)

    def _transaction_done(self, transaction: asyncio.Task[Any]) -> None:
        self._transactions.discard(transaction)
        if not transaction.cancelled():
            transaction.exception()  # its caller hears it, if still waiting; nobody else may

    async def _transaction(
        self,
        action: Callable[Concatenate[AsyncSession, P], Awaitable[T]],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> T:
        assert self._sessionmaker is not None, "the database is not open"
        for attempt in (1, 2):
            try:
                async with self._sessionmaker() as session:
                    async with session.begin():
                        result = await action(session, *args, **kwargs)
                    notices = recorded(session)
            except IntegrityError:
                # Two clients raced on a unique key (e.g. the same message id sent twice at
                # once): the second attempt sees the winner's row and answers from it.
                if attempt == 2:
                    raise
            except DBAPIError as exc:
                # PostgreSQL broke a deadlock (or a serialization conflict) by failing this
                # transaction: nothing of it was applied, so run it again.
                if attempt == 2 or _sqlstate(exc) not in RETRYABLE:
                    raise
            else:
                # Committed: now, and only now, tell whoever should know.
                if notices and self.publish is not None:
                    try:
                        await self.publish(notices)
                    except Exception:
                        # The change stands and its caller hears so; clients catch up on
                        # their next resume (or the next broadcast of the whole state).
                        log.exception("publishing %d notices failed", len(notices))
                return result
        raise AssertionError("unreachable")

    async def run_batched(self, action: BatchAction[Item, Outcome], item: Item) -> Outcome:
        """Run `action` for `item` together with whatever else is waiting, in one transaction.

        Group commit: while one batch commits, the next one gathers, so under load many
        callers share one commit instead of queueing for one each; alone, a caller waits for
        nobody. Returns this item's outcome, or raises the error this item (or its batch) met.
        """
        if self._engine is None or self._closing:
            raise Unavailable("The service is not ready. Try again.")
        batch = self._batches.get(action)
        if batch is None:
            sqlite = self.engine.dialect.name == "sqlite"
            # SQLite has one writer: one batch at a time. Other databases take a few at once.
            batch = GroupCommit(self, action, workers=1 if sqlite else 4)
            self._batches[action] = batch
        outcome: Outcome = await batch.submit(item)
        return outcome


class GroupCommit(Generic[Item, Outcome]):
    """Items queued for one batch action, run by a few workers, each batch one transaction."""

    def __init__(self, database: Database, action: BatchAction[Item, Outcome], workers: int):
        self.database = database
        self.action = action
        self.queue: asyncio.Queue[tuple[Item, asyncio.Future[Outcome]]] = asyncio.Queue()
        # A context of their own: a worker serves every caller, so it must not carry the
        # first caller's context (its `notices.origin`, say) into everyone's batches.
        self.workers = [
            asyncio.create_task(self._work(), context=contextvars.Context()) for _ in range(workers)
        ]
        self._busy: set[asyncio.Task[None]] = set()  # workers in the middle of a batch
        self._closing = False

    async def submit(self, item: Item) -> Outcome:
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((item, future))
        return await future

    async def close(self, deadline: float) -> None:
        """Stop. A batch in progress until `deadline` (the loop's time) is finished and its
        callers hear how it went (a message stored is acknowledged); those still queued hear
        that the service is stopping."""
        self._closing = True
        for worker in self.workers:
            if worker not in self._busy:
                worker.cancel()  # waiting for work
        wait = max(0.0, deadline - asyncio.get_running_loop().time())
        await asyncio.wait(self.workers, timeout=wait)
        for worker in self.workers:
            worker.cancel()  # past the wait: the transaction itself runs on (Database.run)
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        while not self.queue.empty():
            _, future = self.queue.get_nowait()
            if not future.done():
                future.set_exception(Unavailable("The service is shutting down."))

    async def _work(self) -> None:
        me = asyncio.current_task()
        assert me is not None
        while not self._closing:
            batch = [await self.queue.get()]
            while len(batch) < MAX_BATCH and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            self._busy.add(me)
            try:
                await self._run(batch)
            finally:
                self._busy.discard(me)

    async def _run(self, batch: list[tuple[Item, asyncio.Future[Outcome]]]) -> None:
        live = [(item, future) for item, future in batch if not future.cancelled()]
        try:
            outcomes = await self.database.run(self.action, [item for item, _ in live])
        except asyncio.CancelledError:
            for _, future in live:
                if not future.done():
                    future.set_exception(Unavailable("The service is shutting down."))
            raise
        except Exception as exc:
            # The whole batch failed (the database is down, say): every caller hears why.
            for _, future in live:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), outcome in zip(live, outcomes, strict=True):
            if future.done():
                continue
            if isinstance(outcome, Exception):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
