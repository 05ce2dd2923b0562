"""How a service request looks to the code: RequestView and its parts, and RequestPolicy.

Reads only: nothing here locks a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.catalogue.knowledge import KnowledgeBase
from chatsvc.db.models import RequestPhoto, ServiceRequest, ServiceRequestUpdate, iso_utc
from chatsvc.hours import BusinessCalendar

STATUS_LABELS = {
    "open": "Open",
    "in_progress": "In progress",
    "closed": "Closed",
    "referred": "Referred",
}


@dataclass(frozen=True)
class RequestPolicy:
    """What creating and changing requests needs to know besides the request itself."""

    kb: KnowledgeBase
    calendar: BusinessCalendar
    webhook_workgroups: frozenset[str] = frozenset()  # workgroups with an outbound webhook
    mail_per_address_per_day: int = 5  # mail of every kind (chatsvc.outbox.mail.queue_mail)
    status_misses_per_number_per_day: int = 10  # wrong status lookups (queries.lookup_status)
    # Per client address in 24 hours, from any of its chats (actions/address_caps.py).
    status_misses_per_address_per_day: int = 20
    filings_per_address_per_day: int = 20  # by the City Assistant (assistant_turns)


@dataclass(frozen=True)
class Contact:
    name: str | None = None
    email: str | None = None
    phone: str | None = None


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


async def request_view(
    session: AsyncSession, request: ServiceRequest, kb: KnowledgeBase
) -> RequestView:
    histories = await histories_of(session, [request.id])
    photos = await photo_ids_of(session, [request.id])
    return build_view(request, kb, histories.get(request.id, ()), photos.get(request.id, ()))


async def histories_of(
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


async def photo_ids_of(session: AsyncSession, request_ids: list[int]) -> dict[int, tuple[int, ...]]:
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


def build_view(
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
