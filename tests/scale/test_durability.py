"""Nothing lost: SIGKILL the server mid-chat; after a restart every acked message is there."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import socketio

from tests.conftest import NO_SOCKET_LIMITS, TIMEOUT, ServerProcess

MESSAGES = 2000  # at most; the server is killed long before


@pytest.fixture
async def server_process(database_url: str) -> AsyncIterator[Callable[[], ServerProcess]]:
    processes: list[ServerProcess] = []
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        CHATSVC_HOST="127.0.0.1",
        CHATSVC_PORT="0",
        CHATSVC_LOG_LEVEL="INFO",
    )
    env.update(NO_SOCKET_LIMITS)

    def make() -> ServerProcess:
        processes.append(ServerProcess(env))
        return processes[-1]

    yield make
    for process in processes:
        await process.stop()


async def connect(url: str) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(url, namespaces=["/resident"], transports=["websocket"])
    return client


async def test_sigkill_mid_conversation_loses_no_acknowledged_message(
    server_process: Callable[[], ServerProcess],
) -> None:
    first = server_process()
    client = await connect(await first.start())
    started = await client.call(
        "start",
        {"name": "Ana", "email": "ana@example.com", "question": "Is anyone there?"},
        namespace="/resident",
        timeout=TIMEOUT,
    )
    token = started["token"]

    # Keep 20 messages in flight at all times (a new one goes out as each ack comes back);
    # kill the server once 50 are acknowledged, while the window is still full.
    acked: dict[str, int] = {}
    enough = asyncio.Event()
    window = asyncio.Semaphore(20)
    client_ids: list[str] = []

    def on_ack(client_id: str) -> Callable[[Any], None]:
        def record(ack: Any) -> None:
            assert ack["ok"], ack
            acked[client_id] = ack["message"]["seq"]
            window.release()
            if len(acked) >= 50:
                enough.set()

        return record

    async def keep_sending() -> None:
        for n in range(MESSAGES):
            await window.acquire()
            client_id = uuid.uuid4().hex
            client_ids.append(client_id)
            await client.emit(
                "message",
                {"client_id": client_id, "text": f"message {n}"},
                namespace="/resident",
                callback=on_ack(client_id),
            )

    sender = asyncio.create_task(keep_sending())
    await asyncio.wait_for(enough.wait(), TIMEOUT)
    await first.kill()
    acked_at_kill = dict(acked)
    sender.cancel()
    # The sender may meet the dead connection before it meets the cancellation.
    with contextlib.suppress(asyncio.CancelledError, socketio.exceptions.SocketIOError):
        await sender
    in_flight = len(client_ids) - len(acked_at_kill)
    assert in_flight > 0, "the kill came after every ack: nothing in flight"
    await client.disconnect()

    second = server_process()
    client = await connect(await second.start())
    resumed = await client.call("resume", {"token": token}, namespace="/resident", timeout=TIMEOUT)
    assert resumed["ok"], resumed
    stored = resumed["messages"]
    seqs = [m["seq"] for m in stored]
    assert seqs == list(range(1, len(stored) + 1)), "sequence numbers have a gap or repeat"
    stored_ids = [m["client_id"] for m in stored if m["client_id"]]
    assert len(stored_ids) == len(set(stored_ids)), "a message was stored twice"
    by_id = {m["client_id"]: m["seq"] for m in stored if m["client_id"]}
    print(f"acked before the kill: {len(acked_at_kill)}, stored: {len(by_id)} of {len(client_ids)}")
    for client_id, seq in acked_at_kill.items():
        assert by_id.get(client_id) == seq, f"acknowledged message {client_id} is lost"

    # The client retries everything it has no ack for: each stored exactly once.
    for n, client_id in enumerate(client_ids):
        ack = await client.call(
            "message",
            {"client_id": client_id, "text": f"message {n}"},
            namespace="/resident",
            timeout=TIMEOUT,
        )
        assert ack["ok"], ack
        assert ack["duplicate"] is (client_id in by_id)
    final = await client.call("resume", {"token": token}, namespace="/resident", timeout=TIMEOUT)
    texts = [m["text"] for m in final["messages"] if m["author_kind"] == "resident"]
    assert sorted(texts[1:]) == sorted(f"message {n}" for n in range(len(client_ids)))
    await client.disconnect()
