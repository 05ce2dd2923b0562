"""Real-time: the real server on a random port, spoken to by real python-socketio clients."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
import socketio
from sqlalchemy import func, select

from chatsvc.db.models import Message
from chatsvc.settings import Rate, Settings
from chatsvc.transport.state import DATABASE
from tests.conftest import LiveServer, ResidentClient

Factory = Callable[..., Awaitable[ResidentClient]]


def cid() -> str:
    return uuid.uuid4().hex


async def count_messages(server: LiveServer, conversation_id: int) -> int:
    async with server.app[DATABASE].engine.connect() as conn:
        result = await conn.scalar(
            select(func.count()).where(Message.conversation_id == conversation_id)
        )
    return int(result or 0)


async def test_start_gives_token_question_and_reply(resident_client: Factory) -> None:
    resident = await resident_client()
    ack = await resident.start(question="When is bulky item pickup?", client_id=cid())

    assert len(ack["token"]) >= 40
    conversation = ack["conversation"]
    assert conversation["status"] == "open"
    assert conversation["resident"] == {"name": "Ana Ruiz", "email": "ana@example.com"}
    question, reply = ack["messages"]
    assert (question["seq"], question["author_kind"], question["text"]) == (
        1,
        "resident",
        "When is bulky item pickup?",
    )
    assert (reply["seq"], reply["author_kind"]) == (2, "assistant")
    assert reply["author_name"] == "City Assistant"
    assert reply["format"] == "markdown"
    assert {"label": "Talk to a person", "text": "Talk to a person"} in reply["quick_replies"]
    assert conversation["last_seq"] == 2
    assert question["created_at"].endswith("Z")


async def test_a_start_sent_again_finds_the_chat_it_opened(
    live_server: LiveServer, resident_client: Factory
) -> None:
    # The first answer was lost (the connection dropped): the widget sends the same start again.
    client_id = cid()
    lost = await resident_client()
    first = await lost.start(question="When is bulky item pickup?", client_id=client_id)
    await lost.disconnect()
    again = await resident_client()
    second = await again.start(question="When is bulky item pickup?", client_id=client_id)

    assert second["conversation"]["id"] == first["conversation"]["id"]
    # The same chat as it stands: the question and the assistant's answer, not asked again.
    assert [(m["seq"], m["author_kind"]) for m in second["messages"]] == [
        (1, "resident"),
        (2, "assistant"),
    ]
    assert await count_messages(live_server, first["conversation"]["id"]) == 2
    # A new token; the first one (which nobody kept) no longer opens the chat.
    assert second["token"] != first["token"]
    refused = await again.call("resume", {"token": first["token"]})
    assert refused["error"]["code"] == "invalid_token"
    resumed = await again.call("resume", {"token": second["token"]})
    assert resumed["ok"] and resumed["conversation"]["id"] == first["conversation"]["id"]
    # The reconnected client is in the chat: a message it sends lands there.
    sent = await again.call("message", {"client_id": cid(), "text": "and a mattress"})
    assert sent["message"]["conversation_id"] == first["conversation"]["id"]

    # Another client id is another chat.
    other = await again.start(question="When is bulky item pickup?", client_id=cid())
    assert other["conversation"]["id"] != first["conversation"]["id"]


async def test_a_start_sent_again_after_its_chat_ended_opens_a_new_one(
    resident_client: Factory,
) -> None:
    client_id = cid()
    resident = await resident_client()
    first = await resident.start(client_id=client_id)
    assert (await resident.call("end", {}))["ok"]
    again = await resident.start(client_id=client_id)
    assert again["conversation"]["id"] != first["conversation"]["id"]
    assert again["conversation"]["status"] == "open"


async def test_send_is_acked_with_the_next_seq(resident_client: Factory) -> None:
    resident = await resident_client()
    await resident.start()
    first = await resident.call("message", {"client_id": cid(), "text": "  a couch  "})
    second = await resident.call("message", {"client_id": cid(), "text": "and a mattress"})

    assert first["ok"] and second["ok"]
    assert first["message"]["text"] == "a couch"
    assert (first["message"]["seq"], second["message"]["seq"]) == (3, 4)
    assert first["duplicate"] is False


async def test_two_clients_in_one_conversation_see_each_others_messages(
    resident_client: Factory,
) -> None:
    tab_a = await resident_client()
    started = await tab_a.start()
    tab_b = await resident_client()
    resumed = await tab_b.call("resume", {"token": started["token"]})
    assert resumed["ok"] and [m["seq"] for m in resumed["messages"]] == [1, 2]

    sent = await tab_a.call("message", {"client_id": cid(), "text": "from tab A"})
    received = await tab_b.next("message")
    assert received == sent["message"]

    await tab_b.call("message", {"client_id": cid(), "text": "from tab B"})
    assert (await tab_a.next("message"))["text"] == "from tab B"


async def test_other_conversations_receive_nothing(resident_client: Factory) -> None:
    ana = await resident_client()
    await ana.start()
    bob = await resident_client()
    await bob.start(name="Bob", email="bob@example.com")
    await ana.call("message", {"client_id": cid(), "text": "private to Ana"})
    # Bob's own second tab sends: if Bob's first tab receives that, and nothing before it,
    # Ana's message never crossed over.
    bob_tab = await resident_client()
    await bob_tab.call("resume", {"token": bob.token})
    await bob_tab.call("message", {"client_id": cid(), "text": "Bob again"})
    assert (await bob.next("message"))["text"] == "Bob again"


async def test_resend_with_same_client_id_stores_one_message(
    live_server: LiveServer, resident_client: Factory
) -> None:
    resident = await resident_client()
    started = await resident.start()
    other_tab = await resident_client()
    await other_tab.call("resume", {"token": started["token"]})
    message_id = cid()

    first = await resident.call("message", {"client_id": message_id, "text": "once"})
    again = await resident.call("message", {"client_id": message_id, "text": "once"})

    assert again["duplicate"] is True
    assert again["message"] == first["message"]
    assert await count_messages(live_server, started["conversation"]["id"]) == 3
    # The other tab got the message once: the next thing it sees is the following message.
    assert (await other_tab.next("message"))["seq"] == 3
    await resident.call("message", {"client_id": cid(), "text": "next"})
    assert (await other_tab.next("message"))["seq"] == 4


async def test_concurrent_resends_store_one_message(
    live_server: LiveServer, resident_client: Factory
) -> None:
    resident = await resident_client()
    started = await resident.start()
    message_id = cid()
    acks = await asyncio.gather(
        *(resident.call("message", {"client_id": message_id, "text": "x"}) for _ in range(5))
    )
    assert all(ack["ok"] for ack in acks)
    assert len({ack["message"]["seq"] for ack in acks}) == 1
    assert await count_messages(live_server, started["conversation"]["id"]) == 3


async def test_reconnect_with_last_seq_gets_exactly_the_missed_messages(
    resident_client: Factory,
) -> None:
    stays = await resident_client()
    started = await stays.start()
    leaves = await resident_client()
    await leaves.call("resume", {"token": started["token"]})
    seen = leaves.last_seq
    await leaves.disconnect()

    sent = [
        (await stays.call("message", {"client_id": cid(), "text": f"missed {n}"}))["message"]
        for n in range(3)
    ]

    back = await resident_client()
    resumed = await back.call("resume", {"token": started["token"], "last_seq": seen})
    assert resumed["messages"] == sent
    assert resumed["has_more"] is False
    # And it is live again.
    await stays.call("message", {"client_id": cid(), "text": "live"})
    assert (await back.next("message"))["seq"] == sent[-1]["seq"] + 1


@pytest.fixture
async def chatty_server(
    make_settings: Callable[..., Settings], start_server: Callable[..., Awaitable[LiveServer]]
) -> LiveServer:
    """A server whose message limit lets one connection write a long history quickly."""
    return await start_server(make_settings(rate_message=Rate(1000, 60_000)))


async def test_resume_pages_long_histories(
    chatty_server: LiveServer, resident_client: Factory
) -> None:
    resident = await resident_client(chatty_server.url)
    started = await resident.start()
    for n in range(505):
        await resident.call("message", {"client_id": cid(), "text": f"m{n}"})
    reader = await resident_client(chatty_server.url)
    first = await reader.call("resume", {"token": started["token"]})
    assert first["has_more"] is True and len(first["messages"]) == 500
    rest = await reader.call("resume", {"token": started["token"], "last_seq": 500})
    assert rest["has_more"] is False
    assert [m["seq"] for m in rest["messages"]] == list(range(501, 508))


async def test_resume_pages_by_size_too(
    chatty_server: LiveServer, resident_client: Factory
) -> None:
    # 100 messages of 4,000 characters: 400 kB of text, more than one answer carries.
    resident = await resident_client(chatty_server.url)
    started = await resident.start()
    for n in range(100):
        await resident.call("message", {"client_id": cid(), "text": f"{n:04} " + "é" * 3995})
    reader = await resident_client(chatty_server.url)
    seqs: list[int] = []
    last_seq, pages = 0, 0
    while True:
        page = await reader.call("resume", {"token": started["token"], "last_seq": last_seq})
        pages += 1
        size = sum(len(m["text"].encode()) for m in page["messages"])
        assert size <= 256 * 1024 + 8 * 1024, size  # at most one message past the budget
        seqs += [m["seq"] for m in page["messages"]]
        if not page["has_more"]:
            break
        last_seq = seqs[-1]
    assert seqs == list(range(1, 103)) and pages >= 4


async def test_typing_and_read_reach_the_other_connection(resident_client: Factory) -> None:
    tab_a = await resident_client()
    started = await tab_a.start()
    tab_b = await resident_client()
    await tab_b.call("resume", {"token": started["token"]})

    assert (await tab_a.call("typing", {"typing": True}))["ok"]
    cid = started["conversation"]["id"]
    assert await tab_b.next("typing") == {
        "conversation_id": cid,
        "author_kind": "resident",
        "author_name": "Ana Ruiz",
        "typing": True,
    }
    read = await tab_a.call("read", {"seq": 99})
    assert read == {"ok": True, "read_seq": 2}  # never past the last message
    assert await tab_b.next("read") == {"conversation_id": cid, "reader": "resident", "seq": 2}
    lower = await tab_a.call("read", {"seq": 1})
    assert lower["read_seq"] == 2  # never goes down


async def test_end_closes_the_conversation_for_every_tab(resident_client: Factory) -> None:
    tab_a = await resident_client()
    started = await tab_a.start()
    tab_b = await resident_client()
    await tab_b.call("resume", {"token": started["token"]})

    ended = await tab_a.call("end", {})
    assert ended["conversation"]["status"] == "ended"
    assert ended["conversation"]["ended_at"] is not None
    assert ended["messages"][0]["author_kind"] == "system"
    assert (await tab_b.next("message"))["text"].startswith("Chat ended")
    assert (await tab_b.next("conversation"))["status"] == "ended"

    refused = await tab_b.call("message", {"client_id": cid(), "text": "still there?"})
    assert refused["error"]["code"] == "conversation_ended"
    again = await tab_a.call("end", {})
    assert again["ok"] and again["messages"] == []
    # The transcript stays readable with the token until it expires.
    reader = await resident_client()
    assert len((await reader.call("resume", {"token": started["token"]}))["messages"]) == 3


async def test_tokens_expire_a_set_time_after_the_conversation_ends(
    start_server: Callable[..., Awaitable[LiveServer]],
    make_settings: Callable[..., object],
    resident_client: Factory,
) -> None:
    now = [datetime(2026, 11, 23, 17, 0, tzinfo=UTC)]
    server = await start_server(make_settings(token_ttl=timedelta(hours=2)), clock=lambda: now[0])
    resident = await resident_client(server.url)
    started = await resident.start()
    await resident.call("end", {})

    now[0] += timedelta(hours=1, minutes=59)
    assert (await resident.call("resume", {"token": started["token"]}))["ok"]
    now[0] += timedelta(minutes=2)
    expired = await resident.call("resume", {"token": started["token"]})
    assert expired["error"]["code"] == "token_expired"


async def test_wrong_token_never_opens_another_conversation(resident_client: Factory) -> None:
    owner = await resident_client()
    started = await owner.start()
    stranger = await resident_client()
    token = started["token"]
    for wrong in (token[:-1] + ("A" if token[-1] != "A" else "B"), "x" * 43, token.upper()):
        if wrong == token:
            continue
        ack = await stranger.call("resume", {"token": wrong})
        assert ack["error"]["code"] == "invalid_token", wrong
    # Still nothing on this connection: it may not write anywhere.
    ack = await stranger.call("message", {"client_id": cid(), "text": "hi"})
    assert ack["error"]["code"] == "not_in_conversation"


async def test_a_new_start_leaves_the_previous_conversation(resident_client: Factory) -> None:
    resident = await resident_client()
    first = await resident.start()
    watcher = await resident_client()
    await watcher.call("resume", {"token": first["token"]})
    second = await resident.start(question="A new question")
    assert second["conversation"]["id"] != first["conversation"]["id"]
    await resident.call("message", {"client_id": cid(), "text": "goes to the second"})
    await watcher.call("message", {"client_id": cid(), "text": "watcher writes in the first"})
    # The watcher's conversation did not get the resident's new message.
    resumed = await watcher.call("resume", {"token": first["token"]})
    texts = [m["text"] for m in resumed["messages"]]
    assert "goes to the second" not in texts
    assert "watcher writes in the first" in texts


async def test_foreign_origin_is_refused(
    live_server: LiveServer, resident_client: Factory, log_errors: object
) -> None:
    log_errors.allow("is not an accepted origin")  # type: ignore[attr-defined]
    client = await resident_client(connect=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await client.connect(headers={"Origin": "https://evil.example"})
    own = await resident_client(connect=False)
    await own.connect(headers={"Origin": live_server.url})
    assert own.sio.connected


async def test_configured_origins_are_accepted(
    start_server: Callable[..., Awaitable[LiveServer]],
    make_settings: Callable[..., object],
    resident_client: Factory,
) -> None:
    server = await start_server(make_settings(allowed_origins=("https://www.cityofpasadena.net",)))
    client = await resident_client(server.url, connect=False)
    await client.connect(headers={"Origin": "https://www.cityofpasadena.net"})
    assert (await client.start())["ok"]


async def test_oversized_packet_is_refused_and_server_stays_up(
    start_server: Callable[..., Awaitable[LiveServer]],
    make_settings: Callable[..., object],
    resident_client: Factory,
) -> None:
    server = await start_server(make_settings(max_payload_bytes=16_384))
    client = await resident_client(server.url)
    await client.start()
    disconnected = asyncio.Event()
    client.sio.on("disconnect", lambda *args: disconnected.set(), namespace="/resident")
    await client.sio.emit("message", {"client_id": cid(), "text": "x" * 20_000}, "/resident")
    await asyncio.wait_for(disconnected.wait(), 10)
    survivor = await resident_client(server.url)
    assert (await survivor.start())["ok"]
