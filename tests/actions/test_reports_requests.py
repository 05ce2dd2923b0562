"""The request and after-hours measures against a small, hand-computed set (SQLite, PostgreSQL).

Monday 23 November 2026 in Pasadena (UTC-8); the report is read on Tuesday 24 at 10:00 local.

Requests (topic, department, channel; opened; due; what became of it):

1. bulky, Public Works, assistant; Mon 09:00; due Wed 17:00; open: open now.
2. graffiti, Public Works, agent; Mon 10:00; due Mon 12:00; in progress: overdue now.
3. graffiti, Public Works, open311; Mon 11:00; due Tue 17:00; closed Mon 15:00: 4 h, in time.
4. parking, Transportation, agent; Mon 12:00; due Mon 13:00; referred Mon 14:00: 2 h, late.
5. bulky, Public Works, assistant; Fri 20 09:00; due Mon 09:00; closed Mon 16:00: 79 h, late
   (resolved on Monday, opened before it).
6. tree, Parks, open311; Sun 22 10:00; due Tue 09:00; open: the previous day, overdue now.
7. parking, Transportation, assistant; Mon 13:00; due Wed 17:00; closed Tue 09:00 (after Monday).

After-hours messages (left; due; what became of it):

A. Mon 01:00; due Mon 17:00; replied Mon 09:30 (8 h 30 min): on time.
B. Mon 02:00; due Mon 17:00; replied Mon 18:00 (16 h): late.
C. Mon 03:00; due Mon 17:00; new: overdue now.
D. Mon 22:00; due Tue 17:00; in progress: not answered yet.
E. Mon 23:00; due Tue 17:00; closed without a reply.
F. Mon 04:00; spam.
G. Sun 22 22:00; due Mon 17:00; replied Mon 08:00: the previous day, on time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.db.database import Database
from chatsvc.db.models import AfterHoursMessage, ServiceRequest
from chatsvc.reports import Period, after_hours_report, requests_report

ZONE = ZoneInfo("America/Los_Angeles")
MONDAY = Period(date(2026, 11, 23), date(2026, 11, 23), ZONE)
NOW = datetime(2026, 11, 24, 10, 0, tzinfo=ZONE).astimezone(UTC)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=ZONE).astimezone(UTC)


REQUESTS = (
    # code, department, source, opened, due, status, closed
    ("bulky", "Public Works", "assistant", at(23, 9), at(25, 17), "open", None),
    ("graffiti", "Public Works", "agent", at(23, 10), at(23, 12), "in_progress", None),
    ("graffiti", "Public Works", "open311", at(23, 11), at(24, 17), "closed", at(23, 15)),
    ("parking", "Transportation", "agent", at(23, 12), at(23, 13), "referred", at(23, 14)),
    ("bulky", "Public Works", "assistant", at(20, 9), at(23, 9), "closed", at(23, 16)),
    ("tree", "Parks", "open311", at(22, 10), at(24, 9), "open", None),
    ("parking", "Transportation", "assistant", at(23, 13), at(25, 17), "closed", at(24, 9)),
)

MESSAGES = (
    # received, due, status, replied
    (at(23, 1), at(23, 17), "replied", at(23, 9, 30)),
    (at(23, 2), at(23, 17), "replied", at(23, 18)),
    (at(23, 3), at(23, 17), "new", None),
    (at(23, 22), at(24, 17), "in_progress", None),
    (at(23, 23), at(24, 17), "closed", None),
    (at(23, 4), at(24, 17), "spam", None),
    (at(22, 22), at(23, 17), "replied", at(23, 8)),
)


async def a_day_of_requests_and_messages(db: Database) -> None:
    async def store(session: AsyncSession) -> None:
        for n, (code, department, source, opened, due, status, closed) in enumerate(REQUESTS, 1):
            session.add(
                ServiceRequest(
                    number=f"26-{n:06d}",
                    service_code=code,
                    department=department,
                    workgroup=department,
                    status=status,
                    referred_to="Caltrans" if status == "referred" else None,
                    description=f"Request {n}",
                    attributes={},
                    source=source,
                    requested_at=opened,
                    updated_at=closed or opened,
                    expected_at=due,
                    closed_at=closed,
                )
            )
        for n, (received, due, status, replied) in enumerate(MESSAGES, 1):
            session.add(
                AfterHoursMessage(
                    reference=f"AH-{n}",
                    name=f"Resident {n}",
                    email=f"r{n}@example.com",
                    body="Please call me back",
                    received_at=received,
                    reply_due=due,
                    status=status,
                    spam_score=1.0 if status == "spam" else 0.0,
                    sender_key=f"key-{n}",
                    reply_body="Done" if replied else None,
                    replied_at=replied,
                )
            )

    await db.run(store)


PERIOD = {"from": "2026-11-23", "to": "2026-11-23", "days": 1, "time_zone": "America/Los_Angeles"}


async def test_the_request_measures_of_a_hand_computed_day(db: Database) -> None:
    await a_day_of_requests_and_messages(db)
    names = {"graffiti": "Graffiti", "bulky": "Bulky item pickup"}  # parking is not in it
    report = await db.run(requests_report, period=MONDAY, now=NOW, topic_names=names)
    assert report.as_dict() == {
        "period": PERIOD,
        "opened": 5,  # 1, 2, 3, 4, 7
        "open_now": 2,  # 1, 2
        "overdue_now": 1,  # 2
        "resolved": {"count": 3, "closed": 2, "referred": 1},  # 3, 5; 4
        "service_level": {"resolved_within": 1, "share": 0.3333},  # 3
        "resolve_time_average_seconds": 102_000.0,  # (4 h + 2 h + 79 h) / 3
        "by_department": [
            {"department": "Public Works", "opened": 3, "open_now": 2, "overdue_now": 1},
            {"department": "Transportation", "opened": 2, "open_now": 0, "overdue_now": 0},
        ],
        "by_topic": [
            {
                "service_code": "graffiti",
                "name": "Graffiti",
                "opened": 2,
                "open_now": 1,
                "overdue_now": 1,
            },
            {
                "service_code": "parking",
                "name": None,
                "opened": 2,
                "open_now": 0,
                "overdue_now": 0,
            },
            {
                "service_code": "bulky",
                "name": "Bulky item pickup",
                "opened": 1,
                "open_now": 1,
                "overdue_now": 0,
            },
        ],
        "by_channel": [
            {"source": "agent", "opened": 2, "open_now": 1, "overdue_now": 1},
            {"source": "assistant", "opened": 2, "open_now": 1, "overdue_now": 0},
            {"source": "open311", "opened": 1, "open_now": 0, "overdue_now": 0},
        ],
        "by_day": {"days": [{"date": "2026-11-23", "opened": 5, "resolved": 3}]},
    }
    previous = await db.run(requests_report, period=MONDAY.previous(), now=NOW)
    assert (previous.opened, previous.open_now, previous.overdue_now) == (1, 1, 1)
    assert (previous.resolved, previous.service_level, previous.resolve_time_average) == (
        0,
        None,
        None,
    )
    assert [(r.key, r.opened) for r in previous.by_department] == [("Parks", 1)]
    # Earlier, request 2 was not yet overdue (due Monday noon).
    morning = await db.run(requests_report, period=MONDAY, now=at(23, 11, 59))
    assert morning.overdue_now == 0


async def test_only_the_twenty_most_opened_topics_are_listed(db: Database) -> None:
    async def store(session: AsyncSession) -> None:
        for n in range(22):
            for copy in range(2 if n == 21 else 1):
                session.add(
                    ServiceRequest(
                        number=f"26-{n:04d}{copy}",
                        service_code=f"topic-{n:02d}",
                        department="Public Works",
                        workgroup="Public Works",
                        status="open",
                        description="x",
                        attributes={},
                        source="agent",
                        requested_at=at(23, 9),
                        updated_at=at(23, 9),
                        expected_at=at(25, 9),
                    )
                )

    await db.run(store)
    report = await db.run(requests_report, period=MONDAY, now=NOW)
    codes = [r.key for r in report.by_topic]
    # The most opened first, then by code; topic-19 and topic-20 fall off.
    assert codes == ["topic-21", *(f"topic-{n:02d}" for n in range(19))]
    assert report.opened == 23


async def test_the_after_hours_measures_of_a_hand_computed_day(db: Database) -> None:
    await a_day_of_requests_and_messages(db)
    report = await db.run(after_hours_report, period=MONDAY, now=NOW)
    assert report.as_dict() == {
        "period": PERIOD,
        "left": 5,  # A to E; F is spam
        "answered_on_time": 1,  # A
        "answered_late": 1,  # B
        "overdue_now": 1,  # C
        "not_answered_yet": 1,  # D
        "closed_without_reply": 1,  # E
        "spam": 1,  # F
        "reply_time_average_seconds": 44_100.0,  # (8.5 h + 16 h) / 2
    }
    previous = await db.run(after_hours_report, period=MONDAY.previous(), now=NOW)
    assert (previous.left, previous.answered_on_time, previous.spam) == (1, 1, 0)
    assert previous.reply_time_average == 36_000.0  # Sun 22:00 to Mon 08:00
    # Had it been read on Monday at noon, C and D would be waiting, neither overdue.
    noon = await db.run(after_hours_report, period=MONDAY, now=at(23, 12))
    assert (noon.overdue_now, noon.not_answered_yet) == (0, 2)


async def test_requests_opened_and_resolved_per_day(db: Database) -> None:
    await a_day_of_requests_and_messages(db)
    week = Period(date(2026, 11, 20), date(2026, 11, 24), ZONE)
    report = await db.run(requests_report, period=week, now=NOW)
    assert report.as_dict()["by_day"]["days"] == [
        {"date": "2026-11-20", "opened": 1, "resolved": 0},
        {"date": "2026-11-21", "opened": 0, "resolved": 0},
        {"date": "2026-11-22", "opened": 1, "resolved": 0},
        {"date": "2026-11-23", "opened": 5, "resolved": 3},
        {"date": "2026-11-24", "opened": 0, "resolved": 1},
    ]
    assert report.daily.total("opened") == report.opened == 7
