"""Staff accounts, sign-in and the /agent namespace, against the real server."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest
import socketio

from chatsvc.actions import accounts
from chatsvc.clock import utc_now
from chatsvc.errors import AccountError
from chatsvc.settings import Settings
from chatsvc.transport.state import DATABASE
from tests.conftest import TIMEOUT, AgentClient, LiveServer, ResidentClient, run_chatsvc

PASSWORD = "correct horse battery"
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


CITY_SITE = "https://www.example.org"  # a city page allowed to embed the widget


@pytest.fixture
async def staff_server(
    make_settings: Callable[..., Settings], start_server: Callable[..., Awaitable[LiveServer]]
) -> LiveServer:
    live_server = await start_server(make_settings(allowed_origins=(CITY_SITE,)))
    await live_server.app[DATABASE].run(
        accounts.add_staff,
        username="maria",
        display_name="Maria Lopez",
        role="agent",
        password=PASSWORD,
        workgroups=("Street Maintenance",),
        max_chats=3,
        now=NOW,
    )
    return live_server


@pytest.fixture
async def browser_session() -> AsyncIterator[aiohttp.ClientSession]:
    # Like a browser: keeps cookies (also on 127.0.0.1), does not follow redirects by itself.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def sign_in_form(http: aiohttp.ClientSession, server: LiveServer) -> str:
    async with http.get(server.url + "/agent/sign-in") as response:
        assert response.status == 200
        page = await response.text()
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match
    return match.group(1)


async def post_sign_in(
    http: aiohttp.ClientSession, server: LiveServer, password: str, csrf: str | None = None
) -> aiohttp.ClientResponse:
    token = csrf if csrf is not None else await sign_in_form(http, server)
    return await http.post(
        server.url + "/agent/sign-in",
        data={"csrf_token": token, "username": "Maria", "password": password},
        allow_redirects=False,
    )


async def test_sign_in_sets_a_safe_session_cookie_and_opens_the_pane(
    staff_server: LiveServer, browser_session: aiohttp.ClientSession
) -> None:
    async with browser_session.get(staff_server.url + "/agent", allow_redirects=False) as r:
        assert (r.status, r.headers["Location"]) == (303, "/agent/sign-in")
    response = await post_sign_in(browser_session, staff_server, PASSWORD)
    assert (response.status, response.headers["Location"]) == (303, "/agent")
    cookie = next(
        c for c in response.headers.getall("Set-Cookie") if c.startswith("chatsvc_staff=")
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    async with browser_session.get(staff_server.url + "/agent") as pane:
        assert pane.status == 200
        html = await pane.text()
    assert "Maria Lopez" in html and "Street Maintenance" in html
    assert pane.headers["X-Frame-Options"] == "DENY"
    # Styles come from files: no <style> block nor style attribute, so the CSP needs no
    # 'unsafe-inline' for them.
    assert "style-src 'self';" in pane.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in pane.headers["Content-Security-Policy"]
    assert "<style" not in html and "style=" not in html
    for sheet in re.findall(r'<link rel="stylesheet" href="([^"]+)">', html):
        async with browser_session.get(staff_server.url + sheet) as css:
            assert css.status == 200 and css.content_type == "text/css", sheet
    assert len(re.findall(r'rel="stylesheet"', html)) == 2

    # Signing out needs the session's CSRF token; then the pane is closed again.
    async with browser_session.post(
        staff_server.url + "/agent/sign-out", data={"csrf_token": "forged"}, allow_redirects=False
    ) as forged:
        assert forged.status == 403
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert csrf
    async with browser_session.post(
        staff_server.url + "/agent/sign-out",
        data={"csrf_token": csrf.group(1)},
        allow_redirects=False,
    ) as out:
        assert out.status == 303
    async with browser_session.get(staff_server.url + "/agent", allow_redirects=False) as r:
        assert r.status == 303


async def test_secure_cookie_behind_an_https_proxy(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    browser_session: aiohttp.ClientSession,
) -> None:
    server = await start_server(make_settings(trust_proxy_headers=True))
    async with browser_session.get(
        server.url + "/agent/sign-in", headers={"X-Forwarded-Proto": "https"}
    ) as response:
        cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie


async def test_a_sign_in_without_the_forms_token_is_refused(
    staff_server: LiveServer, browser_session: aiohttp.ClientSession
) -> None:
    await sign_in_form(browser_session, staff_server)
    response = await post_sign_in(browser_session, staff_server, PASSWORD, csrf="forged")
    assert response.status == 403
    assert "expired" in await response.text()
    assert not any(c.key == "chatsvc_staff" for c in browser_session.cookie_jar)


async def test_three_wrong_passwords_lock_the_username(
    staff_server: LiveServer, browser_session: aiohttp.ClientSession
) -> None:
    for _ in range(3):
        wrong = await post_sign_in(browser_session, staff_server, "not the password")
        assert wrong.status == 401
        assert "not right" in await wrong.text()
    locked = await post_sign_in(browser_session, staff_server, PASSWORD)
    assert locked.status == 429
    assert "Too many failed sign-ins" in await locked.text()


async def test_unknown_and_disabled_accounts_cannot_sign_in(
    staff_server: LiveServer, browser_session: aiohttp.ClientSession
) -> None:
    database = staff_server.app[DATABASE]
    await database.run(accounts.disable_staff, username="maria")
    refused = await post_sign_in(browser_session, staff_server, PASSWORD)
    assert refused.status == 401


async def signed_in_cookie(server: LiveServer, http: aiohttp.ClientSession) -> str:
    response = await post_sign_in(http, server, PASSWORD)
    assert response.status == 303
    return next(c.value for c in http.cookie_jar if c.key == "chatsvc_staff")


async def connect_agent(
    server: LiveServer,
    *,
    cookie: str | None,
    origin: str | None = None,
    headers: dict[str, str] | None = None,
) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    if headers is None:
        headers = {"Origin": origin or server.url}
    if cookie is not None:
        headers["Cookie"] = f"chatsvc_staff={cookie}"
    await client.connect(
        server.url,
        namespaces=["/agent"],
        transports=["websocket"],
        headers=headers,
        wait_timeout=TIMEOUT,
    )
    return client


async def test_the_agent_namespace_admits_only_signed_in_staff_from_its_own_pages(
    staff_server: LiveServer, browser_session: aiohttp.ClientSession
) -> None:
    cookie = await signed_in_cookie(staff_server, browser_session)
    agent = await connect_agent(staff_server, cookie=cookie)
    try:
        hello = await agent.call("hello", {}, namespace="/agent", timeout=TIMEOUT)
        assert hello["ok"] and hello["me"]["username"] == "maria"
        assert hello["me"]["status"] == "offline" and hello["me"]["connected"] is True
    finally:
        await agent.disconnect()

    # The city site may embed the widget, but staff work only on the service's own pages.
    for cookie_value, origin in [(None, None), ("not-a-session", None), (cookie, CITY_SITE)]:
        with pytest.raises(socketio.exceptions.ConnectionError):
            refused = await connect_agent(staff_server, cookie=cookie_value, origin=origin)
            await refused.disconnect()


async def polling_connect(server: LiveServer, headers: dict[str, str]) -> str:
    """Open /agent over Engine.IO long-polling as a browser would; return the server's answer."""
    async with aiohttp.ClientSession() as http:
        url = server.url + "/socket.io/?EIO=4&transport=polling"
        async with http.get(url, headers=headers) as opened:
            sid = json.loads((await opened.text())[1:])["sid"]
        url += f"&sid={sid}"
        async with http.post(url, data="40/agent,", headers=headers) as sent:
            assert sent.status == 200
        async with http.get(url, headers=headers) as answer:
            return await answer.text()


async def test_same_origin_long_polling_is_admitted_and_cross_site_is_not(
    staff_server: LiveServer, browser_session: aiohttp.ClientSession
) -> None:
    cookie = {"Cookie": f"chatsvc_staff={await signed_in_cookie(staff_server, browser_session)}"}
    # A browser's same-origin polling GET carries no Origin header, only Sec-Fetch-Site.
    admitted = await polling_connect(staff_server, {**cookie, "Sec-Fetch-Site": "same-origin"})
    assert admitted.startswith('40/agent,{"sid":'), admitted
    refused = await polling_connect(staff_server, {**cookie, "Sec-Fetch-Site": "cross-site"})
    assert refused.startswith("44/agent,") and "forbidden origin" in refused, refused


async def test_signing_out_closes_the_panes_live_connection(
    staff_server: LiveServer, browser_session: aiohttp.ClientSession
) -> None:
    cookie = await signed_in_cookie(staff_server, browser_session)
    agent = await connect_agent(staff_server, cookie=cookie)
    closed = asyncio.Event()
    agent.on("disconnect", closed.set, namespace="/agent")
    async with browser_session.get(staff_server.url + "/agent") as page:
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', await page.text())
    assert csrf
    async with browser_session.post(
        staff_server.url + "/agent/sign-out",
        data={"csrf_token": csrf.group(1)},
        allow_redirects=False,
    ) as out:
        assert out.status == 303
    await asyncio.wait_for(closed.wait(), TIMEOUT)
    # And the old cookie no longer opens a connection.
    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect_agent(staff_server, cookie=cookie)


async def test_a_pane_that_only_listens_is_closed_when_its_session_ends_elsewhere(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    agent_client: Callable[..., Awaitable[AgentClient]],
) -> None:
    shift = [timedelta(0)]
    server = await start_server(make_settings(sweep_seconds=1), clock=lambda: utc_now() + shift[0])
    maria = await agent_client("maria", server=server)
    tom = await agent_client("tom", server=server)
    ends: dict[str, asyncio.Event] = {}
    for agent in (maria, tom):
        ends[agent.username] = asyncio.Event()
        agent.sio.on("disconnect", ends[agent.username].set, namespace="/agent")

    # An administrator disables Maria from the command line, another process: her pane,
    # which sends nothing, is closed at the server's next sweep. Tom's stays.
    # Off the event loop: the server runs in this loop, and a sweep's transaction holding
    # SQLite's write lock could not commit while the loop waited for the command, which then
    # gave up "database is locked" after its busy timeout.
    disabled = await asyncio.to_thread(
        run_chatsvc,
        "agents",
        "disable",
        "maria",
        env={"DATABASE_URL": server.settings.database_url},
    )
    assert disabled.returncode == 0, disabled.stderr
    await asyncio.wait_for(ends["maria"].wait(), TIMEOUT)
    assert tom.sio.connected and (await tom.ok("hello"))["me"]["id"] == tom.staff_id

    # Tom's session runs out (12 hours) while his pane stays open: closed too.
    shift[0] = timedelta(hours=12, minutes=1)
    await asyncio.wait_for(ends["tom"].wait(), TIMEOUT)
    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect_agent(server, cookie=tom.cookie)


async def test_a_resident_connection_cannot_use_agent_events(
    resident_client: Callable[..., Awaitable[ResidentClient]],
) -> None:
    resident = await resident_client()
    conversation_id = (await resident.start())["conversation"]["id"]
    for event in ("hello", "status", "accept", "note", "transfer", "close", "reassign", "search"):
        payload = {"conversation_id": conversation_id, "status": "available", "text": "x"}
        ack = await resident.call(event, payload)
        assert ack["ok"] is False and ack["error"]["code"] == "unknown_event", event


async def test_account_rules(staff_server: LiveServer) -> None:
    database = staff_server.app[DATABASE]
    bad = [
        {"username": "maria"},  # taken
        {"username": "x"},
        {"username": "Has Space"},
        {"role": "root"},
        {"password": "short"},
        {"display_name": "  "},
        {"max_chats": 0},
    ]
    for change in bad:
        values: dict[str, object] = {
            "username": "new-agent",
            "display_name": "New Agent",
            "role": "agent",
            "password": PASSWORD,
            "workgroups": (),
            "max_chats": 3,
            "now": NOW,
        }
        values.update(change)
        with pytest.raises(AccountError):
            await database.run(accounts.add_staff, **values)
    assert [s.username for s in await database.run(accounts.list_staff)] == ["maria"]


def test_the_agents_command(database_url: str) -> None:
    env = {"DATABASE_URL": database_url}

    def chatsvc(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return run_chatsvc("agents", *args, env=env, stdin=stdin)

    added = chatsvc("add", "ana", "--name", "Ana Ruiz", "--workgroup", "Street Maintenance")
    assert added.returncode == 0, added.stderr
    assert re.search(r"^password: \S{12,}$", added.stdout, re.M)
    assert chatsvc("add", "ana", "--name", "Again").returncode == 1
    assert "unknown workgroup" in chatsvc("add", "bo", "--name", "Bo", "--workgroup", "X").stderr
    changed = chatsvc("set-password", "ana", "--password-stdin", stdin=PASSWORD + "\n")
    assert changed.returncode == 0 and "password:" not in changed.stdout
    assert "disabled ana" in chatsvc("disable", "ana").stdout
    listed = chatsvc("list").stdout
    assert re.search(r"^ana\s+agent\s+disabled", listed, re.M)
    # There are accounts already: no demo account is made, and no credentials are shown.
    demo = chatsvc("demo")
    assert demo.returncode == 0 and "demo-agent" not in demo.stdout
    assert "demo-agent" not in chatsvc("list").stdout
