"""Waiting chats whose resident left become left messages; the sweeps act once however many run.

Actions on a real database (SQLite and PostgreSQL). `overlapping` runs the same sweep in
several transactions at once: on PostgreSQL none commits before all have done their work or
wait for a lock, so a sweep that did not compare-and-set would act twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, cast

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions import (
    abandoned,
    after_hours,
    handling,
    mail_replies,
    presence,
    resident_presence,
)
from chatsvc.catalogue.knowledge import default_path, load_knowledge_base
from chatsvc.db.database import Database
from chatsvc.db.models import AfterHoursMessage, Conversation, Message, OutboxMail
from chatsvc.errors import InvalidPayload
from chatsvc.hours import BusinessCalendar
from chatsvc.outbox.replies import MailThread, Reference
from chatsvc.settings import Settings
from tests.actions.test_after_hours_actions import staff
from tests.actions.test_routing_actions import (
    GRACE,
    NOW,
    SERVER,
    _set,
    held_by,
    on_duty,
    waiting,
)
from tests.parallel import overlapping

CALENDAR = BusinessCalendar.from_settings(
    Settings(database_url="sqlite+aiosqlite://", business_hours="mon-fri 08:00-17:00")
)
CENTER = load_knowledge_base(default_path()).center
AFTER = timedelta(minutes=5)


async def gone_from_the_queue(db: Database, n: int, *, left_at: Any = NOW) -> int:
    """A waiting chat whose resident (r`n`@example.com) connected, then left at `left_at`."""
    cid = await waiting(db, n)
    await db.run(
        resident_presence.resident_joined,
        conversation_id=cid,
        server_id=SERVER,
        sid=f"resident-{n}",
        visible=True,
        now=left_at - timedelta(minutes=1),
    )
    await db.run(
        resident_presence.resident_gone, server_id=SERVER, sid=f"resident-{n}", now=left_at
    )
    return cid


async def _set_email(session: AsyncSession, cid: int, email: str) -> None:
    conversation = await session.get(Conversation, cid)
    assert conversation is not None
    conversation.resident.email = email


async def abandon(session: AsyncSession, *, at: Any = None) -> list[abandoned.Abandoned]:
    return await abandoned.abandon_waiting(
        session,
        now=at or NOW + AFTER + timedelta(seconds=1),
        after=AFTER,
        calendar=CALENDAR,
        center=CENTER,
        mail_per_address_per_day=5,
    )


async def counts(session: AsyncSession, cids: Sequence[int]) -> dict[str, list[int]]:
    """Per conversation: its system messages, left messages and mails to its resident."""
    found: dict[str, list[int]] = {"system": [], "left": [], "mail": []}
    for cid in cids:
        conversation = await session.get(Conversation, cid)
        assert conversation is not None
        found["system"].append(
            await session.scalar(
                select(func.count()).where(
                    Message.conversation_id == cid, Message.author_kind == "system"
                )
            )
            or 0
        )
        found["left"].append(
            await session.scalar(
                select(func.count()).where(AfterHoursMessage.conversation_id == cid)
            )
            or 0
        )
        found["mail"].append(
            await session.scalar(
                select(func.count()).where(
                    OutboxMail.to_address == conversation.resident.email,
                    OutboxMail.kind == "queue_abandoned",
                )
            )
            or 0
        )
    return found


async def test_only_a_resident_gone_past_the_deadline_leaves_the_queue(db: Database) -> None:
    gone = await gone_from_the_queue(db, 1)
    recent = await gone_from_the_queue(db, 2, left_at=NOW + timedelta(minutes=1))
    here = await waiting(db, 3)  # connected now
    await db.run(
        resident_presence.resident_joined,
        conversation_id=here,
        server_id=SERVER,
        sid="here",
        visible=False,
        now=NOW - timedelta(hours=1),
    )
    assert await db.run(abandon, at=NOW + AFTER) == []  # exactly five minutes: not yet

    (done,) = await db.run(abandon)
    assert done.conversation_id == gone and done.mailed
    assert done.item.text == "Question 1" and done.item.conversation_id == gone
    assert done.reply_due == CALENDAR.reply_due(NOW + AFTER)
    ended = await db.run(lambda s: s.get(Conversation, gone))
    assert (ended.status, ended.ended_by, ended.disposition) == (
        "ended",
        "abandoned",
        "left_message",
    )
    for cid in (recent, here):
        assert (await db.run(lambda s, cid=cid: s.get(Conversation, cid))).status == "open"
    # The helper other features use: who has been gone since before a time.
    still_open = Conversation.status == "open"
    assert await db.run(
        resident_presence.gone_since, before=NOW + timedelta(minutes=2), where=still_open
    ) == [recent]
    assert await db.run(resident_presence.gone_since, before=NOW + timedelta(minutes=2)) == [
        gone,
        recent,
    ]


async def test_a_resident_without_an_email_address_still_leaves_a_message(db: Database) -> None:
    cid = await gone_from_the_queue(db, 1)
    await db.run(_set_email, cid, "")
    (done,) = await db.run(abandon)
    assert not done.mailed and done.item.email == ""
    assert (await db.run(counts, [cid]))["mail"] == [0]
    texts = await db.run(
        lambda s: s.scalars(
            select(Message.body).where(Message.conversation_id == cid).order_by(Message.seq)
        )
    )
    assert list(texts)[-1].endswith(f"Please call us at {CENTER.phone}, or start a new chat.")
    # Staff who claim it cannot "reply by email" to nobody: a clear refusal, nothing changes.
    maria = await staff(db, "maria")
    await db.run(after_hours.claim_message, by=maria, message_id=done.message_id, now=NOW)
    with pytest.raises(InvalidPayload, match="no email address"):
        await db.run(
            after_hours.reply_to_message,
            by=maria,
            message_id=done.message_id,
            text="Hello",
            center=CENTER,
            now=NOW,
        )
    statuses = await db.run(lambda s: s.scalars(select(AfterHoursMessage.status)))
    assert list(statuses) == ["in_progress"]


async def test_sweeps_running_at_once_abandon_close_and_expire_each_chat_once(
    db: Database,
) -> None:
    gone = [await gone_from_the_queue(db, n) for n in range(1, 4)]
    agent = await on_duty(db, "pat")
    idle = [await held_by(db, agent, n, at=NOW - timedelta(hours=1)) for n in range(4, 7)]
    for cid in idle:
        await db.run(_set, Conversation, cid, updated_at=NOW - timedelta(hours=1))
    lost = await on_duty(db, "lost")
    held = [await held_by(db, lost, n) for n in (7, 8)]
    await db.run(
        presence.agent_disconnected, server_id=SERVER, sid="sid-lost", now=NOW, grace=GRACE
    )
    later = NOW + timedelta(hours=1)

    # In the sweep's order: graces, abandoned chats, idle ones.
    outcomes = await overlapping(db, lambda s: presence.expire_graces(s, now=later), 4)
    assert [r.staff_id for o in outcomes for r in o] == [lost]  # type: ignore[union-attr]
    outcomes = await overlapping(db, lambda s: abandon(s, at=later), 4)
    assert sorted(a.conversation_id for o in outcomes for a in o) == gone  # type: ignore[union-attr]
    outcomes = await overlapping(
        db, lambda s: handling.close_idle(s, now=later, idle_after=timedelta(minutes=30)), 4
    )
    assert sorted(e.conversation.id for o in outcomes for e in o) == idle  # type: ignore[union-attr]

    assert await db.run(counts, gone) == {"system": [1, 1, 1], "left": [1, 1, 1], "mail": [1, 1, 1]}
    assert (await db.run(counts, idle))["system"] == [1, 1, 1]
    # Each returned chat heard once that its agent was lost.
    assert (await db.run(counts, held))["system"] == [1, 1]


async def test_a_chat_a_mail_reply_reopened_waits_for_a_person_however_long_ago_its_resident_left(
    db: Database,
) -> None:
    """The resident left the chat hours ago and answers our mail: the chat reopens, waiting for
    a person. Its resident is on email, not gone from the queue: the sweep leaves it there."""
    cid = await gone_from_the_queue(db, 1, left_at=NOW - timedelta(hours=2))
    await db.run(
        _set,
        Conversation,
        cid,
        status="ended",
        stage="assistant",
        ended_at=NOW - timedelta(hours=1),
    )
    reply = mail_replies.Reply(
        message_id="<reply-1@example.com>",
        from_name="Resident 1",
        from_address="r1@example.com",
        subject="Re: your chat",
        text="One more thing: it is blue paint.",
        references=(),
    )
    landed = await db.run(
        mail_replies.receive_reply,
        reply=reply,
        reference=Reference(MailThread("conversation", cid), verified=True),
        calendar=CALENDAR,
        policy=cast(Any, None),  # a reply to a chat files nothing
        now=NOW,
    )
    assert (landed.where, landed.id) == ("conversation", cid)
    assert await db.run(abandon, at=NOW + AFTER + timedelta(seconds=1)) == []
    reopened = await db.run(lambda s: s.get(Conversation, cid))
    assert (reopened.status, reopened.stage) == ("open", "waiting")
    # Should the resident open the chat and leave it again, the usual rule holds.
    await db.run(
        resident_presence.resident_joined,
        conversation_id=cid,
        server_id=SERVER,
        sid="resident-1-again",
        visible=True,
        now=NOW + timedelta(minutes=1),
    )
    await db.run(
        resident_presence.resident_gone,
        server_id=SERVER,
        sid="resident-1-again",
        now=NOW + timedelta(minutes=2),
    )
    (gone,) = await db.run(abandon, at=NOW + timedelta(minutes=2) + AFTER + timedelta(seconds=1))
    assert gone.conversation_id == cid
