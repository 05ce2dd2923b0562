"""What stands between the sign-in form and the password hash: cheap limits, then worker threads.

A password check (argon2id) takes about a tenth of a second of CPU. Run on the event loop, a
few sign-ins a second (any username will do) stall every chat; so checks run in a few threads
(argon2-cffi releases the GIL), and attempts beyond what those can take are refused at once,
before any hashing: per client address (before the form is even read), overall (a token bucket
bounding the CPU hashing may take, however many addresses ask), and when too many are checking
or waiting to. The per-account count (accounts.begin_sign_in) is in the database; these limits
are per process, which is what they protect.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from aiohttp import web

from chatsvc.actions import accounts
from chatsvc.settings import Rate, Settings
from chatsvc.transport.limits import Bucket
from chatsvc.transport.refusals import RefusalLog

T = TypeVar("T")

log = logging.getLogger("chatsvc.staff")

MAX_ADDRESSES = 10_000  # buckets remembered; the fullest (oldest) are forgotten beyond it


class SignInBusy(Exception):
    """Too many sign-ins from this address, or overall: try again in `retry_after` seconds."""

    def __init__(self, retry_after: int, why: str):
        super().__init__(f"{why}: try again in {retry_after} s")
        self.retry_after = retry_after
        self.why = why


class SignInGuard:
    """Admits sign-ins (per address, overall) and checks their passwords in worker threads."""

    def __init__(self, settings: Settings, monotonic: Callable[[], float] = time.monotonic):
        per_address = settings.sign_in_attempts_per_address_per_minute
        self.per_address = Rate(per_address, per_address)
        overall = settings.sign_in_attempts_per_minute
        self.overall = Rate(overall, overall)
        self.max_pending = settings.sign_in_max_pending
        self.pending = 0
        self._buckets: dict[str, Bucket] = {}  # address -> its bucket, least recently used first
        self._all = Bucket(overall, monotonic())
        self._monotonic = monotonic
        self.csrf_key: bytes | None = None  # the sign-in form's key, once read (staff.py)
        self.busy_pages: dict[tuple[int, str], bytes] = {}  # the 429 page by wait (staff.py)
        self.refusals = RefusalLog(log)
        self._executor = ThreadPoolExecutor(
            max_workers=settings.sign_in_workers, thread_name_prefix="sign-in"
        )

    def admit_address(self, address: str) -> None:
        """Take one attempt from the address's bucket, or raise SignInBusy.

        Asked first, before the form is read: a flood from one address costs one dictionary
        lookup per attempt. Every attempt counts, whatever its form holds.
        """
        now = self._monotonic()
        bucket = self._buckets.pop(address, None) or Bucket(self.per_address.burst, now)
        self._buckets[address] = bucket  # re-inserted: the dict stays least recent first
        if len(self._buckets) > MAX_ADDRESSES:
            del self._buckets[next(iter(self._buckets))]
        wait = bucket.take(self.per_address, now)
        if wait:
            raise SignInBusy(math.ceil(wait), "too many from one address")

    def admit_check(self) -> None:
        """Take a pending place and one check from the overall budget, or raise SignInBusy.

        Asked once the form is known to be genuine, just before hashing. The overall bucket
        bounds the CPU that hashing can take, whoever asks from however many addresses.
        """
        if self.pending >= self.max_pending:
            raise SignInBusy(1, "too many being checked")
        wait = self._all.take(self.overall, self._monotonic())
        if wait:
            raise SignInBusy(math.ceil(wait), "too many overall")
        self.pending += 1

    def release(self) -> None:
        """Give back the pending place `admit_check` took."""
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
