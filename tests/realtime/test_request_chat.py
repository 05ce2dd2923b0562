"""Filing a service request and asking for its status in the chat: real server and clients."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import pytest
from PIL import Image
from sqlalchemy import select

from chatsvc.actions.service_requests.filing import NewRequest, create_service_request
from chatsvc.actions.service_requests.status import change_status
from chatsvc.actions.service_requests.views import Contact
from chatsvc.db.models import (
    Conversation,
    OutboxMail,
    RequestPhoto,
    ServiceRequest,
    StatusLookupMiss,
)
from chatsvc.settings import Settings
from chatsvc.transport.state import DATABASE, REQUEST_POLICY
from tests.conftest import AgentClient, LiveServer, ResidentClient
from tests.realtime.test_assistant_chat import cid, say

Factory = Callable[..., Awaitable[ResidentClient]]
MONDAY_TEN = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # 10:00 in Pasadena
CITY = {"business_hours": "mon-fri 08:00-17:00", "holidays": "US-CA"}


def _image(kind: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (90, 90, 90)).save(out, kind)
    return out.getvalue()


JPEG, PNG = _image("JPEG"), _image("PNG")


@pytest.fixture
async def city(
    make_settings: Callable[..., Settings], start_server: Callable[..., Awaitable[LiveServer]]
) -> LiveServer:
    return await start_server(make_settings(**CITY), clock=lambda: MONDAY_TEN)


async def rows(server: LiveServer, model: Any) -> list[Any]:
    async def read(session: Any) -> list[Any]:
        return list(await session.scalars(select(model).order_by(model.id)))

    found: list[Any] = await server.app[DATABASE].run(read)
    return found


def labels(message: dict[str, Any]) -> list[str]:
    return [q["label"] for q in message["quick_replies"]]


async def upload(
    server: LiveServer, token: str | None, data: bytes, **headers: str
) -> tuple[int, dict[str, Any]]:
    sent = {"Content-Type": "application/octet-stream", **headers}
    if token is not None:
        sent["X-Chat-Token"] = token
    url = f"{server.url}/resident/photos"
    async with aiohttp.ClientSession() as http, http.post(url, data=data, headers=sent) as response:
        return response.status, await response.json()


async def file_graffiti_up_to_photo(resident: ResidentClient) -> dict[str, Any]:
    ack = await resident.start(question="There is graffiti on the wall of my building")
    answer = ack["messages"][1]
    assert "file a **Graffiti Removal** request" in answer["text"]
    assert labels(answer) == ["File a request", "Talk to a person"]
    asked = await say(resident, answer["quick_replies"][0]["text"])
    assert "address" in asked["text"] and "cancel" in asked["text"]
    bad = await say(resident, "near the park")
    assert "street address" in bad["text"]  # refused, asked again
    asked = await say(resident, "100 N Garfield Ave")
    assert "describe" in asked["text"]
    photo = await say(resident, "Large black tags across the east wall, about 3 m wide.")
    assert "photo" in photo["text"]
    assert {"label": "Add a photo", "text": "", "action": "photo"} in photo["quick_replies"]
    assert "Skip" in labels(photo)
    return photo


async def test_a_resident_files_graffiti_with_a_photo_and_gets_a_number(
    city: LiveServer, resident_client: Factory, agent_client: Callable[..., Awaitable[AgentClient]]
) -> None:
    staff = await agent_client("maria", server=city, available=False)
    resident = await resident_client(city.url)
    await file_graffiti_up_to_photo(resident)

    status, body = await upload(city, resident.token, JPEG)
    assert status == 200 and body["ok"], body
    photo, summary = body["messages"]
    assert (photo["author_kind"], photo["text"]) == ("resident", "Sent a photo.")
    assert summary == await resident.next_where("message", lambda m: m["seq"] == summary["seq"])
    assert "100 N Garfield Ave" in summary["text"] and "1 photo" in summary["text"]
    assert labels(summary) == ["Confirm", "Edit", "Cancel"]

    done = await say(resident, "Confirm")
    request = (await rows(city, ServiceRequest))[0]
    assert request.number == "26-000001" and f"**{request.number}**" in done["text"]
    # One business day: Monday's graffiti is expected by Tuesday at 5 p.m. (once one period).
    assert "by **Tuesday, November 24 at 5 p.m.** I've emailed" in done["text"], done["text"]
    assert (request.service_code, request.source, request.contact_email) == (
        "graffiti",
        "assistant",
        "ana@example.com",
    )
    assert request.address == "100 N Garfield Ave" and "east wall" in request.description
    photos = await rows(city, RequestPhoto)
    assert [(p.request_id, p.content_type) for p in photos] == [(request.id, "image/jpeg")]
    assert Image.open(io.BytesIO(photos[0].data)).size == (40, 30)  # drawn again
    mails = await rows(city, OutboxMail)
    assert [m.kind for m in mails] == ["request_created"]
    live = await staff.next("request")
    assert live["number"] == request.number and live["source"] == "assistant"
    conversation = (await rows(city, Conversation))[0]
    assert conversation.assistant_flow is None and conversation.stage == "assistant"


async def test_a_resident_who_types_ahead_is_answered_in_order(
    city: LiveServer, resident_client: Factory
) -> None:
    """Three messages sent before the first is answered: each is answered in turn, as if the
    resident had waited (the assistant's answers run one at a time per conversation)."""
    resident = await resident_client(city.url)
    ack = await resident.start(question="There is graffiti on the wall of my building")
    file_it = ack["messages"][1]["quick_replies"][0]["text"]
    for text in (file_it, "100 N Garfield Ave", "Large black tags across the east wall."):
        sent = await resident.call("message", {"client_id": cid(), "text": text})
        assert sent["ok"], sent
    answers = []
    while len(answers) < 3:
        message = await resident.next("message")
        if message["author_kind"] == "assistant":
            answers.append(message["text"])
    assert "address" in answers[0] and "cancel" in answers[0]
    assert "describe" in answers[1]
    assert "photo" in answers[2]


async def test_the_resident_can_skip_edit_and_cancel(
    city: LiveServer, resident_client: Factory
) -> None:
    resident = await resident_client(city.url)
    await file_graffiti_up_to_photo(resident)
    summary = await say(resident, "skip")
    assert "Photo: none" in summary["text"]
    which = await say(resident, "Edit")
    assert "Change address" in labels(which)
    asked = await say(resident, "Change address")
    assert "address" in asked["text"]
    summary = await say(resident, "200 E Colorado Blvd")
    assert "200 E Colorado Blvd" in summary["text"] and "100 N Garfield" not in summary["text"]
    cancelled = await say(resident, "cancel")
    assert "nothing was filed" in cancelled["text"]
    assert await rows(city, ServiceRequest) == []
    # The chat goes on as usual afterwards.
    answer = await say(resident, "When is street sweeping on my street?")
    assert "sweep" in answer["text"].lower()


async def test_list_fields_take_the_options_words(
    city: LiveServer, resident_client: Factory
) -> None:
    resident = await resident_client(city.url)
    await resident.start(question="hello")
    asked = await say(resident, "File a request: Missed Trash / Recycling / Green Waste Collection")
    asked = await say(resident, "55 S Lake Ave")
    assert "container" in asked["text"]
    assert labels(asked)[:3] == ["Trash (black)", "Recycling (blue)", "Green waste (green)"]
    wrong = await say(resident, "the purple one")
    assert "must be one of" in wrong["text"]
    summary = await say(resident, "the blue recycling bin")
    assert "Container: Recycling (blue)" in summary["text"]
    await say(resident, "yes")
    request = (await rows(city, ServiceRequest))[0]
    assert request.attributes == {"container": "recycling"}


async def test_status_is_told_only_for_the_right_number_and_email(
    city: LiveServer, resident_client: Factory
) -> None:
    policy = city.app[REQUEST_POLICY]()
    view = await city.app[DATABASE].run(
        create_service_request,
        NewRequest(
            "pothole",
            {"address": "300 N Lake Ave", "description": "Deep pothole in the right lane"},
            Contact("Bo", "bo@example.com"),
        ),
        policy=policy,
        now=MONDAY_TEN,
    )
    await city.app[DATABASE].run(
        change_status,
        number=view.number,
        status="in_progress",
        note="Crew scheduled for Wednesday",
        public=True,
        staff_id=None,
        actor="Maria",
        policy=policy,
        now=MONDAY_TEN,
    )
    resident = await resident_client(city.url)
    ack = await resident.start(question=f"status of {view.number}", email="bo@example.com")
    asked = ack["messages"][1]
    assert "email" in asked["text"] and "bo@example.com" in labels(asked)
    assert ack["conversation"]["stage"] == "assistant"  # no person needed for this
    answer = await say(resident, "it's bo@example.com")
    assert "**In progress**" in answer["text"] and "Crew scheduled for Wednesday" in answer["text"]

    wrong_email = await say(resident, f"status of {view.number}")
    wrong_email = await say(resident, "someone@example.com")
    unknown = await say(resident, "what is the status of request 26-000999")
    unknown = await say(resident, "bo@example.com")
    assert wrong_email["text"] == unknown["text"]  # nothing tells which numbers exist
    assert "couldn't find" in unknown["text"]
    # Guessing stops after five lookups.
    for _ in range(2):
        await say(resident, "status of 26-000777")
        last = await say(resident, "bo@example.com")
    assert "can't look up more" in (await say(resident, "status of 26-000778"))["text"]
    assert "couldn't find" in last["text"]


async def test_bad_uploads_are_refused_and_change_nothing(
    city: LiveServer, resident_client: Factory
) -> None:
    resident = await resident_client(city.url)
    await resident.start(question="What are your hours?")
    status, body = await upload(city, resident.token, JPEG)
    assert (status, body["error"]["code"]) == (400, "photo_not_expected")
    await file_graffiti_up_to_photo(resident)
    cases = [
        (None, JPEG, 400, "invalid_payload"),
        ("x" * 40, JPEG, 404, "invalid_token"),
        (resident.token, b"", 400, "invalid_payload"),
        (resident.token, b"GIF89a" + bytes(100), 400, "invalid_photo"),
        (resident.token, b"<script>alert(1)</script>", 400, "invalid_photo"),
        (resident.token, JPEG[:3] + bytes(10 * 1024 * 1024), 413, "photo_too_large"),
    ]
    for token, data, expected_status, code in cases:
        status, body = await upload(city, token, data, **{"Content-Type": "image/jpeg"})
        assert (status, body["error"]["code"]) == (expected_status, code)
    assert await rows(city, RequestPhoto) == []
    # A PNG named as a JPEG is a PNG: the type comes from the content.
    status, body = await upload(city, resident.token, PNG, **{"Content-Type": "image/jpeg"})
    assert status == 200
    assert [p.content_type for p in await rows(city, RequestPhoto)] == ["image/png"]


async def test_another_origin_may_upload_only_when_allowed(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
) -> None:
    server = await start_server(make_settings(allowed_origins=("https://www.cityofpasadena.net",)))
    async with aiohttp.ClientSession() as http:
        for origin, allowed in [
            ("https://www.cityofpasadena.net", True),
            ("https://evil.example", False),
        ]:
            async with http.options(
                f"{server.url}/resident/photos",
                headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
            ) as response:
                assert (response.status == 204) is allowed
                assert (response.headers.get("Access-Control-Allow-Origin") == origin) is allowed


async def test_asking_for_a_person_or_an_emergency_leaves_the_form(
    city: LiveServer, resident_client: Factory
) -> None:
    resident = await resident_client(city.url)
    await resident.start(question="hello")
    await say(resident, "File a request: Potholes / Street Repair")
    urgent = await say(resident, "there is a gas smell now, I think a pipe broke")
    assert "911" in urgent["text"]
    conversation = (await rows(city, Conversation))[0]
    assert conversation.assistant_flow is None and conversation.stage == "waiting"


async def test_guessing_a_requests_email_from_new_chats_stops_at_the_daily_limit(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_client: Factory,
) -> None:
    """A new chat used to start the count again: five guesses a chat, without end."""
    server = await start_server(
        make_settings(**CITY, status_misses_per_number_per_day=4), clock=lambda: MONDAY_TEN
    )
    policy = server.app[REQUEST_POLICY]()
    view = await server.app[DATABASE].run(
        create_service_request,
        NewRequest(
            "pothole",
            {"address": "300 N Lake Ave", "description": "Deep pothole in the right lane"},
            Contact("Bo", "bo@example.com"),
        ),
        policy=policy,
        now=MONDAY_TEN,
    )
    for chat in range(2):
        guesser = await resident_client(server.url)
        await guesser.start(question="hello", email=f"guess{chat}@example.com")
        for guess in range(2):
            await say(guesser, f"status of {view.number}")
            missed = await say(guesser, f"guess{chat}-{guess}@example.com")
            assert "couldn't find" in missed["text"]
        await guesser.disconnect()
    # The fifth guess, from a third chat, is the right email: it is not answered today.
    guesser = await resident_client(server.url)
    await guesser.start(question="hello")
    await say(guesser, f"status of {view.number}")
    answer = await say(guesser, "bo@example.com")
    assert "couldn't find" in answer["text"] and "Pothole" not in answer["text"]


async def file_missed_recycling(resident: ResidentClient) -> dict[str, Any]:
    await say(resident, "File a request: Missed Trash / Recycling / Green Waste Collection")
    await say(resident, "55 S Lake Ave")
    await say(resident, "the blue recycling bin")
    return await say(resident, "yes")


async def test_a_chat_asks_about_what_it_filed_in_its_own_words(
    city: LiveServer, resident_client: Factory
) -> None:
    """Issue 16, item 8: right after filing, "did anyone clean up the graffiti I reported yet?"
    asked for the number and then the email, although this chat had just been told the number."""
    resident = await resident_client(city.url)
    await file_graffiti_up_to_photo(resident)
    await say(resident, "skip")
    filed = await say(resident, "Confirm")
    assert "**26-000001**" in filed["text"]

    answer = await say(resident, "did anyone clean up the graffiti I reported yet?")
    assert "Request **26-000001** (Graffiti Removal) is **Open**" in answer["text"], answer
    assert "done by Tuesday, November 24 at 5 p.m.\n" in answer["text"], answer["text"]
    assert "email" not in answer["text"] and "another request" not in answer["text"]

    policy = city.app[REQUEST_POLICY]()
    await city.app[DATABASE].run(
        change_status,
        number="26-000001",
        status="in_progress",
        note="Crew booked for Wednesday morning",
        staff_id=None,
        actor="Maria",
        policy=policy,
        now=MONDAY_TEN,
    )
    update = await say(resident, "any update?")
    assert "**In progress**" in update["text"] and "Crew booked" in update["text"]
    # Asking about its own request is not guessing: nothing counted against the chat or number.
    assert await rows(city, StatusLookupMiss) == []
    conversation = (await rows(city, Conversation))[0]
    assert conversation.assistant_flow is None

    # Another chat asking about the same number still has to give the email.
    stranger = await resident_client(city.url)
    ack = await stranger.start(question="status of 26-000001", email="eve@example.com")
    asked = ack["messages"][1]
    assert "what email address did you use" in asked["text"]
    assert "Graffiti" not in asked["text"]


async def test_a_chat_that_filed_several_requests_is_asked_which(
    city: LiveServer, resident_client: Factory
) -> None:
    resident = await resident_client(city.url)
    await file_graffiti_up_to_photo(resident)
    await say(resident, "skip")
    await say(resident, "Confirm")
    second = await file_missed_recycling(resident)
    assert "**26-000002**" in second["text"]

    which = await say(resident, "what is the status of my request?")
    assert "Which one" in which["text"] and "email" not in which["text"]
    assert labels(which) == [
        "Missed Trash / Recycling / Green Waste Collection (26-000002)",
        "Graffiti Removal (26-000001)",
        "Cancel",
    ]
    picked = await say(resident, which["quick_replies"][1]["text"])
    assert "Request **26-000001** (Graffiti Removal) is **Open**" in picked["text"], picked

    # Naming the subject picks it out, whatever the order they were filed in.
    named = await say(resident, "has the recycling I reported been picked up yet?")
    assert "Request **26-000002**" in named["text"], named
    graffiti = await say(resident, "when will the graffiti I just reported be removed")
    assert "Request **26-000001**" in graffiti["text"], graffiti

    # A number the chat did not file is looked up as before: number, then email.
    other = await say(resident, "status of 26-000777")
    assert "what email address did you use" in other["text"]
