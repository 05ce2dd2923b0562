"""Database models: residents, conversations and their messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Store UTC instants; give back timezone-aware datetimes on every database."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso_utc(moment: datetime) -> str:
    """Write an instant as clients read it: ISO 8601 in UTC with a Z."""
    return moment.isoformat().replace("+00:00", "Z")


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime}


class Resident(Base):
    """A person who chats with the center, as they introduced themselves."""

    __tablename__ = "residents"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), index=True)
    created_at: Mapped[datetime]


class Conversation(Base):
    """One chat between a resident and the center."""

    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_queue", "stage", "priority", "queued_at"),
        Index("ix_conversations_sender_key_created_at", "sender_key", "created_at"),
        Index("ix_conversations_created_at", "created_at"),  # reports: chats of a period
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    resident_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    staff_read_seq: Mapped[int] = mapped_column(Integer, default=0)
    # Who answers the resident: "assistant", or "waiting" for a person after a handoff.
    stage: Mapped[str] = mapped_column(String(16), default="assistant", server_default="assistant")
    topic: Mapped[str | None] = mapped_column(String(64))  # the assistant's best guess
    assistant_misses: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    handoff_reason: Mapped[str | None] = mapped_column(String(32))
    handoff_at: Mapped[datetime | None]
    # Routing: while stage is "waiting" the conversation is in the queue, ordered by priority
    # (0 emergency, 1 sent back by a transfer or a lost agent, 2 the rest) then queued_at.
    priority: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    queued_at: Mapped[datetime | None]
    workgroup: Mapped[str | None] = mapped_column(String(100))  # whose agents it goes to first
    workgroup_only: Mapped[bool] = mapped_column(default=False, server_default=false())
    assigned_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    assigned_at: Mapped[datetime | None]
    agent_name: Mapped[str | None] = mapped_column(String(100))  # as the resident sees them
    first_agent_reply_at: Mapped[datetime | None]
    disposition: Mapped[str | None] = mapped_column(String(32))
    ended_by: Mapped[str | None] = mapped_column(String(16))  # resident, agent, idle, abandoned
    # When the resident's last connection went (None while one is there): a waiting resident
    # gone long enough leaves the queue (actions/abandoned.py).
    resident_left_at: Mapped[datetime | None]
    # The assistant's dialogue in progress, if any: filing a request or looking one up.
    assistant_flow: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # A hash of the address the chat was started from (never the address itself), as left
    # messages keep: the daily caps per address count by it (actions/address_caps.py).
    sender_key: Mapped[str | None] = mapped_column(String(64))
    # The resident's language as the widget started the chat in it ("en", "es").
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")
    # The last transcript mailed (actions/transcripts.py): a second click soon after sends none.
    transcript_sent_at: Mapped[datetime | None]
    transcript_sent_to: Mapped[str | None] = mapped_column(String(254))

    resident: Mapped[Resident] = relationship(lazy="joined")


class Message(Base):
    """A message in a conversation, numbered by `seq` within it."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq", name="uq_messages_conversation_seq"),
        UniqueConstraint("conversation_id", "client_id", name="uq_messages_conversation_client"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    seq: Mapped[int]
    client_id: Mapped[str | None] = mapped_column(String(64))
    author_kind: Mapped[str] = mapped_column(String(16))
    author_name: Mapped[str | None] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    format: Mapped[str] = mapped_column(String(16), default="text", server_default="text")
    quick_replies: Mapped[list[dict[str, str]] | None] = mapped_column(JSON(none_as_null=True))
    # What the assistant made of the message it answers: intent, band, score, article.
    decision: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # The photo a resident's message shows (a RequestPhoto; no foreign key: a photo no request
    # took is deleted after a while, and the message then says it is gone).
    photo_id: Mapped[int | None]


class Staff(Base):
    """A person of the center who signs in: an agent, a supervisor or an admin."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))  # agent, supervisor or admin
    password_hash: Mapped[str] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(default=False)
    max_chats: Mapped[int] = mapped_column(Integer, default=3)
    created_at: Mapped[datetime]
    # Presence: what the agent chose, and since when they have had nothing new to do.
    status: Mapped[str] = mapped_column(String(16), default="offline", server_default="offline")
    idle_since: Mapped[datetime | None]
    # Set when the agent's last connection drops: past it they go offline and lose their chats.
    grace_until: Mapped[datetime | None]

    workgroups: Mapped[list[StaffWorkgroup]] = relationship(
        lazy="selectin", cascade="all, delete-orphan"
    )


class StaffWorkgroup(Base):
    """A workgroup of the topic catalogue that a staff member answers for."""

    __tablename__ = "staff_workgroups"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), primary_key=True)
    workgroup: Mapped[str] = mapped_column(String(100), primary_key=True)


class StaffSession(Base):
    """A signed-in browser: only the hash of its cookie is stored."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class AgentConnection(Base):
    """A live Socket.IO connection of a staff member, on one server process."""

    __tablename__ = "agent_connections"
    __table_args__ = (UniqueConstraint("server_id", "sid", name="uq_agent_connections_server_sid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[str] = mapped_column(String(32))
    sid: Mapped[str] = mapped_column(String(64))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    connected_at: Mapped[datetime]
    seen_at: Mapped[datetime]  # refreshed by its process: a stale one belongs to a dead process


class ResidentConnection(Base):
    """A resident's live Socket.IO connection to their conversation (one per tab), on one process.

    Whether the resident is there (online, away, left) is read from these rows, so that every
    process agrees; a process refreshes its own (`seen_at`) and stale ones are a dead process's.
    """

    __tablename__ = "resident_connections"
    __table_args__ = (
        UniqueConstraint("server_id", "sid", name="uq_resident_connections_server_sid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    server_id: Mapped[str] = mapped_column(String(32))
    sid: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    visible: Mapped[bool] = mapped_column(default=True)  # the tab is shown (not hidden)
    connected_at: Mapped[datetime]
    seen_at: Mapped[datetime]


class UnreadReplyWatch(Base):
    """Whether a chat's resident missed an agent's messages and was mailed about them.

    One row per conversation that ever had an agent message unread (actions/unread_replies.py).
    """

    __tablename__ = "unread_reply_watches"

    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    # The first sweep of the resident's current absence that found agent messages unread.
    away_noticed_at: Mapped[datetime | None]
    # Agent messages up to this seq were in a mail (or found no address to go to).
    mailed_through_seq: Mapped[int] = mapped_column(Integer, default=0)
    mailed_at: Mapped[datetime | None]
    # The resident came back (a connection, or the mail's link) since the last mail.
    returned: Mapped[bool] = mapped_column(default=False)


class ResumeLink(Base):
    """A one-time link in a mail that reopens a chat: only a hash of its code is kept."""

    __tablename__ = "resume_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class ConversationNote(Base):
    """Staff-only text on a conversation: internal notes and transfer notes."""

    __tablename__ = "conversation_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    kind: Mapped[str] = mapped_column(String(16))  # note or transfer
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]


class ConversationRating(Base):
    """A resident's rating of a chat a person answered: once per conversation."""

    __tablename__ = "conversation_ratings"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), unique=True)
    # The agent who last held the chat (actions/ratings.py says why that one).
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    score: Mapped[int]  # 1 (very poor) to 5 (very good)
    comment: Mapped[str | None] = mapped_column(Text)  # the resident's words
    created_at: Mapped[datetime] = mapped_column(index=True)


class CannedResponse(Base):
    """A prepared reply that supervisors keep and agents insert by its shortcut."""

    __tablename__ = "canned_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    shortcut: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)
    # None: as loaded from the knowledge base's starter set, not changed by anyone since.
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    updated_at: Mapped[datetime]
    # The same response in other languages: {"es": {"title": ..., "text": ...}}.
    translations: Mapped[dict[str, dict[str, str]] | None] = mapped_column(JSON(none_as_null=True))


class KnowledgeBaseLoad(Base):
    """Something loaded once from the knowledge base into this database (the starter canned
    responses): never again, so what staff changed since stays as they left it."""

    __tablename__ = "knowledge_base_loads"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    loaded_at: Mapped[datetime]


class AfterHoursMessage(Base):
    """A message left for the center when nobody could chat, answered by email."""

    __tablename__ = "after_hours_messages"
    __table_args__ = (
        Index("ix_after_hours_messages_inbox", "status", "reply_due"),
        Index("ix_after_hours_messages_received_at", "received_at"),  # reports: a period's
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)  # told to the resident
    client_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # a resend stores once
    name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), index=True)
    body: Mapped[str] = mapped_column(Text)
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"))
    received_at: Mapped[datetime]
    reply_due: Mapped[datetime]
    # new, in_progress, replied, closed or spam
    status: Mapped[str] = mapped_column(String(16), default="new")
    spam_score: Mapped[float] = mapped_column(Float, default=0.0)
    spam_reasons: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))
    sender_key: Mapped[str] = mapped_column(String(64), index=True)  # hash of the sender's IP
    owner_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    claimed_at: Mapped[datetime | None]
    reply_body: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None]
    replied_by: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    # The resident's language (the widget's, or the chat's it was left from): its mails' language.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")


class OutboxMail(Base):
    """An email to send: written in the transaction that decided it, sent by the mail sender."""

    __tablename__ = "outbox_mail"
    __table_args__ = (
        Index("ix_outbox_mail_due", "sent_at", "next_attempt_at"),
        Index("ix_outbox_mail_thread", "thread_kind", "thread_id"),
        # The per-recipient daily cap counts the last day's mail.
        Index("ix_outbox_mail_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)  # the Message-ID header
    kind: Mapped[str] = mapped_column(String(32))  # e.g. after_hours_ack, after_hours_reply
    to_address: Mapped[str] = mapped_column(String(254))
    reply_to: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    # The one-click "stop these emails" link's secret (List-Unsubscribe, RFC 8058).
    unsubscribe_token: Mapped[str | None] = mapped_column(String(64), unique=True)
    # The thread a reply to this mail goes to (outbox.mail.MailThread): conversation,
    # after_hours or request, and its id.
    thread_kind: Mapped[str | None] = mapped_column(String(16))
    thread_id: Mapped[int | None]


class InboundMail(Base):
    """A resident's reply by email, as it was routed: once per Message-ID (a relay's retry)."""

    __tablename__ = "inbound_mail"
    __table_args__ = (Index("ix_inbound_mail_thread", "thread_kind", "thread_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    from_address: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)  # quotes and signature stripped
    thread_kind: Mapped[str] = mapped_column(String(16))  # where it landed
    thread_id: Mapped[int]
    received_at: Mapped[datetime]


class MailSuppression(Base):
    """An address that asked for no more mail from us (by the link in one of our mails)."""

    __tablename__ = "mail_suppressions"

    address: Mapped[str] = mapped_column(String(254), primary_key=True)  # lowercased
    suppressed_at: Mapped[datetime]


class StatusLookupMiss(Base):
    """A chat's status lookup that found nothing: too many for one number stop the guessing."""

    __tablename__ = "status_lookup_misses"
    __table_args__ = (
        Index("ix_status_lookup_misses_number_at", "number", "at"),
        Index("ix_status_lookup_misses_sender_key_at", "sender_key", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16))  # canonical, whether it exists or not
    at: Mapped[datetime]
    sender_key: Mapped[str | None] = mapped_column(String(64))  # the chat's (Conversation)


class ArticleVote(Base):
    """A reader's "Was this helpful?" answer on a help center article (no reader is stored)."""

    __tablename__ = "article_votes"
    __table_args__ = (Index("ix_article_votes_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[str] = mapped_column(String(100))
    language: Mapped[str] = mapped_column(String(8))
    helpful: Mapped[bool]
    at: Mapped[datetime]


class ServiceRequest(Base):
    """A work order for a department, filed from a chat, by an agent or through Open311."""

    __tablename__ = "service_requests"
    __table_args__ = (
        Index("ix_service_requests_status_requested", "status", "requested_at"),
        Index("ix_service_requests_requested", "requested_at"),
        Index("ix_service_requests_closed_at", "closed_at"),  # reports: resolved in a period
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)  # e.g. 26-000123
    client_id: Mapped[str | None] = mapped_column(String(64), unique=True)  # a resend files once
    service_code: Mapped[str] = mapped_column(String(64), index=True)  # the topic's code
    department: Mapped[str] = mapped_column(String(100))
    workgroup: Mapped[str] = mapped_column(String(100), index=True)
    status: Mapped[str] = mapped_column(String(16))  # open, in_progress, closed or referred
    referred_to: Mapped[str | None] = mapped_column(String(100))  # the department it went to
    next_steps: Mapped[str | None] = mapped_column(Text)  # told to the resident on referral
    address: Mapped[str | None] = mapped_column(String(200))
    lat: Mapped[float | None] = mapped_column(Float)
    long: Mapped[float | None] = mapped_column(Float)
    description: Mapped[str] = mapped_column(Text)
    attributes: Mapped[dict[str, str]] = mapped_column(JSON)  # the topic's other fields
    media_url: Mapped[str | None] = mapped_column(String(1000))  # given by an Open311 client
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_email: Mapped[str | None] = mapped_column(String(254), index=True)
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # assistant, agent or open311
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    open311_client_id: Mapped[int | None] = mapped_column(ForeignKey("open311_clients.id"))
    requested_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    expected_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    # The language of the chat it was filed from ("en" otherwise): its mails' language.
    language: Mapped[str] = mapped_column(String(8), default="en", server_default="en")


class ServiceRequestUpdate(Base):
    """One entry of a request's history: its status from then on, a note, and who made it."""

    __tablename__ = "service_request_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    public: Mapped[bool] = mapped_column(default=True)  # a public note is told to the resident
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    actor: Mapped[str] = mapped_column(String(100))  # who, as staff read it
    created_at: Mapped[datetime]


class RequestPhoto(Base):
    """A photo a resident uploaded for a request (kept in the database, seen by every process)."""

    __tablename__ = "request_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Uploaded during a chat first; attached to the request when it is filed.
    conversation_id: Mapped[int | None] = mapped_column(ForeignKey("conversations.id"), index=True)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("service_requests.id"), index=True)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]


class ServiceRequestCounter(Base):
    """The last request number given in a year: numbers restart at 1 every year."""

    __tablename__ = "service_request_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer)


class Open311Client(Base):
    """An app allowed to file requests through Open311, by its API key (only a hash is kept)."""

    __tablename__ = "open311_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class OutboxWebhook(Base):
    """A request event to POST to a workgroup's webhook, sent like mail: later, with retries."""

    __tablename__ = "outbox_webhooks"
    __table_args__ = (Index("ix_outbox_webhooks_due", "sent_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[str] = mapped_column(String(64), unique=True)  # the same on every retry
    workgroup: Mapped[str] = mapped_column(String(100))
    event: Mapped[str] = mapped_column(String(32))  # request.created, request.updated
    body: Mapped[str] = mapped_column(Text)  # the JSON document, exactly as signed and sent
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]


class ServerSecret(Base):
    """A secret key the server made for itself (when none is configured), shared by processes."""

    __tablename__ = "server_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))


class StaffingHour(Base):
    """The agents on duty (those routing could give a chat) in one hour of the center's zone,
    sampled once a minute: `minutes` samples summing to `on_duty_sum`. The hour is keyed by its
    start in UTC (a local hour, even in a zone half an hour off UTC), with its weekday and hour in
    the center's zone. `last_minute` is the minute last counted: whichever process samples a
    minute first counts it, the others find it counted."""

    __tablename__ = "staffing_hours"

    hour_start: Mapped[datetime] = mapped_column(primary_key=True)
    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 Monday … 6 Sunday
    hour: Mapped[int] = mapped_column(SmallInteger)
    minutes: Mapped[int] = mapped_column(Integer)
    on_duty_sum: Mapped[int] = mapped_column(Integer)
    last_minute: Mapped[datetime]


class SignInThrottle(Base):
    """Sign-in attempts for one username from one address, to slow down password guessing.

    Per pair, so that a stranger guessing cannot keep the staff member out from elsewhere.
    """

    __tablename__ = "sign_in_throttle"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    address_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_attempt_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]
