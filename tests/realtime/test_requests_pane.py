"""Service requests in the agent pane: prefill, filing from a chat, the list, status changes.

The real server on a real port, real /agent and /resident Socket.IO clients.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from sqlalchemy import func, select

from chatsvc.actions.service_requests.filing import NewRequest, create_service_request
from chatsvc.actions.service_requests.photos import store_photo
from chatsvc.db.models import Message, OutboxMail, ServiceRequest, ServiceRequestUpdate
from chatsvc.images import clean_image
from chatsvc.settings import Settings
from chatsvc.transport.state import DATABASE, REQUEST_POLICY
from tests.conftest import PERSON, AgentClient, LiveServer, ResidentClient
from tests.realtime.test_uploads import jpeg_with_gps

Residents = Callable[..., Awaitable[ResidentClient]]
Agents = Callable[..., Awaitable[AgentClient]]
MONDAY_TEN = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # 10:00 in Pasadena
CITY = {"business_hours": "mon-fri 08:00-17:00", "holidays": "US-CA"}
GRAFFITI = "There's graffiti on the wall at 100 N Garfield Ave"
JPEG = clean_image(jpeg_with_gps(), max_pixels=40_000_000)
PASADENA = ZoneInfo("America/Los_Angeles")


@pytest.fixture
async def city(
    make_settings: Callable[..., Settings], start_server: Callable[..., Awaitable[LiveServer]]
) -> LiveServer:
    """The service on a Monday at 10 a.m., open Monday to Friday 8 to 5 (a fixed clock)."""
    return await start_server(make_settings(**CITY), clock=lambda: MONDAY_TEN)


def client_id() -> str:
    return uuid.uuid4().hex


async def chat_with_agent(
    city: LiveServer, resident_client: Residents, agent: AgentClient, *lines: str
) -> tuple[ResidentClient, int]:
    """A resident asks the assistant `lines[0]`, says the rest, then asks for a person."""
    resident = await resident_client(city.url)
    cid = (await resident.start(question=lines[0] if lines else GRAFFITI))["conversation"]["id"]
    for text in [*lines[1:], PERSON]:
        ack = await resident.call("message", {"client_id": client_id(), "text": text})
        assert ack["ok"], ack
    assigned = await agent.next_where("assigned", lambda p: p["conversation"]["id"] == cid)
    assert assigned["conversation"]["stage"] == "agent"
    return resident, cid


async def count(city: LiveServer, model: Any) -> int:
    async with city.app[DATABASE].engine.connect() as conn:
        found = await conn.scalar(select(func.count()).select_from(model))
    return int(found or 0)


async def mail_kinds(city: LiveServer) -> list[str]:
    async with city.app[DATABASE].engine.connect() as conn:
        rows = await conn.execute(select(OutboxMail.kind).order_by(OutboxMail.id))
        return [row.kind for row in rows]


def graffiti_values(**changes: str) -> dict[str, str]:
    return {"address": "100 N Garfield Ave", "description": "Tags on the east wall", **changes}


async def file_graffiti(agent: AgentClient, cid: int, **changes: Any) -> dict[str, Any]:
    payload = {
        "conversation_id": cid,
        "service_code": "graffiti",
        "values": graffiti_values(),
        "client_id": client_id(),
        **changes,
    }
    return await agent.ok("request_create", payload)


# --- prefill ---------------------------------------------------------------------------------


async def test_the_form_is_prefilled_from_what_the_resident_said(
    city: LiveServer, resident_client: Residents, agent_client: Agents
) -> None:
    agent = await agent_client("maria", server=city, display_name="Maria Lopez")
    resident, cid = await chat_with_agent(city, resident_client, agent, GRAFFITI)
    ack = await agent.ok("request_prefill", {"conversation_id": cid})
    # The assistant took the chat for graffiti: its topic, and the address the resident gave.
    assert (ack["topic"], ack["service_code"]) == ("graffiti", "graffiti")
    assert ack["values"]["address"] == "100 N Garfield Ave"
    assert ack["values"]["description"].startswith(GRAFFITI), ack["values"]
    assert "person" not in ack["values"]["description"]  # asking for one says nothing of it
    assert set(ack["values"]) == {"address", "description"}  # the photo is not a value
    assert ack["contact"] == {"name": "Ana Ruiz", "email": "ana@example.com"}
    assert ack["photo_ids"] == []
    topics = {t["code"]: t for t in ack["topics"]}
    assert "trash-schedule" not in topics  # information only: nothing to file
    fields = {f["name"]: f for f in topics["graffiti"]["fields"]}
    assert (fields["address"]["required"], fields["photo"]["required"]) == (True, False)
    assert fields["address"]["label"] == "Address" and fields["address"]["max_length"] == 200
    container = {f["name"]: f for f in topics["missed-trash"]["fields"]}["container"]
    assert container["datatype"] == "singlevaluelist"
    assert {"key": "recycling", "name": "Recycling (blue)"} in container["values"]
    assert ack["statuses"]["in_progress"] == "In progress"
    assert "Public Works" in ack["departments"]

    # The resident says more to the agent; another topic chosen in the form gets its fields
    # suggested from the whole chat (the newest mention first).
    more = "Also my blue bin was not emptied this week."
    assert (await resident.call("message", {"client_id": client_id(), "text": more}))["ok"]
    other = await agent.ok(
        "request_prefill", {"conversation_id": cid, "service_code": "missed-trash"}
    )
    assert (other["topic"], other["service_code"]) == ("graffiti", "missed-trash")
    assert (other["values"]["address"], other["values"]["container"]) == (
        "100 N Garfield Ave",
        "recycling",
    )
    # The topic has no description field; the resident's words are suggested all the same.
    assert more in other["values"]["description"]


async def test_prefill_without_a_request_topic_or_an_address(
    city: LiveServer, resident_client: Residents, agent_client: Agents
) -> None:
    agent = await agent_client("maria", server=city)
    resident = await resident_client(city.url)
    cid = (await resident.start())["conversation"]["id"]  # "I'd like to talk to a person"
    await agent.next("assigned")
    ack = await agent.ok("request_prefill", {"conversation_id": cid})
    assert (ack["topic"], ack["service_code"]) == (None, None)
    assert ack["values"] == {"address": "", "description": ""}
    missing = await agent.call("request_prefill", {"conversation_id": 10**6})
    assert missing["error"]["code"] == "not_found", missing
    info = await agent.call(
        "request_prefill", {"conversation_id": cid, "service_code": "trash-schedule"}
    )
    assert info["error"]["code"] == "not_found", info


# --- filing from a chat ---------------------------------------------------------------------


async def test_filing_tells_the_resident_lists_it_and_reaches_every_agent(
    city: LiveServer, resident_client: Residents, agent_client: Agents
) -> None:
    maria = await agent_client("maria", server=city, display_name="Maria Lopez")
    sam = await agent_client("sam", server=city, display_name="Sam Ortiz", available=False)
    resident, cid = await chat_with_agent(city, resident_client, maria)
    messages_before = await count(city, Message)

    sent = {
        "conversation_id": cid,
        "service_code": "graffiti",
        "values": graffiti_values(),
        "client_id": client_id(),
    }
    ack = await maria.ok("request_create", sent)
    request = ack["request"]
    assert request["number"] == "26-000001" and ack["duplicate"] is False
    assert (request["source"], request["status"], request["conversation_id"]) == (
        "agent",
        "open",
        cid,
    )
    assert request["contact"] == {"name": "Ana Ruiz", "email": "ana@example.com", "phone": None}
    assert request["address"] == "100 N Garfield Ave"
    assert [(h["status"], h["actor"]) for h in request["history"]] == [("open", "Maria Lopez")]

    # The resident is told in the chat, by the agent who holds it: the number and the date.
    told = await resident.next_where("message", lambda m: "26-000001" in m["text"])
    assert (told["author_kind"], told["author_name"]) == ("agent", "Maria")
    # One period where the sentence ends with the time (issue 16 found "5 p.m..").
    assert "done by Tuesday, November 24 at 5 p.m. The details" in told["text"], told["text"]
    assert ack["message"]["seq"] == told["seq"]
    # Every agent hears of it (Sam holds no chat and has nothing open).
    live = await sam.next_where("request", lambda r: r["number"] == "26-000001")
    assert live["service_name"] == "Graffiti Removal" and live["source"] == "agent"
    assert await mail_kinds(city) == ["request_created"]

    # Sent again (a retry after a lost ack): the same request, nothing more said or mailed.
    again = await maria.ok("request_create", sent)
    assert (again["request"]["number"], again["duplicate"], again["message"]) == (
        "26-000001",
        True,
        None,
    )
    assert await count(city, ServiceRequest) == 1
    assert await count(city, Message) == messages_before + 1
    assert await mail_kinds(city) == ["request_created"]

    # A colleague files one for the same chat: the service tells the resident, not Maria.
    other = await sam.ok(
        "request_create",
        {
            "conversation_id": cid,
            "service_code": "pothole",
            "values": {"address": "Lake Ave and Colorado Blvd", "description": "A deep pothole"},
            "client_id": client_id(),
        },
    )
    assert other["request"]["number"] == "26-000002"
    assert other["request"]["history"][0]["actor"] == "Sam Ortiz"
    system = await resident.next_where("message", lambda m: "26-000002" in m["text"])
    assert system["author_kind"] == "system"

    listed = await sam.ok("requests", {})
    assert [r["number"] for r in listed["requests"]] == ["26-000002", "26-000001"]
    assert (listed["total"], listed["page"], listed["per_page"]) == (2, 1, 25)
    one = await sam.ok("request", {"number": "26000001"})
    assert one["request"]["number"] == "26-000001"
    assert one["request"]["history"][0]["note"] == "Request received."


async def test_an_ended_chat_gets_its_request_without_a_message(
    city: LiveServer, resident_client: Residents, agent_client: Agents
) -> None:
    maria = await agent_client("maria", server=city)
    resident, cid = await chat_with_agent(city, resident_client, maria)
    assert (await resident.call("end", {}))["ok"]
    ack = await file_graffiti(maria, cid)
    assert ack["message"] is None and ack["request"]["conversation_id"] == cid
    assert await mail_kinds(city) == ["request_created"]  # the resident hears by mail


async def test_a_request_from_elsewhere_reaches_the_pane_live(
    city: LiveServer, agent_client: Agents
) -> None:
    """A request filed through the domain alone (as Open311 does) reaches the pane on commit."""
    maria = await agent_client("maria", server=city)
    view = await city.app[DATABASE].run(
        create_service_request,
        NewRequest(
            service_code="pothole",
            values={"address": "Lake Ave and Colorado Blvd", "description": "Deep pothole"},
            source="open311",
            actor="Open311 client",
        ),
        policy=city.app[REQUEST_POLICY](),
        now=MONDAY_TEN,
    )
    live = await maria.next("request")
    assert (live["number"], live["source"]) == (view.number, "open311")
    listed = await maria.ok("requests", {"service_code": "pothole"})
    assert [r["number"] for r in listed["requests"]] == [view.number]


# --- the list and its filters ----------------------------------------------------------------


async def test_the_list_filters_by_status_department_topic_and_dates(
    city: LiveServer, resident_client: Residents, agent_client: Agents
) -> None:
    maria = await agent_client("maria", server=city)
    _, cid = await chat_with_agent(city, resident_client, maria)
    graffiti = (await file_graffiti(maria, cid))["request"]["number"]
    outage = (
        await maria.ok(
            "request_create",
            {
                "conversation_id": cid,
                "service_code": "power-outage",
                "values": {"address": "100 N Garfield Ave", "description": "No power since 9"},
                "client_id": client_id(),
            },
        )
    )["request"]["number"]
    await maria.ok(
        "request_status", {"number": outage, "status": "in_progress", "note": "Crew on the way"}
    )

    async def numbers(**filters: Any) -> list[str]:
        ack = await maria.ok("requests", filters)
        assert ack["total"] == len(ack["requests"])
        return [r["number"] for r in ack["requests"]]

    assert await numbers() == [outage, graffiti]
    assert await numbers(status="open") == [graffiti]
    assert await numbers(statuses=["open", "in_progress"]) == [outage, graffiti]
    assert await numbers(status="closed") == []
    assert await numbers(department="Water and Power") == [outage]
    assert await numbers(service_code="graffiti") == [graffiti]
    today = MONDAY_TEN.astimezone(PASADENA).date()
    day = today.isoformat()
    before = (today - timedelta(days=1)).isoformat()
    after = (today + timedelta(days=1)).isoformat()
    assert await numbers(start=day, end=day) == [outage, graffiti]
    assert await numbers(start=after) == []
    assert await numbers(end=before) == []
    page_two = await maria.ok("requests", {"page": 2})
    assert (page_two["requests"], page_two["total"], page_two["page"]) == ([], 2, 2)
    backwards = await maria.call("requests", {"start": day, "end": before})
    assert backwards["error"] == {
        "code": "invalid_request",
        "message": "The “to” date is before the “from” date.",
        "field": "end",
    }


async def test_paging_through_many_requests(
    city: LiveServer, resident_client: Residents, agent_client: Agents
) -> None:
    maria = await agent_client("maria", server=city)
    _, cid = await chat_with_agent(city, resident_client, maria)
    for _ in range(27):
        await file_graffiti(maria, cid)
    first = await maria.ok("requests", {"page": 1})
    second = await maria.ok("requests", {"page": 2})
    assert (first["total"], len(first["requests"]), len(second["requests"])) == (27, 25, 2)
    assert second["requests"][-1]["number"] == "26-000001"


# --- status changes --------------------------------------------------------------------------


async def test_status_changes_keep_a_history_and_mail_the_resident(
    city: LiveServer, resident_client: Residents, agent_client: Agents
) -> None:
    maria = await agent_client("maria", server=city, display_name="Maria Lopez")
    sam = await agent_client("sam", server=city, display_name="Sam Ortiz", available=False)
    _, cid = await chat_with_agent(city, resident_client, maria)
    number = (await file_graffiti(maria, cid))["request"]["number"]
    await sam.next_where("request", lambda r: r["number"] == number)

    working = await maria.ok(
        "request_status",
        {"number": number, "status": "in_progress", "note": "Crew booked", "public": False},
    )
    assert working["request"]["status"] == "in_progress"
    closed = await sam.ok(
        "request_status", {"number": number, "status": "closed", "note": "Painted over today."}
    )
    history = closed["request"]["history"]
    assert [(h["status"], h["note"], h["public"], h["actor"]) for h in history] == [
        ("open", "Request received.", True, "Maria Lopez"),
        ("in_progress", "Crew booked", False, "Maria Lopez"),
        ("closed", "Painted over today.", True, "Sam Ortiz"),
    ]
    assert closed["request"]["closed_at"] is not None
    live = await maria.next_where("request", lambda r: r["status"] == "closed")
    assert live["number"] == number and live["status_notes"] == "Painted over today."
    assert await mail_kinds(city) == ["request_created", "request_closed"]


async def test_a_referral_needs_a_department_and_next_steps(
    city: LiveServer, resident_client: Residents, agent_client: Agents
) -> None:
    maria = await agent_client("maria", server=city)
    _, cid = await chat_with_agent(city, resident_client, maria)
    number = (await file_graffiti(maria, cid))["request"]["number"]
    refer = {"number": number, "status": "referred", "note": "Private property"}

    no_department = await maria.call("request_status", {**refer, "next_steps": "Call them"})
    assert no_department["error"]["code"] == "invalid_request"
    assert no_department["error"]["field"] == "referred_to"
    no_steps = await maria.call("request_status", {**refer, "referred_to": "Code Enforcement"})
    assert no_steps["error"]["field"] == "next_steps"
    assert (await maria.ok("request", {"number": number}))["request"]["status"] == "open"

    referred = await maria.ok(
        "request_status",
        {**refer, "referred_to": "Code Enforcement", "next_steps": "They will call you."},
    )
    assert referred["request"]["referred_to"] == "Code Enforcement"
    assert referred["request"]["next_steps"] == "They will call you."
    assert await mail_kinds(city) == ["request_created", "request_referred"]


# --- photos ------------------------------------------------------------------------------


async def test_photos_from_the_chat_are_filed_and_shown_to_staff_only(
    city: LiveServer, resident_client: Residents, agent_client: Agents
) -> None:
    maria = await agent_client("maria", server=city)
    _, cid = await chat_with_agent(city, resident_client, maria)
    photo = await city.app[DATABASE].run(
        store_photo, conversation_id=cid, image=JPEG, now=MONDAY_TEN
    )
    prefilled = await maria.ok("request_prefill", {"conversation_id": cid})
    assert prefilled["photo_ids"] == [photo.id]
    request = (await file_graffiti(maria, cid, photo_ids=[photo.id]))["request"]
    assert request["photo_ids"] == [photo.id]
    assert (await maria.ok("request_prefill", {"conversation_id": cid}))["photo_ids"] == []

    url = f"{city.url}/agent/requests/photos/{photo.id}"
    async with aiohttp.ClientSession() as http:
        async with http.get(url, headers={"Cookie": f"chatsvc_staff={maria.cookie}"}) as r:
            assert r.status == 200
            assert await r.read() == JPEG.data
            assert r.headers["Content-Type"] == "image/jpeg"
            assert r.headers["Content-Disposition"].startswith("inline")
            assert r.headers["X-Content-Type-Options"] == "nosniff"
            assert r.headers["Content-Security-Policy"] == "default-src 'none'"
            assert "private" in r.headers["Cache-Control"]
        async with http.get(url) as r:
            assert r.status == 401
            assert (await r.json())["error"]["code"] == "not_signed_in"
        async with http.get(url, headers={"Cookie": "chatsvc_staff=forged"}) as r:
            assert r.status == 401
        missing = f"{city.url}/agent/requests/photos/{photo.id + 1}"
        async with http.get(missing, headers={"Cookie": f"chatsvc_staff={maria.cookie}"}) as r:
            assert r.status == 404
            assert (await r.json())["error"]["code"] == "not_found"


# --- bad input -----------------------------------------------------------------------------

NUMBER = "26-000001"  # the request each bad-input test files first
HTML = "<img src=x onerror=alert(1)><script>alert('x')</script> & <b>bold</b>"

# (event, payload, expected code, a word the message must contain, the field named or None)
BAD: list[tuple[str, dict[str, Any], str, str, str | None]] = [
    ("request", {}, "invalid_payload", "number", "number"),
    ("request", {"number": "26-999999"}, "not_found", "no request", None),
    ("request", {"number": "hello"}, "not_found", "no request", None),
    ("request", {"number": 26000001}, "invalid_payload", "number", "number"),
    ("request_status", {"number": "26-999999", "status": "closed"}, "not_found", "no", None),
    ("request_status", {"number": NUMBER, "status": "done"}, "invalid_payload", "status", "status"),
    ("request_status", {"number": NUMBER}, "invalid_payload", "status", "status"),
    ("request_status", {"status": "closed"}, "invalid_payload", "number", "number"),
    (
        "request_status",
        {"number": NUMBER, "status": "closed", "public": "yes"},
        "invalid_payload",
        "public",
        "public",
    ),
    (
        "request_status",
        {"number": NUMBER, "status": "closed", "note": "x" * 4001},
        "invalid_payload",
        "4000",
        "note",
    ),
    (
        "request_status",
        {"number": NUMBER, "status": "closed", "note": ["a note"]},
        "invalid_payload",
        "note",
        "note",
    ),
    ("request_status", {"number": NUMBER, "status": "open"}, "invalid_request", "already", None),
    (
        "request_status",
        {"number": NUMBER, "status": "referred", "referred_to": "x" * 101, "next_steps": "a"},
        "invalid_payload",
        "100",
        "referred_to",
    ),
    ("requests", {"page": 0}, "invalid_payload", "page", "page"),
    ("requests", {"page": "2"}, "invalid_payload", "page", "page"),
    ("requests", {"status": "lost"}, "invalid_payload", "status", "status"),
    ("requests", {"start": "2026-02-30"}, "invalid_payload", "date", "start"),
    ("requests", {"start": "yesterday"}, "invalid_payload", "start", "start"),
    ("requests", {"service_code": "<b>"}, "invalid_payload", "service_code", "service_code"),
    (
        "request_prefill",
        {"conversation_id": "1"},
        "invalid_payload",
        "conversation_id",
        "conversation_id",
    ),
    (
        "request_create",
        {"conversation_id": ...},
        "invalid_payload",
        "conversation_id",
        "conversation_id",
    ),
    ("request_create", {"values": ...}, "invalid_payload", "values", "values"),
    ("request_create", {"service_code": ...}, "invalid_payload", "service_code", "service_code"),
    ("request_create", {"client_id": ...}, "invalid_payload", "client_id", "client_id"),
    ("request_create", {"client_id": "short"}, "invalid_payload", "client_id", "client_id"),
    ("request_create", {"values": ["100 N Garfield Ave"]}, "invalid_payload", "values", "values"),
    (
        "request_create",
        {"values": {"address": 100}},
        "invalid_payload",
        "values.address",
        "values.address",
    ),
    (
        "request_create",
        {"values": {"Bad Name": "x"}},
        "invalid_payload",
        "values",
        "values.Bad Name.[key]",
    ),
    (
        "request_create",
        {"service_code": "nope"},
        "not_found",
        "no service",
        None,
    ),
    (
        "request_create",
        {"values": {"address": "100 N Garfield Ave"}},
        "missing_field",
        "required",
        "description",
    ),
    (
        "request_create",
        {"values": graffiti_values(address="somewhere nice")},
        "invalid_request",
        "street address",
        "address",
    ),
    (
        "request_create",
        {"values": graffiti_values(color="red")},
        "unknown_field",
        "no field",
        "color",
    ),
    (
        "request_create",
        {"values": graffiti_values(description="x" * 4001)},
        "invalid_payload",
        "4000",
        "values.description",
    ),
    ("request_create", {"photo_ids": [10**6]}, "invalid_request", "photo", "photo"),
    ("request_create", {"conversation_id": 10**6}, "not_found", "no such", None),
]


async def request_state(city: LiveServer) -> dict[str, Any]:
    """Everything a refused event must leave as it was."""
    async with city.app[DATABASE].engine.connect() as conn:
        counts = {
            model.__tablename__: await conn.scalar(select(func.count()).select_from(model))
            for model in (ServiceRequest, ServiceRequestUpdate, Message, OutboxMail)
        }
        requests = (
            await conn.execute(
                select(
                    ServiceRequest.number,
                    ServiceRequest.status,
                    ServiceRequest.updated_at,
                    ServiceRequest.referred_to,
                )
            )
        ).all()
    return {"counts": counts, "requests": [tuple(r) for r in requests]}


@pytest.mark.parametrize(("event", "payload", "code", "word", "field"), BAD)
async def test_bad_request_events_are_refused_and_change_nothing(
    city: LiveServer,
    resident_client: Residents,
    agent_client: Agents,
    event: str,
    payload: dict[str, Any],
    code: str,
    word: str,
    field: str | None,
) -> None:
    maria = await agent_client("maria", server=city)
    _, cid = await chat_with_agent(city, resident_client, maria)
    assert (await file_graffiti(maria, cid))["request"]["number"] == NUMBER
    if event == "request_create":
        good = {
            "conversation_id": cid,
            "service_code": "graffiti",
            "values": graffiti_values(),
            "client_id": client_id(),
        }
        payload = {k: v for k, v in {**good, **payload}.items() if v is not ...}
    before = await request_state(city)
    ack = await maria.call(event, payload)
    assert ack["ok"] is False, ack
    assert ack["error"]["code"] == code, ack
    assert word.lower() in ack["error"]["message"].lower(), ack
    if code == "invalid_payload":
        # The field the message names, as a path for a form to point at.
        assert ack["error"]["message"].startswith(f"{ack['error']['field']}: "), ack
    else:
        assert ack["error"].get("field") == field, ack
    assert await request_state(city) == before
    assert (await maria.ok("request", {"number": NUMBER}))["request"]["status"] == "open"


async def test_html_in_a_note_is_kept_as_text(
    city: LiveServer, resident_client: Residents, agent_client: Agents
) -> None:
    maria = await agent_client("maria", server=city)
    _, cid = await chat_with_agent(city, resident_client, maria)
    number = (await file_graffiti(maria, cid, values=graffiti_values(description=HTML)))["request"][
        "number"
    ]
    ack = await maria.ok("request_status", {"number": number, "status": "closed", "note": HTML})
    assert ack["request"]["history"][-1]["note"] == HTML
    assert ack["request"]["description"] == HTML
    stored = await maria.ok("request", {"number": number})
    assert stored["request"]["history"][-1]["note"] == HTML


async def test_only_signed_in_staff_reach_the_request_events(
    city: LiveServer, resident_client: Residents
) -> None:
    # The /resident namespace has none of them: a resident cannot list or change requests.
    resident = await resident_client(city.url)
    await resident.start()
    for event in ("requests", "request", "request_status", "request_create", "request_prefill"):
        ack = await resident.call(event, {"number": NUMBER})
        assert ack["error"]["code"] == "unknown_event", (event, ack)
