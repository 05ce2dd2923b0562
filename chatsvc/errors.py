"""One error type for everything a client can be told went wrong, and the list of its codes."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    """Every code a client can receive in `error.code`, with its HTTP status (STATUS)."""

    # The request itself
    BAD_REQUEST = "bad_request"
    INVALID_PAYLOAD = "invalid_payload"
    UNKNOWN_EVENT = "unknown_event"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    REQUEST_ENTITY_TOO_LARGE = "request_entity_too_large"
    REQUEST_TIMEOUT = "request_timeout"
    # Conversations
    NOT_IN_CONVERSATION = "not_in_conversation"
    INVALID_TOKEN = "invalid_token"
    TOKEN_EXPIRED = "token_expired"
    LINK_USED = "link_used"
    CONVERSATION_ENDED = "conversation_ended"
    RATE_LIMITED = "rate_limited"
    NOT_FOUND = "not_found"
    # Staff
    NOT_SIGNED_IN = "not_signed_in"
    SIGN_IN_REFUSED = "sign_in_refused"
    SIGN_IN_THROTTLED = "sign_in_throttled"
    FORBIDDEN = "forbidden"
    INVALID_ACCOUNT = "invalid_account"
    INVALID_OPEN311_CLIENT = "invalid_open311_client"
    NOT_ASSIGNED = "not_assigned"
    ALREADY_TAKEN = "already_taken"
    AT_CAPACITY = "at_capacity"
    AGENT_UNAVAILABLE = "agent_unavailable"
    ILLEGAL_TRANSITION = "illegal_transition"
    # Service requests and photos
    INVALID_REQUEST = "invalid_request"
    MISSING_FIELD = "missing_field"
    UNKNOWN_FIELD = "unknown_field"
    MISSING_LOCATION = "missing_location"
    INVALID_PHOTO = "invalid_photo"
    PHOTO_NOT_EXPECTED = "photo_not_expected"
    TOO_MANY_PHOTOS = "too_many_photos"
    PHOTO_TOO_LARGE = "photo_too_large"
    # The server
    UNAVAILABLE = "unavailable"
    INTERNAL_ERROR = "internal_error"

    @property
    def status(self) -> int:
        """The HTTP status this code is answered with."""
        return STATUS[self]


STATUS: dict[ErrorCode, int] = {
    ErrorCode.BAD_REQUEST: 400,
    ErrorCode.INVALID_PAYLOAD: 400,
    ErrorCode.UNKNOWN_EVENT: 400,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.REQUEST_ENTITY_TOO_LARGE: 413,
    ErrorCode.REQUEST_TIMEOUT: 408,
    ErrorCode.NOT_IN_CONVERSATION: 409,
    ErrorCode.INVALID_TOKEN: 404,
    ErrorCode.TOKEN_EXPIRED: 410,
    ErrorCode.LINK_USED: 410,
    ErrorCode.CONVERSATION_ENDED: 409,
    ErrorCode.RATE_LIMITED: 429,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.NOT_SIGNED_IN: 401,
    ErrorCode.SIGN_IN_REFUSED: 401,
    ErrorCode.SIGN_IN_THROTTLED: 429,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.INVALID_ACCOUNT: 400,
    ErrorCode.INVALID_OPEN311_CLIENT: 400,
    ErrorCode.NOT_ASSIGNED: 409,
    ErrorCode.ALREADY_TAKEN: 409,
    ErrorCode.AT_CAPACITY: 409,
    ErrorCode.AGENT_UNAVAILABLE: 409,
    ErrorCode.ILLEGAL_TRANSITION: 409,
    ErrorCode.INVALID_REQUEST: 400,
    ErrorCode.MISSING_FIELD: 400,
    ErrorCode.UNKNOWN_FIELD: 400,
    ErrorCode.MISSING_LOCATION: 400,
    ErrorCode.INVALID_PHOTO: 400,
    ErrorCode.PHOTO_NOT_EXPECTED: 400,
    ErrorCode.TOO_MANY_PHOTOS: 400,
    ErrorCode.PHOTO_TOO_LARGE: 413,
    ErrorCode.UNAVAILABLE: 503,
    ErrorCode.INTERNAL_ERROR: 500,
}


class ChatError(Exception):
    """An error with a machine-readable code, a message for people and an HTTP status.

    A subclass names its code (an ErrorCode, or its value); its status comes from STATUS.
    `field`, when set, is the part of the request to blame (a dotted path, "values.address"),
    for a form to point at.
    """

    code: str = ErrorCode.BAD_REQUEST  # always an ErrorCode: a string is looked up in it
    status = STATUS[ErrorCode.BAD_REQUEST]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = ErrorCode(cls.code)  # an unknown code fails when the module is imported
        if "status" in cls.__dict__ and cls.status != cls.code.status:
            raise TypeError(f"{cls.__name__}: {cls.code} is answered {cls.code.status} (STATUS)")
        cls.status = cls.code.status

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        field: str | None = None,
    ):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = ErrorCode(code)  # ValueError: not a code clients know (a bug)
            self.status = self.code.status
        if status is not None:
            self.status = status
        self.field = field

    def as_dict(self) -> dict[str, Any]:
        """Render the error body shared by acks and HTTP responses."""
        error = {"code": str(self.code), "message": self.message}
        if self.field:
            error["field"] = self.field
        return {"ok": False, "error": error}


class InvalidPayload(ChatError):
    code = ErrorCode.INVALID_PAYLOAD


class UnknownEvent(ChatError):
    code = ErrorCode.UNKNOWN_EVENT


class NotInConversation(ChatError):
    code = ErrorCode.NOT_IN_CONVERSATION


class InvalidToken(ChatError):
    code = ErrorCode.INVALID_TOKEN


class TokenExpired(ChatError):
    code = ErrorCode.TOKEN_EXPIRED


class LinkUsed(ChatError):
    code = ErrorCode.LINK_USED


class ConversationEnded(ChatError):
    code = ErrorCode.CONVERSATION_ENDED


class Unavailable(ChatError):
    code = ErrorCode.UNAVAILABLE


class NotFound(ChatError):
    code = ErrorCode.NOT_FOUND


class AccountError(ChatError):
    code = ErrorCode.INVALID_ACCOUNT


class SignInRefused(ChatError):
    code = ErrorCode.SIGN_IN_REFUSED


class SignInThrottled(SignInRefused):
    code = ErrorCode.SIGN_IN_THROTTLED

    def __init__(self, message: str, *, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after  # seconds


class RateLimited(ChatError):
    """Too many of something (events, chats, filings, lookups): try again after `retry_after`
    seconds, when the limit says (it is then in the error body too)."""

    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after

    def as_dict(self) -> dict[str, Any]:
        body = super().as_dict()
        if self.retry_after is not None:
            body["error"]["retry_after"] = self.retry_after
        return body


class Forbidden(ChatError):
    code = ErrorCode.FORBIDDEN


class NotAssigned(ChatError):
    """The conversation is not (or no longer) this agent's to answer."""

    code = ErrorCode.NOT_ASSIGNED


class AlreadyTaken(ChatError):
    code = ErrorCode.ALREADY_TAKEN


class AtCapacity(ChatError):
    code = ErrorCode.AT_CAPACITY


class AgentUnavailable(ChatError):
    code = ErrorCode.AGENT_UNAVAILABLE


class InternalError(ChatError):
    """What a client is told of a bug on our side (the traceback goes to the log)."""

    code = ErrorCode.INTERNAL_ERROR
