"""Service request actions on real SQLite and PostgreSQL sessions (no server)."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select

from chatsvc.actions.service_requests.checks import InvalidRequest
from chatsvc.actions.service_requests.filing import NewRequest, create_service_request
from chatsvc.actions.service_requests.numbering import parse_number
from chatsvc.actions.service_requests.photos import store_photo
from chatsvc.actions.service_requests.queries import RequestFilter, list_requests, lookup_status
from chatsvc.actions.service_requests.status import change_status
from chatsvc.actions.service_requests.views import Contact, RequestPolicy
from chatsvc.catalogue.fields import FieldInvalid, clean_value
from chatsvc.catalogue.knowledge import default_path, load_knowledge_base
from chatsvc.db.database import Database
from chatsvc.db.models import OutboxMail, OutboxWebhook
from chatsvc.errors import NotFound
from chatsvc.hours import BusinessCalendar
from chatsvc.images import NotAnImage, clean_image
from chatsvc.settings import Settings

KB = load_knowledge_base(default_path())
CALENDAR = BusinessCalendar.from_settings(
    Settings(business_hours="mon-fri 08:00-17:00", holidays="US-CA")
)
POLICY = RequestPolicy(KB, CALENDAR, frozenset({"Street Maintenance"}))
MONDAY_TEN = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # 10:00 in Pasadena


def real_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (0, 0, 0)).save(out, "JPEG")
    return out.getvalue()


def graffiti(**changes: Any) -> NewRequest:
    values: dict[str, Any] = {
        "service_code": "graffiti",
        "values": {"address": "100 N Garfield Ave", "description": "Tags on the east wall"},
        "contact": Contact("Ana Ruiz", "ana@example.com"),
    }
    values.update(changes)
    return NewRequest(**values)


async def create(db: Database, new: NewRequest, now: datetime = MONDAY_TEN) -> Any:
    return await db.run(create_service_request, new, policy=POLICY, now=now)


async def rows(db: Database, model: Any) -> list[Any]:
    async def read(session: Any) -> list[Any]:
        return list(await session.scalars(select(model).order_by(model.id)))

    found: list[Any] = await db.run(read)
    return found


async def test_a_request_is_numbered_dated_mailed_and_sent_to_its_department(db: Database) -> None:
    view = await create(db, graffiti())
    assert view.number == "26-000001"
    assert (view.status, view.department, view.workgroup) == (
        "open",
        "Public Works",
        "Street Maintenance",
    )
    # Graffiti's service level is one business day: Monday's request is due Tuesday at 5 p.m.
    assert view.expected_at == datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    second = await create(db, graffiti())
    assert second.number == "26-000002"
    mails = await rows(db, OutboxMail)
    assert [m.kind for m in mails] == ["request_created", "request_created"]
    assert "26-000001" in mails[0].subject and "100 N Garfield Ave" in mails[0].body
    # One period where the sentence ends with the time (issue 16 found "5 p.m..").
    assert "We expect it to be done by Tuesday, November 24 at 5 p.m.\n" in mails[0].body
    assert "p.m.." not in mails[0].body
    hooks = await rows(db, OutboxWebhook)
    assert [h.event for h in hooks] == ["request.created", "request.created"]


async def test_numbers_are_never_given_twice_under_concurrency(db: Database) -> None:
    views = await asyncio.gather(*(create(db, graffiti()) for _ in range(20)))
    assert sorted(v.number for v in views) == [f"26-{n:06d}" for n in range(1, 21)]


async def test_bad_values_are_refused_and_nothing_is_stored(db: Database) -> None:
    cases = [
        (graffiti(service_code="nope"), NotFound),
        (graffiti(service_code="trash-schedule"), NotFound),
        (graffiti(values={"description": "Tags on the wall"}), InvalidRequest),
        (
            graffiti(values={"address": "xx", "description": "Tags on the wall"}),
            InvalidRequest,
        ),
        (
            graffiti(values={"address": "100 Main St", "description": "x" * 4001}),
            InvalidRequest,
        ),
        (
            graffiti(
                values={"address": "100 Main St", "description": "ok ok ok ok", "color": "red"}
            ),
            InvalidRequest,
        ),
        (graffiti(contact=Contact("A", "not-an-email")), InvalidRequest),
        (graffiti(lat=91.0, long=0.0), InvalidRequest),
    ]
    for new, error in cases:
        with pytest.raises(error):
            await create(db, new)
    assert await rows(db, OutboxMail) == []
    page = await db.run(list_requests, RequestFilter(), KB)
    assert page.total == 0


async def test_status_changes_keep_history_and_mail_on_close_and_referral(db: Database) -> None:
    view = await create(db, graffiti())
    later = MONDAY_TEN + timedelta(hours=2)

    async def change(**kw: Any) -> Any:
        values: dict[str, Any] = {"number": view.number, "staff_id": None, "actor": "Maria"}
        values.update(kw)
        return await db.run(change_status, policy=POLICY, now=later, **values)

    await change(status="in_progress", note="Crew scheduled", public=True)
    with pytest.raises(InvalidRequest):
        await change(status="referred", note="x")  # no department, no next steps
    closed = await change(status="closed", note="Painted over")
    assert [h.status for h in closed.history] == ["open", "in_progress", "closed"]
    assert closed.closed_at == later and closed.last_public_note == "Painted over"
    mails = await rows(db, OutboxMail)
    assert [m.kind for m in mails] == ["request_created", "request_closed"]
    assert "Painted over" in mails[1].body

    answer = await db.run(
        lookup_status, number="26000001", email="ANA@example.com", kb=KB, now=MONDAY_TEN
    )
    assert answer is not None and answer.status == "closed" and answer.note == "Painted over"
    for number, email in [("26-000001", "bob@example.com"), ("26-000999", "ana@example.com")]:
        assert (
            await db.run(lookup_status, number=number, email=email, kb=KB, now=MONDAY_TEN) is None
        )


async def test_photos_are_checked_by_content_and_attached_once(db: Database) -> None:
    with pytest.raises(NotAnImage):
        clean_image(b"GIF89a....", max_pixels=40_000_000)
    image = clean_image(real_jpeg(), max_pixels=40_000_000)
    photo = await db.run(store_photo, conversation_id=None, image=image, now=MONDAY_TEN)
    assert photo.content_type == "image/jpeg"
    view = await create(db, graffiti(photo_ids=[photo.id]))
    assert view.photo_ids == (photo.id,)
    with pytest.raises(InvalidRequest):
        await create(db, graffiti(photo_ids=[photo.id]))  # already attached


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("address", "100 N Garfield Ave", "100 N Garfield Ave"),
        ("address", "  Lake Ave   and Colorado Blvd ", "Lake Ave and Colorado Blvd"),
        ("address", "corner of Fair Oaks & Del Mar", "corner of Fair Oaks & Del Mar"),
        ("container", "the blue recycling bin", "recycling"),
        ("container", "Green waste (green)", "green-waste"),
        ("container", "TRASH", "trash"),
        ("account", "1234-5678-90", "1234-5678-90"),
    ],
)
def test_field_values_are_cleaned(name: str, text: str, expected: str) -> None:
    assert clean_value(KB.fields[name], text) == expected


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("address", "near the park"),
        ("address", "12345"),
        ("address", "Hill Ave"),
        ("address", "x"),
        ("address", "1 " + "a" * 200),
        ("description", "bad"),
        ("container", "the purple one"),
        ("container", ""),
        ("account", "my account"),
    ],
)
def test_field_values_that_do_not_fit_are_refused(name: str, text: str) -> None:
    with pytest.raises(FieldInvalid):
        clean_value(KB.fields[name], text)


def test_request_numbers_are_read_as_residents_write_them() -> None:
    assert parse_number("status of 26-000123 please") == "26-000123"
    assert parse_number("26000123") == "26-000123"
    assert parse_number("26-123") == "26-000123"
    assert parse_number("no number here") is None


def test_every_request_topic_can_be_filed_from_its_fields() -> None:
    for topic in KB.topics.values():
        if topic.is_request:
            assert topic.service_days > 0 and topic.field_names, topic.code
            assert all(name in KB.fields for name in topic.field_names), topic.code


async def test_topics_that_are_not_somewhere_need_no_location(db: Database) -> None:
    view = await create(
        db,
        NewRequest(
            "high-bill",
            {"account": "1234567890", "description": "My bill doubled this month"},
            Contact("Ana", "ana@example.com"),
        ),
    )
    assert (view.address, view.lat, view.attributes) == (None, None, {"account": "1234567890"})
