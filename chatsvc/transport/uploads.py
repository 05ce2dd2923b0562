"""Photo uploads from the widget: the one resident action that is HTTP, not Socket.IO.

A photo (up to 10 MB) is too big for a Socket.IO message. The widget POSTs the file's bytes
as the body with the conversation token in a header; the photo's message and the assistant's
next line come back in the response and to the conversation's other connections as message
events. The widget fetches the photo back, with the token in the same header, to show it.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from aiohttp import web

from chatsvc.actions import photos
from chatsvc.actions.service_requests import photos as request_photos
from chatsvc.actions.service_requests.photos import MAX_PHOTO_BYTES, InvalidPhoto, PhotoTooLarge
from chatsvc.errors import InvalidPayload, RateLimited
from chatsvc.images import CleanImage, NotAnImage, TooManyPixels, clean_image
from chatsvc.settings import Rate, Settings
from chatsvc.transport.addresses import request_address
from chatsvc.transport.errors import client_error, render_error
from chatsvc.transport.http import OWN_BODY_DEADLINE
from chatsvc.transport.limits import Bucket
from chatsvc.transport.socket_server import origin_allowed
from chatsvc.transport.state import ASSISTANT, CLOCK, DATABASE, SETTINGS

log = logging.getLogger("chatsvc.uploads")

TOKEN_HEADER = "X-Chat-Token"
PHOTO_PATH = r"/resident/photos/{photo_id:\d{1,15}}"
CHUNK = 64 * 1024
TOO_LARGE = "The photo is too large: up to 10 MB, please."


class UploadsBusy(RateLimited):
    """Too many uploads at once (from this address, or in all): try again in a moment."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, retry_after=retry_after)
        self.retry_after: int = retry_after


DRAINS = Rate(4, 20)  # refused uploads whose bodies are read to the end: a burst, then a minute
# A resident's photos shown in their chat, per address: a reload shows every photo of the chat
# again (at most 20), several people may share an address; a flood of fetches is refused.
PHOTO_VIEWS = Rate(60, 120)
MAX_VIEW_ADDRESSES = 10_000  # buckets remembered; the least recently used are forgotten


class UploadGate:
    """How many photo bodies are being received, overall and per address, and how many photos
    each address sent in the last hour (in this process).

    A body is held in memory while it arrives (up to 10 MB): the gate bounds how many are.
    Excess uploads are refused at once, before their body is read.
    """

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic):
        self.at_once = settings.uploads_at_once
        self.per_address = settings.uploads_at_once_per_address
        self.per_hour = settings.photos_per_address_per_hour
        self.clock = clock
        self.receiving: dict[str, int] = {}
        self.received: dict[str, deque[float]] = {}
        self._drains = Bucket(DRAINS.burst, clock())
        self._views: dict[str, Bucket] = {}  # address -> its bucket, least recently used first

    def check_view(self, address: str) -> None:
        """Count one photo shown to `address`, or raise UploadsBusy (PHOTO_VIEWS)."""
        now = self.clock()
        bucket = self._views.pop(address, None) or Bucket(PHOTO_VIEWS.burst, now)
        self._views[address] = bucket
        if len(self._views) > MAX_VIEW_ADDRESSES:
            del self._views[next(iter(self._views))]
        wait = bucket.take(PHOTO_VIEWS, now)
        if wait:
            raise UploadsBusy("Too many photos asked for: try again shortly.", math.ceil(wait))

    def may_drain(self) -> bool:
        """Tell whether a refused upload's body may be read to its end (and dropped).

        Reading what a browser is still sending lets it see the refusal (closed at once, a
        connection with unread data is reset, and the answer may be lost); but it costs the
        event loop the whole body, up to 10 MB. A few refusals a minute are drained; beyond,
        a flood's connections are answered and closed without reading their bodies.
        """
        return not self._drains.take(DRAINS, self.clock())

    @property
    def in_progress(self) -> int:
        """How many uploads hold a place now."""
        return sum(self.receiving.values())

    @asynccontextmanager
    async def place(self, address: str) -> AsyncIterator[None]:
        """Hold a place for one upload from `address`, or raise UploadsBusy."""
        self._check_hourly(address)
        if self.receiving.get(address, 0) >= self.per_address:
            raise UploadsBusy("You are already sending photos: wait for them to finish.", 5)
        if self.in_progress >= self.at_once:
            raise UploadsBusy("Many photos are being sent right now: try again shortly.", 5)
        self.receiving[address] = self.receiving.get(address, 0) + 1
        try:
            yield
        finally:
            self.receiving[address] -= 1
            if not self.receiving[address]:
                del self.receiving[address]

    def photo_received(self, address: str) -> None:
        """Count a photo received from `address` against its hourly quota, whether or not it
        is stored: decoding is the work the quota bounds."""
        self.received.setdefault(address, deque()).append(self.clock())

    def _check_hourly(self, address: str) -> None:
        received = self.received.get(address)
        if received is None:
            return
        hour_ago = self.clock() - 3600
        while received and received[0] <= hour_ago:
            received.popleft()
        if not received:
            del self.received[address]
        elif len(received) >= self.per_hour:
            wait = max(1, math.ceil(received[0] - hour_ago))
            raise UploadsBusy("You have sent many photos in the last hour: please wait.", wait)


UPLOAD_GATE = web.AppKey("upload_gate", UploadGate)
DECODERS = web.AppKey("photo_decoders", ThreadPoolExecutor)


def add_upload_routes(app: web.Application) -> None:
    """Wire the photo upload route (and its CORS preflight) into the app."""
    settings = app[SETTINGS]
    app[UPLOAD_GATE] = UploadGate(settings)
    app[DECODERS] = ThreadPoolExecutor(
        settings.photo_decode_workers, thread_name_prefix="photo-decoder"
    )
    app.on_cleanup.append(_stop_decoders)
    app.router.add_route("OPTIONS", "/resident/photos", preflight)
    app.router.add_post("/resident/photos", upload_photo)
    app.router.add_route("OPTIONS", PHOTO_PATH, preflight)
    app.router.add_get(PHOTO_PATH, chat_photo)
    # Its body is streamed with its own deadline (CHATSVC_UPLOAD_SECONDS), after the checks
    # that need none of it.
    app[OWN_BODY_DEADLINE].add(upload_photo)


async def _stop_decoders(app: web.Application) -> None:
    app[DECODERS].shutdown(wait=True, cancel_futures=True)


async def delete_unfiled_photos(app: web.Application) -> None:
    """Delete the photos no request took within CHATSVC_UNFILED_PHOTO_HOURS (each sweep)."""
    while deleted := await app[DATABASE].run(
        request_photos.delete_unfiled_photos,
        now=app[CLOCK](),
        older_than=app[SETTINGS].unfiled_photo_ttl,
    ):
        log.info("deleted %d photos no request took", deleted)


async def preflight(request: web.Request) -> web.Response:
    """Let a city page on another allowed origin send the token header."""
    headers = _cors(request)
    if not headers:
        return web.Response(status=403)
    headers.update(
        {
            "Access-Control-Allow-Methods": "GET" if "photo_id" in request.match_info else "POST",
            "Access-Control-Allow-Headers": f"{TOKEN_HEADER}, Content-Type",
            "Access-Control-Max-Age": "600",
        }
    )
    return web.Response(status=204, headers=headers)


async def upload_photo(request: web.Request) -> web.Response:
    """Take a photo for the request the resident is filing in their chat.

    Everything that can refuse the upload without its body does so before a byte of it is
    read: the token's form, a place at the gate, the declared size, the chat itself.
    """
    cors = _cors(request)
    app = request.app
    settings = app[SETTINGS]
    address = request_address(request, request.app[SETTINGS])
    kb = app[ASSISTANT].index.kb
    try:
        token = request.headers.get(TOKEN_HEADER, "")
        if not 20 <= len(token) <= 100:
            raise InvalidPayload(f"the {TOKEN_HEADER} header must hold the chat's token")
        if request.content_length is not None and request.content_length > MAX_PHOTO_BYTES:
            raise PhotoTooLarge(TOO_LARGE)
        async with app[UPLOAD_GATE].place(address):
            await app[DATABASE].run(
                photos.check_photo_upload,
                token=token,
                kb=kb,
                per_conversation=settings.photos_per_conversation,
            )
            async with asyncio.timeout(settings.upload_seconds):
                data = await _read_body(request)
            app[UPLOAD_GATE].photo_received(address)
            image = await _decode(app, data, settings.photo_max_pixels)
            del data
            turn = await app[DATABASE].run(
                photos.add_photo,
                token=token,
                image=image,
                kb=kb,
                now=app[CLOCK](),
                per_conversation=settings.photos_per_conversation,
            )
    except Exception as exc:
        if isinstance(exc, TimeoutError):
            exc = InvalidPayload("The photo took too long to arrive. Try again.")
        if client_error(exc) is None:
            raise  # a bug, or the client went away: the error middleware's to tell
        status, body = render_error(exc, log=log, where=f"{request.method} {request.path}")
        headers = dict(cors)
        if isinstance(exc, UploadsBusy):
            headers["Retry-After"] = str(exc.retry_after)  # also in the body (as_dict)
        response = web.json_response(body, status=status, headers=headers)
        if request.content_length != 0 and not request.content.is_eof():
            # The body was not read: do not wait for it on this connection.
            response.force_close()
            if not app[UPLOAD_GATE].may_drain():
                # Nor read the rest of it (aiohttp would, for up to its lingering time):
                # answered, then closed.
                await response.prepare(request)
                await response.write_eof()
                request.protocol.force_close()
        return response
    conversation_id = turn.conversation.id  # its messages were published on commit
    log.info("conversation %d: photo added (%d bytes)", conversation_id, len(image.data))
    return web.json_response(
        {"ok": True, "messages": [m.as_dict() for m in turn.messages]}, headers=cors
    )


async def chat_photo(request: web.Request) -> web.Response:
    """A photo sent in the chat whose token the request carries, for the resident's browser.

    Served as `request_photo` serves staff: as the image type it was checked to be, never
    rendered as anything else (nosniff; a CSP that runs nothing), and kept by no cache.
    """
    cors = _cors(request)
    app = request.app
    token = request.headers.get(TOKEN_HEADER, "")
    try:
        app[UPLOAD_GATE].check_view(request_address(request, app[SETTINGS]))
        if not 20 <= len(token) <= 100:
            raise InvalidPayload(f"the {TOKEN_HEADER} header must hold the chat's token")
        photo = await app[DATABASE].run(
            photos.chat_photo,
            token=token,
            photo_id=int(request.match_info["photo_id"]),
            now=app[CLOCK](),
            ttl=app[SETTINGS].token_ttl,
        )
    except Exception as exc:
        if client_error(exc) is None:
            raise
        status, body = render_error(exc, log=log, where=f"{request.method} {request.path}")
        headers = dict(cors)
        if isinstance(exc, UploadsBusy):
            headers["Retry-After"] = str(exc.retry_after)
        return web.json_response(body, status=status, headers=headers)
    return web.Response(
        body=photo.data,
        headers={
            **cors,
            "Content-Type": photo.content_type,
            "Content-Disposition": "inline",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
            "Cross-Origin-Resource-Policy": "same-origin",
            "Cache-Control": "private, no-store",
        },
    )


async def _read_body(request: web.Request) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(CHUNK):
        size += len(chunk)
        if size > MAX_PHOTO_BYTES:
            raise PhotoTooLarge(TOO_LARGE)
        chunks.append(chunk)
    if not size:
        raise InvalidPayload("the request body must be the photo's bytes")
    return b"".join(chunks)


async def _decode(app: web.Application, data: bytes, max_pixels: int) -> CleanImage:
    loop = asyncio.get_running_loop()
    try:
        return await loop.run_in_executor(
            app[DECODERS], functools.partial(clean_image, data, max_pixels=max_pixels)
        )
    except TooManyPixels as exc:
        log.info("photo refused: too many pixels (%s)", exc)
        raise InvalidPhoto(
            "That photo is too large in pixels: please send a smaller one."
        ) from None
    except NotAnImage as exc:
        log.info("photo refused: not an image (%s)", exc)
        raise InvalidPhoto("That file is not a JPEG, PNG or WebP photo.") from None


def _cors(request: web.Request) -> dict[str, str]:
    origin = request.headers.get("Origin")
    environ = {
        "HTTP_HOST": request.headers.get("Host", ""),
        "HTTP_X_FORWARDED_HOST": request.headers.get("X-Forwarded-Host", ""),
    }
    if origin and origin_allowed(request.app[SETTINGS], origin, environ):
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {}
