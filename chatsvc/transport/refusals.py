"""Logging refusals a flood makes by the thousand: the first line, then one a minute, counted.

A client over a limit is refused in a fraction of a millisecond; a log line per refusal would
cost more than the refusal (and fill the disk). Each kind of refusal ("POST /agent/sign-in
refused: too many from one address") is logged when first seen, then at most once a `every`
seconds with how many there were since. The kinds are a few fixed strings, never a client's
words or address, so the table stays small.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

MAX_KINDS = 256  # beyond this, kinds are logged each time: the table never grows unbounded


class RefusalLog:
    """Logs each kind of refusal when first seen, then once every `every` seconds with a count."""

    def __init__(
        self,
        logger: logging.Logger,
        every: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.logger = logger
        self.every = every
        self.clock = clock
        self._kinds: dict[str, tuple[float, int]] = {}  # kind -> (last logged, refused since)

    def refused(self, kind: str) -> None:
        """Count one refusal of `kind`; log it if its kind has been quiet for `every` seconds."""
        now = self.clock()
        logged, since = self._kinds.get(kind, (-math.inf, 0))
        since += 1
        if now - logged < self.every:
            self._kinds[kind] = (logged, since)
            return
        if since == 1:
            self.logger.info("%s", kind)
        else:
            self.logger.info("%s (%d times in the last %.0f s)", kind, since, now - logged)
        if kind in self._kinds or len(self._kinds) < MAX_KINDS:
            self._kinds[kind] = (now, 0)
