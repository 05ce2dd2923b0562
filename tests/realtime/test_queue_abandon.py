"""No ghosts in the queue: a waiting resident who left becomes a left message, told by email.

The real server with a settable clock, real python-socketio residents and agents, a real
aiosmtpd server. The sweep is run by the test (its timer is set far off) once the clock moved.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from chatsvc.db.models import AfterHoursMessage, OutboxMail, ResidentConnection
from chatsvc.settings import Settings
from chatsvc.transport.dispatch import DISPATCHER
from tests.conftest import AgentClient, Inbox, LiveServer, ResidentClient, stored_rows
from tests.waiting import eventually

Residents = Callable[..., Awaitable[ResidentClient]]
Agents = Callable[..., Awaitable[AgentClient]]
CITY = {"business_hours": "mon-fri 08:00-17:00", "holidays": "US-CA"}
TUESDAY_TEN = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # 10:00 in Pasadena: open
DUE_TEXT = "Wednesday, December 2 at 5 p.m."  # the close of the next business day


class Clock:
    """The server's clock, moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(TUESDAY_TEN)


@pytest.fixture
async def inbox(smtp_server: Callable[..., Inbox]) -> Inbox:
    return smtp_server()


@pytest.fixture
async def live_server(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    clock: Clock,
    inbox: Inbox,
) -> LiveServer:
    settings = make_settings(
        **CITY,
        smtp_host="127.0.0.1",
        smtp_port=inbox.port,
        smtp_security="none",
        mail_from="Citizen Service Center <csc@example.org>",
        sweep_seconds=3600,  # the test sweeps
    )
    return await start_server(settings, clock=clock)


def in_queue(cid: int) -> Callable[[Any], bool]:
    return lambda q: cid in [e["id"] for e in q["queue"]]


def not_in_queue(cid: int) -> Callable[[Any], bool]:
    return lambda q: cid not in [e["id"] for e in q["queue"]]


async def waiting_then_gone(
    server: LiveServer, resident: ResidentClient, maria: AgentClient
) -> tuple[int, str]:
    """The resident asks for a person, writes once more and closes the tab."""
    started = await resident.start()
    cid = started["conversation"]["id"]
    assert started["conversation"]["stage"] == "waiting"
    await maria.next_where("queue", in_queue(cid))
    more = {"client_id": uuid.uuid4().hex, "text": "It is about the <b>missed</b> pickup."}
    assert (await resident.call("message", more))["ok"]
    await resident.disconnect()
    await eventually(
        lambda: stored_rows(server, ResidentConnection), lambda rows: rows == [], what="gone"
    )
    return cid, started["token"]


async def test_a_resident_who_left_the_queue_gets_a_message_and_an_email(
    live_server: LiveServer,
    clock: Clock,
    inbox: Inbox,
    resident_client: Residents,
    agent_client: Agents,
) -> None:
    maria = await agent_client("maria", available=False)  # nobody takes the chat
    resident = await resident_client()
    cid, token = await waiting_then_gone(live_server, resident, maria)
    dispatcher = live_server.app[DISPATCHER]

    clock.advance(minutes=4, seconds=59)
    await dispatcher.sweep()
    assert await stored_rows(live_server, AfterHoursMessage) == []

    clock.advance(seconds=2)  # five minutes gone: out of the queue, into the inbox
    await dispatcher.sweep()
    item = await maria.next("inbox_item")
    assert item["conversation_id"] == cid and item["status"] == "new"
    assert item["name"] == "Ana Ruiz" and item["email"] == "ana@example.com"
    # Nothing they wrote is lost (the item also links to the whole chat).
    assert item["text"] == (
        "I'd like to talk to a person, please.\n\nIt is about the <b>missed</b> pickup."
    )
    assert item["reply_due"] == "2026-12-03T01:00:00Z"  # Wednesday, 5 p.m. Pacific
    await maria.next_where("queue", not_in_queue(cid))

    (mail,) = await inbox.wait_for(1)
    assert mail["To"] == "ana@example.com"
    assert mail["Subject"] == f"We will answer your chat by email ({item['reference']})"
    body = mail.get_content()
    assert f"will reply to this email address by {DUE_TEXT}\r\n" in body
    # Their words are quoted, never the City's.
    assert "> I'd like to talk to a person, please." in body
    assert "> It is about the <b>missed</b> pickup." in body

    # Back later: the chat says what became of it, it is no error.
    back = await resident_client()
    resumed = await back.call("resume", {"token": token, "last_seq": 0})
    assert resumed["ok"], resumed
    assert resumed["conversation"]["status"] == "ended"
    notice = resumed["messages"][-1]
    assert notice["author_kind"] == "system"
    assert notice["text"] == (
        "You left the chat while you were waiting for a person, so we turned it into a "
        f"message (reference {item['reference']}). We will reply to ana@example.com by "
        f"{DUE_TEXT}"
    )

    # Later sweeps do it no more: one message, one mail, one system notice.
    await back.disconnect()
    clock.advance(minutes=30)
    await dispatcher.sweep()
    assert len(await stored_rows(live_server, AfterHoursMessage)) == 1
    assert len(await stored_rows(live_server, OutboxMail)) == 1
    again = await resident_client()
    resumed = await again.call("resume", {"token": token, "last_seq": notice["seq"]})
    assert resumed["messages"] == []


async def test_coming_back_before_the_deadline_keeps_the_place_in_the_queue(
    live_server: LiveServer,
    clock: Clock,
    inbox: Inbox,
    resident_client: Residents,
    agent_client: Agents,
) -> None:
    maria = await agent_client("maria", available=False)
    first = await resident_client()
    cid, token = await waiting_then_gone(live_server, first, maria)
    behind = await resident_client()  # a second resident, waiting behind the first
    other = (await behind.start(name="Ben Cho", email="ben@example.com"))["conversation"]["id"]
    dispatcher = live_server.app[DISPATCHER]

    clock.advance(minutes=4)
    back = await resident_client()
    assert (await back.call("resume", {"token": token}))["ok"]
    clock.advance(minutes=10)
    await dispatcher.sweep()
    queue = await maria.ok("hello")
    assert [e["id"] for e in queue["queue"]][:2] == [cid, other]
    assert await stored_rows(live_server, AfterHoursMessage) == []

    # Gone again: the five minutes count from this departure, not the first.
    await back.disconnect()
    await eventually(
        lambda: stored_rows(live_server, ResidentConnection),
        lambda rows: [r.conversation_id for r in rows] == [other],
        what="gone again",
    )
    clock.advance(minutes=4)
    await dispatcher.sweep()
    assert await stored_rows(live_server, AfterHoursMessage) == []
    clock.advance(minutes=2)
    await dispatcher.sweep()
    (left,) = await stored_rows(live_server, AfterHoursMessage)
    assert left.conversation_id == cid
    # The one still there keeps waiting, now first.
    await maria.next_where("queue", lambda q: [e["id"] for e in q["queue"]] == [other])
    await inbox.wait_for(1)
