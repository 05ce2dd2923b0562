"""Socket.IO: the server, the one decorator every event handler goes through, and publishing."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import redis.asyncio
import socketio
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from ..errors import ChatError, InvalidPayload, Unavailable, UnknownEvent
from ..settings import Settings
from ..validation import Payload, parse_payload

log = logging.getLogger("chatsvc.sockets")

P = TypeVar("P", bound=Payload)
N = TypeVar("N", bound=socketio.AsyncNamespace)
Handler = Callable[[N, str, P], Awaitable[Mapping[str, Any]]]

DATABASE_DOWN = (OperationalError, InterfaceError, PoolTimeout, OSError)


def origin_allowed(settings: Settings, origin: str | None, environ: Mapping[str, Any]) -> bool:
    """Tell whether a browser on `origin` may talk to residents' endpoints: listed, or our own."""
    if not origin:
        return False
    origin = origin.rstrip("/")
    if origin in settings.allowed_origins:
        return True
    hosts = [environ.get("HTTP_HOST", "")]
    if settings.trust_proxy_headers:
        hosts.append(environ.get("HTTP_X_FORWARDED_HOST", "").split(",")[0].strip())
    return any(origin in (f"http://{h}", f"https://{h}") for h in hosts if h)


class RedisManager(socketio.AsyncRedisManager):
    """python-socketio's Redis manager, publishing through a pool that waits when all are busy.

    Every emit publishes on a pooled connection. The library's pool opens one more connection
    for each emit made while the others are busy and refuses past its maximum ("Too many
    connections"): a burst of emits (routing 200 chats at once) failed to publish, and each
    retry built a new client and pool. A blocking pool makes a burst queue for a connection.
    """

    def _redis_connect(self) -> None:
        pool = redis.asyncio.BlockingConnectionPool.from_url(
            self.redis_url,
            max_connections=REDIS_CONNECTIONS,
            timeout=REDIS_WAIT_SECONDS,
            **self.redis_options,
        )
        self.redis = redis.asyncio.Redis(connection_pool=pool)
        self.pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self.connected = True


REDIS_CONNECTIONS = 16  # per process: one subscribes, the others publish
REDIS_WAIT_SECONDS = 5.0  # for a free connection, before an emit's publish gives up


def create_socket_server(settings: Settings) -> socketio.AsyncServer:
    """Create the Socket.IO server with the origin check and payload limit from settings."""
    # With several processes each one's events must reach the clients of the others: they go
    # through Redis pub/sub. One process keeps them in memory.
    manager = (
        RedisManager(settings.redis_url, channel=settings.redis_channel)
        if settings.redis_url
        else None
    )
    return socketio.AsyncServer(
        client_manager=manager,
        async_mode="aiohttp",
        cors_allowed_origins=functools.partial(origin_allowed, settings),
        max_http_buffer_size=settings.max_payload_bytes,
        logger=False,
        engineio_logger=False,
    )


class Namespace(socketio.AsyncNamespace):
    """A namespace that answers an event it has no handler for with an error ack, not silence.

    Its events are exactly its `on_<event>` methods, so a list of names cannot drift from them.
    """

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in {"connect", "disconnect"} or callable(getattr(self, f"on_{event}", None)):
            return await super().trigger_event(event, *args)
        log.info("%s unknown event refused", self.namespace)
        return UnknownEvent(f"unknown event {event[:40]!r}").as_dict()


def socket_event(
    model: type[P],
) -> Callable[[Handler[N, P]], Callable[..., Awaitable[dict[str, Any]]]]:
    """Validate the payload into `model`, run the handler and turn any outcome into an ack."""

    def wrap(handler: Handler[N, P]) -> Callable[..., Awaitable[dict[str, Any]]]:
        event = handler.__name__.removeprefix("on_")

        @functools.wraps(handler)
        async def run(self: N, sid: str, *args: Any) -> dict[str, Any]:
            try:
                if len(args) > 1:
                    raise InvalidPayload("send exactly one payload object")
                payload = parse_payload(model, args[0] if args else None)
                result = await handler(self, sid, payload)
                return {"ok": True, **result}
            except ChatError as exc:
                log.info("%s %s refused: %s", self.namespace, event, exc.code)
                return exc.as_dict()
            except DATABASE_DOWN as exc:
                log.warning("%s %s: database unavailable: %s", self.namespace, event, exc)
                return Unavailable("The service is briefly unavailable. Try again.").as_dict()
            except DBAPIError as exc:
                if exc.connection_invalidated:
                    log.warning("%s %s: database connection lost", self.namespace, event)
                    return Unavailable("The service is briefly unavailable. Try again.").as_dict()
                log.exception("%s %s failed", self.namespace, event)
                return _internal_error()
            except Exception as exc:
                if not self.server.manager.is_connected(sid, self.namespace):
                    # The client left while its event was being handled (a page reload), and
                    # the handler tripped over its missing session: nobody waits for an answer.
                    log.info("%s %s: the client left first (%r)", self.namespace, event, exc)
                    return _internal_error()
                log.exception("%s %s failed", self.namespace, event)
                return _internal_error()

        return run

    return wrap


def _internal_error() -> dict[str, Any]:
    return {
        "ok": False,
        "error": {"code": "internal_error", "message": "Something went wrong on our side."},
    }
