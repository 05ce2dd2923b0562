"""What a request tells people: the resident's mails and the department's webhook events.

Locking order: none; `notify_department` only adds to the webhook outbox.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions.service_requests.views import RequestPolicy, RequestView
from chatsvc.catalogue.fields import describe_value
from chatsvc.catalogue.knowledge import KnowledgeBase
from chatsvc.hours import end_sentence
from chatsvc.outbox.mail import quote_resident_text
from chatsvc.outbox.webhooks import queue_webhook

# Never the resident's name: whoever filed the request chose it, and "Hello City of Pasadena
# Billing," would read as the City's words. What they wrote is quoted, below the City's text.
GREETING = "Hello,"


async def notify_department(
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


def created_mail(view: RequestView, policy: RequestPolicy) -> str:
    return "\n".join(
        [
            GREETING,
            "",
            f"Thank you for your request. Its number is {view.number}.",
            end_sentence(
                f"We expect it to be done by {policy.calendar.describe_local(view.expected_at)}"
            ),
            "",
            *_details(view, policy.kb),
            "",
            f'To ask about it, chat with us on the City website and say "status of '
            f'{view.number}", or reply to this email.',
            "",
            *policy.kb.center.signature,
        ]
    )


def final_mail(view: RequestView, note: str | None, policy: RequestPolicy) -> str:
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
    signature = policy.kb.center.signature
    return "\n".join([GREETING, "", *middle, "", *_details(view, policy.kb), "", *signature])


def _details(view: RequestView, kb: KnowledgeBase) -> list[str]:
    written: list[str] = []
    if view.address:
        written.append(f"Address: {view.address}")
    if view.description:
        written += ["Description:", *view.description.splitlines()]
    for name, value in view.attributes.items():
        spec = kb.fields.get(name)
        label = spec.label if spec else name
        written.append(f"{label}: {describe_value(spec, value) if spec else value}")
    lines = [f"Request: {view.service_name}"]
    if written:
        lines += ["", "What you wrote:", *quote_resident_text("\n".join(written))]
    return lines
