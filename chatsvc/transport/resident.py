"""The /resident Socket.IO namespace: thin handlers over the conversation actions."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio

from .. import conversations as actions
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
from .sockets import socket_event
from .state import Clock, Database

log = logging.getLogger("chatsvc.resident")

NAMESPACE = "/resident"
EVENTS = frozenset({"start", "resume", "message", "typing", "read", "end"})


def room_of(conversation_id: int) -> str:
    """Name the Socket.IO room every connection of a conversation joins."""
    return f"conversation:{conversation_id}"


class ResidentNamespace(socketio.AsyncNamespace):
    """Residents' connections: one conversation per connection, many connections per chat."""

    def __init__(self, database: Database, assistant: Assistant, settings: Settings, clock: Clock):
        super().__init__(NAMESPACE)
        self.database = database
        self.assistant = assistant
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
        return {
            "conversation": resumed.conversation.as_dict(),
            "messages": [m.as_dict() for m in resumed.messages],
            "has_more": resumed.has_more,
        }

    @socket_event(MessagePayload)
    async def on_message(self, sid: str, payload: MessagePayload) -> dict[str, Any]:
        conversation_id, name = await self._conversation_of(sid)
        draft = actions.Draft(
            conversation_id, "resident", name, payload.text, payload.client_id, self.clock()
        )
        sent = await self.database.run_batched(actions.append_messages, draft)
        message = sent.message.as_dict()
        if not sent.duplicate:
            await self._publish("message", message, conversation_id, sid)
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
        await self._publish(
            "typing",
            {"author_kind": "resident", "author_name": name, "typing": payload.typing},
            conversation_id,
            sid,
        )
        return {}

    @socket_event(ReadPayload)
    async def on_read(self, sid: str, payload: ReadPayload) -> dict[str, Any]:
        conversation_id, _ = await self._conversation_of(sid)
        read_seq = await self.database.run(
            actions.mark_read, conversation_id=conversation_id, reader="resident", seq=payload.seq
        )
        await self._publish("read", {"reader": "resident", "seq": read_seq}, conversation_id, sid)
        return {"read_seq": read_seq}

    @socket_event(EndPayload)
    async def on_end(self, sid: str, payload: EndPayload) -> dict[str, Any]:
        conversation_id, _ = await self._conversation_of(sid)
        ended = await self.database.run(
            actions.end_conversation,
            conversation_id=conversation_id,
            ended_by="the resident",
            now=self.clock(),
        )
        for message in ended.messages:
            await self._publish("message", message.as_dict(), conversation_id, sid)
        if ended.messages:
            await self._publish("conversation", ended.conversation.as_dict(), conversation_id, sid)
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
                await self._publish("message", message.as_dict(), conversation_id, None)
            if turn.handed_off:
                await self._publish(
                    "conversation", turn.conversation.as_dict(), conversation_id, None
                )

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
            await self.leave_room(sid, room_of(previous))
        await self.enter_room(sid, room_of(conversation.id))
        await self.save_session(
            sid, {"conversation_id": conversation.id, "name": conversation.resident_name}
        )

    async def _conversation_of(self, sid: str) -> tuple[int, str]:
        session = await self.get_session(sid)
        if "conversation_id" not in session:
            raise NotInConversation("Start a chat (or resume yours) first.")
        return session["conversation_id"], session["name"]

    async def _publish(
        self, event: str, data: dict[str, Any], conversation_id: int, skip_sid: str | None
    ) -> None:
        """Send an event to every other connection of the conversation (after commit)."""
        room = room_of(conversation_id)
        manager = self.server.manager
        # Most chats have one tab open: then there is nobody else to tell, and emit would still
        # encode the packet. Only a local manager knows every participant.
        if type(manager) is not socketio.AsyncManager or any(
            sid != skip_sid for sid, _ in manager.get_participants(NAMESPACE, room)
        ):
            await self.emit(event, data, room=room, skip_sid=skip_sid)
