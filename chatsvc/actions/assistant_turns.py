"""The assistant's turns: its answer to a resident's message, and the dialogues it leads.

Filing a service request or looking one up is a dialogue whose state (the filing form so far)
is kept on the conversation; `filing` decides the next line, these actions store it. A turn can
hand the conversation over to a person.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc import notices
from chatsvc.actions import address_caps
from chatsvc.actions.address_caps import in_about
from chatsvc.actions.chat_views import chat_summaries
from chatsvc.actions.conversation_state import ConversationStatus, Priority, Stage, move_stage
from chatsvc.actions.conversations import (
    ConversationView,
    Draft,
    MessageView,
    append_drafts,
    get_conversation,
)
from chatsvc.actions.service_requests.filing import (
    RECEIVED_NOTE,
    NewRequest,
    create_service_request,
)
from chatsvc.actions.service_requests.queries import (
    filed_in_conversation,
    lookup_status,
    status_in_conversation,
)
from chatsvc.actions.service_requests.views import Contact, RequestPolicy, RequestView
from chatsvc.bot import filing
from chatsvc.bot.assistant import compose_reply, conversation_language, person_reply
from chatsvc.bot.matcher import Decision
from chatsvc.catalogue.knowledge import KnowledgeBase
from chatsvc.db.models import Conversation
from chatsvc.errors import ChatError, RateLimited
from chatsvc.i18n import translate


@dataclass(frozen=True)
class AssistantTurn:
    """What the assistant said, and the conversation after it (handed off or not)."""

    messages: list[MessageView]
    conversation: ConversationView
    handed_off: bool
    wanted_person: bool = False  # asked for one while the center is closed
    request: RequestView | None = None  # a service request the assistant filed in this turn


async def assistant_turn(
    session: AsyncSession,
    *,
    conversation_id: int,
    text: str,
    decision: Decision,
    kb: KnowledgeBase,
    now: datetime,
    staffed: bool = True,
    policy: RequestPolicy | None = None,
) -> AssistantTurn:
    """Answer a resident's message as the assistant, and hand over to a person when due.

    Inside a dialogue (filing a request, looking one up) the message answers the dialogue;
    an emergency or a request for a person leaves it. With a `policy` the assistant files
    the requests residents confirm; without one it offers none. Once the conversation waits
    for a person the assistant stays quiet, except to tell anyone who reports an emergency to
    call 911.
    """
    conversation = await get_conversation(session, conversation_id, lock=True)
    if conversation.status == ConversationStatus.OPEN:
        await _follow_language(session, conversation, decision, text)
    language = conversation.language
    quiet = conversation.status != ConversationStatus.OPEN or (
        conversation.stage != Stage.ASSISTANT and decision.intent != "emergency"
    )
    if quiet:
        return AssistantTurn([], ConversationView.of(conversation), handed_off=False)
    state = conversation.assistant_flow
    dialogue: filing.Turn | None = None
    if policy is not None and decision.intent not in ("emergency", "human"):
        email = conversation.resident.email
        filed_here: list[filing.FiledHere] = []
        if decision.intent == "status" or (state or {}).get("kind") == "status":
            filed_here = await _filed_here(session, conversation.id, kb)
        dialogue = filing.continue_dialogue(
            state, text, kb, resident_email=email, filed_here=filed_here, language=language
        )
        if (
            dialogue is None
            and (topic := filing.wants_to_file(text, kb, conversation.topic)) is not None
        ):
            dialogue = filing.start_filing(topic, kb, state, language)
        if dialogue is None and decision.intent == "status":
            dialogue = filing.start_status(
                decision.request_number,
                state,
                resident_email=email,
                phone=kb.center.phone,
                filed_here=filed_here,
                about=decision.topics,
                language=language,
            )
    if dialogue is not None and policy is not None:
        return await _dialogue_turn(session, conversation, dialogue, policy, now)

    reply = compose_reply(
        decision,
        kb,
        misses=conversation.assistant_misses,
        text=text,
        staffed=staffed,
        language=language,
    )
    if reply.offer and policy is not None:
        conversation.assistant_flow = filing.offer_state(kb.topics[reply.offer], state)
    else:
        conversation.assistant_flow = filing.end_dialogue(state)
    messages = await say(
        session,
        conversation.id,
        reply.text,
        now,
        author=kb.center.assistant_name,
        quick_replies=reply.quick_replies,
        # With what the matcher made of the message: the hand-over it made (or would have
        # made, had the center been open), for the assistant's report.
        decision={
            **reply.decision,
            **({"handoff": reply.handoff} if reply.handoff else {}),
            **({"wanted": reply.wanted} if reply.wanted else {}),
        },
    )
    conversation.assistant_misses = reply.misses
    if reply.topic:
        conversation.topic = reply.topic
    handed_off = reply.handoff is not None and conversation.stage == Stage.ASSISTANT
    if handed_off:
        topic = kb.topics.get(conversation.topic or "")
        conversation.stage = move_stage(conversation.stage, Stage.WAITING)
        conversation.handoff_reason = reply.handoff
        conversation.handoff_at = now
        conversation.queued_at = now
        conversation.priority = (
            Priority.EMERGENCY if reply.handoff == "emergency" else Priority.NORMAL
        )
        conversation.workgroup = topic.workgroup if topic else None
    elif reply.handoff == "emergency" and conversation.stage == Stage.WAITING:
        # Already in the queue, now with an emergency: to its front.
        conversation.priority = Priority.EMERGENCY
    await session.flush()
    await session.refresh(conversation)
    view = ConversationView.of(conversation)
    if handed_off:
        # Waiting for a person now: the resident's other tabs learn it, routing looks.
        notices.record(
            session,
            notices.ConversationChanged(conversation.id, view.as_dict()),
            notices.QueueChanged(),
        )
    return AssistantTurn(messages, view, handed_off, wanted_person=bool(reply.wanted))


async def _dialogue_turn(
    session: AsyncSession,
    conversation: Conversation,
    turn: filing.Turn,
    policy: RequestPolicy,
    now: datetime,
) -> AssistantTurn:
    """Say the dialogue's next line, after filing or looking up what it asks for.

    Locking order: the conversation's row (the caller's), then the address's cap
    (address_caps), then what filing a request locks.
    """
    text, state, request = turn.text, turn.state, None
    replies, offers_photo = turn.quick_replies, turn.offers_photo
    sender_key = conversation.sender_key
    phone = policy.kb.center.phone
    language = conversation.language
    before = (conversation.assistant_flow or {}).get("kind")
    if (state or {}).get("kind") == "file" and before != "file" and sender_key is not None:
        # Said before the resident gives every detail, not after; the filing checks again.
        try:
            await address_caps.check_filings(
                session,
                sender_key=sender_key,
                per_day=policy.filings_per_address_per_day,
                now=now,
            )
        except RateLimited as exc:
            text, state, replies, offers_photo = _filing_refused(conversation, exc, phone)
    if turn.filing is not None:
        resident = conversation.resident
        try:
            # A savepoint: a request that cannot be filed leaves nothing behind but the answer.
            async with session.begin_nested():
                if sender_key is not None:
                    await address_caps.check_filings(
                        session,
                        sender_key=sender_key,
                        per_day=policy.filings_per_address_per_day,
                        now=now,
                    )
                request = await create_service_request(
                    session,
                    NewRequest(
                        service_code=turn.filing.topic,
                        values=turn.filing.values,
                        contact=Contact(resident.name, resident.email),
                        photo_ids=turn.filing.photo_ids,
                        conversation_id=conversation.id,
                        client_id=f"chat-{conversation.id}-{conversation.last_seq}",
                        source="assistant",
                        actor=policy.kb.center.assistant_name,
                    ),
                    policy=policy,
                    now=now,
                )
        except RateLimited as exc:
            text, state, replies, offers_photo = _filing_refused(conversation, exc, phone)
        except ChatError as exc:
            text = translate(language, "Sorry, I couldn't file it: {why}", why=exc.message)
            state, replies = conversation.assistant_flow, filing.summary_replies(language)
        else:
            topic = policy.kb.topics[request.service_code]
            expected = policy.calendar.describe_local(request.expected_at, language)
            text = filing.filed(
                request.number, topic, expected, resident.email, kb=policy.kb, language=language
            )
            conversation.topic = topic.code
    if turn.lookup is not None:
        try:
            if turn.lookup.email is None:
                # A request this chat filed: it was told the number then, no email needed.
                found = await status_in_conversation(
                    session,
                    number=turn.lookup.number,
                    conversation_id=conversation.id,
                    kb=policy.kb,
                )
            else:
                found = await lookup_status(
                    session,
                    number=turn.lookup.number,
                    email=turn.lookup.email,
                    kb=policy.kb,
                    now=now,
                    misses_per_number_per_day=policy.status_misses_per_number_per_day,
                    sender_key=sender_key,
                    misses_per_address_per_day=policy.status_misses_per_address_per_day,
                )
        except RateLimited as exc:
            text = filing.lookups_refused(phone, in_about(exc.retry_after or 0), language)
            replies = (person_reply(language),)
        else:
            text = filing.status_answer(
                turn.lookup.number,
                None
                if found is None
                else {
                    **asdict(found),
                    "expected": policy.calendar.describe_local(found.expected_at, language),
                    "status_label": translate(language, found.status_label),
                    # The service's own first note; an agent's notes are said as written.
                    "note": translate(language, RECEIVED_NOTE)
                    if found.note == RECEIVED_NOTE
                    else found.note,
                    "service_name": policy.kb.topic_name(found.service_code, language)
                    if found.service_code in policy.kb.topics
                    else found.service_name,
                },
                phone=phone,
                others=turn.lookup.maybe_other,
                language=language,
            )
    messages = await say(
        session,
        conversation.id,
        text,
        now,
        author=policy.kb.center.assistant_name,
        quick_replies=replies,
        offers_photo=offers_photo,
        language=language,
        decision={
            "dialogue": (turn.state or {}).get("kind"),
            "step": (turn.state or {}).get("step"),
        },
    )
    conversation.assistant_flow = state
    conversation.assistant_misses = 0
    if turn.topic:
        conversation.topic = turn.topic
    await session.flush()
    await session.refresh(conversation)
    return AssistantTurn(messages, ConversationView.of(conversation), False, request=request)


def _filing_refused(
    conversation: Conversation, refusal: RateLimited, phone: str
) -> tuple[str, dict[str, Any] | None, tuple[tuple[str, str], ...], bool]:
    """The line, next state, quick replies and photo offer when the address's cap is full: the
    form is left (its details stay in the chat for a person to file)."""
    language = conversation.language
    text = filing.filing_refused(phone, in_about(refusal.retry_after or 0), language)
    return (
        text,
        filing.end_dialogue(conversation.assistant_flow),
        (person_reply(language),),
        False,
    )


async def _follow_language(
    session: AsyncSession, conversation: Conversation, decision: Decision, text: str
) -> None:
    """Change the conversation's language when the message clearly asks for another one
    (assistant.conversation_language), and tell the resident's tabs and staff."""
    language = conversation_language(conversation.language, decision, text)
    if language == conversation.language:
        return
    conversation.language = language
    await session.flush()
    await session.refresh(conversation)
    (chat,) = await chat_summaries(session, [conversation])
    notices.record(
        session,
        notices.ConversationChanged(
            conversation.id,
            ConversationView.of(conversation).as_dict(),
            chat.as_dict(),
            conversation.assigned_staff_id,
        ),
    )


async def _filed_here(
    session: AsyncSession, conversation_id: int, kb: KnowledgeBase
) -> list[filing.FiledHere]:
    """The requests filed in this chat, newest first, named by their topics."""
    return [
        filing.FiledHere(number, code, topic.name if (topic := kb.topics.get(code)) else code)
        for number, code in await filed_in_conversation(session, conversation_id=conversation_id)
    ]


async def say(
    session: AsyncSession,
    conversation_id: int,
    text: str,
    now: datetime,
    *,
    author: str,
    quick_replies: tuple[tuple[str, str], ...] = (),
    offers_photo: bool = False,
    decision: dict[str, Any] | None = None,
    language: str = "en",
) -> list[MessageView]:
    """Store the assistant's message (Markdown, with its quick replies), signed `author`; the
    photo upload's button is labelled in `language`, the conversation's."""
    draft = Draft(
        conversation_id,
        "assistant",
        author,
        text,
        None,
        now,
        format="markdown",
        quick_replies=quick_replies,
        decision=decision,
        offers_photo=offers_photo,
        photo_label=translate(language, filing.PHOTO_LABEL),
    )
    return await append_drafts(session, draft)
