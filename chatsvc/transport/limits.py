"""Token buckets for socket events: per connection and per client address, for each kind."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from chatsvc.errors import RateLimited as RateLimited
from chatsvc.settings import Rate, Settings


@dataclass
class Bucket:
    """Holds up to `rate.burst` tokens and gains `rate.per_minute` of them each minute."""

    tokens: float
    updated: float

    def take(self, rate: Rate, now: float) -> float:
        """Take one token; 0 if there was one, else the seconds until there will be."""
        self.tokens = min(rate.burst, self.tokens + (now - self.updated) * rate.per_minute / 60)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) * 60 / rate.per_minute

    def full(self, rate: Rate, now: float) -> bool:
        return self.tokens + (now - self.updated) * rate.per_minute / 60 >= rate.burst


SWEEP_SECONDS = 60.0  # how often the buckets of quiet addresses are forgotten


class EventLimits:
    """Every connection's and every address's buckets, one per kind of event.

    A connection's buckets go when it does; an address's are forgotten once full again (it
    has been quiet long enough), so memory follows the clients active in the last minutes.
    """

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic):
        self.rates: Mapping[str, Rate] = settings.socket_rates()
        self.address_factor = settings.rate_address_factor
        self.clock = clock
        self._connections: dict[str, dict[str, Bucket]] = {}
        self._addresses: dict[tuple[str, str], Bucket] = {}
        self._swept = clock()

    def check(self, kind: str, connection: str, address: str) -> None:
        """Count one `kind` event from `connection` at `address`, or raise RateLimited."""
        rate = self.rates[kind]
        now = self.clock()
        if now - self._swept > SWEEP_SECONDS:
            self._sweep(now)
        own = self._connections.setdefault(connection, {})
        mine = own.get(kind) or own.setdefault(kind, Bucket(rate.burst, now))
        wait = mine.take(rate, now)
        if not wait and address:
            shared = Rate(rate.burst * self.address_factor, rate.per_minute * self.address_factor)
            bucket = self._addresses.get((kind, address))
            if bucket is None:
                bucket = self._addresses[kind, address] = Bucket(shared.burst, now)
            wait = bucket.take(shared, now)
            if wait:
                mine.tokens += 1  # this connection's event was not sent after all
        if wait:
            raise RateLimited(
                f"Too many {kind.replace('_', ' ')} events: wait a moment and try again.",
                retry_after=math.ceil(wait * 10) / 10,
            )

    def forget(self, connection: str) -> None:
        """Drop a connection's buckets (it has gone)."""
        self._connections.pop(connection, None)

    def _sweep(self, now: float) -> None:
        self._swept = now
        for key, bucket in list(self._addresses.items()):
            rate = self.rates[key[0]]
            shared = Rate(rate.burst * self.address_factor, rate.per_minute * self.address_factor)
            if bucket.full(shared, now):
                del self._addresses[key]
