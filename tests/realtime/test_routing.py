"""Routing, the queue and agents at work, against the real server with real Socket.IO clients."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
import socketio
from sqlalchemy import func, select, update

from chatsvc.actions import handling, presence
from chatsvc.actions.conversations import start_conversation
from chatsvc.clock import utc_now
from chatsvc.db.database import Database
from chatsvc.db.models import Conversation, Message, Staff
from chatsvc.settings import Settings
from chatsvc.transport.state import DATABASE
from tests.conftest import (
    PERSON,
    TIMEOUT,
    AgentClient,
    LiveServer,
    ResidentClient,
    ServerProcess,
    add_staff_member,
    agent_for,
    run_chatsvc,
)
from tests.databases import opened_database
from tests.waiting import eventually

Residents = Callable[..., Awaitable[ResidentClient]]
Agents = Callable[..., Awaitable[AgentClient]]


def joined(name: str) -> Callable[[Any], bool]:
    return lambda m: m["author_kind"] == "system" and m["text"] == f"{name} joined the chat."


async def wait_assigned(agent: AgentClient) -> dict[str, Any]:
    chat: dict[str, Any] = (await agent.next("assigned"))["conversation"]
    assert chat["assigned"]["id"] == agent.staff_id
    return chat


async def test_two_agents_with_one_slot_each_and_three_residents(
    resident_client: Residents, agent_client: Agents
) -> None:
    maria = await agent_client("maria", display_name="Maria Lopez", max_chats=1)
    tom = await agent_client("tom", display_name="Tom Reyes", max_chats=1)
    residents = []
    for name in ("Ana", "Ben", "Cy"):
        resident = await resident_client()
        await resident.start(name=name)
        residents.append(resident)
        if name != "Cy":
            # One at a time, so who is next in line is known.
            await resident.next_where("conversation", lambda c: c["stage"] == "agent")

    chats = {
        (await wait_assigned(maria))["resident"]["name"],
        (await wait_assigned(tom))["resident"]["name"],
    }
    assert chats == {"Ana", "Ben"}
    ana, ben, cy = residents
    place = await cy.next_where("queue", lambda q: q["position"] == 1)
    assert place["estimated_wait_seconds"] is not None and place["estimated_wait_seconds"] > 0
    # (A broadcast may show Ana or Ben waiting for the moment before they were assigned.)
    queue = await maria.next_where(
        "queue", lambda q: [e["resident"]["name"] for e in q["queue"]] == ["Cy"]
    )
    assert queue["total"] == 1 and queue["queue"][0]["position"] == 1

    # Both residents were told who joined, in their transcript.
    for resident in (ana, ben):
        message = await resident.next_where("message", lambda m: m["author_kind"] == "system")
        assert message["text"] in ("Maria joined the chat.", "Tom joined the chat.")

    # Maria closes Ana's chat: her slot goes to Cy at once.
    hers = await maria.ok("hello")
    (chat,) = hers["chats"]
    closed = await maria.ok("close", {"conversation_id": chat["id"], "disposition": "resolved"})
    assert closed["conversation"]["status"] == "ended"
    assert closed["conversation"]["disposition"] == "resolved"
    got = await wait_assigned(maria)
    assert got["resident"]["name"] == "Cy"
    seen = await cy.next_where("message", joined("Maria"))
    assert seen["author_name"] is None  # the widget signs it with the center's chat_name
    conversation = await cy.next_where("conversation", lambda c: c["stage"] == "agent")
    assert conversation["agent"] == {"name": "Maria"}
    assert "assigned_staff_id" not in conversation  # the resident sees a first name only
    (await maria.next_where("unassigned", lambda u: u["conversation_id"] == chat["id"]))
    ended = await ana.next_where("conversation", lambda c: c["status"] == "ended")
    assert ended["agent"] == {"name": "Maria"}  # who answered stays in the record


async def test_live_messages_typing_and_read_receipts_both_ways(
    resident_client: Residents, agent_client: Agents
) -> None:
    maria = await agent_client("maria", display_name="Maria Lopez")
    resident = await resident_client()
    started = await resident.start()
    cid = started["conversation"]["id"]
    await wait_assigned(maria)
    detail = await maria.ok("open", {"conversation_id": cid})
    # The whole transcript, the assistant's part included.
    kinds = [m["author_kind"] for m in detail["messages"]]
    assert kinds[:2] == ["resident", "assistant"] and kinds[-1] == "system"
    assert detail["conversation"]["handoff_reason"] == "asked"

    await maria.ok("typing", {"conversation_id": cid, "typing": True})
    typing = await resident.next("typing")
    assert (typing["author_kind"], typing["author_name"], typing["typing"]) == (
        "agent",
        "Maria",
        True,
    )

    sent = await maria.ok(
        "message", {"conversation_id": cid, "client_id": uuid.uuid4().hex, "text": "Hello Ana!"}
    )
    reply = await resident.next_where("message", lambda m: m["author_kind"] == "agent")
    assert (reply["text"], reply["author_name"], reply["seq"]) == (
        "Hello Ana!",
        "Maria",
        sent["message"]["seq"],
    )
    await resident.call("read", {"seq": reply["seq"]})
    read = await maria.next_where("read", lambda r: r["reader"] == "resident")
    assert read == {"conversation_id": cid, "reader": "resident", "seq": reply["seq"]}

    await resident.call("typing", {"typing": True})
    assert (await maria.next("typing"))["author_kind"] == "resident"
    answer = await resident.call("message", {"client_id": uuid.uuid4().hex, "text": "Thanks!"})
    got = await maria.next_where("message", lambda m: m["author_kind"] == "resident")
    assert got["seq"] == answer["message"]["seq"] and got["text"] == "Thanks!"
    ack = await maria.ok("read", {"conversation_id": cid, "seq": got["seq"]})
    assert ack["read_seq"] == got["seq"]
    assert (await resident.next("read")) == {
        "conversation_id": cid,
        "reader": "staff",
        "seq": got["seq"],
    }
    # The assistant stays quiet once a person has joined.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(
            resident.next_where("message", lambda m: m["author_kind"] == "assistant"), 0.5
        )


async def test_internal_notes_never_reach_the_resident(
    resident_client: Residents, agent_client: Agents, live_server: LiveServer
) -> None:
    maria = await agent_client("maria")
    supervisor = await agent_client("sue", role="supervisor")
    resident = await resident_client()
    started = await resident.start()
    cid = started["conversation"]["id"]
    await wait_assigned(maria)
    await supervisor.ok("open", {"conversation_id": cid})
    note = await maria.ok("note", {"conversation_id": cid, "text": "Caller sounds upset <b>x</b>"})
    assert note["note"]["kind"] == "note" and note["note"]["text"] == "Caller sounds upset <b>x</b>"
    watched = await supervisor.next("note")
    assert watched["id"] == note["note"]["id"]

    # Not as an event, not on resume, not in any stored message.
    resumed = await resident.call("resume", {"token": started["token"]})
    assert all("upset" not in m["text"] for m in resumed["messages"])
    assert resident.events["note"].empty()
    assert all("upset" not in m["text"] for m in _drain(resident.events["message"]))
    stored = await live_server.app[DATABASE].run(
        lambda s: s.scalar(select(func.count()).where(Message.body.contains("upset")))
    )
    assert stored == 0
    detail = await maria.ok("open", {"conversation_id": cid})
    assert [n["text"] for n in detail["notes"]] == ["Caller sounds upset <b>x</b>"]


def _drain(queue: asyncio.Queue[Any]) -> list[Any]:
    items = []
    while not queue.empty():
        items.append(queue.get_nowait())
    return items


async def test_topic_workgroup_first_then_fewest_chats_then_longest_idle(
    resident_client: Residents, agent_client: Agents
) -> None:
    # Idle longest: Ada (available first). But a pothole goes to Street Maintenance.
    ada = await agent_client("ada", workgroups=("Customer Service",))
    bo = await agent_client("bo", workgroups=("Street Maintenance",))
    resident = await resident_client()
    started = await resident.start(question="There is a big pothole on Colorado Blvd")
    assert started["conversation"]["topic"] == "pothole"
    await resident.call("message", {"client_id": uuid.uuid4().hex, "text": PERSON})
    chat = await wait_assigned(bo)
    assert chat["topic"] == "pothole" and chat["workgroup"] == "Street Maintenance"
    await bo.ok("close", {"conversation_id": chat["id"], "disposition": "resolved"})
    # Asked for a person in the same breath: the subject still routes it.
    direct = await resident_client()
    started = await direct.start(question="Big pothole on my street, can I talk to a person?")
    assert started["conversation"]["stage"] == "waiting"
    chat = await wait_assigned(bo)
    assert (chat["topic"], chat["handoff_reason"]) == ("pothole", "asked")

    # No workgroup: fewest chats wins (Ada has none, Bo one).
    other = await resident_client()
    await other.start()
    assert (await wait_assigned(ada))["resident"]["name"] == "Ana Ruiz"
    # Both have one now: the longest idle gets the next (Bo was assigned before Ada).
    third = await resident_client()
    await third.start(name="Cy")
    assert (await wait_assigned(bo))["resident"]["name"] == "Cy"


async def test_emergencies_go_first_in_the_queue(
    resident_client: Residents, agent_client: Agents
) -> None:
    busy = await agent_client("maria", max_chats=1)
    first = await resident_client()
    await first.start(name="First")
    await wait_assigned(busy)
    calm = await resident_client()
    await calm.start(name="Calm")
    urgent = await resident_client()
    await urgent.start(name="Urgent", question="There is a gas leak, I smell gas in the street")
    queue = await busy.next_where("queue", lambda q: q["total"] == 2)
    assert [(e["resident"]["name"], e["emergency"]) for e in queue["queue"]] == [
        ("Urgent", True),
        ("Calm", False),
    ]
    assert (await urgent.next_where("queue", lambda q: True))["position"] == 1


async def test_accept_from_the_queue_is_one_agent_only(
    resident_client: Residents, agent_client: Agents
) -> None:
    maria = await agent_client("maria", available=False)
    tom = await agent_client("tom", available=False)
    # Both may take a chat from the queue; neither is given it by routing.
    for agent in (maria, tom):
        await agent.ok("status", {"status": "away"})
    resident = await resident_client()
    started = await resident.start()
    cid = started["conversation"]["id"]
    await maria.next_where("queue", lambda q: q["total"] == 1)
    acks = await asyncio.gather(
        maria.call("accept", {"conversation_id": cid}), tom.call("accept", {"conversation_id": cid})
    )
    assert sorted(a["ok"] for a in acks) == [False, True]
    loser = next(a for a in acks if not a["ok"])
    assert loser["error"]["code"] == "already_taken"
    assert (await resident.next_where("message", lambda m: m["author_kind"] == "system"))[
        "text"
    ].endswith("joined the chat.")

    # Unknown ids, wrong types and missing fields change nothing.
    for bad in ({}, {"conversation_id": "1"}, {"conversation_id": 10**9}, {"conversation_id": -1}):
        ack = await maria.call("accept", bad)
        assert ack["ok"] is False
        assert ack["error"]["code"] in ("invalid_payload", "conversation_ended")


async def test_only_the_assigned_agent_writes_and_closes(
    resident_client: Residents, agent_client: Agents
) -> None:
    maria = await agent_client("maria")
    resident = await resident_client()
    cid = (await resident.start())["conversation"]["id"]
    await wait_assigned(maria)
    tom = await agent_client("tom")
    message = {"conversation_id": cid, "client_id": uuid.uuid4().hex, "text": "Hi, I am Tom"}
    assert (await tom.call("message", message))["error"]["code"] == "not_assigned"
    closing = {"conversation_id": cid, "disposition": "resolved"}
    assert (await tom.call("close", closing))["error"]["code"] == "not_assigned"
    assert (await tom.call("reassign", {"conversation_id": cid, "to_staff_id": tom.staff_id}))[
        "error"
    ]["code"] == "forbidden"
    # Nor may Tom make the resident see "Seen" on a chat that is not his.
    unseen = await tom.call("read", {"conversation_id": cid, "seq": 1})
    assert unseen["error"]["code"] == "forbidden", unseen
    sue = await agent_client("sue", role="supervisor", available=False)
    assert (await sue.ok("read", {"conversation_id": cid, "seq": 1}))["read_seq"] == 1
    seen = await resident.next("read")
    assert (seen["reader"], seen["seq"]) == ("staff", 1)  # the supervisor's, not Tom's
    bad = await maria.call("close", {"conversation_id": cid, "disposition": "whatever"})
    assert bad["error"]["code"] == "invalid_payload"
    huge = await maria.call("message", {**message, "text": "x" * 5000})
    assert huge["error"]["code"] == "invalid_payload"
    # The resident saw none of it.
    assert all(m["author_kind"] != "agent" for m in _drain(resident.events["message"]))


async def test_transfer_to_an_agent_and_to_a_workgroup(
    resident_client: Residents, agent_client: Agents
) -> None:
    maria = await agent_client("maria", workgroups=("Customer Service",))
    resident = await resident_client()
    cid = (await resident.start())["conversation"]["id"]
    await wait_assigned(maria)
    tom = await agent_client("tom", workgroups=("Parking Enforcement",))

    no_note = await maria.call("transfer", {"conversation_id": cid, "to_staff_id": tom.staff_id})
    assert no_note["error"]["code"] == "invalid_payload"
    moved = await maria.ok(
        "transfer",
        {"conversation_id": cid, "to_staff_id": tom.staff_id, "note": "Wants a parking refund"},
    )
    assert moved["conversation"]["assigned"]["id"] == tom.staff_id
    got = await tom.next("assigned")
    assert (got["conversation"]["id"], got["reason"]) == (cid, "transferred")
    assert (await tom.next("note"))["text"] == "Wants a parking refund"
    assert (await maria.next("unassigned")) == {"conversation_id": cid, "reason": "transferred"}
    await resident.next_where("message", joined("Tom"))
    detail = await tom.ok("open", {"conversation_id": cid})
    assert [(n["kind"], n["text"]) for n in detail["notes"]] == [
        ("transfer", "Wants a parking refund")
    ]

    # To a workgroup: back in the queue for that workgroup only (Maria is free but not in it).
    sent_back = await tom.ok(
        "transfer",
        {"conversation_id": cid, "to_workgroup": "Customer Service", "note": "Back to you"},
    )
    assert sent_back["conversation"]["stage"] in ("waiting", "agent")
    got = await maria.next("assigned")
    assert got["conversation"]["id"] == cid
    unknown = await maria.call(
        "transfer", {"conversation_id": cid, "to_workgroup": "Nobody Here", "note": "x"}
    )
    assert unknown["error"]["code"] == "invalid_payload"


async def test_a_supervisor_reassigns_and_takes_over(
    resident_client: Residents, agent_client: Agents
) -> None:
    maria = await agent_client("maria")
    resident = await resident_client()
    cid = (await resident.start())["conversation"]["id"]
    await wait_assigned(maria)
    sue = await agent_client("sue", role="supervisor", display_name="Sue Park", available=False)
    hello = await sue.ok("hello")
    assert {a["username"]: a["active_chats"] for a in hello["agents"]}["maria"] == 1
    taken = await sue.ok("reassign", {"conversation_id": cid, "to_staff_id": sue.staff_id})
    assert taken["conversation"]["assigned"] == {"id": sue.staff_id, "name": "Sue"}
    assert (await maria.next("unassigned"))["reason"] == "reassigned"
    await resident.next_where("message", joined("Sue"))
    await sue.ok("message", {"conversation_id": cid, "client_id": uuid.uuid4().hex, "text": "Hi"})
    assert (await resident.next_where("message", lambda m: m["author_kind"] == "agent"))[
        "author_name"
    ] == "Sue"


@pytest.fixture
def quick_settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings(agent_grace=timedelta(seconds=1), sweep_seconds=0.1)


async def test_a_lost_agent_keeps_chats_for_the_grace_period_then_they_go_back(
    quick_settings: Settings,
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_client: Residents,
    agent_client: Agents,
) -> None:
    server = await start_server(quick_settings)
    maria = await agent_client("maria", server=server, display_name="Maria Lopez")
    resident = await resident_client(server.url)
    cid = (await resident.start())["conversation"]["id"]
    await wait_assigned(maria)

    # A reload: gone and back within the grace period changes nothing.
    await maria.disconnect()
    back = await agent_for(server.url, maria.staff_id, "maria", "Maria Lopez", maria.cookie)
    try:
        hello = await back.ok("hello")
        assert [c["id"] for c in hello["chats"]] == [cid]
        assert hello["me"]["status"] == "available"
    finally:
        await back.disconnect()

    # Gone for good: after the grace period the chat goes back, and Tom gets it.
    tom = await agent_client("tom", server=server, display_name="Tom Reyes")
    told = await resident.next_where("message", lambda m: "lost their connection" in m["text"])
    assert told["text"].startswith("Maria lost their connection")
    assert (await wait_assigned(tom))["id"] == cid
    await resident.next_where("message", joined("Tom"))
    state = await tom.ok("hello")
    assert {a["username"]: a["status"] for a in state["agents"]}["maria"] == "offline"


async def test_a_resident_who_leaves_keeps_the_conversation(
    resident_client: Residents, agent_client: Agents
) -> None:
    maria = await agent_client("maria")
    resident = await resident_client()
    started = await resident.start()
    cid = started["conversation"]["id"]
    await wait_assigned(maria)
    await resident.disconnect()
    await maria.ok(
        "message", {"conversation_id": cid, "client_id": uuid.uuid4().hex, "text": "Still there?"}
    )
    later = await resident_client()
    resumed = await later.call("resume", {"token": started["token"]})
    assert resumed["conversation"]["stage"] == "agent"
    assert resumed["messages"][-1]["text"] == "Still there?"


async def test_idle_conversations_close_with_a_message_to_both_sides(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_client: Residents,
    agent_client: Agents,
) -> None:
    clock_offset = [timedelta(0)]

    def clock() -> Any:
        from chatsvc.clock import utc_now

        return utc_now() + clock_offset[0]

    server = await start_server(make_settings(sweep_seconds=0.1), clock=clock)
    maria = await agent_client("maria", server=server)
    resident = await resident_client(server.url)
    cid = (await resident.start())["conversation"]["id"]
    await wait_assigned(maria)
    clock_offset[0] = timedelta(minutes=31)
    notice = await resident.next_where("message", lambda m: "without a message" in m["text"])
    assert notice["text"].startswith("This chat was closed after 30 minutes")
    assert (await maria.next_where("message", lambda m: m["seq"] == notice["seq"]))[
        "text"
    ] == notice["text"]
    assert (await maria.next("unassigned")) == {"conversation_id": cid, "reason": "idle"}
    conversation = await server.app[DATABASE].run(lambda s: s.get(Conversation, cid))
    assert (conversation.status, conversation.ended_by, conversation.disposition) == (
        "ended",
        "idle",
        "no_response",
    )


async def test_fifty_concurrent_handoffs_across_two_processes_assign_each_chat_once(
    postgres_url: str,
) -> None:
    """Two `chatsvc serve` processes on one PostgreSQL database, agents and residents on both."""
    upgraded = run_chatsvc("db", "upgrade", env={"DATABASE_URL": postgres_url})
    assert upgraded.returncode == 0, upgraded.stderr
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "CHATSVC_HOST": "127.0.0.1",
        "CHATSVC_PORT": "0",
        "CHATSVC_SWEEP_SECONDS": "1",
        # Staffed around the clock, so the residents are handed over whatever the hour.
        "CHATSVC_BUSINESS_HOURS": "sun-sat 00:00-24:00",
        "CHATSVC_HOLIDAYS": "",
    }
    processes = [ServerProcess(env), ServerProcess(env)]
    database = Database(Settings(database_url=postgres_url))
    await database.open()
    agents: list[AgentClient] = []
    residents: list[socketio.AsyncClient] = []
    try:
        urls = [await p.start() for p in processes]
        for n in range(8):  # 8 agents x 5 chats = 40 slots for 50 residents
            staff_id, cookie = await add_staff_member(database, f"agent{n}", max_chats=5)
            agent = await agent_for(urls[n % 2], staff_id, f"agent{n}", None, cookie)
            agents.append(agent)
            await agent.available()

        async def hand_off(n: int) -> int:
            client = socketio.AsyncClient(reconnection=False)
            residents.append(client)
            await client.connect(urls[n % 2], namespaces=["/resident"], transports=["websocket"])
            ack = await client.call(
                "start",
                {"name": f"Resident {n}", "email": f"r{n}@example.com", "question": PERSON},
                namespace="/resident",
                timeout=TIMEOUT,
            )
            assert ack["ok"], ack
            assert ack["conversation"]["stage"] == "waiting"
            conversation_id: int = ack["conversation"]["id"]
            return conversation_id

        ids = await asyncio.gather(*(hand_off(n) for n in range(50)))
        assert len(set(ids)) == 50

        loads = await until(database, lambda s: _assignments(s, ids), lambda a: len(a) == 40)
        assert max(Counter(loads.values()).values()) <= 5  # nobody over their maximum
        # Each agent closes what they got; the ten still waiting are given out, once each.
        for agent in agents:
            for chat in (await agent.ok("hello"))["chats"]:
                await agent.ok("close", {"conversation_id": chat["id"], "disposition": "resolved"})
        assigned = await until(database, lambda s: _assignments(s, ids), lambda a: len(a) == 50)
        assert set(assigned) == set(ids)
        # The proof: every conversation has exactly one "joined" message, whichever process
        # routed it, and exactly one agent holds or held it.
        joins = await database.run(_joins, ids)
        assert joins == dict.fromkeys(ids, 1)
    finally:
        for client in [*residents, *(a.sio for a in agents)]:
            if client.connected:
                await client.disconnect()
        for process in processes:
            await process.stop()
        await database.close()
    logs = "".join(line for p in processes for line in p.output)
    assert "Traceback" not in logs and " ERROR " not in logs, logs[-3000:]


async def test_sweeps_racing_on_two_processes_close_and_return_each_chat_once(
    postgresql_db: Database,
) -> None:
    """Every process sweeps: idle closes and lapsed graces must happen once, whoever runs them."""
    now = utc_now()
    idle_ids = [
        (
            await postgresql_db.run(start_conversation, **resident(n), now=now - timedelta(hours=1))
        ).conversation.id
        for n in range(30)
    ]
    held: dict[int, list[int]] = {}
    for n in range(4):
        staff_id, _ = await add_staff_member(postgresql_db, f"lost{n}", now=now)
        held[staff_id] = []
        for m in range(3):
            started = await postgresql_db.run(start_conversation, **resident(10 * n + m), now=now)
            held[staff_id].append(started.conversation.id)
    await postgresql_db.run(_lost_with_their_chats, held, now)

    async with opened_database(postgresql_db.settings.database_url) as other:
        sweeps = [
            sweep(database)
            for database in (postgresql_db, other, postgresql_db, other)
            for sweep in (
                lambda d: d.run(presence.expire_graces, now=now),
                lambda d: d.run(handling.close_idle, now=now, idle_after=timedelta(minutes=30)),
            )
        ]
        outcomes = await asyncio.gather(*sweeps)

    closed = [e.conversation.id for found in outcomes[1::2] for e in found]
    returned = [r for found in outcomes[0::2] for r in found]
    assert sorted(closed) == idle_ids
    assert sorted(r.staff_id for r in returned) == sorted(held)
    assert all(sorted(c.id for c in r.conversations) == held[r.staff_id] for r in returned)
    # The transcripts say so once each: one closing notice, one "lost their connection".
    held_ids = [i for ids in held.values() for i in ids]
    notices = await postgresql_db.run(_system_notices, [*idle_ids, *held_ids])
    assert all(notices[i] == ["closed after"] for i in idle_ids), notices
    assert all(notices[i] == ["lost"] for i in held_ids), notices


def resident(n: int) -> dict[str, Any]:
    return {"name": f"R{n}", "email": f"r{n}@example.com", "question": "Hi", "client_id": None}


async def _lost_with_their_chats(session: Any, held: dict[int, list[int]], now: Any) -> None:
    """Each agent holds their chats and lost their connection a grace period ago."""
    for staff_id, ids in held.items():
        await session.execute(
            update(Conversation)
            .where(Conversation.id.in_(ids))
            .values(stage="agent", assigned_staff_id=staff_id, assigned_at=now, agent_name="Pat")
        )
        await session.execute(
            update(Staff)
            .where(Staff.id == staff_id)
            .values(status="available", grace_until=now - timedelta(seconds=1))
        )


async def _system_notices(session: Any, ids: list[int]) -> dict[int, list[str]]:
    rows = await session.execute(
        select(Message.conversation_id, Message.body)
        .where(Message.conversation_id.in_(ids), Message.author_kind == "system")
        .order_by(Message.seq)
    )
    notices: dict[int, list[str]] = {i: [] for i in ids}
    for cid, body in rows:
        notices[cid].append(
            "closed after" if "closed after" in body else "lost" if "lost" in body else body
        )
    return notices


async def _assignments(session: Any, ids: list[int]) -> dict[int, int]:
    rows = await session.execute(
        select(Conversation.id, Conversation.assigned_staff_id).where(
            Conversation.id.in_(ids), Conversation.assigned_staff_id.is_not(None)
        )
    )
    return {cid: staff_id for cid, staff_id in rows}


async def _joins(session: Any, ids: list[int]) -> dict[int, int]:
    rows = await session.execute(
        select(Message.conversation_id, func.count())
        .where(Message.conversation_id.in_(ids), Message.body.endswith("joined the chat."))
        .group_by(Message.conversation_id)
    )
    return {cid: count for cid, count in rows}


async def until(
    database: Database, read: Callable[[Any], Awaitable[Any]], done: Callable[[Any], bool]
) -> Any:
    """Read from the database until `done` holds (the processes route in the background)."""
    return await eventually(lambda: database.run(read), done, within=30, every=0.1)


async def test_supervisors_see_each_agents_chats_and_agents_only_their_own(
    resident_client: Residents, agent_client: Agents
) -> None:
    maria = await agent_client("maria")
    resident = await resident_client()
    cid = (await resident.start())["conversation"]["id"]
    await wait_assigned(maria)
    sue = await agent_client("sue", role="supervisor", available=False)
    tom = await agent_client("tom", available=False)
    listed = await sue.ok("agent_chats", {"staff_id": maria.staff_id})
    assert [c["id"] for c in listed["chats"]] == [cid]
    refused = await tom.call("agent_chats", {"staff_id": maria.staff_id})
    assert refused["error"]["code"] == "forbidden"
    assert (await maria.ok("agent_chats", {"staff_id": maria.staff_id}))["chats"][0]["id"] == cid
