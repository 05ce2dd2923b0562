"""Service requests: work orders for a department, from a chat, the agent pane or Open311.

Every function takes an open AsyncSession (the caller commits) and plain values. Mail to the
resident and events for a department's webhook are queued in the same transaction as the change
they tell about, so a request and its notices commit together or not at all.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.catalogue.fields import FieldInvalid, clean_value, describe_value
from chatsvc.catalogue.knowledge import KnowledgeBase, Topic
from chatsvc.contact import clean_email
from chatsvc.db.models import (
    RequestPhoto,
    ServiceRequest,
    ServiceRequestCounter,
    ServiceRequestUpdate,
    iso_utc,
)
from chatsvc.errors import ChatError, NotFound
from chatsvc.hours import BusinessCalendar
from chatsvc.outbox.mail import queue_mail
from chatsvc.outbox.webhooks import queue_webhook

STATUSES = ("open", "in_progress", "closed", "referred")
STATUS_LABELS = {
    "open": "Open",
    "in_progress": "In progress",
    "closed": "Closed",
    "referred": "Referred",
}
FINAL_STATUSES = ("closed", "referred")
SOURCES = ("assistant", "agent", "open311")
Source = Literal["assistant", "agent", "open311"]

MAX_DESCRIPTION = 4000
MAX_NOTE = 4000
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PHOTOS_PER_REQUEST = 5
NUMBER = re.compile(r"\b(\d{2})\s*-?\s*(\d{1,9})\b")
PHOTO_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}
SERVICE_NAME = "City of Pasadena Citizen Service Center"


class InvalidRequest(ChatError):
    """A request (or a change to one) that cannot be made as given; `field` says which part."""

    code = "invalid_request"


class InvalidPhoto(ChatError):
    code = "invalid_photo"


class PhotoTooLarge(InvalidPhoto):
    code = "photo_too_large"
    status = 413


@dataclass(frozen=True)
class RequestPolicy:
    """What creating and changing requests needs to know besides the request itself."""

    kb: KnowledgeBase
    calendar: BusinessCalendar
    webhook_workgroups: frozenset[str] = frozenset()  # workgroups with an outbound webhook


@dataclass(frozen=True)
class Contact:
    name: str | None = None
    email: str | None = None
    phone: str | None = None


@dataclass(frozen=True)
class NewRequest:
    """A request as its author gives it, before any check."""

    service_code: str
    values: Mapping[str, object]  # the topic's fields by name: address, description, container...
    contact: Contact = Contact()
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None
    photo_ids: Sequence[int] = ()
    conversation_id: int | None = None
    client_id: str | None = None
    source: Source = "assistant"
    staff_id: int | None = None
    actor: str = "City Assistant"  # who files it, as the history says
    open311_client_id: int | None = None


@dataclass(frozen=True)
class HistoryEntry:
    status: str
    note: str | None
    public: bool
    actor: str
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "note": self.note,
            "public": self.public,
            "actor": self.actor,
            "created_at": iso_utc(self.created_at),
        }


@dataclass(frozen=True)
class RequestView:
    """A service request as staff see it (residents and Open311 see less: see `public_dict`)."""

    id: int
    number: str
    service_code: str
    service_name: str
    department: str
    workgroup: str
    status: str
    referred_to: str | None
    next_steps: str | None
    address: str | None
    lat: float | None
    long: float | None
    description: str
    attributes: dict[str, str]
    media_url: str | None
    contact: Contact
    conversation_id: int | None
    source: str
    requested_at: datetime
    updated_at: datetime
    expected_at: datetime
    closed_at: datetime | None
    photo_ids: tuple[int, ...] = ()
    history: tuple[HistoryEntry, ...] = ()
    duplicate: bool = False  # a resend of a request already filed under the same client id

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def last_public_note(self) -> str | None:
        notes = [h.note for h in self.history if h.public and h.note]
        return notes[-1] if notes else None

    def as_dict(self) -> dict[str, Any]:
        """Everything, for staff and the department's webhook."""
        return {
            **self.public_dict(),
            "id": self.id,
            "workgroup": self.workgroup,
            "status": self.status,
            "status_label": self.status_label,
            "attributes": self.attributes,
            "contact": {
                "name": self.contact.name,
                "email": self.contact.email,
                "phone": self.contact.phone,
            },
            "conversation_id": self.conversation_id,
            "source": self.source,
            "photo_ids": list(self.photo_ids),
            "history": [h.as_dict() for h in self.history],
        }

    def public_dict(self) -> dict[str, Any]:
        """What anyone may read about the request: no name, email, phone or photo."""
        return {
            "number": self.number,
            "service_code": self.service_code,
            "service_name": self.service_name,
            "department": self.department,
            "status": self.status,
            "status_label": self.status_label,
            "status_notes": self.last_public_note,
            "referred_to": self.referred_to,
            "next_steps": self.next_steps,
            "address": self.address,
            "lat": self.lat,
            "long": self.long,
            "description": self.description,
            "media_url": self.media_url,  # only ever a public address an Open311 client gave
            "requested_at": iso_utc(self.requested_at),
            "updated_at": iso_utc(self.updated_at),
            "expected_at": iso_utc(self.expected_at),
            "closed_at": iso_utc(self.closed_at) if self.closed_at else None,
        }


@dataclass(frozen=True)
class RequestFilter:
    """Which requests to list; every part is optional."""

    statuses: tuple[str, ...] = ()
    department: str | None = None
    service_code: str | None = None
    workgroup: str | None = None
    numbers: tuple[str, ...] = ()
    start: datetime | None = None  # requested at or after
    end: datetime | None = None  # requested before
    limit: int = 50
    offset: int = 0
    service_codes: tuple[str, ...] = ()  # any of these (Open311 takes a list)


@dataclass(frozen=True)
class RequestPage:
    items: list[RequestView]
    total: int


@dataclass(frozen=True)
class StatusAnswer:
    """What a resident is told about their request's status."""

    number: str
    service_name: str
    status: str
    status_label: str
    note: str | None
    updated_at: datetime
    expected_at: datetime
    referred_to: str | None
    next_steps: str | None


@dataclass(frozen=True)
class StoredPhoto:
    id: int
    content_type: str
    size: int


@dataclass
class Checked:
    """A request's values, checked: where it is, what it is, and the topic's other fields."""

    address: str | None = None
    description: str = ""
    attributes: dict[str, str] = field(default_factory=dict)


def request_topic(kb: KnowledgeBase, code: object) -> Topic:
    """Return the request topic with this service code, or raise NotFound."""
    topic = kb.topics.get(code) if isinstance(code, str) else None
    if topic is None or not topic.is_request:
        raise NotFound(f"There is no service with the code {code!r}.")
    return topic


def check_values(
    kb: KnowledgeBase, topic: Topic, values: Mapping[str, object], *, has_location: bool = False
) -> Checked:
    """Check every field the topic asks for; raise InvalidRequest naming the first bad one.

    `has_location` (a latitude and longitude were given) makes the address optional.
    """
    checked = Checked()
    known = set(topic.field_names)
    for name in values:
        # Any request may carry a description, even where the topic does not ask for one
        # (Open311 always has the field): create_service_request keeps it.
        if name not in known and name != "description":
            raise InvalidRequest(
                f"{topic.name} requests have no field {name!r}.", field=name, code="unknown_field"
            )
    for name in topic.field_names:
        spec = kb.fields[name]
        raw = values.get(name)
        if spec.datatype == "photo":
            continue  # photos come as uploads or a media_url, not as values
        required = topic.is_required(name) and not (
            spec.open311 == "address_string" and has_location
        )
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if required:
                raise InvalidRequest(f"{spec.label} is required.", field=name, code="missing_field")
            continue
        try:
            value = clean_value(spec, raw)
        except FieldInvalid as exc:
            raise InvalidRequest(exc.message, field=name) from None
        if spec.open311 == "address_string":
            checked.address = value
        elif spec.open311 == "description":
            checked.description = value
        else:
            checked.attributes[name] = value
    return checked


async def create_service_request(
    session: AsyncSession, new: NewRequest, *, policy: RequestPolicy, now: datetime
) -> RequestView:
    """File a request: number it, date it by the topic's service level, tell whoever must know.

    Sending the same `client_id` again gives back the request it filed, marked duplicate.
    """
    if new.client_id is not None:
        existing = await session.scalar(
            select(ServiceRequest).where(ServiceRequest.client_id == new.client_id)
        )
        if existing is not None:
            view = await _view(session, existing, policy.kb)
            return _replace_duplicate(view)
    topic = request_topic(policy.kb, new.service_code)
    lat, long = _location(new.lat, new.long)
    checked = check_values(policy.kb, topic, new.values, has_location=lat is not None)
    located = any(policy.kb.fields[n].open311 == "address_string" for n in topic.field_names)
    if located and checked.address is None and lat is None:
        # A high bill or an accommodation is not somewhere; a pothole is.
        raise InvalidRequest(
            "Say where: an address, or a latitude and longitude.",
            field="address",
            code="missing_location",
        )
    if "description" not in topic.field_names and isinstance(new.values.get("description"), str):
        checked.description = str(new.values["description"]).strip()
    if len(checked.description) > MAX_DESCRIPTION:
        raise InvalidRequest(
            f"The description is too long: at most {MAX_DESCRIPTION:,} characters.",
            field="description",
        )
    contact = _contact(new.contact)
    media_url = _media_url(new.media_url)
    number = await _next_number(session, policy.calendar.local_year(now))
    request = ServiceRequest(
        number=number,
        client_id=new.client_id,
        service_code=topic.code,
        department=topic.department,
        workgroup=topic.workgroup,
        status="open",
        address=checked.address,
        lat=lat,
        long=long,
        description=checked.description,
        attributes=checked.attributes,
        media_url=media_url,
        contact_name=contact.name,
        contact_email=contact.email,
        contact_phone=contact.phone,
        conversation_id=new.conversation_id,
        source=new.source,
        created_by_staff_id=new.staff_id,
        open311_client_id=new.open311_client_id,
        requested_at=now,
        updated_at=now,
        expected_at=policy.calendar.business_days_after(now, topic.service_days),
    )
    session.add(request)
    await session.flush()
    await _attach_photos(session, request, new.photo_ids, new.conversation_id)
    session.add(
        ServiceRequestUpdate(
            request_id=request.id,
            status="open",
            note="Request received.",
            public=True,
            staff_id=new.staff_id,
            actor=new.actor,
            created_at=now,
        )
    )
    await session.flush()
    view = await _view(session, request, policy.kb)
    if contact.email:
        await queue_mail(
            session,
            kind="request_created",
            to=contact.email,
            subject=f"Your request {number}: {topic.name}",
            body=_created_mail(view, policy),
            reply_to=None,  # the mailer adds CHATSVC_MAIL_REPLY_TO
            now=now,
        )
    await _notify_department(session, view, "request.created", policy, now)
    return view


async def change_status(
    session: AsyncSession,
    *,
    number: str,
    status: str,
    note: str | None,
    public: bool = True,
    staff_id: int | None,
    actor: str,
    referred_to: str | None = None,
    next_steps: str | None = None,
    policy: RequestPolicy,
    now: datetime,
) -> RequestView:
    """Move a request to `status` with a note; a referral says where to and what next.

    The resident is mailed when the request is closed or referred. The same status again only
    adds the note (which then must be given).
    """
    if status not in STATUSES:
        raise InvalidRequest(f"status must be one of {', '.join(STATUSES)}", field="status")
    note = _text_or_none(note, "note", MAX_NOTE)
    request = await _locked(session, number)
    if status == request.status and note is None:
        raise InvalidRequest("The request already has this status: add a note to say more.")
    if status == "referred":
        referred_to = _text_or_none(referred_to, "referred_to", 100)
        next_steps = _text_or_none(next_steps, "next_steps", MAX_NOTE)
        if referred_to is None or next_steps is None:
            raise InvalidRequest(
                "A referral needs the department it goes to and the next steps for the resident.",
                field="referred_to" if referred_to is None else "next_steps",
            )
        request.referred_to, request.next_steps = referred_to, next_steps
    elif request.status == "referred":
        request.referred_to, request.next_steps = None, None
    changed = status != request.status
    request.status = status
    request.updated_at = now
    if status in FINAL_STATUSES:
        request.closed_at = request.closed_at if not changed else now
    else:
        request.closed_at = None
    session.add(
        ServiceRequestUpdate(
            request_id=request.id,
            status=status,
            note=note,
            public=public,
            staff_id=staff_id,
            actor=actor,
            created_at=now,
        )
    )
    await session.flush()
    view = await _view(session, request, policy.kb)
    if changed and status in FINAL_STATUSES and view.contact.email:
        await queue_mail(
            session,
            kind=f"request_{status}",
            to=view.contact.email,
            subject=f"Your request {view.number} is {view.status_label.lower()}",
            body=_final_mail(view, note if public else None, policy),
            reply_to=None,  # the mailer adds CHATSVC_MAIL_REPLY_TO
            now=now,
        )
    await _notify_department(session, view, "request.updated", policy, now)
    return view


async def get_request(session: AsyncSession, number: str, kb: KnowledgeBase) -> RequestView:
    """Load a request by its number, with its history; raise NotFound if there is none."""
    canonical = parse_number(number)
    request = (
        await session.scalar(select(ServiceRequest).where(ServiceRequest.number == canonical))
        if canonical
        else None
    )
    if request is None:
        raise NotFound(f"There is no request {number!r}.")
    return await _view(session, request, kb)


async def list_requests(
    session: AsyncSession, filters: RequestFilter, kb: KnowledgeBase
) -> RequestPage:
    """List requests matching `filters`, newest first, with how many match in all."""
    conditions: list[ColumnElement[bool]] = []
    if filters.statuses:
        conditions.append(ServiceRequest.status.in_(filters.statuses))
    if filters.department:
        conditions.append(ServiceRequest.department == filters.department)
    if filters.service_code:
        conditions.append(ServiceRequest.service_code == filters.service_code)
    if filters.service_codes:
        conditions.append(ServiceRequest.service_code.in_(filters.service_codes))
    if filters.workgroup:
        conditions.append(ServiceRequest.workgroup == filters.workgroup)
    if filters.numbers:
        numbers = [n for n in (parse_number(x) for x in filters.numbers) if n]
        conditions.append(ServiceRequest.number.in_(numbers))
    if filters.start is not None:
        conditions.append(ServiceRequest.requested_at >= filters.start)
    if filters.end is not None:
        conditions.append(ServiceRequest.requested_at < filters.end)
    total = await session.scalar(select(func.count(ServiceRequest.id)).where(*conditions)) or 0
    rows = await session.scalars(
        select(ServiceRequest)
        .where(*conditions)
        .order_by(ServiceRequest.requested_at.desc(), ServiceRequest.id.desc())
        .limit(filters.limit)
        .offset(filters.offset)
    )
    requests = list(rows)
    histories = await _histories(session, [r.id for r in requests])
    photos = await _photo_ids(session, [r.id for r in requests])
    return RequestPage(
        [_build_view(r, kb, histories.get(r.id, ()), photos.get(r.id, ())) for r in requests],
        total,
    )


async def lookup_status(
    session: AsyncSession, *, number: str, email: str, kb: KnowledgeBase
) -> StatusAnswer | None:
    """Tell a resident where their request stands, if the number and email go together.

    A wrong pair and an unknown number both give None, so nobody learns which numbers exist.
    """
    canonical = parse_number(number)
    if canonical is None:
        return None
    request = await session.scalar(select(ServiceRequest).where(ServiceRequest.number == canonical))
    if (
        request is None
        or request.contact_email is None
        or request.contact_email.strip().lower() != email.strip().lower()
    ):
        return None
    view = await _view(session, request, kb)
    return StatusAnswer(
        number=view.number,
        service_name=view.service_name,
        status=view.status,
        status_label=view.status_label,
        note=view.last_public_note,
        updated_at=view.updated_at,
        expected_at=view.expected_at,
        referred_to=view.referred_to,
        next_steps=view.next_steps,
    )


async def store_photo(
    session: AsyncSession, *, conversation_id: int, data: bytes, now: datetime
) -> StoredPhoto:
    """Keep a photo a resident uploaded in their chat, checking its type from its content."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoTooLarge("The photo is too large: up to 10 MB, please.")
    content_type = sniff_image(data)
    if content_type is None:
        raise InvalidPhoto("That file is not a JPEG, PNG or WebP photo.")
    waiting = await session.scalar(
        select(func.count(RequestPhoto.id)).where(
            RequestPhoto.conversation_id == conversation_id, RequestPhoto.request_id.is_(None)
        )
    )
    if (waiting or 0) >= MAX_PHOTOS_PER_REQUEST:
        raise InvalidPhoto(
            f"Up to {MAX_PHOTOS_PER_REQUEST} photos per request, please.", code="too_many_photos"
        )
    photo = RequestPhoto(
        conversation_id=conversation_id,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        created_at=now,
    )
    session.add(photo)
    await session.flush()
    return StoredPhoto(photo.id, content_type, len(data))


async def load_photo(session: AsyncSession, photo_id: int) -> tuple[str, bytes]:
    """Return a photo's content type and bytes (for staff), or raise NotFound."""
    photo = await session.get(RequestPhoto, photo_id)
    if photo is None:
        raise NotFound("There is no such photo.")
    return photo.content_type, photo.data


def sniff_image(data: bytes) -> str | None:
    """Tell a JPEG, PNG or WebP image from its first bytes, whatever its name says."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def parse_number(text: str) -> str | None:
    """Read a request number as residents write it (26-000123, 26000123, 26-123)."""
    match = NUMBER.search(text or "")
    if match is None:
        return None
    return format_number(int(match.group(1)), int(match.group(2)))


def format_number(year: int, sequence: int) -> str:
    return f"{year % 100:02d}-{sequence:06d}"


# -- internals


async def _next_number(session: AsyncSession, year: int) -> str:
    # One row per year, bumped in place: concurrent creators queue on the row's lock
    # (PostgreSQL) or on SQLite's single writer, so no number is given twice.
    dialect = session.get_bind().dialect.name
    dialect_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(
        dialect_insert(ServiceRequestCounter).values(year=year, last=0).on_conflict_do_nothing()
    )
    last = await session.scalar(
        update(ServiceRequestCounter)
        .where(ServiceRequestCounter.year == year)
        .values(last=ServiceRequestCounter.last + 1)
        .returning(ServiceRequestCounter.last)
    )
    assert last is not None
    return format_number(year, last)


async def _locked(session: AsyncSession, number: str) -> ServiceRequest:
    canonical = parse_number(number)
    request = (
        await session.scalar(
            select(ServiceRequest)
            .where(ServiceRequest.number == canonical)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if canonical
        else None
    )
    if request is None:
        raise NotFound(f"There is no request {number!r}.")
    return request


async def _attach_photos(
    session: AsyncSession,
    request: ServiceRequest,
    photo_ids: Sequence[int],
    conversation_id: int | None,
) -> None:
    if not photo_ids:
        return
    if len(photo_ids) > MAX_PHOTOS_PER_REQUEST:
        raise InvalidRequest(f"Up to {MAX_PHOTOS_PER_REQUEST} photos per request.", field="photo")
    result = await session.execute(
        update(RequestPhoto)
        .where(
            RequestPhoto.id.in_(list(photo_ids)),
            RequestPhoto.conversation_id == conversation_id,
            RequestPhoto.request_id.is_(None),
        )
        .values(request_id=request.id)
    )
    if getattr(result, "rowcount", len(photo_ids)) != len(set(photo_ids)):
        raise InvalidRequest("A photo was not found in this chat.", field="photo")


async def _notify_department(
    session: AsyncSession, view: RequestView, event: str, policy: RequestPolicy, now: datetime
) -> None:
    if view.workgroup in policy.webhook_workgroups:
        await queue_webhook(
            session,
            workgroup=view.workgroup,
            event=event,
            payload={"request": view.as_dict()},
            now=now,
        )


async def _view(session: AsyncSession, request: ServiceRequest, kb: KnowledgeBase) -> RequestView:
    histories = await _histories(session, [request.id])
    photos = await _photo_ids(session, [request.id])
    return _build_view(request, kb, histories.get(request.id, ()), photos.get(request.id, ()))


async def _histories(
    session: AsyncSession, request_ids: list[int]
) -> dict[int, tuple[HistoryEntry, ...]]:
    if not request_ids:
        return {}
    rows = await session.scalars(
        select(ServiceRequestUpdate)
        .where(ServiceRequestUpdate.request_id.in_(request_ids))
        .order_by(ServiceRequestUpdate.id)
    )
    found: dict[int, list[HistoryEntry]] = {}
    for row in rows:
        found.setdefault(row.request_id, []).append(
            HistoryEntry(row.status, row.note, row.public, row.actor, row.created_at)
        )
    return {k: tuple(v) for k, v in found.items()}


async def _photo_ids(session: AsyncSession, request_ids: list[int]) -> dict[int, tuple[int, ...]]:
    if not request_ids:
        return {}
    rows = await session.execute(
        select(RequestPhoto.request_id, RequestPhoto.id)
        .where(RequestPhoto.request_id.in_(request_ids))
        .order_by(RequestPhoto.id)
    )
    found: dict[int, list[int]] = {}
    for request_id, photo_id in rows:
        if request_id is not None:
            found.setdefault(request_id, []).append(photo_id)
    return {k: tuple(v) for k, v in found.items()}


def _build_view(
    request: ServiceRequest,
    kb: KnowledgeBase,
    history: tuple[HistoryEntry, ...],
    photo_ids: tuple[int, ...],
) -> RequestView:
    topic = kb.topics.get(request.service_code)
    return RequestView(
        id=request.id,
        number=request.number,
        service_code=request.service_code,
        service_name=topic.name if topic else request.service_code,
        department=request.department,
        workgroup=request.workgroup,
        status=request.status,
        referred_to=request.referred_to,
        next_steps=request.next_steps,
        address=request.address,
        lat=request.lat,
        long=request.long,
        description=request.description,
        attributes=dict(request.attributes or {}),
        media_url=request.media_url,
        contact=Contact(request.contact_name, request.contact_email, request.contact_phone),
        conversation_id=request.conversation_id,
        source=request.source,
        requested_at=request.requested_at,
        updated_at=request.updated_at,
        expected_at=request.expected_at,
        closed_at=request.closed_at,
        photo_ids=photo_ids,
        history=history,
    )


def _replace_duplicate(view: RequestView) -> RequestView:
    return replace(view, duplicate=True)


def _location(lat: float | None, long: float | None) -> tuple[float | None, float | None]:
    if lat is None and long is None:
        return None, None
    if lat is None or long is None:
        raise InvalidRequest("Give both lat and long, or neither.", field="lat")
    if not (-90 <= lat <= 90 and -180 <= long <= 180):
        raise InvalidRequest("lat must be within ±90 and long within ±180.", field="lat")
    return lat, long


def _contact(contact: Contact) -> Contact:
    name = _text_or_none(contact.name, "name", 100)
    phone = _text_or_none(contact.phone, "phone", 40)
    email = None
    if contact.email is not None and contact.email.strip():
        try:
            email = clean_email(contact.email)
        except ValueError as exc:
            raise InvalidRequest(f"email: {exc}", field="email") from None
    if phone is not None and not re.fullmatch(r"[0-9+()\-. x]{7,40}", phone):
        raise InvalidRequest("phone must be a phone number like (626) 744-7311.", field="phone")
    return Contact(name, email, phone)


def _media_url(url: str | None) -> str | None:
    url = _text_or_none(url, "media_url", 1000)
    if url is not None and not re.match(r"^https?://[^\s<>\"]+$", url):
        raise InvalidRequest("media_url must be an http or https address.", field="media_url")
    return url


def _text_or_none(value: str | None, name: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be text.", field=name)
    value = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", value).strip()
    if len(value) > limit:
        raise InvalidRequest(f"{name} must be at most {limit:,} characters.", field=name)
    return value or None


def _details(view: RequestView, kb: KnowledgeBase) -> list[str]:
    lines = [f"Request: {view.service_name}"]
    if view.address:
        lines.append(f"Address: {view.address}")
    if view.description:
        lines.append(f"Description: {view.description}")
    for name, value in view.attributes.items():
        spec = kb.fields.get(name)
        label = spec.label if spec else name
        lines.append(f"{label}: {describe_value(spec, value) if spec else value}")
    return lines


def _created_mail(view: RequestView, policy: RequestPolicy) -> str:
    greeting = f"Hello {view.contact.name}," if view.contact.name else "Hello,"
    return "\n".join(
        [
            greeting,
            "",
            f"Thank you for your request. Its number is {view.number}.",
            f"We expect it to be done by {policy.calendar.describe_local(view.expected_at)}.",
            "",
            *_details(view, policy.kb),
            "",
            f'To ask about it, chat with us on the City website and say "status of '
            f'{view.number}", or reply to this email.',
            "",
            SERVICE_NAME,
        ]
    )


def _final_mail(view: RequestView, note: str | None, policy: RequestPolicy) -> str:
    greeting = f"Hello {view.contact.name}," if view.contact.name else "Hello,"
    if view.status == "referred":
        middle = [
            f"Your request {view.number} ({view.service_name}) has been referred to "
            f"{view.referred_to}, who handle this kind of request.",
            "",
            "Next steps:",
            view.next_steps or "",
        ]
    else:
        middle = [f"Your request {view.number} ({view.service_name}) is closed."]
    if note:
        middle += ["", f"Note from our team: {note}"]
    return "\n".join([greeting, "", *middle, "", *_details(view, policy.kb), "", SERVICE_NAME])
