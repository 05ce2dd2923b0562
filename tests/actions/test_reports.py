"""The chat measures against a small day of events computed by hand (SQLite and PostgreSQL).

Monday 23 November 2026 in Pasadena (UTC-8). Local times:

1. 09:00 the assistant answers alone; ended 09:05.
2. 09:10 handed over 09:11:00, Ann joins 09:11:20 (20 s), closed 09:21:20 (600 s), resolved,
   rated 5.
3. 10:00 handed over 10:02:00, Bob joins 10:03:30 (90 s), closed 10:08:30 (300 s), referred.
4. 10:30 handed over 10:31:00, the resident leaves the queue at 10:31:40 (40 s): abandoned.
5. 11:00 handed over 11:01:00, Ann joins 11:01:10 (10 s), transfers to Bob at 11:05:00, Bob
   closes 11:15:10 (840 s from the first join), resolved, rated 3 (Bob's).
6. 11:30 still with the assistant (in progress).
7. 23:59 the assistant answers alone (still Monday here, Tuesday in UTC).
And Sunday 23:30 (Monday 07:30 UTC): one chat the assistant answered, in the previous day.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions import handling, presence, queue
from chatsvc.db.database import Database
from chatsvc.db.models import (
    Conversation,
    ConversationNote,
    ConversationRating,
    Message,
    Resident,
)
from chatsvc.errors import ChatError
from chatsvc.reports import Period, by_agent, by_hour_and_weekday, chat_figures, chat_report
from chatsvc.reports.chats import chats_by_day
from tests.actions.test_routing_actions import _set, _staff_view, on_duty, waiting
from tests.conftest import add_staff_member

ZONE = ZoneInfo("America/Los_Angeles")
MONDAY = Period(date(2026, 11, 23), date(2026, 11, 23), ZONE)


def local(hour: int, minute: int, second: int = 0, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hour, minute, second, tzinfo=ZONE).astimezone(UTC)


async def chat(
    session: AsyncSession,
    n: int,
    started: datetime,
    *,
    handoff: datetime | None = None,
    joins: tuple[tuple[datetime, str], ...] = (),
    ended: datetime | None = None,
    staff_id: int | None = None,
    disposition: str | None = None,
    spanish: bool = False,
) -> int:
    """Store a conversation as the actions leave it, with its join messages.

    English joins are stored as before the marker (found by their words); a Spanish chat's are
    written in Spanish and marked {"notice": "joined"}, as queue.assign_all writes them now.
    """
    resident = Resident(name=f"Resident {n}", email=f"r{n}@example.com", created_at=started)
    session.add(resident)
    await session.flush()
    conversation = Conversation(
        token_hash=f"token-{n}",
        resident_id=resident.id,
        status="ended" if ended else "open",
        created_at=started,
        updated_at=ended or started,
        ended_at=ended,
        stage="agent" if joins else ("waiting" if handoff else "assistant"),
        handoff_at=handoff,
        queued_at=handoff,
        assigned_staff_id=staff_id,
        assigned_at=joins[-1][0] if joins else None,
        disposition=disposition,
        ended_by="agent" if joins else ("abandoned" if handoff else "resident"),
    )
    session.add(conversation)
    await session.flush()
    texts = [(started, "resident", "A question"), (started, "assistant", "An answer")]
    if handoff:
        texts.append((handoff, "system", "Connecting you with an agent."))
    said = "{} se unió al chat." if spanish else "{} joined the chat."
    texts += [(at, "system", said.format(name)) for at, name in joins]
    # Numbered as the actions number them: a sweep of the live server (the idle close, when a
    # loaded machine makes a test outlast CHATSVC_SWEEP_SECONDS) appends after the last.
    conversation.last_seq = len(texts)
    for seq, (at, kind, body) in enumerate(texts, start=1):
        session.add(
            Message(
                conversation_id=conversation.id,
                seq=seq,
                author_kind=kind,
                author_name=None,
                body=body,
                created_at=at,
                decision={"notice": "joined"} if spanish and body.endswith(" al chat.") else None,
            )
        )
    conversation.last_seq = len(texts)  # as the actions keep it: a sweep's notice comes next
    return conversation.id


async def a_day(db: Database) -> tuple[int, int]:
    ann, _ = await add_staff_member(db, "ann", display_name="Ann Able")
    bob, _ = await add_staff_member(db, "bob", display_name="Bob Baker")

    async def store(session: AsyncSession) -> None:
        await chat(session, 1, local(9, 0), ended=local(9, 5))
        two = await chat(
            session,
            2,
            local(9, 10),
            handoff=local(9, 11),
            joins=((local(9, 11, 20), "Ann"),),
            ended=local(9, 21, 20),
            staff_id=ann,
            disposition="resolved",
        )
        await chat(
            session,
            3,
            local(10, 0),
            handoff=local(10, 2),
            joins=((local(10, 3, 30), "Bob"),),
            ended=local(10, 8, 30),
            staff_id=bob,
            disposition="referred",
            spanish=True,  # the same measures from a join written in Spanish
        )
        await chat(session, 4, local(10, 30), handoff=local(10, 31), ended=local(10, 31, 40))
        five = await chat(
            session,
            5,
            local(11, 0),
            handoff=local(11, 1),
            joins=((local(11, 1, 10), "Ann"), (local(11, 5), "Bob")),
            ended=local(11, 15, 10),
            staff_id=bob,
            disposition="resolved",
        )
        await chat(session, 6, local(11, 30))
        await chat(session, 7, local(23, 59), ended=local(23, 59, 30))
        await chat(session, 8, local(23, 30, day=22), ended=local(23, 40, day=22))
        session.add(
            ConversationNote(
                conversation_id=five,
                staff_id=ann,
                kind="transfer",
                body="Over to you",
                created_at=local(11, 5),
            )
        )
        session.add(
            ConversationNote(
                conversation_id=five,
                staff_id=ann,
                kind="note",
                body="Not a transfer",
                created_at=local(11, 4),
            )
        )
        for cid, staff_id, score in ((two, ann, 5), (five, bob, 3)):
            session.add(
                ConversationRating(
                    conversation_id=cid,
                    staff_id=staff_id,
                    score=score,
                    comment=None,
                    created_at=local(12, 0),
                )
            )

    await db.run(store)
    return ann, bob


async def test_the_chat_measures_of_a_hand_computed_day(db: Database) -> None:
    await a_day(db)
    report = await db.run(chat_report, period=MONDAY, service_level_seconds=30)
    assert report.as_dict() == {
        "period": {
            "from": "2026-11-23",
            "to": "2026-11-23",
            "days": 1,
            "time_zone": "America/Los_Angeles",
        },
        "offered": 7,
        "in_progress": 1,
        "answered_by_agent": 3,
        "contained_by_assistant": 2,
        "abandoned_waiting": {
            "count": 1,
            "wait_average_seconds": 40.0,
            "wait_longest_seconds": 40.0,
            "waits": {"under_30s": 0, "30s_to_1m": 1, "1m_to_2m": 0, "2m_to_5m": 0, "over_5m": 0},
        },
        "answer_delay": {
            "average_seconds": 40.0,
            "distribution": {
                "under_30s": 2,
                "30s_to_1m": 0,
                "1m_to_2m": 1,
                "2m_to_5m": 0,
                "over_5m": 0,
            },
        },
        "service_level": {
            "threshold_seconds": 30,
            "answered_within": 2,
            "share": 0.6667,
            "target": None,
        },
        "handle_time": {"average_seconds": 580.0, "chats": 3},
        "transfers": {"count": 1, "chats": 1},
        "dispositions": {"referred": 1, "resolved": 2},
        "satisfaction": {"average": 4.0, "count": 2},
    }
    # The threshold moves the service level: within 90 s, all three.
    wider = await db.run(chat_report, period=MONDAY, service_level_seconds=90)
    assert (wider.answered_within_service_level, wider.service_level) == (3, 1.0)


async def test_the_previous_day_is_counted_apart(db: Database) -> None:
    await a_day(db)
    report = await db.run(chat_report, period=MONDAY.previous(), service_level_seconds=30)
    assert (report.period.start, report.period.end) == (date(2026, 11, 22), date(2026, 11, 22))
    assert (report.offered, report.contained_by_assistant, report.answered_by_agent) == (1, 1, 0)
    assert report.answer_delay_average is None
    assert report.service_level is None
    assert report.rating_average is None
    assert report.dispositions == {}


async def test_chats_by_weekday_and_hour_in_the_centers_zone(db: Database) -> None:
    await a_day(db)
    report = await db.run(by_hour_and_weekday, period=MONDAY)
    assert [(c["weekday"], c["hour"], c["offered"]) for c in report.as_dict()["cells"]] == [
        (0, 9, 2),
        (0, 10, 2),
        (0, 11, 2),
        (0, 23, 1),
    ]
    assert {c.agents_available for c in report.cells} == {None}
    assert report.agents_available_recorded is False


async def test_agents_on_duty_are_sampled_each_minute_and_set_against_each_hour(
    db: Database,
) -> None:
    """Ann is on duty from 9:00, Bob joins at 9:01 and goes away at 13:00; one sample a minute,
    whoever asks first (a second process's sample of the same minute writes nothing)."""
    await a_day(db)
    ann = await on_duty(db, "ann-duty", idle_since=local(9, 0))

    async def sample(at: datetime) -> bool:
        written: bool = await db.run(presence.record_staffing, now=at, zone=ZONE)
        return written

    assert await sample(local(9, 0, 10)) is True
    assert await sample(local(9, 0, 50)) is False  # the same minute
    bob = await on_duty(db, "bob-duty", idle_since=local(9, 1))
    assert await sample(local(9, 1, 5)) is True
    assert await sample(local(10, 30)) is True
    await db.run(presence.set_status, staff_id=bob, status="away", now=local(13, 0))
    assert await sample(local(13, 0, 1)) is True
    assert await sample(local(23, 0, 0, day=22)) is True  # Sunday: the day before
    report = await db.run(by_hour_and_weekday, period=MONDAY)
    cells = {(c.weekday, c.hour): c for c in report.cells}
    assert report.agents_available_recorded is True
    assert (cells[0, 9].offered, cells[0, 9].agents_available, cells[0, 9].minutes_sampled) == (
        2,
        1.5,
        2,
    )
    assert (cells[0, 10].agents_available, cells[0, 10].minutes_sampled) == (2.0, 1)
    assert (cells[0, 13].offered, cells[0, 13].agents_available) == (0, 1.0)
    assert (cells[0, 11].agents_available, cells[0, 11].minutes_sampled) == (None, 0)
    assert (6, 23) not in cells
    assert ann != bob


async def test_by_agent_counts_the_chats_each_held_at_the_end(db: Database) -> None:
    ann, bob = await a_day(db)
    report = await db.run(by_agent, period=MONDAY)
    assert report.as_dict()["agents"] == [
        {
            "staff_id": ann,
            "name": "Ann Able",
            "chats": 1,
            "handle_time_average_seconds": 600.0,
            "satisfaction": {"average": 5.0, "count": 1},
        },
        {
            "staff_id": bob,
            "name": "Bob Baker",
            "chats": 2,
            "handle_time_average_seconds": 570.0,
            "satisfaction": {"average": 3.0, "count": 1},
        },
    ]


def test_periods_are_whole_local_days() -> None:
    # 1 November 2026: the clocks go back, a 25-hour day.
    day = Period(date(2026, 11, 1), date(2026, 11, 1), ZONE)
    assert day.ends_at - day.starts_at == timedelta(hours=25)
    assert day.starts_at == datetime(2026, 11, 1, 7, 0, tzinfo=UTC)
    week = Period.week(datetime(2026, 11, 26, 12, tzinfo=UTC), ZONE)
    assert (week.start, week.end) == (date(2026, 11, 23), date(2026, 11, 29))
    assert (week.previous().start, week.previous().end) == (date(2026, 11, 16), date(2026, 11, 22))
    december = Period.month(2026, 12, ZONE)
    assert (december.start, december.end, december.days) == (
        date(2026, 12, 1),
        date(2026, 12, 31),
        31,
    )
    # A whole month is compared with the month before, however long each is; whole months with
    # as many months before (a quarter with the quarter before); any other period with as many
    # days before it.
    assert (december.previous().start, december.previous().end) == (
        date(2026, 11, 1),
        date(2026, 11, 30),
    )
    march = Period.month(2026, 3, ZONE)
    assert (march.previous().start, march.previous().end) == (date(2026, 2, 1), date(2026, 2, 28))
    january = Period.month(2027, 1, ZONE).previous()
    assert (january.start, january.end) == (date(2026, 12, 1), date(2026, 12, 31))
    quarter = Period(date(2026, 1, 1), date(2026, 3, 31), ZONE).previous()
    assert (quarter.start, quarter.end) == (date(2025, 10, 1), date(2025, 12, 31))
    part = Period(date(2026, 3, 1), date(2026, 3, 30), ZONE).previous()
    assert (part.start, part.end) == (date(2026, 1, 30), date(2026, 2, 28))
    # Monday 00:30 UTC is still Sunday in Pasadena.
    assert Period.day(datetime(2026, 11, 23, 0, 30, tzinfo=UTC), ZONE).start == date(2026, 11, 22)


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        (date(2026, 11, 23), date(2026, 11, 22), "The period ends before it starts."),
        (date(2025, 1, 1), date(2026, 2, 5), "A report covers at most 400 days."),
    ],
)
def test_a_period_out_of_bounds_is_refused(start: date, end: date, message: str) -> None:
    with pytest.raises(ChatError, match=message):
        Period(start, end, ZONE)


async def test_the_measures_read_what_the_real_actions_write(db: Database) -> None:
    """Routed, transferred back to a workgroup's queue, taken again and closed by the actions:
    the first join counts for the answer delay, however the assignment changed after it."""
    handed_over = local(9, 0)
    ann = await on_duty(db, "ann", workgroups=("Water",), idle_since=handed_over)
    cid = await waiting(db, 1, queued_at=handed_over)
    await db.run(_set, Conversation, cid, handoff_at=handed_over)
    (routed,) = await db.run(queue.drain_queue, now=handed_over + timedelta(seconds=25))
    assert routed.staff_id == ann
    ann_view = await db.run(_staff_view, ann)
    await db.run(
        handling.transfer,
        by=ann_view,
        conversation_id=cid,
        to_staff_id=None,
        to_workgroup="Water",
        note="Water question",
        now=local(9, 2),
    )
    await db.run(handling.accept, staff_id=ann, conversation_id=cid, now=local(9, 3))
    await db.run(
        handling.close_chat,
        by=ann_view,
        conversation_id=cid,
        disposition="resolved",
        now=local(9, 10, 25),
    )
    report = await db.run(chat_report, period=MONDAY, service_level_seconds=30)
    assert (report.offered, report.answered_by_agent, report.abandoned_waiting) == (1, 1, 0)
    assert report.answer_delay_average == 25.0
    assert (report.answered_within_service_level, report.service_level) == (1, 1.0)
    assert report.handle_time_average == 600.0
    assert (report.transfers, report.chats_transferred) == (1, 1)
    assert report.dispositions == {"resolved": 1}


async def test_chats_per_day_in_the_centers_zone(db: Database) -> None:
    await a_day(db)
    weekend = Period(date(2026, 11, 21), date(2026, 11, 23), ZONE)
    figures = await db.run(chat_figures, period=weekend, service_level_seconds=30)
    assert figures.as_dict()["by_day"]["days"] == [
        {
            "date": "2026-11-21",
            "offered": 0,
            "answered_by_agent": 0,
            "contained": 0,
            "abandoned_waiting": 0,
        },
        {
            "date": "2026-11-22",
            "offered": 1,
            "answered_by_agent": 0,
            "contained": 1,
            "abandoned_waiting": 0,
        },
        # Chat 7 at 23:59 is Tuesday in UTC, Monday here.
        {
            "date": "2026-11-23",
            "offered": 7,
            "answered_by_agent": 3,
            "contained": 2,
            "abandoned_waiting": 1,
        },
    ]


async def test_the_days_of_a_period_with_a_clock_change_are_whole_local_days(
    db: Database,
) -> None:
    """Daylight saving time ends on Sunday 1 November 2026 at 2:00 in Pasadena (UTC-7, then
    UTC-8): the day has 25 hours, and each chat still falls on its local day."""

    def at(day: int, hour: int, minute: int) -> datetime:
        month = 10 if day == 31 else 11
        return datetime(2026, month, day, hour, minute, tzinfo=ZONE).astimezone(UTC)

    async def store(session: AsyncSession) -> None:
        for n, started in enumerate(
            (at(31, 23, 59), at(1, 0, 30), at(1, 23, 30), at(2, 0, 10)), start=1
        ):
            await chat(session, n, started, ended=started + timedelta(minutes=1))

    await db.run(store)
    days = Period(date(2026, 10, 31), date(2026, 11, 2), ZONE)
    series = await db.run(chats_by_day, period=days)
    assert [(d.day.day, d.values[0]) for d in series.days] == [(31, 1), (1, 2), (2, 1)]
