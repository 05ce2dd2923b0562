"""Tokens against cross-site form posts, for the server-rendered forms (staff sign-in, the help
center's): the page sets a short-lived "pre-session" cookie (`<issued unix time>.<random>`) and
puts its HMAC, for the form's purpose, in the form; a post is good only with both, fresh.

The key that signs them is each caller's (configured, or a secret kept in the database and
cached per app): this module holds the rest, once.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from aiohttp import web

from chatsvc.tokens import new_token
from chatsvc.transport.addresses import is_https
from chatsvc.transport.state import CLOCK

CLOCK_SKEW = 60  # seconds a pre-session may seem to come from the future
MAX_PRE_SESSION = 128  # characters: anything longer is not one of ours


@dataclass(frozen=True)
class FormTokens:
    """One kind of form: its purpose (part of what is signed), its cookie, how long it holds."""

    purpose: bytes
    cookie: str  # over plain HTTP
    host_cookie: str  # over HTTPS: the __Host- prefix pins it to this origin
    lifetime: int  # seconds

    def cookie_name(self, request: web.Request) -> str:
        return self.host_cookie if is_https(request) else self.cookie

    def pre_session(self, request: web.Request) -> str:
        """This browser's pre-session cookie as sent (empty when none)."""
        return request.cookies.get(self.cookie_name(request), "")

    def new_pre_session(self, request: web.Request) -> str:
        return f"{int(request.app[CLOCK]().timestamp())}.{new_token()}"

    def token(self, key: bytes, pre_session: str) -> str:
        return hmac.new(
            key, self.purpose + b"\0" + pre_session.encode(), hashlib.sha256
        ).hexdigest()

    def fresh(self, request: web.Request, pre_session: str, margin: int = 0) -> bool:
        """A pre-session of ours, issued less than `lifetime - margin` seconds ago."""
        issued, _, _ = pre_session.partition(".")
        if not issued.isdigit() or len(pre_session) > MAX_PRE_SESSION:
            return False
        age = request.app[CLOCK]().timestamp() - int(issued)
        return -CLOCK_SKEW <= age <= self.lifetime - margin

    def valid(self, request: web.Request, token: str, key: bytes) -> bool:
        """Whether the posted `token` signs this browser's fresh pre-session."""
        pre_session = self.pre_session(request)
        if not token or not self.fresh(request, pre_session):
            return False
        return hmac.compare_digest(token.encode(), self.token(key, pre_session).encode())
