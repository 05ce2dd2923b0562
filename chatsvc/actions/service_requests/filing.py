"""Filing a service request: check it, number it, date it, and queue its notices.

Every function takes an open AsyncSession (the caller commits) and plain values. Mail to the
resident and events for a department's webhook are queued in the same transaction as the
request, so a request and its notices commit together or not at all.

Locking order: the year's counter row (`next_number`, held until commit), then the photos the
request takes (`attach_photos`). A caller that holds a conversation locks it before calling
(`from_chat.file_request_from_chat`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc import notices
from chatsvc.actions.service_requests.checks import (
    InvalidRequest,
    check_values,
    clean_contact,
    clean_location,
    clean_media_url,
    request_topic,
)
from chatsvc.actions.service_requests.notices import (
    created_mail,
    created_subject,
    notify_department,
)
from chatsvc.actions.service_requests.numbering import next_number
from chatsvc.actions.service_requests.photos import attach_photos
from chatsvc.actions.service_requests.views import (
    Contact,
    RequestPolicy,
    RequestView,
    request_view,
)
from chatsvc.db.models import Conversation, ServiceRequest, ServiceRequestUpdate
from chatsvc.outbox.mail import queue_mail
from chatsvc.outbox.replies import MailThread

SOURCES = ("assistant", "agent", "open311")

# The first public note of every request: said in the resident's language when they ask.
RECEIVED_NOTE = "Request received."


Source = Literal["assistant", "agent", "open311"]


MAX_DESCRIPTION = 4000


@dataclass(frozen=True)
class NewRequest:
    """A request as its author gives it, before any check."""

    service_code: str
    values: Mapping[str, object]  # the topic's fields by name: address, description, container...
    contact: Contact = field(default_factory=Contact)
    lat: float | None = None
    long: float | None = None
    media_url: str | None = None
    photo_ids: Sequence[int] = ()
    conversation_id: int | None = None
    client_id: str | None = None
    source: Source = "assistant"
    staff_id: int | None = None
    # Who files it, as the history says; the assistant passes its name from center.toml.
    actor: str = "Assistant"
    open311_client_id: int | None = None


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
            view = await request_view(session, existing, policy.kb)
            return _replace_duplicate(view)
    topic = request_topic(policy.kb, new.service_code)
    lat, long = clean_location(new.lat, new.long)
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
    contact = clean_contact(new.contact)
    media_url = clean_media_url(new.media_url)
    number = await next_number(session, policy.calendar.local_year(now))
    language = "en"
    if new.conversation_id is not None:
        # Filed from a chat (by the assistant or an agent): its mails speak the chat's language.
        language = (
            await session.scalar(
                select(Conversation.language).where(Conversation.id == new.conversation_id)
            )
            or "en"
        )
    request = ServiceRequest(
        language=language,
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
    await attach_photos(session, request, new.photo_ids, new.conversation_id)
    session.add(
        ServiceRequestUpdate(
            request_id=request.id,
            status="open",
            note=RECEIVED_NOTE,
            public=True,
            staff_id=new.staff_id,
            actor=new.actor,
            created_at=now,
        )
    )
    await session.flush()
    view = await request_view(session, request, policy.kb)
    if contact.email:
        await queue_mail(
            session,
            kind="request_created",
            to=contact.email,
            subject=created_subject(view, policy, language),
            body=created_mail(view, policy, language),
            reply_to=None,  # the mailer adds CHATSVC_MAIL_REPLY_TO
            now=now,
            per_address_per_day=policy.mail_per_address_per_day,
            thread=MailThread("request", request.id),
        )
    await notify_department(session, view, "request.created", policy, now)
    notices.record(session, notices.RequestChanged(view.as_dict()))  # staff see it live
    return view


def _replace_duplicate(view: RequestView) -> RequestView:
    return replace(view, duplicate=True)
