"""Several `chatsvc serve` processes on one PostgreSQL and one Redis: events cross processes."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import redis.asyncio as redis
import socketio

from chatsvc.settings import Settings
from chatsvc.transport.state import Database

from .conftest import (
    PERSON,
    AgentClient,
    ResidentClient,
    ServerProcess,
    _recorder,
    add_staff_member,
    agent_for,
    run_chatsvc,
)

REDIS_URL = os.environ.get("CHATSVC_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis_url() -> str:
    """The local Redis, or a skip with the reason."""
    client = redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except (redis.RedisError, OSError) as exc:
        pytest.skip(f"Redis unreachable at {REDIS_URL}: {exc}")
    finally:
        await client.aclose()
    return REDIS_URL


@dataclass
class Cluster:
    """Two server processes sharing a database and a Redis channel."""

    urls: list[str]
    processes: list[ServerProcess]
    database: Database

    def logs(self) -> str:
        return "".join(line for p in self.processes for line in p.output)


@pytest.fixture
async def cluster(postgres_url: str, redis_url: str) -> AsyncIterator[Cluster]:
    upgraded = run_chatsvc("db", "upgrade", env={"DATABASE_URL": postgres_url})
    assert upgraded.returncode == 0, upgraded.stderr
    env = {
        **os.environ,
        "DATABASE_URL": postgres_url,
        "REDIS_URL": redis_url,
        # Its own channel: no other test's processes can talk into this one.
        "CHATSVC_REDIS_CHANNEL": f"chatsvc-test-{uuid.uuid4().hex[:8]}",
        "CHATSVC_HOST": "127.0.0.1",
        "CHATSVC_PORT": "0",
        "CHATSVC_SWEEP_SECONDS": "1",
        "CHATSVC_AGENT_GRACE_SECONDS": "2",
        "CHATSVC_BUSINESS_HOURS": "sun-sat 00:00-24:00",
        "CHATSVC_HOLIDAYS": "",
    }
    processes = [ServerProcess(env), ServerProcess(env)]
    database = Database(Settings(database_url=postgres_url))
    await database.open()
    try:
        urls = [await p.start() for p in processes]
        yield Cluster(urls, processes, database)
    finally:
        for process in processes:
            await process.stop()
        await database.close()
    logs = "".join(line for p in processes for line in p.output)
    assert "Traceback" not in logs and " ERROR " not in logs, logs[-3000:]


@pytest.fixture
async def clients() -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Factory: residents and agents connected to a given process; all disconnected after."""
    made: list[socketio.AsyncClient] = []

    async def resident(url: str) -> ResidentClient:
        sio = socketio.AsyncClient(reconnection=False)
        client = ResidentClient(sio, url)
        for name in ("message", "typing", "read", "conversation", "queue"):
            sio.on(name, _recorder(client, name), namespace="/resident")
        await client.connect()
        made.append(sio)
        return client

    async def agent(url: str, database: Database, username: str, **kw: Any) -> AgentClient:
        staff_id, cookie = await add_staff_member(database, username, **kw)
        client = await agent_for(url, staff_id, username, kw.get("display_name"), cookie)
        made.append(client.sio)
        return client

    async def make(kind: str, *args: Any, **kw: Any) -> Any:
        return await (resident if kind == "resident" else agent)(*args, **kw)

    yield make
    for sio in made:
        if sio.connected:
            await sio.disconnect()


async def test_a_resident_on_one_process_chats_with_an_agent_on_the_other(
    cluster: Cluster, clients: Callable[..., Awaitable[Any]]
) -> None:
    a, b = cluster.urls
    supervisor: AgentClient = await clients(
        "agent", a, cluster.database, "sam", role="supervisor", display_name="Sam Carter"
    )
    resident: ResidentClient = await clients("resident", a)
    ack = await resident.start(question=PERSON)
    conversation_id = ack["conversation"]["id"]
    assert ack["conversation"]["stage"] == "waiting"
    # The queue a supervisor on A sees is in the database: nobody is free yet.
    queued = await supervisor.next_where("queue", lambda q: len(q["queue"]) == 1)
    assert queued["queue"][0]["id"] == conversation_id

    maria: AgentClient = await clients(
        "agent", b, cluster.database, "maria", display_name="Maria Lopez"
    )
    await maria.available()
    # Presence made on B reaches A; the routing B did reaches B's agent and A's resident.
    await supervisor.next_where(
        "agents", lambda p: any(x["status"] == "available" for x in p["agents"])
    )
    assigned = await maria.next("assigned")
    assert assigned["conversation"]["id"] == conversation_id
    joined = await resident.next_where("message", lambda m: "joined the chat" in m["text"])
    assert "Maria" in joined["text"]

    sent = await maria.ok(
        "message",
        {
            "conversation_id": conversation_id,
            "text": "Hi, I'm Maria.",
            "client_id": uuid.uuid4().hex,
        },
    )
    heard = await resident.next_where("message", lambda m: m["author_kind"] == "agent")
    assert heard["seq"] == sent["message"]["seq"] and heard["text"] == "Hi, I'm Maria."

    reply = await resident.call(
        "message", {"client_id": uuid.uuid4().hex, "text": "My couch is on the curb."}
    )
    got = await maria.next_where("message", lambda m: m["author_kind"] == "resident")
    assert got["seq"] == reply["message"]["seq"]

    await maria.ok("typing", {"conversation_id": conversation_id, "typing": True})
    typing = await resident.next("typing")
    assert typing["typing"] is True and typing["author_kind"] == "agent"

    # Ending on A tells the agent on B.
    await resident.call("end", {})
    ended = await maria.next_where("message", lambda m: m["author_kind"] == "system")
    assert ended["text"] == "Chat ended by the resident."


async def test_an_agent_lost_with_their_process_is_noticed_by_the_other(
    cluster: Cluster, clients: Callable[..., Awaitable[Any]]
) -> None:
    a, b = cluster.urls
    resident: ResidentClient = await clients("resident", a)
    maria: AgentClient = await clients(
        "agent", b, cluster.database, "maria", display_name="Maria Lopez"
    )
    await maria.available()
    await resident.start(question=PERSON)
    await maria.next("assigned")
    # B dies with Maria's connection: A's sweep sees B's heartbeat stop and, after the grace
    # period, puts the resident back in line (told on A).
    await cluster.processes[1].kill()
    cluster.processes.pop()
    # (A process is taken for dead after 30 s without a heartbeat.)
    deadline = asyncio.get_running_loop().time() + 90
    while True:
        message = await asyncio.wait_for(resident.events["message"].get(), 90)
        if "lost their connection" in message["text"]:
            break
        assert asyncio.get_running_loop().time() < deadline
    assert "back in line" in message["text"]
    update = await resident.next_where("conversation", lambda c: c["stage"] == "waiting")
    assert update["agent"] is None
