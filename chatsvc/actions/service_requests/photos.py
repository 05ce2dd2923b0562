"""Photos residents upload in a chat, kept until a request takes them (or for a day).

Only images drawn again from a decoded upload are stored (`chatsvc.images`). A photo no
request took is deleted after a while (`delete_unfiled_photos`, from the sweep).

Locking order: `store_photo` only inserts; `attach_photos` updates the chat's photo rows that
no request has taken yet (after the counter row, when filing); `delete_unfiled_photos` deletes
rows no request has taken (a filing that loses the race finds its photo gone).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions.service_requests.checks import InvalidRequest
from chatsvc.db.models import RequestPhoto, ServiceRequest
from chatsvc.errors import ChatError, NotFound
from chatsvc.images import CleanImage

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
    session: AsyncSession,
    *,
    conversation_id: int | None,
    image: CleanImage,
    now: datetime,
    per_conversation: int | None = None,
) -> StoredPhoto:
    """Keep a photo a resident uploaded in their chat (an image decoded and drawn again)."""
    if len(image.data) > MAX_PHOTO_BYTES:
        raise PhotoTooLarge("The photo is too large: up to 10 MB, please.")
    await check_photo_quota(session, conversation_id, per_conversation)
    photo = RequestPhoto(
        conversation_id=conversation_id,
        content_type=image.content_type,
        size=len(image.data),
        sha256=hashlib.sha256(image.data).hexdigest(),
        data=image.data,
        created_at=now,
    )
    session.add(photo)
    await session.flush()
    return StoredPhoto(photo.id, image.content_type, len(image.data))


async def check_photo_quota(
    session: AsyncSession, conversation_id: int | None, per_conversation: int | None
) -> None:
    """Refuse another photo in a chat that has its request's worth waiting, or its quota."""
    counts = (
        await session.execute(
            select(
                func.count(RequestPhoto.id),
                func.count(RequestPhoto.id).filter(RequestPhoto.request_id.is_(None)),
            ).where(RequestPhoto.conversation_id == conversation_id)
        )
    ).one()
    total, waiting = counts[0] or 0, counts[1] or 0
    if waiting >= MAX_PHOTOS_PER_REQUEST:
        raise InvalidPhoto(
            f"Up to {MAX_PHOTOS_PER_REQUEST} photos per request, please.", code="too_many_photos"
        )
    if per_conversation is not None and total >= per_conversation:
        raise InvalidPhoto(
            "This chat has as many photos as we can take. Please start a new chat for more.",
            code="too_many_photos",
        )


async def delete_unfiled_photos(
    session: AsyncSession, *, now: datetime, older_than: timedelta, batch: int = 200
) -> int:
    """Delete photos uploaded before `now - older_than` that no request took; say how many."""
    ids = list(
        await session.scalars(
            select(RequestPhoto.id)
            .where(
                RequestPhoto.request_id.is_(None),
                RequestPhoto.created_at < now - older_than,
            )
            .order_by(RequestPhoto.id)
            .limit(batch)
        )
    )
    if not ids:
        return 0
    await session.execute(
        delete(RequestPhoto).where(RequestPhoto.id.in_(ids), RequestPhoto.request_id.is_(None))
    )
    return len(ids)


async def load_photo(session: AsyncSession, photo_id: int) -> tuple[str, bytes]:
    """Return a photo's content type and bytes (for staff), or raise NotFound."""
    photo = await session.get(RequestPhoto, photo_id)
    if photo is None:
        raise NotFound("There is no such photo.")
    return photo.content_type, photo.data


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
