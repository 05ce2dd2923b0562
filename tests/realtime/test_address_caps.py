"""Daily caps per client address: chats started, requests the assistant files, wrong status
lookups. Real server, real clients bound to different loopback addresses (127.0.0.2, .3, ...):
one address reaching its cap leaves the others alone, and a new chat does not reset it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from chatsvc.actions.service_requests.filing import NewRequest, create_service_request
from chatsvc.actions.service_requests.views import Contact
from chatsvc.db.models import Conversation, ServiceRequest, StatusLookupMiss
from chatsvc.settings import Settings
from chatsvc.transport.state import DATABASE, REQUEST_POLICY
from tests.conftest import PERSON, LiveServer, ResidentAt, ResidentClient, stored_rows
from tests.realtime.test_assistant_chat import say
from tests.realtime.test_request_chat import CITY, MONDAY_TEN

PHONE = "(626) 744-7311"  # knowledge_base/center.toml
HOUR = 3600
START = {"name": "Ana Ruiz", "email": "ana@example.com", "question": PERSON}


class Clock:
    """The server's clock, moved by the test."""

    def __init__(self) -> None:
        self.now = MONDAY_TEN

    def __call__(self) -> Any:
        return self.now


def labels(message: dict[str, Any]) -> list[str]:
    return [q["label"] for q in message["quick_replies"]]


# --- chats started --------------------------------------------------------------------------


async def test_an_address_starts_its_daily_chats_then_waits_for_the_oldest_to_age(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_at: ResidentAt,
) -> None:
    clock = Clock()
    server = await start_server(make_settings(conversations_per_address_per_day=2), clock=clock)
    first = await resident_at(server.url, "127.0.0.2")
    await first.start()
    clock.now += timedelta(hours=1)
    second = await resident_at(server.url, "127.0.0.2")  # another connection, the same address
    await second.start()
    clock.now += timedelta(hours=1)

    refused = await first.call("start", START)
    assert refused["ok"] is False and refused["error"]["code"] == "rate_limited", refused
    # The first chat leaves the 24 hours at 10:00 tomorrow, 22 hours from now.
    assert refused["error"]["retry_after"] == 22 * HOUR
    assert "about 22 hours" in refused["error"]["message"]
    assert PHONE in refused["error"]["message"]
    assert (await second.call("start", START))["error"]["code"] == "rate_limited"
    # Neighbours on other addresses are not refused.
    for address in ("127.0.0.3", "127.0.0.4"):
        await (await resident_at(server.url, address)).start()
    assert len(await stored_rows(server, Conversation)) == 4  # the refusals stored nothing

    # Once the first chat is 24 hours old, one more fits: then the second must age too.
    clock.now = MONDAY_TEN + timedelta(days=1)
    await first.start()
    again = await first.call("start", START)
    assert again["error"]["code"] == "rate_limited" and again["error"]["retry_after"] == HOUR


async def test_parallel_starts_from_one_address_stop_at_the_cap(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_at: ResidentAt,
) -> None:
    server = await start_server(make_settings(conversations_per_address_per_day=3))
    clients = [await resident_at(server.url, "127.0.0.2") for _ in range(8)]
    acks = await asyncio.gather(*(c.call("start", START) for c in clients))
    assert sorted(str(a.get("error", {}).get("code", "ok")) for a in acks) == [
        "ok",
        "ok",
        "ok",
        *["rate_limited"] * 5,
    ]
    assert len(await stored_rows(server, Conversation)) == 3


# --- requests the assistant files -----------------------------------------------------------


async def to_summary(resident: ResidentClient) -> None:
    """Start a chat and walk the assistant's graffiti form to its summary."""
    ack = await resident.start(question="There is graffiti on the wall of my building")
    await say(resident, ack["messages"][1]["quick_replies"][0]["text"])
    await say(resident, "100 N Garfield Ave")
    await say(resident, "Black tags across the east wall")
    summary = await say(resident, "skip")
    assert "Confirm" in labels(summary), summary


async def test_an_address_has_its_daily_requests_filed_and_is_then_told_to_call(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_at: ResidentAt,
) -> None:
    server = await start_server(
        make_settings(**CITY, filings_per_address_per_day=1), clock=lambda: MONDAY_TEN
    )
    # Two chats from one address reach the summary; the first to confirm is filed.
    early = await resident_at(server.url, "127.0.0.2")
    late = await resident_at(server.url, "127.0.0.2")
    await to_summary(early)
    await to_summary(late)
    filed = await say(early, "Confirm")
    assert "**26-" in filed["text"], filed
    refused = await say(late, "Confirm")
    assert "can't file more requests" in refused["text"], refused
    assert PHONE in refused["text"] and "about 24 hours" in refused["text"]
    assert labels(refused) == ["Talk to a person"]
    assert len(await stored_rows(server, ServiceRequest)) == 1
    # A new chat from the address is told at once, before it gives any detail.
    again = await resident_at(server.url, "127.0.0.2")
    ack = await again.start(question="There is graffiti on the wall of my building")
    told = await say(again, ack["messages"][1]["quick_replies"][0]["text"])
    assert "can't file more requests" in told["text"] and PHONE in told["text"], told
    assert "address" not in told["text"]
    assert (await stored_rows(server, Conversation))[-1].assistant_flow is None
    # Another address files as usual.
    neighbour = await resident_at(server.url, "127.0.0.3")
    await to_summary(neighbour)
    assert "**26-" in (await say(neighbour, "Confirm"))["text"]
    assert len(await stored_rows(server, ServiceRequest)) == 2


# --- status lookups with a wrong email ------------------------------------------------------


async def test_wrong_status_lookups_are_counted_per_address_across_chats(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_at: ResidentAt,
) -> None:
    server = await start_server(
        make_settings(**CITY, status_misses_per_address_per_day=3), clock=lambda: MONDAY_TEN
    )
    view = await server.app[DATABASE].run(
        create_service_request,
        NewRequest(
            "pothole",
            {"address": "300 N Lake Ave", "description": "Deep pothole in the right lane"},
            Contact("Bo", "bo@example.com"),
        ),
        policy=server.app[REQUEST_POLICY](),
        now=MONDAY_TEN,
    )

    async def look_up(resident: ResidentClient, email: str) -> str:
        await say(resident, f"status of {view.number}")
        answer: str = (await say(resident, email))["text"]
        return answer

    # Three wrong guesses from one address, in two chats (each far from its own limit of 5).
    for chat, guesses in enumerate((2, 1)):
        guesser = await resident_at(server.url, "127.0.0.2")
        await guesser.start(question="hello")
        for guess in range(guesses):
            assert "couldn't find" in await look_up(guesser, f"g{chat}{guess}@example.com")
        await guesser.disconnect()
    # A new chat from the address is refused even the right email, and told to call.
    guesser = await resident_at(server.url, "127.0.0.2")
    await guesser.start(question="hello")
    answer = await look_up(guesser, "bo@example.com")
    assert "can't look up more requests" in answer and PHONE in answer, answer
    assert "Pothole" not in answer
    # The resident on another address is answered.
    owner = await resident_at(server.url, "127.0.0.3")
    await owner.start(question="hello")
    assert "Pothole" in await look_up(owner, "bo@example.com")
    misses = await stored_rows(server, StatusLookupMiss)
    assert len(misses) == 3 and len({m.sender_key for m in misses}) == 1
    assert misses[0].sender_key is not None
