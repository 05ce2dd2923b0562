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
from chatsvc.outbox.mail_words import MailWords
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


def request_words(policy: RequestPolicy, language: str) -> MailWords:
    return MailWords(language, policy.kb.center, policy.calendar)


def created_subject(view: RequestView, policy: RequestPolicy, language: str = "en") -> str:
    return request_words(policy, language)(
        "Your request {number}: {service}",
        number=view.number,
        service=_service(view, policy.kb, language),
    )


def final_subject(view: RequestView, policy: RequestPolicy, language: str = "en") -> str:
    # One msgid per status ("... is closed", "... is referred"), English as it always read.
    msgid = "Your request {number} is " + view.status_label.lower().replace("{", "")
    return request_words(policy, language)(msgid, number=view.number)


def created_mail(view: RequestView, policy: RequestPolicy, language: str = "en") -> str:
    words = request_words(policy, language)
    return "\n".join(
        [
            words(GREETING),
            "",
            words("Thank you for your request. Its number is {number}.", number=view.number),
            end_sentence(
                words("We expect it to be done by {when}", when=words.when(view.expected_at))
            ),
            "",
            *_details(view, policy.kb, words),
            "",
            words(
                'To ask about it, chat with us on the City website and say "status of '
                '{number}", or reply to this email.',
                number=view.number,
            ),
            "",
            *words.signature,
        ]
    )


def final_mail(
    view: RequestView, note: str | None, policy: RequestPolicy, language: str = "en"
) -> str:
    words = request_words(policy, language)
    service = _service(view, policy.kb, language)
    if view.status == "referred":
        middle = [
            words(
                "Your request {number} ({service}) has been referred to {department}, who "
                "handle this kind of request.",
                number=view.number,
                service=service,
                department=view.referred_to,
            ),
            "",
            words("Next steps:"),
            view.next_steps or "",
        ]
    else:
        middle = [
            words(
                "Your request {number} ({service}) is closed.", number=view.number, service=service
            )
        ]
    if note:
        middle += ["", words("Note from our team: {note}", note=note)]
    details = _details(view, policy.kb, words)
    return "\n".join([words(GREETING), "", *middle, "", *details, "", *words.signature])


def _service(view: RequestView, kb: KnowledgeBase, language: str) -> str:
    """The request's service as the resident's language names it (English: as staff see it)."""
    if language == "en" or view.service_code not in kb.topics:
        return view.service_name
    return kb.topic_name(view.service_code, language)


def _details(view: RequestView, kb: KnowledgeBase, words: MailWords) -> list[str]:
    written: list[str] = []
    if view.address:
        written.append(words("Address: {address}", address=view.address))
    if view.description:
        written += [words("Description:"), *view.description.splitlines()]
    for name, value in view.attributes.items():
        spec = kb.fields.get(name)
        label = spec.label if spec else name
        written.append(f"{label}: {describe_value(spec, value) if spec else value}")
    service = _service(view, kb, words.language)
    lines = [words("Request: {service}", service=service)]
    if written:
        lines += ["", words("What you wrote:"), *quote_resident_text("\n".join(written))]
    return lines
