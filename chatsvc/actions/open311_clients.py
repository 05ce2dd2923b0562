"""Open311 clients: the apps allowed to file service requests, each with its own API key.

A key is shown once, when it is issued; only its SHA-256 is stored, so a database leak opens
nothing. Revoking a client refuses its key from then on and keeps its row, so the requests it
filed still say who filed them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.db.models import Open311Client
from chatsvc.errors import ChatError, NotFound
from chatsvc.tokens import hash_token, new_token

MAX_NAME = 100
MAX_KEY = 200  # keys we issue are 43 characters; anything much longer is not one of ours
NAME = re.compile(r"^[^\x00-\x1f\x7f]+$")


class Open311ClientError(ChatError):
    code = "invalid_open311_client"


@dataclass(frozen=True)
class ClientView:
    id: int
    name: str
    created_at: datetime
    revoked_at: datetime | None

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    @classmethod
    def of(cls, client: Open311Client) -> ClientView:
        return cls(client.id, client.name, client.created_at, client.revoked_at)


@dataclass(frozen=True)
class IssuedKey:
    client: ClientView
    key: str  # the plaintext key: give it to the client's owner, it is not kept


async def issue_key(session: AsyncSession, name: str, now: datetime) -> IssuedKey:
    """Register a client under a new name and return its API key (shown only this once)."""
    name = " ".join(name.split()) if isinstance(name, str) else ""
    if not name or len(name) > MAX_NAME or not NAME.match(name):
        raise Open311ClientError(f"A client's name is 1 to {MAX_NAME} printable characters.")
    taken = await session.scalar(select(Open311Client.id).where(Open311Client.name == name))
    if taken is not None:
        raise Open311ClientError(f"There is already a client named {name!r}.")
    key = new_token()
    client = Open311Client(name=name, key_hash=hash_token(key), created_at=now, revoked_at=None)
    session.add(client)
    await session.flush()
    return IssuedKey(ClientView.of(client), key)


async def revoke(session: AsyncSession, name: str, now: datetime) -> ClientView:
    """Refuse the client's key from now on; revoking twice keeps the first date."""
    client = await session.scalar(select(Open311Client).where(Open311Client.name == name))
    if client is None:
        raise NotFound(f"There is no client named {name!r}.")
    if client.revoked_at is None:
        client.revoked_at = now
        await session.flush()
    return ClientView.of(client)


async def list_clients(session: AsyncSession) -> list[ClientView]:
    """List every client, revoked ones too, by name."""
    rows = await session.scalars(select(Open311Client).order_by(Open311Client.name))
    return [ClientView.of(client) for client in rows]


async def authenticate(session: AsyncSession, key: str) -> ClientView | None:
    """Return the client this API key belongs to, or None if it is unknown or revoked."""
    if not isinstance(key, str) or not key or len(key) > MAX_KEY:
        return None
    client = await session.scalar(
        select(Open311Client).where(Open311Client.key_hash == hash_token(key))
    )
    if client is None or client.revoked_at is not None:
        return None
    return ClientView.of(client)
