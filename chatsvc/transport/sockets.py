"""Socket.IO: the server, the one decorator every event handler goes through, and publishing."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, TypeVar

import redis.asyncio
import socketio

from chatsvc.errors import InvalidPayload, UnknownEvent
from chatsvc.settings import Settings
from chatsvc.transport.errors import client_error, render_error
from chatsvc.transport.payloads import Payload, parse_payload

log = logging.getLogger("chatsvc.sockets")

P = TypeVar("P", bound=Payload)
N = TypeVar("N", bound=socketio.AsyncNamespace)
Handler = Callable[[N, str, P], Awaitable[Mapping[str, Any]]]


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
    """python-socketio's Redis manager, publishing in batches, in order, without holding emits.

    The stock manager publishes each emit on its own, and the emit waits for Redis. Here an
    emit queues its message and returns once its own process's clients have it; one task
    publishes whatever has queued meanwhile as one Redis message, in the order emitted. A chat
    message's two emits (to the resident's tabs, to the staff) cost one publish, one Redis
    round trip and one decode in every process, and a burst (routing 200 chats at once) a few.
    Each process skips its own batches unread. Redis down delays and loses only the fan-out,
    never an emit's caller (the stock manager logs and drops then too). If Redis falls behind,
    emits wait for the queue to drain below PUBLISH_QUEUE_LIMIT, so memory stays bounded.

    The stock pool also refused past its maximum ("Too many connections") and built a new
    client for each retry; this one waits for a free connection instead.
    """

    def __init__(self, url: str, channel: str = "socketio", write_only: bool = False):
        super().__init__(url, channel=channel, write_only=write_only)
        self._queued: list[dict[str, Any]] = []
        self._publisher: asyncio.Task[None] | None = None

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

    async def _publish(self, data: dict[str, Any]) -> None:
        self._queued.append(data)
        if self._publisher is None or self._publisher.done():
            self._publisher = asyncio.get_running_loop().create_task(self._publish_queued())
        while len(self._queued) > PUBLISH_QUEUE_LIMIT and not self._publisher.done():
            await asyncio.shield(self._publisher)

    async def _publish_queued(self) -> None:
        while self._queued:
            batch = self._queued[:PUBLISH_BATCH]
            del self._queued[:PUBLISH_BATCH]
            # The stock publish: it reconnects and retries once, then logs and drops.
            await super()._publish({"host_id": self.host_id, "method": "batch", "messages": batch})

    async def drain(self) -> None:
        """Wait until everything emitted so far has been published (or given up on)."""
        while self._publisher is not None and not self._publisher.done():
            await asyncio.shield(self._publisher)

    async def _listen(self) -> AsyncIterator[Any]:
        # How this process's batches begin: {"host_id": "<its id>", ...
        own_prefix = str(self.json.dumps({"host_id": self.host_id}))[:-1].encode() + b","
        async for data in super()._listen():
            if isinstance(data, bytes) and data.startswith(own_prefix):
                # This process's own batch: its clients already have it. (Each message in it
                # carries the host id too, so the library would skip them: this saves decoding.)
                continue
            try:
                message = self.json.loads(data)
            except ValueError:
                continue
            if isinstance(message, dict) and message.get("method") == "batch":
                for one in message.get("messages") or ():
                    if isinstance(one, dict):
                        yield one
            else:
                yield message  # from a stock python-socketio emitter on the same channel


REDIS_CONNECTIONS = 4  # per process: one subscribes, one publishes, two to spare
REDIS_WAIT_SECONDS = 5.0  # for a free connection, before a publish gives up
PUBLISH_BATCH = 500  # messages in one Redis publish at most
PUBLISH_QUEUE_LIMIT = 10_000  # emits queued for Redis before emitting waits


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
            except Exception as exc:
                where = f"{self.namespace} {event}"
                if client_error(exc) is None and not self.server.manager.is_connected(
                    sid, self.namespace
                ):
                    # The client left while its event was being handled (a page reload), and
                    # the handler tripped over its missing session: nobody waits for an answer.
                    log.info("%s: the client left first (%r)", where, exc)
                    return render_error(exc)[1]
                return render_error(exc, log=log, where=where)[1]

        return run

    return wrap
