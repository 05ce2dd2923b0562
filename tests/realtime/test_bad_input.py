"""Bad input over every resident event: a clear error ack, nothing changed, the server stays up."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import func, select

from chatsvc.db.models import Conversation, Message, Resident
from chatsvc.transport.state import DATABASE
from tests.conftest import AgentClient, LiveServer, ResidentClient

Factory = Callable[..., Awaitable[ResidentClient]]
GOOD_START = {"name": "Ana Ruiz", "email": "ana@example.com", "question": "Hello?"}
LONG = "x" * 4001


def start_with(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = dict(GOOD_START)
    for key, value in changes.items():
        if value is ...:
            del payload[key]
        else:
            payload[key] = value
    return payload


def message_with(**changes: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"client_id": uuid.uuid4().hex, "text": "hello"}
    for key, value in changes.items():
        if value is ...:
            del payload[key]
        else:
            payload[key] = value
    return payload


# (event, payload, expected code, a word the message must contain)
BEFORE_START: list[tuple[str, Any, str, str]] = [
    ("start", None, "invalid_payload", "object"),
    ("start", "hello", "invalid_payload", "object"),
    ("start", ["Ana", "ana@example.com", "hi"], "invalid_payload", "object"),
    ("start", 42, "invalid_payload", "object"),
    ("start", (GOOD_START, GOOD_START), "invalid_payload", "one payload"),
    ("start", start_with(name=...), "invalid_payload", "name"),
    ("start", start_with(email=...), "invalid_payload", "email"),
    ("start", start_with(question=...), "invalid_payload", "question"),
    ("start", start_with(name=""), "invalid_payload", "name"),
    ("start", start_with(name="   \n "), "invalid_payload", "name"),
    ("start", start_with(name=123), "invalid_payload", "name"),
    ("start", start_with(name="A" * 101), "invalid_payload", "100"),
    ("start", start_with(email=""), "invalid_payload", "email"),
    ("start", start_with(email="ana"), "invalid_payload", "email"),
    ("start", start_with(email="ana@example"), "invalid_payload", "email"),
    ("start", start_with(email="ana @example.com"), "invalid_payload", "email"),
    ("start", start_with(email="<script>@x.com"), "invalid_payload", "email"),
    ("start", start_with(email="a" * 250 + "@x.com"), "invalid_payload", "254"),
    ("start", start_with(email=None), "invalid_payload", "email"),
    ("start", start_with(question=""), "invalid_payload", "question"),
    ("start", start_with(question=["hi"]), "invalid_payload", "question"),
    ("start", start_with(question=LONG), "invalid_payload", "4,000"),
    ("start", start_with(client_id="short"), "invalid_payload", "client_id"),
    ("start", start_with(client_id="has spaces in it"), "invalid_payload", "client_id"),
    ("start", start_with(client_id="x" * 65), "invalid_payload", "client_id"),
    ("start", start_with(client_id=12345678), "invalid_payload", "client_id"),
    # The conversation's language: one the widget offers, as a string, or none (English).
    ("start", start_with(language="fr"), "invalid_payload", "language"),
    ("start", start_with(language=123), "invalid_payload", "language"),
    ("start", start_with(language=None), "invalid_payload", "language"),
    ("start", start_with(language="ES"), "invalid_payload", "language"),
    ("start", start_with(language="es" * 2_000), "invalid_payload", "language"),
    ("start", start_with(language=["es"]), "invalid_payload", "language"),
    ("resume", {}, "invalid_payload", "token"),
    ("resume", {"token": 12345}, "invalid_payload", "token"),
    ("resume", {"token": "short"}, "invalid_payload", "token"),
    ("resume", {"token": "y" * 101}, "invalid_payload", "token"),
    ("resume", {"token": "z" * 43}, "invalid_token", "not valid"),
    ("resume", {"token": "z" * 43, "last_seq": -1}, "invalid_payload", "last_seq"),
    ("resume", {"token": "z" * 43, "last_seq": "3"}, "invalid_payload", "last_seq"),
    ("resume", {"token": "z" * 43, "last_seq": 1.5}, "invalid_payload", "last_seq"),
    ("resume", {"token": "z" * 43, "last_seq": True}, "invalid_payload", "last_seq"),
    ("resume", {"token": "z" * 43, "last_seq": 2**63}, "invalid_payload", "last_seq"),
    ("resume", {"token": "z" * 43, "last_seq": 2**64 + 1}, "invalid_payload", "last_seq"),
    ("resume", {"token": "z" * 42 + "\ud800"}, "invalid_payload", "token"),
    ("resume_link", None, "invalid_payload", "object"),
    ("resume_link", {}, "invalid_payload", "code"),
    ("resume_link", {"code": 12345}, "invalid_payload", "code"),
    ("resume_link", {"code": "short"}, "invalid_payload", "code"),
    ("resume_link", {"code": "c" * 101}, "invalid_payload", "code"),
    ("resume_link", {"code": "<script>alert(1)</script>xxxxxx"}, "invalid_payload", "code"),
    ("resume_link", {"code": "c" * 42 + "\ud800"}, "invalid_payload", "code"),
    ("resume_link", {"code": "c" * 43, "visible": "yes"}, "invalid_payload", "visible"),
    ("resume_link", {"code": "c" * 43}, "invalid_token", "not valid"),
    # A lone surrogate is not text: it cannot be stored or sent on as UTF-8.
    ("start", start_with(question="bad \ud800 text"), "invalid_payload", "question"),
    ("start", start_with(name="Ana \udfff"), "invalid_payload", "name"),
    ("start", start_with(email="ana\ud800@example.com"), "invalid_payload", "email"),
    ("message", message_with(), "not_in_conversation", "Start"),
    ("typing", {"typing": True}, "not_in_conversation", "Start"),
    ("read", {"seq": 1}, "not_in_conversation", "Start"),
    ("end", {}, "not_in_conversation", "Start"),
    ("end", None, "not_in_conversation", "Start"),
    ("transcript", {}, "not_in_conversation", "Start"),
    ("rate", {"score": 5}, "not_in_conversation", "Start"),
    ("ban_everyone", {}, "unknown_event", "unknown event"),
]

IN_CONVERSATION: list[tuple[str, Any, str, str]] = [
    ("message", None, "invalid_payload", "object"),
    ("message", "hello", "invalid_payload", "object"),
    ("message", message_with(client_id=...), "invalid_payload", "client_id"),
    ("message", message_with(text=...), "invalid_payload", "text"),
    ("message", message_with(text=""), "invalid_payload", "text"),
    ("message", message_with(text=" \t\n "), "invalid_payload", "text"),
    ("message", message_with(text="\x00\x07"), "invalid_payload", "text"),
    ("message", message_with(text=LONG), "invalid_payload", "4,000"),
    ("message", message_with(text=5), "invalid_payload", "text"),
    ("message", message_with(text={"html": "<b>"}), "invalid_payload", "text"),
    ("message", message_with(client_id="bad id!"), "invalid_payload", "client_id"),
    ("message", message_with(client_id=None), "invalid_payload", "client_id"),
    ("message", message_with(text="bad \ud800 text"), "invalid_payload", "text"),
    ("typing", {}, "invalid_payload", "typing"),
    ("typing", {"typing": "yes"}, "invalid_payload", "typing"),
    ("typing", {"typing": 1}, "invalid_payload", "typing"),
    ("read", {}, "invalid_payload", "seq"),
    ("read", {"seq": -1}, "invalid_payload", "seq"),
    ("read", {"seq": "2"}, "invalid_payload", "seq"),
    ("end", "now", "invalid_payload", "object"),
    ("transcript", "please", "invalid_payload", "object"),
    ("transcript", {"email": "not-an-email"}, "invalid_payload", "email"),
    ("transcript", {"email": 5}, "invalid_payload", "email"),
    ("transcript", {"email": "<script>@x.com"}, "invalid_payload", "email"),
    ("transcript", {"email": "a" * 250 + "@x.com"}, "invalid_payload", "254"),
    ("rate", {}, "invalid_payload", "score"),
    ("rate", {"score": 0}, "invalid_payload", "score"),
    ("rate", {"score": 6}, "invalid_payload", "score"),
    ("rate", {"score": "5"}, "invalid_payload", "score"),
    ("rate", {"score": 4.5}, "invalid_payload", "score"),
    ("rate", {"score": 5, "comment": "x" * 1001}, "invalid_payload", "1,000"),
    ("rate", {"score": 5, "comment": ["<b>"]}, "invalid_payload", "comment"),
    # The chat is still open, with nobody from the center in it: nothing to rate yet.
    ("rate", {"score": 5}, "conversation_ended", "once it has ended"),
    ("start", start_with(email="not-an-email"), "invalid_payload", "email"),
    ("resume", {"token": "q" * 43}, "invalid_token", "not valid"),
]


async def snapshot(server: LiveServer) -> dict[str, Any]:
    """Count every row and read every conversation's state: what a bad event must not change."""
    async with server.app[DATABASE].engine.connect() as conn:
        counts = {
            model.__tablename__: await conn.scalar(select(func.count()).select_from(model))
            for model in (Resident, Conversation, Message)
        }
        states = (
            await conn.execute(
                select(
                    Conversation.id,
                    Conversation.status,
                    Conversation.last_seq,
                    Conversation.resident_read_seq,
                )
            )
        ).all()
    return {"counts": counts, "conversations": [tuple(row) for row in states]}


async def expect_refused(
    server: LiveServer, client: ResidentClient, event: str, payload: Any, code: str, word: str
) -> None:
    before = await snapshot(server)
    ack = await client.call(event, payload)
    assert ack["ok"] is False, ack
    assert ack["error"]["code"] == code, ack
    assert word.lower() in ack["error"]["message"].lower(), ack
    assert await snapshot(server) == before


@pytest.mark.parametrize(("event", "payload", "code", "word"), BEFORE_START)
async def test_bad_input_before_a_conversation(
    live_server: LiveServer,
    resident_client: Factory,
    event: str,
    payload: Any,
    code: str,
    word: str,
) -> None:
    client = await resident_client()
    await expect_refused(live_server, client, event, payload, code, word)
    # The connection is still usable.
    assert (await client.start())["ok"]


@pytest.mark.parametrize(("event", "payload", "code", "word"), IN_CONVERSATION)
async def test_bad_input_in_a_conversation(
    live_server: LiveServer,
    resident_client: Factory,
    event: str,
    payload: Any,
    code: str,
    word: str,
) -> None:
    client = await resident_client()
    await client.start()
    await expect_refused(live_server, client, event, payload, code, word)
    # Still in the same conversation, still able to write to it.
    ack = await client.call("message", message_with(text="still here"))
    assert ack["ok"] and ack["message"]["seq"] == 3


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (start_with(name="\u0001\u0002"), "name"),
        (start_with(email="ana@example"), "email"),
        (start_with(question=...), "question"),
        ("hello", None),
    ],
)
async def test_a_refused_payload_names_its_field(
    resident_client: Factory, payload: Any, field: str | None
) -> None:
    # The widget puts the message under this field: it reads `field`, never the message text.
    client = await resident_client()
    ack = await client.call("start", payload)
    assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload"
    assert ack["error"].get("field") == field


async def test_start_keeps_the_language_the_widget_chose(
    live_server: LiveServer, resident_client: Factory
) -> None:
    spanish = await resident_client()
    ack = await spanish.call(
        "start", start_with(language="es", question="¿Cuándo recogen la basura?")
    )
    assert ack["ok"] is True, ack
    assert ack["conversation"]["language"] == "es"
    english = await resident_client()
    ack_en = await english.call("start", dict(GOOD_START))  # no language: English
    assert ack_en["conversation"]["language"] == "en"
    async with live_server.app[DATABASE].engine.connect() as conn:
        rows = (await conn.execute(select(Conversation.id, Conversation.language))).all()
    stored = {conversation_id: language for conversation_id, language in rows}
    assert stored == {ack["conversation"]["id"]: "es", ack_en["conversation"]["id"]: "en"}
    # Resuming it tells the same language.
    again = await resident_client()
    resumed = await again.call("resume", {"token": ack["token"]})
    assert resumed["conversation"]["language"] == "es"


async def test_html_and_script_are_stored_as_plain_text(resident_client: Factory) -> None:
    client = await resident_client()
    hostile = "<img src=x onerror=alert(1)><script>alert('x')</script> & \"quotes\""
    started = await client.start(name="<b>Ana</b>", question=hostile)
    assert started["messages"][0]["text"] == hostile
    assert started["conversation"]["resident"]["name"] == "<b>Ana</b>"
    ack = await client.call("message", message_with(text=hostile))
    assert ack["message"]["text"] == hostile


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("nul\x00inside", "nulinside"),
        ("colour \x1b[31mred\x1b[0m", "colour [31mred[0m"),
        ("pay \u202eFDP.exe\u202c now", "pay FDP.exe now"),  # an override reverses the rest
        ("\u2066isolated\u2069 and \u2067rtl\u2069", "isolated and rtl"),
        ("tab\tand\nnewline stay, \u200fmarks too", "tab\tand\nnewline stay, \u200fmarks too"),
    ],
)
async def test_control_and_bidi_override_characters_are_removed(
    resident_client: Factory, sent: str, stored: str
) -> None:
    client = await resident_client()
    await client.start(name="Ana\u202e Ruiz")
    ack = await client.call("message", message_with(text=sent))
    assert ack["message"]["text"] == stored
    assert ack["message"]["author_name"] == "Ana Ruiz"


async def test_a_message_of_exactly_the_limit_is_accepted(resident_client: Factory) -> None:
    client = await resident_client()
    await client.start(question="q" * 4000)
    ack = await client.call("message", message_with(text="é" * 4000))
    assert ack["ok"] and len(ack["message"]["text"]) == 4000
    # Code points, not UTF-16 units: 4,000 emoji are 8,000 JavaScript characters.
    ack = await client.call("message", message_with(text="\U0001f600" * 4000))
    assert ack["ok"] and len(ack["message"]["text"]) == 4000


async def test_writing_to_an_ended_conversation_changes_nothing(
    live_server: LiveServer, resident_client: Factory
) -> None:
    client = await resident_client()
    await client.start()
    await client.call("end", {})
    await expect_refused(
        live_server, client, "message", message_with(), "conversation_ended", "ended"
    )


# --- the /agent namespace -------------------------------------------------------------------

CID = -1  # replaced by the test's conversation id


def agent_payload(**fields: Any) -> dict[str, Any]:
    return {"conversation_id": CID, **fields}


AGENT_EVENTS: list[tuple[str, Any, str, str]] = [
    ("hello", "x", "invalid_payload", "object"),
    ("status", {}, "invalid_payload", "status"),
    ("status", {"status": "busy"}, "invalid_payload", "status"),
    ("status", {"status": 1}, "invalid_payload", "status"),
    ("max_chats", {"max_chats": 0}, "invalid_payload", "max_chats"),
    ("max_chats", {"max_chats": 21}, "invalid_payload", "max_chats"),
    ("max_chats", {"max_chats": "3"}, "invalid_payload", "max_chats"),
    ("max_chats", {"max_chats": 2, "staff_id": 10**6}, "forbidden", "supervisor"),
    ("open", {}, "invalid_payload", "conversation_id"),
    ("open", {"conversation_id": "1"}, "invalid_payload", "conversation_id"),
    ("open", {"conversation_id": 0}, "invalid_payload", "conversation_id"),
    ("open", {"conversation_id": 10**6}, "not_found", "no such"),
    ("open", {"conversation_id": 2**60}, "invalid_payload", "conversation_id"),
    ("accept", agent_payload(), "already_taken", "already"),
    ("accept", {"conversation_id": 10**6}, "conversation_ended", "exist"),
    ("message", agent_payload(text="hi"), "invalid_payload", "client_id"),
    ("message", agent_payload(client_id=uuid.uuid4().hex), "invalid_payload", "text"),
    ("message", agent_payload(client_id=uuid.uuid4().hex, text=LONG), "invalid_payload", "4,000"),
    ("message", agent_payload(client_id=uuid.uuid4().hex, text=" "), "invalid_payload", "text"),
    ("message", {"client_id": uuid.uuid4().hex, "text": "hi"}, "invalid_payload", "conversation"),
    (
        "message",
        {"conversation_id": 10**6, "client_id": uuid.uuid4().hex, "text": "hi"},
        "conversation_ended",
        "exist",
    ),
    ("typing", agent_payload(typing="yes"), "invalid_payload", "typing"),
    ("read", agent_payload(seq=-1), "invalid_payload", "seq"),
    ("note", agent_payload(), "invalid_payload", "text"),
    ("note", agent_payload(text=LONG), "invalid_payload", "4,000"),
    ("note", {"conversation_id": 10**6, "text": "x"}, "conversation_ended", "exist"),
    ("transfer", agent_payload(note="x"), "invalid_payload", "agent or to a workgroup"),
    ("transfer", agent_payload(to_staff_id=10**6, note="x"), "not_found", "no such"),
    ("transfer", agent_payload(to_workgroup="Nobody", note="x"), "invalid_payload", "nobody"),
    ("transfer", agent_payload(to_workgroup="Street Maintenance"), "invalid_payload", "note"),
    ("close", agent_payload(), "invalid_payload", "disposition"),
    ("close", agent_payload(disposition="done"), "invalid_payload", "disposition"),
    ("search", {}, "invalid_payload", "query"),
    ("search", {"query": "q" * 201}, "invalid_payload", "200"),
    ("suggest", {"conversation_id": None}, "invalid_payload", "conversation_id"),
    ("canned_save", {"shortcut": "hours", "title": "Hours", "text": "8-5"}, "forbidden", "super"),
    ("canned_delete", {"id": 1}, "forbidden", "super"),
    ("reassign", agent_payload(to_staff_id=1), "forbidden", "supervisor"),
    ("whoami", {}, "unknown_event", "unknown event"),
    # service requests from the pane
    ("request_prefill", {"conversation_id": 10**6}, "not_found", "no such"),
    ("request_prefill", agent_payload(service_code="trash-schedule"), "not_found", "no service"),
    ("request_prefill", agent_payload(service_code="Graffiti!"), "invalid_payload", "service_code"),
    (
        "request_create",
        agent_payload(service_code="graffiti", values={}, client_id=uuid.uuid4().hex),
        "missing_field",
        "required",
    ),
    (
        "request_create",
        agent_payload(service_code="graffiti", values={"address": 5}, client_id=uuid.uuid4().hex),
        "invalid_payload",
        "values.address",
    ),
    (
        "request_create",
        agent_payload(service_code="graffiti", values={}),
        "invalid_payload",
        "client_id",
    ),
    ("requests", {"page": 0}, "invalid_payload", "page"),
    ("requests", {"end": "2026-13-01"}, "invalid_payload", "date"),
    ("requests", {"status": "lost"}, "invalid_payload", "status"),
    ("request", {"number": "26-999999"}, "not_found", "no request"),
    ("request", {}, "invalid_payload", "number"),
    ("request_status", {"number": "26-999999", "status": "closed"}, "not_found", "no request"),
    ("request_status", {"number": "26-000001", "status": "reopened"}, "invalid_payload", "status"),
    (
        "request_status",
        {"number": "26-000001", "status": "closed", "note": LONG},
        "invalid_payload",
        "4000",
    ),
]


async def staff_snapshot(server: LiveServer) -> dict[str, Any]:
    from chatsvc.db.models import CannedResponse, ConversationNote, Staff

    async with server.app[DATABASE].engine.connect() as conn:
        counts = {
            model.__tablename__: await conn.scalar(select(func.count()).select_from(model))
            for model in (Conversation, Message, ConversationNote, CannedResponse)
        }
        conversations = (
            await conn.execute(
                select(
                    Conversation.id,
                    Conversation.status,
                    Conversation.stage,
                    Conversation.assigned_staff_id,
                    Conversation.last_seq,
                    Conversation.staff_read_seq,
                )
            )
        ).all()
        staff = (await conn.execute(select(Staff.id, Staff.status, Staff.max_chats))).all()
    return {
        "counts": counts,
        "conversations": [tuple(r) for r in conversations],
        "staff": [tuple(r) for r in staff],
    }


@pytest.mark.parametrize(("event", "payload", "code", "word"), AGENT_EVENTS)
async def test_bad_input_from_an_agent(
    live_server: LiveServer,
    resident_client: Factory,
    agent_client: Callable[..., Awaitable[AgentClient]],
    event: str,
    payload: Any,
    code: str,
    word: str,
) -> None:
    agent = await agent_client("maria")
    resident = await resident_client()
    cid = (await resident.start())["conversation"]["id"]
    await agent.next("assigned")
    if isinstance(payload, dict) and payload.get("conversation_id") == CID:
        payload = {**payload, "conversation_id": cid}
    before = await staff_snapshot(live_server)
    ack = await agent.call(event, payload)
    assert ack["ok"] is False, ack
    assert ack["error"]["code"] == code, ack
    assert word.lower() in ack["error"]["message"].lower(), ack
    assert await staff_snapshot(live_server) == before
    # The connection still works.
    hello = await agent.ok("hello")
    assert [c["id"] for c in hello["chats"]] == [cid]
