"""Socket limits as a flooder meets them: per address, per connection, per kind of event.

Clients are bound to different loopback addresses (127.0.0.2, .3, ...), so the server sees
different peers the way it would on the Internet.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import socketio

from chatsvc.db.models import AfterHoursMessage, Conversation, Message
from chatsvc.settings import Rate, Settings
from tests.conftest import TIMEOUT, LiveServer, LogErrors, ResidentAt, ResidentClient, stored_rows
from tests.realtime.test_after_hours import CITY, SUNDAY_NOON, form
from tests.waiting import eventually


async def closed(start_server: Callable[..., Awaitable[LiveServer]], settings: Settings) -> Any:
    return await start_server(settings, clock=lambda: SUNDAY_NOON)


# --- 5b: the protocol's own event names ----------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("connect", None),
        ("connect", {"REMOTE_ADDR": "198.51.100.78", "chatsvc.address": "198.51.100.78"}),
        ("disconnect", None),
        ("disconnect", "client namespace disconnect"),
        ("connect_error", {"message": "x"}),
        ("disconnecting", None),
    ],
)
async def test_the_protocols_own_event_names_are_not_client_events(
    live_server: LiveServer, resident_at: ResidentAt, args: tuple[str, Any]
) -> None:
    resident = await resident_at(live_server.url, "127.0.0.2")
    await resident.start()
    ack = await resident.call(*args)
    assert ack["ok"] is False and ack["error"]["code"] == "unknown_event", ack
    # Still connected, still in its conversation.
    sent = await resident.call("message", {"client_id": uuid.uuid4().hex, "text": "still here"})
    assert sent["ok"], sent


async def test_a_forged_connect_does_not_move_a_resident_to_another_address(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_at: ResidentAt,
) -> None:
    server = await closed(start_server, make_settings(messages_per_ip_per_hour=1, **CITY))
    resident = await resident_at(server.url, "127.0.0.2")
    assert (await resident.call("leave_message", form()))["ok"]
    refused = await resident.call("leave_message", form(email="bo@example.com"))
    assert refused["error"]["code"] == "rate_limited"
    forged = {"REMOTE_ADDR": "198.51.100.78", "chatsvc.address": "198.51.100.78"}
    assert (await resident.call("connect", forged))["error"]["code"] == "unknown_event"
    again = await resident.call("leave_message", form(email="cy@example.com"))
    assert again["ok"] is False and again["error"]["code"] == "rate_limited", again
    assert len(await stored_rows(server, AfterHoursMessage)) == 1


# --- 2: each connection's own address ------------------------------------------------------


async def test_leave_a_message_counts_each_address_on_its_own(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_at: ResidentAt,
) -> None:
    server = await closed(start_server, make_settings(messages_per_ip_per_hour=2, **CITY))
    first = await resident_at(server.url, "127.0.0.2")
    for n in range(2):
        assert (await first.call("leave_message", form(email=f"a{n}@example.com")))["ok"]
    limited = await first.call("leave_message", form(email="a9@example.com"))
    assert limited["error"]["code"] == "rate_limited"
    # Neighbours on other addresses are not locked out by it.
    for address in ("127.0.0.3", "127.0.0.4"):
        other = await resident_at(server.url, address)
        ack = await other.call("leave_message", form(email=f"{address}@example.com"))
        assert ack["ok"], (address, ack)
    # A header a client makes up is not believed (no trusted proxy in front).
    liar = await resident_at(server.url, "127.0.0.2", **{"X-Forwarded-For": "203.0.113.7"})
    ack = await liar.call("leave_message", form(email="liar@example.com"))
    assert ack["error"]["code"] == "rate_limited"


async def test_behind_a_trusted_proxy_the_address_it_saw_is_counted(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_at: ResidentAt,
) -> None:
    settings = make_settings(messages_per_ip_per_hour=1, trust_proxy_headers=True, **CITY)
    server = await closed(start_server, settings)

    async def leave(seen_by_proxy: str, sent_by_client: str = "") -> dict[str, Any]:
        forwarded = ", ".join(a for a in (sent_by_client, seen_by_proxy) if a)
        client = await resident_at(server.url, "127.0.0.2", **{"X-Forwarded-For": forwarded})
        return await client.call("leave_message", form(email=f"{uuid.uuid4().hex}@example.com"))

    assert (await leave("198.51.100.1"))["ok"]
    assert (await leave("198.51.100.1"))["error"]["code"] == "rate_limited"
    # What the client put in front of the proxy's entry changes nothing.
    assert (await leave("198.51.100.1", sent_by_client="203.0.113.50"))["ok"] is False
    assert (await leave("198.51.100.2"))["ok"]


# --- 5: token buckets per connection and per address ---------------------------------------


async def test_a_message_flood_is_limited_and_a_bystander_keeps_getting_answers(
    live_server: LiveServer, resident_at: ResidentAt
) -> None:
    flooder = await resident_at(live_server.url, "127.0.0.2")
    bystander = await resident_at(live_server.url, "127.0.0.3")
    await flooder.start()
    await bystander.start()

    async def say(client: ResidentClient, n: int) -> dict[str, Any]:
        payload = {"client_id": uuid.uuid4().hex, "text": f"{n} " + "x" * 3000}
        return await client.call("message", payload)

    flood = asyncio.gather(*(say(flooder, n) for n in range(200)))
    for n in range(5):
        assert (await say(bystander, n))["ok"]
    acks = await flood
    ok = [a for a in acks if a["ok"]]
    refused = [a["error"] for a in acks if not a["ok"]]
    burst = live_server.settings.rate_message.burst
    assert burst <= len(ok) <= burst + 5, len(ok)
    assert {e["code"] for e in refused} == {"rate_limited"}
    assert all(0 < e["retry_after"] <= 60 for e in refused)
    messages = await stored_rows(live_server, Message)
    assert len(messages) <= 2 * 2 + 5 + burst + 5  # two starts (question and reply) and the rest


async def test_a_start_flood_on_one_socket_is_refused_after_the_burst(
    live_server: LiveServer, resident_at: ResidentAt
) -> None:
    flooder = await resident_at(live_server.url, "127.0.0.2")
    start = {"name": "Ana Ruiz", "email": "ana@example.com", "question": "hello"}
    acks = await asyncio.gather(*(flooder.call("start", start) for _ in range(1000)))
    started = [a for a in acks if a["ok"]]
    burst = live_server.settings.rate_start.burst
    assert burst <= len(started) <= burst + 2, len(started)
    assert len(await stored_rows(live_server, Conversation)) == len(started)
    # Another address starts at once.
    other = await resident_at(live_server.url, "127.0.0.3")
    assert (await other.call("start", start))["ok"]


async def test_one_address_shares_its_buckets_across_connections(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_at: ResidentAt,
) -> None:
    settings = make_settings(rate_start=Rate(2, 1), rate_address_factor=2)
    server = await start_server(settings)
    start = {"name": "Ana Ruiz", "email": "ana@example.com", "question": "hello"}
    answers = []
    for _ in range(3):  # three connections, two starts each: the address allows four
        client = await resident_at(server.url, "127.0.0.2")
        answers += [await client.call("start", start) for _ in range(2)]
    assert [a["ok"] for a in answers] == [True] * 4 + [False] * 2
    assert (await (await resident_at(server.url, "127.0.0.3")).call("start", start))["ok"]


async def test_connections_from_one_address_are_capped(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_at: ResidentAt,
    log_errors: LogErrors,
) -> None:
    server = await start_server(make_settings(connections_per_address=3))
    crowd = [await resident_at(server.url, "127.0.0.2") for _ in range(3)]
    with pytest.raises(socketio.exceptions.ConnectionError):
        await resident_at(server.url, "127.0.0.2")
    neighbour = await resident_at(server.url, "127.0.0.3")
    assert neighbour.sio.connected
    # One leaves: one more may come.
    await crowd[0].disconnect()

    async def connects() -> bool:
        try:
            await resident_at(server.url, "127.0.0.2")
        except socketio.exceptions.ConnectionError:
            return False
        return True

    assert await eventually(connects, within=TIMEOUT)
