"""The assistant's report against a small day computed by hand (SQLite and PostgreSQL).

Monday 23 November 2026 in Pasadena. Local times; each line is a resident's message and what
the assistant made of it:

A. 09:00 "my old couch needs picking up"     bulky-item-pickup, confident (its article)
   09:01 "thanks"                             thanks
B. 10:00 "the thingamajig is broken"          no match
   10:01 "the thingamajig is still broken!!"  no match, the second: handed over (no_match)
C. 11:00 "holes in the road on main"          pothole, unsure (three articles offered)
   11:02 "talk to a person"                   human: handed over (asked)
D. 12:00 "necesito ayuda con la basura"       no match, in Spanish
   12:05 a filing dialogue's step and a system notice: not decisions of the matcher
E. Sunday 22, 15:00 "pothole"                 pothole, confident: the day before
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.db.database import Database
from chatsvc.db.models import Conversation, Message, Resident
from chatsvc.reports import Period, assistant_report, grouped
from chatsvc.reports.assistant import Question, group_questions
from tests.actions.test_reports import MONDAY, local

COUCH = "bulky-item-pickup/schedule"
TOPICS = {"bulky-item-pickup": "Bulky Item Pickup", "pothole": "Pothole"}
ARTICLES = {COUCH: "Schedule a bulky item pickup"}


def decided(intent: str, band: str, *, language: str = "en", **more: Any) -> dict[str, Any]:
    return {"intent": intent, "band": band, "score": 0.5, "language": language, **more}


NOTHING = decided("none", "none")
OFFERED = [
    {"topic": "pothole", "article_id": "pothole/report", "title": "Report a pothole"},
    {"topic": "pothole", "article_id": "pothole/repair", "title": "When potholes are fixed"},
    {"topic": "sidewalk-repair", "article_id": "sidewalk/x", "title": "Sidewalk repair"},
]


async def conversation(
    session: AsyncSession,
    n: int,
    turns: list[tuple[datetime, str, dict[str, Any] | None]],
    *,
    handoff: tuple[datetime, str] | None = None,
    extra: list[tuple[datetime, str, dict[str, Any]]] = (),  # type: ignore[assignment]
) -> int:
    """A chat of (time, resident's words, the assistant's decision) turns."""
    resident = Resident(name=f"Resident {n}", email="", created_at=turns[0][0])
    session.add(resident)
    await session.flush()
    row = Conversation(
        token_hash=f"assistant-{n}",
        resident_id=resident.id,
        status="open",
        created_at=turns[0][0],
        updated_at=turns[-1][0],
        stage="waiting" if handoff else "assistant",
        handoff_at=handoff[0] if handoff else None,
        handoff_reason=handoff[1] if handoff else None,
    )
    session.add(row)
    await session.flush()
    seq = 0

    def add(at: datetime, kind: str, body: str, decision: dict[str, Any] | None) -> None:
        nonlocal seq
        seq += 1
        session.add(
            Message(
                conversation_id=row.id,
                seq=seq,
                author_kind=kind,
                author_name=None,
                body=body,
                created_at=at,
                decision=decision,
            )
        )

    for at, words, decision in turns:
        add(at, "resident", words, None)
        add(at, "assistant", "An answer", decision)
    for at, kind, decision in extra:
        add(at, kind, "Something else", decision)
    row.last_seq = seq
    return row.id


async def a_day(db: Database) -> dict[str, int]:
    async def store(session: AsyncSession) -> dict[str, int]:
        a = await conversation(
            session,
            1,
            [
                (
                    local(9, 0),
                    "my old couch needs picking up",
                    decided("bulky-item-pickup", "confident", article_id=COUCH),
                ),
                (local(9, 1), "thanks", decided("thanks", "confident")),
            ],
        )
        b = await conversation(
            session,
            2,
            [
                (local(10, 0), "the thingamajig is broken", NOTHING),
                (
                    local(10, 1),
                    "the thingamajig is still broken!!",
                    {**NOTHING, "handoff": "no_match"},
                ),
            ],
            handoff=(local(10, 1), "no_match"),
        )
        c = await conversation(
            session,
            3,
            [
                (
                    local(11, 0),
                    "holes in the road on main",
                    decided("pothole", "unsure", suggestions=OFFERED),
                ),
                (local(11, 2), "talk to a person", decided("human", "confident")),
            ],
            handoff=(local(11, 2), "asked"),
        )
        d = await conversation(
            session,
            4,
            [
                (
                    local(12, 0),
                    "necesito ayuda con la basura",
                    decided("none", "none", language="es"),
                )
            ],
            extra=[
                (local(12, 5), "assistant", {"dialogue": "filing", "step": "address"}),
                (local(12, 6), "system", {"notice": "ended_by_resident"}),
            ],
        )
        await conversation(
            session, 5, [(local(15, 0, day=22), "pothole", decided("pothole", "confident"))]
        )
        return {"a": a, "b": b, "c": c, "d": d}

    return await db.run(store)


async def test_the_assistants_figures_of_a_hand_computed_day(db: Database) -> None:
    ids = await a_day(db)
    report = await db.run(
        assistant_report, period=MONDAY, topic_names=TOPICS, article_titles=ARTICLES
    )
    assert (report.answers, report.conversations) == (7, 4)
    assert report.intents == {"emergency": 0, "human": 1, "status": 0, "greeting": 0, "thanks": 1}
    assert report.bands == {"confident": 1, "unsure": 1, "none": 3}
    assert report.languages == {"en": 6, "es": 1}
    assert [t.as_dict() for t in report.topics] == [
        {
            "code": "bulky-item-pickup",
            "name": "Bulky Item Pickup",
            "asked": 1,
            "confident": 1,
            "unsure": 0,
        },
        {"code": "pothole", "name": "Pothole", "asked": 1, "confident": 0, "unsure": 1},
    ]
    assert report.articles == ((COUCH, "Schedule a bulky item pickup", 1),)
    assert report.handovers == {"no_match": 1, "asked": 1}
    assert report.unanswered == {"no_match": 2, "unsure": 1, "handed_over": 1}

    full = (await grouped(report)).as_dict()
    assert full["unanswered"]["total"] == 4 and full["questions_grouped"] == 4
    groups = full["groups"]
    # Newest group first; the two thingamajig questions are one group, newest first in it.
    assert [g["example"] for g in groups] == [
        "necesito ayuda con la basura",
        "holes in the road on main",
        "the thingamajig is still broken!!",
    ]
    assert [g["count"] for g in groups] == [1, 1, 2]
    spanish, unsure, broken = groups
    assert spanish["questions"][0]["language"] == "es"
    assert spanish["questions"][0]["conversation_id"] == ids["d"]
    assert unsure["questions"][0]["kind"] == "unsure"
    assert unsure["questions"][0]["offered"] == [o["title"] for o in OFFERED]
    assert [(q["kind"], q["conversation_id"]) for q in broken["questions"]] == [
        ("handed_over", ids["b"]),
        ("no_match", ids["b"]),
    ]


async def test_the_day_before_is_apart_and_an_empty_day_is_zeros(db: Database) -> None:
    await a_day(db)
    sunday = MONDAY.previous()
    report = await db.run(assistant_report, period=sunday, topic_names=TOPICS, article_titles={})
    assert (report.answers, report.conversations, report.bands["confident"]) == (1, 1, 1)
    assert report.questions == () and report.handovers == {}
    empty = Period(MONDAY.start.replace(year=2025), MONDAY.end.replace(year=2025), MONDAY.zone)
    nothing = (
        await grouped(
            await db.run(assistant_report, period=empty, topic_names={}, article_titles={})
        )
    ).as_dict()
    assert nothing["answers"] == 0 and nothing["groups"] == [] and nothing["topics"] == []
    assert nothing["unanswered"]["total"] == 0


def test_questions_alike_are_grouped_whatever_their_typos_and_word_order() -> None:
    def q(n: int, text: str) -> Question:
        return Question(n, 2, text, local(9, n), "no_match", "en")

    groups = group_questions(
        [
            q(1, "Where can I charge my electric car?"),
            q(2, "electric car charging stations where"),
            q(3, "where can i charge my elecrtic car"),
            q(4, "Is the library open on Sunday?"),
            q(5, "library open sundays?"),
            q(6, "how do I adopt a goat"),
            q(7, "???"),
        ]
    )
    assert [[m.conversation_id for m in g.questions] for g in groups] == [
        [1, 2, 3],
        [4, 5],
        [6],
        [7],
    ]
