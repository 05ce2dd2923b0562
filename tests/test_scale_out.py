"""Several `chatsvc serve` processes on one PostgreSQL and one Redis: events cross processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as redis
import socketio
from sqlalchemy import select

from chatsvc.models import Conversation, Message
from chatsvc.settings import Settings
from chatsvc.tokens import hash_token
from chatsvc.transport.state import Database

from .conftest import (
    PERSON,
    AgentClient,
    ResidentClient,
    ServerProcess,
    _recorder,
    add_staff_member,
    agent_for,
    free_port,
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


NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
DEPLOY = Path(__file__).resolve().parent.parent / "deploy"


@pytest.fixture
async def nginx(cluster: Cluster, tmp_path: Path) -> AsyncIterator[str]:
    """deploy/nginx/chatsvc.conf, as shipped but for the ports, in front of the two processes."""
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light)")
    port = free_port()
    site = (DEPLOY / "nginx" / "chatsvc.conf").read_text()
    upstreams = re.findall(r"^\s*server 127\.0\.0\.1:\d+ .*;$", site, flags=re.M)
    assert len(upstreams) >= 2, "the shipped config balances two processes or more"
    for line, url in zip(upstreams, cluster.urls, strict=False):
        site = site.replace(line, re.sub(r"127\.0\.0\.1:\d+", url.removeprefix("http://"), line))
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};").replace("listen [::]:80;", "")
    (tmp_path / "chatsvc.conf").write_text(site)
    temp = {name: tmp_path / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    (tmp_path / "nginx.conf").write_text(
        f"worker_processes 1;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events { worker_connections 1024; }\n"
        "http {\n  access_log off;\n"
        f"  client_body_temp_path {temp['body']};\n  proxy_temp_path {temp['proxy']};\n"
        f"  fastcgi_temp_path {temp['fastcgi']};\n  uwsgi_temp_path {temp['uwsgi']};\n"
        f"  scgi_temp_path {temp['scgi']};\n  include {tmp_path}/chatsvc.conf;\n}}\n"
    )
    process = await asyncio.create_subprocess_exec(
        NGINX, "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;",
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        await asyncio.wait_for(_until_healthy(url, process), 15)
        yield url
    finally:
        process.terminate()
        await process.wait()


async def _until_healthy(url: str, process: asyncio.subprocess.Process) -> None:
    async with aiohttp.ClientSession() as http:
        while True:
            if process.returncode is not None:
                assert process.stderr is not None
                raise AssertionError((await process.stderr.read()).decode())
            try:
                async with http.get(f"{url}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)  # nginx is starting: poll its port


async def test_the_shipped_nginx_config_carries_websocket_and_polling(
    cluster: Cluster, nginx: str, clients: Callable[..., Awaitable[Any]]
) -> None:
    # Residents come through nginx, one over WebSocket and one long-polling (which needs every
    # poll of its session on the same process); the agent is on each process in turn.
    sio = socketio.AsyncClient(reconnection=False)
    polling = ResidentClient(sio, nginx)
    for name in ("message", "conversation"):
        sio.on(name, _recorder(polling, name), namespace="/resident")
    await sio.connect(nginx, namespaces=["/resident"], transports=["polling"], wait_timeout=10)
    try:
        websocket: ResidentClient = await clients("resident", nginx)
        maria: AgentClient = await clients(
            "agent", cluster.urls[1], cluster.database, "maria", max_chats=5
        )
        await maria.available()
        for resident in (polling, websocket):
            ack = await resident.start(question=PERSON)
            conversation_id = ack["conversation"]["id"]
            assigned = await maria.next("assigned")
            assert assigned["conversation"]["id"] == conversation_id
            await maria.ok(
                "message",
                {
                    "conversation_id": conversation_id,
                    "text": "Hello!",
                    "client_id": uuid.uuid4().hex,
                },
            )
            heard = await resident.next_where("message", lambda m: m["author_kind"] == "agent")
            assert heard["text"] == "Hello!"
            sent = await resident.call("message", {"client_id": uuid.uuid4().hex, "text": "Hi"})
            got = await maria.next_where("message", lambda m: m["author_kind"] == "resident")
            assert got["seq"] == sent["message"]["seq"]
    finally:
        # python-socketio's polling client waits for its pending poll (up to 30 s) to return
        # before it lets go; the server has closed the session already.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sio.disconnect(), 2)


# --- faults ----------------------------------------------------------------------------------


@dataclass
class Sender:
    """A resident who keeps writing through the load balancer and fails over like the widget:
    on a lost connection, connect again, `resume` from the last seq, resend what was not acked
    under the same client id."""

    url: str
    number: int
    token: str = ""
    last_seq: int = 0
    sio: socketio.AsyncClient | None = None
    acked: dict[str, int] = field(default_factory=dict)  # client id -> seq
    sent: set[str] = field(default_factory=set)
    reconnects: int = 0

    async def connect(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        await self.sio.connect(
            self.url, namespaces=["/resident"], transports=["websocket"], wait_timeout=5
        )

    async def call(self, event: str, data: Any) -> dict[str, Any]:
        assert self.sio is not None
        ack: dict[str, Any] = await self.sio.call(event, data, namespace="/resident", timeout=5)
        return ack

    async def start(self) -> None:
        await self.connect()
        ack = await self.call(
            "start",
            {"name": f"Resident {self.number}", "email": "r@example.com", "question": PERSON},
        )
        assert ack["ok"], ack
        self.token = ack["token"]
        self.last_seq = max(m["seq"] for m in ack["messages"])

    async def fail_over(self) -> None:
        self.reconnects += 1
        if self.sio is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.sio.disconnect(), 2)
        while True:  # until the balancer has taken the dead process out
            try:
                await self.connect()
                ack = await self.call("resume", {"token": self.token, "last_seq": self.last_seq})
            except (socketio.exceptions.SocketIOError, TimeoutError, OSError):
                await asyncio.sleep(0.2)  # retry pacing, as the widget backs off
                continue
            assert ack["ok"], ack
            for message in ack["messages"]:
                self.last_seq = max(self.last_seq, message["seq"])
            return

    async def write(self, text: str) -> None:
        client_id = uuid.uuid4().hex
        self.sent.add(client_id)
        while True:
            try:
                ack = await self.call("message", {"client_id": client_id, "text": text})
            except (socketio.exceptions.SocketIOError, TimeoutError, OSError):
                await self.fail_over()
                continue
            if not ack["ok"] and ack["error"]["code"] in ("unavailable", "not_in_conversation"):
                await self.fail_over()
                continue
            assert ack["ok"], ack
            self.acked[client_id] = ack["message"]["seq"]
            self.last_seq = max(self.last_seq, ack["message"]["seq"])
            return


async def test_killing_a_process_under_load_loses_no_acknowledged_message(
    cluster: Cluster, nginx: str
) -> None:
    senders = [Sender(nginx, n) for n in range(20)]
    await asyncio.gather(*(s.start() for s in senders))
    # ip_hash sends this client to one process: that is the one to kill.
    victim = next(
        p for p in cluster.processes if any("conversation 1 started" in line for line in p.output)
    )
    half = asyncio.Event()

    async def keep_writing(sender: Sender) -> None:
        for n in range(30):
            await sender.write(f"message {n} from resident {sender.number}")
            if sum(len(s.acked) for s in senders) >= 200:
                half.set()
            await asyncio.sleep(0.02)  # pacing: about 50 messages/s each at most

    writers = asyncio.gather(*(keep_writing(s) for s in senders))
    await asyncio.wait_for(half.wait(), 60)
    await victim.kill()
    cluster.processes.remove(victim)
    await asyncio.wait_for(writers, 120)

    assert all(s.reconnects >= 1 for s in senders)  # every one of them lost its process
    stored = await cluster.database.run(_stored_client_ids, [s.token for s in senders])
    for sender in senders:
        assert len(sender.acked) == 30
        mine = stored[sender.token]
        # Every acknowledged message is there exactly once (a resend after the kill stored
        # nothing twice), with the seq its ack gave, and nothing else was stored.
        assert sorted(mine.values()) == sorted(set(mine.values()))
        assert {cid: mine.get(cid) for cid in sender.acked} == sender.acked
        assert set(mine) == sender.sent
        # And resuming from the start replays the whole conversation, in order.
        ack = await sender.call("resume", {"token": sender.token, "last_seq": 0})
        seqs = [m["seq"] for m in ack["messages"]]
        assert seqs == list(range(1, len(seqs) + 1)) and set(sender.acked.values()) <= set(seqs)
    for sender in senders:
        if sender.sio is not None and sender.sio.connected:
            await sender.sio.disconnect()


async def _stored_client_ids(session: Any, tokens: list[str]) -> dict[str, dict[str, int]]:
    by_hash = {hash_token(t): t for t in tokens}
    rows = await session.execute(
        select(Conversation.token_hash, Message.client_id, Message.seq)
        .join(Message, Message.conversation_id == Conversation.id)
        .where(Conversation.token_hash.in_(list(by_hash)), Message.author_kind == "resident")
    )
    found: dict[str, dict[str, int]] = {t: {} for t in tokens}
    for token_hash, client_id, seq in rows:
        if client_id is not None:
            found[by_hash[token_hash]][client_id] = seq
    return found
