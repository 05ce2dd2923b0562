"""A conversation's state: whether it is open, who answers it, its place in the queue.

The enums are `StrEnum`/`IntEnum`, so the database columns and the wire format keep the plain
values they always had. The transitions tables say which moves are allowed; actions that change
a conversation's state call `move_status` / `move_stage` so that an illegal move fails loudly
instead of leaving a conversation in a state no other code expects.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import IntEnum, StrEnum

from chatsvc.errors import ChatError, ErrorCode


class ConversationStatus(StrEnum):
    """Whether the resident can still write: open, or ended for good."""

    OPEN = "open"
    ENDED = "ended"


class Stage(StrEnum):
    """Who answers the resident."""

    ASSISTANT = "assistant"
    WAITING = "waiting"  # handed over, in the queue for a person
    AGENT = "agent"  # a person answers it


class Priority(IntEnum):
    """The queue's order: emergencies, then chats sent back (transferred or their agent lost),
    then the rest; oldest first within each."""

    EMERGENCY = 0
    RETURNED = 1
    NORMAL = 2


STATUS_TRANSITIONS: Mapping[ConversationStatus, frozenset[ConversationStatus]] = {
    ConversationStatus.OPEN: frozenset({ConversationStatus.ENDED}),
    # A new chat is a new conversation; only the resident's reply by email to a mail of the
    # chat reopens it (actions.mail_replies), as waiting for a person.
    ConversationStatus.ENDED: frozenset({ConversationStatus.OPEN}),
}
STAGE_TRANSITIONS: Mapping[Stage, frozenset[Stage]] = {
    Stage.ASSISTANT: frozenset({Stage.WAITING}),  # handed over
    Stage.WAITING: frozenset({Stage.AGENT}),  # accepted, or given to an agent by routing
    # Sent back to the queue (transferred, its agent gone) or reassigned to another agent.
    Stage.AGENT: frozenset({Stage.WAITING, Stage.AGENT}),
}


class IllegalTransition(ChatError):
    """A state change the conversation's current state does not allow."""

    code = ErrorCode.ILLEGAL_TRANSITION


def move_status(current: str, new: ConversationStatus) -> ConversationStatus:
    """Return `new` if a conversation in status `current` may take it, else raise."""
    if new not in STATUS_TRANSITIONS[ConversationStatus(current)]:
        raise IllegalTransition(f"A conversation cannot go from {current} to {new}.")
    return new


def move_stage(current: str, new: Stage) -> Stage:
    """Return `new` if a conversation at stage `current` may move to it, else raise."""
    if new not in STAGE_TRANSITIONS[Stage(current)]:
        raise IllegalTransition(f"A conversation cannot move from {current} to {new}.")
    return new
