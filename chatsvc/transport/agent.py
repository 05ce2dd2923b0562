"""The /agent Socket.IO namespace: signed-in staff only, from the service's own pages."""

from __future__ import annotations

import logging
from http.cookies import CookieError, SimpleCookie
from typing import Any

import socketio

from ..agents import accounts
from ..errors import UnknownEvent
from ..settings import Settings
from .staff import SESSION_COOKIE
from .state import Clock, Database

log = logging.getLogger("chatsvc.agent")

NAMESPACE = "/agent"
EVENTS = frozenset({"whoami"})


def same_origin(environ: dict[str, Any], settings: Settings) -> bool:
    """Tell whether the connection comes from a page of this service (not a city page)."""
    origin = environ.get("HTTP_ORIGIN", "").rstrip("/")
    hosts = [environ.get("HTTP_HOST", "")]
    if settings.trust_proxy_headers:
        hosts.append(environ.get("HTTP_X_FORWARDED_HOST", "").split(",")[0].strip())
    return any(origin in (f"http://{h}", f"https://{h}") for h in hosts if h)


def cookie_of(environ: dict[str, Any], name: str) -> str:
    try:
        cookies = SimpleCookie(environ.get("HTTP_COOKIE", ""))
    except CookieError:
        return ""
    morsel = cookies.get(name)
    return morsel.value if morsel else ""


class AgentNamespace(socketio.AsyncNamespace):
    """Staff connections: refused unless signed in and on the service's own origin."""

    def __init__(self, database: Database, settings: Settings, clock: Clock):
        super().__init__(NAMESPACE)
        self.database = database
        self.settings = settings
        self.clock = clock

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in {"connect", "disconnect"} or event in EVENTS:
            return await super().trigger_event(event, *args)
        return UnknownEvent(f"unknown event {event[:40]!r}").as_dict()

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if not same_origin(environ, self.settings):
            log.info("agent connection refused: foreign origin")
            raise socketio.exceptions.ConnectionRefusedError("forbidden origin")
        current = await self.database.run(
            accounts.session_of, token=cookie_of(environ, SESSION_COOKIE), now=self.clock()
        )
        if current is None:
            log.info("agent connection refused: not signed in")
            raise socketio.exceptions.ConnectionRefusedError("sign in first")
        await self.save_session(sid, {"staff_id": current.staff.id})
        log.info("staff %d connected", current.staff.id)

    async def on_whoami(self, sid: str, *args: Any) -> dict[str, Any]:
        session = await self.get_session(sid)
        return {"ok": True, "staff_id": session["staff_id"]}
