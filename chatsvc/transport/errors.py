"""Rendering errors: every transport answers an exception with the same status and body."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from sqlalchemy.exc import DBAPIError

from chatsvc.db.database import DATABASE_DOWN
from chatsvc.errors import ChatError, ErrorCode, InternalError, Unavailable
from chatsvc.transport.refusals import RefusalLog

UNAVAILABLE_MESSAGE = "The service is briefly unavailable. Try again."
INTERNAL_MESSAGE = "Something went wrong on our side."

# aiohttp's own refusals (no such route, wrong method, a body over the limit), by status.
HTTP_CODES = {
    400: ErrorCode.BAD_REQUEST,
    403: ErrorCode.FORBIDDEN,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    408: ErrorCode.REQUEST_TIMEOUT,
    413: ErrorCode.REQUEST_ENTITY_TOO_LARGE,
    503: ErrorCode.UNAVAILABLE,
}


def database_down(exc: BaseException) -> bool:
    """Tell whether `exc` means the database cannot be reached (not a bug)."""
    if isinstance(exc, DATABASE_DOWN):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def client_error(exc: BaseException) -> ChatError | None:
    """The error a client is told `exc` means; None for a bug (or anything else unexpected)."""
    if isinstance(exc, ChatError):
        return exc
    if isinstance(exc, web.HTTPException) and exc.status >= 400:
        fallback = ErrorCode.INTERNAL_ERROR if exc.status >= 500 else ErrorCode.BAD_REQUEST
        code = HTTP_CODES.get(exc.status, fallback)
        return ChatError(exc.reason, code=code, status=exc.status)
    if database_down(exc):
        return Unavailable(UNAVAILABLE_MESSAGE)
    return None


_REFUSAL_LOGS: dict[str, RefusalLog] = {}


def _refusal_log(log: logging.Logger) -> RefusalLog:
    found = _REFUSAL_LOGS.get(log.name)
    if found is None or found.logger is not log:
        found = _REFUSAL_LOGS[log.name] = RefusalLog(log)
    return found


def render_error(
    exc: BaseException, *, log: logging.Logger | None = None, where: str = ""
) -> tuple[int, dict[str, Any]]:
    """Answer `exc` with an HTTP status and the error body, logging it as its kind deserves.

    A client's mistake logs one INFO line, an outage one WARNING, a bug its traceback (ERROR)
    and answers internal_error. `where` says what failed ("POST /agent/sign-in"); without
    `log` nothing is logged (the caller has said what happened).
    """
    error = client_error(exc)
    if log is not None:
        if error is None:
            log.error("%s failed", where, exc_info=exc)
        elif database_down(exc):
            if isinstance(exc, DATABASE_DOWN):
                log.warning("%s: database unavailable: %s", where, exc)
            else:
                log.warning("%s: database connection lost", where)
        elif isinstance(exc, ChatError) and exc.code == ErrorCode.RATE_LIMITED:
            # A flooder is refused thousands of times a second: one line a minute says so.
            _refusal_log(log).refused(f"{where} refused: {exc.code}")
        elif isinstance(exc, ChatError):
            log.info("%s refused: %s", where, exc.code)
    if error is None:
        error = InternalError(INTERNAL_MESSAGE)
    return error.status, error.as_dict()
