"""What stands between the sign-in form and the password hash: cheap limits, then worker threads.

A password check (argon2id) takes about a tenth of a second of CPU. Run on the event loop, a
few sign-ins a second (any username will do) stall every chat; so checks run in a few threads
(argon2-cffi releases the GIL), and attempts beyond what those can take are refused at once,
before any hashing: per client address (a token bucket), and overall (sign-ins checking or
waiting to). The per-account count (accounts.begin_sign_in) is in the database; these limits
are per process, which is what they protect.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from aiohttp import web

from chatsvc.actions import accounts
from chatsvc.settings import Settings

T = TypeVar("T")

MAX_ADDRESSES = 10_000  # buckets remembered; the fullest (oldest) are forgotten beyond it


class SignInBusy(Exception):
    """Too many sign-ins from this address, or overall: try again in `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"try again in {retry_after} s")
        self.retry_after = retry_after


class SignInGuard:
    """Admits sign-ins (per address, overall) and checks their passwords in worker threads."""

    def __init__(self, settings: Settings, monotonic: Callable[[], float] = time.monotonic):
        self.capacity = float(settings.sign_in_attempts_per_address_per_minute)
        self.refill_per_second = self.capacity / 60
        self.max_pending = settings.sign_in_max_pending
        self.pending = 0
        self._buckets: dict[str, tuple[float, float]] = {}  # address -> (tokens, as of)
        self._monotonic = monotonic
        self.csrf_key: bytes | None = None  # the sign-in form's key, once read (staff.py)
        self._executor = ThreadPoolExecutor(
            max_workers=settings.sign_in_workers, thread_name_prefix="sign-in"
        )

    def admit(self, address: str) -> None:
        """Take one attempt from the address's bucket and a pending place, or raise SignInBusy."""
        if self.pending >= self.max_pending:
            raise SignInBusy(1)
        now = self._monotonic()
        tokens, then = self._buckets.pop(address, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - then) * self.refill_per_second)
        if tokens < 1:
            self._buckets[address] = (tokens, now)
            raise SignInBusy(math.ceil((1 - tokens) / self.refill_per_second))
        self._buckets[address] = (tokens - 1, now)  # re-inserted: the dict stays oldest first
        if len(self._buckets) > MAX_ADDRESSES:
            del self._buckets[next(iter(self._buckets))]
        self.pending += 1

    def release(self) -> None:
        """Give back the pending place `admit` took."""
        self.pending -= 1

    async def _in_thread(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, work)

    async def check(self, password_hash: str | None, password: str) -> bool:
        """Check a password (against the dummy hash for an unknown account) off the loop."""
        return await self._in_thread(
            lambda: accounts.verify_password(password_hash or accounts.dummy_hash(), password)
        )

    async def rehash(self, password_hash: str, password: str) -> str | None:
        """A new hash of the password if its hash has outdated parameters, else None."""
        if not accounts.needs_rehash(password_hash):
            return None
        return await self._in_thread(lambda: accounts.hash_password(password))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


SIGN_IN_GUARD = web.AppKey("sign_in_guard", SignInGuard)


async def sign_in_guard_ctx(app: web.Application) -> AsyncIterator[None]:
    yield
    app[SIGN_IN_GUARD].close()
