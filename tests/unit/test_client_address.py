"""Which address a client is counted under: its peer, or what a trusted proxy saw (one rule for
socket connections, uploads and sign-in)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from chatsvc.settings import Settings
from chatsvc.transport.socket_server import connection_address


def environ(peer: str | None, forwarded: str | None = None) -> dict[str, object]:
    # What python-engineio's aiohttp driver builds: REMOTE_ADDR is always 127.0.0.1 there.
    env: dict[str, object] = {
        "REMOTE_ADDR": "127.0.0.1",
        "aiohttp.request": SimpleNamespace(remote=peer),
    }
    if forwarded is not None:
        env["HTTP_X_FORWARDED_FOR"] = forwarded
    return env


@pytest.mark.parametrize(
    ("trusted", "env", "expected"),
    [
        (False, environ("203.0.113.5"), "203.0.113.5"),
        (False, environ("203.0.113.5", "198.51.100.1"), "203.0.113.5"),
        (True, environ("10.0.0.2", "198.51.100.1"), "198.51.100.1"),
        # The proxy appends the address it saw: entries before it are the client's own words.
        (True, environ("10.0.0.2", "192.0.2.66, 198.51.100.1"), "198.51.100.1"),
        (True, environ("10.0.0.2", "192.0.2.66,198.51.100.1 "), "198.51.100.1"),
        (True, environ("10.0.0.2"), "10.0.0.2"),
        (True, environ("10.0.0.2", ""), "10.0.0.2"),
        (False, environ(None), ""),
    ],
)
def test_the_peer_or_the_trusted_proxys_last_hop(
    trusted: bool, env: dict[str, object], expected: str
) -> None:
    assert connection_address(Settings(trust_proxy_headers=trusted), env) == expected
