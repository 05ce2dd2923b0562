"""The outbox sender: a background loop that sends what one outbox table holds, with retries.

What is due is decided in the database (`chatsvc.outbox`), so any number of server processes can
run a sender on one database: each pass claims a batch, sends it and records the outcome. A pass
runs every few seconds and soon after `wake()`. The mail sender (`chatsvc.transport.mailer`) and
the webhook sender (`chatsvc.transport.webhooks`) say how to claim and how to send a batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Generic, Protocol, TypeVar

from chatsvc.clock import Clock
from chatsvc.db.database import DATABASE_DOWN, Database
from chatsvc.outbox.base import Outbox

POLL_SECONDS = 5.0
BATCH_SIZE = 20
# No new send starts later than this after a claim, so a slow far side cannot make a batch
# outlast the claim's lease (outbox.LEASE, 3 min): past it the rest of the batch is given back.
SEND_WINDOW_SECONDS = 60.0
CLOSE_GRACE_SECONDS = 10.0


class Claimed(Protocol):
    """A claimed outbox row, as a sender holds it."""

    @property
    def id(self) -> int: ...


Due = TypeVar("Due", bound=Claimed)
SendOne = Callable[[Due], Awaitable[str | None]]


class OutboxSender(Generic[Due]):
    """Sends due rows of one outbox table, for one server process."""

    noun = "row"  # what one row is called in the logs: "mail 12 ... not sent"

    def __init__(
        self,
        database: Database,
        clock: Clock,
        outbox: Outbox[Any],
        log: logging.Logger,
        *,
        poll_seconds: float = POLL_SECONDS,
        batch_size: int = BATCH_SIZE,
    ):
        self.database = database
        self.clock = clock
        self.outbox = outbox
        self.log = log
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self._wakeup = asyncio.Event()
        self._pass = asyncio.Lock()  # one pass at a time in this process
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        # Passes asked for (the first, then one a wake) and passes done, for settle().
        self._asked = 1
        self._done = 0
        self._progress = asyncio.Condition()

    # --- what a sender says ------------------------------------------------------------------

    def describe(self) -> str:
        """Say where this sender sends, for the log line at start."""
        raise NotImplementedError

    def label(self, item: Due) -> str:
        """Say what a row is, for log lines about it (never its content)."""
        raise NotImplementedError

    async def claim(self, limit: int) -> Sequence[Due]:
        """Claim up to `limit` due rows in a transaction of its own."""
        raise NotImplementedError

    async def send_batch(self, batch: Sequence[Due], deadline: float) -> tuple[int, bool]:
        """Send a claimed batch; return how many were sent and whether to claim more now.

        No send may start after `deadline` (the event loop's time); see `send_each`.
        """
        raise NotImplementedError

    # --- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start sending in the background."""
        self.log.info("%s: %s", self.noun, self.describe())
        self._task = asyncio.create_task(self._send_forever(), name=f"{self.noun} sender")

    async def close(self) -> None:
        """Stop after the send in progress (or, past a grace period, in the middle of it)."""
        self._closing = True
        self._wakeup.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._task, CLOSE_GRACE_SECONDS)
        except TimeoutError:
            self.log.warning(
                "%s: stopped mid-send; what is unsent is retried when its claim lapses", self.noun
            )
        self._task = None

    def wake(self) -> None:
        """Send soon: a row was queued (call after its transaction committed)."""
        self._asked += 1
        self._wakeup.set()

    async def settle(self) -> None:
        """Wait until the background passes asked for so far have run (for tests)."""
        assert self._task is not None, f"the {self.noun} sender is not running"
        target = self._asked
        async with self._progress:
            await self._progress.wait_for(lambda: self._done >= target)

    async def _send_forever(self) -> None:
        while not self._closing:
            self._wakeup.clear()
            asked = self._asked
            try:
                await self.send_due()
            except asyncio.CancelledError:
                raise
            except DATABASE_DOWN as exc:
                self.log.warning("%s: database unavailable: %s", self.noun, exc)
            except Exception:
                self.log.exception("%s: sending failed", self.noun)
            async with self._progress:
                self._done = asked
                self._progress.notify_all()
            if self._closing:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self.poll_seconds)

    # --- one pass ----------------------------------------------------------------------------

    async def send_due(self) -> int:
        """Send every row that is due now, batch by batch; return how many were sent."""
        async with self._pass:
            sent = 0
            while not self._closing:
                batch = await self.claim(self.batch_size)
                if not batch:
                    break
                deadline = asyncio.get_running_loop().time() + SEND_WINDOW_SECONDS
                batch_sent, carry_on = await self.send_batch(batch, deadline)
                sent += batch_sent
                if not carry_on or len(batch) < self.batch_size:
                    break
            return sent

    async def send_each(
        self,
        batch: Sequence[Due],
        deadline: float,
        send: SendOne[Due],
        errors: tuple[type[BaseException], ...],
        usable: Callable[[], bool] = lambda: True,
    ) -> tuple[int, bool]:
        """Send a batch one row at a time and record each outcome.

        `send` raises one of `errors` for a failed attempt, or returns a note to log once the
        row is recorded as sent. Rows not attempted (closing, past `deadline`, or the
        connection no longer `usable`) are given back, due again now.
        """
        sent = 0
        for index, item in enumerate(batch):
            if self._closing or asyncio.get_running_loop().time() > deadline or not usable():
                # Not attempted: due again now (a fresh pass or another process sends them).
                rest = [row.id for row in batch[index:]]
                await self.database.run(self.outbox.release, rest, now=self.clock())
                return sent, False
            try:
                note = await send(item)
            except errors as exc:
                await self.failed(item, exc)
                continue
            if await self.database.run(self.outbox.mark_sent, item.id, now=self.clock()):
                sent += 1
                if note:
                    self.log.info("%s %d %s", self.noun, item.id, note)
        return sent, True

    async def failed(self, item: Due, exc: BaseException) -> None:
        """Record a failed attempt; log it, as an error once it has failed many times."""
        error = f"{type(exc).__name__}: {exc}"
        retry = await self.database.run(
            self.outbox.mark_failed, item.id, error=error, now=self.clock()
        )
        if retry is None:
            return  # sent meanwhile by another process whose claim outlived ours
        level = logging.ERROR if retry.overdue else logging.WARNING
        self.log.log(
            level,
            "%s %d (%s) not sent, attempt %d; next attempt at %s: %s",
            self.noun,
            item.id,
            self.label(item),
            retry.attempts,
            retry.next_attempt_at.isoformat(timespec="seconds"),
            error,
        )
