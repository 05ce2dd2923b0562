"""The help center's "Was this helpful?" answers: recorded one row each, counted by article."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.db.models import ArticleVote


async def record_vote(
    session: AsyncSession, *, article_id: str, language: str, helpful: bool, now: datetime
) -> None:
    """Count one reader's answer (the caller checked that the article exists)."""
    session.add(ArticleVote(article_id=article_id, language=language, helpful=helpful, at=now))
    await session.flush()


async def votes_between(
    session: AsyncSession, *, starts_at: datetime, ends_at: datetime
) -> dict[str, tuple[int, int]]:
    """Each article's (helpful, not helpful) answers given in [starts_at, ends_at)."""
    rows = await session.execute(
        select(
            ArticleVote.article_id,
            func.sum(case((ArticleVote.helpful, 1), else_=0)),
            func.sum(case((ArticleVote.helpful, 0), else_=1)),
        )
        .where(ArticleVote.at >= starts_at, ArticleVote.at < ends_at)
        .group_by(ArticleVote.article_id)
    )
    return {article_id: (int(yes or 0), int(no or 0)) for article_id, yes, no in rows}
