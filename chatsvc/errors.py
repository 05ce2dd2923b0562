"""One error type for everything a client can be told went wrong."""

from __future__ import annotations

from typing import Any


class ChatError(Exception):
    """An error with a machine-readable code, a message for people and an HTTP status."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def as_dict(self) -> dict[str, Any]:
        """Render the error body shared by acks and HTTP responses."""
        return {"ok": False, "error": {"code": self.code, "message": self.message}}


class InvalidPayload(ChatError):
    """A payload that fails its checks; `field` names the one to blame, for a form to point at."""

    code = "invalid_payload"

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field

    def as_dict(self) -> dict[str, Any]:
        """Render the error body, with the field when one is to blame."""
        body = super().as_dict()
        if self.field:
            body["error"]["field"] = self.field
        return body


class UnknownEvent(ChatError):
    code = "unknown_event"


class NotInConversation(ChatError):
    code = "not_in_conversation"
    status = 409


class InvalidToken(ChatError):
    code = "invalid_token"
    status = 404


class TokenExpired(ChatError):
    code = "token_expired"
    status = 410


class ConversationEnded(ChatError):
    code = "conversation_ended"
    status = 409


class Unavailable(ChatError):
    code = "unavailable"
    status = 503


class NotFound(ChatError):
    code = "not_found"
    status = 404


class AccountError(ChatError):
    code = "invalid_account"


class SignInRefused(ChatError):
    code = "sign_in_refused"
    status = 401


class SignInThrottled(SignInRefused):
    code = "sign_in_throttled"
    status = 429


class Forbidden(ChatError):
    code = "forbidden"
    status = 403


class NotAssigned(ChatError):
    """The conversation is not (or no longer) this agent's to answer."""

    code = "not_assigned"
    status = 409


class AlreadyTaken(ChatError):
    code = "already_taken"
    status = 409


class AtCapacity(ChatError):
    code = "at_capacity"
    status = 409


class AgentUnavailable(ChatError):
    code = "agent_unavailable"
    status = 409
