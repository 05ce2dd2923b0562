"""A bare python-socketio echo server: chatsvc's resident protocol on the wire, minus persistence.

The load benchmark (bench/load.py) runs it next to chatsvc to show what the Socket.IO stack alone
costs on this machine. Same server stack as chatsvc (python-socketio AsyncServer on aiohttp, same
payload limit, websocket clients), same namespace, same events and the same ack shapes; no
validation, no database, no rooms.

    python bench/echo_server.py        # listens on 127.0.0.1, a free port

It prints `listening on http://127.0.0.1:PORT` to stderr, like chatsvc, and stops on SIGINT or
SIGTERM.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import signal
import sys
from datetime import UTC, datetime
from typing import Any

import socketio
from aiohttp import web

from chatsvc.cli import run

NAMESPACE = "/resident"
TOKEN = "x" * 43  # the length of secrets.token_urlsafe(32), as chatsvc hands out
MAX_PAYLOAD_BYTES = 65_536  # chatsvc's default CHATSVC_MAX_PAYLOAD_BYTES

log = logging.getLogger("echo")


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


class EchoNamespace(socketio.AsyncNamespace):
    """Answer `start` and `message` like chatsvc does, from memory."""

    def __init__(self) -> None:
        super().__init__(NAMESPACE)
        self.conversation_ids = itertools.count(1)
        self.message_ids = itertools.count(1)
        self.conversations: dict[str, dict[str, Any]] = {}

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        pass

    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        self.conversations.pop(sid, None)

    def _message(self, conversation: dict[str, Any], **fields: Any) -> dict[str, Any]:
        conversation["last_seq"] += 1
        return {
            "id": next(self.message_ids),
            "conversation_id": conversation["id"],
            "seq": conversation["last_seq"],
            "created_at": _now(),
            **fields,
        }

    async def on_start(self, sid: str, payload: Any = None) -> dict[str, Any]:
        payload = payload if isinstance(payload, dict) else {}
        now = _now()
        name = str(payload.get("name", ""))
        conversation = {
            "id": next(self.conversation_ids),
            "status": "open",
            "created_at": now,
            "ended_at": None,
            "last_seq": 0,
            "resident": {"name": name, "email": str(payload.get("email", ""))},
            "read": {"resident": 0, "staff": 0},
        }
        self.conversations[sid] = conversation
        question = self._message(
            conversation,
            client_id=payload.get("client_id"),
            author_kind="resident",
            author_name=name,
            text=str(payload.get("question", "")),
        )
        reply = self._message(
            conversation,
            client_id=None,
            author_kind="system",
            author_name="echo",
            text="received",
        )
        return {
            "ok": True,
            "token": TOKEN,
            "conversation": conversation,
            "messages": [question, reply],
        }

    async def on_message(self, sid: str, payload: Any = None) -> dict[str, Any]:
        conversation = self.conversations.get(sid)
        if conversation is None:
            return {"ok": False, "error": {"code": "not_in_conversation", "message": "start first"}}
        payload = payload if isinstance(payload, dict) else {}
        message = self._message(
            conversation,
            client_id=payload.get("client_id"),
            author_kind="resident",
            author_name=conversation["resident"]["name"],
            text=payload.get("text"),
        )
        return {"ok": True, "message": message, "duplicate": False}


def create_app() -> web.Application:
    app = web.Application()
    sio = socketio.AsyncServer(
        async_mode="aiohttp",
        cors_allowed_origins=[],  # like chatsvc for clients that send no Origin: accepted
        max_http_buffer_size=MAX_PAYLOAD_BYTES,
        logger=False,
        engineio_logger=False,
    )
    sio.register_namespace(EchoNamespace())
    sio.attach(app)
    return app


async def serve(host: str = "127.0.0.1", port: int = 0) -> int:
    runner = web.AppRunner(create_app(), handle_signals=False, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    for address in runner.addresses:
        bound_host, bound_port = address[:2]
        log.info("echo listening on http://%s:%d", bound_host, bound_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("echo stopping")
    await runner.cleanup()
    return 0


def main() -> int:
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # The same event loop as chatsvc (uvloop where installed): only persistence differs.
    return run(serve())


if __name__ == "__main__":
    raise SystemExit(main())
