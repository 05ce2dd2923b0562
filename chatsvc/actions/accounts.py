"""Staff accounts: who may sign in, with which role and workgroups; sessions and throttling.

Passwords are hashed with argon2id (argon2-cffi's defaults). A session is a random cookie value of
which only the SHA-256 is stored, with its own CSRF token for the forms it posts. Sign-in attempts
are counted per username and address in the database (so every server process sees the same
count, and a stranger guessing cannot keep the staff member out from another address), with
an atomic update before the password is checked, so parallel guesses cannot outrun the count.
A sign-in is two transactions around the check (`begin_sign_in`, `finish_sign_in`), so the
slow hash runs outside any transaction, in a worker thread of the caller's choosing.
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
from sqlalchemy import case, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.db.models import ServerSecret, SignInThrottle, Staff, StaffSession, StaffWorkgroup
from chatsvc.errors import AccountError, SignInRefused, SignInThrottled
from chatsvc.tokens import hash_token, new_token

ROLES = ("agent", "supervisor", "admin")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD_LENGTH = 12
# Per username and address: this many attempts at once, then a wait before each next one that
# doubles from FIRST_DELAY up to LONGEST_DELAY. A success, or a day without attempts, forgets.
ATTEMPTS_BEFORE_DELAY = 3
FIRST_DELAY = timedelta(minutes=1)
LONGEST_DELAY = timedelta(hours=1)
ATTEMPTS_FORGOTTEN_AFTER = timedelta(days=1)
SESSION_LIFETIME = timedelta(hours=12)

_hasher = PasswordHasher()


@functools.cache
def dummy_hash() -> str:
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
    return staff is not None and verify_password(staff.password_hash, password)


def verify_password(password_hash: str, password: str) -> bool:
    """Check a password against its hash: slow (a tenth of a second) on purpose."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def hash_password(password: str) -> str:
    """Hash a password: slow (a tenth of a second) on purpose."""
    return _hasher.hash(password)


def normal_username(username: str) -> str:
    """The username as stored: case and whitespace variants are the same one."""
    return "".join(username.split()).lower()[:64]


@dataclass(frozen=True)
class SignInAttempt:
    """A sign-in let through the throttle: the hash to check the password against."""

    username: str
    address_hash: str
    staff_id: int | None  # None: no such account (the check runs against dummy_hash)
    password_hash: str | None


def _delay_after(attempts: int) -> timedelta | None:
    if attempts < ATTEMPTS_BEFORE_DELAY:
        return None
    doublings = min(attempts - ATTEMPTS_BEFORE_DELAY, 16)
    delay: timedelta = FIRST_DELAY * 2**doublings
    return min(delay, LONGEST_DELAY)


def _wait_message(seconds: int) -> str:
    if seconds < 60:
        wait = f"{seconds} second{'s' if seconds != 1 else ''}"
    else:
        minutes = round(seconds / 60)
        wait = f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"Too many failed sign-ins. Try again in {wait}."


async def forget_sign_in_attempts(session: AsyncSession, *, now: datetime) -> int:
    """Delete the attempt counts no one has added to for a day (and not blocking); say how
    many. A count that old starts over anyway (ATTEMPTS_FORGOTTEN_AFTER), so forgetting it
    changes no answer; a flood of usernames no longer leaves its rows behind for good."""
    result = await session.execute(
        delete(SignInThrottle).where(
            SignInThrottle.last_attempt_at < now - ATTEMPTS_FORGOTTEN_AFTER,
            or_(SignInThrottle.blocked_until.is_(None), SignInThrottle.blocked_until <= now),
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def begin_sign_in(
    session: AsyncSession, *, username: str, address: str, now: datetime
) -> SignInAttempt | SignInThrottled:
    """Count a sign-in attempt for this username from this address, or say how long to wait.

    The count is one atomic update of the pair's row (which PostgreSQL locks; SQLite has one
    writer), made before the password is checked: of parallel attempts, exactly
    ATTEMPTS_BEFORE_DELAY get through, the rest wait.
    """
    username = normal_username(username)
    address_hash = hash_token(f"sign-in:{address}")
    pair = (SignInThrottle.username == username) & (SignInThrottle.address_hash == address_hash)
    assert session.bind is not None
    insert = postgresql_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(SignInThrottle)
        .values(
            username=username,
            address_hash=address_hash,
            attempts=0,
            last_attempt_at=now,
            blocked_until=None,
        )
        .on_conflict_do_nothing()
    )
    counted = await session.scalar(
        update(SignInThrottle)
        .where(
            pair,
            or_(SignInThrottle.blocked_until.is_(None), SignInThrottle.blocked_until <= now),
        )
        .values(
            attempts=case(
                (SignInThrottle.last_attempt_at < now - ATTEMPTS_FORGOTTEN_AFTER, 1),
                else_=SignInThrottle.attempts + 1,
            ),
            last_attempt_at=now,
        )
        .returning(SignInThrottle.attempts)
        .execution_options(synchronize_session=False)
    )
    if counted is None:
        blocked_until = await session.scalar(select(SignInThrottle.blocked_until).where(pair))
        seconds = 1
        if blocked_until is not None:
            seconds = max(1, int((blocked_until - now).total_seconds() + 0.999))
        return SignInThrottled(_wait_message(seconds), retry_after=seconds)
    delay = _delay_after(counted)
    if delay is not None:
        await session.execute(
            update(SignInThrottle)
            .where(pair)
            .values(blocked_until=now + delay)
            .execution_options(synchronize_session=False)
        )
    staff = await session.scalar(select(Staff).where(Staff.username == username))
    if staff is None:
        return SignInAttempt(username, address_hash, None, None)
    return SignInAttempt(username, address_hash, staff.id, staff.password_hash)


async def finish_sign_in(
    session: AsyncSession, *, attempt: SignInAttempt, new_hash: str | None, now: datetime
) -> SignedIn | SignInRefused:
    """Open a session for an attempt whose password was right (and forget its attempts).

    `new_hash`: the password hashed anew, when its hash needed it (slow: made by the caller).
    """
    staff = None if attempt.staff_id is None else await session.get(Staff, attempt.staff_id)
    if staff is None or staff.disabled or staff.password_hash != attempt.password_hash:
        # Disabled, or its password changed while this attempt checked the old one.
        return SignInRefused("The username or password is not right.")
    await session.execute(
        delete(SignInThrottle).where(
            SignInThrottle.username == attempt.username,
            SignInThrottle.address_hash == attempt.address_hash,
        )
    )
    if new_hash is not None:
        staff.password_hash = new_hash
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


async def sign_in(
    session: AsyncSession, *, username: str, password: str, now: datetime, address: str = ""
) -> SignedIn | SignInRefused:
    """Check a username and password in one transaction; open a session, or say why not.

    For the command line, tests and benchmarks: it hashes in this task. The web form uses
    begin_sign_in and finish_sign_in with the check in a worker thread between them.
    """
    attempt = await begin_sign_in(session, username=username, address=address, now=now)
    if isinstance(attempt, SignInRefused):
        return attempt
    if not verify_password(attempt.password_hash or dummy_hash(), password):
        return SignInRefused("The username or password is not right.")
    new_hash = hash_password(password) if needs_rehash(attempt.password_hash or "") else None
    return await finish_sign_in(session, attempt=attempt, new_hash=new_hash, now=now)


async def server_secret(session: AsyncSession, *, name: str) -> str:
    """The server's secret key of this name, made (once, whichever process is first) if new."""
    assert session.bind is not None
    insert = postgresql_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    await session.execute(
        insert(ServerSecret)
        .values(name=name, value=secrets.token_urlsafe(48))
        .on_conflict_do_nothing()
    )
    value = await session.scalar(select(ServerSecret.value).where(ServerSecret.name == name))
    assert value is not None
    return value


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
