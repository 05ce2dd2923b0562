"""The webhook outbox: request events for a department's system, queued with the change.

An event is written in the transaction that made the change, and POSTed later by the sender
(`chatsvc.transport.webhooks`), signed with the workgroup's secret, with retries.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from .models import OutboxWebhook


async def queue_webhook(
    session: AsyncSession, *, workgroup: str, event: str, payload: dict[str, Any], now: datetime
) -> str:
    """Add an event for `workgroup`'s webhook to the outbox; return its delivery id."""
    delivery_id = uuid.uuid4().hex
    body = {"delivery_id": delivery_id, "event": event, "sent_for": workgroup, **payload}
    session.add(
        OutboxWebhook(
            delivery_id=delivery_id,
            workgroup=workgroup,
            event=event,
            body=json.dumps(body, separators=(",", ":"), sort_keys=True),
            created_at=now,
            next_attempt_at=now,
            attempts=0,
        )
    )
    await session.flush()
    return delivery_id
