"""Report timings: a year of the center's volume, each report over a day, a week, a month, a year.

    .venv/bin/python bench/reports.py [--chats 5000] [--requests 35000] [--after-hours 700]
        [--runs 7] [--databases sqlite,postgresql]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--seed 1]

On each database (a fresh SQLite file in a temporary directory; a throwaway PostgreSQL database
made next to --postgres's and dropped at the end), migrated to the newest revision:

1. a year of the center's work up to now is generated and inserted in bulk: --chats chats with
   their messages as the service writes them (the resident's questions, the assistant's answers
   with their `decision`, hand-overs, "<name> joined the chat.", agents' replies, transfers with
   their notes, closings with a disposition, ratings, residents who left the queue, chats the
   idle sweep closed, a few still in progress), --requests service requests over the catalogue's
   topics, channels and service levels (most resolved, some referred, some open and overdue), and
   --after-hours messages left when the center was closed;
2. the migration that added the reports' indexes is undone (REFERENCE_REVISION) and every report
   is timed without them: the reference;
3. it is applied again (timed: building the indexes over a year of rows) and every report is
   timed once more.

Each report is run as the HTTP view runs it (one `Database.run`, one period) --runs times after
one unmeasured run, over today, the last 7 days, the last 30 days and the last 365 days (in the
center's time zone); the median and the slowest run are printed against TARGET_MS. A report
page shows a period and the one before it, so it waits for two such runs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import math
import os
import random
import statistics
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg
from alembic import command
from sqlalchemy import Connection, insert, text
from sqlalchemy.engine import make_url

from chatsvc.actions.conversations import ENDED_BY, ENDED_BY_RESIDENT
from chatsvc.catalogue.knowledge import KnowledgeBase, Topic, load_knowledge_base
from chatsvc.db.database import Database
from chatsvc.db.engine import alembic_config
from chatsvc.db.models import (
    AfterHoursMessage,
    Base,
    Conversation,
    ConversationNote,
    ConversationRating,
    Message,
    Open311Client,
    Resident,
    ServiceRequest,
    Staff,
    StaffingHour,
)
from chatsvc.hours import BusinessCalendar
from chatsvc.reports import (
    Period,
    after_hours_report,
    assistant_report,
    chat_figures,
    grouped,
    requests_report,
)
from chatsvc.settings import DEFAULT_KNOWLEDGE_BASE, Settings

TARGET_MS = 200.0
REFERENCE_REVISION = "0017"  # the schema before the reports' indexes (0018)
SERVICE_LEVEL_SECONDS = 30
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"

# ----------------------------------------------------------------------------------------------
# The reports timed: how the HTTP view computes one period of each (chatsvc/transport/reports.py).
# A new report is one line here, e.g. the assistant's once it lands:
#     "assistant": lambda db, period, now, kb: db.run(assistant_report, period=period),
# and if it needs an index, REFERENCE_REVISION decides whether the reference run goes without it.

Report = Callable[[Database, Period, datetime, KnowledgeBase], Awaitable[object]]

REPORTS: dict[str, Report] = {
    "chats": lambda db, period, now, kb: db.run(
        chat_figures, period=period, service_level_seconds=SERVICE_LEVEL_SECONDS
    ),
    "requests": lambda db, period, now, kb: db.run(
        requests_report,
        period=period,
        now=now,
        topic_names={code: t.name for code, t in kb.topics.items()},
    ),
    "after-hours": lambda db, period, now, kb: db.run(after_hours_report, period=period, now=now),
    "assistant": lambda db, period, now, kb: _assistant(db, period, kb),
}


async def _assistant(db: Database, period: Period, kb: KnowledgeBase) -> Any:
    """As the endpoint computes it: the counts and questions, then grouped off the loop."""
    report = await db.run(
        assistant_report,
        period=period,
        topic_names={code: t.name for code, t in kb.topics.items()},
        article_titles={a.id: a.title for a in kb.articles},
    )
    return await grouped(report)


def periods(now: datetime, zone: Any) -> dict[str, Period]:
    """Today, and the last 7, 30 and 365 days up to today, in the center's zone."""
    today = now.astimezone(zone).date()
    return {
        "today": Period(today, today, zone),
        "week": Period(today - timedelta(days=6), today, zone),
        "month": Period(today - timedelta(days=29), today, zone),
        "year": Period(today - timedelta(days=364), today, zone),
    }


# ----------------------------------------------------------------------------------------------
# A year of the center's work

AGENTS = (
    "Ana Alvarez",
    "Ben Brooks",
    "Carmen Cruz",
    "Dev Desai",
    "Erin Ellis",
    "Farid Farah",
    "Grace Gomez",
    "Hugo Hart",
)
SUPERVISORS = ("Ivy Ito", "Jon Jensen")
# Chats per local hour of the day: the working day's peak, evenings, a quiet night.
HOUR_WEIGHTS = (
    (0.1,) * 6 + (0.3, 0.6, 1.6, 2.2, 2.4, 2.2, 1.7, 1.9, 2.1, 1.9, 1.5, 0.9)
    + (0.8, 0.7, 0.6, 0.5, 0.3, 0.2)
)  # fmt: skip
WEEKDAY_WEIGHTS = (1.1, 1.0, 1.0, 1.0, 0.9, 0.4, 0.35)  # Monday first
# Requests per topic, as the council report ranks them (the rest share what is left).
TOPIC_WEIGHTS = {
    "bulky-item-pickup": 606,
    "parking-enforcement": 591,
    "graffiti": 570,
    "abandoned-items": 345,
    "missed-trash": 290,
    "pothole": 210,
    "trash-container": 160,
    "street-light": 80,
    "abandoned-vehicle": 75,
    "code-enforcement": 70,
    "noise": 60,
    "animal-control": 55,
}
OTHER_TOPIC_WEIGHT = 30
CHANNELS = (("open311", 0.55), ("agent", 0.30), ("assistant", 0.15))
DISPOSITIONS = (("resolved", 0.68), ("referred", 0.22), ("no_response", 0.08), ("spam", 0.02))
QUESTIONS = (
    "When is bulky item pickup on my street?",
    "There is graffiti on the wall at Lake and Colorado",
    "my trash was not picked up this week",
    "Someone is parked in front of my driveway",
    "How do I pay my water bill?",
    "pothole on Orange Grove",
    "street light out on my block",
)
AGENT_LINES = (
    "Hi, thanks for waiting. Let me look into that for you.",
    "I've filed that for you; the crew will be out within the week.",
    "Could you give me the nearest cross street?",
    "Is there anything else I can help you with today?",
)
RESIDENT_LINES = ("ok thanks", "It's near the corner of Lake Ave", "yes please", "That's all.")


@dataclass
class Year:
    """Rows to insert, table by table (dicts keyed by column), and what they should add up to."""

    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Over the whole year: what the reports must find (the smoke test checks them).
    expected: Counter[str] = field(default_factory=Counter)

    def add(self, table: str, **row: Any) -> int:
        """Add a row with the next id of its table; return the id."""
        rows = self.rows.setdefault(table, [])
        row.setdefault("id", len(rows) + 1)
        rows.append(row)
        return int(row["id"])


def _choose(rng: random.Random, weighted: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


def _seconds(rng: random.Random, median: float, spread: float) -> timedelta:
    """A lognormal duration: most near `median`, a long tail (waits, handle times)."""
    return timedelta(seconds=median * math.exp(rng.gauss(0, spread)))


def _moments(rng: random.Random, now: datetime, zone: Any, n: int) -> list[datetime]:
    """`n` moments over the 365 days up to `now`, busier on weekdays and in working hours."""
    today = now.astimezone(zone).date()
    days = [today - timedelta(days=d) for d in range(365)]
    day_weights = [WEEKDAY_WEIGHTS[d.weekday()] for d in days]
    found: list[datetime] = []
    while len(found) < n:
        day = rng.choices(days, day_weights)[0]
        hour = rng.choices(range(24), HOUR_WEIGHTS)[0]
        local = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
        moment = (local + timedelta(seconds=rng.uniform(0, 3600))).astimezone(UTC)
        if moment < now:
            found.append(moment)
    return sorted(found)


def generate(
    *,
    chats: int,
    requests: int,
    after_hours: int,
    now: datetime,
    calendar: BusinessCalendar,
    kb: KnowledgeBase,
    seed: int = 1,
) -> Year:
    """A year of the center's work up to `now`, as the service would have stored it."""
    rng = random.Random(seed)
    year = Year()
    staff = [
        year.add(
            "staff",
            username=name.split()[0].lower(),
            display_name=name,
            role="supervisor" if name in SUPERVISORS else "agent",
            password_hash="!",  # nobody signs in
            disabled=False,
            max_chats=3,
            created_at=now - timedelta(days=400),
            status="offline",
            idle_since=None,
            grace_until=None,
        )
        for name in (*AGENTS, *SUPERVISORS)
    ]
    agents = staff[: len(AGENTS)]
    wanted_later = [
        start
        for start in _moments(rng, now, calendar.zone, chats)
        if _chat(year, rng, start, now, calendar, kb, agents) == "left for later"
    ]
    _after_hours(year, rng, now, calendar, wanted_later, after_hours, staff)
    _requests(year, rng, now, calendar, kb, requests, staff)
    _staffing(year, rng, now, calendar)
    return year


def _staffing(year: Year, rng: random.Random, now: datetime, calendar: BusinessCalendar) -> None:
    """The agents on duty, sampled every minute of the year: a row per local hour (8,760)."""
    zone = calendar.zone
    hour_start = (now - timedelta(days=365)).astimezone(zone).replace(minute=0, second=0)
    hour_start = hour_start.replace(microsecond=0).astimezone(UTC)
    rows = year.rows.setdefault("staffing_hours", [])
    while hour_start < now:
        local = hour_start.astimezone(zone)
        staffed = calendar.is_open(hour_start)
        rows.append(
            {
                "hour_start": hour_start,
                "weekday": local.weekday(),
                "hour": local.hour,
                "minutes": 60,
                "on_duty_sum": 60 * rng.randint(2, 5) if staffed else 0,
                "last_minute": hour_start + timedelta(minutes=59),
            }
        )
        hour_start += timedelta(hours=1)


def _chat(
    year: Year,
    rng: random.Random,
    start: datetime,
    now: datetime,
    calendar: BusinessCalendar,
    kb: KnowledgeBase,
    agents: list[int],
) -> str:
    """One chat with its messages (those written by `now`); say whether its resident wanted a
    person while the center was closed."""
    n = len(year.rows.get("conversations", ())) + 1
    resident = year.add(
        "residents", name=f"Resident {n}", email=f"resident{n}@example.com", created_at=start
    )
    messages: list[tuple[datetime, str, str | None, str, dict[str, Any] | None]] = []
    clock = start
    topics = list(kb.topics.values())

    def say(
        kind: str, author: str | None, body: str, decision: dict[str, Any] | None = None
    ) -> None:
        messages.append((clock, kind, author, body, decision))

    def tick(median: float) -> None:
        nonlocal clock
        clock += _seconds(rng, median, 0.6)

    staffed = calendar.is_open(start)
    topic = rng.choice(topics)
    for _ in range(rng.choice((1, 1, 2, 3))):
        say("resident", f"Resident {n}", rng.choice(QUESTIONS))
        tick(1.5)
        band = _choose(rng, (("confident", 0.65), ("unsure", 0.2), ("none", 0.15)))
        say(
            "assistant",
            "City Assistant",
            "An answer from the knowledge base.",
            _decision(topic, band),
        )
        tick(40)
    wants_person = rng.random() < (0.45 if staffed else 0.3)
    handoff = joined = None
    agent: int | None = None
    transfers = 0
    end_kind = "resident"
    reason = None
    if wants_person:
        say("resident", f"Resident {n}", "I'd like to talk to a person, please.")
        tick(1.5)
        if staffed:
            handoff = clock
            reason = _choose(rng, (("asked", 0.8), ("no_match", 0.15), ("emergency", 0.05)))
            answer = "Of course. I'm bringing in a member of the team."
        else:
            answer = "Our team is away right now, so nobody can join this chat."  # and the form
        say("assistant", "City Assistant", answer, _decision(topic, "confident", intent="human"))
    if handoff is not None and rng.random() < 0.86:
        clock += _seconds(rng, 25, 1.1)  # the answer delay
        agent = rng.choice(agents)
        joined = clock
        say("system", None, f"{_first_name(year, agent)} joined the chat.")
        for line in rng.sample(AGENT_LINES, rng.randint(2, 4)):
            tick(30)
            say("agent", _first_name(year, agent), line)
            tick(45)
            say("resident", f"Resident {n}", rng.choice(RESIDENT_LINES))
        if rng.random() < 0.05 and clock <= now:
            transfers = 1
            previous, agent = agent, rng.choice([a for a in agents if a != agent])
            year.add(
                "conversation_notes",
                conversation_id=n,
                staff_id=previous,
                kind="transfer",
                body="Resident asks about a bill: over to billing.",
                created_at=clock,
            )
            tick(20)
            say("system", None, f"{_first_name(year, agent)} joined the chat.")
            tick(120)
            say("agent", _first_name(year, agent), rng.choice(AGENT_LINES))
        tick(60)
        end_kind = "agent"
    elif handoff is not None:
        clock += _seconds(rng, 90, 0.9)  # gave up waiting
        end_kind = "abandoned"
    else:
        end_kind = _choose(rng, (("resident", 0.5), ("idle", 0.5)))
        if end_kind == "idle":
            clock += timedelta(minutes=30)
    ended = clock <= now
    disposition = _choose(rng, DISPOSITIONS) if ended and end_kind == "agent" else None
    if ended:
        notice = ENDED_BY[end_kind].format(
            agent=_first_name(year, agent) if agent else "", minutes=30
        )
        marker = {"notice": ENDED_BY_RESIDENT} if end_kind == "resident" else None
        say("system", None, notice, marker)
    written = [m for m in messages if m[0] <= now]
    for seq, (at, kind, author, body, decision) in enumerate(written, start=1):
        year.add(
            "messages",
            conversation_id=n,
            seq=seq,
            client_id=None,
            author_kind=kind,
            author_name=author,
            body=body,
            created_at=at,
            format="markdown" if kind == "assistant" else "text",
            quick_replies=None,
            decision=decision,
            photo_id=None,
        )
    joined = joined if joined is not None and joined <= now else None
    stage = "agent" if joined else ("waiting" if handoff is not None else "assistant")
    year.add(
        "conversations",
        token_hash=hashlib.sha256(f"bench-{n}".encode()).hexdigest(),
        resident_id=resident,
        status="ended" if ended else "open",
        created_at=start,
        updated_at=written[-1][0],
        ended_at=clock if ended else None,
        last_seq=len(written),
        resident_read_seq=len(written),
        staff_read_seq=len(written),
        stage=stage,
        topic=topic.code,
        assistant_misses=0,
        handoff_reason=reason,
        handoff_at=handoff,
        priority=0 if reason == "emergency" else 2,
        queued_at=handoff,
        workgroup=topic.workgroup if handoff is not None else None,
        workgroup_only=False,
        assigned_staff_id=agent if joined else None,
        assigned_at=joined,
        agent_name=_first_name(year, agent) if joined and agent else None,
        first_agent_reply_at=joined,
        disposition=disposition,
        ended_by=end_kind if ended else None,
        resident_left_at=clock if ended else None,
        assistant_flow=None,
        sender_key=hashlib.sha256(f"address-{n % 3000}".encode()).hexdigest(),
        transcript_sent_at=None,
        transcript_sent_to=None,
    )
    if joined and ended and rng.random() < 0.3:
        score = rng.choices((1, 2, 3, 4, 5), (0.05, 0.05, 0.1, 0.3, 0.5))[0]
        year.add(
            "conversation_ratings",
            conversation_id=n,
            staff_id=agent,
            score=score,
            comment=None,
            created_at=clock + timedelta(seconds=20),
        )
        year.expected["ratings"] += 1
    e = year.expected
    e["offered"] += 1
    e["answered_by_agent"] += joined is not None
    e["contained_by_assistant"] += ended and handoff is None and joined is None
    e["abandoned_waiting"] += ended and handoff is not None and joined is None
    e["in_progress"] += not ended
    e["transfers"] += transfers
    e["messages"] += len(written)
    # A resident who wanted a person while the center was closed may leave a message.
    return "left for later" if wants_person and not staffed else "done"


def _decision(topic: Topic, band: str, *, intent: str | None = None) -> dict[str, Any]:
    """What the assistant records of a message it answered (bot/matcher.py's Decision)."""
    score = {"confident": 0.82, "unsure": 0.47, "none": 0.12}[band]
    return {
        "intent": intent or (topic.code if band != "none" else "none"),
        "band": band,
        "score": score,
        "article_id": f"{topic.code}-1" if band == "confident" else None,
        "suggestions": [],
        "request_number": None,
        "crisis": False,
        "language": "en",
        "topic_guess": topic.code if intent == "human" else None,
    }


def _first_name(year: Year, staff_id: int | None) -> str:
    assert staff_id is not None
    return str(year.rows["staff"][staff_id - 1]["display_name"]).split()[0]


def _after_hours(
    year: Year,
    rng: random.Random,
    now: datetime,
    calendar: BusinessCalendar,
    wanted_later: list[datetime],
    n: int,
    staff: list[int],
) -> None:
    """`n` messages left when the center was closed: first by residents whose chat wanted a
    person then (its form), the rest at other closed moments."""
    moments = rng.sample(wanted_later, min(n, len(wanted_later)))
    while len(moments) < n:
        moment = now - timedelta(seconds=rng.uniform(0, 364 * 86400))
        if not calendar.is_open(moment):
            moments.append(moment)
    for i, received in enumerate(sorted(moments), start=1):
        received = min(received + timedelta(minutes=2), now)
        due = calendar.reply_due(received)
        spam = rng.random() < 0.04
        replied = None
        if not spam and rng.random() < 0.93:
            # Most are answered the next morning; some only the day after.
            opening = calendar.next_opening(received)
            replied = opening + _seconds(rng, 3 * 3600, 1.0)
        replied = replied if replied is not None and replied <= now else None
        status = "spam" if spam else "replied" if replied else _choose(
            rng, (("new", 0.6), ("in_progress", 0.2), ("closed", 0.2))
        )  # fmt: skip
        year.add(
            "after_hours_messages",
            reference=f"M-B{i:05d}",
            client_id=None,
            name=f"Resident {i}",
            email=f"late{i}@example.com",
            body="Please call me back about my bulky item pickup.",
            conversation_id=None,
            received_at=received,
            reply_due=due,
            status=status,
            spam_score=0.9 if spam else 0.0,
            spam_reasons=["links"] if spam else None,
            sender_key=hashlib.sha256(f"late-{i}".encode()).hexdigest(),
            owner_staff_id=rng.choice(staff) if replied else None,
            claimed_at=replied,
            reply_body="Thanks for your message: here is the answer." if replied else None,
            replied_at=replied,
            replied_by=rng.choice(staff) if replied else None,
        )
        year.expected["after_hours_left"] += not spam
        year.expected["after_hours_spam"] += spam


def _requests(
    year: Year,
    rng: random.Random,
    now: datetime,
    calendar: BusinessCalendar,
    kb: KnowledgeBase,
    n: int,
    staff: list[int],
) -> None:
    """`n` service requests over the catalogue's request topics, most of them resolved."""
    topics = [t for t in kb.topics.values() if t.is_request]
    weights = [TOPIC_WEIGHTS.get(t.code, OTHER_TOPIC_WEIGHT) for t in topics]
    client = year.add(
        "open311_clients",
        name="City app",
        key_hash=hashlib.sha256(b"bench").hexdigest(),
        created_at=now - timedelta(days=400),
        revoked_at=None,
    )

    @cache
    def due(day: date, days: int) -> datetime:
        return calendar.business_days_after(datetime.combine(day, datetime.min.time(), UTC), days)

    for i, requested in enumerate(_moments(rng, now, calendar.zone, n), start=1):
        topic = rng.choices(topics, weights)[0]
        source = _choose(rng, CHANNELS)
        # business_days_after reads the local date; noon UTC is the same date in the Americas.
        expected = due(requested.astimezone(calendar.zone).date(), max(1, topic.service_days))
        fate = _choose(rng, (("closed", 0.89), ("referred", 0.08), ("stuck", 0.03)))
        closed = None
        if fate != "stuck":
            # About three in four are done within the topic's service level.
            share = math.exp(rng.gauss(-0.5 if fate == "closed" else -1.5, 0.7))
            closed = requested + (expected - requested) * share
        closed = closed if closed is not None and closed <= now else None
        status = fate if closed else rng.choice(("open", "in_progress"))
        year.add(
            "service_requests",
            number=f"{requested:%y}-{i:06d}",
            client_id=None,
            service_code=topic.code,
            department=topic.department,
            workgroup=topic.workgroup,
            status=status,
            referred_to="Los Angeles County" if status == "referred" else None,
            next_steps=None,
            address=f"{rng.randint(1, 2999)} E Colorado Blvd",
            lat=34.14 + rng.uniform(-0.03, 0.03),
            long=-118.14 + rng.uniform(-0.05, 0.05),
            description="Reported by a resident.",
            attributes={},
            media_url=None,
            contact_name=f"Resident {i}",
            contact_email=f"requester{i}@example.com",
            contact_phone=None,
            conversation_id=None,
            source=source,
            created_by_staff_id=rng.choice(staff) if source == "agent" else None,
            open311_client_id=client if source == "open311" else None,
            requested_at=requested,
            updated_at=closed or requested,
            expected_at=expected,
            closed_at=closed,
        )
        year.expected["requests"] += 1
        year.expected["requests_resolved"] += closed is not None
        year.expected["requests_overdue"] += closed is None and expected < now


# ----------------------------------------------------------------------------------------------
# Loading it

# Parents before children (foreign keys).
TABLES = (
    Staff,
    Resident,
    Conversation,
    Message,
    ConversationNote,
    ConversationRating,
    AfterHoursMessage,
    Open311Client,
    ServiceRequest,
    StaffingHour,
)
CHUNK = 5000


async def load(db: Database, year: Year) -> None:
    """Insert the year in bulk (executemany), then move PostgreSQL's id sequences past it."""
    async with db.engine.begin() as conn:
        for model in TABLES:
            table = Base.metadata.tables[model.__tablename__]
            rows = year.rows.get(model.__tablename__, [])
            for at in range(0, len(rows), CHUNK):
                await conn.execute(insert(table), rows[at : at + CHUNK])
            if rows and conn.dialect.name == "postgresql" and "id" in table.c:
                await conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), :last)"),
                    {"last": len(rows)},
                )


async def migrate(db: Database, revision: str, down: bool = False) -> float:
    """Move the schema to `revision`; return the seconds it took."""

    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        (command.downgrade if down else command.upgrade)(config, revision)

    started = time.perf_counter()
    async with db.engine.begin() as conn:
        await conn.run_sync(run)
    return time.perf_counter() - started


async def analyze(db: Database) -> None:
    """PostgreSQL's statistics, as autovacuum would have them after a bulk load (SQLite never
    runs ANALYZE in service, so it is measured without)."""
    if db.engine.dialect.name == "postgresql":
        async with db.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))


# ----------------------------------------------------------------------------------------------
# Timing


@dataclass(frozen=True)
class Timing:
    """One figure's runs, in ms: wall clock, and this process's CPU (the whole of SQLite's
    work, which runs in it; only the client's for PostgreSQL). On a loaded machine the wall
    clock grows with the other work; the CPU much less."""

    wall: list[float]
    cpu: list[float]


async def time_reports(
    db: Database, now: datetime, kb: KnowledgeBase, runs: int
) -> dict[tuple[str, str], Timing]:
    """Each report over each period, `runs` times after one unmeasured run."""
    timings: dict[tuple[str, str], Timing] = {}
    for name, report in REPORTS.items():
        for label, period in periods(now, ZoneInfo(db.settings.timezone)).items():
            await report(db, period, now, kb)
            timing = Timing([], [])
            for _ in range(runs):
                wall, cpu = time.perf_counter(), time.process_time()
                await report(db, period, now, kb)
                timing.wall.append((time.perf_counter() - wall) * 1000)
                timing.cpu.append((time.process_time() - cpu) * 1000)
            timings[name, label] = timing
    return timings


@dataclass
class Run:
    database: str
    generate_s: float
    load_s: float
    index_s: float
    rows: dict[str, int]
    before: dict[tuple[str, str], Timing]
    after: dict[tuple[str, str], Timing]


async def bench_one(url: str, args: argparse.Namespace, kb: KnowledgeBase) -> Run:
    settings = Settings(database_url=url, auto_migrate=True)
    calendar = BusinessCalendar.from_settings(settings)
    now = datetime.now(UTC)
    started = time.perf_counter()
    year = generate(
        chats=args.chats,
        requests=args.requests,
        after_hours=args.after_hours,
        now=now,
        calendar=calendar,
        kb=kb,
        seed=args.seed,
    )
    generate_s = time.perf_counter() - started
    db = Database(settings)
    await db.open()
    try:
        started = time.perf_counter()
        await load(db, year)
        load_s = time.perf_counter() - started
        await migrate(db, REFERENCE_REVISION, down=True)
        await analyze(db)
        before = await time_reports(db, now, kb, args.runs)
        index_s = await migrate(db, "head")
        after = await time_reports(db, now, kb, args.runs)
    finally:
        await db.close()
    rows = {table: len(found) for table, found in year.rows.items()}
    name = make_url(url).get_backend_name()
    return Run(name, generate_s, load_s, index_s, rows, before, after)


def _verdict(timing: Timing) -> str:
    return "met" if max(timing.wall) < TARGET_MS else "MISSED"


def _cells(timing: Timing) -> str:
    median, slowest, cpu = statistics.median(timing.wall), max(timing.wall), timing.cpu
    return f"{median:>9.1f} {slowest:>9.1f} {statistics.median(cpu):>10.1f}"


def report_run(run: Run) -> None:
    rows = run.rows
    print(
        f"\n{run.database}: {rows['conversations']:,} chats, {rows['messages']:,} messages, "
        f"{rows['service_requests']:,} requests, {rows['after_hours_messages']:,} after-hours "
        f"messages; generated in {run.generate_s:.1f} s, inserted in {run.load_s:.1f} s, "
        f"indexes (0018) built in {run.index_s:.2f} s"
    )
    cpu = "CPU" if run.database == "sqlite" else "client CPU"
    print(f"{'':>20} | {'without 0018':^30} | {'with 0018':^30} |")
    print(
        f"{'report':>12} {'period':>7} | {'median':>9} {'max':>9} {cpu:>10} | "
        f"{'median':>9} {'max':>9} {cpu:>10} | target: max < {TARGET_MS:g} ms"
    )
    for name, label in run.after:
        before, after = run.before[name, label], run.after[name, label]
        print(f"{name:>12} {label:>7} | {_cells(before)} | {_cells(after)} | {_verdict(after)}")
    print("(ms; CPU: the median run's CPU time in this process)")


# ----------------------------------------------------------------------------------------------
# Throwaway databases


@contextlib.asynccontextmanager
async def throwaway(kind: str, postgres: str) -> AsyncIterator[str]:
    """A new, empty database of `kind`, gone afterwards whatever happens."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="bench-reports-") as folder:
            yield f"sqlite+aiosqlite:///{Path(folder) / 'reports.db'}"
        return
    name = f"bench_reports_{uuid.uuid4().hex[:12]}"
    admin = make_url(postgres)
    dsn = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
        try:
            yield admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(
                hide_password=False
            )
        finally:
            await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def bench(args: argparse.Namespace) -> int:
    kb = load_knowledge_base(DEFAULT_KNOWLEDGE_BASE)
    load_1, _, _ = os.getloadavg()
    print(
        f"a year: {args.chats:,} chats, {args.requests:,} requests, {args.after_hours:,} "
        f"after-hours messages; {args.runs} runs per figure after one unmeasured; "
        f"machine: {os.cpu_count()} cores, load average {load_1:.2f} at the start"
    )
    missed = 0
    for kind in args.databases.split(","):
        async with throwaway(kind, args.postgres) as url:
            run = await bench_one(url, args, kb)
        report_run(run)
        missed += sum(max(t.wall) >= TARGET_MS for t in run.after.values())
    load_1, _, _ = os.getloadavg()
    print(f"\nload average {load_1:.2f} at the end; {missed} figures over the target")
    return 1 if missed else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=35000)
    parser.add_argument("--after-hours", type=int, default=700)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES, help="an admin connection")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if set(args.databases.split(",")) - {"sqlite", "postgresql"}:
        parser.error("--databases: sqlite, postgresql or both, separated by a comma")
    return asyncio.run(bench(args))


if __name__ == "__main__":
    raise SystemExit(main())
