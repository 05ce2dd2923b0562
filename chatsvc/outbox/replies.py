"""Reply addresses: `reply+<kind><id>-<signature>@<CHATSVC_MAIL_REPLY_DOMAIN>`, one per thread.

A mail that belongs to a thread (a chat, a left message, a service request) is answered at an
address that names the thread and proves that we made it: an HMAC of the thread under a
server secret, cut to 26 base32 letters (130 bits). Anyone can write to any address, so only a
reference whose signature verifies may put a reply into someone's chat or request; a
made-up one goes to the inbox as a new message. Base32 in lower case, since mail servers may
change the case of a local part; the whole local part stays under 64 characters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from typing import Literal, get_args

ThreadKind = Literal["conversation", "after_hours", "request"]
KINDS: tuple[ThreadKind, ...] = get_args(ThreadKind)
_LETTER: dict[ThreadKind, str] = {"conversation": "c", "after_hours": "m", "request": "r"}
_KIND_OF = {letter: kind for kind, letter in _LETTER.items()}
SIGNATURE_CHARS = 26
_LOCAL = re.compile(r"reply\+([cmr])([1-9][0-9]{0,11})-([a-z2-7]{26})")


@dataclass(frozen=True)
class MailThread:
    """What a mail belongs to, so that a reply to it goes back there."""

    kind: ThreadKind
    id: int

    def __post_init__(self) -> None:
        if self.kind not in KINDS or not 0 < self.id < 10**12:
            raise ValueError(f"not a mail thread: {self.kind} {self.id}")


@dataclass(frozen=True)
class Reference:
    """What a reply address said: the thread, and whether its signature is ours."""

    thread: MailThread
    verified: bool


def _signature(key: bytes, thread: MailThread) -> str:
    digest = hmac.new(key, f"mail-reply\0{thread.kind}\0{thread.id}".encode(), hashlib.sha256)
    return base64.b32encode(digest.digest()).decode().lower()[:SIGNATURE_CHARS]


def reply_local_part(key: bytes, thread: MailThread) -> str:
    """The local part of the thread's reply address (at most 45 characters)."""
    return f"reply+{_LETTER[thread.kind]}{thread.id}-{_signature(key, thread)}"


def reply_address(key: bytes, thread: MailThread, domain: str) -> str:
    """The thread's reply address at `domain`."""
    return f"{reply_local_part(key, thread)}@{domain}"


def read_reply_address(key: bytes, address: str, domain: str) -> Reference | None:
    """Read a reply address of ours; None if it is not one (another domain or shape).

    A well-formed address whose signature does not verify is returned with verified=False."""
    local, _, at = address.strip().rpartition("@")
    if at.lower() != domain.lower():
        return None
    found = _LOCAL.fullmatch(local.lower())
    if found is None:
        return None
    letter, number, signature = found.groups()
    thread = MailThread(_KIND_OF[letter], int(number))
    verified = hmac.compare_digest(signature, _signature(key, thread))
    return Reference(thread, verified)
