"""Finding requests: one by its number, a filtered list, a resident's status lookup, and the
requests a conversation filed.

Reads only, but for the status lookup: it records a miss, and takes its address's cap lock
(address_caps) first. Nothing here locks a row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions import address_caps
from chatsvc.actions.service_requests.numbering import parse_number
from chatsvc.actions.service_requests.views import (
    RequestView,
    build_view,
    histories_of,
    photo_ids_of,
    request_view,
)
from chatsvc.catalogue.knowledge import KnowledgeBase
from chatsvc.db.models import ServiceRequest, StatusLookupMiss
from chatsvc.errors import NotFound


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
    public_only: bool = False  # Open311: leave out topics that are not public (Topic.public)


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
    service_code: str = ""  # to name the service in the resident's language


async def get_request(
    session: AsyncSession, number: str, kb: KnowledgeBase, *, public_only: bool = False
) -> RequestView:
    """Load a request by its number, with its history; raise NotFound if there is none (or,
    `public_only`, if its topic is not public: to a stranger it does not exist)."""
    canonical = parse_number(number)
    request = (
        await session.scalar(select(ServiceRequest).where(ServiceRequest.number == canonical))
        if canonical
        else None
    )
    topic = kb.topics.get(request.service_code) if request is not None else None
    if request is None or (public_only and topic is not None and not topic.public):
        raise NotFound(f"There is no request {number!r}.")
    return await request_view(session, request, kb)


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
    if filters.public_only:
        private = [code for code, topic in kb.topics.items() if not topic.public]
        conditions.append(ServiceRequest.service_code.not_in(private))
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
    histories = await histories_of(session, [r.id for r in requests])
    photos = await photo_ids_of(session, [r.id for r in requests])
    return RequestPage(
        [build_view(r, kb, histories.get(r.id, ()), photos.get(r.id, ())) for r in requests],
        total,
    )


async def lookup_status(
    session: AsyncSession,
    *,
    number: str,
    email: str,
    kb: KnowledgeBase,
    now: datetime,
    misses_per_number_per_day: int = 10,
    sender_key: str | None = None,
    misses_per_address_per_day: int = 20,
) -> StatusAnswer | None:
    """Tell a resident where their request stands, if the number and email go together.

    A wrong pair and an unknown number both give None, so nobody learns which numbers exist.
    After `misses_per_number_per_day` wrong pairs for one number in 24 hours (from any chat:
    a new chat does not start the count again), every lookup of it gives None, so nobody can
    guess the email of a request whose number they saw. After `misses_per_address_per_day`
    from the chats of one address (`sender_key`, the chat's), every lookup from it is refused
    (RateLimited), whatever the number.

    Locking order: the caller's conversation row, then the address's cap (address_caps), then
    the number's lock (PostgreSQL: an advisory lock held until commit, so parallel wrong
    lookups of one number cannot pass its cap).
    """
    canonical = parse_number(number)
    if canonical is None:
        return None
    if sender_key is not None:
        await address_caps.check_status_misses(
            session, sender_key=sender_key, per_day=misses_per_address_per_day, now=now
        )
    if session.get_bind().dialect.name == "postgresql":
        # Parallel guesses at one number count one after another (SQLite's take turns).
        await session.execute(
            select(
                func.pg_advisory_xact_lock(func.hashtext("status_number"), func.hashtext(canonical))
            )
        )
    misses = await session.scalar(
        select(func.count()).where(
            StatusLookupMiss.number == canonical,
            StatusLookupMiss.at > now - timedelta(days=1),
        )
    )
    if (misses or 0) >= misses_per_number_per_day:
        return None
    request = await session.scalar(select(ServiceRequest).where(ServiceRequest.number == canonical))
    if (
        request is None
        or request.contact_email is None
        or request.contact_email.strip().lower() != email.strip().lower()
    ):
        session.add(StatusLookupMiss(number=canonical, at=now, sender_key=sender_key))
        await session.flush()
        return None
    return _answer(await request_view(session, request, kb))


async def filed_in_conversation(
    session: AsyncSession, *, conversation_id: int
) -> list[tuple[str, str]]:
    """The requests filed in a conversation, newest first: (number, service code) each."""
    rows = await session.execute(
        select(ServiceRequest.number, ServiceRequest.service_code)
        .where(ServiceRequest.conversation_id == conversation_id)
        .order_by(ServiceRequest.requested_at.desc(), ServiceRequest.id.desc())
    )
    return [(number, code) for number, code in rows]


async def status_in_conversation(
    session: AsyncSession, *, number: str, conversation_id: int, kb: KnowledgeBase
) -> StatusAnswer | None:
    """Tell where a request filed in this conversation stands; None if it was not filed here.

    No email is asked for: the chat that filed the request was told its number then, so it
    learns nothing new by asking again.
    """
    canonical = parse_number(number)
    request = (
        await session.scalar(
            select(ServiceRequest).where(
                ServiceRequest.number == canonical,
                ServiceRequest.conversation_id == conversation_id,
            )
        )
        if canonical
        else None
    )
    return None if request is None else _answer(await request_view(session, request, kb))


def _answer(view: RequestView) -> StatusAnswer:
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
        service_code=view.service_code,
    )
