"""Two processes sweeping at once on PostgreSQL + Redis: every chat is swept once.

Two apps, each with its own database engine, dispatcher and Redis manager (what two
`chatsvc serve` processes have), run their periodic sweep at the same moment on one
PostgreSQL database and one Redis channel. Idle chats close once, a lost agent's grace ends
once, a waiting resident who left becomes one left message with one mail, and staff on
either process hear each of these once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import func, select

from chatsvc.actions import after_hours, presence
from chatsvc.actions.accounts import StaffView
from chatsvc.db.models import AfterHoursMessage, Conversation, OutboxMail, Staff
from chatsvc.settings import Settings
from chatsvc.transport.dispatch import DISPATCHER
from chatsvc.transport.state import DATABASE
from tests.actions.test_abandoned import counts, gone_from_the_queue
from tests.actions.test_routing_actions import GRACE, NOW, SERVER, _set, held_by, on_duty
from tests.conftest import AgentClient, LiveServer
from tests.databases import opened_database
from tests.scale.test_scale_out import redis_url as redis_url  # the fixture

Agents = Callable[..., Awaitable[AgentClient]]


async def test_two_processes_sweeping_at_once_act_on_each_chat_once(
    postgres_url: str,
    redis_url: str,
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    agent_client: Agents,
) -> None:
    later = NOW + timedelta(hours=1)
    # The chats, set up before the processes start (no routing hands them out meanwhile).
    async with opened_database(postgres_url) as setup:
        pat = await on_duty(setup, "pat", max_chats=5)
        idle = [await held_by(setup, pat, n, at=NOW - timedelta(hours=1)) for n in range(1, 6)]
        for cid in idle:
            await setup.run(_set, Conversation, cid, updated_at=NOW - timedelta(hours=1))
        await setup.run(_set, Staff, pat, status="away")  # takes no chat freed by the sweep
        lost = await on_duty(setup, "lost", max_chats=2)
        held = [await held_by(setup, lost, n) for n in (6, 7)]
        await setup.run(
            presence.agent_disconnected, server_id=SERVER, sid="sid-lost", now=NOW, grace=GRACE
        )
        gone = [await gone_from_the_queue(setup, n) for n in range(8, 13)]
    settings = make_settings(
        database_url=postgres_url,
        redis_url=redis_url,
        redis_channel=f"chatsvc-test-{uuid.uuid4().hex[:8]}",
        sweep_seconds=3600,  # the test sweeps
    )
    first = await start_server(settings, clock=lambda: later)
    second = await start_server(settings, clock=lambda: later)
    db = first.app[DATABASE]
    # A supervisor on the second process, who takes no chats, hears what both do.
    watcher = await agent_client("watcher", server=second, role="supervisor", available=False)

    await asyncio.gather(first.app[DISPATCHER].sweep(), second.app[DISPATCHER].sweep())
    await asyncio.gather(first.app[DISPATCHER].sweep(), second.app[DISPATCHER].sweep())

    assert await db.run(counts, gone) == {"system": [1] * 5, "left": [1] * 5, "mail": [1] * 5}
    assert (await db.run(counts, idle))["system"] == [1] * 5  # "closed after 30 minutes"
    assert (await db.run(counts, held))["system"] == [1, 1]  # "lost their connection"
    assert await db.run(lambda s: s.scalar(select(Staff.status).where(Staff.id == lost))) == (
        "offline"
    )
    assert await db.run(lambda s: s.scalar(select(func.count()).select_from(OutboxMail))) == 5

    # One inbox event per left message, whichever process made it. Then one more from each
    # process marks the end: anything either had sent before has arrived by then.
    references = await db.run(
        lambda s: s.scalars(select(AfterHoursMessage.id).order_by(AfterHoursMessage.id))
    )
    ids = list(references)
    for server, message_id in ((first, ids[0]), (second, ids[1])):
        me = await server.app[DATABASE].run(lambda s: s.get(Staff, watcher.staff_id))
        await server.app[DATABASE].run(
            after_hours.claim_message, by=StaffView.of(me), message_id=message_id, now=later
        )
    heard: list[dict[str, object]] = []
    while len([i for i in heard if i["status"] == "in_progress"]) < 2:
        heard.append(await watcher.next("inbox_item"))
    new = [i["id"] for i in heard if i["status"] == "new"]
    assert sorted(new) == ids
