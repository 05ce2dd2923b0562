"""Photo uploads from the widget: the one resident action that is HTTP, not Socket.IO.

A photo (up to 10 MB) is too big for a Socket.IO message. The widget POSTs the file's bytes
as the body with the conversation token in a header; the assistant's next line comes back in
the response and to the conversation's other connections as a message event.
"""

from __future__ import annotations

import logging

from aiohttp import web

from chatsvc.actions import photos
from chatsvc.actions.service_requests.photos import MAX_PHOTO_BYTES, PhotoTooLarge
from chatsvc.errors import InvalidPayload
from chatsvc.transport.errors import client_error, render_error
from chatsvc.transport.sockets import origin_allowed
from chatsvc.transport.state import ASSISTANT, CLOCK, DATABASE, SETTINGS

log = logging.getLogger("chatsvc.uploads")

TOKEN_HEADER = "X-Chat-Token"
CHUNK = 64 * 1024


def add_upload_routes(app: web.Application) -> None:
    """Wire the photo upload route (and its CORS preflight) into the app."""
    app.router.add_route("OPTIONS", "/resident/photos", preflight)
    app.router.add_post("/resident/photos", upload_photo)


async def preflight(request: web.Request) -> web.Response:
    """Let a city page on another allowed origin send the token header."""
    headers = _cors(request)
    if not headers:
        return web.Response(status=403)
    headers.update(
        {
            "Access-Control-Allow-Methods": "POST",
            "Access-Control-Allow-Headers": f"{TOKEN_HEADER}, Content-Type",
            "Access-Control-Max-Age": "600",
        }
    )
    return web.Response(status=204, headers=headers)


async def upload_photo(request: web.Request) -> web.Response:
    """Take a photo for the request the resident is filing in their chat."""
    cors = _cors(request)
    try:
        token = request.headers.get(TOKEN_HEADER, "")
        if not 20 <= len(token) <= 100:
            raise InvalidPayload(f"the {TOKEN_HEADER} header must hold the chat's token")
        data = await _read_body(request)
        app = request.app
        turn = await app[DATABASE].run(
            photos.add_photo,
            token=token,
            data=data,
            kb=app[ASSISTANT].index.kb,
            now=app[CLOCK](),
        )
    except Exception as exc:
        if client_error(exc) is None:
            raise  # a bug, or the client went away: the error middleware's to tell
        status, body = render_error(exc, log=log, where=f"{request.method} {request.path}")
        return web.json_response(body, status=status, headers=cors)
    conversation_id = turn.conversation.id  # its messages were published on commit
    log.info("conversation %d: photo added (%d bytes)", conversation_id, len(data))
    return web.json_response(
        {"ok": True, "messages": [m.as_dict() for m in turn.messages]}, headers=cors
    )


async def _read_body(request: web.Request) -> bytes:
    if request.content_length is not None and request.content_length > MAX_PHOTO_BYTES:
        raise PhotoTooLarge("The photo is too large: up to 10 MB, please.")
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(CHUNK):
        size += len(chunk)
        if size > MAX_PHOTO_BYTES:
            raise PhotoTooLarge("The photo is too large: up to 10 MB, please.")
        chunks.append(chunk)
    if not size:
        raise InvalidPayload("the request body must be the photo's bytes")
    return b"".join(chunks)


def _cors(request: web.Request) -> dict[str, str]:
    origin = request.headers.get("Origin")
    environ = {
        "HTTP_HOST": request.headers.get("Host", ""),
        "HTTP_X_FORWARDED_HOST": request.headers.get("X-Forwarded-Host", ""),
    }
    if origin and origin_allowed(request.app[SETTINGS], origin, environ):
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
    return {}
