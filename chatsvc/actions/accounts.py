"""Staff accounts: who may sign in, with which role and workgroups; sessions and throttling.

Passwords are hashed with argon2id (argon2-cffi's defaults). A session is a random cookie value of
which only the SHA-256 is stored, with its own CSRF token for the forms it posts. Failed sign-ins
are counted per username in the database, so every server process sees the same count.
"""

from __future__ import annotations

import functools
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.db.models import SignInFailures, Staff, StaffSession, StaffWorkgroup
from chatsvc.errors import AccountError, SignInRefused, SignInThrottled
from chatsvc.tokens import hash_token, new_token

ROLES = ("agent", "supervisor", "admin")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 12
FAILURES_BEFORE_LOCK = 3
LOCK_FOR = timedelta(minutes=5)
FAILURES_FORGOTTEN_AFTER = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this when the username is unknown takes as long as a real check, so
    the time a refusal takes does not tell which usernames exist. Made on first use: a hash
    takes a tenth of a second, which every process start (and command) would pay."""
    return _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True)
class StaffView:
    id: int
    username: str
    display_name: str
    role: str
    disabled: bool
    max_chats: int
    workgroups: tuple[str, ...]

    @property
    def first_name(self) -> str:
        return self.display_name.split()[0] if self.display_name.split() else self.username

    @property
    def is_supervisor(self) -> bool:
        return self.role in ("supervisor", "admin")

    @classmethod
    def of(cls, staff: Staff) -> StaffView:
        return cls(
            id=staff.id,
            username=staff.username,
            display_name=staff.display_name,
            role=staff.role,
            disabled=staff.disabled,
            max_chats=staff.max_chats,
            workgroups=tuple(sorted(w.workgroup for w in staff.workgroups)),
        )


@dataclass(frozen=True)
class SignedIn:
    staff: StaffView
    token: str  # the cookie value; only its hash is stored
    csrf_token: str
    expires_at: datetime


def check_new_password(password: str) -> None:
    """Refuse passwords too short to resist guessing."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"A password needs at least {MIN_PASSWORD_LENGTH} characters.")
    if len(password) > 1024:
        raise AccountError("That password is too long.")


async def add_staff(
    session: AsyncSession,
    *,
    username: str,
    display_name: str,
    role: str,
    password: str,
    workgroups: tuple[str, ...],
    max_chats: int,
    now: datetime,
) -> StaffView:
    """Create a staff account."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise AccountError("A username is 2-64 characters: a-z, 0-9, dot, dash, underscore.")
    if role not in ROLES:
        raise AccountError(f"The role is one of {', '.join(ROLES)}.")
    if not display_name.strip() or len(display_name) > 100:
        raise AccountError("The display name is 1-100 characters.")
    if not 1 <= max_chats <= 20:
        raise AccountError("The maximum of concurrent chats is between 1 and 20.")
    check_new_password(password)
    exists = await session.scalar(select(func.count()).where(Staff.username == username))
    if exists:
        raise AccountError(f"There is already an account {username!r}.")
    staff = Staff(
        username=username,
        display_name=display_name.strip(),
        role=role,
        password_hash=_hasher.hash(password),
        disabled=False,
        max_chats=max_chats,
        created_at=now,
        workgroups=[StaffWorkgroup(workgroup=w) for w in sorted(set(workgroups))],
    )
    session.add(staff)
    await session.flush()
    return StaffView.of(staff)


async def list_staff(session: AsyncSession) -> list[StaffView]:
    rows = await session.scalars(select(Staff).order_by(Staff.username))
    return [StaffView.of(s) for s in rows]


async def _find(session: AsyncSession, username: str) -> Staff:
    staff = await session.scalar(select(Staff).where(Staff.username == username.strip().lower()))
    if staff is None:
        raise AccountError(f"There is no account {username!r}.")
    return staff


async def disable_staff(session: AsyncSession, *, username: str) -> StaffView:
    """Disable an account and end its sessions at once."""
    staff = await _find(session, username)
    staff.disabled = True
    await session.execute(delete(StaffSession).where(StaffSession.staff_id == staff.id))
    await session.flush()
    return StaffView.of(staff)


async def set_password(session: AsyncSession, *, username: str, password: str) -> StaffView:
    """Set a new password; every session of the account ends."""
    check_new_password(password)
    staff = await _find(session, username)
    staff.password_hash = _hasher.hash(password)
    await session.execute(delete(StaffSession).where(StaffSession.staff_id == staff.id))
    await session.flush()
    return StaffView.of(staff)


async def password_matches(session: AsyncSession, *, username: str, password: str) -> bool:
    """Tell whether `password` is the account's (for showing demo credentials only)."""
    staff = await session.scalar(select(Staff).where(Staff.username == username))
    return staff is not None and _verify(staff.password_hash, password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


async def sign_in(
    session: AsyncSession, *, username: str, password: str, now: datetime
) -> SignedIn | SignInRefused:
    """Check a username and password; open a session, or say why not.

    Returns (rather than raises) a refusal, so that the failure count it wrote is committed.
    After FAILURES_BEFORE_LOCK failures in a row the username is locked for LOCK_FOR, whatever
    password comes next.
    """
    username = username.strip().lower()[:64]
    failures = await session.get(SignInFailures, username)
    if failures is not None and failures.locked_until is not None and failures.locked_until > now:
        minutes = max(1, round((failures.locked_until - now).total_seconds() / 60))
        return SignInThrottled(
            f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes > 1 else ''}."
        )
    staff = await session.scalar(select(Staff).where(Staff.username == username))
    valid = _verify(staff.password_hash if staff else _dummy_hash(), password)
    if staff is None or not valid or staff.disabled:
        if failures is None:
            failures = SignInFailures(username=username, failures=0, last_failure_at=now)
            session.add(failures)
        if now - failures.last_failure_at > FAILURES_FORGOTTEN_AFTER:
            failures.failures = 0
        failures.failures += 1
        failures.last_failure_at = now
        if failures.failures >= FAILURES_BEFORE_LOCK:
            failures.locked_until = now + LOCK_FOR
            failures.failures = 0
        await session.flush()
        return SignInRefused("The username or password is not right.")
    if failures is not None:
        await session.delete(failures)
    if _hasher.check_needs_rehash(staff.password_hash):
        staff.password_hash = _hasher.hash(password)
    token, csrf = new_token(), new_token()
    expires = now + SESSION_LIFETIME
    session.add(
        StaffSession(
            token_hash=hash_token(token),
            staff_id=staff.id,
            csrf_token=csrf,
            created_at=now,
            expires_at=expires,
        )
    )
    await session.flush()
    return SignedIn(StaffView.of(staff), token, csrf, expires)


@dataclass(frozen=True)
class CurrentSession:
    staff: StaffView
    csrf_token: str


async def session_of(session: AsyncSession, *, token: str, now: datetime) -> CurrentSession | None:
    """The signed-in staff member a session cookie stands for, if it is valid."""
    if not token or len(token) > 128:
        return None
    row = await session.scalar(
        select(StaffSession).where(StaffSession.token_hash == hash_token(token))
    )
    if row is None or row.expires_at <= now:
        return None
    staff = await session.get(Staff, row.staff_id)
    if staff is None or staff.disabled:
        return None
    return CurrentSession(StaffView.of(staff), row.csrf_token)


async def signed_in_tokens(
    session: AsyncSession, *, tokens: Collection[str], now: datetime
) -> set[str]:
    """Which of these session cookies still stand for someone signed in (one query)."""
    by_hash = {hash_token(token): token for token in tokens if token and len(token) <= 128}
    if not by_hash:
        return set()
    rows = await session.scalars(
        select(StaffSession.token_hash)
        .join(Staff, Staff.id == StaffSession.staff_id)
        .where(
            StaffSession.token_hash.in_(by_hash),
            StaffSession.expires_at > now,
            Staff.disabled.is_(False),
        )
    )
    return {by_hash[token_hash] for token_hash in rows}


async def sign_out(session: AsyncSession, *, token: str) -> None:
    """End the session a cookie stands for."""
    await session.execute(delete(StaffSession).where(StaffSession.token_hash == hash_token(token)))
