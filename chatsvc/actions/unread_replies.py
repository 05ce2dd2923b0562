"""The agent answered after the resident left: one mail, with a one-time link back to the chat.

An agent's message the resident has not read (`conversations.resident_read_seq`, the widget's
read receipt: the panel open on a shown tab) `unread_after` after it was written, while the
resident has no connection to the chat, is mailed to the pre-chat address, with every agent
message still unread and a link that reopens the chat on the city's page. The sweep of every
process checks (`unread_candidates`, then `mail_if_unread` one conversation at a time).

When the resident is gone: every sweep for `AWAY_FOR` (or `unread_after`, if shorter) found no
connection. A page change on the city site drops the connection for a moment; that is not
leaving. Several messages in a row make one mail; messages written after it make another only
once the resident came back (a connection seen by a sweep, a read receipt, or the link used)
and is gone again: never a mail per message.

The link's code is a one-time credential, never the chat's token: only its hash is stored; it
works once (`use_resume_link`), before it expires; using it gives the browser a fresh token for
the chat, so the old one (in this browser's storage or anywhere else) opens nothing any more.
A used, expired or made-up code changes nothing.

Locking order: the conversation row first (as everywhere in chatsvc.actions), then its watch and
link rows, then the recipient's mail lock (queue_mail). Two processes sweeping at once take the
conversation one after the other; the second then finds the messages mailed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions.conversations import Resumed, get_conversation, resume_conversation
from chatsvc.catalogue.center import Center
from chatsvc.db.models import (
    Conversation,
    Message,
    ResidentConnection,
    ResumeLink,
    UnreadReplyWatch,
)
from chatsvc.errors import InvalidToken, LinkUsed, TokenExpired
from chatsvc.hours import BusinessCalendar
from chatsvc.outbox.mail import queue_mail
from chatsvc.outbox.mail_words import MailWords
from chatsvc.outbox.replies import MailThread
from chatsvc.tokens import hash_token, new_token

log = logging.getLogger("chatsvc.unread_replies")

MAIL_KIND = "unread_replies"
# Gone means no connection at any sweep for this long (a page change is a moment).
AWAY_FOR = timedelta(minutes=1)
# Messages older than this are not mailed any more (a sweep that was down a day sends nothing
# stale), which also bounds what each sweep looks at.
LOOKBACK = timedelta(days=1)
MAX_QUOTED = 10  # the newest unread agent messages a mail quotes
RESUME_FRAGMENT = "chatsvc-resume="


@dataclass(frozen=True)
class UnreadMailPolicy:
    """What the unread-replies mail needs to know, from settings and the knowledge base."""

    unread_after: timedelta
    link_ttl: timedelta
    page_url: str  # the city page with the widget: the link adds #chatsvc-resume=<code>
    center: Center
    calendar: BusinessCalendar
    mail_per_address_per_day: int


@dataclass(frozen=True)
class RepliesMailed:
    """A mail was queued for these agent messages."""

    conversation_id: int
    mail_id: int
    seqs: tuple[int, ...]


@dataclass(frozen=True)
class LinkOpened:
    """A link reopened its chat: the browser's new token, and the chat as `resume` gives it."""

    token: str
    resumed: Resumed


def resume_url(page_url: str, code: str) -> str:
    """The link in the mail: the city page, the code in the fragment (never sent to servers)."""
    return f"{page_url}#{RESUME_FRAGMENT}{code}"


def _unread_agent_messages(
    conversation: type[Conversation] | Conversation,
) -> list[ColumnElement[bool]]:
    """Agent messages of the conversation past the resident's read receipt."""
    return [
        Message.conversation_id == conversation.id,
        Message.author_kind == "agent",
        Message.seq > conversation.resident_read_seq,
    ]


async def unread_candidates(session: AsyncSession, *, now: datetime, limit: int = 100) -> list[int]:
    """The conversations a sweep looks at: agent messages unread and not mailed yet, where the
    resident is gone or their watch has something to forget. Nothing is locked."""
    mailed_through = func.coalesce(UnreadReplyWatch.mailed_through_seq, 0)
    connected = exists().where(ResidentConnection.conversation_id == Conversation.id)
    unread = exists().where(
        *_unread_agent_messages(Conversation),
        Message.seq > mailed_through,
        Message.created_at > now - LOOKBACK,
    )
    watch_to_update = or_(
        UnreadReplyWatch.away_noticed_at.is_not(None),
        and_(UnreadReplyWatch.mailed_at.is_not(None), UnreadReplyWatch.returned.is_(False)),
    )
    rows = await session.scalars(
        select(Conversation.id)
        .outerjoin(UnreadReplyWatch, UnreadReplyWatch.conversation_id == Conversation.id)
        .where(
            Conversation.last_seq > Conversation.resident_read_seq,
            Conversation.updated_at > now - LOOKBACK,
            unread,
            or_(~connected, watch_to_update),
        )
        .order_by(Conversation.id)
        .limit(limit)
    )
    return list(rows)


async def mail_if_unread(
    session: AsyncSession, *, conversation_id: int, now: datetime, policy: UnreadMailPolicy
) -> RepliesMailed | None:
    """Note the resident's absence, and mail them the agent's unread messages when it is time.

    A compare-and-set under the conversation's lock: whichever process comes second finds the
    messages mailed (`mailed_through_seq`) and sends nothing.
    """
    conversation = await get_conversation(session, conversation_id, lock=True)
    watch = await session.get(UnreadReplyWatch, conversation_id, populate_existing=True)
    if watch is None:
        watch = UnreadReplyWatch(
            conversation_id=conversation_id, mailed_through_seq=0, returned=False
        )
        session.add(watch)
    connected = await session.scalar(
        select(exists().where(ResidentConnection.conversation_id == conversation_id))
    )
    if connected:
        watch.away_noticed_at = None
        if watch.mailed_at is not None:
            watch.returned = True
        await session.flush()
        return None
    fresh = list(
        await session.scalars(
            select(Message)
            .where(
                *_unread_agent_messages(conversation),
                Message.seq > watch.mailed_through_seq,
                Message.created_at > now - LOOKBACK,
            )
            .order_by(Message.seq)
        )
    )
    if not fresh:
        await session.flush()
        return None
    if watch.away_noticed_at is None:
        watch.away_noticed_at = now
    came_back = watch.returned or conversation.resident_read_seq >= watch.mailed_through_seq
    due = (
        (watch.mailed_at is None or came_back)
        and fresh[0].created_at <= now - policy.unread_after
        and watch.away_noticed_at <= now - min(AWAY_FOR, policy.unread_after)
    )
    if not due:
        await session.flush()
        return None
    # Marked mailed whatever comes of the mail (no address, the daily cap): not tried again.
    watch.mailed_through_seq = fresh[-1].seq
    watch.mailed_at = now
    watch.returned = False
    watch.away_noticed_at = None
    await session.flush()
    email = conversation.resident.email
    if not email:
        return None
    quoted = list(
        await session.scalars(
            select(Message)
            .where(*_unread_agent_messages(conversation))
            .order_by(Message.seq.desc())
            .limit(MAX_QUOTED)
        )
    )[::-1]
    code = new_token()
    expires_at = now + policy.link_ttl
    words = MailWords(conversation.language, policy.center)
    mail_id = await queue_mail(
        session,
        kind=MAIL_KIND,
        to=email,
        subject=words("{chat}: a reply in your chat", chat=words.name(policy.center.chat_name)),
        body=unread_mail(
            quoted,
            resume_url(policy.page_url, code),
            expires_at,
            policy,
            ended=conversation.ended_at is not None,
            language=conversation.language,
        ),
        reply_to=None,
        now=now,
        # A reply by email joins the chat, as the resident's message.
        thread=MailThread("conversation", conversation.id),
        per_address_per_day=policy.mail_per_address_per_day,
    )
    if mail_id is None:
        return None  # queue_mail said why
    session.add(
        ResumeLink(
            conversation_id=conversation_id,
            code_hash=hash_token(code),
            created_at=now,
            expires_at=expires_at,
        )
    )
    await session.flush()
    return RepliesMailed(conversation_id, mail_id, tuple(m.seq for m in fresh))


def unread_mail(
    messages: list[Message],
    link: str,
    expires_at: datetime,
    policy: UnreadMailPolicy,
    *,
    ended: bool = False,
    language: str = "en",
) -> str:
    """The mail: the City's words, the agent's messages as its staff wrote them, the link."""
    center = policy.center
    words = MailWords(language, center, policy.calendar)
    lines = [
        words("Hello,"),
        "",
        words(
            "You have a reply in your chat with the City's {center}, written after you left "
            "the chat.",
            center=words.center_name,
        ),
        "",
    ]
    for message in messages:
        author = message.author_name or words("Our agent")
        lines += [
            words("{author} wrote on {when}:", author=author, when=words.when(message.created_at)),
            "",
        ]
        lines += [f"  {line}".rstrip() for line in message.body.splitlines()] or [""]
        lines.append("")
    # An ended chat takes no more messages (a new one can be started from the same page).
    follow = (
        "To read the whole conversation, open this link. It works once, until {when}:"
        if ended
        else "To read the whole conversation and answer, open this link. It works once, until "
        "{when}:"
    )
    lines += [
        words(follow, when=words.when(expires_at)),
        "",
        link,
        "",
        words(
            "If you did not chat with us, you can ignore this email, or call us at {phone}.",
            phone=center.phone,
        ),
        "",
        words("If someone is in danger, call 911."),
        "",
        *words.signature,
    ]
    return "\n".join(lines) + "\n"


async def use_resume_link(
    session: AsyncSession, *, code: str, now: datetime, token_ttl: timedelta
) -> LinkOpened:
    """Exchange a mail's link for its chat, once: a fresh token replaces the chat's old one.

    A made-up code (InvalidToken), a used one (LinkUsed) or an expired one (TokenExpired)
    changes nothing. Locking order: the link row, then the conversation.
    """
    link = await session.scalar(
        select(ResumeLink)
        .where(ResumeLink.code_hash == hash_token(code))
        .with_for_update(of=ResumeLink)
        .execution_options(populate_existing=True)
    )
    if link is None:
        raise InvalidToken("This chat link is not valid.")
    if link.used_at is not None:
        raise LinkUsed("This chat link has already been used. Each link opens the chat once.")
    if link.expires_at <= now:
        raise TokenExpired("This chat link has expired.")
    conversation = await get_conversation(session, link.conversation_id, lock=True)
    if conversation.ended_at is not None and conversation.ended_at + token_ttl < now:
        raise TokenExpired("This chat ended a while ago and can no longer be opened.")
    # Compare-and-set: of two browsers opening the link at once, one gets the chat.
    taken = await session.execute(
        update(ResumeLink)
        .where(ResumeLink.id == link.id, ResumeLink.used_at.is_(None))
        .values(used_at=now)
    )
    if getattr(taken, "rowcount", 0) != 1:
        raise LinkUsed("This chat link has already been used. Each link opens the chat once.")
    token = new_token()
    conversation.token_hash = hash_token(token)
    watch = await session.get(UnreadReplyWatch, conversation.id, populate_existing=True)
    if watch is not None:
        watch.returned = True
        watch.away_noticed_at = None
    await session.flush()
    resumed = await resume_conversation(session, token=token, after_seq=0, now=now, ttl=token_ttl)
    log.info("conversation %d reopened from a mail's link", conversation.id)
    return LinkOpened(token, resumed)
