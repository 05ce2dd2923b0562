"""RefusalLog: a flood's refusals are logged once, then once a minute with their count."""

from __future__ import annotations

import logging

import pytest

from chatsvc.transport.refusals import RefusalLog


def test_a_kind_is_logged_first_then_once_a_minute_with_its_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    now = [100.0]
    refusals = RefusalLog(logging.getLogger("chatsvc.test"), every=60, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="chatsvc.test")
    for _ in range(1000):
        refusals.refused("sign-in refused: too many from one address")
        now[0] += 0.01  # 100 a second, for 10 s
    refusals.refused("other refused: rate_limited")
    assert [r.getMessage() for r in caplog.records] == [
        "sign-in refused: too many from one address",
        "other refused: rate_limited",
    ]
    now[0] += 60
    refusals.refused("sign-in refused: too many from one address")
    assert caplog.records[-1].getMessage() == (
        "sign-in refused: too many from one address (1000 times in the last 70 s)"
    )
