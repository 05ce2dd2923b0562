"""Socket.IO handlers: the namespace base class and the one decorator every event goes through.

The server itself, and its guards in front of every handler, are in socket_server.py.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import socketio

from chatsvc.errors import InvalidPayload, UnknownEvent
from chatsvc.transport.errors import client_error, render_error
from chatsvc.transport.limits import RateLimited
from chatsvc.transport.payloads import Payload, parse_payload
from chatsvc.transport.socket_server import ADDRESS

log = logging.getLogger("chatsvc.sockets")

P = TypeVar("P", bound=Payload)
NS = TypeVar("NS", bound="Namespace")
Handler = Callable[[NS, str, P], Awaitable[Mapping[str, Any]]]


class Namespace(socketio.AsyncNamespace):
    """A namespace that answers an event it has no handler for with an error ack, not silence.

    Its events are exactly its `on_<event>` methods, so a list of names cannot drift from them.
    (The server's own connect and disconnect come here too; ChatServer keeps clients' out.)
    `rate_kind` is the event limit (Settings.socket_rates) of events that name none.
    """

    rate_kind = "resident"

    async def trigger_event(self, event: str, *args: Any) -> Any:
        if event in {"connect", "disconnect"} or callable(getattr(self, f"on_{event}", None)):
            return await super().trigger_event(event, *args)
        log.info("%s unknown event refused", self.namespace)
        return UnknownEvent(f"unknown event {event[:40]!r}").as_dict()

    def client_address(self, sid: str) -> str:
        """The address the connection `sid` comes from (client_address)."""
        environ = self.server.get_environ(sid, self.namespace) or {}
        return str(environ.get(ADDRESS, ""))

    def check_rate(self, kind: str, sid: str) -> None:
        """Count one `kind` event from `sid`, or raise RateLimited."""
        connection = self.server.manager.eio_sid_from_sid(sid, self.namespace) or sid
        self.server.limits.check(kind, connection, self.client_address(sid))


def socket_event(
    model: type[P], *, limit: str | None = None
) -> Callable[[Handler[NS, P]], Callable[..., Awaitable[dict[str, Any]]]]:
    """Count the event against its limit, validate the payload into `model`, run the handler
    and turn any outcome into an ack.

    `limit` names the kind of event in Settings.socket_rates (the namespace's rate_kind if
    None). A refused event costs no parsing and logs nothing: a flood must not fill the log.
    """

    def wrap(handler: Handler[NS, P]) -> Callable[..., Awaitable[dict[str, Any]]]:
        event = handler.__name__.removeprefix("on_")

        @functools.wraps(handler)
        async def run(self: NS, sid: str, *args: Any) -> dict[str, Any]:
            try:
                self.check_rate(limit or self.rate_kind, sid)
            except RateLimited as exc:
                return exc.as_dict()
            try:
                if len(args) > 1:
                    raise InvalidPayload("send exactly one payload object")
                payload = parse_payload(model, args[0] if args else None)
                result = await handler(self, sid, payload)
                return {"ok": True, **result}
            except Exception as exc:
                where = f"{self.namespace} {event}"
                if client_error(exc) is None and not self.server.manager.is_connected(
                    sid, self.namespace
                ):
                    # The client left while its event was being handled (a page reload), and
                    # the handler tripped over its missing session: nobody waits for an answer.
                    log.info("%s: the client left first (%r)", where, exc)
                    return render_error(exc)[1]
                return render_error(exc, log=log, where=where)[1]

        return run

    return wrap
