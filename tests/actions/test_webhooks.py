"""Department webhooks: signed POSTs to a real receiver on a real port, retried until delivered."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from sqlalchemy import select

from chatsvc.actions.service_requests.filing import NewRequest, create_service_request
from chatsvc.actions.service_requests.status import change_status
from chatsvc.actions.service_requests.views import Contact, RequestView
from chatsvc.app import create_app
from chatsvc.catalogue.knowledge import default_path, load_knowledge_base
from chatsvc.db.database import Database
from chatsvc.db.models import OutboxWebhook
from chatsvc.outbox.webhooks import WebhooksError, load_webhooks, queue_webhook
from chatsvc.settings import Settings
from chatsvc.transport.state import CLOCK, DATABASE, REQUEST_POLICY
from chatsvc.workers.webhooks import WEBHOOK_SENDER, WebhookSender
from tests.actions.test_mail import Clock
from tests.conftest import TIMEOUT, LiveServer, free_port, run_chatsvc
from tests.databases import opened_database

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # a Monday, 10:00 in Pasadena
SECRET = "street-crew-shared-secret-0123"
STREETS = "Street Maintenance"
CATALOGUE = {t.workgroup for t in load_knowledge_base(default_path()).topics.values()}


# --- a real receiver ---------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    """One POST the receiver got, with what it made of the signature and what it answered."""

    headers: dict[str, str]
    body: bytes
    signed: bool
    answered: int

    @property
    def json(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document


class Receiver:
    """A department's system: checks each POST's signature with the secret, as the README says."""

    def __init__(self, port: int, secret: str = SECRET):
        self.port = port
        self.secret = secret
        self.status = 200  # what it answers; 500 plays a broken receiver
        self.hang = False  # never answer (until stopped): plays a stuck receiver
        self.posts: list[Post] = []
        self._released = asyncio.Event()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/chatsvc/requests"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/chatsvc/requests", self._receive)
        self._runner = web.AppRunner(app, shutdown_timeout=1)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        self._released.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def delivered(self) -> Counter[str]:
        """Count the accepted POSTs by delivery id."""
        return Counter(
            p.headers["X-Chatsvc-Delivery"] for p in self.posts if 200 <= p.answered < 300
        )

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        timestamp = request.headers.get("X-Chatsvc-Timestamp", "")
        expected = hmac.new(
            self.secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        signed = hmac.compare_digest(
            "sha256=" + expected, request.headers.get("X-Chatsvc-Signature", "")
        )
        if self.hang:
            self.posts.append(Post(dict(request.headers), body, signed, 0))  # never answered
            await self._released.wait()
        else:
            self.posts.append(Post(dict(request.headers), body, signed, self.status))
        return web.Response(status=self.status, text="thanks")


@pytest.fixture
async def receiver() -> AsyncIterator[Callable[..., Receiver]]:
    """Factory: a receiver on `port` (or a free one), not started; stopped afterwards."""
    made: list[Receiver] = []

    def make(port: int | None = None) -> Receiver:
        made.append(Receiver(port or free_port()))
        return made[-1]

    yield make
    for each in made:
        await each.stop()


def webhooks_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "webhooks.toml"
    path.write_text(text, encoding="utf-8")
    return path


def streets_file(tmp_path: Path, url: str) -> Path:
    return webhooks_file(
        tmp_path, f'[[webhook]]\nworkgroup = "{STREETS}"\nurl = "{url}"\nsecret = "{SECRET}"\n'
    )


GRAFFITI = {"address": "100 N Garfield Ave", "description": "Tags on the east wall"}


async def file_request(
    server: LiveServer, service_code: str = "graffiti", values: dict[str, str] = GRAFFITI
) -> RequestView:
    """File a request as the chat does: commit it, then tell the dispatcher."""
    new = NewRequest(
        service_code=service_code,
        values=values,
        contact=Contact("Ana Ruiz", "ana@example.com"),
    )
    view: RequestView = await server.app[DATABASE].run(
        create_service_request,
        new,
        policy=server.app[REQUEST_POLICY](),
        now=server.app[CLOCK](),
    )
    return view


async def outbox(database: Database) -> list[OutboxWebhook]:
    async def read(session: Any) -> list[OutboxWebhook]:
        return list(await session.scalars(select(OutboxWebhook).order_by(OutboxWebhook.id)))

    rows: list[OutboxWebhook] = await database.run(read)
    return rows


async def settle(sender: WebhookSender) -> None:
    """Wake the sender and wait until it has been through what is due."""
    sender.wake()
    await asyncio.wait_for(sender.settle(), TIMEOUT)


# --- delivery ------------------------------------------------------------------------------


async def test_new_and_changed_requests_are_posted_signed_once(
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    receiver: Callable[..., Receiver],
) -> None:
    hooked = receiver()
    await hooked.start()
    clock = Clock(START)
    settings = make_settings(webhooks_file=streets_file(tmp_path, hooked.url))
    server = await start_server(settings, clock)
    sender = server.app[WEBHOOK_SENDER]
    assert server.app[REQUEST_POLICY]().webhook_workgroups == {STREETS}

    view = await file_request(server)
    await asyncio.wait_for(sender.settle(), TIMEOUT)  # the commit's notice woke it

    [post] = hooked.posts
    [row] = await outbox(server.app[DATABASE])
    assert post.signed
    assert post.body == row.body.encode()  # as stored, byte for byte
    assert post.headers["Content-Type"] == "application/json"
    assert post.headers["User-Agent"] == "chatsvc"
    assert post.headers["X-Chatsvc-Event"] == "request.created"
    assert post.headers["X-Chatsvc-Delivery"] == row.delivery_id
    assert post.headers["X-Chatsvc-Timestamp"] == str(int(START.timestamp()))
    document = post.json
    assert document["event"] == "request.created"
    assert document["delivery_id"] == row.delivery_id
    assert document["request"]["number"] == view.number
    assert document["request"]["workgroup"] == STREETS
    assert (row.sent_at, row.attempts, row.last_error) == (START, 1, None)

    clock.now = START + timedelta(minutes=5)
    await server.app[DATABASE].run(
        change_status,
        number=view.number,
        status="in_progress",
        note="Crew on the way.",
        staff_id=None,
        actor="Maria Lopez",
        policy=server.app[REQUEST_POLICY](),
        now=clock(),
    )
    await asyncio.wait_for(sender.settle(), TIMEOUT)

    assert len(hooked.posts) == 2
    update = hooked.posts[1]
    assert update.signed
    assert update.headers["X-Chatsvc-Event"] == "request.updated"
    assert update.json["request"]["number"] == view.number
    assert update.json["request"]["status"] == "in_progress"
    assert update.headers["X-Chatsvc-Delivery"] != post.headers["X-Chatsvc-Delivery"]

    # A workgroup without a webhook gets no event: its queue in the requests page is the hand-off.
    other = await file_request(
        server, "bulky-item-pickup", {"address": "100 N Garfield Ave", "items": "an old couch"}
    )
    assert other.workgroup != STREETS
    # Long past every lease and backoff, nothing is sent again.
    clock.now = START + timedelta(hours=2)
    await settle(sender)
    assert len(hooked.posts) == 2
    assert len(await outbox(server.app[DATABASE])) == 2
    assert hooked.delivered() == Counter(
        {r.delivery_id: 1 for r in await outbox(server.app[DATABASE])}
    )


@pytest.mark.parametrize("outage", ["nothing listens", "HTTP 500"])
async def test_a_receiver_that_is_down_gets_the_event_later_exactly_once(
    outage: str,
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    receiver: Callable[..., Receiver],
    caplog: pytest.LogCaptureFixture,
) -> None:
    hooked = receiver()
    if outage == "HTTP 500":
        hooked.status = 500
        await hooked.start()
    clock = Clock(START)
    settings = make_settings(webhooks_file=streets_file(tmp_path, hooked.url))
    server = await start_server(settings, clock)
    sender = server.app[WEBHOOK_SENDER]

    await file_request(server)
    await asyncio.wait_for(sender.settle(), TIMEOUT)

    [row] = await outbox(server.app[DATABASE])
    assert row.sent_at is None
    assert row.attempts == 1
    assert row.next_attempt_at == START + timedelta(seconds=30)
    assert row.last_error is not None
    if outage == "HTTP 500":
        assert row.last_error == "NotAccepted: HTTP 500 Internal Server Error"
        assert [p.headers["X-Chatsvc-Delivery"] for p in hooked.posts] == [row.delivery_id]
    else:
        assert "ClientConnectorError" in row.last_error
    warnings = [
        r for r in caplog.records if r.name == "chatsvc.webhooks" and r.levelname == "WARNING"
    ]
    assert len(warnings) == 1
    line = warnings[0].getMessage()
    assert f"webhook {row.id} (request.created for {STREETS}) not sent, attempt 1" in line
    assert SECRET not in line

    clock.now = START + timedelta(seconds=29)
    await settle(sender)  # still backing off: no attempt
    [row] = await outbox(server.app[DATABASE])
    assert row.attempts == 1
    assert hooked.delivered() == Counter()

    hooked.status = 200
    if outage == "nothing listens":
        await hooked.start()
    clock.now = START + timedelta(seconds=31)
    await settle(sender)

    [row] = await outbox(server.app[DATABASE])
    assert (row.sent_at, row.attempts) == (START + timedelta(seconds=31), 2)
    assert hooked.delivered() == Counter({row.delivery_id: 1})
    assert all(p.signed for p in hooked.posts)
    # The retry carried its own time and signature, for the same delivery.
    assert hooked.posts[-1].headers["X-Chatsvc-Timestamp"] == str(int(clock().timestamp()))

    clock.now = START + timedelta(hours=1)
    await settle(sender)
    assert hooked.delivered() == Counter({row.delivery_id: 1})  # no second POST after success
    assert len(hooked.posts) == (2 if outage == "HTTP 500" else 1)


async def test_a_receiver_that_never_answers_times_out_and_is_retried(
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    receiver: Callable[..., Receiver],
) -> None:
    hooked = receiver()
    hooked.hang = True
    await hooked.start()
    settings = make_settings(webhooks_file=streets_file(tmp_path, hooked.url))
    clock = Clock(START)
    async with opened_database(settings.database_url) as database:
        sender = WebhookSender(database, settings, clock, timeout_seconds=0.5)
        sender.configure(CATALOGUE)
        await database.run(_queue, STREETS, now=clock())

        assert await sender.send_due() == 0
        [row] = await outbox(database)
        assert (row.attempts, row.sent_at) == (1, None)
        assert row.last_error is not None and "Timeout" in row.last_error
        assert len(hooked.posts) == 1

        hooked.hang = False
        clock.now = START + timedelta(seconds=30)
        assert await sender.send_due() == 1
        assert hooked.delivered() == Counter({row.delivery_id: 1})


async def test_events_of_a_workgroup_without_a_webhook_wait_unsent_with_one_warning(
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    receiver: Callable[..., Receiver],
    caplog: pytest.LogCaptureFixture,
) -> None:
    hooked = receiver()
    await hooked.start()
    settings = make_settings(webhooks_file=streets_file(tmp_path, hooked.url))
    clock = Clock(START)
    async with opened_database(settings.database_url) as database:
        sender = WebhookSender(database, settings, clock)
        sender.configure(CATALOGUE)
        # Queued while the file still had a webhook for the parks (then it was taken out).
        for _ in range(3):
            await database.run(_queue, "Parks and Natural Resources", now=clock())
        ours = await database.run(_queue, STREETS, now=clock())

        assert await sender.send_due() == 1
        clock.now = START + timedelta(hours=1)
        assert await sender.send_due() == 0

        assert hooked.delivered() == Counter({ours: 1})
        rows = await outbox(database)
        assert [r.attempts for r in rows if r.sent_at is None] == [0, 0, 0]
        warnings = [r.getMessage() for r in caplog.records if r.name == "chatsvc.webhooks"]
        assert warnings == [
            "webhook: 3 events for Parks and Natural Resources wait unsent: the webhooks file "
            "has no webhook for that workgroup"
        ]


async def _queue(session: Any, workgroup: str, now: datetime) -> str:
    payload = {"request": {"number": "26-000001", "workgroup": workgroup}}
    return await queue_webhook(
        session, workgroup=workgroup, event="request.created", payload=payload, now=now
    )


# --- several senders on one database (PostgreSQL) ---------------------------------------


async def test_two_senders_deliver_each_event_once(
    postgres_url: str,
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    receiver: Callable[..., Receiver],
) -> None:
    hooked = receiver()
    await hooked.start()
    settings = make_settings(
        database_url=postgres_url,
        auto_migrate=True,
        webhooks_file=streets_file(tmp_path, hooked.url),
    )
    clock = Clock(START)
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(opened_database(postgres_url))
        second = await stack.enter_async_context(opened_database(postgres_url))
        ids = [await first.run(_queue, STREETS, now=clock()) for _ in range(30)]
        senders = [
            WebhookSender(db, settings, clock, batch_size=4) for db in (first, second, first)
        ]
        for sender in senders:
            sender.configure(CATALOGUE)

        sent = await asyncio.gather(*(sender.send_due() for sender in senders))

        assert sum(sent) == 30
        assert await senders[1].send_due() == 0
        assert hooked.delivered() == Counter({delivery: 1 for delivery in ids})
        assert len(hooked.posts) == 30
        rows = await outbox(first)
        assert all(r.sent_at is not None and r.attempts == 1 for r in rows)


# --- the webhooks file ---------------------------------------------------------------------

GOOD = f'[[webhook]]\nworkgroup = "{STREETS}"\nurl = "https://streets.example.gov/hook"\n'


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        (
            '[[webhook]]\nworkgroup = "Street Maintenence"\nurl = "https://x.org/"\n'
            f'secret = "{SECRET}"\n',
            2,
            "'Street Maintenence' is not a workgroup of the topic catalogue; "
            "did you mean 'Street Maintenance'?",
        ),
        (GOOD.replace("https://streets", "ftp://streets") + f'secret = "{SECRET}"\n', 3, "url"),
        (
            GOOD.replace("https://streets.example.gov/hook", "streets") + f'secret = "{SECRET}"\n',
            3,
            "http:// or https://",
        ),
        (GOOD + 'secret = "short-secret"\n', 4, "secret must be at least 16 characters"),
        (
            GOOD + 'secret_env = "NO_SUCH_SECRET"\n',
            4,
            "secret_env names NO_SUCH_SECRET, which is not set",
        ),
        (GOOD + 'secret_env = "SHORT_SECRET"\n', 4, "SHORT_SECRET must be at least 16 characters"),
        (GOOD + f'secret = "{SECRET}"\nsecret_env = "STREETS_SECRET"\n', 4, "one of the two"),
        (GOOD, 1, "needs a secret, or secret_env"),
        (GOOD + f'secret = "{SECRET}"\nurls = "https://x.org/"\n', 5, "unknown key 'urls'"),
        (
            GOOD + f'secret = "{SECRET}"\n\n' + GOOD + f'secret = "{SECRET}"\n',
            7,
            f"a second webhook for '{STREETS}' (the first is on line 1); one webhook per workgroup",
        ),
        ("[webhook]\nworkgroup = 1\n", 1, "write each webhook as [[webhook]]"),
        ('hooks = "x"\n' + GOOD + f'secret = "{SECRET}"\n', 1, "unknown entry 'hooks'"),
        (GOOD + 'secret = "unclosed\n', 4, "broken TOML"),
    ],
)
def test_a_broken_webhooks_file_is_named_by_file_and_line(
    tmp_path: Path, text: str, line: int, words: str
) -> None:
    path = webhooks_file(tmp_path, text)
    environ = {"SHORT_SECRET": "too-short", "STREETS_SECRET": SECRET}
    with pytest.raises(WebhooksError) as error:
        load_webhooks(path, workgroups=CATALOGUE, environ=environ)
    [problem] = error.value.problems
    assert problem.startswith(f"{path}:{line}: "), problem
    assert words in problem
    assert "too-short" not in problem and SECRET not in problem  # never a secret


def test_a_missing_webhooks_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(WebhooksError, match=f"{path}:1: cannot read the webhooks file"):
        load_webhooks(path, workgroups=CATALOGUE, environ={})


def test_the_example_webhooks_file_loads() -> None:
    environ = {"CHATSVC_STREETS_WEBHOOK_SECRET": SECRET}
    hooks = load_webhooks(ROOT / "webhooks.example.toml", workgroups=CATALOGUE, environ=environ)
    assert set(hooks) == {STREETS, "Resource Recovery and Recycling"}
    assert hooks[STREETS].secret == SECRET
    assert hooks[STREETS].url.startswith("https://")
    assert SECRET not in repr(hooks)


async def test_the_server_does_not_start_with_a_broken_webhooks_file(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    path = webhooks_file(tmp_path, GOOD + 'secret = "short"\n')
    server = TestServer(create_app(make_settings(webhooks_file=path)), host="127.0.0.1")
    try:
        with pytest.raises(WebhooksError, match=rf"{path}:4: secret must be at least 16"):
            await server.start_server()
    finally:
        await server.close()


def test_the_command_line_says_why_it_cannot_start(tmp_path: Path) -> None:
    path = webhooks_file(tmp_path, GOOD + 'secret_env = "NO_SUCH_SECRET"\n')
    result = run_chatsvc(
        "serve",
        env={
            "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/chatsvc.db",
            "CHATSVC_PORT": "0",
            "CHATSVC_MAIL_FOLDER": str(tmp_path / "mail"),
            "CHATSVC_WEBHOOKS_FILE": str(path),
        },
    )
    assert result.returncode == 1
    assert f"cannot start: {path}:4: secret_env names NO_SUCH_SECRET, which is not set" in (
        result.stderr
    )
    assert "Traceback" not in result.stderr
