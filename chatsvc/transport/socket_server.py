"""The Socket.IO server and the guards a public service needs before any handler runs.

Connections counted per client address, each connection's address kept, reserved event names
refused, packets that do not decode (or nest too deep) closed quietly, long-polling bodies
checked, and events to other processes published through Redis in batches. Handlers and their
decorator are in sockets.py.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sys
from collections.abc import AsyncIterator, Mapping
from typing import Any

import engineio
import redis.asyncio
import socketio
from aiohttp import web

from chatsvc.errors import UnknownEvent
from chatsvc.settings import Settings
from chatsvc.transport.addresses import client_address
from chatsvc.transport.limits import EventLimits

log = logging.getLogger("chatsvc.sockets")


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


# The environ key under which a connection's client address is kept (see connection_address).
ADDRESS = "chatsvc.address"
# Names the Socket.IO protocol keeps for itself: a client's event is never one of them.
RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)


def connection_address(settings: Settings, environ: Mapping[str, Any]) -> str:
    """The address a connection comes from (`addresses.client_address`).

    python-engineio's aiohttp driver sets REMOTE_ADDR to 127.0.0.1 for everyone: the peer is
    read from the aiohttp request of the handshake.
    """
    request = environ.get("aiohttp.request")
    peer = str(getattr(request, "remote", None) or "")
    return client_address(settings, peer, environ.get("HTTP_X_FORWARDED_FOR", ""))


class MalformedPacket(ValueError):
    """A Socket.IO packet that does not decode: bad JSON, nested too deep, an unknown type."""


class Packet(socketio.packet.Packet):
    """python-socketio's packet, whose decoding failures are one kind of error, not a bug.

    The stock packet lets a ValueError or RecursionError (JSON nested 20,000 deep) escape, and
    python-engineio logs each one's traceback at ERROR: a stranger could fill the log.
    """

    packet_types = range(7)  # CONNECT .. BINARY_ACK

    def decode(self, encoded_packet: Any) -> int:
        try:
            attachments = int(super().decode(encoded_packet))
        except (ValueError, TypeError, RecursionError) as exc:
            raise MalformedPacket(type(exc).__name__) from None
        if self.packet_type not in self.packet_types:
            raise MalformedPacket("unknown packet type")
        return attachments


class EngineLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """python-engineio's logger, where a client's unknown packet type is one INFO line.

    Stock, a websocket frame of an unknown Engine.IO type ("7") logged a full traceback at
    ERROR ("Unknown receive error") for each frame. Every other record passes unchanged.
    """

    def exception(self, msg: object, *args: Any, **kwargs: Any) -> None:
        exc = sys.exc_info()[1]
        if msg == "Unknown receive error" and isinstance(exc, IndexError | ValueError | KeyError):
            log.info("unknown Engine.IO packet ignored (%s)", type(exc).__name__)
            return
        super().exception(msg, *args, **kwargs)


class _Body:
    """A long-polling POST's body, read and checked already, for python-engineio to read."""

    def __init__(self, body: bytes):
        self._body = body

    async def read(self, size: int = -1) -> bytes:
        body, self._body = self._body, b""
        return body


class EngineServer(engineio.AsyncServer):
    """python-engineio's server, refusing a bad long-polling POST at once.

    Stock, a POST over the size limit with no GET pending never got an answer (closing the
    session waited for a GET to take the close packet), and invalid UTF-8 logged a traceback
    and answered 200 with the packets dropped. Both now answer 400 and end the session.
    """

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        drivers: dict[str, Any] = self.__dict__["_async"]  # the async driver's functions
        translate = drivers["translate_request"]

        def translate_request(request: web.Request) -> dict[str, Any]:
            environ: dict[str, Any] = translate(request)
            if BODY in request:
                environ["wsgi.input"] = _Body(request[BODY])
            return environ

        self._async = {**drivers, "translate_request": translate_request}

    async def handle_request(self, request: web.Request) -> Any:
        sid = request.query.get("sid")
        if request.method == "POST" and sid and request.content_length is not None:
            if request.content_length > self.max_http_buffer_size:
                return await self._refuse_post(sid, "the request is over the size limit")
            body = await request.read()
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                return await self._refuse_post(sid, "the request is not UTF-8")
            request[BODY] = body
        return await super().handle_request(request)

    async def _refuse_post(self, sid: str, why: str) -> web.Response:
        log.info("long-polling POST refused (%s): session closed", why)
        socket = self.sockets.pop(sid, None)
        if socket is not None:
            await socket.close(wait=False, abort=True, reason=self.reason.TRANSPORT_ERROR)
        return web.Response(status=400, text=why)


BODY = web.RequestKey("chatsvc_polling_body", bytes)


class ChatServer(socketio.AsyncServer):
    """python-socketio's server with the guards a public service needs in front of handlers.

    It counts connections per client address (refusing past CONNECTIONS_PER_ADDRESS), keeps
    each connection's address in its environ (ADDRESS) and the event limits, and refuses
    event names the protocol reserves: a client's "connect" must never reach on_connect.
    """

    def __init__(self, settings: Settings, **kwargs: Any):
        super().__init__(serializer=Packet, **kwargs)
        self.settings = settings
        self.limits = EventLimits(settings)
        self._addresses: dict[str, str] = {}  # engine.io sid -> client address
        self._per_address: dict[str, int] = {}  # client address -> connections open

    def _engineio_server_class(self) -> type[EngineServer]:
        return EngineServer

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        address = connection_address(self.settings, environ)
        if self._per_address.get(address, 0) >= self.settings.connections_per_address:
            log.debug("connection refused: too many from one address")  # a flood: no log flood
            return False
        self._per_address[address] = self._per_address.get(address, 0) + 1
        self._addresses[eio_sid] = address
        environ[ADDRESS] = address
        return await super()._handle_eio_connect(eio_sid, environ)

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except MalformedPacket as exc:
            # Like the reference server: a packet that does not decode closes the connection.
            log.info("malformed packet (%s): connection closed", exc)
            self._binary_packet.pop(eio_sid, None)
            await self.eio.disconnect(eio_sid)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any) -> None:
        try:
            await super()._handle_eio_disconnect(eio_sid, reason)
        finally:
            self.limits.forget(eio_sid)
            address = self._addresses.pop(eio_sid, None)
            if address is not None:
                left = self._per_address.pop(address, 1) - 1
                if left > 0:
                    self._per_address[address] = left

    async def _handle_event(self, eio_sid: str, namespace: str | None, id: Any, data: Any) -> None:
        event = data[0] if isinstance(data, list) and data else None
        if isinstance(event, str) and event not in RESERVED_EVENTS:
            await super()._handle_event(eio_sid, namespace, id, data)
            return
        namespace = namespace or "/"
        log.info("%s unknown event refused", namespace)
        sid = self.manager.sid_from_eio_sid(eio_sid, namespace)
        if id is not None and self.manager.is_connected(sid, namespace):
            name = event[:40] if isinstance(event, str) else event
            error = UnknownEvent(f"unknown event {name!r}").as_dict()
            await self._send_packet(
                eio_sid,
                self.packet_class(socketio.packet.ACK, namespace=namespace, id=id, data=[error]),
            )


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


def create_socket_server(settings: Settings) -> ChatServer:
    """Create the Socket.IO server with the origin check and payload limit from settings."""
    # With several processes each one's events must reach the clients of the others: they go
    # through Redis pub/sub. One process keeps them in memory.
    manager = (
        RedisManager(settings.redis_url, channel=settings.redis_channel)
        if settings.redis_url
        else None
    )
    engine_log = logging.getLogger("engineio.server")
    if engine_log.level == logging.NOTSET:
        engine_log.setLevel(logging.ERROR)  # what python-engineio sets when given no logger
    return ChatServer(
        settings,
        client_manager=manager,
        async_mode="aiohttp",
        cors_allowed_origins=functools.partial(origin_allowed, settings),
        max_http_buffer_size=settings.max_payload_bytes,
        logger=False,
        engineio_logger=EngineLog(engine_log, {}),
    )
