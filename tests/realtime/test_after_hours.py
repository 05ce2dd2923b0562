"""Leaving a message when nobody can chat: the real server, a fixed clock, real clients."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from chatsvc.db.database import Database
from chatsvc.db.models import AfterHoursMessage, Conversation, OutboxMail
from chatsvc.settings import Settings
from chatsvc.transport.state import DATABASE
from tests.conftest import (
    PERSON,
    AgentClient,
    Inbox,
    LiveServer,
    LogErrors,
    ResidentClient,
    stored_rows,
)
from tests.waiting import eventually

Residents = Callable[..., Awaitable[ResidentClient]]
# The city's own week and holidays (the suite's default is staffed around the clock).
CITY = {"business_hours": "mon-fri 08:00-17:00", "holidays": "US-CA"}
SUNDAY_NOON = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)  # 12:00 in Pasadena: closed
TUESDAY_TEN = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # 10:00 in Pasadena: open


def form(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "name": "Ana Ruiz",
        "email": "ana@example.com",
        "message": "My bulky item pickup was missed on Friday.",
        "client_id": uuid.uuid4().hex,
    }
    payload.update(changes)
    return payload


@pytest.fixture
async def closed_server(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    tmp_path: Any,
) -> LiveServer:
    settings = make_settings(mail_folder=tmp_path / "mail", **CITY)
    return await start_server(settings, clock=lambda: SUNDAY_NOON)


async def test_closed_the_widget_is_told_and_a_message_is_kept_and_acknowledged(
    closed_server: LiveServer, resident_client: Residents
) -> None:
    resident = await resident_client(closed_server.url)
    hours = await resident.call("hours", {})
    assert hours["ok"] and hours["open"] is False
    assert hours["leave_message"] == {
        "offered": True,
        "reason": "closed",
        "text": "Agents are unavailable right now. Please leave a message and we will respond "
        "by next business day.",
    }
    assert "Monday" in hours["next_opening_text"] and "8" in hours["next_opening_text"]
    assert hours["reply_due_text"] == "Monday, November 30 at 5 p.m."
    # The weekly hours in Spanish too, for a Spanish widget.
    assert hours["hours_in"] == {
        "es": "de lunes a viernes, de 8 a. m. a 5 p. m. (hora del Pacífico), cerrado los días "
        "festivos de la ciudad"
    }
    # Who to call instead, for a widget that has no chat (and so no start ack) yet.
    assert hours["center"]["phone"] == "(626) 744-7311"

    payload = form()
    left = await resident.call("leave_message", payload)
    assert left["ok"], left
    assert left["reference"].startswith("M-") and len(left["reference"]) == 8
    assert left["reply_due_text"] == "Monday, November 30 at 5 p.m."
    assert left["reply_due"] == "2026-12-01T01:00:00Z"  # 5 p.m. Pacific (standard time)
    again = await resident.call("leave_message", payload)  # a retry after a lost ack
    assert (again["reference"], again["duplicate"]) == (left["reference"], True)

    (message,) = await stored_rows(closed_server, AfterHoursMessage)
    assert (message.status, message.email, message.reference) == (
        "new",
        "ana@example.com",
        left["reference"],
    )
    (mail,) = await stored_rows(closed_server, OutboxMail)
    assert mail.to_address == "ana@example.com" and left["reference"] in mail.subject
    assert "Monday, November 30 at 5 p.m." in mail.body


async def test_asking_for_a_person_after_hours_offers_the_form_and_ends_the_chat(
    closed_server: LiveServer, resident_client: Residents
) -> None:
    resident = await resident_client(closed_server.url)
    client_id = uuid.uuid4().hex
    started = await resident.start(question=PERSON, client_id=client_id)
    assert started["hours"]["leave_message"]["reason"] == "closed"
    # Had that answer been lost, the start sent again offers the same.
    again = await resident.start(question=PERSON, client_id=client_id)
    assert again["conversation"]["id"] == started["conversation"]["id"]
    assert again["hours"] == started["hours"]
    # Nobody is promised: the chat stays with the assistant, out of the queue for tomorrow.
    assert started["conversation"]["stage"] == "assistant"
    assert started["messages"][-1]["text"].startswith("Our team is away right now")
    left = await resident.call("leave_message", form())
    assert left["ok"], left
    (message,) = await stored_rows(closed_server, AfterHoursMessage)
    assert message.conversation_id == started["conversation"]["id"]
    conversation = await resident.next_where("conversation", lambda c: c["status"] == "ended")
    assert conversation["id"] == started["conversation"]["id"]
    (row,) = await stored_rows(closed_server, Conversation)
    assert row.disposition == "left_message"


# A fault in the database when the chat is ended (here a trigger; in life a lost connection).
FAIL_END = {
    "sqlite": [
        "CREATE TRIGGER fail_end BEFORE UPDATE OF status ON conversations "
        "WHEN NEW.status = 'ended' BEGIN SELECT RAISE(ABORT, 'the disk is full'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION fail_end() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'the disk is full'; END $$",
        "CREATE TRIGGER fail_end BEFORE UPDATE OF status ON conversations FOR EACH ROW "
        "WHEN (NEW.status = 'ended') EXECUTE FUNCTION fail_end()",
    ],
}
HEAL = {
    "sqlite": ["DROP TRIGGER fail_end"],
    "postgresql": ["DROP TRIGGER fail_end ON conversations", "DROP FUNCTION fail_end()"],
}


async def run_sql(db: Database, statements: dict[str, list[str]]) -> None:
    async def run(session: Any) -> None:
        for statement in statements[session.get_bind().dialect.name]:
            await session.execute(text(statement))

    await db.run(run)


async def test_a_retry_after_ending_the_chat_failed_still_ends_it(
    closed_server: LiveServer, resident_client: Residents, log_errors: LogErrors
) -> None:
    log_errors.allow("leave_message failed")
    resident = await resident_client(closed_server.url)
    started = await resident.start(question=PERSON)
    payload = form()
    await run_sql(closed_server.app[DATABASE], FAIL_END)
    try:
        failed = await resident.call("leave_message", payload)
    finally:
        await run_sql(closed_server.app[DATABASE], HEAL)
    assert not failed["ok"] and failed["error"]["code"] == "internal_error"

    retried = await resident.call("leave_message", payload)  # the widget tries again
    assert retried["ok"], retried
    conversation = await resident.next_where("conversation", lambda c: c["status"] == "ended")
    assert conversation["id"] == started["conversation"]["id"]
    (row,) = await stored_rows(closed_server, Conversation)
    assert (row.status, row.disposition) == ("ended", "left_message")
    (message,) = await stored_rows(closed_server, AfterHoursMessage)
    assert message.reference == retried["reference"]
    assert len(await stored_rows(closed_server, OutboxMail)) == 1  # one acknowledgement, not two


async def test_spam_and_robots_are_kept_apart_and_get_no_mail(
    closed_server: LiveServer, resident_client: Residents
) -> None:
    resident = await resident_client(closed_server.url)
    spam = await resident.call(
        "leave_message",
        form(
            message="Buy ivermectin online cheap!!! https://spam.example/x https://spam.example/y"
        ),
    )
    robot = await resident.call("leave_message", form(website="http://seo.example"))
    # The same answer as anyone gets: nothing tells a spammer they were caught.
    assert spam["ok"] and robot["ok"] and spam["reference"] != robot["reference"]
    rows = await stored_rows(closed_server, AfterHoursMessage)
    assert [r.status for r in rows] == ["spam", "spam"]
    assert "hidden field filled in" in (rows[1].spam_reasons or [])
    assert await stored_rows(closed_server, OutboxMail) == []


async def test_a_flood_from_one_address_is_limited_and_nothing_is_stored_twice(
    closed_server: LiveServer, resident_client: Residents
) -> None:
    await flood(closed_server, resident_client)


async def test_the_flood_limit_holds_on_postgresql_too(
    postgres_url: str,
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_client: Residents,
) -> None:
    # Concurrent transactions there: the count and the insert must not interleave.
    settings = make_settings(database_url=postgres_url, auto_migrate=True, **CITY)
    await flood(await start_server(settings, clock=lambda: SUNDAY_NOON), resident_client)


async def flood(closed_server: LiveServer, resident_client: Residents) -> None:
    """A hundred messages at once from one address: five are kept, each once."""
    resident = await resident_client(closed_server.url)
    acks = await asyncio.gather(
        *(
            resident.call("leave_message", form(email=f"r{n}@example.com", message=f"Note {n}"))
            for n in range(100)
        )
    )
    ok = [a for a in acks if a["ok"]]
    limited = [a for a in acks if not a["ok"]]
    assert len(ok) == 5  # CHATSVC_MESSAGES_PER_IP_PER_HOUR
    assert {a["error"]["code"] for a in limited} == {"rate_limited"}
    assert "wait" in limited[0]["error"]["message"]
    assert all(a["error"]["retry_after"] > 0 for a in limited)  # each says when to try again
    assert len({a["reference"] for a in ok}) == 5
    assert len(await stored_rows(closed_server, AfterHoursMessage)) == 5


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"name": ""}, "name"),
        ({"message": "   "}, "message"),
        ({"message": "x" * 4001}, "message"),
        ({"name": None}, "name"),
        ({"website": "x" * 501}, "website"),
        ({"message": "bad \ud800 text"}, "message"),
        ({"name": "\ud83d"}, "name"),
    ],
)
async def test_bad_forms_get_a_clear_error_and_store_nothing(
    closed_server: LiveServer, resident_client: Residents, changes: dict[str, Any], field: str
) -> None:
    resident = await resident_client(closed_server.url)
    ack = await resident.call("leave_message", form(**changes))
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload"
    assert ack["error"]["message"].startswith(field)

    async def count(session: Any) -> int:
        return int(await session.scalar(select(func.count()).select_from(AfterHoursMessage)))

    assert await closed_server.app[DATABASE].run(count) == 0


async def test_during_hours_the_form_is_offered_only_when_nobody_can_answer(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_client: Residents,
    agent_client: Callable[..., Awaitable[AgentClient]],
) -> None:
    server = await start_server(make_settings(**CITY), clock=lambda: TUESDAY_TEN)
    resident = await resident_client(server.url)
    hours = await resident.call("hours", {})
    assert hours["open"] is True and hours["next_opening"] is None
    assert hours["leave_message"]["reason"] == "no_agents"
    await agent_client("maria", server=server)
    hours = await resident.call("hours", {})
    assert hours["leave_message"] == {"offered": False, "reason": None, "text": None}


async def test_the_acknowledgement_reaches_a_real_mail_server(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_client: Residents,
    smtp_server: Callable[..., Inbox],
) -> None:
    inbox = smtp_server()
    settings = make_settings(
        **CITY,
        smtp_host="127.0.0.1",
        smtp_port=inbox.port,
        smtp_security="none",
        mail_from="Citizen Service Center <csc@example.org>",
        mail_reply_to="csc-replies@example.org",
    )
    server = await start_server(settings, clock=lambda: SUNDAY_NOON)
    resident = await resident_client(server.url)
    left = await resident.call("leave_message", form())
    (mail,) = await inbox.wait_for(1)
    assert mail["From"] == "Citizen Service Center <csc@example.org>"
    assert mail["To"] == "ana@example.com"
    assert mail["Reply-To"] == "csc-replies@example.org"
    assert mail["Subject"] == f"We received your message ({left['reference']})"
    body = mail.get_content()
    assert "Monday, November 30 at 5 p.m." in body and "> My bulky item pickup" in body
    # The server accepted it; the sender records that just after.
    rows = await eventually(
        lambda: stored_rows(server, OutboxMail),
        lambda rows: rows[0].sent_at,
        what="mail marked sent",
    )
    assert rows[0].attempts <= 1


# --- the staff inbox ---------------------------------------------------------------------------


async def test_the_inbox_claim_is_one_owner_and_the_reply_goes_by_mail(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_client: Residents,
    agent_client: Callable[..., Awaitable[AgentClient]],
    smtp_server: Callable[..., Inbox],
) -> None:
    inbox = smtp_server()
    settings = make_settings(
        **CITY,
        smtp_host="127.0.0.1",
        smtp_port=inbox.port,
        smtp_security="none",
        mail_reply_to="csc-replies@example.org",
    )
    now = [SUNDAY_NOON]
    server = await start_server(settings, clock=lambda: now[0])
    resident = await resident_client(server.url)
    first = await resident.call("leave_message", form(message="Missed pickup on Friday"))
    second = await resident.call("leave_message", form(email="bo@example.com", message="Hello?"))
    await inbox.wait_for(2)  # the two acknowledgements

    maria = await agent_client("maria", server=server, display_name="Maria Lopez")
    tom = await agent_client("tom", server=server)
    listed = (await maria.ok("inbox"))["messages"]
    assert [m["reference"] for m in listed] == [first["reference"], second["reference"]]
    assert listed[0]["status"] == "new" and listed[0]["overdue"] is False
    mid = listed[0]["id"]

    claims = await asyncio.gather(
        maria.call("inbox_claim", {"id": mid}), tom.call("inbox_claim", {"id": mid})
    )
    assert sorted(c["ok"] for c in claims) == [False, True]
    winner = maria if claims[0]["ok"] else tom
    loser = tom if winner is maria else maria
    refused = next(c for c in claims if not c["ok"])
    assert refused["error"]["code"] == "already_taken"
    seen = await loser.next_where("inbox_item", lambda i: i["id"] == mid)
    assert seen["owner"]["id"] == winner.staff_id and seen["status"] == "in_progress"

    not_owner = await loser.call("inbox_reply", {"id": mid, "text": "Hi"})
    assert not_owner["error"]["code"] == "not_assigned"
    replied = await winner.ok(
        "inbox_reply", {"id": mid, "text": "Your pickup is rescheduled for Tuesday."}
    )
    assert replied["message"]["status"] == "replied"
    assert replied["message"]["reply"] == "Your pickup is rescheduled for Tuesday."
    mails = await inbox.wait_for(3)
    reply = mails[2]
    assert reply["To"] == "ana@example.com"
    assert reply["Subject"] == f"Your message to the City ({first['reference']})"
    assert reply["Reply-To"] == "csc-replies@example.org"
    assert "Your pickup is rescheduled for Tuesday." in reply.get_content()
    assert "> Missed pickup on Friday" in reply.get_content()
    again = await winner.call("inbox_reply", {"id": mid, "text": "Twice?"})
    assert again["error"]["code"] == "conversation_ended"

    # Past its due time an open message is flagged; spam leaves the inbox but is kept.
    now[0] = SUNDAY_NOON + timedelta(days=2)
    (left,) = (await maria.ok("inbox"))["messages"]
    assert left["overdue"] is True
    await maria.ok("inbox_status", {"id": left["id"], "status": "spam"})
    assert (await maria.ok("inbox"))["messages"] == []
    kept = (await maria.ok("inbox", {"statuses": ["spam", "replied"]}))["messages"]
    assert {m["status"] for m in kept} == {"spam", "replied"}
    for bad in ({"statuses": ["lost"]}, {"statuses": []}, {"statuses": "new"}):
        assert (await maria.call("inbox", bad))["error"]["code"] == "invalid_payload"
    assert (await maria.call("inbox_claim", {"id": 10**6}))["error"]["code"] == "not_found"
    assert (await maria.call("inbox_reply", {"id": mid, "text": ""}))["error"][
        "code"
    ] == "invalid_payload"


async def test_a_request_from_a_left_message_starts_from_that_message(
    closed_server: LiveServer,
    resident_client: Residents,
    agent_client: Callable[..., Awaitable[AgentClient]],
) -> None:
    resident = await resident_client(closed_server.url)
    started = await resident.start(question="hi")
    cid = started["conversation"]["id"]
    # Small talk with the assistant first, none of it about the problem.
    for line in ("what are your hours", "is city hall open on saturday", "ok thanks"):
        assert (await resident.call("message", {"client_id": uuid.uuid4().hex, "text": line}))["ok"]
    left_text = (
        "Our trash at 1200 N Fair Oaks Ave was missed two weeks in a row. Please send the truck."
    )
    assert (await resident.call("leave_message", form(message=left_text)))["ok"]

    maria = await agent_client("maria", server=closed_server, available=False)
    ack = await maria.ok(
        "request_prefill", {"conversation_id": cid, "service_code": "missed-trash"}
    )
    # From the left message itself: its address, and its words although the missed-collection
    # topic has no description field of its own.
    assert ack["values"]["address"] == "1200 N Fair Oaks Ave"
    assert ack["values"]["description"] == left_text
    assert "hours" not in ack["values"]["description"]

    filed = await maria.ok(
        "request_create",
        {
            "conversation_id": cid,
            "service_code": "missed-trash",
            "values": {
                "address": ack["values"]["address"],
                "container": "trash",
                "description": ack["values"]["description"],
            },
            "client_id": uuid.uuid4().hex,
        },
    )
    assert filed["request"]["description"] == left_text
    assert filed["request"]["address"] == "1200 N Fair Oaks Ave"
