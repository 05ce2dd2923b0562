"""The /resident Socket.IO namespace: thin handlers over the conversation actions."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio

from .. import conversations as actions
from ..agents import routing
from ..bot.runtime import Assistant
from ..errors import ChatError, NotInConversation, UnknownEvent
from ..settings import Settings
from ..validation import (
    EndPayload,
    MessagePayload,
    ReadPayload,
    ResumePayload,
    StartPayload,
    TypingPayload,
)
from .dispatch import Dispatcher
from .events import conversation_room
from .sockets import socket_event
from .state import Clock, Database

log = logging.getLogger("chatsvc.resident")

NAMESPACE = "/resident"
EVENTS = frozenset({"start", "resume", "message", "typing", "read", "end"})


class ResidentNamespace(socketio.AsyncNamespace):
    """Residents' connections: one conversation per connection, many connections per chat."""

    def __init__(
        self,
        database: Database,
        assistant: Assistant,
        dispatcher: Dispatcher,
        settings: Settings,
        clock: Clock,
    ):
        super().__init__(NAMESPACE)
        self.database = database
        self.assistant = assistant
        self.dispatcher = dispatcher
        self.events = dispatcher.events
        self.settings = settings
        self.clock = clock
        self._turns: set[asyncio.Task[None]] = set()

    async def trigger_event(self, event: str, *args: Any) -> Any:
        """Answer events we do not know with an error ack instead of silence."""
        if event in {"connect", "disconnect"} or event in EVENTS:
            return await super().trigger_event(event, *args)
        log.info("%s unknown event refused", NAMESPACE)
        return UnknownEvent(f"unknown event {event[:40]!r}").as_dict()

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        log.debug("resident connected sid=%s", sid)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        log.debug("resident disconnected sid=%s reason=%s", sid, reason)

    @socket_event(StartPayload)
    async def on_start(self, sid: str, payload: StartPayload) -> dict[str, Any]:
        started = await self.database.run(
            actions.start_conversation,
            name=payload.name,
            email=payload.email,
            question=payload.question,
            client_id=payload.client_id,
            now=self.clock(),
        )
        await self._join(sid, started.conversation)
        log.info("conversation %d started", started.conversation.id)
        # The question is safe; the answer comes in the same ack when the assistant can give it.
        conversation, replies = started.conversation, []
        try:
            turn = await self._assistant_turn(started.conversation.id, payload.question)
            conversation, replies = turn.conversation, turn.messages
            if turn.handed_off:
                self.dispatcher.queue_changed()
        except Exception:
            log.exception("conversation %d: the assistant could not answer", conversation.id)
        return {
            "token": started.token,
            "conversation": conversation.as_dict(),
            "messages": [m.as_dict() for m in [*started.messages, *replies]],
        }

    @socket_event(ResumePayload)
    async def on_resume(self, sid: str, payload: ResumePayload) -> dict[str, Any]:
        resumed = await self.database.run(
            actions.resume_conversation,
            token=payload.token,
            after_seq=payload.last_seq,
            now=self.clock(),
            ttl=self.settings.token_ttl,
        )
        await self._join(sid, resumed.conversation)
        log.info(
            "conversation %d resumed after seq %d (%d messages)",
            resumed.conversation.id,
            payload.last_seq,
            len(resumed.messages),
        )
        place = None
        if resumed.conversation.stage == "waiting" and resumed.conversation.status == "open":
            place = await self._place_in_queue(resumed.conversation.id)
        return {
            "conversation": resumed.conversation.as_dict(),
            "messages": [m.as_dict() for m in resumed.messages],
            "has_more": resumed.has_more,
            "queue": place,
        }

    async def _place_in_queue(self, conversation_id: int) -> dict[str, int | None] | None:
        entries, _ = await self.database.run(routing.queue, now=self.clock())
        for entry in entries:
            if entry.chat.id == conversation_id:
                return {
                    "position": entry.position,
                    "estimated_wait_seconds": entry.estimated_wait_seconds,
                }
        return None

    @socket_event(MessagePayload)
    async def on_message(self, sid: str, payload: MessagePayload) -> dict[str, Any]:
        conversation_id, name = await self._conversation_of(sid)
        draft = actions.Draft(
            conversation_id, "resident", name, payload.text, payload.client_id, self.clock()
        )
        sent = await self.database.run_batched(actions.append_messages, draft)
        message = sent.message.as_dict()
        if not sent.duplicate:
            await self.events.to_conversation(
                conversation_id, sent.assigned_staff_id, "message", message, sid
            )
            # Once a person is on the way the assistant only speaks up about emergencies.
            if sent.stage == "assistant" or self.assistant.mentions_emergency(payload.text):
                self._answer_later(conversation_id, payload.text)
        log.debug(
            "message conversation=%d seq=%d duplicate=%s",
            conversation_id,
            sent.message.seq,
            sent.duplicate,
        )
        return {"message": message, "duplicate": sent.duplicate}

    @socket_event(TypingPayload)
    async def on_typing(self, sid: str, payload: TypingPayload) -> dict[str, Any]:
        conversation_id, name = await self._conversation_of(sid)
        data = {
            "conversation_id": conversation_id,
            "author_kind": "resident",
            "author_name": name,
            "typing": payload.typing,
        }
        await self.events.to_conversation(conversation_id, None, "typing", data, sid)
        return {}

    @socket_event(ReadPayload)
    async def on_read(self, sid: str, payload: ReadPayload) -> dict[str, Any]:
        conversation_id, _ = await self._conversation_of(sid)
        read_seq = await self.database.run(
            actions.mark_read, conversation_id=conversation_id, reader="resident", seq=payload.seq
        )
        data = {"conversation_id": conversation_id, "reader": "resident", "seq": read_seq}
        await self.events.to_conversation(conversation_id, None, "read", data, sid)
        return {"read_seq": read_seq}

    @socket_event(EndPayload)
    async def on_end(self, sid: str, payload: EndPayload) -> dict[str, Any]:
        conversation_id, _ = await self._conversation_of(sid)
        ended = await self.database.run(
            actions.end_conversation,
            conversation_id=conversation_id,
            ended_by="resident",
            now=self.clock(),
        )
        if ended.messages:
            await self.dispatcher.ended(ended, "ended", skip_sid=sid)
            log.info("conversation %d ended by the resident", conversation_id)
        return {
            "conversation": ended.conversation.as_dict(),
            "messages": [m.as_dict() for m in ended.messages],
        }

    def _answer_later(self, conversation_id: int, text: str) -> None:
        """Let the assistant answer after the resident's message is acknowledged."""

        async def answer() -> None:
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
            for message in turn.messages:
                await self.events.to_conversation(
                    conversation_id, None, "message", message.as_dict()
                )
            if turn.handed_off:
                await self.events.to_resident(
                    conversation_id, "conversation", turn.conversation.as_dict()
                )
                self.dispatcher.queue_changed()

        task = asyncio.get_running_loop().create_task(answer())
        self._turns.add(task)
        task.add_done_callback(self._turns.discard)

    async def _assistant_turn(self, conversation_id: int, text: str) -> actions.AssistantTurn:
        decision = await self.assistant.decide(text)
        turn = await self.database.run(
            actions.assistant_turn,
            conversation_id=conversation_id,
            text=text,
            decision=decision,
            kb=self.assistant.index.kb,
            now=self.clock(),
        )
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

    async def _join(self, sid: str, conversation: actions.ConversationView) -> None:
        session = await self.get_session(sid)
        previous = session.get("conversation_id")
        if previous is not None and previous != conversation.id:
            await self.leave_room(sid, conversation_room(previous))
        await self.enter_room(sid, conversation_room(conversation.id))
        await self.save_session(
            sid, {"conversation_id": conversation.id, "name": conversation.resident_name}
        )

    async def _conversation_of(self, sid: str) -> tuple[int, str]:
        session = await self.get_session(sid)
        if "conversation_id" not in session:
            raise NotInConversation("Start a chat (or resume yours) first.")
        return session["conversation_id"], session["name"]
