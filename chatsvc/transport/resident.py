"""The /resident Socket.IO namespace: thin handlers over the conversation actions."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from chatsvc import notices
from chatsvc.actions import (
    after_hours,
    assistant_turns,
    availability,
    queue,
    ratings,
    resident_presence,
    transcripts,
    unread_replies,
)
from chatsvc.actions import conversations as actions
from chatsvc.actions.conversation_state import ConversationStatus, Stage
from chatsvc.actions.service_requests.views import RequestPolicy
from chatsvc.bot.runtime import Assistant
from chatsvc.clock import Clock
from chatsvc.db.database import Database
from chatsvc.errors import ChatError, NotInConversation
from chatsvc.hours import BusinessCalendar
from chatsvc.settings import Settings
from chatsvc.tokens import hash_token
from chatsvc.transport.dispatch import Dispatcher
from chatsvc.transport.events import conversation_room
from chatsvc.transport.payloads import (
    EndPayload,
    HoursPayload,
    LeaveMessagePayload,
    MessagePayload,
    RatePayload,
    ReadPayload,
    ResumeLinkPayload,
    ResumePayload,
    StartPayload,
    TranscriptPayload,
    TypingPayload,
    VisibilityPayload,
)
from chatsvc.transport.socket_server import ADDRESS
from chatsvc.transport.sockets import Namespace, socket_event

log = logging.getLogger("chatsvc.resident")

NAMESPACE = "/resident"


class ResidentNamespace(Namespace):
    """Residents' connections: one conversation per connection, many connections per chat."""

    def __init__(
        self,
        database: Database,
        assistant: Assistant,
        dispatcher: Dispatcher,
        calendar: BusinessCalendar,
        settings: Settings,
        clock: Clock,
        request_policy: Callable[[], RequestPolicy],
    ):
        super().__init__(NAMESPACE)
        self.calendar = calendar
        self._senders: dict[str, str] = {}  # sid -> hash of the client's address
        self.database = database
        self.assistant = assistant
        self.dispatcher = dispatcher
        self.settings = settings
        self.clock = clock
        self.request_policy = request_policy
        self._turns: set[asyncio.Task[None]] = set()
        self._last_turn: dict[int, asyncio.Task[None]] = {}  # per conversation, while running

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        address = str(environ.get(ADDRESS, ""))  # ChatServer's client_address
        # Only a hash is kept, to count messages per sender without storing addresses.
        self._senders[sid] = hash_token(f"sender:{address}")
        log.debug("resident connected sid=%s", sid)

    def _sender_key(self, sid: str) -> str:
        """The hash of the address `sid` connected from, that per-address limits count by."""
        return self._senders.get(sid) or hash_token("sender:")

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._senders.pop(sid, None)
        log.debug("resident disconnected sid=%s reason=%s", sid, reason)
        try:
            await self.database.run(
                resident_presence.resident_gone,
                server_id=self.dispatcher.server_id,
                sid=sid,
                now=self.clock(),
            )
        except Exception:
            # The sweep finds the connection stale later and does the same.
            log.warning("resident connection %s: could not record the disconnect", sid)

    @socket_event(StartPayload, limit="start")
    async def on_start(self, sid: str, payload: StartPayload) -> dict[str, Any]:
        started = await self.database.run(
            actions.start_conversation,
            name=payload.name,
            email=payload.email,
            question=payload.question,
            client_id=payload.client_id,
            now=self.clock(),
            sender_key=self._sender_key(sid),
            per_address_per_day=self.settings.conversations_per_address_per_day,
            phone=self.assistant.index.kb.center.phone,
            language=payload.language,
        )
        await self._join(sid, started.conversation, visible=payload.visible)
        if started.retried:
            # The first answer was lost: the chat it opened, as it stands, the assistant's
            # answer included (not asked again).
            log.info("conversation %d: start sent again, token renewed", started.conversation.id)
            retried: dict[str, Any] = {}
            if started.wanted_person:
                offer = await self._hours()
                if offer["leave_message"]["offered"]:
                    retried["hours"] = offer  # as the lost answer offered it
            return {
                "token": started.token,
                "conversation": started.conversation.as_dict(),
                "messages": [m.as_dict() for m in started.messages],
                "center": self.assistant.index.kb.center.public(),
                **retried,
            }
        log.info("conversation %d started", started.conversation.id)
        # The question is safe; the answer comes in the same ack when the assistant can give it.
        conversation, replies = started.conversation, []
        extra: dict[str, Any] = {}
        try:
            with notices.told_in_ack(sid):  # the answer is in this ack
                turn = await self._assistant_turn(started.conversation.id, payload.question)
            conversation, replies = turn.conversation, turn.messages
            if turn.handed_off or turn.wanted_person:
                offer = await self._hours()
                if offer["leave_message"]["offered"]:
                    extra["hours"] = offer
        except Exception:
            log.exception("conversation %d: the assistant could not answer", conversation.id)
        return {
            "token": started.token,
            "conversation": conversation.as_dict(),
            "messages": [m.as_dict() for m in [*started.messages, *replies]],
            "center": self.assistant.index.kb.center.public(),
            **extra,
        }

    @socket_event(ResumePayload, limit="resume")
    async def on_resume(self, sid: str, payload: ResumePayload) -> dict[str, Any]:
        resumed = await self.database.run(
            actions.resume_conversation,
            token=payload.token,
            after_seq=payload.last_seq,
            now=self.clock(),
            ttl=self.settings.token_ttl,
        )
        await self._join(sid, resumed.conversation, visible=payload.visible)
        log.info(
            "conversation %d resumed after seq %d (%d messages)",
            resumed.conversation.id,
            payload.last_seq,
            len(resumed.messages),
        )
        place = None
        if (
            resumed.conversation.stage == Stage.WAITING
            and resumed.conversation.status == ConversationStatus.OPEN
        ):
            place = await self._place_in_queue(resumed.conversation.id)
        return {
            "conversation": resumed.conversation.as_dict(),
            "messages": [m.as_dict() for m in resumed.messages],
            "has_more": resumed.has_more,
            "queue": place,
            "center": self.assistant.index.kb.center.public(),
        }

    @socket_event(ResumeLinkPayload, limit="resume_link")
    async def on_resume_link(self, sid: str, payload: ResumeLinkPayload) -> dict[str, Any]:
        opened = await self.database.run(
            unread_replies.use_resume_link,
            code=payload.code,
            now=self.clock(),
            token_ttl=self.settings.token_ttl,
        )
        resumed = opened.resumed
        await self._join(sid, resumed.conversation, visible=payload.visible)
        place = None
        if (
            resumed.conversation.stage == Stage.WAITING
            and resumed.conversation.status == ConversationStatus.OPEN
        ):
            place = await self._place_in_queue(resumed.conversation.id)
        return {
            "token": opened.token,
            "conversation": resumed.conversation.as_dict(),
            "messages": [m.as_dict() for m in resumed.messages],
            "has_more": resumed.has_more,
            "queue": place,
            "center": self.assistant.index.kb.center.public(),
        }

    async def mail_unread_replies(self) -> None:
        """Mail residents who left the agent's messages unread (each sweep)."""
        now = self.clock()
        policy = unread_replies.UnreadMailPolicy(
            unread_after=self.settings.unread_mail_after,
            link_ttl=self.settings.resume_link_ttl,
            page_url=self.settings.resume_page_url,
            center=self.assistant.index.kb.center,
            calendar=self.calendar,
            mail_per_address_per_day=self.settings.mail_per_address_per_day,
        )
        for conversation_id in await self.database.run(unread_replies.unread_candidates, now=now):
            mailed = await self.database.run(
                unread_replies.mail_if_unread,
                conversation_id=conversation_id,
                now=now,
                policy=policy,
            )
            if mailed is not None:
                log.info(
                    "conversation %d: %d unread agent messages mailed",
                    conversation_id,
                    len(mailed.seqs),
                )

    async def _place_in_queue(self, conversation_id: int) -> dict[str, int | None] | None:
        entries, _ = await self.database.run(queue.queue_view, now=self.clock())
        for entry in entries:
            if entry.chat.id == conversation_id:
                return {
                    "position": entry.position,
                    "estimated_wait_seconds": entry.estimated_wait_seconds,
                }
        return None

    @socket_event(MessagePayload, limit="message")
    async def on_message(self, sid: str, payload: MessagePayload) -> dict[str, Any]:
        conversation_id, name = await self._conversation_of(sid)
        draft = actions.Draft(
            conversation_id,
            "resident",
            name,
            payload.text,
            payload.client_id,
            self.clock(),
            origin=sid,
        )
        sent = await self.database.run_batched(actions.append_messages, draft)
        message = sent.message.as_dict()
        # Once a person is on the way the assistant only speaks up about emergencies.
        if not sent.duplicate and (
            sent.stage == Stage.ASSISTANT or self.assistant.mentions_emergency(payload.text)
        ):
            self._answer_later(conversation_id, payload.text)
        log.debug(
            "message conversation=%d seq=%d duplicate=%s",
            conversation_id,
            sent.message.seq,
            sent.duplicate,
        )
        return {"message": message, "duplicate": sent.duplicate}

    @socket_event(TypingPayload, limit="typing")
    async def on_typing(self, sid: str, payload: TypingPayload) -> dict[str, Any]:
        conversation_id, name = await self._conversation_of(sid)
        data = {
            "conversation_id": conversation_id,
            "author_kind": "resident",
            "author_name": name,
            "typing": payload.typing,
        }
        with notices.told_in_ack(sid):
            await self.database.tell(notices.Typing(conversation_id, data))
        return {}

    @socket_event(VisibilityPayload)
    async def on_visibility(self, sid: str, payload: VisibilityPayload) -> dict[str, Any]:
        await self._conversation_of(sid)
        await self.database.run(
            resident_presence.resident_visibility,
            server_id=self.dispatcher.server_id,
            sid=sid,
            visible=payload.visible,
        )
        return {}

    @socket_event(ReadPayload, limit="read")
    async def on_read(self, sid: str, payload: ReadPayload) -> dict[str, Any]:
        conversation_id, _ = await self._conversation_of(sid)
        with notices.told_in_ack(sid):
            read_seq = await self.database.run(
                actions.mark_read,
                conversation_id=conversation_id,
                reader="resident",
                seq=payload.seq,
            )
        return {"read_seq": read_seq}

    @socket_event(EndPayload)
    async def on_end(self, sid: str, payload: EndPayload) -> dict[str, Any]:
        conversation_id, _ = await self._conversation_of(sid)
        with notices.told_in_ack(sid):
            ended = await self.database.run(
                actions.end_conversation,
                conversation_id=conversation_id,
                ended_by="resident",
                now=self.clock(),
            )
        if ended.messages:
            log.info("conversation %d ended by the resident", conversation_id)
        return {
            "conversation": ended.conversation.as_dict(),
            "messages": [m.as_dict() for m in ended.messages],
        }

    @socket_event(TranscriptPayload)
    async def on_transcript(self, sid: str, payload: TranscriptPayload) -> dict[str, Any]:
        # Open or ended: the ended screen offers it, and the connection keeps its chat.
        conversation_id, _ = await self._conversation_of(sid)
        sent = await self.database.run(
            transcripts.email_transcript,
            conversation_id=conversation_id,
            email=payload.email,
            center=self.assistant.index.kb.center,
            calendar=self.calendar,
            now=self.clock(),
            per_address_per_day=self.settings.mail_per_address_per_day,
        )
        log.info("conversation %d: transcript %s", conversation_id, sent.outcome)
        return sent.as_dict()

    @socket_event(RatePayload)
    async def on_rate(self, sid: str, payload: RatePayload) -> dict[str, Any]:
        conversation_id, _ = await self._conversation_of(sid)
        rating = await self.database.run(
            ratings.rate_conversation,
            conversation_id=conversation_id,
            score=payload.score,
            comment=payload.comment,
            now=self.clock(),
        )
        log.info("conversation %d rated %d", conversation_id, rating.score)
        return {"rating": {"score": rating.score, "label": ratings.SCORES[rating.score]}}

    @socket_event(HoursPayload)
    async def on_hours(self, sid: str, payload: HoursPayload) -> dict[str, Any]:
        # With the center: the widget asks this before any chat, and may need its phone number
        # (a form refused for the day says to call instead).
        return {**await self._hours(), "center": self.assistant.index.kb.center.public()}

    async def _hours(self) -> dict[str, Any]:
        """Whether a person can chat now, and whether to offer leaving a message instead."""
        offer = await self.database.run(
            availability.hours_offer,
            calendar=self.calendar,
            wait_threshold=self.settings.message_when_wait_over,
            now=self.clock(),
        )
        return offer.as_dict()

    @socket_event(LeaveMessagePayload, limit="leave_message")
    async def on_leave_message(self, sid: str, payload: LeaveMessagePayload) -> dict[str, Any]:
        session = await self.get_session(sid)
        left = await self.database.run(
            after_hours.leave_message,
            name=payload.name,
            email=payload.email,
            text=payload.message,
            client_id=payload.client_id,
            conversation_id=session.get("conversation_id"),
            sender_key=self._sender_key(sid),
            honeypot=payload.website.strip(),
            language=payload.language,
            center=self.assistant.index.kb.center,
            limits=after_hours.Limits(
                self.settings.messages_per_ip_per_hour,
                self.settings.messages_per_email_per_day,
                self.settings.mail_per_address_per_day,
            ),
            calendar=self.calendar,
            now=self.clock(),
        )
        # Not told_in_ack: every connection hears the chat end, this one too (its ack is about
        # the message).
        if not left.duplicate:
            log.info("after-hours message %d left (%s)", left.id, left.status)
        return left.as_dict()

    async def _offer_message_if_nobody(self, conversation_id: int) -> None:
        """After a handover: when no person can come soon, offer to leave a message."""
        hours = await self._hours()
        if hours["leave_message"]["offered"]:
            await self.database.tell(notices.HoursOffered(conversation_id, hours))

    def _answer_later(self, conversation_id: int, text: str) -> None:
        """Let the assistant answer after the resident's message is acknowledged.

        Answers to one conversation run one after another, in the order of the messages: a
        resident who types ahead ("File a request", then the address at once) is answered as
        if they had waited, not in whichever order the database happens to take the turns.
        """
        previous = self._last_turn.get(conversation_id)

        async def answer() -> None:
            # Everyone hears the answer, the connection whose message it answers too.
            notices.origin.set(None)
            if previous is not None:
                await asyncio.wait([previous])
            try:
                turn = await self._assistant_turn(conversation_id, text)
            except ChatError as exc:
                log.warning(
                    "conversation %d: no answer from the assistant: %s", conversation_id, exc
                )
                return
            except Exception:
                log.exception("conversation %d: the assistant could not answer", conversation_id)
                return
            if turn.handed_off or turn.wanted_person:
                await self._offer_message_if_nobody(conversation_id)

        task = asyncio.get_running_loop().create_task(answer())
        self._turns.add(task)
        self._last_turn[conversation_id] = task

        def done(task: asyncio.Task[None]) -> None:
            self._turns.discard(task)
            if self._last_turn.get(conversation_id) is task:
                del self._last_turn[conversation_id]

        task.add_done_callback(done)

    async def _assistant_turn(
        self, conversation_id: int, text: str
    ) -> assistant_turns.AssistantTurn:
        decision = await self.assistant.decide(text)
        turn = await self.database.run(
            assistant_turns.assistant_turn,
            conversation_id=conversation_id,
            text=text,
            decision=decision,
            kb=self.assistant.index.kb,
            now=self.clock(),
            staffed=self.calendar.is_open(self.clock()),
            policy=self.request_policy(),
        )
        if turn.request is not None:
            log.info("conversation %d: request %s filed", conversation_id, turn.request.number)
        if turn.messages:
            log.info(
                "conversation %d: assistant %s (%s %.2f)%s",
                conversation_id,
                decision.intent,
                decision.band,
                decision.score,
                " -> handed off" if turn.handed_off else "",
            )
        return turn

    async def close(self) -> None:
        """Wait for the assistant's answers in progress (the service is stopping)."""
        if self._turns:
            await asyncio.wait(set(self._turns), timeout=5)

    async def _join(
        self, sid: str, conversation: actions.ConversationView, *, visible: bool
    ) -> None:
        session = await self.get_session(sid)
        previous = session.get("conversation_id")
        if previous is not None and previous != conversation.id:
            await self.leave_room(sid, conversation_room(previous))
        await self.enter_room(sid, conversation_room(conversation.id))
        await self.save_session(
            sid, {"conversation_id": conversation.id, "name": conversation.resident_name}
        )
        await self.database.run(
            resident_presence.resident_joined,
            conversation_id=conversation.id,
            server_id=self.dispatcher.server_id,
            sid=sid,
            visible=visible,
            now=self.clock(),
        )

    async def _conversation_of(self, sid: str) -> tuple[int, str]:
        session = await self.get_session(sid)
        if "conversation_id" not in session:
            raise NotInConversation("Start a chat (or resume yours) first.")
        return session["conversation_id"], session["name"]
