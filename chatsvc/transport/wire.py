"""What the server sends: one pydantic model per event and per successful ack, per namespace.

The service builds its payloads from the actions' `as_dict()` and does not validate them here
at run time. These models say what those payloads are: the tests check every event and ack
their real Socket.IO clients receive against `EVENTS` and `ACKS`, and
tests/unit/test_protocol_docs.py holds docs/protocol/ to them. Every model forbids fields it does
not name, so a field added to a payload fails the tests until it is described here (and there).

A model with an `object_name` is one of the documents' named objects ("Message", "Chat"...):
its fields are described under that object's heading, not under each event that carries it.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from chatsvc.errors import ErrorCode
from chatsvc.transport.payloads import Language

Namespace = Literal["/resident", "/agent"]
RESIDENT: Namespace = "/resident"
AGENT: Namespace = "/agent"

# How the service writes an instant: ISO 8601 in UTC with a Z (`chatsvc.db.models.iso_utc`).
Timestamp = Annotated[
    str, StringConstraints(pattern=r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")
]
AuthorKind = Literal["resident", "assistant", "agent", "system"]
Stage = Literal["assistant", "waiting", "agent"]
ConversationStatus = Literal["open", "ended"]
ResidentPresence = Literal["online", "away", "left"]


class Wire(BaseModel):
    """Base for what the server sends: exact types, no field the model does not name."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    # The heading the protocol documents describe this object under, if it is a named object.
    object_name: ClassVar[str | None] = None


class Ack(Wire):
    """Base for a successful ack: `{"ok": true, ...}`."""

    ok: Literal[True]


class ErrorBody(Wire):
    # One of the documented codes, nothing else (lax: the wire carries the code's string).
    code: ErrorCode = Field(strict=False)
    message: str
    field: str | None = None  # the form field to blame, when one is
    retry_after: float | None = None  # rate_limited: seconds until the event may be sent again


class ErrorAck(Wire):
    """A refused event: `{"ok": false, "error": {...}}` (the same on both namespaces)."""

    ok: Literal[False]
    error: ErrorBody


# --- shared by both namespaces ----------------------------------------------------------------


class QuickReply(Wire):
    label: str
    text: str
    action: Literal["photo"] | None = None  # sent only on the "Add a photo" reply


class Message(Wire):
    object_name = "Message"

    id: int
    conversation_id: int
    seq: int
    client_id: str | None
    author_kind: AuthorKind
    author_name: str | None
    text: str
    created_at: Timestamp
    format: Literal["text", "markdown"]
    quick_replies: list[QuickReply]
    photo_id: int | None = None  # only on a resident's photo
    # Only on a system message whose event front ends word for their reader.
    notice: Literal["ended_by_resident", "joined"] | None = None


class Typing(Wire):
    conversation_id: int
    author_kind: Literal["resident", "agent"]
    author_name: str
    typing: bool


class Read(Wire):
    conversation_id: int
    reader: Literal["resident", "staff"]
    seq: int


class Contact(Wire):
    name: str
    email: str


class ReadSeqs(Wire):
    resident: int
    staff: int


class MessageAck(Ack):
    message: Message
    duplicate: bool


class ReadAck(Ack):
    read_seq: int


# --- /resident ----------------------------------------------------------------------------------


class AgentName(Wire):
    name: str


class Conversation(Wire):
    object_name = "Conversation"

    id: int
    status: ConversationStatus
    created_at: Timestamp
    ended_at: Timestamp | None
    last_seq: int
    resident: Contact
    read: ReadSeqs
    stage: Stage
    topic: str | None
    agent: AgentName | None
    language: Language


class QueuePlace(Wire):
    position: int
    estimated_wait_seconds: int | None


class LeaveMessageOffer(Wire):
    offered: bool
    reason: Literal["closed", "no_agents", "long_wait"] | None
    text: str | None


class Hours(Wire):
    object_name = "Hours"

    open: bool
    hours: str
    hours_in: dict[str, str]
    next_opening: Timestamp | None
    next_opening_text: str | None
    reply_due: Timestamp
    reply_due_text: str
    leave_message: LeaveMessageOffer


class Center(Wire):
    object_name = "Center"

    city: str
    name: str
    chat_name: str
    assistant_name: str
    phone: str
    phone_tel: str
    email: str
    website: str


class StartAck(Ack):
    token: str
    conversation: Conversation
    messages: list[Message]
    center: Center
    hours: Hours | None = None  # only when the question asked for a person and none can come


class ResumeAck(Ack):
    conversation: Conversation
    messages: list[Message]
    has_more: bool
    queue: QueuePlace | None
    center: Center


class ResumeLinkAck(ResumeAck):
    token: str  # the chat's new token: the one this browser (or anyone) had before is dead


class EndAck(Ack):
    conversation: Conversation
    messages: list[Message]


class HoursAck(Hours, Ack):
    center: Center  # how to reach the center, for a widget that has no chat yet


class LeaveMessageAck(Ack):
    reference: str
    reply_due: Timestamp
    reply_due_text: str
    duplicate: bool


TranscriptOutcome = Literal["sent", "already_sent", "not_sent"]


class TranscriptAck(Ack):
    outcome: TranscriptOutcome
    masked: str  # the address it went to, as a page may show it: d***@example.com


class GivenRating(Wire):
    score: int
    label: str


class RateAck(Ack):
    rating: GivenRating


# --- /agent -------------------------------------------------------------------------------------


class Agent(Wire):
    object_name = "Agent"

    id: int
    username: str
    display_name: str
    first_name: str
    role: Literal["agent", "supervisor", "admin"]
    status: Literal["available", "away", "offline"]
    max_chats: int
    active_chats: int
    connected: bool
    workgroups: list[str]
    idle_since: Timestamp | None
    grace_until: Timestamp | None


class StaffMember(Wire):
    id: int
    name: str | None


class Chat(Wire):
    object_name = "Chat"

    id: int
    status: ConversationStatus
    stage: Stage
    topic: str | None
    workgroup: str | None
    emergency: bool
    handoff_reason: str | None
    resident: Contact
    first_question: str
    created_at: Timestamp
    queued_at: Timestamp | None
    assigned: StaffMember | None
    assigned_at: Timestamp | None
    last_seq: int
    read: ReadSeqs
    updated_at: Timestamp
    ended_at: Timestamp | None
    disposition: str | None
    resident_presence: ResidentPresence
    language: Language  # the conversation's ("en", "es"): the pane shows it, canned text follows it


class ResidentPresenceEvent(Wire):
    conversation_id: int
    presence: ResidentPresence


class QueueEntry(Chat):
    object_name = "Queue entry"

    position: int
    estimated_wait_seconds: int | None


class Note(Wire):
    object_name = "Note"

    id: int
    conversation_id: int
    staff_id: int
    author_name: str
    kind: Literal["note", "transfer"]
    text: str
    created_at: Timestamp


class CannedTranslation(Wire):
    title: str
    text: str


class Canned(Wire):
    object_name = "Canned response"

    id: int
    shortcut: str
    title: str
    text: str
    # The same response in other languages; the pane offers the one in the chat's language.
    translations: dict[Language, CannedTranslation]


class Article(Wire):
    object_name = "Article"

    id: str
    title: str
    topic: str
    text: str
    score: float


class FollowUp(Wire):
    text: str
    received_at: Timestamp


class LeftMessage(Wire):
    object_name = "Left message"

    id: int
    reference: str
    name: str
    email: str
    text: str
    received_at: Timestamp
    reply_due: Timestamp
    status: Literal["new", "in_progress", "replied", "closed", "spam"]
    owner: StaffMember | None
    spam_score: float
    spam_reasons: list[str]
    reply: str | None
    replied_at: Timestamp | None
    conversation_id: int | None
    overdue: bool
    follow_ups: list[FollowUp]
    language: Language  # the resident's: the mails about it are in it


class RequestContact(Wire):
    name: str | None
    email: str | None
    phone: str | None


class HistoryEntry(Wire):
    status: str
    note: str | None
    public: bool
    actor: str
    created_at: Timestamp


class Request(Wire):
    object_name = "Request"

    id: int
    number: str
    service_code: str
    service_name: str
    department: str
    workgroup: str
    status: Literal["open", "in_progress", "closed", "referred"]
    status_label: str
    status_notes: str | None
    referred_to: str | None
    next_steps: str | None
    address: str | None
    lat: float | None
    long: float | None
    description: str
    attributes: dict[str, str]
    media_url: str | None
    contact: RequestContact
    conversation_id: int | None
    source: Literal["assistant", "agent", "open311"]
    photo_ids: list[int]
    history: list[HistoryEntry]
    requested_at: Timestamp
    updated_at: Timestamp
    expected_at: Timestamp
    closed_at: Timestamp | None


class FieldValue(Wire):
    key: str
    name: str


class TopicField(Wire):
    name: str
    label: str
    datatype: Literal["string", "text", "number", "singlevaluelist", "photo"]
    required: bool
    description: str
    min_length: int
    max_length: int
    values: list[FieldValue]


class RequestTopic(Wire):
    object_name = "Request topic"

    code: str
    name: str
    department: str
    workgroup: str
    service_days: int
    fields: list[TopicField]


# The events' own payloads on /agent.


class QueueEvent(Wire):
    queue: list[QueueEntry]
    total: int


class AgentsEvent(Wire):
    agents: list[Agent]


class Assigned(Wire):
    conversation: Chat
    reason: Literal["routed", "accepted", "transferred", "reassigned"]


class Unassigned(Wire):
    conversation_id: int
    reason: Literal[
        "routed", "accepted", "transferred", "reassigned", "closed", "ended", "returned", "idle"
    ]


class CannedEvent(Wire):
    canned: list[Canned]


# The acks on /agent.


class TopicSummary(Wire):
    name: str
    workgroup: str
    department: str


class HelloAck(Ack):
    me: Agent
    chats: list[Chat]
    queue: list[QueueEntry]
    queue_total: int
    canned: list[Canned]
    agents: list[Agent]
    workgroups: list[str]
    topics: dict[str, TopicSummary]
    dispositions: dict[str, str]
    center: Center
    timezone: str


class MeAck(Ack):
    me: Agent


class AgentAck(Ack):
    agent: Agent


class RatingStaff(Wire):
    id: int
    name: str | None


class Rating(Wire):
    conversation_id: int
    score: int
    label: str
    comment: str | None
    staff: RatingStaff | None
    created_at: Timestamp


class OpenAck(Ack):
    conversation: Chat
    messages: list[Message]
    notes: list[Note]
    earlier: list[Chat]
    has_more: bool
    suggestions: list[Article]
    rating: Rating | None  # supervisors only: the resident's rating of the chat


class StaffTranscriptAck(TranscriptAck):
    to: str


class AgentSatisfaction(Wire):
    staff_id: int | None
    staff_name: str | None
    ratings: int
    average: float
    by_score: dict[str, int]


class RatingsAck(Ack):
    days: int
    agents: list[AgentSatisfaction]
    recent: list[Rating]


class ChatAck(Ack):
    conversation: Chat


class AgentChatsAck(Ack):
    staff_id: int
    chats: list[Chat]


class NoteAck(Ack):
    note: Note


class InboxAck(Ack):
    messages: list[LeftMessage]


class LeftMessageAck(Ack):
    message: LeftMessage


class SearchAck(Ack):
    articles: list[Article]


class SuggestAck(Ack):
    suggestions: list[Article]


class CannedAck(Ack):
    canned: Canned


class RequestCatalogueAck(Ack):
    topics: list[RequestTopic]
    statuses: dict[str, str]
    departments: list[str]


class RequestPrefillAck(RequestCatalogueAck):
    conversation_id: int
    topic: str | None
    service_code: str | None
    values: dict[str, str]
    contact: Contact
    photo_ids: list[int]


class RequestCreateAck(Ack):
    request: Request
    message: Message | None
    duplicate: bool


class RequestsAck(Ack):
    requests: list[Request]
    total: int
    page: int
    per_page: int


class RequestAck(Ack):
    request: Request


EVENTS: dict[tuple[Namespace, str], type[Wire]] = {
    (RESIDENT, "message"): Message,
    (RESIDENT, "conversation"): Conversation,
    (RESIDENT, "typing"): Typing,
    (RESIDENT, "read"): Read,
    (RESIDENT, "queue"): QueuePlace,
    (RESIDENT, "hours"): Hours,
    (AGENT, "me"): Agent,
    (AGENT, "queue"): QueueEvent,
    (AGENT, "agents"): AgentsEvent,
    (AGENT, "assigned"): Assigned,
    (AGENT, "unassigned"): Unassigned,
    (AGENT, "message"): Message,
    (AGENT, "typing"): Typing,
    (AGENT, "resident_presence"): ResidentPresenceEvent,
    (AGENT, "read"): Read,
    (AGENT, "note"): Note,
    (AGENT, "conversation"): Chat,
    (AGENT, "canned"): CannedEvent,
    (AGENT, "inbox_item"): LeftMessage,
    (AGENT, "request"): Request,
}
"""Every event the server sends, by namespace and name: the model its payload fits."""

ACKS: dict[tuple[Namespace, str], type[Ack]] = {
    (RESIDENT, "start"): StartAck,
    (RESIDENT, "resume"): ResumeAck,
    (RESIDENT, "resume_link"): ResumeLinkAck,
    (RESIDENT, "message"): MessageAck,
    (RESIDENT, "typing"): Ack,
    (RESIDENT, "visibility"): Ack,
    (RESIDENT, "read"): ReadAck,
    (RESIDENT, "end"): EndAck,
    (RESIDENT, "hours"): HoursAck,
    (RESIDENT, "leave_message"): LeaveMessageAck,
    (RESIDENT, "transcript"): TranscriptAck,
    (RESIDENT, "rate"): RateAck,
    (AGENT, "hello"): HelloAck,
    (AGENT, "status"): MeAck,
    (AGENT, "max_chats"): AgentAck,
    (AGENT, "open"): OpenAck,
    (AGENT, "close_view"): Ack,
    (AGENT, "accept"): ChatAck,
    (AGENT, "reassign"): ChatAck,
    (AGENT, "agent_chats"): AgentChatsAck,
    (AGENT, "message"): MessageAck,
    (AGENT, "typing"): Ack,
    (AGENT, "read"): ReadAck,
    (AGENT, "note"): NoteAck,
    (AGENT, "transfer"): ChatAck,
    (AGENT, "close"): ChatAck,
    (AGENT, "transcript"): StaffTranscriptAck,
    (AGENT, "ratings"): RatingsAck,
    (AGENT, "inbox"): InboxAck,
    (AGENT, "inbox_claim"): LeftMessageAck,
    (AGENT, "inbox_reply"): LeftMessageAck,
    (AGENT, "inbox_status"): LeftMessageAck,
    (AGENT, "search"): SearchAck,
    (AGENT, "suggest"): SuggestAck,
    (AGENT, "canned_save"): CannedAck,
    (AGENT, "canned_delete"): Ack,
    (AGENT, "request_topics"): RequestCatalogueAck,
    (AGENT, "request_prefill"): RequestPrefillAck,
    (AGENT, "request_create"): RequestCreateAck,
    (AGENT, "requests"): RequestsAck,
    (AGENT, "request"): RequestAck,
    (AGENT, "request_status"): RequestAck,
}
"""Every client event's successful ack, by namespace and name (a refusal is an ErrorAck)."""
