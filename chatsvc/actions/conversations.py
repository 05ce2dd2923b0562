"""Conversation actions: start, resume, send (many at once, in one commit), read, end.

Each action takes an open AsyncSession (inside a transaction the caller commits) and plain values,
and returns plain results. None of them talk to clients: the transport emits after commit.
What the assistant says lives in `assistant_turns`, the photos residents upload in `photos`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import Table, and_, bindparam, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc import notices
from chatsvc.actions import address_caps
from chatsvc.actions.accounts import StaffView
from chatsvc.actions.chat_views import chat_summaries
from chatsvc.actions.conversation_state import ConversationStatus, Priority, Stage, move_status
from chatsvc.db.models import Conversation, Message, Resident
from chatsvc.db.models import iso_utc as iso_utc
from chatsvc.errors import ChatError, ConversationEnded, Forbidden, InvalidToken, TokenExpired
from chatsvc.i18n import translate
from chatsvc.tokens import hash_token, new_token

AuthorKind = Literal["resident", "assistant", "agent", "system"]
Reader = Literal["resident", "staff"]

# System messages are the center speaking: they are stored unsigned, and front ends sign them
# with the center's `chat_name` (knowledge_base/center.toml), which the resident acks carry.
SYSTEM_AUTHOR: str | None = None
RESUME_PAGE = 500
# A start sent again with the same client id within this long (its answer was lost on the way)
# finds the chat it opened rather than opening another.
START_RETRY_WINDOW = timedelta(minutes=10)
# A resume answers at most this much message text (UTF-8) besides the count: 500 messages of
# 4,000 characters would be 2 MB or more. At least one message, however long.
RESUME_PAGE_BYTES = 256 * 1024
ENDED_BY = {
    "resident": "Chat ended by the resident.",
    "agent": "Chat ended by {agent}.",
    "idle": "This chat was closed after {minutes} minutes without a message. "
    "Start a new chat any time.",
    "abandoned": "You left the chat while you were waiting for a person.",
}
# What a system message tells, for front ends that word it for their reader (`MessageView.notice`).
ENDED_BY_RESIDENT = "ended_by_resident"
JOINED = "joined"  # "<name> joined the chat.", in the conversation's language (reports find it)


# A quick reply that is not a text to send: the widget offers a photo upload in its place.
PHOTO_REPLY = {"label": "Add a photo", "text": "", "action": "photo"}


def _replies(stored: list[dict[str, str]] | None) -> tuple[tuple[str, str], ...]:
    return tuple((q["label"], q["text"]) for q in stored or () if not q.get("action"))


def _photo_label(stored: list[dict[str, str]] | None) -> str:
    """The photo upload's label, as stored in the conversation's language."""
    return next(
        (q["label"] for q in stored or () if q.get("action") == "photo"), PHOTO_REPLY["label"]
    )


def _offers_photo(stored: list[dict[str, str]] | None) -> bool:
    return any(q.get("action") == "photo" for q in stored or ())


def _notice_of(author_kind: str, decision: dict[str, Any] | None) -> str | None:
    # A system message's `decision` holds the event it tells (an assistant's, what it made of
    # the question: not for clients).
    if author_kind != "system" or not isinstance(decision, dict):
        return None
    notice = decision.get("notice")
    return notice if isinstance(notice, str) else None


@dataclass(frozen=True)
class MessageView:
    """A committed message, as clients see it."""

    id: int
    conversation_id: int
    seq: int
    client_id: str | None
    author_kind: str
    author_name: str | None
    text: str
    created_at: datetime
    format: str = "text"
    quick_replies: tuple[tuple[str, str], ...] = ()
    offers_photo: bool = False  # the assistant asks for a photo: the widget shows an upload
    photo_label: str = PHOTO_REPLY["label"]  # its button, in the conversation's language
    photo_id: int | None = None  # a resident's photo, shown in the chat
    notice: str | None = None  # a system message's event (ENDED_BY_RESIDENT), for its wording

    @classmethod
    def of(cls, message: Message) -> MessageView:
        return cls(
            id=message.id,
            conversation_id=message.conversation_id,
            seq=message.seq,
            client_id=message.client_id,
            author_kind=message.author_kind,
            author_name=message.author_name,
            text=message.body,
            created_at=message.created_at,
            format=message.format or "text",
            quick_replies=_replies(message.quick_replies),
            offers_photo=_offers_photo(message.quick_replies),
            photo_label=_photo_label(message.quick_replies),
            photo_id=message.photo_id,
            notice=_notice_of(message.author_kind, message.decision),
        )

    def as_dict(self) -> dict[str, Any]:
        photo = {"photo_id": self.photo_id} if self.photo_id is not None else {}
        notice = {"notice": self.notice} if self.notice is not None else {}
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "seq": self.seq,
            "client_id": self.client_id,
            "author_kind": self.author_kind,
            "author_name": self.author_name,
            "text": self.text,
            "created_at": iso_utc(self.created_at),
            "format": self.format,
            "quick_replies": [{"label": label, "text": text} for label, text in self.quick_replies]
            + ([{**PHOTO_REPLY, "label": self.photo_label}] if self.offers_photo else []),
            **photo,
            **notice,
        }


@dataclass(frozen=True)
class ConversationView:
    """A conversation's state, as its participants see it."""

    id: int
    status: ConversationStatus
    created_at: datetime
    ended_at: datetime | None
    last_seq: int
    resident_name: str
    resident_email: str
    resident_read_seq: int
    staff_read_seq: int
    stage: Stage = Stage.ASSISTANT
    topic: str | None = None
    agent_name: str | None = None
    language: str = "en"

    @classmethod
    def of(cls, conversation: Conversation) -> ConversationView:
        return cls(
            id=conversation.id,
            status=ConversationStatus(conversation.status),
            created_at=conversation.created_at,
            ended_at=conversation.ended_at,
            last_seq=conversation.last_seq,
            resident_name=conversation.resident.name,
            resident_email=conversation.resident.email,
            resident_read_seq=conversation.resident_read_seq,
            staff_read_seq=conversation.staff_read_seq,
            stage=Stage(conversation.stage),
            topic=conversation.topic,
            agent_name=conversation.agent_name if conversation.stage == Stage.AGENT else None,
            language=conversation.language,
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "status": self.status,
            "created_at": iso_utc(self.created_at),
            "ended_at": iso_utc(self.ended_at) if self.ended_at else None,
            "last_seq": self.last_seq,
            "resident": {"name": self.resident_name, "email": self.resident_email},
            "read": {"resident": self.resident_read_seq, "staff": self.staff_read_seq},
            "stage": self.stage,
            "topic": self.topic,
            "agent": {"name": self.agent_name} if self.agent_name else None,
            "language": self.language,
        }


@dataclass(frozen=True)
class Started:
    conversation: ConversationView
    token: str
    messages: list[MessageView]
    retried: bool = False  # a start sent again: the chat it opened before, with a new token
    # Retried: the assistant's last answer handed over, or would have had the center been open
    # (the first answer then offered leaving a message; the retry offers it again).
    wanted_person: bool = False


@dataclass(frozen=True)
class Resumed:
    conversation: ConversationView
    messages: list[MessageView]
    has_more: bool


@dataclass(frozen=True)
class Draft:
    """A message to store: who wrote what, in which conversation, under which client id."""

    conversation_id: int
    author_kind: AuthorKind
    author_name: str | None
    text: str
    client_id: str | None
    now: datetime
    format: str = "text"
    quick_replies: tuple[tuple[str, str], ...] = ()
    decision: dict[str, Any] | None = None
    offers_photo: bool = False
    photo_id: int | None = None  # a photo the resident sent (the message's text stands for it)
    photo_label: str = PHOTO_REPLY["label"]  # the upload's button, in the chat's language
    # The connection that sent it, told by its ack (group commit serves many at once, so the
    # draft carries it; elsewhere the transaction's `notices.origin` does).
    origin: str | None = None


@dataclass(frozen=True)
class Sent:
    message: MessageView
    duplicate: bool
    stage: Stage = Stage.ASSISTANT  # who answers the conversation, as of this message's commit
    assigned_staff_id: int | None = None  # the agent who answers it, if one does


@dataclass(frozen=True)
class Ended:
    conversation: ConversationView
    messages: list[MessageView]
    assigned_staff_id: int | None = None  # the agent whose chat it was, if any


async def start_conversation(
    session: AsyncSession,
    *,
    name: str,
    email: str,
    question: str,
    client_id: str | None,
    now: datetime,
    sender_key: str | None = None,
    per_address_per_day: int | None = None,
    phone: str = "",
    language: str = "en",
) -> Started:
    """Open a conversation from the pre-chat form, with the question as its first message, in
    the resident's `language` (the widget's).

    `sender_key` (the hash of the client's address) is kept with it; with `per_address_per_day`
    an address that started as many in 24 hours is refused (RateLimited, nothing stored, the
    center's `phone` in the message).

    A start sent again with the same `client_id` from the same address (its answer was lost)
    finds the open chat the first one opened, within START_RETRY_WINDOW: `Started.retried`, its
    messages so far and a new token (the first one never reached anyone, and only the browser
    that made the client id, a random UUID, knows it).

    Locking order: the client id's lock (PostgreSQL: parallel retries take turns), the
    conversation it opened, then the address's cap (address_caps), then the new conversation's
    row.
    """
    if client_id is not None and sender_key is not None:
        retried = await _start_sent_before(
            session, client_id=client_id, sender_key=sender_key, now=now
        )
        if retried is not None:
            return retried
    if sender_key is not None and per_address_per_day is not None:
        await address_caps.check_conversations(
            session, sender_key=sender_key, per_day=per_address_per_day, now=now, phone=phone
        )
    token = new_token()
    resident = Resident(name=name, email=email, created_at=now)
    conversation = Conversation(
        token_hash=hash_token(token),
        resident=resident,
        status=ConversationStatus.OPEN,
        stage=Stage.ASSISTANT,
        priority=Priority.NORMAL,
        created_at=now,
        updated_at=now,
        last_seq=0,
        resident_read_seq=0,
        staff_read_seq=0,
        sender_key=sender_key,
        language=language,
    )
    session.add(conversation)
    await session.flush()
    messages = await append_drafts(
        session, Draft(conversation.id, "resident", name, question, client_id, now)
    )
    await session.refresh(conversation)
    return Started(ConversationView.of(conversation), token, messages)


async def _start_sent_before(
    session: AsyncSession, *, client_id: str, sender_key: str, now: datetime
) -> Started | None:
    # Found through the address's recent chats (ix_conversations_sender_key_created_at), then
    # their first message's client id (uq_messages_conversation_client).
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            select(func.pg_advisory_xact_lock(func.hashtext("start"), func.hashtext(client_id)))
        )
    conversation_id = await session.scalar(
        select(Conversation.id)
        .join(Message, Message.conversation_id == Conversation.id)
        .where(
            Message.seq == 1,
            Message.author_kind == "resident",
            Message.client_id == client_id,
            Conversation.created_at >= now - START_RETRY_WINDOW,
            Conversation.status == ConversationStatus.OPEN,
            Conversation.sender_key == sender_key,
        )
        .order_by(Conversation.id)
        .limit(1)
    )
    if conversation_id is None:
        return None
    conversation = await get_conversation(session, conversation_id, lock=True)
    token = new_token()
    conversation.token_hash = hash_token(token)
    await session.flush()
    messages = await messages_after(session, conversation_id, 0, RESUME_PAGE)
    decision = await session.scalar(
        select(Message.decision)
        .where(Message.conversation_id == conversation_id, Message.author_kind == "assistant")
        .order_by(Message.seq.desc())
        .limit(1)
    )
    wanted = isinstance(decision, dict) and bool(decision.get("handoff") or decision.get("wanted"))
    return Started(
        ConversationView.of(conversation), token, messages, retried=True, wanted_person=wanted
    )


async def resume_conversation(
    session: AsyncSession, *, token: str, after_seq: int, now: datetime, ttl: timedelta
) -> Resumed:
    """Find the conversation a token opens and the messages after `after_seq`."""
    conversation = await session.scalar(
        select(Conversation).where(Conversation.token_hash == hash_token(token))
    )
    if conversation is None:
        raise InvalidToken("This chat link is not valid. Start a new chat.")
    if conversation.ended_at is not None and conversation.ended_at + ttl < now:
        raise TokenExpired("This chat ended a while ago and can no longer be opened.")
    messages = await messages_after(session, conversation.id, after_seq, RESUME_PAGE + 1)
    page: list[MessageView] = []
    size = 0
    for message in messages[:RESUME_PAGE]:
        size += len(message.text.encode("utf-8", "surrogatepass"))
        if page and size > RESUME_PAGE_BYTES:
            break
        page.append(message)
    return Resumed(ConversationView.of(conversation), page, has_more=len(messages) > len(page))


async def messages_after(
    session: AsyncSession, conversation_id: int, after_seq: int, limit: int
) -> list[MessageView]:
    """List a conversation's messages with seq greater than `after_seq`, oldest first."""
    rows = await session.scalars(
        select(Message)
        .where(Message.conversation_id == conversation_id, Message.seq > after_seq)
        .order_by(Message.seq)
        .limit(limit)
    )
    return [MessageView.of(m) for m in rows]


async def send_message(session: AsyncSession, draft: Draft) -> Sent:
    """Store one message once per client id, with the conversation's next seq."""
    (outcome,) = await append_messages(session, [draft])
    if isinstance(outcome, ChatError):
        raise outcome
    return outcome


# The hot path's statements, built once: building and hashing a statement costs more CPU than
# PostgreSQL spends running it. Core, not the ORM: this path needs rows, not objects.
_CONVERSATIONS = cast(Table, Conversation.__table__)
_MESSAGES = cast(Table, Message.__table__)
# Each conversation of a batch, and the id of any message already stored under one of the
# batch's client ids. FOR UPDATE (in id order, so two writers cannot deadlock) holds each
# conversation's seq until commit on PostgreSQL; SQLite has one writer and ignores it.
_LOCK_FOR_APPEND = (
    select(
        _CONVERSATIONS.c.id,
        _CONVERSATIONS.c.status,
        _CONVERSATIONS.c.stage,
        _CONVERSATIONS.c.assigned_staff_id,
        _CONVERSATIONS.c.last_seq,
        _MESSAGES.c.id.label("stored_id"),
        _MESSAGES.c.client_id.label("stored_client_id"),
    )
    .outerjoin(
        _MESSAGES,
        and_(
            _MESSAGES.c.conversation_id == _CONVERSATIONS.c.id,
            _MESSAGES.c.client_id.in_(bindparam("client_ids", expanding=True)),
        ),
    )
    .where(_CONVERSATIONS.c.id.in_(bindparam("ids", expanding=True)))
    .order_by(_CONVERSATIONS.c.id)
    .with_for_update(of=_CONVERSATIONS)
)
# Ids come back keyed by (conversation, seq): asking for them in parameter order would make
# SQLite run one INSERT per row instead of one for the batch.
_INSERT_MESSAGES = insert(_MESSAGES).returning(
    _MESSAGES.c.id, _MESSAGES.c.conversation_id, _MESSAGES.c.seq
)
_ADVANCE_SEQ = (
    update(_CONVERSATIONS)
    .where(_CONVERSATIONS.c.id == bindparam("conversation"))
    .values(last_seq=bindparam("seq"), updated_at=bindparam("now"))
)


async def append_messages(session: AsyncSession, drafts: Sequence[Draft]) -> list[Sent | ChatError]:
    """Store many messages at once, each once per client id, with its conversation's next seq.

    Returns one outcome per draft, in order: what was stored (or found stored under the same
    client id), or the error that draft alone met. A few statements serve the whole batch, so
    many residents' messages share one transaction and one commit.
    """
    ids = sorted({d.conversation_id for d in drafts})
    client_ids = sorted({d.client_id for d in drafts if d.client_id is not None})
    rows = await session.execute(_LOCK_FOR_APPEND, {"ids": ids, "client_ids": client_ids})
    conversations: dict[int, str] = {}
    stages: dict[int, tuple[Stage, int | None]] = {}
    last_seq: dict[int, int] = {}
    stored_ids: dict[int, tuple[int, str]] = {}
    for row in rows:
        conversations[row.id] = row.status
        stages[row.id] = (Stage(row.stage), row.assigned_staff_id)
        last_seq[row.id] = row.last_seq
        if row.stored_id is not None:
            stored_ids[row.stored_id] = (row.id, row.stored_client_id)
    stored: dict[tuple[int, str], MessageView] = {}
    if stored_ids:  # resends: rare, so their whole rows are read only when there are some
        for message in await session.scalars(select(Message).where(Message.id.in_(stored_ids))):
            stored[stored_ids[message.id]] = MessageView.of(message)

    # Each draft's outcome, or the index of the new row that answers it (a resend within
    # the same batch is answered by the row its first copy makes, as a duplicate).
    outcomes: list[Sent | ChatError | tuple[int, bool]] = []
    new_rows: list[dict[str, Any]] = []
    new_origins: list[str | None] = []
    new_by_client_id: dict[tuple[int, str], int] = {}
    for draft in drafts:
        conversation_id, client_id = draft.conversation_id, draft.client_id
        if client_id is not None:
            if (conversation_id, client_id) in stored:
                outcomes.append(
                    Sent(stored[conversation_id, client_id], True, *stages[conversation_id])
                )
                continue
            if (conversation_id, client_id) in new_by_client_id:
                outcomes.append((new_by_client_id[conversation_id, client_id], True))
                continue
        status = conversations.get(conversation_id)
        if status is None:
            outcomes.append(ConversationEnded("This conversation no longer exists."))
            continue
        if status != ConversationStatus.OPEN:
            outcomes.append(
                ConversationEnded("This chat has ended. Start a new chat to write to us again.")
            )
            continue
        last_seq[conversation_id] += 1
        if client_id is not None:
            new_by_client_id[conversation_id, client_id] = len(new_rows)
        outcomes.append((len(new_rows), False))
        new_origins.append(draft.origin or notices.origin.get())
        new_rows.append(
            {
                "conversation_id": conversation_id,
                "seq": last_seq[conversation_id],
                "client_id": client_id,
                "author_kind": draft.author_kind,
                "author_name": draft.author_name,
                "body": draft.text,
                "created_at": draft.now,
                "format": draft.format,
                "quick_replies": [{"label": a, "text": b} for a, b in draft.quick_replies]
                + ([{**PHOTO_REPLY, "label": draft.photo_label}] if draft.offers_photo else [])
                or None,
                "decision": draft.decision,
                "photo_id": draft.photo_id,
            }
        )
    if not new_rows:
        return [o for o in outcomes if not isinstance(o, tuple)]
    views = await _insert(session, new_rows, last_seq, max(d.now for d in drafts))
    notices.record(
        session,
        *(
            notices.MessageAdded(
                view.conversation_id,
                view.as_dict(),
                stages[view.conversation_id][1],
                origin=origin,
            )
            for view, origin in zip(views, new_origins, strict=True)
        ),
    )
    return [
        Sent(views[o[0]], o[1], *stages[views[o[0]].conversation_id]) if isinstance(o, tuple) else o
        for o in outcomes
    ]


async def _insert(
    session: AsyncSession, rows: list[dict[str, Any]], last_seq: dict[int, int], now: datetime
) -> list[MessageView]:
    returned = await session.execute(_INSERT_MESSAGES, rows)
    id_of = {(r.conversation_id, r.seq): r.id for r in returned}
    views = [
        MessageView(
            id=id_of[row["conversation_id"], row["seq"]],
            conversation_id=row["conversation_id"],
            seq=row["seq"],
            client_id=row["client_id"],
            author_kind=row["author_kind"],
            author_name=row["author_name"],
            text=row["body"],
            created_at=row["created_at"],
            format=row["format"],
            quick_replies=_replies(row["quick_replies"]),
            offers_photo=_offers_photo(row["quick_replies"]),
            photo_label=_photo_label(row["quick_replies"]),
            photo_id=row["photo_id"],
            notice=_notice_of(row["author_kind"], row["decision"]),
        )
        for row in rows
    ]
    touched = sorted({row["conversation_id"] for row in rows})
    await session.execute(
        _ADVANCE_SEQ, [{"conversation": cid, "seq": last_seq[cid], "now": now} for cid in touched]
    )
    return views


async def mark_read(
    session: AsyncSession,
    *,
    conversation_id: int,
    reader: Reader,
    seq: int,
    by: StaffView | None = None,
) -> int:
    """Record that `reader` has seen the conversation up to `seq`; return the stored value.

    For staff, `by` must be the agent the conversation is assigned to, or a supervisor: the
    resident sees "Seen", which must mean the person answering them saw it.
    """
    conversation = await get_conversation(session, conversation_id)
    if reader == "staff" and (
        by is None or (conversation.assigned_staff_id != by.id and not by.is_supervisor)
    ):
        raise Forbidden("Only the agent answering this chat, or a supervisor, can mark it read.")
    seq = min(seq, conversation.last_seq)
    if reader == "resident":
        conversation.resident_read_seq = max(conversation.resident_read_seq, seq)
        read = conversation.resident_read_seq
    else:
        conversation.staff_read_seq = max(conversation.staff_read_seq, seq)
        read = conversation.staff_read_seq
    notices.record(session, notices.ReadUpTo(conversation_id, reader, read, _holder(conversation)))
    return read


def _holder(conversation: Conversation) -> int | None:
    """The agent who answers the conversation now, if one does."""
    if conversation.stage == Stage.AGENT:
        return conversation.assigned_staff_id
    return None


async def end_conversation(
    session: AsyncSession,
    *,
    conversation_id: int,
    ended_by: Literal["resident", "agent", "idle", "abandoned"],
    now: datetime,
    notice: str | Callable[[str], str] | None = None,
    disposition: str | None = None,
    reason: str = "ended",
) -> Ended:
    """End an open conversation with a system message; ending twice changes nothing.

    `notice` is the system message's text (by default, who ended it, in the conversation's
    language), or what writes it in the conversation's language. The agent it was
    assigned to, if any, keeps it in `Ended.assigned_staff_id` so their slot can be refilled;
    they hear `unassigned` with `reason` first, before anything can refill it.
    """
    conversation = await get_conversation(session, conversation_id, lock=True)
    if conversation.status != ConversationStatus.OPEN:
        return Ended(ConversationView.of(conversation), [])
    assigned = _holder(conversation)
    if assigned is not None:
        notices.record(session, notices.Unassigned(conversation_id, assigned, reason))
    language = conversation.language
    if callable(notice):
        text = notice(language)
    else:
        agent = conversation.agent_name or translate(language, "the agent")
        text = notice or translate(language, ENDED_BY[ended_by], agent=agent)
    # Staff read "Chat ended by the resident."; the marker lets every tab of the resident's
    # say "You ended the chat." instead.
    marker = {"notice": ENDED_BY_RESIDENT} if ended_by == "resident" and notice is None else None
    messages = await append_drafts(
        session,
        Draft(conversation.id, "system", SYSTEM_AUTHOR, text, None, now, decision=marker),
    )
    conversation.status = move_status(conversation.status, ConversationStatus.ENDED)
    conversation.ended_at = now
    conversation.ended_by = ended_by
    conversation.disposition = disposition
    await session.flush()
    await session.refresh(conversation)
    view = ConversationView.of(conversation)
    (chat,) = await chat_summaries(session, [conversation])
    notices.record(
        session,
        notices.ConversationChanged(conversation_id, view.as_dict(), chat.as_dict(), assigned),
    )
    if assigned is not None:
        notices.record(session, notices.PresenceChanged())
    notices.record(session, notices.QueueChanged())
    return Ended(view, messages, assigned)


async def get_conversation(
    session: AsyncSession, conversation_id: int, *, lock: bool = False
) -> Conversation:
    """Load a conversation (locked until commit when `lock`), or raise ConversationEnded."""
    statement = select(Conversation).where(Conversation.id == conversation_id)
    if lock:
        # Held until commit (PostgreSQL): two processes cannot both act on it as it was.
        statement = statement.with_for_update(of=Conversation)
    conversation = await session.scalar(statement.execution_options(populate_existing=True))
    if conversation is None:
        raise ConversationEnded("This conversation no longer exists.")
    return conversation


async def append_drafts(session: AsyncSession, *drafts: Draft) -> list[MessageView]:
    """Store server-made messages (no client id), raising the first draft's error if any."""
    outcomes = await append_messages(session, drafts)
    views = []
    for outcome in outcomes:
        if isinstance(outcome, ChatError):
            raise outcome
        views.append(outcome.message)
    return views
