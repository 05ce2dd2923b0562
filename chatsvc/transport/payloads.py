"""Payloads that clients send, validated into plain typed values."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from chatsvc.contact import clean_email
from chatsvc.errors import InvalidPayload

MAX_MESSAGE_CHARS = 4000
MAX_NAME_CHARS = 100

# Removed from every text (docs/protocol/README.md, "Text"): C0/C1 control characters other
# than tab and newline, and the bidirectional embeddings, overrides and isolates (U+202A-U+202E,
# U+2066-U+2069), which make a message read differently from what it says ("Trojan Source").
# The marks U+200E/U+200F stay: right-to-left writers need them, and they reorder nothing.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _clean_text(value: str) -> str:
    value = _CONTROL.sub("", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not value:
        raise ValueError("must not be empty")
    return value


def _limited(limit: int, *, one_line: bool = False) -> AfterValidator:
    def check(value: str) -> str:
        value = _clean_text(value)
        if one_line:
            value = " ".join(value.split())
        if len(value) > limit:
            raise ValueError(f"must be at most {limit:,} characters")
        return value

    return AfterValidator(check)


ClientId = Annotated[
    str, StringConstraints(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
]
ChatText = Annotated[str, _limited(MAX_MESSAGE_CHARS)]
Name = Annotated[str, _limited(MAX_NAME_CHARS, one_line=True)]
Email = Annotated[str, AfterValidator(clean_email)]
Token = Annotated[str, StringConstraints(min_length=20, max_length=100)]
# A mail's link back to a chat: the code is URL-safe base64 (chatsvc.tokens.new_token).
LinkCode = Annotated[
    str, StringConstraints(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")
]


def _unicode(value: Any) -> Any:
    """Refuse a lone surrogate ("\\ud800" in JSON) anywhere in `value`: it is not text, and
    cannot be stored, mailed or sent on as UTF-8."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("must be valid Unicode text (it has a lone surrogate)") from None
    elif isinstance(value, list | tuple):
        for item in value:
            _unicode(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _unicode(key)
            _unicode(item)
    return value


class Payload(BaseModel):
    """Base for client payloads: strict types, unknown fields ignored, only valid Unicode."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")

    @field_validator("*", mode="before")
    @classmethod
    def _valid_unicode(cls, value: Any) -> Any:
        return _unicode(value)


# The languages a conversation can be in (the widget's widget/src/languages.js offers them).
Language = Literal["en", "es"]


class StartPayload(Payload):
    name: Name
    email: Email
    question: ChatText
    client_id: ClientId | None = None
    visible: bool = True  # the tab is shown (staff see the resident online, else away)
    language: Language = "en"  # the widget's language: the conversation's


class ResumePayload(Payload):
    token: Token
    # Bounded like Id: the database's integers end at 2**63 - 1.
    last_seq: int = Field(default=0, ge=0, le=2**53)
    visible: bool = True


class ResumeLinkPayload(Payload):
    code: LinkCode
    visible: bool = True


class MessagePayload(Payload):
    client_id: ClientId
    text: ChatText


class TypingPayload(Payload):
    typing: bool


class VisibilityPayload(Payload):
    visible: bool  # the resident's tab is shown, or hidden (another tab or window in front)


class ReadPayload(Payload):
    seq: int = Field(ge=0)


class EndPayload(Payload):
    pass


class HoursPayload(Payload):
    pass


class TranscriptPayload(Payload):
    # Only for a chat that has no address yet (the widget then asks for one).
    email: Email | None = None


MAX_RATING_COMMENT_CHARS = 1000


def _comment(value: str) -> str:
    """An optional comment: cleaned like any text, empty allowed, bounded."""
    try:
        value = _clean_text(value)
    except ValueError:
        return ""
    if len(value) > MAX_RATING_COMMENT_CHARS:
        raise ValueError(f"must be at most {MAX_RATING_COMMENT_CHARS:,} characters")
    return value


class RatePayload(Payload):
    score: int = Field(ge=1, le=5)
    comment: Annotated[str, AfterValidator(_comment)] = ""


class LeaveMessagePayload(Payload):
    name: Name
    email: Email
    message: ChatText
    client_id: ClientId | None = None
    # The widget's language: the acknowledgement's and the reply's (else the chat's, else "en").
    language: Language | None = None
    # The honeypot: a field hidden from people; robots fill in whatever they find.
    website: Annotated[str, StringConstraints(max_length=500)] = ""


Id = Annotated[int, Field(ge=1, le=2**53)]


class HelloPayload(Payload):
    pass


class StatusPayload(Payload):
    status: Literal["available", "away", "offline"]


class MaxChatsPayload(Payload):
    max_chats: int = Field(ge=1, le=20)
    staff_id: Id | None = None


class ConversationPayload(Payload):
    conversation_id: Id


class AgentMessagePayload(ConversationPayload):
    client_id: ClientId
    text: ChatText


class AgentTypingPayload(ConversationPayload):
    typing: bool


class AgentReadPayload(ConversationPayload):
    seq: int = Field(ge=0)


class NotePayload(ConversationPayload):
    text: ChatText


class TransferPayload(ConversationPayload):
    to_staff_id: Id | None = None
    to_workgroup: Name | None = None
    note: ChatText


class ClosePayload(ConversationPayload):
    disposition: Literal["resolved", "referred", "no_response", "spam"]


class SearchPayload(Payload):
    query: Annotated[str, StringConstraints(max_length=200)]


class CannedTranslationPayload(Payload):
    title: Name
    text: ChatText


class CannedSavePayload(Payload):
    id: Id | None = None
    shortcut: Annotated[
        str, StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    ]
    title: Name
    text: ChatText
    # The response in other languages ({"es": {"title", "text"}}); left out, they stay as they
    # are; {} removes them. English is the response itself.
    translations: dict[Literal["es"], CannedTranslationPayload] | None = None


class CannedDeletePayload(Payload):
    id: Id


MessageStatus = Literal["new", "in_progress", "replied", "closed", "spam"]


def _open_statuses() -> list[MessageStatus]:
    return ["new", "in_progress"]


class InboxPayload(Payload):
    statuses: list[MessageStatus] = Field(
        default_factory=_open_statuses, min_length=1, max_length=5
    )


class InboxClaimPayload(Payload):
    id: Id


class InboxReplyPayload(Payload):
    id: Id
    text: ChatText


class InboxStatusPayload(Payload):
    id: Id
    status: Literal["new", "closed", "spam"]


class AgentChatsPayload(Payload):
    staff_id: Id


class ReassignPayload(ConversationPayload):
    to_staff_id: Id


class RatingsPayload(Payload):
    days: int = Field(default=30, ge=1, le=366)


P = TypeVar("P", bound=Payload)


def parse_payload(model: type[P], data: Any) -> P:
    """Validate `data` into `model`, or raise InvalidPayload naming the first bad field.

    The message says what is wrong ("email: enter an email address like ..."): clients show it.
    `field` holds the same field's dotted path, for a form to point at."""
    if data is None and not model.model_fields:
        data = {}
    if not isinstance(data, dict):
        raise InvalidPayload("the payload must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise InvalidPayload(_describe(exc), field=_bad_field(exc)) from None


def _bad_field(exc: ValidationError) -> str | None:
    """The dotted path of the first bad field ("values.address"), None for the whole payload."""
    first = exc.errors(include_url=False, include_input=False)[0]
    return ".".join(str(part) for part in first["loc"]) or None


def _describe(exc: ValidationError) -> str:
    first = exc.errors(include_url=False, include_input=False)[0]
    field = _bad_field(exc) or "payload"
    kind = first["type"]
    ctx = first.get("ctx") or {}
    if kind == "missing":
        return f"{field}: this field is required"
    if kind in {"string_type", "int_type", "bool_type"}:
        wanted = {"string_type": "text", "int_type": "a whole number", "bool_type": "true or false"}
        return f"{field}: must be {wanted[kind]}"
    if kind == "string_too_long":
        return f"{field}: must be at most {ctx.get('max_length')} characters"
    if kind == "string_too_short":
        return f"{field}: must be at least {ctx.get('min_length')} characters"
    if kind == "string_pattern_mismatch":
        if field == "shortcut":
            return (
                f"{field}: lowercase letters, digits, '-' and '_', starting with a letter or digit"
            )
        return f"{field}: may contain only letters, digits, '-' and '_'"
    if kind == "greater_than_equal":
        return f"{field}: must be at least {ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"{field}: must be at most {ctx.get('le')}"
    if kind == "literal_error":
        return f"{field}: must be one of {ctx.get('expected')}"
    if kind == "value_error":
        return f"{field}: {ctx.get('error', first['msg'])!s}"
    return f"{field}: {first['msg']}"


# --- service requests from the agent pane ---------------------------------------------------

MAX_FIELD_CHARS = 4000  # a request field's answer; each field's own limit is checked when filing
MAX_REQUEST_NOTE_CHARS = 4000
REQUESTS_PER_PAGE = 25


def _local_date(value: str) -> str:
    from datetime import date

    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError("must be a date like 2026-11-30") from None
    return value


RequestStatusName = Literal["open", "in_progress", "closed", "referred"]
ServiceCode = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
]
FieldName = Annotated[
    str, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
]
FieldText = Annotated[str, StringConstraints(max_length=MAX_FIELD_CHARS)]
LocalDate = Annotated[
    str, StringConstraints(pattern=r"^\d{4}-\d{2}-\d{2}$"), AfterValidator(_local_date)
]
RequestNumber = Annotated[str, StringConstraints(min_length=1, max_length=20)]
RequestNote = Annotated[str, StringConstraints(max_length=MAX_REQUEST_NOTE_CHARS)]


class RequestPrefillPayload(ConversationPayload):
    service_code: ServiceCode | None = None  # suggest for this topic instead of the chat's


class RequestCreatePayload(ConversationPayload):
    service_code: ServiceCode
    values: dict[FieldName, FieldText] = Field(max_length=20)
    client_id: ClientId
    photo_ids: list[Id] = Field(default_factory=list, max_length=5)


class RequestListPayload(Payload):
    status: RequestStatusName | None = None
    statuses: list[RequestStatusName] = Field(default_factory=list, max_length=4)
    department: Name | None = None
    service_code: ServiceCode | None = None
    start: LocalDate | None = None  # requested on or after this day (the center's time zone)
    end: LocalDate | None = None  # requested on or before this day
    page: int = Field(default=1, ge=1, le=10_000)


class RequestNumberPayload(Payload):
    number: RequestNumber


class RequestStatusPayload(Payload):
    number: RequestNumber
    status: RequestStatusName
    note: RequestNote | None = None
    public: bool = True
    referred_to: Annotated[str, StringConstraints(max_length=100)] | None = None
    next_steps: RequestNote | None = None
