"""What happened, recorded by actions in their transaction and published after it commits.

An action says what it changed (`record(session, MessageAdded(...))`); it never picks an
audience. `Database.run` collects what its transaction recorded and, once the commit has
succeeded, hands the notices to one function (`chatsvc.transport.publish.publish`) that maps
each kind to its rooms and to the background work it wakes. A transaction that rolls back
(or is retried) publishes nothing of what it had recorded. (Zulip: events are sent on commit.)

Payloads are the plain dicts clients receive, made from the views inside the transaction, so
what is published is what was committed.

`origin` names the connection that asked, so that it is not told what its ack already says.
The socket decorator sets it for the handler's task; transactions inherit it. Batched actions
(group commit) run for many connections at once, so their notices carry it themselves.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

# The connection whose request is being served (a Socket.IO sid), if any.
origin: ContextVar[str | None] = ContextVar("origin", default=None)

Payload = dict[str, Any]


@dataclass(frozen=True)
class MessageAdded:
    """A message joined a conversation: both sides (and staff viewing it) see it."""

    conversation_id: int
    message: Payload
    assigned_staff_id: int | None = None
    origin: str | None = None


@dataclass(frozen=True)
class ConversationChanged:
    """A conversation's state changed: the resident sees their view, staff the chat summary."""

    conversation_id: int
    resident_view: Payload | None = None
    chat: Payload | None = None
    assigned_staff_id: int | None = None


@dataclass(frozen=True)
class Assigned:
    """A staff member got a conversation (routed, accepted, reassigned, transferred).

    The previous holder, if another, hears `unassigned` with the same reason."""

    conversation_id: int
    staff_id: int
    chat: Payload
    reason: str
    previous_staff_id: int | None = None


@dataclass(frozen=True)
class Unassigned:
    """A staff member no longer holds a conversation (closed, returned, transferred away).

    Recorded before whatever refills the slot, so a pane never shows the next chat while
    still holding this one; the action records PresenceChanged after it."""

    conversation_id: int
    staff_id: int
    reason: str


@dataclass(frozen=True)
class NoteAdded:
    """An internal note: staff only, never the resident.

    Staff viewing the conversation see it, and so do `staff_ids` (its author, the agent who
    holds the chat, the receiver of a transfer): each connection once."""

    conversation_id: int
    note: Payload
    staff_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class Typing:
    """Someone is typing (or stopped): nothing is stored, it is only passed on.

    `to_resident`: the resident sees it too (the agent who answers them, or the resident's
    own other tabs); otherwise only staff do."""

    conversation_id: int
    typing: Payload
    assigned_staff_id: int | None = None
    to_resident: bool = True


@dataclass(frozen=True)
class ResidentPresenceChanged:
    """The resident of a conversation came, hid their tab (away) or left: staff see it."""

    conversation_id: int
    presence: Payload
    assigned_staff_id: int | None = None


@dataclass(frozen=True)
class HoursOffered:
    """No person can come soon: the resident is offered to leave a message (`hours`)."""

    conversation_id: int
    offer: Payload


@dataclass(frozen=True)
class ReadUpTo:
    """One side has read the conversation up to `seq`."""

    conversation_id: int
    reader: str
    seq: int
    assigned_staff_id: int | None = None


@dataclass(frozen=True)
class AgentStateChanged:
    """A staff member's own status, load or maximum changed: their tabs update."""

    staff_id: int
    state: Payload


@dataclass(frozen=True)
class InboxItemChanged:
    """An after-hours message was left, claimed, answered or had its status changed."""

    item: Payload


@dataclass(frozen=True)
class RequestChanged:
    """A service request was filed or changed (its mail and webhook event were queued)."""

    request: Payload


@dataclass(frozen=True)
class CannedChanged:
    """The canned responses changed."""

    canned: Sequence[Payload]


@dataclass(frozen=True)
class QueueChanged:
    """A conversation joined or left the queue: route, and show the queue again."""


@dataclass(frozen=True)
class PresenceChanged:
    """An agent's availability or load changed: route, and show everyone's presence."""


@dataclass(frozen=True)
class MailQueued:
    """A mail was committed to the outbox: send it soon."""


@dataclass(frozen=True)
class WebhookQueued:
    """A department's webhook event was committed to its outbox: send it soon."""


Notice = (
    MessageAdded
    | ConversationChanged
    | Assigned
    | Unassigned
    | NoteAdded
    | Typing
    | ResidentPresenceChanged
    | HoursOffered
    | ReadUpTo
    | AgentStateChanged
    | InboxItemChanged
    | RequestChanged
    | CannedChanged
    | QueueChanged
    | PresenceChanged
    | MailQueued
    | WebhookQueued
)

_KEY = "chatsvc.notices"


@dataclass
class _Recorded:
    notices: list[Notice] = field(default_factory=list)


def record(session: AsyncSession, *notices: Notice) -> None:
    """Record what this transaction did, to be published once it commits."""
    recorded: _Recorded = session.info.setdefault(_KEY, _Recorded())
    recorded.notices.extend(notices)


def recorded(session: AsyncSession) -> list[Notice]:
    """What the transaction on `session` recorded, in order."""
    found: _Recorded | None = session.info.get(_KEY)
    return list(found.notices) if found is not None else []


@contextmanager
def told_in_ack(sid: str) -> Iterator[None]:
    """Within this block, the serving connection `sid` learns what happens from its ack.

    Transactions started in it carry `sid` as their origin, and their notices skip it."""
    token = origin.set(sid)
    try:
        yield
    finally:
        origin.reset(token)
