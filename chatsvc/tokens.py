"""Secret tokens handed to browsers, of which only a hash is ever stored."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """A random token of 256 bits, URL-safe."""
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """Hash a token for storage: a database leak then opens nothing."""
    return hashlib.sha256(token.encode()).hexdigest()
