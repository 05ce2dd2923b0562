"""Several `chatsvc serve` processes on one PostgreSQL and one Redis: events cross processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
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

from chatsvc.db.database import Database
from chatsvc.db.models import Conversation, Message
from chatsvc.settings import Settings
from chatsvc.tokens import hash_token
from chatsvc.transport.socket_server import RedisManager
from tests.conftest import (
    NO_SOCKET_LIMITS,
    PERSON,
    TIMEOUT,
    AgentClient,
    ResidentClient,
    ServerProcess,
    add_staff_member,
    agent_for,
    free_port,
    run_chatsvc,
)
from tests.missing import missing

REDIS_URL = os.environ.get("CHATSVC_TEST_REDIS", "redis://127.0.0.1:6379/0")


@pytest.fixture
async def redis_url() -> str:
    """The local Redis, or a skip with the reason (a failure under CI)."""
    client = redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except (redis.RedisError, OSError) as exc:
        missing(f"Redis unreachable at {REDIS_URL}: {exc}")
    finally:
        await client.aclose()
    return REDIS_URL


async def test_a_burst_of_emits_is_published_whole_and_in_order(redis_url: str) -> None:
    """Routing 200 chats at once emits hundreds of events together: each must reach Redis,
    and those to one client in the order they were emitted.

    python-socketio's own manager refused past its pool's maximum ("Too many connections",
    logged as an error, which fails this test) and dropped events after one retry.
    """
    channel = f"chatsvc-test-{uuid.uuid4().hex[:8]}"
    listener = redis.from_url(redis_url)
    pubsub = listener.pubsub(ignore_subscribe_messages=True)
    await pubsub.subscribe(channel)
    manager = RedisManager(redis_url, channel=channel, write_only=True)
    server = socketio.AsyncServer(client_manager=manager, async_mode="aiohttp")
    try:
        for n in range(1000):
            await server.emit("queue", {"n": n}, to="staff", namespace="/agent")
        await asyncio.gather(
            *(
                server.emit("queue", {"n": n}, to="staff", namespace="/agent")
                for n in range(1000, 2000)
            )
        )
        heard: list[int] = []
        publishes = 0

        async def hear_all() -> None:
            nonlocal publishes
            async for message in pubsub.listen():
                publishes += 1
                batch = json.loads(message["data"])
                assert batch["method"] == "batch" and batch["host_id"] == manager.host_id
                heard.extend(m["data"][0]["n"] for m in batch["messages"])
                if len(heard) >= 2000:
                    return

        await asyncio.wait_for(hear_all(), TIMEOUT)
        assert heard[:1000] == list(range(1000))
        assert sorted(heard) == list(range(2000))
        assert publishes < 100  # batched: not one publish per emit
    finally:
        await pubsub.aclose()
        await listener.aclose()
        if manager.redis is not None:
            await manager.redis.aclose()


@dataclass
class Cluster:
    """Two server processes sharing a database and a Redis channel."""

    urls: list[str]
    processes: list[ServerProcess]
    database: Database

    def logs(self) -> str:
        return "".join(line for p in self.processes for line in p.output)


@pytest.fixture
async def start_cluster(
    postgres_url: str, redis_url: str
) -> AsyncIterator[Callable[..., Awaitable[Cluster]]]:
    """Factory: `count` processes on the test's PostgreSQL and a Redis (the local one, or given).

    `database_url` lets a test put something between the processes and PostgreSQL; `overrides`
    sets more of their environment. Unless `errors_expected`, a test fails if a process logged
    an error.
    """
    upgraded = run_chatsvc("db", "upgrade", env={"DATABASE_URL": postgres_url})
    assert upgraded.returncode == 0, upgraded.stderr
    started: list[tuple[Cluster, bool]] = []

    async def start(
        *,
        redis: str | None = None,
        database_url: str | None = None,
        count: int = 2,
        errors_expected: bool = False,
        overrides: dict[str, str] | None = None,
    ) -> Cluster:
        env = {
            **os.environ,
            "DATABASE_URL": database_url or postgres_url,
            "REDIS_URL": redis or redis_url,
            # Its own channel: no other test's processes can talk into this one.
            "CHATSVC_REDIS_CHANNEL": f"chatsvc-test-{uuid.uuid4().hex[:8]}",
            "CHATSVC_HOST": "127.0.0.1",
            "CHATSVC_PORT": "0",
            "CHATSVC_SWEEP_SECONDS": "1",
            "CHATSVC_AGENT_GRACE_SECONDS": "2",
            "CHATSVC_BUSINESS_HOURS": "sun-sat 00:00-24:00",
            "CHATSVC_HOLIDAYS": "",
            **NO_SOCKET_LIMITS,
        }
        env.update(overrides or {})
        processes = [ServerProcess(env) for _ in range(count)]
        database = Database(Settings(database_url=postgres_url))
        await database.open()
        cluster = Cluster([], processes, database)
        started.append((cluster, errors_expected))
        cluster.urls = [await p.start() for p in processes]
        return cluster

    yield start
    for cluster, errors_expected in started:
        for process in cluster.processes:
            await process.stop()
        await cluster.database.close()
        if not errors_expected:
            logs = cluster.logs()
            assert "Traceback" not in logs and " ERROR " not in logs, logs[-3000:]


@pytest.fixture
async def cluster(start_cluster: Callable[..., Awaitable[Cluster]]) -> Cluster:
    return await start_cluster()


@pytest.fixture
async def clients() -> AsyncIterator[Callable[..., Awaitable[Any]]]:
    """Factory: residents and agents connected to a given process; all disconnected after."""
    made: list[socketio.AsyncClient] = []

    async def resident(url: str) -> ResidentClient:
        sio = socketio.AsyncClient(reconnection=False)
        client = ResidentClient(sio, url)
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


async def test_signing_out_on_one_process_closes_the_pane_on_the_other(
    cluster: Cluster, clients: Callable[..., Awaitable[Any]]
) -> None:
    a, b = cluster.urls
    # Maria's pane listens on B; she signs out in another tab, which reached A.
    maria: AgentClient = await clients("agent", b, cluster.database, "maria")
    tom: AgentClient = await clients("agent", b, cluster.database, "tom")
    closed = asyncio.Event()
    maria.sio.on("disconnect", lambda *_: closed.set(), namespace="/agent")
    toms_end: list[Any] = []
    tom.sio.on("disconnect", lambda *why: toms_end.append(why), namespace="/agent")
    cookies = {"chatsvc_staff": maria.cookie}
    async with aiohttp.ClientSession(cookies=cookies, headers={"Origin": a}) as browser:
        async with browser.get(a + "/agent") as pane:
            found = re.search(r'name="csrf_token" value="([^"]+)"', await pane.text())
        assert found, "the pane has a sign-out form"
        async with browser.post(
            a + "/agent/sign-out", data={"csrf_token": found.group(1)}, allow_redirects=False
        ) as out:
            assert out.status == 303
    # B closes her connection at its next sweep, though her pane sent nothing.
    await asyncio.wait_for(closed.wait(), TIMEOUT)
    assert not maria.sio.connected
    assert tom.sio.connected, f"Tom's pane was closed too: {toms_end}"
    assert (await tom.ok("hello"))["me"]["id"] == tom.staff_id
    # And the cookie opens nothing any more, on either process.
    for url in (a, b):
        with pytest.raises(socketio.exceptions.ConnectionError):
            await agent_for(url, maria.staff_id, "maria", None, maria.cookie)


async def test_an_agent_lost_with_their_process_is_noticed_by_the_other(
    start_cluster: Callable[..., Awaitable[Cluster]], clients: Callable[..., Awaitable[Any]]
) -> None:
    # A process is taken for dead after 8 s without a heartbeat (30 s by default), not less:
    # the test waits that out, and a loaded machine must not make a live process look dead.
    cluster = await start_cluster(overrides={"CHATSVC_PROCESS_DEAD_SECONDS": "8"})
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
DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture
async def nginx(cluster: Cluster, tmp_path: Path) -> AsyncIterator[str]:
    """deploy/nginx/chatsvc.conf, as shipped but for the ports, in front of the two processes."""
    if NGINX is None:
        missing("nginx is not installed (apt-get install nginx-light)")
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


async def test_the_shipped_nginx_config_refuses_a_sign_in_flood_itself(
    cluster: Cluster, nginx: str
) -> None:
    """Beyond its burst nginx answers 429 itself: the flood never reaches a Python process.
    (chatsvc's own per-address refusal, behind it, is its "Too many sign-ins" page.)"""
    answers: list[tuple[int, str]] = []
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{nginx}/agent/sign-in") as page:
            assert page.status == 200  # the form is fetched freely
        for n in range(16):
            async with http.post(
                f"{nginx}/agent/sign-in",
                data={"csrf_token": "x", "username": f"user{n}", "password": "guess"},
                allow_redirects=False,
            ) as answer:
                answers.append((answer.status, await answer.text()))
        async with http.get(f"{nginx}/agent/sign-in") as page:
            assert page.status == 200
    by_nginx = [a for a in answers if a[0] == 429 and "Too many sign-ins" not in a[1]]
    assert len(by_nginx) >= 5, [status for status, _ in answers]
    assert all(status in (403, 429) for status, _ in answers)


async def test_the_shipped_nginx_config_carries_websocket_and_polling(
    cluster: Cluster, nginx: str, clients: Callable[..., Awaitable[Any]]
) -> None:
    # Residents come through nginx, one over WebSocket and one long-polling (which needs every
    # poll of its session on the same process); the agent is on each process in turn.
    sio = socketio.AsyncClient(reconnection=False)
    polling = ResidentClient(sio, nginx)
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


REDIS_SERVER = shutil.which("redis-server")


class OwnRedis:
    """A redis-server of the test's own, on a free port, to kill and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        assert REDIS_SERVER is not None
        self.process = await asyncio.create_subprocess_exec(
            REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", stdout=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.from_url(self.url)
        try:
            for _ in range(100):  # until it answers (it starts in milliseconds)
                with contextlib.suppress(redis.ConnectionError):
                    if await client.ping():
                        return
                await asyncio.sleep(0.05)
            raise AssertionError("redis-server did not start")
        finally:
            await client.aclose()

    async def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        await self.process.wait()


@pytest.fixture
async def own_redis() -> AsyncIterator[OwnRedis]:
    if REDIS_SERVER is None:
        missing("redis-server is not installed (apt-get install redis-server)")
    server = OwnRedis()
    await server.start()
    yield server
    if server.process is not None and server.process.returncode is None:
        await server.kill()


async def test_after_redis_restarts_events_flow_again_and_the_gap_is_replayed(
    start_cluster: Callable[..., Awaitable[Cluster]],
    own_redis: OwnRedis,
    clients: Callable[..., Awaitable[Any]],
) -> None:
    cluster = await start_cluster(redis=own_redis.url, errors_expected=True)
    a, b = cluster.urls
    resident: ResidentClient = await clients("resident", a)
    maria: AgentClient = await clients("agent", b, cluster.database, "maria")
    await maria.available()
    ack = await resident.start(question=PERSON)
    conversation_id = ack["conversation"]["id"]
    await maria.next("assigned")
    joined = await resident.next_where("message", lambda m: "joined the chat" in m["text"])

    def say(text: str) -> dict[str, Any]:
        return {"conversation_id": conversation_id, "text": text, "client_id": uuid.uuid4().hex}

    # The resident has the chat open in a second tab, which reached B, Maria's process.
    second_tab: ResidentClient = await clients("resident", b)
    await second_tab.call("resume", {"token": resident.token, "last_seq": joined["seq"]})

    await own_redis.kill()
    # Redis down: the message is still committed and acknowledged, and delivered live within
    # its own process; only the fan-out to the other process is lost.
    during = await maria.ok("message", say("Written while Redis was down."))
    live = await second_tab.next_where("message", lambda m: m["author_kind"] == "agent")
    assert live["seq"] == during["message"]["seq"]
    await own_redis.start()
    # Fan-out comes back once the processes have resubscribed (they retry with backoff).
    deadline = asyncio.get_running_loop().time() + 30
    heard = None
    while heard is None:
        assert asyncio.get_running_loop().time() < deadline, "fan-out never came back"
        await maria.ok("message", say("Are you there?"))
        with contextlib.suppress(TimeoutError):
            heard = await asyncio.wait_for(
                resident.next_where("message", lambda m: m["text"] == "Are you there?"), 2
            )
    # What was committed meanwhile is replayed to a client that resumes (as on reconnect).
    resumed = await resident.call("resume", {"token": resident.token, "last_seq": joined["seq"]})
    texts = [m["text"] for m in resumed["messages"]]
    assert texts[0] == "Written while Redis was down."
    assert resumed["messages"][0]["seq"] == during["message"]["seq"]
    assert "Are you there?" in texts


class PostgresProxy:
    """A TCP proxy in front of PostgreSQL that a test can cut (connections dropped, new ones
    refused) and restore, as a database outage looks to the service."""

    def __init__(self, target_port: int = 5432) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.pipes: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()
        for writer in list(self.pipes):
            writer.transport.abort()
        self.pipes.clear()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        self.pipes.update({writer, up_writer})

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.transport.abort()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))


async def test_a_database_outage_gets_error_acks_then_recovers(
    start_cluster: Callable[..., Awaitable[Cluster]],
    postgres_url: str,
    clients: Callable[..., Awaitable[Any]],
) -> None:
    proxy = PostgresProxy()
    await proxy.open()
    through_proxy = re.sub(r"@[^/]+/", f"@127.0.0.1:{proxy.port}/", postgres_url)
    cluster = await start_cluster(database_url=through_proxy, count=1, errors_expected=True)
    resident: ResidentClient = await clients("resident", cluster.urls[0])
    await resident.start(question=PERSON)

    await proxy.cut()
    # Down for 5 s: every message gets an answer, an error saying so, not silence.
    loop = asyncio.get_running_loop()
    down_until = loop.time() + 5
    refused = []
    while loop.time() < down_until:
        ack = await resident.call("message", {"client_id": uuid.uuid4().hex, "text": "Hello?"})
        assert not ack["ok"], ack
        refused.append(ack["error"]["code"])
        await asyncio.sleep(0.5)  # a resident retrying by hand
    assert set(refused) == {"unavailable"}
    await proxy.open()
    # Back: the very next message is stored (the failures told the pool to replace its
    # connections).
    ack = await resident.call("message", {"client_id": uuid.uuid4().hex, "text": "Back?"})
    assert ack["ok"], ack
    resumed = await resident.call("resume", {"token": resident.token, "last_seq": 0})
    texts = [m["text"] for m in resumed["messages"]]
    assert "Hello?" not in texts and texts[-1] == "Back?"  # nothing refused was stored
    health = await asyncio.to_thread(_health, cluster.urls[0])
    assert health == 200

    # A restart while nobody writes: the pooled connections are dead, and nothing failed to
    # tell the pool. The next message is stored all the same.
    await proxy.cut()
    await proxy.open()
    ack = await resident.call("message", {"client_id": uuid.uuid4().hex, "text": "Still there?"})
    assert ack["ok"], ack
    await proxy.cut()


def _health(url: str) -> int:
    import urllib.request

    with urllib.request.urlopen(f"{url}/healthz", timeout=5) as response:
        return int(response.status)
