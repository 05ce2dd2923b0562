"""The dispatcher: runs routing after every change, broadcasts whole states, sweeps on a timer.

Routing itself (who gets which conversation) is `chatsvc.actions.queue`, in the database.
This module decides *when* to route (a handoff, an agent becoming available or freeing a slot,
a transfer, the periodic sweep). What actions did reaches clients through notices, published
after commit by `chatsvc.transport.publish`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from aiohttp import web

from chatsvc.actions import abandoned as abandoned_chats
from chatsvc.actions import handling, presence, queue, resident_presence
from chatsvc.catalogue.center import Center
from chatsvc.clock import Clock
from chatsvc.db.database import DATABASE_DOWN, Database
from chatsvc.hours import BusinessCalendar
from chatsvc.settings import Settings
from chatsvc.transport.events import Coalesced, Events
from chatsvc.workers.mailer import Mailer
from chatsvc.workers.webhooks import WebhookSender

log = logging.getLogger("chatsvc.dispatch")


class Dispatcher:
    """Routing, broadcasts of the queue and presence, and the sweep, for one server process."""

    def __init__(
        self,
        database: Database,
        events: Events,
        mailer: Mailer,
        settings: Settings,
        clock: Clock,
        *,
        webhooks: WebhookSender | None = None,
        calendar: BusinessCalendar,
        center: Callable[[], Center],
    ):
        self.database = database
        self.calendar = calendar  # when a left message is due (the abandon sweep)
        self.center = center  # the knowledge base's, as it is now (it reloads when edited)
        self.events = events
        self.mailer = mailer
        self.webhooks = webhooks
        self.settings = settings
        self.clock = clock
        # Names this process's agent connections in the database; a process that stops
        # refreshing them is taken for dead and its agents' grace periods start.
        self.server_id = uuid.uuid4().hex[:16]
        self.routing = Coalesced("routing", self._route)
        self.queue_broadcast = Coalesced("queue broadcast", self._publish_queue)
        self.presence_broadcast = Coalesced("presence broadcast", self._publish_presence)
        self._sweeper: asyncio.Task[None] | None = None
        self._every_sweep: list[Callable[[], Awaitable[None]]] = []
        self._stopping = asyncio.Event()
        self._sampled_minute: datetime | None = None  # the last minute this process sampled
        self._told: dict[int, dict[str, int | None]] = {}  # the place each waiting resident heard

    # --- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        if self.settings.is_sqlite:
            # The embedded default is one process: connections recorded by an earlier run
            # are gone with it.
            await self.database.run(
                presence.forget_connections_of_other_servers,
                server_id=self.server_id,
                now=self.clock(),
                grace=self.settings.agent_grace,
            )
            await self.database.run(
                resident_presence.forget_resident_connections_of_other_servers,
                server_id=self.server_id,
                now=self.clock(),
            )
        self._sweeper = asyncio.create_task(self._sweep_forever())
        self.routing.request()

    async def close(self) -> None:
        if self._sweeper is not None:
            # Let a sweep in progress finish: cancelled inside a database call, asyncpg's
            # clean-up of the transaction it held could outlast the shutdown.
            self._stopping.set()
            try:
                await asyncio.wait_for(asyncio.shield(self._sweeper), timeout=10)
            except TimeoutError:
                self._sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._sweeper
        for job in (self.routing, self.queue_broadcast, self.presence_broadcast):
            await job.close()

    async def settle(self) -> None:
        """Wait until routing and broadcasts requested so far have run (for tests)."""
        for job in (self.routing, self.queue_broadcast, self.presence_broadcast):
            await job.wait()

    # --- what changed ------------------------------------------------------------------------

    def mail_queued(self) -> None:
        """A mail was committed to the outbox: have it sent soon."""
        self.mailer.wake()

    def webhook_queued(self) -> None:
        """A webhook event was committed to its outbox: have it sent soon."""
        if self.webhooks is not None:
            self.webhooks.wake()

    def queue_changed(self) -> None:
        """A conversation joined or left the queue: route, then show the queue again."""
        self.routing.request()
        self.queue_broadcast.request()

    def presence_changed(self) -> None:
        """An agent's status, connection or load changed: route, and show everyone's."""
        self.routing.request()
        self.presence_broadcast.request()
        self.queue_broadcast.request()  # the estimated waits depend on who is available

    # --- jobs ------------------------------------------------------------------------------------

    async def _route(self) -> None:
        # Who was given what is published by the transaction itself (notices).
        while len(await self.database.run(queue.drain_queue, now=self.clock())) == 100:
            pass

    async def _publish_queue(self) -> None:
        entries, total = await self.database.run(queue.queue_view, now=self.clock())
        await self.events.to_all_staff(
            "queue", {"queue": [e.as_dict() for e in entries], "total": total}
        )
        # Residents hear only about a change of their own place (or of its estimate).
        told = {}
        for entry in entries:
            place = _position(entry)
            told[entry.chat.id] = place
            if self._told.get(entry.chat.id) != place:
                await self.events.to_resident(entry.chat.id, "queue", place)
        self._told = told

    async def _publish_presence(self) -> None:
        agents = await self.database.run(presence.agents_overview)
        await self.events.to_all_staff("agents", {"agents": [a.as_dict() for a in agents]})

    async def _sweep_forever(self) -> None:
        while not self._stopping.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.settings.sweep_seconds)
                return  # stopping
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except DATABASE_DOWN as exc:
                log.warning("sweep: database unavailable: %s", exc)
            except Exception:
                log.exception("sweep failed")

    async def sweep(self) -> None:
        """Keep connections alive, end lapsed grace periods, close idle chats, turn waiting
        chats whose resident left into messages, route."""
        now = self.clock()
        stale_after = max(
            self.settings.agent_grace / 2,
            timedelta(
                seconds=max(self.settings.process_dead_seconds, 6 * self.settings.sweep_seconds)
            ),
        )
        gone = await self.database.run(
            presence.heartbeat,
            server_id=self.server_id,
            now=now,
            stale_after=stale_after,
            grace=self.settings.agent_grace,
        )
        if gone:
            log.info("staff %s lost their connections with a server that stopped", gone)
        await self.database.run(
            resident_presence.resident_heartbeat,
            server_id=self.server_id,
            now=now,
            stale_after=stale_after,
        )
        # Each transaction publishes what it did (notices): residents told, slots refilled.
        await self.database.run(presence.expire_graces, now=now)
        for ended in await self.database.run(
            handling.close_idle, now=now, idle_after=self.settings.idle_close
        ):
            log.info("conversation %d closed after being idle", ended.conversation.id)
        for abandoned in await self.database.run(
            abandoned_chats.abandon_waiting,
            now=now,
            after=self.settings.queue_abandon,
            calendar=self.calendar,
            center=self.center(),
            mail_per_address_per_day=self.settings.mail_per_address_per_day,
        ):
            log.info(
                "conversation %d left the queue as message %d: its resident had gone",
                abandoned.conversation_id,
                abandoned.message_id,
            )
        await self._sample_staffing(now)
        self.routing.request()
        for job in self._every_sweep:
            await job()

    async def _sample_staffing(self, now: datetime) -> None:
        """Once a minute, the agents on duty (for the reports); the first process to sample a
        minute writes it, the others' insert finds it there."""
        minute = now.replace(second=0, microsecond=0)
        if minute == self._sampled_minute:
            return
        await self.database.run(presence.record_staffing, now=now, zone=self.calendar.zone)
        self._sampled_minute = minute

    def every_sweep(self, job: Callable[[], Awaitable[None]]) -> None:
        """Run `job` at the end of each sweep (its errors are the sweep's)."""
        self._every_sweep.append(job)


DISPATCHER = web.AppKey("dispatcher", Dispatcher)


def _position(entry: queue.QueueEntry) -> dict[str, int | None]:
    return {"position": entry.position, "estimated_wait_seconds": entry.estimated_wait_seconds}
