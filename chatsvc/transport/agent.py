"""The /agent Socket.IO namespace: signed-in staff only, from the service's own pages.

Handlers are thin: check who is asking, validate the payload, run one action, answer with an
ack. What the action did reaches the others as it commits (`chatsvc.notices`, published by
`chatsvc.transport.publish`): no handler chooses an audience. The events: docs/protocol/agent.md.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from datetime import date, timedelta
from http.cookies import CookieError, SimpleCookie
from typing import Any

import socketio

from chatsvc import notices
from chatsvc.actions import accounts, after_hours, handling, pane, presence, ratings, transcripts
from chatsvc.actions import conversations as actions
from chatsvc.actions.accounts import StaffView
from chatsvc.actions.canned import delete_canned, save_canned
from chatsvc.actions.service_requests.checks import request_topic
from chatsvc.actions.service_requests.filters import RequestListQuery, request_filter
from chatsvc.actions.service_requests.from_chat import file_request_from_chat, request_source
from chatsvc.actions.service_requests.queries import get_request, list_requests
from chatsvc.actions.service_requests.status import change_status
from chatsvc.actions.service_requests.views import STATUS_LABELS, RequestPolicy
from chatsvc.bot.matcher import detect_language
from chatsvc.bot.prefill import prefill
from chatsvc.bot.runtime import Assistant
from chatsvc.bot.search import ArticleHit, search_articles, suggest_articles
from chatsvc.catalogue import listing
from chatsvc.clock import Clock
from chatsvc.db.database import Database
from chatsvc.errors import Forbidden
from chatsvc.hours import BusinessCalendar
from chatsvc.settings import Settings
from chatsvc.transport.dispatch import Dispatcher
from chatsvc.transport.events import ALL_STAFF, session_room, staff_room, view_room
from chatsvc.transport.payloads import (
    REQUESTS_PER_PAGE,
    AgentChatsPayload,
    AgentMessagePayload,
    AgentReadPayload,
    AgentTypingPayload,
    CannedDeletePayload,
    CannedSavePayload,
    ClosePayload,
    ConversationPayload,
    HelloPayload,
    InboxClaimPayload,
    InboxPayload,
    InboxReplyPayload,
    InboxStatusPayload,
    MaxChatsPayload,
    NotePayload,
    RatingsPayload,
    ReassignPayload,
    RequestCreatePayload,
    RequestListPayload,
    RequestNumberPayload,
    RequestPrefillPayload,
    RequestStatusPayload,
    SearchPayload,
    StatusPayload,
    TransferPayload,
)
from chatsvc.transport.sockets import Namespace, socket_event
from chatsvc.transport.staff import SESSION_COOKIE

log = logging.getLogger("chatsvc.agent")

NAMESPACE = "/agent"
SESSION_RECHECK = 15.0  # seconds


def same_origin(environ: dict[str, Any], settings: Settings) -> bool:
    """Tell whether the connection comes from a page of this service (not a city page).

    Browsers send `Origin` on every WebSocket and cross-origin request, but not on a
    same-origin GET (a long-polling handshake): then `Sec-Fetch-Site` vouches, when present.
    """
    origin = environ.get("HTTP_ORIGIN", "").rstrip("/")
    if not origin:
        return str(environ.get("HTTP_SEC_FETCH_SITE", "same-origin")) == "same-origin"
    hosts = [environ.get("HTTP_HOST", "")]
    if settings.trust_proxy_headers:
        hosts.append(environ.get("HTTP_X_FORWARDED_HOST", "").split(",")[0].strip())
    return any(origin in (f"http://{h}", f"https://{h}") for h in hosts if h)


def cookie_of(environ: dict[str, Any], name: str) -> str:
    try:
        cookies = SimpleCookie(environ.get("HTTP_COOKIE", ""))
    except CookieError:
        return ""
    morsel = cookies.get(name)
    return morsel.value if morsel else ""


class AgentNamespace(Namespace):
    """Staff connections: refused unless signed in and on the service's own origin."""

    rate_kind = "agent"

    def __init__(
        self,
        database: Database,
        assistant: Assistant,
        dispatcher: Dispatcher,
        settings: Settings,
        clock: Clock,
        request_policy: Callable[[], RequestPolicy],
        calendar: BusinessCalendar | None = None,
    ):
        super().__init__(NAMESPACE)
        self.calendar = calendar or BusinessCalendar.from_settings(settings)
        self.database = database
        self.assistant = assistant
        self.dispatcher = dispatcher
        self.settings = settings
        self.clock = clock
        self.request_policy = request_policy
        self._checked: dict[str, tuple[float, StaffView]] = {}  # sid -> (when, who)
        self._tokens: dict[str, str] = {}  # sid -> its session cookie

    # --- connection ----------------------------------------------------------------------

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        if not same_origin(environ, self.settings):
            log.info("agent connection refused: foreign origin")
            raise socketio.exceptions.ConnectionRefusedError("forbidden origin")
        token = cookie_of(environ, SESSION_COOKIE)
        current = await self.database.run(accounts.session_of, token=token, now=self.clock())
        if current is None:
            log.info("agent connection refused: not signed in")
            raise socketio.exceptions.ConnectionRefusedError("sign in first")
        staff = current.staff
        await self.save_session(sid, {"staff_id": staff.id, "token": token})
        await self.database.run(
            presence.agent_connected,
            staff_id=staff.id,
            server_id=self.dispatcher.server_id,
            sid=sid,
            now=self.clock(),
        )
        await self.enter_room(sid, ALL_STAFF)
        await self.enter_room(sid, staff_room(staff.id))
        await self.enter_room(sid, session_room(token))
        self._checked[sid] = (time.monotonic(), staff)
        self._tokens[sid] = token
        log.info("staff %d connected", staff.id)

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self._checked.pop(sid, None)
        self._tokens.pop(sid, None)
        try:
            state = await self.database.run(
                presence.agent_disconnected,
                server_id=self.dispatcher.server_id,
                sid=sid,
                now=self.clock(),
                grace=self.settings.agent_grace,
            )
        except Exception:
            # The sweep finds the connection stale later and does the same.
            log.warning("staff connection %s: could not record the disconnect", sid)
            return
        if state is not None:
            log.info("staff %d disconnected (%s)", state.id, reason)

    async def _staff(self, sid: str) -> StaffView:
        """Who is asking: the session must still be valid (not signed out, not disabled).

        Checked against the database at most every SESSION_RECHECK seconds per connection, so
        that an agent's every keystroke does not cost a query; signing out or disabling an
        account reaches its open connections within that time.
        """
        cached = self._checked.get(sid)
        now = time.monotonic()
        if cached is not None and now - cached[0] < SESSION_RECHECK:
            return cached[1]
        session = await self.get_session(sid)
        current = await self.database.run(
            accounts.session_of, token=session.get("token", ""), now=self.clock()
        )
        if current is None:
            self._checked.pop(sid, None)
            await self.disconnect(sid)
            raise Forbidden("Your session has ended. Sign in again.")
        self._checked[sid] = (now, current.staff)
        return current.staff

    async def end_lapsed_sessions(self) -> None:
        """Close this process's staff connections whose session has ended, wherever it ended.

        A sign-out handled by another process, an account disabled from the command line, a
        session past its lifetime: a pane that only listens sends nothing that `_staff` would
        check, so every sweep checks all of this process's connections in one query.
        """
        checking = dict(self._tokens)  # a pane that connects meanwhile is checked next time
        if not checking:
            return
        valid = await self.database.run(
            accounts.signed_in_tokens, tokens=set(checking.values()), now=self.clock()
        )
        for sid, token in checking.items():
            if token not in valid and self._tokens.get(sid) == token:
                self._tokens.pop(sid, None)
                self._checked.pop(sid, None)
                log.info("agent connection closed: its session ended")
                await self.disconnect(sid)

    # --- presence and the pane's state ---------------------------------------------------

    @socket_event(HelloPayload)
    async def on_hello(self, sid: str, payload: HelloPayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        state = await self.database.run(pane.pane_state, staff_id=staff.id, now=self.clock())
        kb = self.assistant.index.kb
        return {
            "me": state.me.as_dict(),
            "chats": [c.as_dict() for c in state.chats],
            "queue": [e.as_dict() for e in state.queue],
            "queue_total": state.queue_total,
            "canned": [c.as_dict() for c in state.canned],
            "agents": [a.as_dict() for a in state.agents],
            "workgroups": listing.workgroups(kb, also=state.staff_workgroups),
            "topics": listing.topics_by_code(kb),
            "dispositions": handling.DISPOSITIONS,
            "center": kb.center.public(),
            # The center's zone: staff read dates as residents are told them (hours.py).
            "timezone": self.settings.timezone,
        }

    @socket_event(StatusPayload)
    async def on_status(self, sid: str, payload: StatusPayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        state, _ = await self.database.run(
            presence.set_status, staff_id=staff.id, status=payload.status, now=self.clock()
        )
        log.info("staff %d is %s", staff.id, payload.status)
        return {"me": state.as_dict()}

    @socket_event(MaxChatsPayload)
    async def on_max_chats(self, sid: str, payload: MaxChatsPayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        target = payload.staff_id or staff.id
        state = await self.database.run(
            presence.set_max_chats, by=staff, staff_id=target, max_chats=payload.max_chats
        )
        return {"agent": state.as_dict()}

    # --- conversations -------------------------------------------------------------------

    @socket_event(ConversationPayload)
    async def on_open(self, sid: str, payload: ConversationPayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        detail = await self.database.run(
            pane.conversation_detail, conversation_id=payload.conversation_id
        )
        # The resident's rating is for supervisors (the agent rated does not see it here).
        rating = (
            await self.database.run(ratings.rating_of, payload.conversation_id)
            if staff.is_supervisor
            else None
        )
        await self.enter_room(sid, view_room(payload.conversation_id))
        latest = next(
            (
                m.text
                for m in reversed(detail.messages)
                if m.author_kind == "resident" and m.photo_id is None
            ),
            None,
        )
        return {
            **detail.as_dict(),
            "suggestions": self._suggestions(latest, detail.chat.language),
            "rating": rating.as_dict() if rating else None,
        }

    @socket_event(ConversationPayload)
    async def on_close_view(self, sid: str, payload: ConversationPayload) -> dict[str, Any]:
        await self.leave_room(sid, view_room(payload.conversation_id))
        return {}

    @socket_event(ConversationPayload)
    async def on_accept(self, sid: str, payload: ConversationPayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        assignment = await self.database.run(
            handling.accept,
            staff_id=staff.id,
            conversation_id=payload.conversation_id,
            now=self.clock(),
        )
        return {"conversation": assignment.chat.as_dict()}

    @socket_event(ReassignPayload)
    async def on_reassign(self, sid: str, payload: ReassignPayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        assignment = await self.database.run(
            handling.reassign,
            by=staff,
            conversation_id=payload.conversation_id,
            to_staff_id=payload.to_staff_id,
            now=self.clock(),
        )
        return {"conversation": assignment.chat.as_dict()}

    @socket_event(AgentChatsPayload)
    async def on_agent_chats(self, sid: str, payload: AgentChatsPayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        chats = await self.database.run(pane.chats_of, by=staff, staff_id=payload.staff_id)
        return {"staff_id": payload.staff_id, "chats": [c.as_dict() for c in chats]}

    @socket_event(AgentMessagePayload)
    async def on_message(self, sid: str, payload: AgentMessagePayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        sent = await self.database.run(
            handling.agent_message,
            by=staff,
            conversation_id=payload.conversation_id,
            text=payload.text,
            client_id=payload.client_id,
            now=self.clock(),
        )
        return {"message": sent.message.as_dict(), "duplicate": sent.duplicate}

    @socket_event(AgentTypingPayload)
    async def on_typing(self, sid: str, payload: AgentTypingPayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        data = {
            "conversation_id": payload.conversation_id,
            "author_kind": "agent",
            "author_name": staff.first_name,
            "typing": payload.typing,
        }
        assigned = await self.database.run(
            pane.assigned_agent, conversation_id=payload.conversation_id
        )
        # Only the agent who answers the resident shows as typing to them.
        typing = notices.Typing(payload.conversation_id, data, assigned, assigned == staff.id)
        with notices.told_in_ack(sid):
            await self.database.tell(typing)
        return {}

    @socket_event(AgentReadPayload)
    async def on_read(self, sid: str, payload: AgentReadPayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        with notices.told_in_ack(sid):
            read_seq = await self.database.run(
                actions.mark_read,
                conversation_id=payload.conversation_id,
                reader="staff",
                seq=payload.seq,
                by=staff,
            )
        return {"read_seq": read_seq}

    @socket_event(NotePayload)
    async def on_note(self, sid: str, payload: NotePayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        with notices.told_in_ack(sid):
            note = await self.database.run(
                handling.add_note,
                by=staff,
                conversation_id=payload.conversation_id,
                text=payload.text,
                now=self.clock(),
            )
        return {"note": note.as_dict()}

    @socket_event(TransferPayload)
    async def on_transfer(self, sid: str, payload: TransferPayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        moved = await self.database.run(
            handling.transfer,
            by=staff,
            conversation_id=payload.conversation_id,
            to_staff_id=payload.to_staff_id,
            to_workgroup=payload.to_workgroup,
            note=payload.note,
            now=self.clock(),
        )
        cid = payload.conversation_id
        if moved.assignment is not None:
            chat = moved.assignment.chat
        else:
            chat = await self.database.run(pane.chat_summary, cid)
        log.info("conversation %d transferred by staff %d", cid, staff.id)
        return {"conversation": chat.as_dict()}

    @socket_event(ClosePayload)
    async def on_close(self, sid: str, payload: ClosePayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        ended = await self.database.run(
            handling.close_chat,
            by=staff,
            conversation_id=payload.conversation_id,
            disposition=payload.disposition,
            now=self.clock(),
        )
        log.info(
            "conversation %d closed by staff %d: %s",
            ended.conversation.id,
            staff.id,
            payload.disposition,
        )
        chat = await self.database.run(pane.chat_summary, payload.conversation_id)
        return {"conversation": chat.as_dict()}

    @socket_event(ConversationPayload)
    async def on_transcript(self, sid: str, payload: ConversationPayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        sent = await self.database.run(
            transcripts.email_transcript,
            conversation_id=payload.conversation_id,
            email=None,
            center=self.assistant.index.kb.center,
            calendar=self.calendar,
            now=self.clock(),
            per_address_per_day=self.settings.mail_per_address_per_day,
        )
        log.info(
            "conversation %d: transcript %s by staff %d",
            payload.conversation_id,
            sent.outcome,
            staff.id,
        )
        return sent.as_dict(staff=True)

    @socket_event(RatingsPayload)
    async def on_ratings(self, sid: str, payload: RatingsPayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        if not staff.is_supervisor:
            raise Forbidden("Only supervisors see the residents' ratings.")
        until = self.clock()
        since = until - timedelta(days=payload.days)
        summary = await self.database.run(ratings.satisfaction_summary, since=since, until=until)
        recent = await self.database.run(ratings.recent_ratings, limit=20)
        return {
            "days": payload.days,
            "agents": [s.as_dict() for s in summary],
            "recent": [r.as_dict() for r in recent],
        }

    # --- the after-hours inbox ----------------------------------------------------------------

    @socket_event(InboxPayload)
    async def on_inbox(self, sid: str, payload: InboxPayload) -> dict[str, Any]:
        await self._staff(sid)
        items = await self.database.run(
            after_hours.inbox, now=self.clock(), statuses=tuple(payload.statuses)
        )
        return {"messages": [i.as_dict() for i in items]}

    @socket_event(InboxClaimPayload)
    async def on_inbox_claim(self, sid: str, payload: InboxClaimPayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        item = await self.database.run(
            after_hours.claim_message, by=staff, message_id=payload.id, now=self.clock()
        )
        return {"message": item.as_dict()}

    @socket_event(InboxReplyPayload)
    async def on_inbox_reply(self, sid: str, payload: InboxReplyPayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        item = await self.database.run(
            after_hours.reply_to_message,
            by=staff,
            message_id=payload.id,
            text=payload.text,
            center=self.assistant.index.kb.center,
            now=self.clock(),
        )
        log.info("after-hours message %d replied by staff %d", item.id, staff.id)
        return {"message": item.as_dict()}

    @socket_event(InboxStatusPayload)
    async def on_inbox_status(self, sid: str, payload: InboxStatusPayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        item = await self.database.run(
            after_hours.set_message_status,
            by=staff,
            message_id=payload.id,
            status=payload.status,
            now=self.clock(),
        )
        return {"message": item.as_dict()}

    # --- knowledge base and canned responses ---------------------------------------------

    @socket_event(SearchPayload)
    async def on_search(self, sid: str, payload: SearchPayload) -> dict[str, Any]:
        await self._staff(sid)
        index = self.assistant.index
        # A query in Spanish searches the Spanish articles (English where one is not translated).
        language = detect_language(payload.query, index) if payload.query.strip() else "en"
        hits = search_articles(payload.query, index.languages.get(language, index), limit=10)
        return {"articles": [h.as_dict() for h in self._localized(hits, language)]}

    @socket_event(ConversationPayload)
    async def on_suggest(self, sid: str, payload: ConversationPayload) -> dict[str, Any]:
        await self._staff(sid)
        latest, language = await self.database.run(
            pane.suggestion_source, conversation_id=payload.conversation_id
        )
        return {"suggestions": self._suggestions(latest, language)}

    def _suggestions(self, text: str | None, chat_language: str = "en") -> list[dict[str, Any]]:
        """Articles for the resident's latest message, in its language: a Spanish message (or
        any message of a Spanish chat) gets the Spanish articles, for the agent to insert."""
        if not text:
            return []
        index = self.assistant.index
        hits = suggest_articles(text, index, limit=3)
        detected = detect_language(text, index)
        language = detected if detected != "en" else chat_language
        return [h.as_dict() for h in self._localized(hits, language)]

    def _localized(self, hits: list[ArticleHit], language: str) -> list[ArticleHit]:
        """The hits' titles and answers in `language` (each article's English if untranslated)."""
        if language == "en":
            return hits
        kb = self.assistant.index.kb
        found = []
        for hit in hits:
            article = kb.localized_article(hit.id, language)
            if article is not None:
                hit = dataclasses.replace(hit, title=article.title, text=article.answer)
            found.append(hit)
        return found

    @socket_event(CannedSavePayload)
    async def on_canned_save(self, sid: str, payload: CannedSavePayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        canned = await self.database.run(
            save_canned,
            by=staff,
            canned_id=payload.id,
            translations=(
                None
                if payload.translations is None
                else {c: (t.title, t.text) for c, t in payload.translations.items()}
            ),
            shortcut=payload.shortcut,
            title=payload.title,
            text=payload.text,
            now=self.clock(),
        )
        return {"canned": canned.as_dict()}

    @socket_event(CannedDeletePayload)
    async def on_canned_delete(self, sid: str, payload: CannedDeletePayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        await self.database.run(delete_canned, by=staff, canned_id=payload.id)
        return {}

    # --- service requests ----------------------------------------------------------------

    @socket_event(HelloPayload)
    async def on_request_topics(self, sid: str, payload: HelloPayload) -> dict[str, Any]:
        await self._staff(sid)
        return listing.request_catalogue(self.request_policy().kb, STATUS_LABELS)

    @socket_event(RequestPrefillPayload)
    async def on_request_prefill(self, sid: str, payload: RequestPrefillPayload) -> dict[str, Any]:
        await self._staff(sid)
        kb = self.request_policy().kb
        source = await self.database.run(request_source, conversation_id=payload.conversation_id)
        chat_topic = kb.topics.get(source.topic or "")
        if chat_topic is not None and not chat_topic.is_request:
            chat_topic = None
        topic = request_topic(kb, payload.service_code) if payload.service_code else chat_topic
        return {
            "conversation_id": source.conversation_id,
            "topic": chat_topic.code if chat_topic else None,
            "service_code": topic.code if topic else None,
            "values": prefill(kb, topic, source.suggestion_texts),
            "contact": {"name": source.resident_name, "email": source.resident_email},
            "photo_ids": list(source.photo_ids),
            **listing.request_catalogue(kb, STATUS_LABELS),
        }

    @socket_event(RequestCreatePayload)
    async def on_request_create(self, sid: str, payload: RequestCreatePayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        filed = await self.database.run(
            file_request_from_chat,
            by=staff,
            conversation_id=payload.conversation_id,
            service_code=payload.service_code,
            values=dict(payload.values),
            photo_ids=payload.photo_ids,
            client_id=payload.client_id,
            policy=self.request_policy(),
            now=self.clock(),
        )
        view = filed.request
        message = filed.message.as_dict() if filed.message else None
        if not view.duplicate:
            log.info("request %s filed by staff %d from a chat", view.number, staff.id)
        return {"request": view.as_dict(), "message": message, "duplicate": view.duplicate}

    @socket_event(RequestListPayload)
    async def on_requests(self, sid: str, payload: RequestListPayload) -> dict[str, Any]:
        await self._staff(sid)
        policy = self.request_policy()
        query = RequestListQuery(
            status=payload.status,
            statuses=tuple(payload.statuses),
            department=payload.department,
            service_code=payload.service_code,
            start=date.fromisoformat(payload.start) if payload.start else None,
            end=date.fromisoformat(payload.end) if payload.end else None,
            page=payload.page,
        )
        filters = request_filter(query, zone=policy.calendar.zone, per_page=REQUESTS_PER_PAGE)
        page = await self.database.run(list_requests, filters, policy.kb)
        return {
            "requests": [v.as_dict() for v in page.items],
            "total": page.total,
            "page": payload.page,
            "per_page": REQUESTS_PER_PAGE,
        }

    @socket_event(RequestNumberPayload)
    async def on_request(self, sid: str, payload: RequestNumberPayload) -> dict[str, Any]:
        await self._staff(sid)
        view = await self.database.run(get_request, payload.number, self.request_policy().kb)
        return {"request": view.as_dict()}

    @socket_event(RequestStatusPayload)
    async def on_request_status(self, sid: str, payload: RequestStatusPayload) -> dict[str, Any]:
        staff = await self._staff(sid)
        view = await self.database.run(
            change_status,
            number=payload.number,
            status=payload.status,
            note=payload.note,
            public=payload.public,
            staff_id=staff.id,
            actor=staff.display_name,
            referred_to=payload.referred_to,
            next_steps=payload.next_steps,
            policy=self.request_policy(),
            now=self.clock(),
        )
        log.info("request %s is %s, by staff %d", view.number, view.status, staff.id)
        return {"request": view.as_dict()}
