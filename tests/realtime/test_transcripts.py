"""A chat's transcript by email and the resident's rating: real server, real clients, real SMTP."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from chatsvc.actions import ratings
from chatsvc.db.models import Conversation, ConversationRating, OutboxMail
from chatsvc.settings import Settings
from chatsvc.transport.state import DATABASE
from tests.conftest import AgentClient, Inbox, LiveServer, ResidentClient, stored_rows
from tests.realtime.test_routing import wait_assigned

Residents = Callable[..., Awaitable[ResidentClient]]
Agents = Callable[..., Awaitable[AgentClient]]
TUESDAY_TEN = datetime(2026, 12, 1, 18, 4, tzinfo=UTC)  # 10:04 a.m. in Pasadena


async def mail_server(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    inbox: Inbox,
) -> LiveServer:
    settings = make_settings(
        smtp_host="127.0.0.1",
        smtp_port=inbox.port,
        smtp_security="none",
        mail_from="Citizen Service Center <csc@example.org>",
    )
    return await start_server(settings, clock=lambda: TUESDAY_TEN)


async def test_the_transcript_reaches_the_resident_without_staff_notes_and_once(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    smtp_server: Callable[..., Inbox],
    resident_client: Residents,
    agent_client: Agents,
) -> None:
    inbox = smtp_server()
    server = await mail_server(make_settings, start_server, inbox)
    maria = await agent_client("maria", server=server, display_name="Maria Lopez")
    resident = await resident_client(server.url)
    started = await resident.start(name="Dana Whitfield", email="dana@example.com")
    cid = started["conversation"]["id"]
    await wait_assigned(maria)
    await maria.ok("message", {"conversation_id": cid, "client_id": "m" * 10, "text": "Hi Dana!"})
    await resident.call(
        "message", {"client_id": "r" * 10, "text": "Visit https://evil.example now, says the City"}
    )
    await maria.ok("note", {"conversation_id": cid, "text": "STAFF-ONLY caller seems upset"})
    await maria.ok("close", {"conversation_id": cid, "disposition": "resolved"})

    sent = await resident.call("transcript", {})
    assert sent == {"ok": True, "outcome": "sent", "masked": "d***@example.com"}
    (mail,) = await inbox.wait_for(1)
    assert mail["To"] == "dana@example.com"
    assert mail["Subject"] == "Your chat with the City's Citizen Service Center"
    body = mail.get_content().replace("\r\n", "\n")
    assert "STAFF-ONLY" not in body and "upset" not in body
    assert "Tuesday, December 1" in body and "Pacific time" in body
    assert "10:04 a.m., Maria:\nHi Dana!" in body
    # The resident's words are quoted and unclickable: they never read as the City's.
    assert "10:04 a.m., you wrote:\n> Visit https[:]//evil[.]example now, says the City" in body
    assert "Chat ended by Maria" in body

    # A second click, the agent's button: the same transcript is not sent twice.
    again = await resident.call("transcript", {})
    assert again["outcome"] == "already_sent"
    by_staff = await maria.ok("transcript", {"conversation_id": cid})
    assert by_staff["outcome"] == "already_sent" and by_staff["to"] == "dana@example.com"
    count = await server.app[DATABASE].run(
        lambda s: s.scalar(select(func.count()).select_from(OutboxMail))
    )
    assert count == 1


async def test_a_rating_is_kept_once_with_the_agent_and_shown_to_supervisors(
    resident_client: Residents, agent_client: Agents, live_server: LiveServer
) -> None:
    maria = await agent_client("maria", display_name="Maria Lopez")
    sue = await agent_client("sue", role="supervisor", available=False)
    resident = await resident_client()
    started = await resident.start()
    cid = started["conversation"]["id"]
    await wait_assigned(maria)
    refused = await resident.call("rate", {"score": 5})
    assert refused["error"]["code"] == "conversation_ended"  # still open
    await resident.call("end", {})

    rated = await resident.call("rate", {"score": 2, "comment": "  <b>slow</b> answer  "})
    assert rated == {"ok": True, "rating": {"score": 2, "label": "poor"}}
    second = await resident.call("rate", {"score": 5})
    assert second["error"]["code"] == "already_taken"

    seen = await sue.ok("open", {"conversation_id": cid})
    assert seen["rating"]["score"] == 2
    assert seen["rating"]["comment"] == "<b>slow</b> answer"
    assert seen["rating"]["staff"] == {"id": maria.staff_id, "name": "Maria Lopez"}
    assert (await maria.ok("open", {"conversation_id": cid}))["rating"] is None
    overview = await sue.ok("ratings", {"days": 7})
    (row,) = overview["agents"]
    assert row["staff_id"] == maria.staff_id and row["ratings"] == 1 and row["average"] == 2
    assert [r["conversation_id"] for r in overview["recent"]] == [cid]
    forbidden = await maria.call("ratings", {})
    assert forbidden["error"]["code"] == "forbidden"
    for bad in ({"days": 0}, {"days": "7"}, {"days": 10_000}):
        assert (await sue.call("ratings", bad))["error"]["code"] == "invalid_payload"
    for bad_id in ({"conversation_id": 999_999}, {"conversation_id": "1"}, {}):
        answer = await sue.call("transcript", bad_id)
        assert answer["error"]["code"] in {"invalid_payload", "conversation_ended"}

    stored = await live_server.app[DATABASE].run(lambda s: s.scalars(select(ConversationRating)))
    (rating,) = list(stored)
    assert rating.staff_id == maria.staff_id and rating.score == 2

    now = datetime.now(UTC)
    summary = await live_server.app[DATABASE].run(
        ratings.satisfaction_summary, since=now - timedelta(days=1), until=now + timedelta(days=1)
    )
    assert [(s.staff_name, s.ratings, s.by_score[2]) for s in summary] == [("Maria Lopez", 1, 1)]


async def test_a_chat_only_the_assistant_answered_cannot_be_rated(
    resident_client: Residents,
) -> None:
    resident = await resident_client()
    await resident.start(question="When is my trash picked up?")
    await resident.call("end", {})
    refused = await resident.call("rate", {"score": 4})
    assert refused["error"]["code"] == "not_found"


async def test_two_requests_at_once_send_one_mail(
    resident_client: Residents, live_server: LiveServer
) -> None:
    resident = await resident_client()
    await resident.start()
    other_tab = await resident_client()
    assert resident.token is not None
    assert (await other_tab.call("resume", {"token": resident.token}))["ok"]
    answers = await asyncio.gather(
        resident.call("transcript", {}), other_tab.call("transcript", {})
    )
    assert sorted(a["outcome"] for a in answers) == ["already_sent", "sent"]
    count = await live_server.app[DATABASE].run(
        lambda s: s.scalar(select(func.count()).select_from(OutboxMail))
    )
    assert count == 1


async def test_a_chat_without_an_address_asks_for_one_and_keeps_it(
    resident_client: Residents, live_server: LiveServer
) -> None:
    resident = await resident_client()
    started = await resident.start()
    cid = started["conversation"]["id"]

    async def forget_address(session: Any) -> None:
        conversation = await session.get(Conversation, cid)
        conversation.resident.email = ""

    await live_server.app[DATABASE].run(forget_address)
    asked = await resident.call("transcript", {})
    assert asked["error"]["code"] == "invalid_payload" and asked["error"]["field"] == "email"
    refused = await resident.call("transcript", {"email": "not an address"})
    assert refused["error"]["code"] == "invalid_payload"
    sent = await resident.call("transcript", {"email": "  new@example.com "})
    assert sent["outcome"] == "sent" and sent["masked"] == "n***@example.com"
    (mail,) = await stored_rows(live_server, OutboxMail)
    assert mail.to_address == "new@example.com" and mail.kind == "transcript"
    (conversation,) = await stored_rows(live_server, Conversation)
    assert conversation.resident.email == "new@example.com"
