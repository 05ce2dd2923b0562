"""Half-sent HTTP requests do not hold a connection open: a raw socket against the real server."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from chatsvc.settings import Settings
from tests.conftest import LiveServer

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
