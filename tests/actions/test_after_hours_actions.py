"""After-hours actions on real SQLite and PostgreSQL sessions (no server): leaving a message,
its limits and spam filing, the chat it ends, and the staff inbox (claim, reply, status)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from chatsvc.actions import accounts, after_hours
from chatsvc.actions import conversations as chats
from chatsvc.actions.accounts import StaffView
from chatsvc.catalogue.knowledge import default_path, load_knowledge_base
from chatsvc.db.database import Database
from chatsvc.db.models import AfterHoursMessage, Conversation, Message, OutboxMail
from chatsvc.errors import AlreadyTaken, ChatError, ConversationEnded, NotAssigned
from chatsvc.hours import BusinessCalendar
from chatsvc.settings import Settings
from tests.realtime.test_after_hours import FAIL_END, HEAL, run_sql

CALENDAR = BusinessCalendar.from_settings(
    Settings(business_hours="mon-fri 08:00-17:00", holidays="US-CA")
)
SUNDAY_NOON = datetime(2026, 11, 29, 20, 0, tzinfo=UTC)  # 12:00 in Pasadena: closed
MONDAY_FIVE_PM = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 17:00 on Monday, Nov 30, Pasadena
FRIDAY_EVENING = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)  # 19:00 on Friday, Dec 4, Pasadena
CENTER = load_knowledge_base(default_path()).center
LIMITS = after_hours.Limits(per_sender_per_hour=5, per_email_per_day=3)


async def leave(db: Database, **changes: Any) -> after_hours.LeftMessage:
    values: dict[str, Any] = {
        "name": "Ana Ruiz",
        "email": "ana@example.com",
        "text": "My bulky item pickup was missed on Friday.",
        "client_id": None,
        "conversation_id": None,
        "sender_key": "sender-a",
        "honeypot": "",
        "limits": LIMITS,
        "calendar": CALENDAR,
        "center": CENTER,
        "now": SUNDAY_NOON,
    }
    values.update(changes)
    return await db.run(after_hours.leave_message, **values)


async def answer(
    db: Database, by: StaffView, left: after_hours.LeftMessage, text: str, now: datetime
) -> after_hours.InboxItem:
    return await db.run(
        after_hours.reply_to_message, by=by, message_id=left.id, text=text, center=CENTER, now=now
    )


async def rows(db: Database, model: Any) -> list[Any]:
    async def read(session: Any) -> list[Any]:
        return list(await session.scalars(select(model).order_by(model.id)))

    found: list[Any] = await db.run(read)
    return found


async def staff(db: Database, username: str, role: str = "agent") -> StaffView:
    return await db.run(
        accounts.add_staff,
        username=username,
        display_name=f"{username.title()} Lopez",
        role=role,
        password="a long enough password",
        workgroups=(),
        max_chats=3,
        now=SUNDAY_NOON,
    )


# --- leaving a message ---------------------------------------------------------------------------


async def test_a_message_is_kept_acknowledged_and_due_the_next_business_day(db: Database) -> None:
    left = await leave(db)
    assert left.reference.startswith("M-") and len(left.reference) == 8
    assert (left.status, left.duplicate, left.ended) == ("new", False, None)
    assert left.reply_due == MONDAY_FIVE_PM
    assert left.reply_due_text == "Monday, November 30 at 5 p.m."
    assert (left.item.reference, left.item.status, left.item.overdue) == (
        left.reference,
        "new",
        False,
    )
    (mail,) = await rows(db, OutboxMail)
    assert (mail.kind, mail.to_address) == ("after_hours_ack", "ana@example.com")
    assert left.reference in mail.subject
    # One period where the sentence ends with the time (issue 16 found "5 p.m..").
    assert "by Monday, November 30 at 5 p.m.\n" in mail.body and "p.m.." not in mail.body


async def test_friday_evening_is_answered_on_monday(db: Database) -> None:
    left = await leave(db, now=FRIDAY_EVENING)
    assert left.reply_due_text == "Monday, December 7 at 5 p.m."


async def test_the_same_client_id_stores_once_and_answers_the_same(db: Database) -> None:
    first = await leave(db, client_id="form-1")
    again = await leave(db, client_id="form-1", now=SUNDAY_NOON + timedelta(days=1))
    assert again.duplicate and not first.duplicate
    assert (again.id, again.reference, again.reply_due, again.reply_due_text) == (
        first.id,
        first.reference,
        first.reply_due,
        first.reply_due_text,
    )
    assert len(await rows(db, AfterHoursMessage)) == 1
    assert len(await rows(db, OutboxMail)) == 1


async def test_one_sender_is_limited_per_hour(db: Database) -> None:
    for n in range(LIMITS.per_sender_per_hour):
        await leave(db, email=f"r{n}@example.com")
    with pytest.raises(after_hours.RateLimited) as raised:
        await leave(db, email="another@example.com")
    assert raised.value.status == 429 and "wait an hour" in raised.value.message
    # All five came at noon: the next one is taken an hour later, which the refusal says.
    assert raised.value.retry_after == 3600
    assert raised.value.as_dict()["error"]["retry_after"] == 3600
    await leave(db, email="another@example.com", sender_key="sender-b")  # someone else
    await leave(db, email="later@example.com", now=SUNDAY_NOON + timedelta(hours=1, seconds=1))
    assert len(await rows(db, AfterHoursMessage)) == LIMITS.per_sender_per_hour + 2


async def test_one_email_address_is_limited_per_day_whatever_its_case(db: Database) -> None:
    for n in range(LIMITS.per_email_per_day):  # at noon, 1 p.m. and 2 p.m.
        await leave(
            db,
            email="Ana@Example.com",
            sender_key=f"sender-{n}",
            now=SUNDAY_NOON + timedelta(hours=n),
        )
    with pytest.raises(after_hours.RateLimited) as raised:
        await leave(
            db, email="ana@example.COM", sender_key="sender-x", now=SUNDAY_NOON + timedelta(hours=3)
        )
    assert "this email address" in raised.value.message
    # The one from noon leaves the day's count at noon tomorrow: 21 hours from 3 p.m.
    assert raised.value.retry_after == 21 * 3600
    await leave(db, email="ana@example.com", sender_key="x", now=SUNDAY_NOON + timedelta(days=1))


async def test_a_filled_in_hidden_field_files_it_as_spam_without_mail(db: Database) -> None:
    left = await leave(db, honeypot="http://seo.example")
    assert left.status == "spam" and left.item.spam_score == 1.0
    assert left.item.spam_reasons[0] == "hidden field filled in"
    assert await rows(db, OutboxMail) == []
    assert await db.run(after_hours.inbox, now=SUNDAY_NOON) == []
    (kept,) = await db.run(after_hours.inbox, now=SUNDAY_NOON, statuses=("spam",))
    assert kept.reference == left.reference  # kept, not dropped


async def test_spammy_text_is_filed_as_spam_and_plain_text_is_not(db: Database) -> None:
    spam = await leave(
        db, text="Buy ivermectin online cheap!!! https://x.example https://y.example"
    )
    assert spam.status == "spam" and spam.item.spam_score >= after_hours.SPAM_THRESHOLD
    plain = await leave(db, email="bo@example.com", text="The streetlight on Elm is out.")
    assert (plain.status, plain.item.spam_score) == ("new", 0.0)


def test_the_spam_score_adds_up_its_reasons() -> None:
    assert after_hours.spam_score("Ana", "ana@example.com", "Pothole on Lake Ave") == (0.0, [])
    score, reasons = after_hours.spam_score("Ana", "a@example.com", "see https://a.example")
    assert (score, reasons) == (0.3, ["1 link"])
    score, reasons = after_hours.spam_score("www.seo.example", "a@example.com", "CLICK HERE " * 3)
    assert score >= after_hours.SPAM_THRESHOLD
    assert "a link as the name" in reasons and "shouting" in reasons


# --- the chat it was left from -----------------------------------------------------------------


async def start_chat(db: Database) -> int:
    started = await db.run(
        chats.start_conversation,
        name="Ana Ruiz",
        email="ana@example.com",
        question="Can I talk to a person?",
        client_id=None,
        now=SUNDAY_NOON,
    )
    return started.conversation.id


async def test_leaving_a_message_ends_the_chat_in_the_same_transaction(db: Database) -> None:
    conversation_id = await start_chat(db)
    left = await leave(db, conversation_id=conversation_id, client_id="form-1")
    assert left.ended is not None and left.ended.conversation.status == "ended"
    (notice,) = left.ended.messages
    assert notice.author_kind == "system" and left.reference in notice.text
    assert notice.text.endswith("ana@example.com by Monday, November 30 at 5 p.m."), notice.text
    (row,) = await rows(db, Conversation)
    assert (row.status, row.ended_by, row.disposition) == ("ended", "resident", "left_message")

    again = await leave(db, conversation_id=conversation_id, client_id="form-1")
    assert again.duplicate and again.reference == left.reference
    assert again.ended is not None and again.ended.messages == []  # nothing to tell twice


async def test_a_retry_ends_a_chat_a_crash_left_open(db: Database) -> None:
    conversation_id = await start_chat(db)
    # What the old three transactions left when the process died after the first.
    left = await leave(db, conversation_id=None, client_id="form-1")

    async def attach(session: Any) -> None:
        message = await session.get(AfterHoursMessage, left.id)
        message.conversation_id = conversation_id

    await db.run(attach)
    retried = await leave(db, conversation_id=conversation_id, client_id="form-1")
    assert retried.duplicate and retried.reference == left.reference
    assert retried.ended is not None and len(retried.ended.messages) == 1
    (row,) = await rows(db, Conversation)
    assert (row.status, row.disposition) == ("ended", "left_message")


async def test_if_the_chat_cannot_be_ended_nothing_is_kept(db: Database) -> None:
    conversation_id = await start_chat(db)
    await run_sql(db, FAIL_END)
    try:
        with pytest.raises(DBAPIError, match="the disk is full"):
            await leave(db, conversation_id=conversation_id, client_id="form-1")
    finally:
        await run_sql(db, HEAL)
    assert await rows(db, AfterHoursMessage) == []
    assert await rows(db, OutboxMail) == []
    assert len(await rows(db, Message)) == 1  # the question only
    retried = await leave(db, conversation_id=conversation_id, client_id="form-1")
    assert not retried.duplicate and retried.ended is not None and retried.ended.messages


# --- the staff inbox ---------------------------------------------------------------------------


async def test_a_message_has_one_owner_however_many_claim_it(db: Database) -> None:
    maria, tom = await staff(db, "maria"), await staff(db, "tom")
    left = await leave(db)
    claims = await asyncio.gather(
        *(
            db.run(after_hours.claim_message, by=who, message_id=left.id, now=SUNDAY_NOON)
            for who in (maria, tom, maria, tom)
        ),
        return_exceptions=True,
    )
    won = [c for c in claims if isinstance(c, after_hours.InboxItem)]
    lost = [c for c in claims if isinstance(c, BaseException)]
    assert len({c.owner_id for c in won}) == 1 and all(isinstance(e, AlreadyTaken) for e in lost)
    owner = maria if won[0].owner_id == maria.id else tom
    other = tom if owner is maria else maria
    assert len(won) == 2 and len(lost) == 2  # the owner's second click is answered, not refused
    with pytest.raises(AlreadyTaken) as raised:
        await db.run(after_hours.claim_message, by=other, message_id=left.id, now=SUNDAY_NOON)
    assert owner.display_name in raised.value.message
    (item,) = await db.run(after_hours.inbox, now=SUNDAY_NOON)
    assert (item.status, item.owner_id, item.owner_name) == (
        "in_progress",
        owner.id,
        owner.display_name,
    )


async def test_the_owner_replies_by_mail_and_the_reply_is_kept(db: Database) -> None:
    maria, tom = await staff(db, "maria"), await staff(db, "tom")
    left = await leave(db)
    with pytest.raises(NotAssigned):  # claim first
        await answer(db, tom, left, "Hi", SUNDAY_NOON)
    await db.run(after_hours.claim_message, by=maria, message_id=left.id, now=SUNDAY_NOON)
    with pytest.raises(NotAssigned):  # someone else's
        await answer(db, tom, left, "Hi", SUNDAY_NOON)
    replied = await answer(
        db, maria, left, "We have rescheduled your pickup for Tuesday.", MONDAY_FIVE_PM
    )
    assert (replied.status, replied.reply, replied.replied_at) == (
        "replied",
        "We have rescheduled your pickup for Tuesday.",
        MONDAY_FIVE_PM,
    )
    _, reply = await rows(db, OutboxMail)
    assert (reply.kind, reply.to_address) == ("after_hours_reply", "ana@example.com")
    assert "rescheduled" in reply.body and "Maria" in reply.body and left.reference in reply.subject
    with pytest.raises(ConversationEnded):  # answered once
        await answer(db, maria, left, "x", SUNDAY_NOON)
    assert await db.run(after_hours.inbox, now=SUNDAY_NOON) == []


async def test_the_reply_mail_greets_and_signs_once(db: Database) -> None:
    maria = await staff(db, "maria")
    left = await leave(db)
    await db.run(after_hours.claim_message, by=maria, message_id=left.id, now=SUNDAY_NOON)
    text = "Hi Dana,\n\nYour pickup is rescheduled for Tuesday.\n\nThanks,\nMaria"
    await answer(db, maria, left, text, MONDAY_FIVE_PM)
    _, reply = await rows(db, OutboxMail)
    # The CSR's own greeting and name, not ours on top ("Hello," then "Hi Dana,").
    assert reply.body.startswith("Hi Dana,\n\nYour pickup is rescheduled for Tuesday.")
    assert "Hello," not in reply.body
    assert reply.body.count("Maria") == 1
    assert "Thanks,\nMaria\n\nCitizen Service Center\nCity of Pasadena\n" in reply.body


def test_our_greeting_and_name_are_added_only_when_the_text_has_none() -> None:
    plain = after_hours.reply_mail("Your pickup is on Tuesday.", "Maria", CENTER, "Missed pickup")
    assert plain == (
        "Hello,\n\nYour pickup is on Tuesday.\n\nMaria\nCitizen Service Center\n"
        "City of Pasadena\n\nWhat you wrote:\n\n> Missed pickup\n"
    )
    for greeted in ("Hello Dana,", "hi,", "Dear Ms. Whitfield,", "Good morning Dana,", "Hey!"):
        body = after_hours.reply_mail(f"{greeted}\nDone.", "Maria", CENTER, "x")
        assert body.startswith(f"{greeted}\nDone.\n\nMaria\n"), body
    # A word that only starts like a greeting is not one.
    assert after_hours.reply_mail("Highland Ave is done.", "Maria", CENTER, "x").startswith(
        "Hello,\n\nHighland Ave"
    )
    signed = after_hours.reply_mail("Done.\n\n— Maria", "Maria", CENTER, "x")
    assert signed.startswith("Hello,\n\nDone.\n\n— Maria\n\nCitizen Service Center\n")


async def test_a_supervisor_may_reply_without_claiming(db: Database) -> None:
    sue = await staff(db, "sue", role="supervisor")
    left = await leave(db)
    replied = await answer(db, sue, left, "Done.", SUNDAY_NOON)
    assert (replied.status, replied.owner_id) == ("replied", sue.id)


async def test_status_changes_belong_to_the_owner_or_a_supervisor(db: Database) -> None:
    maria, tom = await staff(db, "maria"), await staff(db, "tom")
    sue = await staff(db, "sue", role="supervisor")
    left = await leave(db)
    with pytest.raises(ChatError) as raised:
        await db.run(
            after_hours.set_message_status,
            by=maria,
            message_id=left.id,
            status="replied",
            now=SUNDAY_NOON,
        )
    assert raised.value.code == "invalid_payload"
    await db.run(after_hours.claim_message, by=maria, message_id=left.id, now=SUNDAY_NOON)
    with pytest.raises(NotAssigned):
        await db.run(
            after_hours.set_message_status,
            by=tom,
            message_id=left.id,
            status="closed",
            now=SUNDAY_NOON,
        )
    back = await db.run(
        after_hours.set_message_status, by=sue, message_id=left.id, status="new", now=SUNDAY_NOON
    )
    assert (back.status, back.owner_id) == ("new", None)  # anyone may claim it again
    closed = await db.run(
        after_hours.set_message_status, by=tom, message_id=left.id, status="closed", now=SUNDAY_NOON
    )
    assert closed.status == "closed" and not closed.overdue
    assert await db.run(after_hours.inbox, now=SUNDAY_NOON) == []


async def test_the_inbox_lists_the_reply_due_soonest_first_and_flags_overdue(db: Database) -> None:
    later = await leave(db, email="bo@example.com", now=FRIDAY_EVENING)
    sooner = await leave(db, email="cy@example.com", sender_key="sender-b")
    items = await db.run(after_hours.inbox, now=MONDAY_FIVE_PM + timedelta(minutes=1))
    assert [i.reference for i in items] == [sooner.reference, later.reference]
    assert [i.overdue for i in items] == [True, False]
