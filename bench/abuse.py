"""Abuse benchmark: does one resident still get answers while strangers flood the service?

    .venv/bin/python bench/abuse.py [--seconds 30] [--only PHASE] [--json FILE]

One chatsvc (`python -m chatsvc serve` on a fresh SQLite file, a child process on 127.0.0.1,
stopped at the end whatever happens) and one **bystander**: a real python-socketio resident on
its own loopback address (127.0.0.200) that started a chat and sends a message every second,
as fast as a resident's own limits allow (`CHATSVC_RATE_MESSAGE`, 60 a minute; faster, the
bystander would measure its own limit). Open loop: each ack is timed from its scheduled send,
so a stalled server shows as latency, not as fewer messages. The bystander is measured alone,
then while each attack runs:

- `signin`: 32 HTTP clients (source addresses 127.0.0.2-.33) post sign-ins with random
  usernames, each with a valid CSRF token from GET /agent/sign-in;
- `messages`: one socket (127.0.0.50) floods 4,000-character messages, --window in flight, for
  the whole phase (refused or not: a flooder does not wait), at most 500,000;
- `starts`: one socket (127.0.0.51) floods `start`, --window in flight, for the whole phase,
  at most --max-starts;
- `uploads`: 100 photo uploads of 10 MB with a fake chat token (source addresses
  127.0.0.2-.40), each sending all but the last 1,000 bytes and then stalling; held
  --seconds once every upload has stalled (or was answered), then closed. The server's RSS
  (VmRSS sampled every 50 ms) before, at its peak and 3 s after is reported.

Each attack runs in a child process of its own (its own event loop and CPU), for --seconds and
with bounded counts, and only against 127.0.0.0/8. The attack's own outcomes (accepted, refused
with which code or HTTP status) are counted. Targets: the bystander's p99 ack under 100 ms with
no failed message during each attack, and the server's RSS growth under 150 MB in `uploads`.
The machine's other load shows in the figures: they are indicative, not exact.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import json
import logging
import math
import os
import random
import re
import signal
import string
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import socketio
from processes import (
    CHILDREN,
    LagMonitor,
    ServerProcess,
    cpu_seconds,
    kill_leftover_children,
    memory_kb,
    percentile,
)

from chatsvc.cli import run as run_event_loop

SCRIPT = Path(__file__).resolve()
BENCH = SCRIPT.parent
NAMESPACE = "/resident"
PHASES = ("alone", "signin", "messages", "starts", "uploads")
BYSTANDER_ADDRESS = "127.0.0.200"
MESSAGE_FLOOD_ADDRESS = "127.0.0.50"
START_FLOOD_ADDRESS = "127.0.0.51"
ATTACK_ADDRESSES = [f"127.0.0.{n}" for n in range(2, 41)]  # per-address limits see 39 senders
BYSTANDER_INTERVAL = 1.0  # a resident may send 60 a minute (CHATSVC_RATE_MESSAGE)
TARGET_P99_MS = 100.0
TARGET_RSS_GROWTH_MB = 150.0
LOOP_LAG_BAD_MS = 20.0
SIGNIN_CLIENTS = 32
SIGNIN_MAX_ATTEMPTS = 20_000  # per client: a bound; a 30 s phase ends well before it
MESSAGE_CHARS = 4000
MAX_FLOOD_MESSAGES = 500_000  # a bound; a phase of 30 s ends well before it
UPLOADS = 100
UPLOAD_BYTES = 10 * 1024 * 1024
UPLOAD_HELD_BACK = 1000
UPLOAD_CAP_SECONDS = 120.0  # the most the uploads may take to reach their stall point
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


# ----------------------------------------------------------------------------------------------
# The bystander


@dataclass
class Tally:
    """The bystander's messages in one phase."""

    sent: int = 0
    ok: int = 0
    latencies: list[float] = field(default_factory=list)  # seconds
    failures: Counter[str] = field(default_factory=Counter)


class Bystander:
    """A resident on its own address who chats on whatever the attackers do."""

    def __init__(self, url: str, ack_timeout: float):
        self.url = url
        self.ack_timeout = ack_timeout
        self.client: socketio.AsyncClient | None = None
        self.http: aiohttp.ClientSession | None = None
        self.count = 0
        self.starts = 0
        self._emits: set[asyncio.Future[None]] = set()

    @property
    def connected(self) -> bool:
        return self.client is not None and self.client.connected

    async def connect(self) -> None:
        """Connect from BYSTANDER_ADDRESS and start a chat asking for a person."""
        await self.close()
        connector = aiohttp.TCPConnector(local_addr=(BYSTANDER_ADDRESS, 0))
        self.http = aiohttp.ClientSession(connector=connector)
        self.client = socketio.AsyncClient(reconnection=False, http_session=self.http)
        await self.client.connect(
            self.url, namespaces=[NAMESPACE], transports=["websocket"], wait_timeout=20
        )
        # Asking for a person hands the chat over: each message is then the resident's message
        # path (validate, commit, ack), not the assistant's answer (bench/load.py does the same).
        ack = await self.client.call(
            "start",
            {
                "name": "Bystander",
                "email": "bystander@example.com",
                "question": "I'd like to talk to a person, please.",
                "client_id": uuid.uuid4().hex,
            },
            namespace=NAMESPACE,
            timeout=20,
        )
        if not (isinstance(ack, dict) and ack.get("ok") is True):
            raise RuntimeError(f"the bystander could not start a chat: {ack!r:.300}")
        self.starts += 1

    async def close(self) -> None:
        if self.client is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.client.disconnect(), 5)
            self.client = None
        if self.http is not None:
            await self.http.close()
            self.http = None

    def fire(self, tally: Tally, scheduled: float) -> asyncio.Future[None]:
        """Send one message; the future resolves on its ack or its timeout, never raises."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self.count += 1
        tally.sent += 1
        client_id = uuid.uuid4().hex

        def on_ack(ack: Any = None, *extra: Any) -> None:
            if done.done():
                return  # too late: already counted as a timeout
            timer.cancel()
            if isinstance(ack, dict) and ack.get("ok") is True:
                tally.ok += 1
                tally.latencies.append(time.perf_counter() - scheduled)
            else:
                tally.failures[f"refused {error_code(ack)}"] += 1
            done.set_result(None)

        def on_timeout() -> None:
            if not done.done():
                tally.failures[f"no ack within {self.ack_timeout:g} s"] += 1
                done.set_result(None)

        timer = loop.call_later(self.ack_timeout, on_timeout)

        async def emit() -> None:
            try:
                assert self.client is not None
                await self.client.emit(
                    "message",
                    {"client_id": client_id, "text": f"bystander message {self.count}"},
                    namespace=NAMESPACE,
                    callback=on_ack,
                )
            except Exception as exc:
                if not done.done():
                    timer.cancel()
                    tally.failures[f"emit error {type(exc).__name__}"] += 1
                    done.set_result(None)

        task = asyncio.ensure_future(emit())
        self._emits.add(task)
        task.add_done_callback(self._emits.discard)
        return done

    async def chat_until(self, stop: asyncio.Event, tally: Tally) -> None:
        """Send every BYSTANDER_INTERVAL until `stop` is set, then wait for the last acks."""
        pending: list[asyncio.Future[None]] = []
        scheduled = time.perf_counter()
        while not stop.is_set():
            pending.append(self.fire(tally, scheduled))
            scheduled += BYSTANDER_INTERVAL
            delay = scheduled - time.perf_counter()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
        await asyncio.gather(*pending)


def error_code(ack: Any) -> str:
    """The error code of a refusing ack ("rate_limited", ...), or what the ack was instead."""
    if isinstance(ack, dict) and isinstance(ack.get("error"), dict):
        code = str(ack["error"].get("code"))
        retry = ack["error"].get("retry_after")
        return code + (" (retry_after)" if retry is not None else "")
    return f"odd ack {ack!r:.60}"


# ----------------------------------------------------------------------------------------------
# Attacks: each in a child process (`--attacker NAME`), printing one JSON line at the end


def announce_attack() -> None:
    """Tell the benchmark that setup is over and the attack begins: measuring starts now."""
    print(json.dumps({"progress": "attacking"}), flush=True)


def die_with_parent() -> None:
    """Ask Linux to kill this attacker if the benchmark dies (PR_SET_PDEATHSIG)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)


async def signin_flood(url: str, seconds: float) -> Counter[str]:
    """32 clients on their own addresses post sign-ins with random usernames and valid CSRF."""
    outcomes: Counter[str] = Counter()
    announce_attack()
    deadline = time.perf_counter() + seconds
    rng = random.Random(15)

    async def client(index: int) -> None:
        address = ATTACK_ADDRESSES[index % len(ATTACK_ADDRESSES)]
        connector = aiohttp.TCPConnector(local_addr=(address, 0))
        jar = aiohttp.CookieJar(unsafe=True)  # keep cookies from an IP address
        async with aiohttp.ClientSession(connector=connector, cookie_jar=jar) as http:
            token = ""
            for _ in range(SIGNIN_MAX_ATTEMPTS):
                if time.perf_counter() >= deadline:
                    return
                # No request outlives the attack by more than a second: a stalled server shows
                # as "no answer in time", and the phase stays --seconds long.
                timeout = aiohttp.ClientTimeout(total=deadline - time.perf_counter() + 1.0)
                try:
                    if not token:
                        async with http.get(f"{url}/agent/sign-in", timeout=timeout) as page:
                            found = CSRF_FIELD.search(await page.text())
                            if page.status != 200 or not found:
                                outcomes[f"sign-in page HTTP {page.status}"] += 1
                                continue
                            token = found.group(1)
                    username = "".join(rng.choices(string.ascii_lowercase, k=10))
                    form = {"csrf_token": token, "username": username, "password": "Wr0ng-pass!"}
                    async with http.post(
                        f"{url}/agent/sign-in", data=form, allow_redirects=False, timeout=timeout
                    ) as answer:
                        body = await answer.text()
                        retry = " (Retry-After)" if "Retry-After" in answer.headers else ""
                        outcomes[f"HTTP {answer.status}{retry}"] += 1
                        found = CSRF_FIELD.search(body)
                        # A refused form comes back with a fresh token: use it, as a browser
                        # would; a page without one (429) leaves the form's token good.
                        if found:
                            token = found.group(1)
                except TimeoutError:
                    outcomes["no answer in time"] += 1
                    token = ""
                except aiohttp.ClientError as exc:
                    outcomes[f"connection {type(exc).__name__}"] += 1
                    token = ""

    await asyncio.gather(*(client(i) for i in range(SIGNIN_CLIENTS)))
    return outcomes


async def socket_flood(
    url: str, seconds: float, event: str, address: str, window: int, limit: int
) -> Counter[str]:
    """One socket sends `event` as fast as `window` acks in flight allow, `limit` at most."""
    outcomes: Counter[str] = Counter()
    connector = aiohttp.TCPConnector(local_addr=(address, 0))
    async with aiohttp.ClientSession(connector=connector) as http:
        client = socketio.AsyncClient(reconnection=False, http_session=http)
        try:
            await client.connect(
                url, namespaces=[NAMESPACE], transports=["websocket"], wait_timeout=20
            )
        except Exception as exc:  # a refused connection is an outcome
            outcomes[f"connect refused {type(exc).__name__}"] += 1
            return outcomes
        try:
            if event == "message":
                ack = await client.call(
                    "start",
                    {
                        "name": "Flooder",
                        "email": "flooder@example.com",
                        "question": "I'd like to talk to a person, please.",
                        "client_id": uuid.uuid4().hex,
                    },
                    namespace=NAMESPACE,
                    timeout=20,
                )
                if not (isinstance(ack, dict) and ack.get("ok")):
                    outcomes[f"setup start refused {error_code(ack)}"] += 1
                    return outcomes
            slots = asyncio.Semaphore(window)
            in_flight: set[asyncio.Future[None]] = set()
            loop = asyncio.get_running_loop()
            filler = "x" * MESSAGE_CHARS
            announce_attack()
            deadline = time.perf_counter() + seconds
            sent = 0
            while sent < limit and time.perf_counter() < deadline and client.connected:
                try:
                    await asyncio.wait_for(
                        slots.acquire(), max(0.01, deadline - time.perf_counter())
                    )
                except TimeoutError:
                    break
                sent += 1
                done: asyncio.Future[None] = loop.create_future()
                in_flight.add(done)
                done.add_done_callback(in_flight.discard)
                done.add_done_callback(lambda _: slots.release())

                def on_ack(ack: Any = None, *extra: Any, done: asyncio.Future[None] = done) -> None:
                    ok = isinstance(ack, dict) and ack.get("ok") is True
                    outcomes["accepted" if ok else f"refused {error_code(ack)}"] += 1
                    if not done.done():
                        done.set_result(None)

                if event == "message":
                    text = f"{sent} {filler}"[:MESSAGE_CHARS]
                    payload = {"client_id": uuid.uuid4().hex, "text": text}
                else:
                    payload = {
                        "name": f"Flooder {sent}",
                        "email": f"flooder{sent}@example.com",
                        "question": "When is bulky item pickup?",
                        "client_id": uuid.uuid4().hex,
                    }
                try:
                    await client.emit(event, payload, namespace=NAMESPACE, callback=on_ack)
                except Exception as exc:
                    outcomes[f"emit error {type(exc).__name__}"] += 1
                    done.set_result(None)
            outcomes["sent"] = sent
            if in_flight:
                await asyncio.wait(set(in_flight), timeout=5)
            outcomes["no ack (at the end)"] += sum(1 for f in in_flight if not f.done())
            if not client.connected:
                outcomes["disconnected by the server"] += 1
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), 5)
    return outcomes


async def upload_flood(url: str, hold: float, count: int) -> Counter[str]:
    """`count` 10 MB uploads with a fake token, each stalled 1,000 bytes before its end."""
    outcomes: Counter[str] = Counter()
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    chunk = memoryview(b"\xff\xd8\xff\xe0" + bytes(64 * 1024 - 4))  # one buffer, sent again
    to_send = UPLOAD_BYTES - UPLOAD_HELD_BACK
    fake_token = "f" * 43  # the shape of a real token, of no conversation
    head = (
        f"POST /resident/photos HTTP/1.1\r\nHost: {host}:{port}\r\n"
        f"Content-Type: image/jpeg\r\nContent-Length: {UPLOAD_BYTES}\r\n"
        f"X-Chat-Token: {fake_token}\r\nConnection: close\r\n\r\n"
    ).encode()
    settled = 0
    all_settled = asyncio.Event()
    writers: list[asyncio.StreamWriter] = []
    answers: dict[int, str] = {}

    def settle() -> None:
        nonlocal settled
        settled += 1
        if settled == count:
            all_settled.set()

    async def read_answer(index: int, reader: asyncio.StreamReader) -> None:
        try:
            line = await reader.readline()
        except (ConnectionError, OSError):
            answers[index] = "connection reset"
            return
        status = line.decode(errors="replace").split(" ")
        answers[index] = f"HTTP {status[1]}" if len(status) > 1 else "closed without an answer"

    async def upload(index: int) -> tuple[str, asyncio.Task[None] | None]:
        address = ATTACK_ADDRESSES[index % len(ATTACK_ADDRESSES)]
        try:
            reader, writer = await asyncio.open_connection(host, port, local_addr=(address, 0))
        except OSError as exc:
            settle()
            return f"connect error {type(exc).__name__}", None
        writers.append(writer)
        answer = asyncio.create_task(read_answer(index, reader))
        try:
            writer.write(head)
            sent = 0
            while sent < to_send and not answer.done():
                piece = chunk[: min(len(chunk), to_send - sent)]
                writer.write(piece)
                await writer.drain()
                sent += len(piece)
        except (ConnectionError, OSError):
            pass
        finally:
            settle()
        if answer.done():
            return f"answered before the stall: {answers.get(index)}", answer
        return "stalled", answer

    announce_attack()
    cap = asyncio.create_task(asyncio.sleep(UPLOAD_CAP_SECONDS))
    tasks = [asyncio.create_task(upload(i)) for i in range(count)]
    try:
        await asyncio.wait(
            [asyncio.create_task(all_settled.wait()), cap], return_when=asyncio.FIRST_COMPLETED
        )
        reached = sum(1 for t in tasks if t.done())
        print(json.dumps({"progress": "stalled", "settled": reached}), flush=True)
        await asyncio.sleep(hold)
        for task in tasks:
            if not task.done():
                outcomes["still sending at the cap (the server stopped reading)"] += 1
                task.cancel()
                continue
            where, answer = task.result()
            if where == "stalled" and answer is not None and answer.done():
                outcomes[f"answered while stalled: {answers.get(tasks.index(task))}"] += 1
            else:
                outcomes[where] += 1
    finally:
        cap.cancel()
        for writer in writers:
            writer.transport.abort()
        await asyncio.gather(*tasks, return_exceptions=True)
    return outcomes


async def attacker(args: argparse.Namespace) -> None:
    started = time.process_time()
    if args.attacker == "signin":
        outcomes = await signin_flood(args.url, args.seconds)
    elif args.attacker == "messages":
        outcomes = await socket_flood(
            args.url,
            args.seconds,
            "message",
            MESSAGE_FLOOD_ADDRESS,
            args.window,
            MAX_FLOOD_MESSAGES,
        )
    elif args.attacker == "starts":
        outcomes = await socket_flood(
            args.url, args.seconds, "start", START_FLOOD_ADDRESS, args.window, args.max_starts
        )
    else:
        outcomes = await upload_flood(args.url, args.seconds, UPLOADS)
    result = {"outcomes": dict(outcomes), "cpu_seconds": time.process_time() - started}
    print(json.dumps({"result": result}), flush=True)


# ----------------------------------------------------------------------------------------------
# The run


@dataclass
class PhaseResult:
    name: str
    seconds: float
    sent: int
    ok: int
    failures: dict[str, int]
    p50_ms: float
    p99_ms: float
    max_ms: float
    attack: dict[str, int]
    attack_error: str | None
    server_cpu_pct: float
    attacker_cpu_pct: float
    generator_loop_lag_p99_ms: float
    rss_before_mb: float
    rss_peak_mb: float
    rss_after_mb: float

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    @property
    def p99_met(self) -> bool:
        return self.failed == 0 and self.ok > 0 and self.p99_ms < TARGET_P99_MS

    @property
    def rss_growth_mb(self) -> float:
        return self.rss_peak_mb - self.rss_before_mb


class RssSampler:
    """Samples the server's VmRSS every 50 ms: VmHWM is the peak of its whole life."""

    def __init__(self, pid: int):
        self.pid = pid
        self.peak_kb = 0
        self._task: asyncio.Task[None] | None = None

    def now_kb(self) -> int:
        with contextlib.suppress(OSError):
            return memory_kb(self.pid).get("VmRSS", 0)
        return 0

    async def _run(self) -> None:
        while True:
            self.peak_kb = max(self.peak_kb, self.now_kb())
            await asyncio.sleep(0.05)

    def __enter__(self) -> RssSampler:
        self.peak_kb = self.now_kb()
        self._task = asyncio.create_task(self._run())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def run_attacker(
    name: str, url: str, args: argparse.Namespace, attacking: asyncio.Event
) -> tuple[dict[str, Any], str]:
    """Run one attack in a child process; return its JSON result and its stderr's tail.

    `attacking` is set when the child says its attack begins (after its imports and setup).
    """
    argv = [
        sys.executable,
        str(SCRIPT),
        "--attacker",
        name,
        "--url",
        url,
        "--seconds",
        str(args.seconds),
        "--window",
        str(args.window),
        "--max-starts",
        str(args.max_starts),
    ]
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=BENCH.parent,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    CHILDREN.append(process)
    assert process.stdout and process.stderr
    errors: list[str] = []

    async def drain_stderr() -> None:
        assert process.stderr
        while line := await process.stderr.readline():
            errors.append(line.decode(errors="replace"))
            del errors[:-30]

    drain = asyncio.create_task(drain_stderr())
    result: dict[str, Any] = {}
    try:
        limit = args.seconds + UPLOAD_CAP_SECONDS + 60
        async with asyncio.timeout(limit):
            while line := await process.stdout.readline():
                with contextlib.suppress(ValueError):
                    message = json.loads(line)
                    if message.get("progress") == "attacking":
                        attacking.set()
                    elif message.get("progress") == "stalled":
                        print(f"  uploads: {message['settled']} sent or answered; holding them")
                    result = message.get("result", result)
            await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(drain, 5)
    return result, "".join(errors)


async def run_phase(
    name: str, server: ServerProcess, bystander: Bystander, args: argparse.Namespace
) -> PhaseResult:
    """Run one attack (or none) while the bystander chats; measure both and the server."""
    if not bystander.connected:
        print("  (the bystander was disconnected: it connects again and starts a new chat)")
        await bystander.connect()
    tally = Tally()
    stop = asyncio.Event()
    attacking = asyncio.Event()
    attack: dict[str, Any] = {}
    attack_error: str | None = None
    if name == "alone":
        attacking.set()
        attack_task = asyncio.create_task(asyncio.sleep(args.seconds))
    else:
        attack_task = asyncio.create_task(run_attacker(name, server.url, args, attacking))
    try:
        with RssSampler(server.pid) as rss:
            before_kb = rss.peak_kb
            # Measured from the attack's start, not the attacker process's (imports, connects).
            started = asyncio.create_task(attacking.wait())
            await asyncio.wait([attack_task, started], return_when=asyncio.FIRST_COMPLETED)
            started.cancel()
            cpu0, wall0 = cpu_seconds(server.pid), time.perf_counter()
            with LagMonitor() as lag:
                chatting = asyncio.create_task(bystander.chat_until(stop, tally))
                try:
                    outcome = await attack_task
                    if name != "alone":
                        attack, stderr = outcome
                        if "outcomes" not in attack:
                            attack_error = "the attacker reported nothing:\n" + stderr[-2000:]
                finally:
                    stop.set()
                    wall = time.perf_counter() - wall0
                    server_cpu = (cpu_seconds(server.pid) - cpu0) / wall * 100
                    await chatting
            peak_kb = rss.peak_kb
    finally:
        if not attack_task.done():
            attack_task.cancel()
            with contextlib.suppress(BaseException):
                await attack_task
    await asyncio.sleep(3.0)  # what the server gives back once the attack is over
    after_kb = rss.now_kb()
    latencies = sorted(tally.latencies)
    lags = sorted(lag.lags)
    return PhaseResult(
        name=name,
        seconds=wall,
        sent=tally.sent,
        ok=tally.ok,
        failures=dict(tally.failures),
        p50_ms=percentile(latencies, 50) * 1000,
        p99_ms=percentile(latencies, 99) * 1000,
        max_ms=latencies[-1] * 1000 if latencies else math.nan,
        attack=attack.get("outcomes", {}),
        attack_error=attack_error,
        server_cpu_pct=server_cpu,
        attacker_cpu_pct=attack.get("cpu_seconds", 0.0) / wall * 100,
        generator_loop_lag_p99_ms=percentile(lags, 99) * 1000,
        rss_before_mb=before_kb / 1024,
        rss_peak_mb=peak_kb / 1024,
        rss_after_mb=after_kb / 1024,
    )


def fmt(value: float, spec: str = ".1f") -> str:
    return "n/a" if math.isnan(value) else format(value, spec)


def print_phase(p: PhaseResult) -> None:
    failures = ", ".join(f"{k} {v}" for k, v in sorted(p.failures.items())) or "none"
    print(
        f"  bystander: {p.sent} sent, {p.ok} acked; ack p50 {fmt(p.p50_ms)} ms, "
        f"p99 {fmt(p.p99_ms)} ms, max {fmt(p.max_ms)} ms; failures: {failures}"
    )
    if p.name != "alone":
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(p.attack.items())) or "none"
        print(f"  attack: {outcomes}")
    if p.attack_error:
        print(f"  ATTACK ERROR: {p.attack_error}")
    print(
        f"  server CPU {p.server_cpu_pct:.0f}% of a core (attacker {p.attacker_cpu_pct:.0f}%); "
        f"server RSS before {p.rss_before_mb:.0f} MB, peak {p.rss_peak_mb:.0f} MB, "
        f"3 s after {p.rss_after_mb:.0f} MB; {p.seconds:.1f} s"
    )
    if p.generator_loop_lag_p99_ms >= LOOP_LAG_BAD_MS:
        print(
            f"  !!! the bystander's own event loop lagged (p99 "
            f"{p.generator_loop_lag_p99_ms:.0f} ms): its latencies include that !!!"
        )


def summary(phases: dict[str, PhaseResult], args: argparse.Namespace) -> dict[str, Any]:
    print("\n" + "=" * 112)
    print(
        f"SUMMARY  bystander: one message every {BYSTANDER_INTERVAL * 1000:.0f} ms from "
        f"{BYSTANDER_ADDRESS}; {args.seconds:g} s per attack; {os.cpu_count()} cores, shared: "
        "figures are indicative"
    )
    print(
        f"{'phase':<10}{'sent/ok':>12}{'failed':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'srv CPU%':>10}{'RSS before/peak/after MB':>28}  target"
    )
    verdict: dict[str, Any] = {}
    for p in phases.values():
        if p.name == "alone":
            target = "(baseline)"
        else:
            target = f"p99 < {TARGET_P99_MS:.0f} ms, no failure: " + (
                "MET" if p.p99_met else "NOT MET"
            )
            verdict[f"{p.name}_bystander_p99"] = p.p99_met
        print(
            f"{p.name:<10}{f'{p.sent}/{p.ok}':>12}{p.failed:>8}{fmt(p.p50_ms):>9}"
            f"{fmt(p.p99_ms):>9}{fmt(p.max_ms):>9}{p.server_cpu_pct:>10.0f}"
            f"{f'{p.rss_before_mb:.0f} / {p.rss_peak_mb:.0f} / {p.rss_after_mb:.0f}':>28}  "
            f"{target}"
        )
    if uploads := phases.get("uploads"):
        met = uploads.rss_growth_mb < TARGET_RSS_GROWTH_MB
        verdict["uploads_rss_growth"] = met
        print(
            f"uploads: server RSS growth {uploads.rss_growth_mb:.0f} MB (target < "
            f"{TARGET_RSS_GROWTH_MB:.0f} MB: {'MET' if met else 'NOT MET'}); "
            f"{uploads.rss_after_mb - uploads.rss_before_mb:.0f} MB still held 3 s after"
        )
    met_all = all(verdict.values())
    print(f"all targets: {'MET' if met_all else 'NOT MET'}")
    return verdict


def clean(value: Any) -> Any:
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


async def run(args: argparse.Namespace) -> int:
    with contextlib.suppress(NotImplementedError, RuntimeError):
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    phases: dict[str, PhaseResult] = {}
    error: str | None = None
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="chatsvc-abuse-") as tmp:
        env = dict(os.environ)
        env.update(
            DATABASE_URL=f"sqlite+aiosqlite:///{Path(tmp) / 'chatsvc.db'}",
            CHATSVC_HOST="127.0.0.1",
            CHATSVC_PORT="0",
            CHATSVC_LOG_LEVEL="INFO",
            # A staffed center whatever the hour, as in bench/load.py.
            CHATSVC_BUSINESS_HOURS="sun-sat 00:00-24:00",
            CHATSVC_HOLIDAYS="",
            CHATSVC_MAIL_FOLDER=str(Path(tmp) / "mail"),
        )
        server = ServerProcess("chatsvc", [sys.executable, "-m", "chatsvc", "serve"], env)
        bystander: Bystander | None = None
        try:
            url = await server.start()
            print(f"chatsvc: pid {server.pid}, {url}", flush=True)
            bystander = Bystander(url, args.ack_timeout)
            await bystander.connect()
            for name in PHASES:
                if args.only and name not in ("alone", args.only):
                    continue
                print(f"\n=== {name} ===", flush=True)
                phases[name] = await run_phase(name, server, bystander, args)
                print_phase(phases[name])
                await asyncio.sleep(args.settle)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            print(f"RUN ERROR: {error}", flush=True)
        finally:
            if bystander is not None:
                await bystander.close()
            await server.stop()
            problems = server.problems()
    verdict = summary(phases, args)
    if problems:
        print(f"server log: {len(problems)} warning/error lines (kept); the first ones:")
        for line in problems[:10]:
            print("  " + line[:200])
    if args.json:
        document = {
            "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "machine_cores": os.cpu_count(),
            "phases": {n: vars(p) | {"failed": p.failed} for n, p in phases.items()},
            "verdict": verdict,
            "server_log_problems": problems[:200],
            "error": error,
        }
        args.json.write_text(json.dumps(clean(document), indent=2) + "\n")
        print(f"results written to {args.json}")
    return 1 if error else 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="each attack, s (30)")
    parser.add_argument("--only", choices=PHASES[1:], help="the baseline and this attack only")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    parser.add_argument("--ack-timeout", type=float, default=5.0, help="bystander, per ack (5)")
    parser.add_argument("--window", type=int, default=16, help="socket floods: in flight (16)")
    parser.add_argument("--max-starts", type=int, default=500_000, help="start flood cap (500,000)")
    parser.add_argument("--settle", type=float, default=2.0, help="pause between phases, s (2)")
    parser.add_argument("--attacker", choices=PHASES[1:], help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 0 < args.seconds <= 120 or not 1 <= args.window <= 256 or args.max_starts < 1:
        parser.error("bounded: 0 < --seconds <= 120, 1 <= --window <= 256, --max-starts >= 1")
    if args.attacker:
        host = urlsplit(args.url or "").hostname or ""
        if not host.startswith("127."):
            parser.error("attacks go to 127.0.0.0/8 only")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress as it goes
    # python-socketio's client logs a warning per late ack; the tallies count them.
    logging.getLogger("socketio.client").setLevel(logging.ERROR)
    logging.getLogger("engineio.client").setLevel(logging.ERROR)
    if args.attacker:
        die_with_parent()
        run_event_loop(attacker(args))
        return 0
    started = time.perf_counter()
    try:
        return run_event_loop(run(args))
    finally:
        kill_leftover_children()
        print(f"(total run time {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    raise SystemExit(main())
