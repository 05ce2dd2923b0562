"""`eventually`: wait for something that happens in the background, with a deadline.

For what no event announces (a row the outbox sender marks, a file the mailer writes, a
background routing pass). Where an event does announce it, wait for the event instead.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")

TIMEOUT = 10.0


async def eventually(
    probe: Callable[[], Awaitable[T]] | Callable[[], T],
    done: Callable[[T], Any] = bool,
    *,
    within: float = TIMEOUT,
    every: float = 0.05,
    what: str = "the condition",
) -> T:
    """Call `probe` until `done(its value)` holds, and return that value.

    Fails the test with the last value seen when `within` seconds pass first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        value = probe()
        if inspect.isawaitable(value):
            value = await value
        if done(value):  # type: ignore[arg-type]
            return value  # type: ignore[return-value]
        if loop.time() > deadline:
            raise AssertionError(f"{what} never held within {within:g} s; last seen: {value!r}")
        await asyncio.sleep(every)
