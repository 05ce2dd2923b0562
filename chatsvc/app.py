"""The app factory: everything the service is, built from one Settings object."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from .settings import Settings
from .transport.http import add_routes, error_middleware
from .transport.resident import ResidentNamespace
from .transport.sockets import create_socket_server
from .transport.state import CLOCK, DATABASE, SETTINGS, SIO, Clock, Database, utc_now


def create_app(settings: Settings, *, clock: Clock = utc_now) -> web.Application:
    """Build the aiohttp application with its Socket.IO server; open nothing yet."""
    app = web.Application(middlewares=[error_middleware], client_max_size=1024**2)
    database = Database(settings)
    sio = create_socket_server(settings)
    sio.register_namespace(ResidentNamespace(database, settings, clock))
    sio.attach(app)

    app[SETTINGS] = settings
    app[DATABASE] = database
    app[SIO] = sio
    app[CLOCK] = clock
    add_routes(app)
    app.cleanup_ctx.append(_database_ctx)
    return app


async def _database_ctx(app: web.Application) -> AsyncIterator[None]:
    database = app[DATABASE]
    await database.open()
    try:
        yield
    finally:
        await database.close()
