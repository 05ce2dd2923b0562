"""Scale-out benchmark: residents and agents against 1 and 2 processes on PostgreSQL + Redis.

    .venv/bin/python bench/scale.py [--residents 2000] [--active 200] [--agents 20]
        [--rate 200] [--seconds 20] [--saturate 10] [--processes 1,2]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--redis redis://127.0.0.1:6379/0]

For each process count in --processes, on a fresh PostgreSQL database (created next to the one
--postgres names, migrated, dropped at the end) and a Redis channel of its own:

1. start the processes (`python -m chatsvc serve`, REDIS_URL set) and note each one's memory;
2. connect --residents Socket.IO clients round-robin across the processes and leave them idle:
   memory per idle connection = the processes' added RSS / residents;
3. --active of them `start` a chat asking for a person; --agents agents, also spread across the
   processes (so most chats cross processes through Redis), take them all; the servers' CPU
   is measured for a few seconds with nothing sent (what being up costs: pings, sweeps);
4. paced phase (open loop, no coordinated omission): the active residents together send --rate
   messages per second for --seconds, each from a random offset whatever the acks do; each is
   timed from its *scheduled* send to its arrival at the agent's client (resident -> agent
   delivery) and to its ack;
5. saturation phase (closed loop) for --saturate seconds: each active resident sends, waits for
   the ack, sends the next. Messages acknowledged and delivered per second here are the most
   this setup carries (latency is queueing, so not reported);
6. every message acknowledged (in both phases) must have reached its agent exactly once, and
   after the run the database must hold exactly the acknowledged messages: anything else is a
   lost message.

Both ends are in this process, so the clocks agree. The generator's own CPU and event-loop lag
are printed: on 2 cores it shares the machine with the servers, PostgreSQL and Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import os
import random
import resource
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import socketio
from handoff import AgentAccount, create_agents
from processes import (
    NO_LIMITS_ENV,
    LagMonitor,
    ServerProcess,
    cpu_seconds,
    kill_leftover_children,
    memory_kb,
    percentile,
)

from chatsvc.cli import run as run_event_loop

QUESTION = "I'd like to talk to a person, please."
SATURATION = "b-s"  # client ids of the saturation phase's messages (all start "b-")
IDLE_SECONDS = 5  # connected and assigned, nothing sent: what the servers spend on being up


@dataclass
class Run:
    """What one process count measured."""

    processes: int
    connected: int = 0
    connect_failures: int = 0
    rss_before_kb: int = 0
    rss_idle_kb: int = 0
    assigned: int = 0
    sent: dict[str, float] = field(default_factory=dict)  # client_id -> scheduled send
    acked: set[str] = field(default_factory=set)
    delivered: dict[str, int] = field(default_factory=dict)  # client_id -> times received
    delivery: list[float] = field(default_factory=list)
    acks: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    stored: int = -1
    seconds: float = 0.0
    idle_server_cpu: list[float] = field(default_factory=list)  # % of one core, nothing sent
    server_cpu: list[float] = field(default_factory=list)  # % of one core, per process
    generator_cpu: float = 0.0
    loop_lag_p99_ms: float = math.nan
    peak_seconds: float = 0.0  # the saturation phase
    peak_server_cpu: list[float] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    progress: asyncio.Event = field(default_factory=asyncio.Event)  # set on every delivery

    def peak(self) -> tuple[float, float]:
        """Messages acknowledged and delivered (once) per second in the saturation phase."""
        ids = [cid for cid in self.acked if cid.startswith(SATURATION)]
        delivered = sum(1 for cid in ids if self.delivered.get(cid) == 1)
        seconds = max(self.peak_seconds, 1e-9)
        return len(ids) / seconds, delivered / seconds

    @property
    def lost(self) -> int:
        missing = sum(1 for cid in self.acked if self.delivered.get(cid, 0) != 1)
        unacked = len(self.sent) - len(self.acked)
        return missing + unacked


async def fresh_database(admin_dsn: str) -> tuple[str, str]:
    """Create an empty database beside the one named; return (its SQLAlchemy URL, its name)."""
    name = f"chatsvc_bench_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    base = admin_dsn.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}", name


async def drop_database(admin_dsn: str, name: str) -> None:
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def stored_messages(database_url: str) -> int:
    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        count = await connection.fetchval(
            "SELECT count(*) FROM messages WHERE author_kind = 'resident' AND client_id LIKE 'b-%'"
        )
    finally:
        await connection.close()
    return int(count or 0)


def total_rss(servers: list[ServerProcess]) -> int:
    return sum(memory_kb(s.pid).get("VmRSS", 0) for s in servers)


async def connect_residents(urls: list[str], count: int, run: Run) -> list[socketio.AsyncClient]:
    clients: list[socketio.AsyncClient] = []
    batch = 50

    async def one(index: int) -> None:
        client = socketio.AsyncClient(reconnection=False)
        try:
            await client.connect(
                urls[index % len(urls)],
                namespaces=["/resident"],
                transports=["websocket"],
                wait_timeout=20,
            )
        except Exception as exc:  # counted: a connection refused is a result
            run.connect_failures += 1
            run.errors.append(f"resident {index}: connect: {exc}")
            return
        clients.append(client)

    for start in range(0, count, batch):
        await asyncio.gather(*(one(i) for i in range(start, min(count, start + batch))))
    run.connected = len(clients)
    return clients


async def connect_agents(
    urls: list[str], accounts: list[AgentAccount], run: Run, expected: int
) -> tuple[list[socketio.AsyncClient], asyncio.Event]:
    all_assigned = asyncio.Event()
    agents = []
    for index, account in enumerate(accounts):
        client = socketio.AsyncClient(reconnection=False)
        url = urls[(index + 1) % len(urls)]  # shifted: residents and agents mostly differ

        async def on_assigned(data: Any) -> None:
            run.assigned += 1
            if run.assigned >= expected:
                all_assigned.set()

        async def on_message(data: Any) -> None:
            client_id = data.get("client_id") if isinstance(data, dict) else None
            if data.get("author_kind") != "resident" or not client_id:
                return
            if client_id in run.sent:
                run.delivered[client_id] = run.delivered.get(client_id, 0) + 1
                if not client_id.startswith(SATURATION):
                    run.delivery.append(time.perf_counter() - run.sent[client_id])
                run.progress.set()

        client.on("assigned", on_assigned, namespace="/agent")
        client.on("message", on_message, namespace="/agent")
        await client.connect(
            url,
            namespaces=["/agent"],
            transports=["websocket"],
            headers={"Origin": url, "Cookie": f"chatsvc_staff={account.cookie}"},
            wait_timeout=20,
        )
        ack = await client.call("status", {"status": "available"}, namespace="/agent", timeout=20)
        if not ack.get("ok"):
            raise RuntimeError(f"agent status refused: {ack}")
        agents.append(client)
    return agents, all_assigned


async def send_message(client: socketio.AsyncClient, client_id: str, run: Run) -> bool:
    """Send one benchmark message; note it acknowledged (True) or what went wrong (False)."""
    try:
        ack = await client.call(
            "message",
            {"client_id": client_id, "text": f"benchmark message {client_id[-6:]}"},
            namespace="/resident",
            timeout=10,
        )
    except Exception as exc:
        run.errors.append(f"{client_id}: {type(exc).__name__}")
        return False
    if isinstance(ack, dict) and ack.get("ok"):
        run.acked.add(client_id)
        return True
    run.errors.append(f"{client_id}: {ack}")
    return False


async def paced(residents: list[socketio.AsyncClient], args: argparse.Namespace, run: Run) -> None:
    """Open loop: each active resident sends at rate/active per second from a random offset."""
    interval = len(residents) / args.rate
    t0 = time.perf_counter() + 0.5
    rng = random.Random(args.seed)
    pending: set[asyncio.Task[None]] = set()

    async def send(client: socketio.AsyncClient, client_id: str, due: float) -> None:
        if await send_message(client, client_id, run):
            run.acks.append(time.perf_counter() - due)

    async def resident_loop(client: socketio.AsyncClient, offset: float) -> None:
        n = 0
        while True:
            due = t0 + offset + n * interval
            if due - t0 >= args.seconds:
                return
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)  # pacing: the schedule, not synchronisation
            client_id = f"b-{uuid.uuid4().hex}"
            run.sent[client_id] = due
            task = asyncio.create_task(send(client, client_id, due))
            pending.add(task)
            task.add_done_callback(pending.discard)
            n += 1

    await asyncio.gather(*(resident_loop(c, rng.uniform(0, interval)) for c in residents))
    if pending:
        await asyncio.wait(pending, timeout=15)
    run.seconds = args.seconds


async def saturate(residents: list[socketio.AsyncClient], seconds: float, run: Run) -> None:
    """Closed loop: each resident sends its next message as soon as the last one is acked."""
    end = time.perf_counter() + seconds

    async def resident_loop(client: socketio.AsyncClient) -> None:
        while time.perf_counter() < end:
            client_id = f"{SATURATION}-{uuid.uuid4().hex}"
            run.sent[client_id] = time.perf_counter()
            if not await send_message(client, client_id, run):
                return

    await asyncio.gather(*(resident_loop(c) for c in residents))


async def last_deliveries(run: Run) -> None:
    """Wait (up to the ack timeout) for every acknowledged message to reach its agent."""
    deadline = time.perf_counter() + 10
    while time.perf_counter() < deadline and any(
        run.delivered.get(cid, 0) == 0 for cid in run.acked
    ):
        run.progress.clear()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(run.progress.wait(), deadline - time.perf_counter())


async def one_run(count: int, args: argparse.Namespace) -> Run:
    run = Run(count)
    database_url, name = await fresh_database(args.postgres)
    servers: list[ServerProcess] = []
    clients: list[socketio.AsyncClient] = []
    try:
        max_chats = math.ceil(args.active / args.agents)
        accounts = await create_agents(database_url, args.agents, max_chats)
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url,
            REDIS_URL=args.redis,
            CHATSVC_REDIS_CHANNEL=f"chatsvc-bench-{uuid.uuid4().hex[:8]}",
            CHATSVC_HOST="127.0.0.1",
            CHATSVC_PORT="0",
            CHATSVC_LOG_LEVEL="INFO",  # the "listening on" line tells the port
            CHATSVC_BUSINESS_HOURS="sun-sat 00:00-24:00",
            CHATSVC_HOLIDAYS="",
            **NO_LIMITS_ENV,  # every client is 127.0.0.1 (processes.py)
        )
        servers = [
            ServerProcess(f"chatsvc-{n}", [sys.executable, "-m", "chatsvc", "serve"], env)
            for n in range(count)
        ]
        urls = [await s.start() for s in servers]
        run.rss_before_kb = total_rss(servers)
        residents = await connect_residents(urls, args.residents, run)
        clients.extend(residents)
        run.rss_idle_kb = total_rss(servers)
        print(
            f"  {count} process(es): {run.connected} residents connected, "
            f"{(run.rss_idle_kb - run.rss_before_kb) / max(1, run.connected):.1f} kB each",
            flush=True,
        )
        active = residents[: args.active]
        agents, all_assigned = await connect_agents(urls, accounts, run, len(active))
        clients.extend(agents)
        starts = await asyncio.gather(
            *(
                c.call(
                    "start",
                    {"name": f"Resident {i}", "email": f"r{i}@example.com", "question": QUESTION},
                    namespace="/resident",
                    timeout=30,
                )
                for i, c in enumerate(active)
            )
        )
        refused = [a for a in starts if not (isinstance(a, dict) and a.get("ok"))]
        if refused:
            raise RuntimeError(f"{len(refused)} starts refused, e.g. {refused[0]}")
        await asyncio.wait_for(all_assigned.wait(), 120)
        print(f"  {run.assigned} chats assigned; idle for {IDLE_SECONDS} s…", flush=True)
        cpu_before = [cpu_seconds(s.pid) for s in servers]
        await asyncio.sleep(IDLE_SECONDS)  # a measurement, not a wait for anything
        run.idle_server_cpu = [
            100 * (cpu_seconds(s.pid) - b) / IDLE_SECONDS
            for s, b in zip(servers, cpu_before, strict=True)
        ]
        print("  paced phase…", flush=True)
        cpu_before = [cpu_seconds(s.pid) for s in servers]
        gen_before = time.process_time()
        wall = time.perf_counter()
        with LagMonitor() as lag:
            await paced(active, args, run)
        elapsed = time.perf_counter() - wall
        await last_deliveries(run)
        run.server_cpu = [
            100 * (cpu_seconds(s.pid) - b) / elapsed
            for s, b in zip(servers, cpu_before, strict=True)
        ]
        run.generator_cpu = 100 * (time.process_time() - gen_before) / elapsed
        lags = sorted(lag.lags)
        run.loop_lag_p99_ms = 1000 * percentile(lags, 99)
        if args.saturate > 0:
            print("  saturation phase…", flush=True)
            cpu_before = [cpu_seconds(s.pid) for s in servers]
            wall = time.perf_counter()
            await saturate(active, args.saturate, run)
            run.peak_seconds = time.perf_counter() - wall
            run.peak_server_cpu = [
                100 * (cpu_seconds(s.pid) - b) / run.peak_seconds
                for s, b in zip(servers, cpu_before, strict=True)
            ]
            await last_deliveries(run)
    finally:
        for client in clients:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), 2)
        for server in servers:
            await server.stop()
            run.server_errors.extend(server.errors())
        with contextlib.suppress(Exception):
            run.stored = await stored_messages(database_url)
        await drop_database(args.postgres, name)
    return run


def report(runs: list[Run], args: argparse.Namespace) -> bool:
    def ms(values: list[float], p: float) -> str:
        return f"{1000 * percentile(sorted(values), p):.1f}"

    print()
    print(
        f"{args.residents} residents connected, {args.active} chatting with {args.agents} agents, "
        f"{args.rate:g} messages/s for {args.seconds:g} s; PostgreSQL + Redis; "
        f"{os.cpu_count()} cores"
    )
    header = (
        "processes | connected | kB/idle conn | sent | delivered/s | delivery p50 / p99 ms "
        "| ack p50 / p99 ms | lost | server CPU % (idle) | generator CPU % | loop lag p99 ms"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for run in runs:
        per_conn = (run.rss_idle_kb - run.rss_before_kb) / max(1, run.connected)
        paced = [cid for cid in run.sent if not cid.startswith(SATURATION)]
        delivered = sum(1 for cid in paced if cid in run.acked and run.delivered.get(cid) == 1)
        print(
            f"{run.processes} | {run.connected}/{args.residents} | {per_conn:.1f} | "
            f"{len(paced)} | {delivered / max(run.seconds, 1e-9):.1f} | "
            f"{ms(run.delivery, 50)} / {ms(run.delivery, 99)} | "
            f"{ms(run.acks, 50)} / {ms(run.acks, 99)} | {run.lost} | "
            f"{' + '.join(f'{c:.0f}' for c in run.server_cpu)} "
            f"({' + '.join(f'{c:.0f}' for c in run.idle_server_cpu)}) | {run.generator_cpu:.0f} | "
            f"{run.loop_lag_p99_ms:.1f}"
        )
        if run.stored != len(run.acked):
            ok = False
            print(f"  !!! stored {run.stored} resident messages, acked {len(run.acked)}")
        for problem in run.errors[:5] + run.server_errors[:5]:
            ok = False
            print(f"  !!! {problem.rstrip()}")
        if run.lost or run.connect_failures:
            ok = False
    if any(run.peak_seconds for run in runs):
        print()
        print(f"saturation ({args.active} residents, closed loop, {args.saturate:g} s):")
        print("processes | acked/s | delivered/s | server CPU %")
        for run in runs:
            acked, delivered = run.peak()
            cpu = " + ".join(f"{c:.0f}" for c in run.peak_server_cpu)
            print(f"{run.processes} | {acked:.1f} | {delivered:.1f} | {cpu}")
    if len(runs) == 2 and runs[0].delivery and runs[1].delivery:
        p99 = [1000 * percentile(sorted(r.delivery), 99) for r in runs]
        print(f"p99 delivery, 2 processes / 1 process: {p99[1] / p99[0]:.2f}x")
    if len(runs) == 2 and runs[0].peak_seconds and runs[1].peak_seconds:
        peaks = [r.peak()[1] for r in runs]
        print(f"saturation throughput, 2 processes / 1 process: {peaks[1] / peaks[0]:.2f}x")
    return ok


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--residents", type=int, default=2000, help="connected residents (2000)")
    parser.add_argument("--active", type=int, default=200, help="of them chatting (200)")
    parser.add_argument("--agents", type=int, default=20, help="agents (20)")
    parser.add_argument("--rate", type=float, default=200.0, help="messages/s in all (200)")
    parser.add_argument("--seconds", type=float, default=20.0, help="paced phase, s (20)")
    parser.add_argument(
        "--saturate", type=float, default=10.0, help="closed-loop phase, s (10; 0 skips it)"
    )
    parser.add_argument("--processes", default="1,2", help="process counts to run (1,2)")
    parser.add_argument(
        "--postgres",
        default=os.environ.get(
            "CHATSVC_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
        ),
        help="a PostgreSQL database to create the benchmark's own databases from",
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0", help="Redis URL")
    parser.add_argument("--seed", type=int, default=1, help="random seed for offsets (1)")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    runs = []
    for count in (int(n) for n in args.processes.split(",")):
        print(f"{count} process(es)…", flush=True)
        runs.append(await one_run(count, args))
    return 0 if report(runs, args) else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Thousands of sockets on both ends (the servers inherit this limit from us).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 4 * args.residents + 1000:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        return run_event_loop(run(args))
    finally:
        kill_leftover_children()


if __name__ == "__main__":
    sys.exit(main())
