"""Residents rate a chat a person answered ("How did we do?"), and supervisors read the ratings.

Which chats: ended ones an agent held or wrote in. Which agent: the one who held the chat last
(`assigned_staff_id` when it ended, kept by `end_conversation`): the person the resident saw
answering at the end, whoever ended it; a chat whose agent was lost before it ended has no
agent (the rating still counts for the center). Once per conversation: a second rating is
refused (`already_taken`), so a rating cannot be rewritten later by whoever holds the token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions.conversation_state import ConversationStatus
from chatsvc.actions.conversations import get_conversation, iso_utc
from chatsvc.db.models import ConversationRating, Message, Staff
from chatsvc.errors import AlreadyTaken, ConversationEnded, NotFound

SCORES = {1: "very poor", 2: "poor", 3: "okay", 4: "good", 5: "very good"}
MAX_COMMENT_CHARS = 1000


@dataclass(frozen=True)
class RatingView:
    conversation_id: int
    score: int
    comment: str | None  # the resident's words: shown as their text, never as markup
    staff_id: int | None
    staff_name: str | None
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "score": self.score,
            "label": SCORES[self.score],
            "comment": self.comment,
            "staff": {"id": self.staff_id, "name": self.staff_name} if self.staff_id else None,
            "created_at": iso_utc(self.created_at),
        }


async def person_took_part(session: AsyncSession, conversation_id: int) -> bool:
    """Tell whether an agent held or wrote in the conversation."""
    conversation = await get_conversation(session, conversation_id)
    if conversation.assigned_staff_id is not None:
        return True
    wrote = await session.scalar(
        select(Message.id)
        .where(Message.conversation_id == conversation_id, Message.author_kind == "agent")
        .limit(1)
    )
    return wrote is not None


async def rate_conversation(
    session: AsyncSession, *, conversation_id: int, score: int, comment: str | None, now: datetime
) -> RatingView:
    """Keep the resident's rating of an ended chat a person answered, once."""
    conversation = await get_conversation(session, conversation_id, lock=True)
    if conversation.status != ConversationStatus.ENDED:
        raise ConversationEnded("You can rate the chat once it has ended.")
    if not await person_took_part(session, conversation_id):
        raise NotFound("Only a chat with a person can be rated.")
    if await session.scalar(
        select(ConversationRating.id).where(ConversationRating.conversation_id == conversation_id)
    ):
        raise AlreadyTaken("You have already rated this chat. Thank you!")
    rating = ConversationRating(
        conversation_id=conversation_id,
        staff_id=conversation.assigned_staff_id,
        score=score,
        comment=comment or None,
        created_at=now,
    )
    session.add(rating)
    await session.flush()
    found = await rating_of(session, conversation_id)
    assert found is not None
    return found


async def rating_of(session: AsyncSession, conversation_id: int) -> RatingView | None:
    """The conversation's rating, if the resident gave one."""
    row = (
        await session.execute(
            select(ConversationRating, Staff.display_name)
            .outerjoin(Staff, ConversationRating.staff_id == Staff.id)
            .where(ConversationRating.conversation_id == conversation_id)
        )
    ).first()
    return None if row is None else _view(row[0], row[1])


def _view(rating: ConversationRating, staff_name: str | None) -> RatingView:
    return RatingView(
        conversation_id=rating.conversation_id,
        score=rating.score,
        comment=rating.comment,
        staff_id=rating.staff_id,
        staff_name=staff_name,
        created_at=rating.created_at,
    )


@dataclass(frozen=True)
class AgentSatisfaction:
    """One agent's ratings in a period (staff_id None: chats whose agent was lost)."""

    staff_id: int | None
    staff_name: str | None
    ratings: int
    average: float
    by_score: dict[int, int]

    def as_dict(self) -> dict[str, Any]:
        return {
            "staff_id": self.staff_id,
            "staff_name": self.staff_name,
            "ratings": self.ratings,
            "average": round(self.average, 2),
            "by_score": {str(k): v for k, v in self.by_score.items()},
        }


async def satisfaction_summary(
    session: AsyncSession, *, since: datetime, until: datetime
) -> list[AgentSatisfaction]:
    """Ratings given in [since, until), by agent: how many, the average, how many of each score."""
    rows = await session.execute(
        select(
            ConversationRating.staff_id, Staff.display_name, ConversationRating.score, func.count()
        )
        .outerjoin(Staff, ConversationRating.staff_id == Staff.id)
        .where(ConversationRating.created_at >= since, ConversationRating.created_at < until)
        .group_by(ConversationRating.staff_id, Staff.display_name, ConversationRating.score)
    )
    found: dict[int | None, tuple[str | None, dict[int, int]]] = {}
    for staff_id, name, score, count in rows:
        found.setdefault(staff_id, (name, dict.fromkeys(SCORES, 0)))[1][score] = count
    summary = []
    for agent_id, (agent_name, by_score) in found.items():
        total = sum(by_score.values())
        average = sum(score * n for score, n in by_score.items()) / total
        summary.append(AgentSatisfaction(agent_id, agent_name, total, average, by_score))
    return sorted(summary, key=lambda s: (s.staff_name is None, s.staff_name or ""))


async def recent_ratings(
    session: AsyncSession, *, staff_id: int | None = None, limit: int = 20
) -> list[RatingView]:
    """The newest ratings (of one agent's chats, if given), for supervisors."""
    statement = (
        select(ConversationRating, Staff.display_name)
        .outerjoin(Staff, ConversationRating.staff_id == Staff.id)
        .order_by(ConversationRating.created_at.desc(), ConversationRating.id.desc())
        .limit(limit)
    )
    if staff_id is not None:
        statement = statement.where(ConversationRating.staff_id == staff_id)
    return [_view(r, name) for r, name in await session.execute(statement)]
