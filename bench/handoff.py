"""Handoff benchmark: residents ask for a person, agents take them from the queue and chat.

    .venv/bin/python bench/handoff.py [--residents 50] [--agents 5] [--max-chats 3]
        [--messages 5] [--think-ms 0] [--arrival-seconds 2] [--timeout 120]
        [--database-url postgresql+asyncpg://...]

Against the real server (`python -m chatsvc serve`, a child process on 127.0.0.1 on a fresh
SQLite file in a temporary directory, or on --database-url, which should be an empty database;
it is migrated first), stopped at the end whatever happens:

1. --agents staff accounts (--max-chats each) are created and signed in through the database
   before the server starts; each connects to `/agent` with its session cookie, as the pane does,
   and sets itself `available`;
2. --residents connect to `/resident`, then each sends `start` ("I'd like to talk to a person,
   please.": the assistant hands over at once) at a random moment within --arrival-seconds;
   with agents x max-chats < residents, the rest wait in the queue;
3. an agent bot greets every chat it is `assigned`, replies to every resident message and, after
   the reply to the resident's --messages-th message, `close`s the chat ("resolved"), which frees
   the slot for the next resident in the queue. Greetings and replies go after --think-ms
   (0: throughput mode);
4. a resident waits for the greeting, then sends --messages messages, each after the agent's reply
   to the previous one, then waits for the chat to end.

Figures (time.perf_counter; both ends are in this process, so the clocks agree):
- time to first agent reply: resident's `start` sent -> the agent's greeting received (queue wait
  included); queue wait alone: `start` sent -> the "<name> joined the chat." message received;
- resident -> agent delivery: the resident emits `message` -> the agent's client receives it;
- agent -> resident delivery: the agent emits `message` -> the resident's client receives it;
- and each side's `message` ack (emit -> ack), for comparison.
Messages are matched by client_id. A resident that never got an agent, a message acknowledged but
never delivered to the other side (or delivered twice), an error ack, a chat never closed, an
agent over its --max-chats (by the server's own count in `agents`/`me` events, or an `assigned`
while it holds --max-chats chats none of which has ended), or an ERROR in the server's log is a
failure: counted, printed, and
the exit status is 1. After the server stops, what it stored is compared with what was acked.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import math
import os
import random
import re
import secrets
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import socketio
from processes import (
    NO_LIMITS_ENV,
    LagMonitor,
    ServerProcess,
    cpu_seconds,
    kill_leftover_children,
    machine_ticks,
    percentile,
)
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.actions import accounts
from chatsvc.cli import known_workgroups
from chatsvc.cli import run as run_event_loop
from chatsvc.db.database import Database
from chatsvc.settings import Settings

BENCH = Path(__file__).resolve().parent
RESIDENT_NS = "/resident"
AGENT_NS = "/agent"
SESSION_COOKIE = "chatsvc_staff"
QUESTION = "I'd like to talk to a person, please."
JOINED = re.compile(r"^(\S+) joined the chat\.$")
CORES = os.cpu_count() or 1
OTHER_LOAD_BAD = 25.0  # % of one core used by other processes: the machine is not quiet
GENERATOR_BUSY = 85.0  # % of one core: above this the generator may distort the figures
LOOP_LAG_BAD_MS = 20.0  # generator event-loop lag (p99) above this inflates latencies
MAX_FAILURES_SHOWN = 30  # failures printed one by one; all of them are counted
PASSWORD = secrets.token_urlsafe(18)


# ----------------------------------------------------------------------------------------------
# What the run records


@dataclass
class Ledger:
    """Every message sent and received, by client_id, and every failure, for the whole run."""

    resident_sent: dict[str, float] = field(default_factory=dict)  # client_id -> emitted at
    agent_sent: dict[str, float] = field(default_factory=dict)
    resident_acked: set[str] = field(default_factory=set)
    agent_acked: set[str] = field(default_factory=set)
    to_agent: list[float] = field(default_factory=list)  # delivery latencies, seconds
    to_resident: list[float] = field(default_factory=list)
    resident_acks: list[float] = field(default_factory=list)  # emit -> ack, seconds
    agent_acks: list[float] = field(default_factory=list)
    delivered_to_agent: set[str] = field(default_factory=set)
    delivered_to_resident: set[str] = field(default_factory=set)
    failures: Counter[str] = field(default_factory=Counter)
    failure_log: list[str] = field(default_factory=list)

    def fail(self, kind: str, detail: str) -> None:
        self.failures[kind] += 1
        self.failure_log.append(f"{kind}: {detail}")

    def received_by_agent(self, client_id: str | None, at: float, detail: str) -> None:
        if client_id is None or client_id not in self.resident_sent:
            self.fail("unknown message at an agent", detail)
        elif client_id in self.delivered_to_agent:
            self.fail("delivered twice", f"to an agent: {detail}")
        else:
            self.delivered_to_agent.add(client_id)
            self.to_agent.append(at - self.resident_sent[client_id])

    def received_by_resident(self, client_id: str | None, at: float, detail: str) -> None:
        if client_id is None or client_id not in self.agent_sent:
            self.fail("unknown message at a resident", detail)
        elif client_id in self.delivered_to_resident:
            self.fail("delivered twice", f"to a resident: {detail}")
        else:
            self.delivered_to_resident.add(client_id)
            self.to_resident.append(at - self.agent_sent[client_id])


def ack_error(ack: Any) -> str | None:
    """None for an ok ack, else what was wrong with it."""
    if isinstance(ack, dict) and ack.get("ok") is True:
        return None
    return f"{ack!r:.300}"


async def _disconnect(client: socketio.AsyncClient) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(client.disconnect(), 5)


# ----------------------------------------------------------------------------------------------
# Agents


@dataclass(frozen=True)
class AgentAccount:
    staff_id: int
    first_name: str
    cookie: str  # the chatsvc_staff session cookie value


async def create_agents(database_url: str, count: int, max_chats: int) -> list[AgentAccount]:
    """Migrate the schema, create `count` agent accounts and sign each in."""
    settings = Settings(database_url=database_url, auto_migrate=True)
    workgroups = tuple(sorted(known_workgroups(settings)))
    tag = uuid.uuid4().hex[:6]  # unique usernames: a PostgreSQL database may be reused
    database = Database(settings)
    await database.open()
    made = []
    try:
        for n in range(1, count + 1):
            username = f"bench-{tag}-{n}"
            await database.run(
                accounts.add_staff,
                username=username,
                display_name=f"Agent{n} Bench",
                role="agent",
                password=PASSWORD,
                workgroups=workgroups,
                max_chats=max_chats,
                now=datetime.now(UTC),
            )
            signed = await database.run(
                accounts.sign_in, username=username, password=PASSWORD, now=datetime.now(UTC)
            )
            if not isinstance(signed, accounts.SignedIn):
                raise RuntimeError(f"cannot sign {username} in: {signed}")
            made.append(AgentAccount(signed.staff.id, signed.staff.first_name, signed.token))
        waiting = await database.run(_open_conversations)
    finally:
        await database.close()
    if waiting:
        print(
            f"!!! WARNING: the database already holds {waiting} open conversations: they will "
            "compete for the agents; use an empty database !!!",
            flush=True,
        )
    return made


async def _open_conversations(session: AsyncSession) -> int:
    count = await session.scalar(text("SELECT count(*) FROM conversations WHERE status = 'open'"))
    return int(count or 0)


class AgentBot:
    """One agent on /agent: greets what it is assigned, replies to everything, closes."""

    def __init__(self, account: AgentAccount, args: argparse.Namespace, ledger: Ledger):
        self.account = account
        self.args = args
        self.ledger = ledger
        self.client = socketio.AsyncClient(reconnection=False)
        self.active: set[int] = set()  # assigned, no `unassigned` yet
        self.ended_seen: set[int] = set()  # "Chat ended ..." received
        self.peak = 0  # of `active`
        self.server_peak = 0  # the server's own count, from `agents` and `me` events
        self.assigned_early = 0  # `assigned` while an ended chat still awaited `unassigned`
        self.handled = 0
        self.replied: Counter[int] = Counter()
        self.closed: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        for event, handler in (
            ("assigned", self.on_assigned),
            ("unassigned", self.on_unassigned),
            ("message", self.on_message),
            ("agents", self.on_agents),
            ("me", self.on_me),
        ):
            self.client.on(event, handler, namespace=AGENT_NS)

    async def connect(self, url: str) -> None:
        await self.client.connect(
            url,
            namespaces=[AGENT_NS],
            transports=["websocket"],
            headers={"Origin": url, "Cookie": f"{SESSION_COOKIE}={self.account.cookie}"},
            wait_timeout=self.args.ack_timeout,
        )
        ack = await self.call("status", {"status": "available"})
        if error := ack_error(ack):
            raise RuntimeError(f"agent {self.account.first_name}: status refused: {error}")

    async def call(self, event: str, data: dict[str, Any]) -> Any:
        return await self.client.call(
            event, data, namespace=AGENT_NS, timeout=self.args.ack_timeout
        )

    def _spawn(self, work: Awaitable[None]) -> None:
        async def guarded() -> None:
            try:
                await work
            except Exception as exc:
                self.ledger.fail("agent error", f"{self.account.first_name}: {exc!r}")

        task = asyncio.create_task(guarded())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def on_assigned(self, data: dict[str, Any]) -> None:
        conversation_id = data["conversation"]["id"]
        name = self.account.first_name
        if conversation_id in self.active or conversation_id in self.closed:
            self.ledger.fail("assigned twice", f"{name}: chat {conversation_id}")
            return
        if len(self.active) >= self.args.max_chats:
            if self.active & self.ended_seen:
                # The server freed the slot (the chat ended) but its `unassigned` is not here yet.
                self.assigned_early += 1
            else:
                self.ledger.fail(
                    "over capacity",
                    f"{name} assigned chat {conversation_id} while holding {sorted(self.active)} "
                    f"(max {self.args.max_chats})",
                )
        self.active.add(conversation_id)
        self.handled += 1
        self.peak = max(self.peak, len(self.active))
        self._spawn(self.say(conversation_id, "Hello, how can I help?", close=False))

    async def on_unassigned(self, data: dict[str, Any]) -> None:
        self.active.discard(data["conversation_id"])

    async def on_agents(self, data: dict[str, Any]) -> None:
        for agent in data.get("agents", []):
            if agent.get("id") == self.account.staff_id:
                await self.on_me(agent)

    async def on_me(self, data: dict[str, Any]) -> None:
        active = int(data.get("active_chats", 0))
        if active > self.args.max_chats and active > self.server_peak:
            self.ledger.fail(
                "over capacity",
                f"the server counts {active} chats for {self.account.first_name} "
                f"(max {self.args.max_chats})",
            )
        self.server_peak = max(self.server_peak, active)

    async def on_message(self, data: dict[str, Any]) -> None:
        at = time.perf_counter()
        conversation_id = data["conversation_id"]
        if data.get("author_kind") != "resident":
            if data.get("author_kind") == "system" and data.get("text", "").startswith(
                "Chat ended"
            ):
                self.ended_seen.add(conversation_id)
            return  # "<name> joined the chat." too: the resident measures that one
        self.ledger.received_by_agent(
            data.get("client_id"), at, f"{self.account.first_name}, chat {conversation_id}"
        )
        if conversation_id not in self.active:
            self.ledger.fail(
                "message for a chat not held",
                f"{self.account.first_name} got a message of chat {conversation_id}",
            )
            return
        self.replied[conversation_id] += 1
        last = self.replied[conversation_id] >= self.args.messages
        self._spawn(self.say(conversation_id, f"Reply {self.replied[conversation_id]}.", last))

    async def say(self, conversation_id: int, text_: str, close: bool) -> None:
        """Send one message after the think time; close the chat after the last reply."""
        if self.args.think_ms > 0:
            await asyncio.sleep(self.args.think_ms / 1000)  # deliberate: a person typing
        client_id = uuid.uuid4().hex
        self.ledger.agent_sent[client_id] = time.perf_counter()
        ack = await self.call(
            "message", {"conversation_id": conversation_id, "client_id": client_id, "text": text_}
        )
        if error := ack_error(ack):
            self.ledger.fail("agent message refused", f"chat {conversation_id}: {error}")
            return
        self.ledger.agent_acked.add(client_id)
        self.ledger.agent_acks.append(time.perf_counter() - self.ledger.agent_sent[client_id])
        if close or self.args.messages == 0:
            await self.close(conversation_id)

    async def close(self, conversation_id: int) -> None:
        ack = await self.call(
            "close", {"conversation_id": conversation_id, "disposition": "resolved"}
        )
        if error := ack_error(ack):
            self.ledger.fail("close refused", f"chat {conversation_id}: {error}")
            return
        self.closed.add(conversation_id)

    async def finish(self) -> None:
        """Wait for the replies and closes in progress (bounded)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=self.args.ack_timeout)


# ----------------------------------------------------------------------------------------------
# Residents


class ResidentBot:
    """One resident on /resident: asks for a person, then chats with whoever joins."""

    def __init__(self, index: int, args: argparse.Namespace, ledger: Ledger, agents: set[str]):
        self.index = index
        self.args = args
        self.ledger = ledger
        self.agent_names = agents
        self.client = socketio.AsyncClient(reconnection=False)
        self.conversation_id: int | None = None
        self.started_at: float | None = None
        self.joined_at: float | None = None
        self.first_reply_at: float | None = None
        self.agent_messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.ended = asyncio.Event()
        self.stage = "connecting"
        self.client.on("message", self.on_message, namespace=RESIDENT_NS)
        self.client.on("conversation", self.on_conversation, namespace=RESIDENT_NS)

    async def connect(self, url: str) -> None:
        await self.client.connect(
            url,
            namespaces=[RESIDENT_NS],
            transports=["websocket"],
            wait_timeout=self.args.ack_timeout,
        )
        self.stage = "connected"

    async def call(self, event: str, data: dict[str, Any]) -> Any:
        return await self.client.call(
            event, data, namespace=RESIDENT_NS, timeout=self.args.ack_timeout
        )

    async def on_message(self, data: dict[str, Any]) -> None:
        at = time.perf_counter()
        kind = data.get("author_kind")
        if kind == "agent":
            self.ledger.received_by_resident(
                data.get("client_id"), at, f"resident {self.index}, seq {data.get('seq')}"
            )
            if self.first_reply_at is None:
                self.first_reply_at = at
            self.agent_messages.put_nowait(data)
        elif kind == "system" and self.joined_at is None:
            match = JOINED.match(data.get("text", ""))
            if match and match.group(1) in self.agent_names:
                self.joined_at = at

    async def on_conversation(self, data: dict[str, Any]) -> None:
        if data.get("status") == "ended":
            self.ended.set()

    async def converse(self, arrive_at: float) -> None:
        """Arrive on schedule, ask for a person, chat --messages times, see the chat end."""
        try:
            await self._converse(arrive_at)
        except Exception as exc:
            self.ledger.fail("resident error", f"resident {self.index}, {self.stage}: {exc!r}")
            self.stage = "failed"

    async def _converse(self, arrive_at: float) -> None:
        delay = arrive_at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)  # the arrival schedule, not synchronisation
        self.stage = "starting"
        self.started_at = time.perf_counter()
        ack = await self.call(
            "start",
            {
                "name": f"Resident {self.index}",
                "email": f"resident{self.index}@example.com",
                "question": QUESTION,
                "client_id": uuid.uuid4().hex,
            },
        )
        if error := ack_error(ack):
            self.ledger.fail("start refused", f"resident {self.index}: {error}")
            self.stage = "start refused"
            return
        self.conversation_id = ack["conversation"]["id"]
        self.stage = "waiting for an agent"
        await self.agent_messages.get()  # the greeting
        for n in range(1, self.args.messages + 1):
            self.stage = f"sending message {n}"
            client_id = uuid.uuid4().hex
            self.ledger.resident_sent[client_id] = time.perf_counter()
            ack = await self.call("message", {"client_id": client_id, "text": f"Message {n}."})
            if error := ack_error(ack):
                self.ledger.fail("resident message refused", f"resident {self.index}: {error}")
                self.stage = "message refused"
                return
            self.ledger.resident_acked.add(client_id)
            self.ledger.resident_acks.append(
                time.perf_counter() - self.ledger.resident_sent[client_id]
            )
            self.stage = f"waiting for the reply to message {n}"
            await self.agent_messages.get()
        self.stage = "waiting for the chat to end"
        await self.ended.wait()
        self.stage = "done"


async def connect_all(
    bots: list[ResidentBot], url: str, batch: int, ledger: Ledger
) -> list[ResidentBot]:
    """Connect residents `batch` at a time; return those connected."""

    async def one(bot: ResidentBot) -> ResidentBot | None:
        try:
            await bot.connect(url)
        except Exception as exc:
            ledger.fail("connect", f"resident {bot.index}: {exc!r}")
            return None
        return bot

    connected: list[ResidentBot] = []
    for first in range(0, len(bots), batch):
        chunk = await asyncio.gather(*(one(b) for b in bots[first : first + batch]))
        connected.extend(b for b in chunk if b is not None)
    return connected


# ----------------------------------------------------------------------------------------------
# The run


@dataclass
class Outcome:
    residents: list[ResidentBot] = field(default_factory=list)
    agents: list[AgentBot] = field(default_factory=list)
    ledger: Ledger = field(default_factory=Ledger)
    seconds: float = math.nan
    generator_cpu_pct: float = math.nan
    server_cpu_pct: float = math.nan
    other_cpu_pct: float = math.nan
    loop_lag_p99_ms: float = math.nan
    timed_out: int = 0
    server_problems: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    exit_code: int | None = None
    storage: dict[str, int] = field(default_factory=dict)
    error: str | None = None


async def scenario(args: argparse.Namespace, database_url: str, outcome: Outcome) -> None:
    """Start the server, run the residents and agents, stop it, check what it stored."""
    ledger = outcome.ledger
    t0 = time.perf_counter()
    accounts_made = await create_agents(database_url, args.agents, args.max_chats)
    print(
        f"{len(accounts_made)} agent accounts created and signed in "
        f"({time.perf_counter() - t0:.1f} s)",
        flush=True,
    )
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        CHATSVC_HOST="127.0.0.1",
        CHATSVC_PORT="0",
        CHATSVC_LOG_LEVEL="INFO",
        # A staffed center whatever the hour the benchmark runs: residents are handed over.
        CHATSVC_BUSINESS_HOURS="sun-sat 00:00-24:00",
        CHATSVC_HOLIDAYS="",
        **NO_LIMITS_ENV,  # every client is 127.0.0.1 (processes.py)
    )
    server = ServerProcess("chatsvc", [sys.executable, "-m", "chatsvc", "serve"], env)
    try:
        url = await server.start()
        print(f"chatsvc: pid {server.pid}, {url}", flush=True)
        outcome.agents = [AgentBot(a, args, ledger) for a in accounts_made]
        await asyncio.gather(*(a.connect(url) for a in outcome.agents))
        print(f"{len(outcome.agents)} agents connected and available", flush=True)
        names = {a.first_name for a in accounts_made}
        bots = [ResidentBot(i, args, ledger, names) for i in range(args.residents)]
        t0 = time.perf_counter()
        outcome.residents = await connect_all(bots, url, args.connect_batch, ledger)
        print(
            f"{len(outcome.residents)}/{args.residents} residents connected in "
            f"{time.perf_counter() - t0:.1f} s",
            flush=True,
        )
        rng = random.Random(args.seed)
        cpu0, server_cpu0 = time.process_time(), cpu_seconds(server.pid)
        busy0, total0 = machine_ticks()
        begin = time.perf_counter() + 0.05
        with LagMonitor() as lag:
            tasks = [
                asyncio.create_task(r.converse(begin + rng.uniform(0, args.arrival_seconds)))
                for r in outcome.residents
            ]
            _, pending = await asyncio.wait(tasks, timeout=args.timeout)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            for agent in outcome.agents:
                await agent.finish()
        outcome.seconds = time.perf_counter() - begin
        outcome.generator_cpu_pct = (time.process_time() - cpu0) / outcome.seconds * 100
        outcome.server_cpu_pct = (cpu_seconds(server.pid) - server_cpu0) / outcome.seconds * 100
        busy1, total1 = machine_ticks()
        machine_pct = (busy1 - busy0) / max(1, total1 - total0) * 100 * CORES
        outcome.other_cpu_pct = max(
            0.0, machine_pct - outcome.generator_cpu_pct - outcome.server_cpu_pct
        )
        outcome.loop_lag_p99_ms = percentile(sorted(lag.lags), 99) * 1000
        outcome.timed_out = len(pending)
        for bot in outcome.residents:
            if bot.stage not in ("done", "failed", "start refused", "message refused"):
                ledger.fail("not finished", f"resident {bot.index}: stuck {bot.stage}")
        print(f"scenario over in {outcome.seconds:.1f} s", flush=True)
    finally:
        for first in range(0, len(outcome.residents), args.connect_batch):
            chunk = outcome.residents[first : first + args.connect_batch]
            await asyncio.gather(*(_disconnect(r.client) for r in chunk))
        await asyncio.gather(*(_disconnect(a.client) for a in outcome.agents))
        outcome.exit_code = await server.stop()
        outcome.server_problems = server.problems()
        outcome.server_errors = server.errors()
    ids = [r.conversation_id for r in outcome.residents if r.conversation_id is not None]
    if ids:
        outcome.storage = await stored_counts(database_url, ids)


async def stored_counts(database_url: str, conversation_ids: list[int]) -> dict[str, int]:
    """What the server stored for this run's conversations (read once it has stopped)."""
    database = Database(Settings(database_url=database_url, auto_migrate=False))
    await database.open()
    try:
        return await database.run(_counts, conversation_ids)
    finally:
        await database.close()


STORED_BY_KIND = text(
    "SELECT author_kind, count(*) FROM messages "
    "WHERE conversation_id IN :ids AND seq > 1 GROUP BY author_kind"
).bindparams(bindparam("ids", expanding=True))
STORED_ENDED = text(
    "SELECT count(*) FROM conversations WHERE status = 'ended' AND id IN :ids"
).bindparams(bindparam("ids", expanding=True))
STORED_GAPS = text(
    "SELECT count(*) FROM (SELECT conversation_id FROM messages WHERE conversation_id IN :ids "
    "GROUP BY conversation_id HAVING count(*) != max(seq) OR min(seq) != 1) AS g"
).bindparams(bindparam("ids", expanding=True))


async def _counts(session: AsyncSession, conversation_ids: list[int]) -> dict[str, int]:
    """Messages after the question (seq > 1) by author, chats ended, chats with seq gaps."""
    ids = {"ids": conversation_ids}
    by_kind = dict((await session.execute(STORED_BY_KIND, ids)).all())
    return {
        "resident": int(by_kind.get("resident", 0)),
        "agent": int(by_kind.get("agent", 0)),
        "ended": int(await session.scalar(STORED_ENDED, ids) or 0),
        "gaps": int(await session.scalar(STORED_GAPS, ids) or 0),
    }


# ----------------------------------------------------------------------------------------------
# Report


def fmt(value: float, spec: str = ".1f") -> str:
    return "n/a" if value is None or math.isnan(value) else format(value, spec)


def report(outcome: Outcome, args: argparse.Namespace) -> bool:
    """Print the figures and the failures; return whether the run was clean."""
    ledger = outcome.ledger
    residents = outcome.residents
    started = [r for r in residents if r.conversation_id is not None]
    first_reply = sorted(
        r.first_reply_at - r.started_at
        for r in residents
        if r.first_reply_at is not None and r.started_at is not None
    )
    queue_wait = sorted(
        r.joined_at - r.started_at
        for r in residents
        if r.joined_at is not None and r.started_at is not None
    )
    never_assigned = [r for r in started if r.first_reply_at is None]
    lost_to_agent = ledger.resident_acked - ledger.delivered_to_agent
    lost_to_resident = ledger.agent_acked - ledger.delivered_to_resident
    for r in never_assigned:
        ledger.fail("never got an agent", f"resident {r.index} (chat {r.conversation_id})")
    for client_id in sorted(lost_to_agent):
        ledger.fail("lost", f"resident -> agent message {client_id}")
    for client_id in sorted(lost_to_resident):
        ledger.fail("lost", f"agent -> resident message {client_id}")
    closed = sum(len(a.closed) for a in outcome.agents)
    if started and closed < len(started):
        ledger.fail("not closed", f"{len(started) - closed} of {len(started)} chats")
    for line in outcome.server_errors:
        ledger.fail("server log", line)

    rows = [
        ("time to first agent reply", first_reply),
        ("queue wait (start -> joined)", queue_wait),
        ("resident -> agent delivery", sorted(ledger.to_agent)),
        ("agent -> resident delivery", sorted(ledger.to_resident)),
        ("resident message ack", sorted(ledger.resident_acks)),
        ("agent message ack", sorted(ledger.agent_acks)),
    ]
    print("\n" + "=" * 78)
    print(
        f"SUMMARY  {args.residents} residents, {args.agents} agents x {args.max_chats} chats "
        f"({args.agents * args.max_chats} slots), {args.messages} messages each, think "
        f"{args.think_ms:g} ms, arrivals over {args.arrival_seconds:g} s, seed {args.seed}"
    )
    print(
        f"machine: {CORES} cores; database: "
        + ("PostgreSQL (--database-url)" if args.database_url else "SQLite (fresh file)")
    )
    print(f"{'':32}{'count':>7}{'p50 ms':>11}{'p99 ms':>11}{'max ms':>11}")
    for title, values in rows:
        print(
            f"{title:32}{len(values):>7}{fmt(percentile(values, 50) * 1000):>11}"
            f"{fmt(percentile(values, 99) * 1000):>11}"
            f"{fmt(values[-1] * 1000 if values else math.nan):>11}"
        )
    print("-" * 78)
    print(
        f"residents: {len(residents)} connected, {len(started)} started, "
        f"{len(queue_wait)} joined by an agent, {len(first_reply)} got a reply, "
        f"{sum(r.stage == 'done' for r in residents)} finished; "
        f"{len(never_assigned)} never got an agent"
    )
    print(
        f"resident -> agent: {len(ledger.resident_sent)} sent, {len(ledger.resident_acked)} "
        f"acked, {len(ledger.delivered_to_agent)} delivered, {len(lost_to_agent)} lost"
    )
    print(
        f"agent -> resident: {len(ledger.agent_sent)} sent, {len(ledger.agent_acked)} acked, "
        f"{len(ledger.delivered_to_resident)} delivered, {len(lost_to_resident)} lost"
    )
    handled = sorted(a.handled for a in outcome.agents)
    print(
        f"chats: {closed} closed in {fmt(outcome.seconds)} s "
        f"({fmt(closed / outcome.seconds if outcome.seconds else math.nan)} chats/s); per agent "
        f"{handled[0] if handled else 0}-{handled[-1] if handled else 0} chats; peak concurrent "
        f"per agent {max((a.server_peak for a in outcome.agents), default=0)} by the server's "
        f"count, {max((a.peak for a in outcome.agents), default=0)} by assigned/unassigned "
        f"events (max {args.max_chats})"
    )
    if early := sum(a.assigned_early for a in outcome.agents):
        print(
            f"note: {early} times an agent got `assigned` for a new chat before the `unassigned` "
            "of a chat that had already ended (the slot was free; the events came out of order)"
        )
    print(
        f"CPU (% of one core): generator {fmt(outcome.generator_cpu_pct, '.0f')}, chatsvc "
        f"{fmt(outcome.server_cpu_pct, '.0f')}, other processes "
        f"{fmt(outcome.other_cpu_pct, '.0f')}; generator loop lag p99 "
        f"{fmt(outcome.loop_lag_p99_ms)} ms"
    )
    if outcome.generator_cpu_pct >= GENERATOR_BUSY:
        print(
            f"!!! WARNING: the generator used {outcome.generator_cpu_pct:.0f}% of a core: "
            "latencies include its own delays !!!"
        )
    if outcome.other_cpu_pct >= OTHER_LOAD_BAD:
        print(
            f"!!! WARNING: other processes used {outcome.other_cpu_pct:.0f}% of a core: the "
            "machine is not quiet, figures are noisy !!!"
        )
    if outcome.loop_lag_p99_ms >= LOOP_LAG_BAD_MS:
        print("!!! WARNING: generator event-loop lag is high: latencies include it !!!")
    storage_ok = True
    if s := outcome.storage:
        storage_ok = (
            s["resident"] == len(ledger.resident_acked)
            and s["agent"] == len(ledger.agent_acked)
            and s["ended"] == closed
            and s["gaps"] == 0
        )
        print(
            f"storage check: {s['resident']} resident messages stored / "
            f"{len(ledger.resident_acked)} acked, {s['agent']} agent messages stored / "
            f"{len(ledger.agent_acked)} acked, {s['ended']} chats ended / {closed} closed, "
            f"{s['gaps']} chats with seq gaps: " + ("OK" if storage_ok else "MISMATCH")
        )
    if outcome.timed_out:
        print(f"!!! {outcome.timed_out} residents were still going after --timeout !!!")
    if ledger.failure_log:
        print(f"\nFAILURES: {sum(ledger.failures.values())}, by kind {dict(ledger.failures)}")
        for line in ledger.failure_log[:MAX_FAILURES_SHOWN]:
            print("  " + line)
        if len(ledger.failure_log) > MAX_FAILURES_SHOWN:
            print(f"  ... and {len(ledger.failure_log) - MAX_FAILURES_SHOWN} more")
    if outcome.server_problems:
        print(f"server log, warnings and errors ({len(outcome.server_problems)}):")
        for line in outcome.server_problems[:20]:
            print("  " + line)
    if outcome.exit_code not in (0, None):
        print(f"server exit code {outcome.exit_code}")
    if outcome.error:
        print(f"RUN ERROR: {outcome.error}")
    return (
        not ledger.failures
        and storage_ok
        and outcome.error is None
        and outcome.exit_code in (0, None)
    )


# ----------------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=50, help="residents (50)")
    parser.add_argument("--agents", type=int, default=5, help="agents (5)")
    parser.add_argument("--max-chats", type=int, default=3, help="chats per agent at once (3)")
    parser.add_argument(
        "--messages", type=int, default=5, help="messages per resident once an agent joined (5)"
    )
    parser.add_argument(
        "--think-ms", type=float, default=0.0, help="agent's delay before each message, ms (0)"
    )
    parser.add_argument(
        "--arrival-seconds", type=float, default=2.0, help="residents start within this, s (2)"
    )
    parser.add_argument("--timeout", type=float, default=120.0, help="whole scenario, s (120)")
    parser.add_argument("--ack-timeout", type=float, default=10.0, help="per ack, s (10)")
    parser.add_argument("--connect-batch", type=int, default=20, help="connections at once (20)")
    parser.add_argument(
        "--database-url",
        help="run on this (empty) database, e.g. postgresql+asyncpg://...; "
        "default: a fresh SQLite file in a temporary directory",
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed for arrivals (1)")
    args = parser.parse_args(argv)
    if args.residents < 1 or args.agents < 1 or args.connect_batch < 1:
        parser.error("--residents, --agents and --connect-batch must be positive")
    if not 1 <= args.max_chats <= 20:
        parser.error("--max-chats is 1-20 (the service's own limit)")
    if args.messages < 0 or args.think_ms < 0 or args.arrival_seconds < 0:
        parser.error("--messages, --think-ms and --arrival-seconds cannot be negative")
    if args.timeout <= 0 or args.ack_timeout <= 0:
        parser.error("--timeout and --ack-timeout must be positive")
    if args.residents > 5000 or args.agents > 500 or args.timeout > 3600:
        parser.error("bounded: at most 5,000 residents, 500 agents and 3,600 s")
    return args


async def run(args: argparse.Namespace) -> int:
    print(
        f"handoff: {args.residents} residents, {args.agents} agents x {args.max_chats} chats, "
        f"{args.messages} messages, think {args.think_ms:g} ms; machine: {CORES} cores",
        flush=True,
    )
    outcome = Outcome()
    with tempfile.TemporaryDirectory(prefix="chatsvc-handoff-") as tmp:
        database_url = args.database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'chatsvc.db'}"
        try:
            await scenario(args, database_url, outcome)
        except Exception as exc:
            outcome.error = f"{type(exc).__name__}: {exc}"
            print(f"ERROR {outcome.error}", flush=True)
    return 0 if report(outcome, args) else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # python-socketio's client logs a warning per late ack; the ledger already counts them.
    logging.getLogger("socketio.client").setLevel(logging.ERROR)
    started = time.perf_counter()
    try:
        return run_event_loop(run(args))
    finally:
        kill_leftover_children()
        print(f"(total run time {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    raise SystemExit(main())
