"""Where events leave for clients: the rooms of both namespaces, in one place.

Everything here is called after the transaction that caused it has committed.

Rooms on `/resident`: `conversation:<id>` holds every connection of that conversation.
Rooms on `/agent`: `staff` (every staff connection), `staff:<id>` (every tab of one staff member)
and `view:<conversation id>` (staff connections that have the conversation open). Internal notes
go only to `/agent` rooms: nothing in this module can address them to a resident.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import socketio

from chatsvc.db.database import DATABASE_DOWN
from chatsvc.tokens import hash_token

log = logging.getLogger("chatsvc.events")

RESIDENT = "/resident"
AGENT = "/agent"
ALL_STAFF = "staff"


def conversation_room(conversation_id: int) -> str:
    """Name the /resident room every connection of a conversation joins."""
    return f"conversation:{conversation_id}"


def staff_room(staff_id: int) -> str:
    return f"staff:{staff_id}"


def view_room(conversation_id: int) -> str:
    return f"view:{conversation_id}"


def session_room(token: str) -> str:
    """Name the /agent room of one browser's sign-in session (never the token itself)."""
    return f"session:{hash_token(token)[:32]}"


class Events:
    """Send events to residents and staff through the Socket.IO server."""

    def __init__(self, sio: socketio.AsyncServer):
        self.sio = sio

    async def to_resident(
        self, conversation_id: int, event: str, data: Any, skip_sid: str | None = None
    ) -> None:
        """Tell every (other) connection of the conversation's resident."""
        await self._emit(RESIDENT, event, data, conversation_room(conversation_id), skip_sid)

    async def to_staff_of(
        self,
        conversation_id: int,
        staff: int | Iterable[int] | None,
        event: str,
        data: Any,
        skip_sid: str | None = None,
    ) -> None:
        """Tell the staff who have the conversation open and `staff` (its holder, say).

        One emit to all those rooms: a connection in several hears it once."""
        rooms = [view_room(conversation_id)]
        if isinstance(staff, int):
            rooms.append(staff_room(staff))
        elif staff is not None:
            rooms.extend(staff_room(staff_id) for staff_id in dict.fromkeys(staff))
        await self._emit(AGENT, event, data, rooms, skip_sid)

    async def to_conversation(
        self,
        conversation_id: int,
        assigned_staff_id: int | None,
        event: str,
        data: Any,
        skip_sid: str | None = None,
    ) -> None:
        """Tell both sides of a conversation (never use it for staff-only events)."""
        await self.to_resident(conversation_id, event, data, skip_sid)
        await self.to_staff_of(conversation_id, assigned_staff_id, event, data, skip_sid)

    async def to_staff_member(self, staff_id: int, event: str, data: Any) -> None:
        await self._emit(AGENT, event, data, staff_room(staff_id), None)

    async def to_all_staff(self, event: str, data: Any) -> None:
        await self._emit(AGENT, event, data, ALL_STAFF, None)

    async def disconnect_session(self, token: str) -> None:
        """Close the /agent connections of a session that was signed out (in this process)."""
        room = session_room(token)
        for sid, _ in list(self.sio.manager.get_participants(AGENT, room)):
            await self.sio.disconnect(sid, namespace=AGENT)

    async def _emit(
        self, namespace: str, event: str, data: Any, room: str | list[str], skip_sid: str | None
    ) -> None:
        manager = self.sio.manager
        # Most rooms hold one connection or none (a resident's one tab; nobody viewing a chat),
        # and emit encodes the packet even then. Only a local manager knows every participant.
        if type(manager) is socketio.AsyncManager and not any(
            sid != skip_sid for sid, _ in manager.get_participants(namespace, room)
        ):
            return
        await self.sio.emit(event, data, to=room, skip_sid=skip_sid, namespace=namespace)


class Coalesced:
    """Run `job` soon after every request, once for any number of requests made meanwhile.

    Used for the broadcasts that show a whole state (the queue, agents' presence): when a
    hundred changes arrive together, clients get the last state, not a hundred of them.
    """

    def __init__(self, name: str, job: Callable[[], Awaitable[None]]):
        self.name = name
        self.job = job
        self._task: asyncio.Task[None] | None = None
        self._again = False
        self._closed = False

    def request(self) -> None:
        if self._closed:
            return
        if self._task is not None and not self._task.done():
            self._again = True
            return
        # A context of its own: requested while publishing one connection's notices, the job
        # must not inherit that connection as the origin of everything it does.
        self._task = asyncio.get_running_loop().create_task(
            self._run(), context=contextvars.Context()
        )

    async def _run(self) -> None:
        while True:
            self._again = False
            try:
                await self.job()
            except asyncio.CancelledError:
                raise
            except DATABASE_DOWN as exc:
                log.warning("%s: database unavailable: %s", self.name, exc)
            except Exception:
                log.exception("%s failed", self.name)
            if not self._again or self._closed:
                return

    async def wait(self) -> None:
        """Wait until no run is pending (tests and shutdown)."""
        while self._task is not None and not self._task.done():
            await asyncio.shield(self._task)

    async def close(self) -> None:
        self._closed = True
        if self._task is not None and not self._task.done():
            try:
                await asyncio.wait_for(asyncio.shield(self._task), timeout=5)
            except (TimeoutError, Exception):
                self._task.cancel()
