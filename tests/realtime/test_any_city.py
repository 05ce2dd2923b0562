"""Any city can run the service: its identity comes from its knowledge base's center.toml.

The service runs on the knowledge base of a fictional city (tests/data/riverbend/). Everything
residents and staff are sent (socket events and acks, pages, Open311, mail) names Riverbend and
its number, and nothing names Pasadena, whose knowledge base ships with the service: nor its
assistant, "City Assistant", since the staff pane and the widget take the assistant's name from the
center too. The demo page's opening hours are the business calendar's, not Pasadena's.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp

from chatsvc.hours import BusinessCalendar
from chatsvc.settings import Settings
from tests.conftest import (
    PERSON,
    STAFF_PASSWORD,
    AgentClient,
    Inbox,
    LiveServer,
    ResidentClient,
)

RIVERBEND = Path(__file__).resolve().parents[1] / "data" / "riverbend"
# Pasadena's names, domain and phone number (its area code as a phone number writes it).
PASADENA = re.compile(
    r"Pasadena|PasadenaCSC|cityofpasadena|744-7311|\(626\)|\+1626|\b626[-. ]"
    r"|City Assistant|8 a\.m\.–5 p\.m\."  # its assistant, and its hours as the demo page wrote them
)


def client_id() -> str:
    return secrets.token_hex(8)


def sent_text(*items: Any) -> str:
    """Everything given, as one text to search: strings as they are, the rest as JSON."""
    return "\n".join(i if isinstance(i, str) else json.dumps(i, ensure_ascii=False) for i in items)


async def test_a_city_runs_the_service_with_its_own_identity(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_client: Callable[..., Awaitable[ResidentClient]],
    agent_client: Callable[..., Awaitable[AgentClient]],
    smtp_server: Callable[..., Inbox],
    another_database: Callable[[str], Awaitable[str]],
) -> None:
    inbox = smtp_server()
    city = await start_server(
        make_settings(
            # Its own installation: the clients' default server, Pasadena's, set up the other.
            database_url=await another_database("riverbend"),
            knowledge_base=RIVERBEND,
            smtp_host="127.0.0.1",
            smtp_port=inbox.port,
            smtp_security="none",
        )
    )
    acks: list[Any] = []
    pages: list[str] = []

    # A resident chats: starts, asks a question, greets the assistant, asks for a person.
    resident = await resident_client(city.url)
    started = await resident.call(
        "start", {"name": "Ana Ruiz", "email": "ana@example.com", "question": "hello"}
    )
    assert started["ok"], started
    acks.append(started)
    assert started["center"]["chat_name"] == "Riverbend City Hall"
    assert started["center"]["phone"] == "(541) 555-0142"
    assert started["center"]["assistant_name"] == "Riverbend Helper"
    greeting = started["messages"][-1]
    assert greeting["author_name"] == "Riverbend Helper"
    assert "Riverbend Helper" in greeting["text"]
    cid = started["conversation"]["id"]
    for text in ("How do I get a library card?", PERSON):
        acks.append(await resident.call("message", {"client_id": client_id(), "text": text}))
    handover = await resident.next_where(
        "message", lambda m: m["author_kind"] == "assistant" and "555-0142" in m["text"]
    )
    assert "Riverbend Help Desk" in handover["text"]

    # Staff sign in, load the pane, and a person joins the chat.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(city.url + "/agent/sign-in") as response:
            page = await response.text()
        pages.append(page)
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert csrf
        maria = await agent_client("maria", server=city, display_name="Maria Lopez")
        async with http.post(
            city.url + "/agent/sign-in",
            data={"csrf_token": csrf.group(1), "username": "maria", "password": STAFF_PASSWORD},
        ) as response:
            pages.append(await response.text())
        async with http.get(city.url + "/agent") as response:
            assert response.status == 200
            pane = await response.text()
        pages.append(pane)
        assert "<h1>Riverbend Help Desk chat</h1>" in pane
        hello = await maria.ok("hello", {})
        acks.append(hello)
        # The pane names the assistant (its chips, hints, and messages without a name) from this.
        assert hello["center"]["assistant_name"] == "Riverbend Helper"
        assert hello["center"]["chat_name"] == "Riverbend City Hall"
        # Its starter canned responses give its number and the service's hours.
        hours = BusinessCalendar.from_settings(city.settings).describe_hours()
        assert {c["shortcut"]: c["text"] for c in hello["canned"]} == {
            "hours": f"The Riverbend Help Desk is open {hours}.",
            "bye": "Thank you for contacting the City of Riverbend Riverbend Help Desk. If you "
            "need us again, call (541) 555-0142 or write to help@riverbend.example.",
        }
        await maria.next_where("assigned", lambda p: p["conversation"]["id"] == cid)
        joined = await resident.next_where("message", lambda m: m["author_kind"] == "system")
        assert joined["author_name"] is None  # the widget signs it with the center's chat_name

        # A request is filed from the chat, and its mail delivered.
        acks.append(
            await maria.ok(
                "request_create",
                {
                    "conversation_id": cid,
                    "service_code": "pothole",
                    "values": {
                        "address": "1 Mill Street",
                        "description": "A deep hole by the curb",
                    },
                    "client_id": client_id(),
                },
            )
        )
        (mail,) = await inbox.wait_for(1)
        assert mail["From"] == "Riverbend Help Desk <no-reply@localhost>"
        body = mail.get_content().replace("\r\n", "\n")
        signed = body.split("\n\n--\n")[0]  # above the stop-these-emails link
        assert signed.rstrip().endswith("Riverbend Help Desk\nCity of Riverbend"), body

        # A resident reloads the page: the resume ack names the center too.
        resumed = await resident.call("resume", {"token": resident.token, "last_seq": 0})
        acks.append(resumed)
        assert resumed["center"]["city"] == "City of Riverbend"

        # Open311 discovery, the demo page and the widget bundle.
        async with http.get(city.url + "/open311/v2/discovery.json") as response:
            discovery = await response.json()
        assert "Riverbend Help Desk" in discovery["contact"]
        assert "(541) 555-0142" in discovery["contact"]
        async with http.get(city.url + "/") as response:
            demo = await response.text()
        assert "<title>Riverbend Help Desk | City of Riverbend</title>" in demo
        assert 'href="tel:+15415550142">(541) 555-0142</a>' in demo
        assert "RiverbendFix" in demo and "1 Mill Street" in demo
        hours = BusinessCalendar.from_settings(city.settings).describe_hours()
        assert demo.count(hours) == 2, hours  # the contact box and the footer
        pages.append(demo)
        for asset in ("/widget.js", "/agent/pane.js"):
            async with http.get(city.url + asset) as response:
                pages.append(await response.text())

    everything = sent_text(
        *acks,
        *(data for _, data in resident.received),
        *(data for _, data in maria.received),
        *pages,
        discovery,
        str(mail),
    )
    assert not PASADENA.findall(everything), sorted(set(PASADENA.findall(everything)))
    assert "Riverbend" in everything and "(541) 555-0142" in everything
