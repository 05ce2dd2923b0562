"""Packets no client library would send, written by hand over the documented protocol.

A packet that does not decode closes its connection (as the reference Socket.IO server
does), logs one short line and no traceback, and the service answers the next client.
"""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import pytest

from tests.conftest import TIMEOUT, LiveServer, LogErrors

NAMESPACE = "/resident"


async def open_socket(session: aiohttp.ClientSession, url: str) -> aiohttp.ClientWebSocketResponse:
    """An Engine.IO v4 websocket joined to /resident, without a client library."""
    ws = await session.ws_connect(f"{url}/socket.io/?EIO=4&transport=websocket")
    opened = await ws.receive_str(timeout=TIMEOUT)
    assert opened.startswith("0{"), opened
    await ws.send_str(f"40{NAMESPACE},")
    joined = await ws.receive_str(timeout=TIMEOUT)
    assert joined.startswith(f"40{NAMESPACE},"), joined
    return ws


async def closed(ws: aiohttp.ClientWebSocketResponse) -> None:
    """Wait for the server to close the connection: Engine.IO's close packet, or the socket's."""
    while True:
        frame = await ws.receive(timeout=TIMEOUT)
        if frame.type != aiohttp.WSMsgType.TEXT or frame.data == "1":
            return
        assert frame.data == "2", frame  # only a ping may come first


async def hours(ws: aiohttp.ClientWebSocketResponse) -> dict[str, object]:
    """Send a well-formed event with an ack id and return its ack."""
    await ws.send_str(f'42{NAMESPACE},7["hours",{{}}]')
    while True:
        frame = await ws.receive_str(timeout=TIMEOUT)
        if frame == "2":  # the server's ping
            await ws.send_str("3")
            continue
        assert frame.startswith(f"43{NAMESPACE},7"), frame
        (ack,) = json.loads(frame.removeprefix(f"43{NAMESPACE},7"))
        assert isinstance(ack, dict)
        return ack


@pytest.mark.parametrize(
    "packet",
    [
        f'42{NAMESPACE},1["message", {{"text": ',  # JSON cut short
        f"42{NAMESPACE},1{{nope}}",
        f"42{NAMESPACE},1" + "[" * 20_000 + "]" * 20_000,  # nested past the recursion limit
        f"47{NAMESPACE},1[]",  # no such Socket.IO packet type
        f"49{NAMESPACE},",
        f"42{NAMESPACE},123456789012345678901234567890123456789012345678901234567890"
        + "1" * 50
        + '["hours"]',  # an id too long
    ],
)
async def test_a_packet_that_does_not_decode_closes_quietly(
    live_server: LiveServer, packet: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with aiohttp.ClientSession() as session:
        ws = await open_socket(session, live_server.url)
        await ws.send_str(packet)
        await closed(ws)
        # Nobody else is hurt: a new connection is answered.
        other = await open_socket(session, live_server.url)
        assert (await hours(other))["ok"] is True
        await other.close()
    tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not tracebacks, [r.getMessage() for r in tracebacks]
    assert sum("malformed packet" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize("frame", ["7", "9{}", "8"])
async def test_an_unknown_engine_io_packet_is_ignored_quietly(
    live_server: LiveServer, frame: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with aiohttp.ClientSession() as session:
        ws = await open_socket(session, live_server.url)
        await ws.send_str(frame)
        assert (await hours(ws))["ok"] is True  # the same connection goes on
        await ws.close()
    tracebacks = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not tracebacks, [r.getMessage() for r in tracebacks]


@pytest.mark.parametrize(
    "packet",
    [
        f'42{NAMESPACE},7{{"event": "hours"}}',  # an object, not [name, payload]
        f"42{NAMESPACE},7[]",  # no name
        f"42{NAMESPACE},7[42, {{}}]",  # a name that is not text
        f'42{NAMESPACE},7[["hours"], {{}}]',
    ],
)
async def test_an_event_without_a_name_is_refused_as_unknown(
    live_server: LiveServer, packet: str
) -> None:
    async with aiohttp.ClientSession() as session:
        ws = await open_socket(session, live_server.url)
        await ws.send_str(packet)
        frame = await ws.receive_str(timeout=TIMEOUT)
        assert frame.startswith(f"43{NAMESPACE},7"), frame
        (ack,) = json.loads(frame.removeprefix(f"43{NAMESPACE},7"))
        assert ack["error"]["code"] == "unknown_event"
        # The same connection goes on.
        assert (await hours(ws))["ok"] is True
        await ws.close()


async def test_many_deep_packets_at_once_close_their_connections(live_server: LiveServer) -> None:
    async with aiohttp.ClientSession() as session:
        sockets = [await open_socket(session, live_server.url) for _ in range(20)]
        deep = f"42{NAMESPACE},1" + "[" * 20_000 + "]" * 20_000
        await asyncio.gather(*(ws.send_str(deep) for ws in sockets))
        for ws in sockets:
            await closed(ws)


# --- HTTP long-polling, the transport a browser falls back to -------------------------------


async def polling_session(session: aiohttp.ClientSession, url: str) -> str:
    """Open an Engine.IO long-polling session joined to /resident; return its polling URL."""
    async with session.get(f"{url}/socket.io/?EIO=4&transport=polling") as response:
        opened = await response.text()
    sid = json.loads(opened[1:])["sid"]
    poll = f"{url}/socket.io/?EIO=4&transport=polling&sid={sid}"
    async with session.post(poll, data=f"40{NAMESPACE},") as response:
        assert response.status == 200
    async with session.get(poll) as response:
        assert (await response.text()).startswith(f"40{NAMESPACE},")
    return poll


async def polled_hours(session: aiohttp.ClientSession, poll: str) -> dict[str, object]:
    async with session.post(poll, data=f'42{NAMESPACE},5["hours",{{}}]') as response:
        assert response.status == 200
    async with session.get(poll, timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as response:
        frame = await response.text()
    assert frame.startswith(f"43{NAMESPACE},5"), frame
    (ack,) = json.loads(frame.removeprefix(f"43{NAMESPACE},5"))
    assert isinstance(ack, dict)
    return ack


@pytest.mark.parametrize(
    "body",
    [
        f'42{NAMESPACE},1["hours",{{"x":"'.encode() + b'\xff\xfe"}]',  # not UTF-8
        b"4" + b"x" * 70_000,  # over CHATSVC_MAX_PAYLOAD_BYTES, with no GET waiting
    ],
    ids=["invalid-utf8", "too-large"],
)
async def test_a_bad_long_polling_post_is_answered_and_ends_the_session(
    live_server: LiveServer, body: bytes, log_errors: LogErrors
) -> None:
    # python-engineio's one line for the first unknown session id of the process (INFO after).
    log_errors.allow(r"engineio.server: Invalid session .*further occurrences")
    timeout = aiohttp.ClientTimeout(total=TIMEOUT)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        poll = await polling_session(session, live_server.url)
        async with session.post(poll, data=body) as response:
            assert response.status == 400
        async with session.get(poll) as response:  # the session is gone
            assert response.status == 400
        # The next client is answered.
        assert (await polled_hours(session, await polling_session(session, live_server.url)))["ok"]
