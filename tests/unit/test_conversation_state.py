"""The conversation's states and the moves between them (pure: no database)."""

from __future__ import annotations

import json

import pytest

from chatsvc.actions.conversation_state import (
    STAGE_TRANSITIONS,
    STATUS_TRANSITIONS,
    ConversationStatus,
    IllegalTransition,
    Priority,
    Stage,
    move_stage,
    move_status,
)


def test_the_stored_and_wire_values_are_the_plain_strings_they_were() -> None:
    assert [s.value for s in ConversationStatus] == ["open", "ended"]
    assert [s.value for s in Stage] == ["assistant", "waiting", "agent"]
    assert [int(p) for p in Priority] == [0, 1, 2]
    assert json.dumps({"status": ConversationStatus.OPEN, "stage": Stage.AGENT}) == (
        '{"status": "open", "stage": "agent"}'
    )
    assert ConversationStatus("ended") is ConversationStatus.ENDED and Stage.WAITING == "waiting"
    assert sorted([Priority.NORMAL, Priority.EMERGENCY, Priority.RETURNED]) == [0, 1, 2]


def test_every_state_has_a_row_in_its_table() -> None:
    assert set(STATUS_TRANSITIONS) == set(ConversationStatus)
    assert set(STAGE_TRANSITIONS) == set(Stage)


ALLOWED_STAGES = {
    ("assistant", "waiting"),  # handed over
    ("waiting", "agent"),  # accepted or routed
    ("agent", "waiting"),  # transferred, or its agent was lost
    ("agent", "agent"),  # reassigned
}


@pytest.mark.parametrize("current", list(Stage))
@pytest.mark.parametrize("new", list(Stage))
def test_stage_moves_follow_the_table(current: Stage, new: Stage) -> None:
    if (current.value, new.value) in ALLOWED_STAGES:
        assert move_stage(current.value, new) is new
    else:
        with pytest.raises(IllegalTransition) as raised:
            move_stage(current.value, new)
        assert raised.value.code == "illegal_transition" and raised.value.status == 409


def test_an_open_conversation_ends_and_only_an_ended_one_reopens() -> None:
    assert move_status("open", ConversationStatus.ENDED) is ConversationStatus.ENDED
    assert move_status("ended", ConversationStatus.OPEN) is ConversationStatus.OPEN  # by email
    for current, new in [("ended", "ended"), ("open", "open")]:
        with pytest.raises(IllegalTransition):
            move_status(current, ConversationStatus(new))


def test_a_state_nobody_knows_is_refused() -> None:
    with pytest.raises(ValueError):
        move_stage("limbo", Stage.AGENT)
