"""Shared fixtures: settings, the real server on a random port, real Socket.IO clients."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import subprocess
import sys
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import pytest
import socketio
from aiohttp import web
from aiohttp.test_utils import TestServer
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from pydantic import ValidationError
from sqlalchemy import select

from chatsvc.app import create_app
from chatsvc.clock import Clock, utc_now
from chatsvc.settings import Settings
from chatsvc.transport.state import CLOCK, DATABASE
from chatsvc.transport.wire import ACKS, EVENTS, ErrorAck, Namespace, Wire

# Each test's database on the backend under test, and the two passes (SQLite, PostgreSQL).
pytest_plugins = ["tests.databases"]

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 10.0
# For server processes whose clients all come from 127.0.0.1 and send as fast as they can (the
# SIGKILL and scale-out tests): the socket limits (CHATSVC_RATE_*) would measure themselves,
# not the service. The limits have tests of their own (tests/realtime/test_socket_limits.py).
NO_SOCKET_LIMITS = {
    "CHATSVC_CONNECTIONS_PER_ADDRESS": "1000000",
    "CHATSVC_CONVERSATIONS_PER_ADDRESS_PER_DAY": "1000000",
    "CHATSVC_RATE_ADDRESS_FACTOR": "1000000",
    **{
        f"CHATSVC_RATE_{kind}": "1000000,60000000"
        for kind in ("MESSAGE", "START", "RESUME", "TYPING", "READ", "AGENT")
    },
}
WATCHED_LOGGERS = ("chatsvc", "aiohttp", "socketio", "engineio", "sqlalchemy", "alembic")


# --- fail on errors the service logged that the test did not expect ------------------------


class LogErrors(logging.Handler):
    """Collects ERROR records from the service's loggers; tests may allow some by pattern."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []
        self.allowed: list[re.Pattern[str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(WATCHED_LOGGERS):
            self.records.append(record)

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        lines = [f"{r.name}: {r.getMessage()}" for r in self.records]
        return [line for line in lines if not any(p.search(line) for p in self.allowed)]


@pytest.fixture(autouse=True)
def log_errors() -> Iterator[LogErrors]:
    handler = LogErrors()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
    unexpected = handler.unexpected()
    assert not unexpected, f"the service logged errors: {unexpected}"


PERSON = "I'd like to talk to a person, please."

# --- settings and the live server ----------------------------------------------------------


@pytest.fixture
def make_settings(tmp_path: Path, database_url: str) -> Callable[..., Settings]:
    """Build Settings for a test: its own database under test unless told otherwise."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url,
            "mail_folder": tmp_path / "mail",
            # Staffed around the clock, so tests of chatting with agents pass on any day;
            # the after-hours tests set their own hours and clock.
            "business_hours": "sun-sat 00:00-24:00",
            "holidays": "",
            # Every test client comes from 127.0.0.1: an address's limits are as wide as the
            # suite needs (tests/realtime/test_socket_limits.py and test_address_caps.py set
            # their own).
            "rate_address_factor": 10_000,
            "connections_per_address": 100_000,
            "conversations_per_address_per_day": 100_000,
            "filings_per_address_per_day": 100_000,
            "status_misses_per_address_per_day": 100_000,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@dataclass
class LiveServer:
    """The real app on a real port."""

    url: str
    settings: Settings
    app: web.Application
    server: TestServer

    @property
    def host(self) -> str:
        return self.url.removeprefix("http://")


@pytest.fixture
async def start_server(
    make_settings: Callable[..., Settings],
    another_database: Callable[[str], Awaitable[str]],
) -> AsyncIterator[Callable[..., Awaitable[LiveServer]]]:
    """Start the real app on a random port (several may run in one test).

    Its servers stop before any database of the test is given back (emptied, its sessions
    ended), another_database's included: that is why it depends on it.
    """
    servers: list[TestServer] = []

    async def start(
        settings: Settings | None = None, clock: Clock = utc_now, port: int | None = None
    ) -> LiveServer:
        settings = settings or make_settings()
        app = create_app(settings, clock=clock)
        server = TestServer(app, host="127.0.0.1", port=port)
        await server.start_server()
        servers.append(server)
        return LiveServer(f"http://127.0.0.1:{server.port}", settings, app, server)

    yield start
    for server in reversed(servers):
        await server.close()


async def _default_server(
    request: pytest.FixtureRequest, start_server: Callable[..., Awaitable[LiveServer]]
) -> LiveServer:
    """The test's `live_server` when it asked for one; otherwise one started now, on first
    need. A client made with a server of its own starts none: a second server on the same
    database would sweep it on the real clock (closing, as idle, the chats of a server whose
    clock the test fixed)."""
    if "live_server" in request.fixturenames:
        server: LiveServer = request.getfixturevalue("live_server")  # set up before the test
        return server
    cached = getattr(request.node, "_chatsvc_default_server", None)
    if cached is None:
        cached = await start_server()
        request.node._chatsvc_default_server = cached
    return cached  # type: ignore[no-any-return]


@pytest.fixture
async def live_server(start_server: Callable[..., Awaitable[LiveServer]]) -> LiveServer:
    return await start_server()


# --- real python-socketio clients ----------------------------------------------------------


async def stored_rows(server: LiveServer, model: Any) -> list[Any]:
    """Every row of `model` in the server's database, oldest first (through the models)."""

    async def read(session: Any) -> list[Any]:
        key = model.id if hasattr(model, "id") else model.__mapper__.primary_key[0]
        return list(await session.scalars(select(model).order_by(key)))

    rows: list[Any] = await server.app[DATABASE].run(read)
    return rows


# Every Recorder of the running test: their events are checked against the schemas at its end.
_RECORDERS: list[Recorder] = []


@pytest.fixture(autouse=True)
def events_fit_the_schemas() -> Iterator[None]:
    """Fail a test whose clients received an event or ack the protocol's schemas do not allow."""
    _RECORDERS.clear()
    yield
    errors = [error for recorder in _RECORDERS for error in recorder.protocol_errors]
    _RECORDERS.clear()
    if errors:
        pytest.fail("\n".join(["the server sent what chatsvc/transport/wire.py forbids:", *errors]))


@dataclass
class Recorder:
    """What a test client received, event by event, to wait for with a timeout.

    Every event is checked against `chatsvc.transport.wire.EVENTS` as it arrives, and every ack
    of `call` against `ACKS`: the whole realtime suite holds the schemas to real traffic.
    """

    namespace: ClassVar[Namespace]

    sio: socketio.AsyncClient
    events: dict[str, asyncio.Queue[Any]] = field(
        default_factory=lambda: defaultdict(asyncio.Queue), kw_only=True
    )
    # Every event received, read or not, in order: for checks that something never arrived.
    received: list[tuple[str, Any]] = field(default_factory=list, kw_only=True)
    # What did not fit the schemas; the test fails at its end (or at its next wait) if any.
    protocol_errors: list[str] = field(default_factory=list, kw_only=True)

    def __post_init__(self) -> None:
        self.sio.on("*", self._record, namespace=self.namespace)
        _RECORDERS.append(self)

    async def _record(self, event: str, *args: Any) -> None:
        data = args[0] if len(args) == 1 else list(args)
        self._check_event(event, args)
        self.received.append((event, data))
        await self.events[event].put(data)

    def _check_event(self, event: str, args: tuple[Any, ...]) -> None:
        schema = EVENTS.get((self.namespace, event))
        if schema is None:
            self.protocol_errors.append(
                f"{self.namespace} event {event!r} is not in wire.EVENTS: {args!r}"
            )
        elif len(args) != 1:
            self.protocol_errors.append(
                f"{self.namespace} event {event!r} came with {len(args)} arguments, not one"
            )
        else:
            self._check(f"{self.namespace} event {event!r}", schema, args[0])

    def check_ack(self, event: str, ack: Any) -> None:
        """Fail at once if a successful ack does not fit its schema (or a refusal, ErrorAck)."""
        schema: type[Wire] | None = ErrorAck
        if isinstance(ack, dict) and ack.get("ok") is True:
            schema = ACKS.get((self.namespace, event))
        if schema is None:
            self.protocol_errors.append(f"{self.namespace} ack of {event!r} is not in wire.ACKS")
        else:
            self._check(f"{self.namespace} ack of {event!r}", schema, ack)
        self.assert_protocol()

    def _check(self, what: str, schema: type[Wire], data: Any) -> None:
        try:
            schema.model_validate(data)
        except ValidationError as exc:
            self.protocol_errors.append(
                f"{what} does not fit wire.{schema.__name__}: {exc}\npayload: {data!r}"
            )

    def assert_protocol(self) -> None:
        """Fail the test now if anything received so far did not fit its schema."""
        errors, self.protocol_errors = self.protocol_errors, []  # reported once, here
        if errors:
            pytest.fail(
                "\n".join(["the server sent what chatsvc/transport/wire.py forbids:", *errors])
            )

    async def next(self, event: str) -> Any:
        """Wait for the next `event` from the server (fails the test after a timeout)."""
        data = await asyncio.wait_for(self.events[event].get(), TIMEOUT)
        self.assert_protocol()
        return data

    async def next_where(self, event: str, check: Callable[[Any], bool]) -> Any:
        """Wait for the first `event` that passes `check`, skipping earlier ones."""

        async def scan() -> Any:
            while True:
                data = await self.events[event].get()
                if check(data):
                    return data

        data = await asyncio.wait_for(scan(), TIMEOUT)
        self.assert_protocol()
        return data


@dataclass
class ResidentClient(Recorder):
    """A real Socket.IO client on the /resident namespace that records what it receives."""

    namespace: ClassVar[Namespace] = "/resident"

    url: str
    token: str | None = None
    last_seq: int = 0

    async def connect(self, headers: dict[str, str] | None = None) -> None:
        await self.sio.connect(
            self.url,
            namespaces=["/resident"],
            transports=["websocket"],
            headers=headers or {},
            wait_timeout=TIMEOUT,
        )

    async def call(self, event: str, data: Any = None) -> dict[str, Any]:
        """Emit an event and return its ack (None sends no payload, a tuple several)."""
        ack = await self.sio.call(event, data, namespace="/resident", timeout=TIMEOUT)
        assert isinstance(ack, dict), f"{event} ack is not an object: {ack!r}"
        self.check_ack(event, ack)
        for message in ack.get("messages", []) + ([ack["message"]] if "message" in ack else []):
            self.last_seq = max(self.last_seq, message["seq"])
        if "token" in ack:
            self.token = ack["token"]
        return ack

    async def start(self, **fields: Any) -> dict[str, Any]:
        # Asking for a person hands the chat over at once, so the assistant stays quiet and
        # tests of the protocol see only the messages they send (the reply is seq 2).
        payload = {"name": "Ana Ruiz", "email": "ana@example.com", "question": PERSON}
        payload.update(fields)
        ack = await self.call("start", payload)
        assert ack["ok"], ack
        return ack

    async def disconnect(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


@pytest.fixture
async def resident_client(
    request: pytest.FixtureRequest, start_server: Callable[..., Awaitable[LiveServer]]
) -> AsyncIterator[Callable[..., Awaitable[ResidentClient]]]:
    """Factory: a connected resident client (to the live server unless a URL is given)."""
    clients: list[ResidentClient] = []

    async def make(
        url: str | None = None, *, connect: bool = True, headers: dict[str, str] | None = None
    ) -> ResidentClient:
        sio = socketio.AsyncClient(reconnection=False)
        client = ResidentClient(sio, url or (await _default_server(request, start_server)).url)
        if connect:
            await client.connect(headers)
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.disconnect()


ResidentAt = Callable[..., Awaitable[ResidentClient]]


@pytest.fixture
async def resident_at() -> AsyncIterator[ResidentAt]:
    """Factory: a resident client connected to `url` from the loopback `address` (127.0.0.2,
    .3, ...), so the server sees different peers the way it would on the Internet."""
    made: list[tuple[ResidentClient, aiohttp.ClientSession]] = []

    async def make(url: str, address: str, **headers: str) -> ResidentClient:
        http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(address, 0)))
        sio = socketio.AsyncClient(reconnection=False, http_session=http)
        client = ResidentClient(sio, url)
        made.append((client, http))
        await client.connect(headers)
        return client

    yield make
    for client, http in made:
        await client.disconnect()
        await http.close()


LISTENING = re.compile(r"listening on (http://[\d.]+:\d+)")


class ServerProcess:
    """`python -m chatsvc serve` in a child process, on a free port."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.process: asyncio.subprocess.Process | None = None
        self.url = ""
        self.output: list[str] = []
        self._drain: asyncio.Task[None] | None = None

    async def start(self) -> str:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "chatsvc",
            "serve",
            env=self.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        self.url = await asyncio.wait_for(self._wait_listening(), 30)
        self._drain = asyncio.create_task(self._read_rest())
        return self.url

    async def _wait_listening(self) -> str:
        assert self.process and self.process.stderr
        while line := (await self.process.stderr.readline()).decode():
            self.output.append(line)
            if match := LISTENING.search(line):
                return match.group(1)
        raise AssertionError("the server exited before listening:\n" + "".join(self.output))

    async def _read_rest(self) -> None:
        assert self.process and self.process.stderr
        while line := (await self.process.stderr.readline()).decode():
            self.output.append(line)

    async def kill(self) -> None:
        assert self.process
        self.process.send_signal(signal.SIGKILL)
        assert await self.process.wait() == -signal.SIGKILL
        if self._drain:
            await self._drain

    async def stop(self) -> None:
        if self.process and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 15)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
                if self._drain:
                    await self._drain
                tail = "".join(self.output[-40:])
                raise AssertionError(f"the server did not stop within 15 s:\n{tail}") from None
        if self._drain:
            await self._drain


# --- a real SMTP server --------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler: keeps every mail it accepts, for the test's event loop to await."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.port = 0
        self.envelopes: list[Envelope] = []
        self.changed = asyncio.Event()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        # Runs in the server's own thread and loop; hand the mail over before answering 250.
        self.loop.call_soon_threadsafe(self._arrived, envelope)
        return "250 Message accepted for delivery"

    def _arrived(self, envelope: Envelope) -> None:
        self.envelopes.append(envelope)
        self.changed.set()

    async def wait_for(self, count: int) -> list[EmailMessage]:
        """Wait until `count` mails arrived (fails after a timeout); return them parsed."""

        async def enough() -> None:
            while len(self.envelopes) < count:
                self.changed.clear()
                await self.changed.wait()

        await asyncio.wait_for(enough(), TIMEOUT)
        return [parse(envelope.original_content or b"") for envelope in self.envelopes]


def parse(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., Inbox]]:
    """Factory: start an SMTP server on 127.0.0.1 (on `port`, or a free one); return its inbox."""
    controllers: list[Controller] = []

    def start(port: int | None = None) -> Inbox:
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=port or free_port())
        controller.start()
        controllers.append(controller)
        inbox.port = controller.port
        return inbox

    yield start
    for controller in controllers:
        controller.stop()


def run_chatsvc(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """Run the `chatsvc` command line as a city IT person would, with extra environment."""
    return subprocess.run(
        [sys.executable, "-m", "chatsvc", *args],
        env={**os.environ, **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


# --- staff: accounts and real /agent clients ------------------------------------------------

STAFF_PASSWORD = "correct horse battery"


@dataclass
class AgentClient(Recorder):
    """A real Socket.IO client on /agent, signed in as one staff member; records events."""

    namespace: ClassVar[Namespace] = "/agent"

    url: str
    staff_id: int
    username: str
    first_name: str
    cookie: str

    async def connect(self) -> None:
        await self.sio.connect(
            self.url,
            namespaces=["/agent"],
            transports=["websocket"],
            headers={"Origin": self.url, "Cookie": f"chatsvc_staff={self.cookie}"},
            wait_timeout=TIMEOUT,
        )

    async def call(self, event: str, data: Any = None) -> dict[str, Any]:
        ack = await self.sio.call(event, data, namespace="/agent", timeout=TIMEOUT)
        assert isinstance(ack, dict), f"{event} ack is not an object: {ack!r}"
        self.check_ack(event, ack)
        return ack

    async def ok(self, event: str, data: Any = None) -> dict[str, Any]:
        """Call an event that must succeed."""
        ack = await self.call(event, data if data is not None else {})
        assert ack["ok"], (event, ack)
        return ack

    async def available(self) -> None:
        await self.ok("status", {"status": "available"})

    async def disconnect(self) -> None:
        if self.sio.connected:
            await self.sio.disconnect()


async def add_staff_member(
    database: Any,
    username: str,
    *,
    display_name: str | None = None,
    role: str = "agent",
    workgroups: tuple[str, ...] = (),
    max_chats: int = 3,
    now: datetime | None = None,
) -> tuple[int, str]:
    """Create an account and sign it in; return its id and session cookie value."""
    from chatsvc.actions import accounts

    now = now or utc_now()

    staff = await database.run(
        accounts.add_staff,
        username=username,
        display_name=display_name or f"{username.capitalize()} Tester",
        role=role,
        password=STAFF_PASSWORD,
        workgroups=workgroups,
        max_chats=max_chats,
        now=now,
    )
    signed_in = await database.run(
        accounts.sign_in, username=username, password=STAFF_PASSWORD, now=now
    )
    assert isinstance(signed_in, accounts.SignedIn)
    return staff.id, signed_in.token


@pytest.fixture
async def agent_client(
    request: pytest.FixtureRequest, start_server: Callable[..., Awaitable[LiveServer]]
) -> AsyncIterator[Callable[..., Awaitable[AgentClient]]]:
    """Factory: a new staff account, signed in and connected to /agent (live server default)."""
    clients: list[AgentClient] = []

    async def make(
        username: str,
        *,
        server: LiveServer | None = None,
        role: str = "agent",
        workgroups: tuple[str, ...] = (),
        max_chats: int = 3,
        available: bool = True,
        display_name: str | None = None,
    ) -> AgentClient:
        server = server or await _default_server(request, start_server)
        staff_id, cookie = await add_staff_member(
            server.app[DATABASE],
            username,
            display_name=display_name,
            role=role,
            workgroups=workgroups,
            max_chats=max_chats,
            now=server.app[CLOCK](),  # the server's clock may be fixed by the test
        )
        client = await agent_for(server.url, staff_id, username, display_name, cookie)
        clients.append(client)
        if available:
            await client.available()
        return client

    yield make
    for client in clients:
        await client.disconnect()


async def agent_for(
    url: str, staff_id: int, username: str, display_name: str | None, cookie: str
) -> AgentClient:
    """Connect a new /agent client with an existing session cookie."""
    sio = socketio.AsyncClient(reconnection=False)
    first = (display_name or username.capitalize()).split()[0]
    client = AgentClient(sio, url, staff_id, username, first, cookie)
    await client.connect()
    return client
