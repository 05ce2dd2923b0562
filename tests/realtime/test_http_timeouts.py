"""Half-sent HTTP requests do not hold a connection open: a raw socket against the real server."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from chatsvc.settings import Settings
from tests.conftest import LiveServer, ResidentClient
from tests.realtime.test_request_chat import CITY, MONDAY_TEN, file_graffiti_up_to_photo
from tests.realtime.test_uploads import answer, open_upload

CLOSED_WITHIN = 6.0  # seconds: the 1 s timeout, with the timer's rounding and a loaded machine


async def test_a_half_sent_request_line_is_closed_by_the_server(
    make_settings: Callable[..., Settings], start_server: Callable[..., Awaitable[LiveServer]]
) -> None:
    server = await start_server(make_settings(http_idle_timeout_seconds=1))
    address = urlsplit(server.url)
    assert address.hostname is not None and address.port is not None
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        writer.write(b"GET /healthz HTT")  # and nothing more, as a slowloris does
        await writer.drain()
        # The server closes it: read sees the end of the stream (no answer for half a request).
        answer = await asyncio.wait_for(reader.read(), CLOSED_WITHIN)
        assert answer == b""
    finally:
        writer.close()

    # A whole request is answered as ever.
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), CLOSED_WITHIN)
        assert answer.startswith(b"HTTP/1.1 200"), answer[:100]
    finally:
        writer.close()


# Every route that reads a body, each sent 10 of the 1,000 bytes its Content-Length promises.
SLOW_BODIES = {
    "sign-in": ("/agent/sign-in", "application/x-www-form-urlencoded"),
    "sign-out": ("/agent/sign-out", "application/x-www-form-urlencoded"),
    "open311-form": ("/open311/v2/requests.json", "application/x-www-form-urlencoded"),
    "open311-multipart": ("/open311/v2/requests.json", "multipart/form-data; boundary=b"),
    "long-polling": ("/socket.io/?EIO=4&transport=polling&sid=abcdef", "text/plain;charset=UTF-8"),
}


async def send_slow_body(url: str, path: str, content_type: str) -> bytes:
    """POST headers promising 1,000 body bytes, send 10 of them; return all the server said."""
    address = urlsplit(url)
    assert address.hostname is not None and address.port is not None
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    try:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {address.netloc}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: 1000\r\n\r\n"
        )
        writer.write(head.encode() + b"a=bcdefghi")
        await writer.drain()
        # The answer, then the end of the stream: the server closed the connection.
        return await asyncio.wait_for(reader.read(), CLOSED_WITHIN)
    finally:
        writer.close()


@pytest.mark.parametrize(("path", "content_type"), SLOW_BODIES.values(), ids=SLOW_BODIES.keys())
async def test_a_body_that_never_arrives_is_answered_408_and_closed(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    caplog: pytest.LogCaptureFixture,
    path: str,
    content_type: str,
) -> None:
    caplog.set_level(logging.INFO)
    server = await start_server(make_settings(http_body_seconds=1))
    answer = await send_slow_body(server.url, path, content_type)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"connection: close" in head.lower()
    assert json.loads(body)["error"]["code"] == "request_timeout"
    loud = [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]
    assert not loud, loud
    assert any("did not arrive within 1 s" in r.getMessage() for r in caplog.records)

    # The next request is answered as ever.
    status, _ = await get_health(server.url)
    assert status == 200


async def test_a_handler_that_answers_without_the_body_still_closes_the_connection(
    make_settings: Callable[..., Settings], start_server: Callable[..., Awaitable[LiveServer]]
) -> None:
    # The one-click unsubscribe POST needs only its query: it answers at once, and the rest of
    # the body is waited for (to be dropped) no longer than a body may take.
    server = await start_server(make_settings(http_body_seconds=1))
    answer = await send_slow_body(server.url, "/mail/stop?token=unknown", "text/plain")
    assert answer.startswith(b"HTTP/1.1 404"), answer[:200]


async def test_a_whole_body_is_taken_as_ever(
    make_settings: Callable[..., Settings], start_server: Callable[..., Awaitable[LiveServer]]
) -> None:
    # A form that arrives at once is read as before (by the handler, not the deadline).
    server = await start_server(make_settings(http_body_seconds=1))
    timeout = aiohttp.ClientTimeout(total=CLOSED_WITHIN)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        form = aiohttp.FormData({"api_key": "nope", "service_code": "x"})
        form.add_field("description", "multipart", filename=None)
        async with session.post(f"{server.url}/open311/v2/requests.json", data=form) as response:
            assert response.status == 403  # read, then refused for its key
        async with session.post(
            f"{server.url}/agent/sign-in", data={"username": "a", "password": "b"}
        ) as response:
            assert response.status == 403  # read, then refused for its missing CSRF token


async def test_a_slow_photo_keeps_its_own_deadline(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_client: Callable[..., Awaitable[ResidentClient]],
) -> None:
    # The upload streams its body under CHATSVC_UPLOAD_SECONDS: the general deadline is not
    # what answers it (nor does anything read its body ahead of its own checks).
    settings = make_settings(**CITY, http_body_seconds=1, upload_seconds=2)
    server = await start_server(settings, clock=lambda: MONDAY_TEN)
    resident = await resident_client(server.url)
    await file_graffiti_up_to_photo(resident)
    assert resident.token
    reader, writer = await open_upload(server, resident.token, 1000, b"\xff\xd8\xff")
    try:
        status, _, body = await answer(reader)
    finally:
        writer.close()
    assert (status, body["error"]["code"]) == (400, "invalid_payload")
    assert "took too long" in body["error"]["message"]


async def get_health(url: str) -> tuple[int, Any]:
    timeout = aiohttp.ClientTimeout(total=CLOSED_WITHIN)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.get(f"{url}/healthz") as response,
    ):
        return response.status, await response.json()
