"""Photos residents upload in a chat, kept until a request takes them.

Locking order: `store_photo` only inserts; `attach_photos` updates the chat's photo rows that
no request has taken yet (after the counter row, when filing).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions.service_requests.checks import InvalidRequest
from chatsvc.db.models import RequestPhoto, ServiceRequest
from chatsvc.errors import ChatError, NotFound

MAX_PHOTO_BYTES = 10 * 1024 * 1024


MAX_PHOTOS_PER_REQUEST = 5


PHOTO_TYPES = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


class InvalidPhoto(ChatError):
    code = "invalid_photo"


class PhotoTooLarge(InvalidPhoto):
    code = "photo_too_large"
    status = 413


@dataclass(frozen=True)
class StoredPhoto:
    id: int
    content_type: str
    size: int


async def store_photo(
    session: AsyncSession, *, conversation_id: int, data: bytes, now: datetime
) -> StoredPhoto:
    """Keep a photo a resident uploaded in their chat, checking its type from its content."""
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoTooLarge("The photo is too large: up to 10 MB, please.")
    content_type = sniff_image(data)
    if content_type is None:
        raise InvalidPhoto("That file is not a JPEG, PNG or WebP photo.")
    waiting = await session.scalar(
        select(func.count(RequestPhoto.id)).where(
            RequestPhoto.conversation_id == conversation_id, RequestPhoto.request_id.is_(None)
        )
    )
    if (waiting or 0) >= MAX_PHOTOS_PER_REQUEST:
        raise InvalidPhoto(
            f"Up to {MAX_PHOTOS_PER_REQUEST} photos per request, please.", code="too_many_photos"
        )
    photo = RequestPhoto(
        conversation_id=conversation_id,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        data=data,
        created_at=now,
    )
    session.add(photo)
    await session.flush()
    return StoredPhoto(photo.id, content_type, len(data))


async def load_photo(session: AsyncSession, photo_id: int) -> tuple[str, bytes]:
    """Return a photo's content type and bytes (for staff), or raise NotFound."""
    photo = await session.get(RequestPhoto, photo_id)
    if photo is None:
        raise NotFound("There is no such photo.")
    return photo.content_type, photo.data


def sniff_image(data: bytes) -> str | None:
    """Tell a JPEG, PNG or WebP image from its first bytes, whatever its name says."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


async def attach_photos(
    session: AsyncSession,
    request: ServiceRequest,
    photo_ids: Sequence[int],
    conversation_id: int | None,
) -> None:
    if not photo_ids:
        return
    if len(photo_ids) > MAX_PHOTOS_PER_REQUEST:
        raise InvalidRequest(f"Up to {MAX_PHOTOS_PER_REQUEST} photos per request.", field="photo")
    result = await session.execute(
        update(RequestPhoto)
        .where(
            RequestPhoto.id.in_(list(photo_ids)),
            RequestPhoto.conversation_id == conversation_id,
            RequestPhoto.request_id.is_(None),
        )
        .values(request_id=request.id)
    )
    if getattr(result, "rowcount", len(photo_ids)) != len(set(photo_ids)):
        raise InvalidRequest("A photo was not found in this chat.", field="photo")
