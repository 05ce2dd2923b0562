"""The agent answered after the resident left: one mail, with a link that reopens the chat once."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest

from chatsvc.clock import utc_now
from chatsvc.db.models import OutboxMail, ResidentConnection, ResumeLink
from chatsvc.settings import Settings
from chatsvc.tokens import hash_token
from chatsvc.transport.dispatch import DISPATCHER
from chatsvc.transport.state import DATABASE
from tests.conftest import AgentClient, Inbox, LiveServer, ResidentClient, stored_rows
from tests.waiting import eventually

Residents = Callable[..., Awaitable[ResidentClient]]
Agents = Callable[..., Awaitable[AgentClient]]
SITE = "https://www.example.gov/services/"
LINK = re.compile(r"^https://www\.example\.gov/services/#chatsvc-resume=([A-Za-z0-9_-]{43})$", re.M)


class Chat:
    """A live server with a settable clock, a mail server, an agent and a resident's chat."""

    def __init__(self, server: LiveServer, inbox: Inbox, now: list[datetime]):
        self.server = server
        self.inbox = inbox
        self.now = now
        self.agent: AgentClient
        self.resident: ResidentClient
        self.cid = 0
        self.token = ""

    def later(self, **delta: float) -> None:
        self.now[0] += timedelta(**delta)

    async def sweep(self) -> None:
        await self.server.app[DISPATCHER].sweep()

    async def reply(self, text: str) -> int:
        ack = await self.agent.ok(
            "message", {"conversation_id": self.cid, "client_id": uuid.uuid4().hex, "text": text}
        )
        seq: int = ack["message"]["seq"]
        return seq

    async def resident_leaves(self) -> None:
        await self.resident.disconnect()
        await eventually(
            lambda: stored_rows(self.server, ResidentConnection),
            lambda rows: rows == [],
            what="the resident's connection forgotten",
        )

    async def unread_mails(self) -> list[Any]:
        return [m for m in await stored_rows(self.server, OutboxMail) if m.kind == "unread_replies"]


async def _open_chat(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_client: Residents,
    agent_client: Agents,
    smtp_server: Callable[..., Inbox],
    **settings: Any,
) -> Chat:
    inbox = smtp_server()
    now = [utc_now()]
    server = await start_server(
        make_settings(
            smtp_host="127.0.0.1",
            smtp_port=inbox.port,
            smtp_security="none",
            site_url=SITE,
            sweep_seconds=3600,  # the test sweeps, at the times it sets
            **settings,
        ),
        clock=lambda: now[0],
    )
    chat = Chat(server, inbox, now)
    chat.agent = await agent_client("maria", server=server, display_name="Maria Lopez")
    chat.resident = await resident_client(server.url)
    started = await chat.resident.start()
    chat.cid, chat.token = started["conversation"]["id"], started["token"]
    await chat.agent.next("assigned")
    return chat


OpenChat = Callable[..., Awaitable[Chat]]


@pytest.fixture
def open_chat(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_client: Residents,
    agent_client: Agents,
    smtp_server: Callable[..., Inbox],
) -> OpenChat:
    """Factory: a live chat with an agent, on a server with these settings changed."""

    async def open_(**settings: Any) -> Chat:
        return await _open_chat(
            make_settings, start_server, resident_client, agent_client, smtp_server, **settings
        )

    return open_


def link_code(mail: EmailMessage) -> str:
    body = mail.get_content().replace("\r\n", "\n")
    match = LINK.search(body)
    assert match, body
    return match.group(1)


async def test_replies_left_unread_make_one_mail_whose_link_reopens_the_chat_once(
    open_chat: OpenChat,
    resident_client: Residents,
) -> None:
    chat = await open_chat()
    await chat.agent.ok("note", {"conversation_id": chat.cid, "text": "Staff only: SECRET-NOTE"})
    await chat.resident_leaves()
    first = await chat.reply("Your pickup is booked for Tuesday.")
    chat.later(minutes=1)
    second = await chat.reply("Put the couch at the curb by 7 a.m.\nThanks for waiting!")
    await chat.sweep()  # the resident is seen gone
    chat.later(minutes=4, seconds=30)
    await chat.sweep()  # the second message is 4.5 minutes old, the first 5.5: one mail
    (mail,) = await chat.inbox.wait_for(1)
    assert mail["To"] == "ana@example.com"
    assert mail["Subject"] == "City of Pasadena: a reply in your chat"
    body = mail.get_content().replace("\r\n", "\n")
    assert body.startswith("Hello,\n")
    assert "Maria wrote on " in body or "Maria Lopez wrote on " in body
    assert "  Your pickup is booked for Tuesday." in body
    assert "  Put the couch at the curb by 7 a.m.\n  Thanks for waiting!" in body
    # Agents' messages only: no staff note, no assistant answer, no system line.
    assert "SECRET-NOTE" not in body and "bringing in" not in body and "joined" not in body
    assert "Citizen Service Center\nCity of Pasadena" in body
    assert "To read the whole conversation and answer, open this link." in body
    code = link_code(mail)
    assert code != chat.token and hash_token(code) != hash_token(chat.token)
    # Only a hash of the code is kept.
    (link,) = await stored_rows(chat.server, ResumeLink)
    assert link.code_hash == hash_token(code) and code not in repr(vars(link))

    # More sweeps, later: still one mail (the same messages are never mailed twice).
    chat.later(minutes=10)
    await chat.sweep()
    await chat.sweep()
    assert len(await chat.unread_mails()) == 1

    # The link reopens the chat with its history and a new token; the old token is dead.
    browser = await resident_client(chat.server.url)
    opened = await browser.call("resume_link", {"code": code})
    assert opened["ok"], opened
    assert opened["conversation"]["id"] == chat.cid
    assert {first, second} <= {m["seq"] for m in opened["messages"]}
    assert opened["messages"][0]["seq"] == 1
    new_token = opened["token"]
    assert new_token not in (chat.token, code)
    old = await browser.call("resume", {"token": chat.token})
    assert old["error"]["code"] == "invalid_token"
    assert (await browser.call("resume", {"token": new_token}))["ok"]
    # The resident is back in the chat: they can answer.
    answer = await browser.call("message", {"client_id": uuid.uuid4().hex, "text": "Thank you!"})
    assert answer["ok"]
    await chat.agent.next_where("message", lambda m: m["text"] == "Thank you!")

    # Used again (here, or by whoever else has the mail): refused, and nothing changes.
    again = await resident_client(chat.server.url)
    used = await again.call("resume_link", {"code": code})
    assert used["error"]["code"] == "link_used"
    assert "already been used" in used["error"]["message"]
    assert (await again.call("resume", {"token": new_token}))["ok"]  # the token still works
    # A made-up code, one a letter off: not valid.
    forged = code[:-1] + ("A" if code[-1] != "A" else "B")
    refused = await again.call("resume_link", {"code": forged})
    assert refused["error"]["code"] == "invalid_token"
    assert (await stored_rows(chat.server, ResumeLink))[0].used_at is not None
    assert len(await chat.unread_mails()) == 1


async def test_a_link_expires_and_an_expired_one_changes_nothing(
    open_chat: OpenChat,
    resident_client: Residents,
) -> None:
    chat = await open_chat(
        resume_link_ttl=timedelta(days=2),
    )
    await chat.resident_leaves()
    await chat.reply("We found your request.")
    await chat.sweep()
    chat.later(minutes=6)
    await chat.sweep()
    (mail,) = await chat.inbox.wait_for(1)
    code = link_code(mail)
    chat.later(days=2)
    browser = await resident_client(chat.server.url)
    expired = await browser.call("resume_link", {"code": code})
    assert expired["error"]["code"] == "token_expired"
    assert "expired" in expired["error"]["message"]
    (link,) = await stored_rows(chat.server, ResumeLink)
    assert link.used_at is None
    # The chat's token was not rotated: the resident's own browser still opens it.
    assert (await browser.call("resume", {"token": chat.token}))["ok"]


async def test_no_mail_when_the_resident_comes_back_or_reads_and_never_for_the_assistant(
    open_chat: OpenChat,
    resident_client: Residents,
) -> None:
    chat = await open_chat()
    # Another chat with the assistant only, left: its answers are never mailed.
    assistant_only = await resident_client(chat.server.url)
    await assistant_only.start(question="When is bulky item pickup?", email="bo@example.com")
    await assistant_only.disconnect()

    await chat.resident_leaves()
    await chat.reply("Are you still there?")
    await chat.sweep()
    chat.later(minutes=3)
    # Back before the deadline (a reload, another page): no mail while they are there.
    back = await resident_client(chat.server.url)
    assert (await back.call("resume", {"token": chat.token}))["ok"]
    chat.later(minutes=3)
    await chat.sweep()
    # They read it, then leave: nothing unread, nothing to mail.
    assert (await back.call("read", {"seq": back.last_seq}))["ok"]
    await back.disconnect()
    await eventually(lambda: stored_rows(chat.server, ResidentConnection), lambda rows: rows == [])
    chat.later(minutes=10)
    await chat.sweep()
    chat.later(minutes=10)
    await chat.sweep()
    assert await chat.unread_mails() == []
    assert chat.inbox.envelopes == []


async def test_later_replies_make_another_mail_only_after_the_resident_came_back(
    open_chat: OpenChat,
    resident_client: Residents,
) -> None:
    chat = await open_chat()
    await chat.resident_leaves()
    await chat.reply("First answer.")
    await chat.sweep()
    chat.later(minutes=6)
    await chat.sweep()
    (mail,) = await chat.inbox.wait_for(1)
    # Still away: a later message waits for them in the chat (the mail's link shows it).
    await chat.reply("Second answer.")
    for _ in range(3):
        chat.later(minutes=6)
        await chat.sweep()
    assert len(await chat.unread_mails()) == 1

    # They come back with the link, and go again without reading: the next reply is mailed.
    browser = await resident_client(chat.server.url)
    assert (await browser.call("resume_link", {"code": link_code(mail)}))["ok"]
    await chat.sweep()  # seen back
    await browser.disconnect()
    await eventually(lambda: stored_rows(chat.server, ResidentConnection), lambda rows: rows == [])
    await chat.reply("Third answer.")
    await chat.sweep()
    chat.later(minutes=6)
    await chat.sweep()
    mails = await chat.inbox.wait_for(2)
    body = mails[1].get_content().replace("\r\n", "\n")
    assert "Third answer." in body and "Second answer." in body
    assert link_code(mails[1]) != link_code(mail)


async def test_two_processes_sweeping_at_once_send_one_mail(
    postgres_url: str,
    open_chat: OpenChat,
    start_server: Callable[..., Awaitable[LiveServer]],
) -> None:
    """Two servers on one PostgreSQL database (the embedded SQLite default is one process)."""
    chat = await open_chat(
        database_url=postgres_url,
        auto_migrate=True,
    )
    other = await start_server(chat.server.settings, clock=lambda: chat.now[0])
    await chat.resident_leaves()
    await chat.reply("One answer.")
    await chat.reply("Two answers.")
    await asyncio.gather(chat.sweep(), other.app[DISPATCHER].sweep())
    chat.later(minutes=6)
    for _ in range(3):
        await asyncio.gather(chat.sweep(), other.app[DISPATCHER].sweep())
    await chat.inbox.wait_for(1)
    assert len(await chat.unread_mails()) == 1
    assert len(await stored_rows(other, ResumeLink)) == 1
    assert other.app[DATABASE] is not chat.server.app[DATABASE]
    # Give the other process's sender a moment too: still the one mail.
    await eventually(lambda: chat.unread_mails(), lambda mails: all(m.sent_at for m in mails))
    assert len(chat.inbox.envelopes) == 1


async def test_a_chat_ended_meanwhile_is_mailed_and_reopens_to_be_read(
    open_chat: OpenChat,
    resident_client: Residents,
) -> None:
    chat = await open_chat()
    await chat.resident_leaves()
    await chat.reply("Your request number is 26-000123. Have a good day!")
    await chat.agent.ok("close", {"conversation_id": chat.cid, "disposition": "resolved"})
    await chat.sweep()
    chat.later(minutes=6)
    await chat.sweep()
    (mail,) = await chat.inbox.wait_for(1)
    body = mail.get_content()
    assert "26-000123" in body and "Chat ended" not in body
    assert "To read the whole conversation, open this link." in body
    browser = await resident_client(chat.server.url)
    opened = await browser.call("resume_link", {"code": link_code(mail)})
    assert opened["ok"], opened
    assert opened["conversation"]["status"] == "ended"
    assert any("26-000123" in m["text"] for m in opened["messages"])
    late = await browser.call("message", {"client_id": uuid.uuid4().hex, "text": "One more thing"})
    assert late["error"]["code"] == "conversation_ended"


async def test_answering_the_unread_replies_mail_reaches_the_agent_in_the_chat(
    open_chat: OpenChat,
) -> None:
    # The whole loop: the agent answers after the resident left, the mail goes out through a
    # real SMTP server with the chat's reply address, and the resident's answer to it comes back
    # through the real inbound server into the chat, where the agent sees it live.
    from tests.realtime.test_mail_replies import DOMAIN, answer, send_reply

    chat = await open_chat(
        mail_reply_domain=DOMAIN,
        mail_reply_secret="a test secret, not a real one",
        mail_in_port=0,
    )
    await chat.resident_leaves()
    await chat.reply("Which wall is the graffiti on?")
    await chat.sweep()
    chat.later(minutes=6)
    await chat.sweep()
    (mail,) = await chat.inbox.wait_for(1)
    assert mail["Reply-To"].addresses[0].addr_spec.startswith(f"reply+c{chat.cid}-")

    await send_reply(chat.server, answer(mail, "The east wall, by the parking lot."))
    seen = await chat.agent.next_where("message", lambda m: m["author_kind"] == "resident")
    assert (seen["conversation_id"], seen["text"]) == (
        chat.cid,
        "The east wall, by the parking lot.",
    )
