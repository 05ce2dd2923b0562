"""Notices to events: the one place that decides who hears of what, after commit.

`Database.run` calls `Publisher.publish` with what a committed transaction recorded
(`chatsvc.notices`), in the order it was recorded. Each kind of notice maps to its rooms
here (`transport/events.py` names the rooms) and to the background work it wakes (routing,
the queue and presence broadcasts, the mail and webhook senders). Handlers never choose an
audience; a staff-only notice has no way to reach a resident from here.

What each notice becomes:

| notice | /resident | /agent | wakes |
|---|---|---|---|
| MessageAdded | `message` | `message` (viewers, holder) | |
| ConversationChanged | `conversation` (its view) | `conversation` (viewers, holder: the chat) | |
| Assigned | | `assigned` (new holder), `unassigned` (previous) | |
| Unassigned | | `unassigned` (former holder) | |
| NoteAdded | never | `note` (viewers, author, holder, receiver) | |
| Typing | `typing` (when `to_resident`) | `typing` (viewers, holder) | |
| ReadUpTo | `read` | `read` (viewers, holder) | |
| ResidentPresenceChanged | | `resident_presence` (viewers, holder) | |
| HoursOffered | `hours` | | |
| AgentStateChanged | | `me` (that staff member's tabs) | |
| InboxItemChanged | | `inbox_item` (all staff) | |
| RequestChanged | | `request` (all staff) | |
| CannedChanged | | `canned` (all staff) | |
| QueueChanged | | (the queue broadcast) | routing |
| PresenceChanged | | (the presence and queue broadcasts) | routing |
| MailQueued, WebhookQueued | | | their sender |

The connection a notice came from (`notices.origin`) is skipped where its ack says the same.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from chatsvc import notices as n
from chatsvc.transport.dispatch import Dispatcher

log = logging.getLogger("chatsvc.publish")


class Publisher:
    """Sends what committed transactions recorded, in the order they recorded it."""

    def __init__(self, dispatcher: Dispatcher):
        self.dispatcher = dispatcher
        self.events = dispatcher.events

    async def publish(self, notices: Sequence[n.Notice]) -> None:
        skip = n.origin.get()
        for notice in notices:
            await self._one(notice, skip)

    async def _one(self, notice: n.Notice, skip: str | None) -> None:
        events, dispatcher = self.events, self.dispatcher
        match notice:
            case n.MessageAdded(cid, message, holder, origin):
                await events.to_conversation(cid, holder, "message", message, origin or skip)
            case n.ConversationChanged(cid, resident_view, chat, holder):
                if resident_view is not None:
                    await events.to_resident(cid, "conversation", resident_view, skip)
                if chat is not None:
                    await events.to_staff_of(cid, holder, "conversation", chat, skip)
            case n.Assigned(cid, staff_id, chat, reason, previous):
                await events.to_staff_member(
                    staff_id, "assigned", {"conversation": chat, "reason": reason}
                )
                if previous is not None and previous != staff_id:
                    await events.to_staff_member(
                        previous, "unassigned", {"conversation_id": cid, "reason": reason}
                    )
                log.info("conversation %d assigned to staff %d (%s)", cid, staff_id, reason)
            case n.Unassigned(cid, staff_id, reason):
                await events.to_staff_member(
                    staff_id, "unassigned", {"conversation_id": cid, "reason": reason}
                )
            case n.NoteAdded(cid, note, staff_ids):
                await events.to_staff_of(cid, staff_ids, "note", note, skip)
            case n.Typing(cid, typing, holder, to_resident):
                if to_resident:
                    await events.to_conversation(cid, holder, "typing", typing, skip)
                else:
                    await events.to_staff_of(cid, holder, "typing", typing, skip)
            case n.ResidentPresenceChanged(cid, presence, holder):
                await events.to_staff_of(cid, holder, "resident_presence", presence)
            case n.ReadUpTo(cid, reader, seq, holder):
                data = {"conversation_id": cid, "reader": reader, "seq": seq}
                await events.to_conversation(cid, holder, "read", data, skip)
            case n.HoursOffered(cid, offer):
                await events.to_resident(cid, "hours", offer)
            case n.AgentStateChanged(staff_id, state):
                await events.to_staff_member(staff_id, "me", state)
            case n.InboxItemChanged(item):
                await events.to_all_staff("inbox_item", item)
            case n.RequestChanged(request):
                await events.to_all_staff("request", request)
            case n.CannedChanged(canned):
                await events.to_all_staff("canned", {"canned": list(canned)})
            case n.QueueChanged():
                dispatcher.queue_changed()
            case n.PresenceChanged():
                dispatcher.presence_changed()
            case n.MailQueued():
                dispatcher.mail_queued()
            case n.WebhookQueued():
                dispatcher.webhook_queued()
