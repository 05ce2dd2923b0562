"""A request's status: moving it on (open, in progress, closed), or referring it elsewhere.

Every function takes an open AsyncSession (the caller commits) and plain values. The mail to
the resident and the department's webhook event commit with the change.

Locking order: the request's row (FOR UPDATE, held until commit); nothing else is locked.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc import notices
from chatsvc.actions.service_requests.checks import InvalidRequest, clean_text
from chatsvc.actions.service_requests.notices import (
    final_mail,
    final_subject,
    notify_department,
)
from chatsvc.actions.service_requests.numbering import parse_number
from chatsvc.actions.service_requests.views import RequestPolicy, RequestView, request_view
from chatsvc.db.models import ServiceRequest, ServiceRequestUpdate
from chatsvc.errors import NotFound
from chatsvc.outbox.mail import queue_mail
from chatsvc.outbox.replies import MailThread

STATUSES = ("open", "in_progress", "closed", "referred")


FINAL_STATUSES = ("closed", "referred")


MAX_NOTE = 4000


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
    note = clean_text(note, "note", MAX_NOTE)
    request = await _locked(session, number)
    if status == request.status and note is None:
        raise InvalidRequest("The request already has this status: add a note to say more.")
    if status == "referred":
        referred_to = clean_text(referred_to, "referred_to", 100)
        next_steps = clean_text(next_steps, "next_steps", MAX_NOTE)
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
    view = await request_view(session, request, policy.kb)
    if changed and status in FINAL_STATUSES and view.contact.email:
        await queue_mail(
            session,
            kind=f"request_{status}",
            to=view.contact.email,
            subject=final_subject(view, policy, request.language),
            body=final_mail(view, note if public else None, policy, request.language),
            reply_to=None,  # the mailer adds CHATSVC_MAIL_REPLY_TO
            now=now,
            per_address_per_day=policy.mail_per_address_per_day,
            thread=MailThread("request", request.id),
        )
    await notify_department(session, view, "request.updated", policy, now)
    notices.record(session, notices.RequestChanged(view.as_dict()))  # staff see it live
    return view


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
