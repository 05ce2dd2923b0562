"""Staff sign-in under attack: floods, parallel guessing, lockouts of others, forged tokens."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import threading
from collections.abc import Awaitable, Callable
from datetime import timedelta

import aiohttp
import pytest

from chatsvc.actions import accounts
from chatsvc.clock import utc_now
from chatsvc.settings import Settings
from chatsvc.transport.sign_in_guard import SIGN_IN_GUARD
from chatsvc.transport.state import DATABASE
from tests.conftest import TIMEOUT, LiveServer, ResidentClient
from tests.realtime.test_staff import NOW, PASSWORD
from tests.waiting import eventually

FORM = re.compile(r'name="csrf_token" value="([^"]+)"')


async def add_maria(server: LiveServer) -> None:
    await server.app[DATABASE].run(
        accounts.add_staff,
        username="maria",
        display_name="Maria Lopez",
        role="agent",
        password=PASSWORD,
        workgroups=("Street Maintenance",),
        max_chats=3,
        now=NOW,
    )


def browser(address: str = "127.0.0.1") -> aiohttp.ClientSession:
    """A browser-like client (keeps cookies, no redirects followed) at a loopback address."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(local_addr=(address, 0)),
        cookie_jar=aiohttp.CookieJar(unsafe=True),
    )


async def sign_in(
    http: aiohttp.ClientSession, server: LiveServer, username: str, password: str
) -> tuple[int, str, dict[str, str]]:
    """Fetch the form, post it; return the status, the page and the headers."""
    async with http.get(server.url + "/agent/sign-in") as page:
        match = FORM.search(await page.text())
    assert match
    async with http.post(
        server.url + "/agent/sign-in",
        data={"csrf_token": match.group(1), "username": username, "password": password},
        allow_redirects=False,
    ) as answer:
        return answer.status, await answer.text(), dict(answer.headers)


async def test_a_password_check_does_not_stall_a_bystanders_chat(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_client: Callable[..., Awaitable[ResidentClient]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """While a password check (an unknown username: the dummy hash) is held in progress, the
    bystander's messages are answered: the check is not on the event loop.

    Were it on the loop, the loop (the server's and this test's) would stand still until the
    held check gave up, and `finished` would be set before the bystander heard anything."""
    server = await start_server(make_settings())
    resident = await resident_client(server.url)
    await resident.start()
    release, started, finished = threading.Event(), threading.Event(), threading.Event()
    real_verify = accounts.verify_password

    def held_verify(password_hash: str, password: str) -> bool:
        started.set()
        release.wait(TIMEOUT)
        finished.set()
        return real_verify(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", held_verify)

    async def attempt() -> int:
        async with browser("127.0.0.10") as http:
            status, _, _ = await sign_in(http, server, f"nobody-{secrets.token_hex(4)}", "guess")
            return status

    pending = asyncio.create_task(attempt())
    await asyncio.wait_for(asyncio.to_thread(started.wait, TIMEOUT), 2 * TIMEOUT)
    for i in range(5):
        ack = await resident.call("message", {"client_id": f"bystander-{i}", "text": f"hi {i}"})
        assert ack["ok"], ack
    assert not finished.is_set(), "the bystander was answered only once the check had ended"
    release.set()
    assert await asyncio.wait_for(pending, TIMEOUT) == 401


async def test_sign_ins_beyond_the_cap_are_refused_before_any_hashing(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = await start_server(make_settings(sign_in_workers=1, sign_in_max_pending=3))
    await add_maria(server)
    # The hasher holds every check until released: the pool stays saturated meanwhile.
    release = threading.Event()
    checks: list[str] = []
    started = threading.Event()
    real_verify = accounts.verify_password

    def held_verify(password_hash: str, password: str) -> bool:
        checks.append(password)
        started.set()
        release.wait(TIMEOUT)
        return real_verify(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", held_verify)

    async def attempt(n: int) -> tuple[int, str, dict[str, str]]:
        async with browser(f"127.0.0.{20 + n}") as http:
            return await sign_in(http, server, "maria", f"wrong {n}")

    pending = [asyncio.create_task(attempt(n)) for n in range(3)]
    # Wait until the one worker has started (it is held there) and the other two wait behind
    # it: under load their posts can arrive after the ninth, which would then queue instead.
    await asyncio.wait_for(asyncio.to_thread(started.wait, TIMEOUT), TIMEOUT)
    guard = server.app[SIGN_IN_GUARD]
    await eventually(lambda: guard.pending, lambda n: n == 3, what="three sign-ins pending")
    # The pool and its queue are full: the next one is refused at once, not queued.
    status, page, headers = await asyncio.wait_for(attempt(9), TIMEOUT)
    assert status == 429, page
    assert int(headers["Retry-After"]) >= 1
    assert "Too many sign-ins" in page
    assert len(checks) == 1 and "wrong 9" not in checks
    release.set()
    answers = await asyncio.wait_for(asyncio.gather(*pending), TIMEOUT)
    assert sorted(a[0] for a in answers) == [401, 401, 401]
    assert "wrong 9" not in checks


async def test_sign_ins_from_one_address_are_limited_before_hashing(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
) -> None:
    server = await start_server(make_settings(sign_in_attempts_per_address_per_minute=4))
    async with browser("127.0.0.5") as http:
        statuses = [(await sign_in(http, server, f"user{n}", "guess"))[0] for n in range(4)]
        assert statuses == [401] * 4
        status, page, headers = await sign_in(http, server, "user5", "guess")
    assert status == 429 and int(headers["Retry-After"]) >= 1
    assert "Too many sign-ins" in page
    # Another address is not held up.
    async with browser("127.0.0.6") as http:
        assert (await sign_in(http, server, "user6", "guess"))[0] == 401


async def test_parallel_guesses_get_exactly_three_answers(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
) -> None:
    # Address and overall limits out of the way: this is about the per-account count.
    server = await start_server(
        make_settings(
            sign_in_attempts_per_address_per_minute=100,
            sign_in_attempts_per_minute=100,
            sign_in_max_pending=100,
        )
    )
    await add_maria(server)
    async with browser("127.0.0.7") as http:
        async with http.get(server.url + "/agent/sign-in") as page:
            match = FORM.search(await page.text())
        assert match

        async def post(password: str) -> int:
            async with http.post(
                server.url + "/agent/sign-in",
                data={"csrf_token": match.group(1), "username": "maria", "password": password},
                allow_redirects=False,
            ) as answer:
                return answer.status

        passwords = ["wrong"] * 29 + [PASSWORD]
        statuses = await asyncio.wait_for(
            asyncio.gather(*(post(p) for p in passwords)), 4 * TIMEOUT
        )
    assert sorted(statuses).count(401) == 3, statuses
    assert statuses.count(429) == 27, statuses
    assert 500 not in statuses and 303 not in statuses


async def test_a_stranger_cannot_keep_a_staff_member_out(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
) -> None:
    shift = [timedelta(0)]
    server = await start_server(make_settings(), clock=lambda: utc_now() + shift[0])
    await add_maria(server)
    async with browser("127.0.0.2") as attacker:
        # Case and whitespace variants are the same username.
        for name in ("maria", " MARIA ", "Maria\t"):
            assert (await sign_in(attacker, server, name, "guess"))[0] == 401
        status, page, headers = await sign_in(attacker, server, "maria", "guess")
        assert status == 429 and "Too many failed sign-ins" in page
        first_wait = int(headers["Retry-After"])
        assert first_wait >= 1

        # Maria, at her own desk, signs in all the same.
        async with browser("127.0.0.3") as maria:
            assert (await sign_in(maria, server, "Maria", PASSWORD))[0] == 303

        # The attacker waits as told, guesses again, and is made to wait longer.
        shift[0] += timedelta(seconds=first_wait + 1)
        assert (await sign_in(attacker, server, "maria", "guess"))[0] == 401
        status, _, headers = await sign_in(attacker, server, "maria ", "guess")
        assert status == 429 and int(headers["Retry-After"]) > first_wait
        # Even the right password waits its turn at that address.
        assert (await sign_in(attacker, server, "maria", PASSWORD))[0] == 429


async def test_a_forged_pair_of_form_token_and_cookie_is_refused(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
) -> None:
    server = await start_server(make_settings())
    await add_maria(server)
    # An attacker who can plant a cookie (a sibling subdomain, a network on plain HTTP) sets
    # the same value in the cookie and the form: not a token the server gave out.
    # Shaped like the server's own pre-session (issued now, then random), to be sure.
    forged = f"{int(utc_now().timestamp())}.{secrets.token_urlsafe(32)}"
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            server.url + "/agent/sign-in",
            data={"csrf_token": forged, "username": "maria", "password": PASSWORD},
            headers={"Cookie": f"chatsvc_csrf={forged}"},
            allow_redirects=False,
        ) as answer,
    ):
        assert answer.status == 403
        assert "expired" in await answer.text()
    # A real form's pair still signs in.
    async with browser() as http:
        assert (await sign_in(http, server, "maria", PASSWORD))[0] == 303


async def test_over_https_the_form_cookie_is_host_only(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
) -> None:
    server = await start_server(make_settings(trust_proxy_headers=True))
    await add_maria(server)
    https = {"X-Forwarded-Proto": "https"}
    async with aiohttp.ClientSession() as http:
        async with http.get(server.url + "/agent/sign-in", headers=https) as page:
            cookie = page.headers["Set-Cookie"]
            match = FORM.search(await page.text())
        assert match
        assert cookie.startswith("__Host-chatsvc_csrf=") and "Secure" in cookie
        assert "Path=/" in cookie and "Domain" not in cookie
        value = cookie.split(";")[0].split("=", 1)[1]
        async with http.post(
            server.url + "/agent/sign-in",
            data={"csrf_token": match.group(1), "username": "maria", "password": PASSWORD},
            headers={**https, "Cookie": f"__Host-chatsvc_csrf={value}"},
            allow_redirects=False,
        ) as answer:
            assert answer.status == 303


@pytest.mark.parametrize("trusted", [False, True])
async def test_x_forwarded_for_names_the_address_only_behind_a_trusted_proxy(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    trusted: bool,
) -> None:
    server = await start_server(
        make_settings(sign_in_attempts_per_address_per_minute=1, trust_proxy_headers=trusted)
    )
    statuses = []
    async with browser("127.0.0.8") as http:
        for forwarded in ("198.51.100.1", "198.51.100.2"):
            async with http.get(server.url + "/agent/sign-in") as page:
                match = FORM.search(await page.text())
            assert match
            async with http.post(
                server.url + "/agent/sign-in",
                data={"csrf_token": match.group(1), "username": "nobody", "password": "guess"},
                # The client's own (forgeable) entry first; the address our proxy saw last.
                headers={"X-Forwarded-For": f"10.0.0.1, {forwarded}"},
                allow_redirects=False,
            ) as answer:
                statuses.append(answer.status)
    # Untrusted, the header is anyone's to write: both come from the one peer.
    assert statuses == ([401, 401] if trusted else [401, 429])


async def test_an_address_over_its_limit_is_refused_before_its_form_is_read(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
) -> None:
    """The refusal comes before the body: a flood from one address costs no form parsing, no
    token check and no page rendering (and a body that never arrives holds nothing)."""
    server = await start_server(make_settings(sign_in_attempts_per_address_per_minute=1))
    async with browser("127.0.0.11") as http:
        assert (await sign_in(http, server, "nobody", "guess"))[0] == 401
    host, port = server.host.rsplit(":", 1)
    reader, writer = await asyncio.open_connection(host, int(port), local_addr=("127.0.0.11", 0))
    try:
        # Headers promise a form; not one byte of it is sent.
        writer.write(
            b"POST /agent/sign-in HTTP/1.1\r\nHost: x\r\nContent-Length: 4000\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    finally:
        writer.close()
    assert head.startswith(b"HTTP/1.1 429"), head
    assert b"Retry-After:" in head and b"Set-Cookie" not in head


async def test_the_overall_budget_bounds_hashing_from_any_number_of_addresses(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server = await start_server(make_settings(sign_in_attempts_per_minute=3))
    checks: list[str] = []
    real_verify = accounts.verify_password

    def counted_verify(password_hash: str, password: str) -> bool:
        checks.append(password)
        return real_verify(password_hash, password)

    monkeypatch.setattr(accounts, "verify_password", counted_verify)
    statuses = []
    for n in range(5):  # five addresses, each well within its own limit
        async with browser(f"127.0.0.{40 + n}") as http:
            status, page, headers = await sign_in(http, server, f"user{n}", f"guess {n}")
            statuses.append(status)
    assert statuses == [401, 401, 401, 429, 429]
    assert checks == ["guess 0", "guess 1", "guess 2"]
    assert "Too many sign-ins right now" in page and int(headers["Retry-After"]) >= 1
    assert 'href="/agent/sign-in"' in page  # a way back to the form


async def test_a_flood_of_refusals_logs_a_line_not_a_line_each(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = await start_server(make_settings(sign_in_attempts_per_address_per_minute=1))
    caplog.set_level(logging.INFO, logger="chatsvc")
    async with browser("127.0.0.12") as http:
        assert (await sign_in(http, server, "nobody", "guess"))[0] == 401
        async with http.get(server.url + "/agent/sign-in") as page:
            match = FORM.search(await page.text())
        assert match
        for _ in range(40):
            async with http.post(
                server.url + "/agent/sign-in",
                data={"csrf_token": match.group(1), "username": "x", "password": "y"},
                allow_redirects=False,
            ) as answer:
                assert answer.status == 429
    refusals = [r for r in caplog.records if "sign-in refused: too many" in r.getMessage()]
    assert len(refusals) == 1, [r.getMessage() for r in refusals]
    assert "too many from one address" in refusals[0].getMessage()
