"""The app factory: everything the service is, built from one Settings object."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator

from aiohttp import web

from chatsvc.actions.canned import CannedText, load_starter_canned, load_starter_translations
from chatsvc.actions.service_requests.views import RequestPolicy
from chatsvc.bot.runtime import Assistant
from chatsvc.catalogue.canned import placeholder_values
from chatsvc.catalogue.knowledge import KnowledgeBaseError
from chatsvc.clock import Clock, utc_now
from chatsvc.db.database import Database
from chatsvc.hours import BusinessCalendar
from chatsvc.mail_in.server import MailIn
from chatsvc.outbox.mail_words import MailWords
from chatsvc.settings import Settings
from chatsvc.transport.agent import AgentNamespace
from chatsvc.transport.dispatch import DISPATCHER, Dispatcher
from chatsvc.transport.events import Events
from chatsvc.transport.help_center import add_help_routes
from chatsvc.transport.http import add_routes, body_deadline_middleware, error_middleware
from chatsvc.transport.mail_links import add_mail_link_routes
from chatsvc.transport.monthly_report import add_monthly_report_routes
from chatsvc.transport.open311 import add_open311_routes
from chatsvc.transport.publish import Publisher
from chatsvc.transport.reports import add_report_routes
from chatsvc.transport.resident import ResidentNamespace
from chatsvc.transport.socket_server import RedisManager, create_socket_server
from chatsvc.transport.staff import add_staff_routes, forget_sign_in_attempts
from chatsvc.transport.state import (
    ASSISTANT,
    CALENDAR,
    CLOCK,
    DATABASE,
    REQUEST_POLICY,
    SETTINGS,
    SIO,
)
from chatsvc.transport.uploads import add_upload_routes, delete_unfiled_photos
from chatsvc.workers.mailer import MAILER, Mailer
from chatsvc.workers.webhooks import WEBHOOK_SENDER, WebhookSender

log = logging.getLogger("chatsvc.app")

PUBLISH_DRAIN_SECONDS = 5  # stopping: how long events may take to reach Redis


def create_app(settings: Settings, *, clock: Clock = utc_now) -> web.Application:
    """Build the aiohttp application with its Socket.IO server; open nothing yet."""
    app = web.Application(
        # The error middleware outermost: it renders whatever the handlers and the others raise.
        middlewares=[error_middleware, body_deadline_middleware],
        client_max_size=1024**2,
        # aiohttp closes a connection whose request has not fully arrived (a request line and
        # headers sent halfway, then nothing), and an idle keep-alive one, after this long; its
        # default is an hour, so half-sent requests held sockets open "indefinitely".
        # A slow body has a deadline of its own (body_deadline_middleware). The rest of a body
        # its handler did not read (it answered first) is read and dropped after the answer for
        # at most lingering_time (aiohttp's default 10 s), never longer than a body may take.
        handler_args={
            "keepalive_timeout": settings.http_idle_timeout_seconds,
            "lingering_time": min(10.0, settings.http_body_seconds),
        },
    )
    database = Database(settings)
    assistant = Assistant(settings.knowledge_base)
    sio = create_socket_server(settings)
    mailer = Mailer(database, settings, clock, center=lambda: assistant.index.kb.center)
    webhook_sender = WebhookSender(database, settings, clock)
    calendar = BusinessCalendar.from_settings(settings)
    dispatcher = Dispatcher(
        database,
        Events(sio),
        mailer,
        settings,
        clock,
        webhooks=webhook_sender,
        calendar=calendar,
        center=lambda: assistant.index.kb.center,
    )
    # What a transaction records reaches clients once it commits, through one mapping.
    database.publish = Publisher(dispatcher).publish

    def request_policy() -> RequestPolicy:
        # The topics and fields of the knowledge base as it is now (it reloads when edited).
        return RequestPolicy(
            assistant.index.kb,
            calendar,
            webhook_workgroups=webhook_sender.workgroups,
            mail_per_address_per_day=settings.mail_per_address_per_day,
            status_misses_per_number_per_day=settings.status_misses_per_number_per_day,
            status_misses_per_address_per_day=settings.status_misses_per_address_per_day,
            filings_per_address_per_day=settings.filings_per_address_per_day,
        )

    resident = ResidentNamespace(
        database, assistant, dispatcher, calendar, settings, clock, request_policy
    )
    sio.register_namespace(resident)
    agent = AgentNamespace(
        database, assistant, dispatcher, settings, clock, request_policy, calendar
    )
    sio.register_namespace(agent)
    dispatcher.every_sweep(agent.end_lapsed_sessions)
    dispatcher.every_sweep(resident.mail_unread_replies)
    dispatcher.every_sweep(functools.partial(delete_unfiled_photos, app))
    dispatcher.every_sweep(functools.partial(forget_sign_in_attempts, app))
    sio.attach(app)

    app[SETTINGS] = settings
    app[DATABASE] = database
    app[ASSISTANT] = assistant
    app[SIO] = sio
    app[CLOCK] = clock
    app[CALENDAR] = calendar
    app[DISPATCHER] = dispatcher
    app[MAILER] = mailer
    app[WEBHOOK_SENDER] = webhook_sender
    app[REQUEST_POLICY] = request_policy
    if settings.mail_in_port is not None:
        app[MAIL_IN] = MailIn(database, settings, clock, calendar, request_policy)
    add_routes(app)
    add_staff_routes(app)
    add_help_routes(app)
    add_report_routes(app)
    add_monthly_report_routes(app)
    add_open311_routes(app)
    add_mail_link_routes(app)
    add_upload_routes(app)
    app.on_shutdown.append(_disconnect_clients)
    app.cleanup_ctx.append(_publishing_ctx)
    app.cleanup_ctx.append(_assistant_ctx)
    app.cleanup_ctx.append(_database_ctx)
    app.cleanup_ctx.append(_starter_canned_ctx)
    app.cleanup_ctx.append(_dispatcher_ctx)
    app.cleanup_ctx.append(_mailer_ctx)
    app.cleanup_ctx.append(_webhooks_ctx)
    app.cleanup_ctx.append(functools.partial(_answers_ctx, resident))
    app.cleanup_ctx.append(_mail_in_ctx)
    return app


MAIL_IN = web.AppKey("mail_in", MailIn)


async def _mail_in_ctx(app: web.Application) -> AsyncIterator[None]:
    # Replies by email (CHATSVC_MAIL_IN_PORT set): once the database is open; stops first.
    mail_in = app.get(MAIL_IN)
    if mail_in is not None:
        await mail_in.start()
    try:
        yield
    finally:
        if mail_in is not None:
            await mail_in.close()


async def _disconnect_clients(app: web.Application) -> None:
    # Stopping: open WebSockets and polls would hold the shutdown for aiohttp's whole timeout.
    # Closed now, their clients reconnect (to another process, behind a load balancer) while
    # this one finishes; the database is still open for the disconnect handlers.
    sio = app[SIO]
    # Not eio.disconnect(): it waits for each close packet to be fetched, and a long-polling
    # client that went quiet never fetches it.
    sockets = list(sio.eio.sockets.values())
    await asyncio.gather(*(s.close(wait=False) for s in sockets), return_exceptions=True)
    await sio.shutdown()


async def _publishing_ctx(app: web.Application) -> AsyncIterator[None]:
    # Exits last: what the other contexts emitted while stopping still reaches other processes.
    yield
    manager = app[SIO].manager
    if isinstance(manager, RedisManager):
        try:
            await asyncio.wait_for(manager.drain(), PUBLISH_DRAIN_SECONDS)
        except TimeoutError:
            log.warning("stopped before Redis took every event for the other processes")


async def _answers_ctx(resident: ResidentNamespace, _app: web.Application) -> AsyncIterator[None]:
    # Exits before the database closes: answers in progress finish first.
    yield
    await resident.close()


async def _dispatcher_ctx(app: web.Application) -> AsyncIterator[None]:
    # Starts once the database is open; stops before it closes.
    dispatcher = app[DISPATCHER]
    await dispatcher.start()
    try:
        yield
    finally:
        await dispatcher.close()


async def _mailer_ctx(app: web.Application) -> AsyncIterator[None]:
    # The outbox's sender: starts once the database is open, stops before it closes.
    mailer = app[MAILER]
    await mailer.start()
    try:
        yield
    finally:
        await mailer.close()


async def _webhooks_ctx(app: web.Application) -> AsyncIterator[None]:
    # Checked against the topic catalogue, so it starts once the knowledge base is loaded.
    sender = app[WEBHOOK_SENDER]
    kb = app[ASSISTANT].index.kb
    sender.configure({topic.workgroup for topic in kb.topics.values()})
    await sender.start()
    try:
        yield
    finally:
        await sender.close()


async def _assistant_ctx(app: web.Application) -> AsyncIterator[None]:
    assistant = app[ASSISTANT]
    try:
        assistant.open()
    except KnowledgeBaseError as exc:
        raise RuntimeError(
            f"the knowledge base at {assistant.root} is broken: " + "; ".join(exc.problems)
        ) from None
    watcher = asyncio.create_task(assistant.watch(app[SETTINGS].knowledge_base_poll_seconds))
    try:
        yield
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


async def _starter_canned_ctx(app: web.Application) -> AsyncIterator[None]:
    # A new installation starts with the knowledge base's canned responses (canned.toml), its
    # placeholders filled in from center.toml and the business hours. Once the database and
    # the knowledge base are open; once per database, whichever process is first.
    kb = app[ASSISTANT].index.kb
    values = placeholder_values(kb.center, app[CALENDAR].describe_hours())
    starters = [CannedText(c.shortcut, c.title, c.filled(values)) for c in kb.canned]
    loaded = await app[DATABASE].run(load_starter_canned, starters=starters, now=app[CLOCK]())
    if loaded:
        log.info(
            "loaded %d starter canned responses from %s: %s",
            len(loaded),
            kb.source,
            ", ".join(f"/{c.shortcut}" for c in loaded),
        )
    # Their versions in other languages (es/canned.toml), the placeholders in that language.
    for code, pack in kb.languages.items():
        words = MailWords(code, kb.center, app[CALENDAR])
        filled = {
            **placeholder_values(kb.center, words.hours()),
            "center": words.center_name,
            "city": words.name(kb.center.city),
        }
        translated = [CannedText(c.shortcut, c.title, c.filled(filled)) for c in pack.canned]
        given = await app[DATABASE].run(
            load_starter_translations, language=code, starters=translated, now=app[CLOCK]()
        )
        if given:
            log.info("loaded the %s canned responses: %s", code, ", ".join(f"/{s}" for s in given))
    yield


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    database = app[DATABASE]
    await database.open()
    try:
        yield
    finally:
        await database.close()
