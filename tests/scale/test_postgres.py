"""The same resident flow on PostgreSQL (asyncpg), with the schema made by `chatsvc db upgrade`."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Awaitable, Callable

from chatsvc.settings import Settings
from tests.conftest import LiveServer, ResidentClient


async def test_resident_flow_on_postgres(
    postgres_url: str,
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_client: Callable[..., Awaitable[ResidentClient]],
) -> None:
    upgrade = await asyncio.create_subprocess_exec(
        sys.executable,
        *("-m", "chatsvc", "db", "upgrade"),
        env={**os.environ, "DATABASE_URL": postgres_url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(upgrade.communicate(), 60)
    assert upgrade.returncode == 0, output.decode()
    server = await start_server(make_settings(database_url=postgres_url))

    tab_a = await resident_client(server.url)
    started = await tab_a.start()
    tab_b = await resident_client(server.url)
    await tab_b.call("resume", {"token": started["token"]})

    message_id = uuid.uuid4().hex
    acks = await asyncio.gather(
        *(tab_a.call("message", {"client_id": message_id, "text": "once"}) for _ in range(4))
    )
    assert {ack["message"]["seq"] for ack in acks} == {3}
    assert (await tab_b.next("message"))["seq"] == 3

    parallel = await asyncio.gather(
        *(
            tab.call("message", {"client_id": uuid.uuid4().hex, "text": f"m{n}"})
            for n, tab in enumerate([tab_a, tab_b] * 10)
        )
    )
    assert sorted(ack["message"]["seq"] for ack in parallel) == list(range(4, 24))

    later = await resident_client(server.url)
    resumed = await later.call("resume", {"token": started["token"], "last_seq": 20})
    assert [m["seq"] for m in resumed["messages"]] == [21, 22, 23]
    ended = await later.call("end", {})
    assert ended["conversation"]["status"] == "ended"
    assert ended["conversation"]["ended_at"].endswith("Z")
