"""The City's mail cannot be aimed at anyone: real server, real clients, a real SMTP server."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.db.models import MailSuppression, OutboxMail
from chatsvc.settings import Settings
from chatsvc.transport.state import DATABASE
from tests.conftest import Inbox, LiveServer, ResidentClient, stored_rows
from tests.realtime.test_assistant_chat import say
from tests.realtime.test_request_chat import CITY, MONDAY_TEN

PUBLIC_URL = "https://chat.example.gov"
Factory = Callable[..., Awaitable[ResidentClient]]
VICTIM = "Victim@Example.org"
SCAM = "URGENT your water will be shut off, pay now at https://evil.example/pay or www.evil.example"


async def suppressed(server: LiveServer) -> list[str]:
    async def read(session: AsyncSession) -> list[str]:
        return list(await session.scalars(select(MailSuppression.address)))

    return await server.app[DATABASE].run(read)


async def file_scam(resident: ResidentClient, email: str = VICTIM) -> None:
    """File a graffiti request as "City of Pasadena Billing", for someone else's address."""
    ack = await resident.start(
        name="City of Pasadena Billing",
        email=email,
        question="There is graffiti on the wall of my building",
    )
    await say(resident, ack["messages"][1]["quick_replies"][0]["text"])
    await say(resident, "100 N Garfield Ave")
    await say(resident, SCAM)
    summary = await say(resident, "skip")
    assert "Confirm" in [q["label"] for q in summary["quick_replies"]], summary
    done = await say(resident, "Confirm")
    assert "**26-" in done["text"], done


async def mailing_city(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    inbox: Inbox,
    **more: Any,
) -> LiveServer:
    settings = make_settings(
        **CITY,
        smtp_host="127.0.0.1",
        smtp_port=inbox.port,
        smtp_security="none",
        public_url=PUBLIC_URL,
        **more,
    )
    return await start_server(settings, clock=lambda: MONDAY_TEN)


async def test_ten_chats_aimed_at_one_address_send_it_at_most_the_daily_cap(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_client: Factory,
    smtp_server: Callable[..., Inbox],
) -> None:
    inbox = smtp_server()
    city = await mailing_city(make_settings, start_server, inbox, mail_per_address_per_day=3)
    for _ in range(10):
        resident = await resident_client(city.url)
        await file_scam(resident)
        await resident.disconnect()
    queued = await stored_rows(city, OutboxMail)
    assert len(queued) == 3  # every request was filed; only three mails were queued
    mails = await inbox.wait_for(3)
    assert len(mails) == 3
    for mail in mails:
        body = mail.get_content()
        assert "City of Pasadena Billing" not in body  # the chosen name never greets
        assert body.splitlines()[0] == "Hello,"
        assert "What you wrote:" in body and "> URGENT your water" in body
        # No link made from what the resident wrote: only the City's own stop link is one.
        links = re.findall(r"https?://\S+|www\.\S+", body)
        assert links == [mail["List-Unsubscribe"].strip("<>")], links
        assert "evil.example" not in body and "evil[.]example" in body


async def test_one_click_stops_all_mail_to_the_address_and_a_forged_token_stops_none(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_client: Factory,
    smtp_server: Callable[..., Inbox],
) -> None:
    inbox = smtp_server()
    city = await mailing_city(make_settings, start_server, inbox)
    await file_scam(await resident_client(city.url))
    (mail,) = await inbox.wait_for(1)
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = mail["List-Unsubscribe"].strip("<>")
    assert link.startswith(f"{PUBLIC_URL}/mail/stop?token=")
    link = link.replace(PUBLIC_URL, city.url)  # the proxy in front of the service, here none
    forged = re.sub(r"token=.*", "token=" + "A" * 43, link)

    async with aiohttp.ClientSession() as http:
        async with http.post(forged, data={"List-Unsubscribe": "One-Click"}) as response:
            assert response.status == 404
        async with http.get(link) as response:  # mail scanners follow links: no change on GET
            assert response.status == 200 and 'method="post"' in await response.text()
        assert await suppressed(city) == []
        async with http.post(link, data={"List-Unsubscribe": "One-Click"}) as response:
            assert response.status == 200 and "no more emails" in await response.text()
    assert await suppressed(city) == [VICTIM.lower()]

    await file_scam(await resident_client(city.url), email=VICTIM.upper())  # any spelling
    await file_scam(await resident_client(city.url), email="someone@example.com")
    rows = await stored_rows(city, OutboxMail)
    assert [row.to_address for row in rows] == [VICTIM, "someone@example.com"]


@pytest.mark.parametrize("token", ["", "x" * 65, "not-a-token"])
async def test_the_stop_page_refuses_an_unknown_token(live_server: LiveServer, token: str) -> None:
    async with aiohttp.ClientSession() as http:
        url = f"{live_server.url}/mail/stop?token={token}"
        async with http.get(url) as response:
            assert response.status == 404 and 'method="post"' not in await response.text()
        async with http.post(url) as response:
            assert response.status == 404


async def test_a_url_the_resident_typed_is_never_a_link_in_the_assistants_summary(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_client: Factory,
) -> None:
    """The widget and the pane link bare https:// URLs in the assistant's messages: the
    resident's words inside them are escaped so they show as typed (widget/test/markdown)."""
    city = await start_server(make_settings(**CITY), clock=lambda: MONDAY_TEN)
    resident = await resident_client(city.url)
    ack = await resident.start(question="There is graffiti on the wall of my building")
    await say(resident, ack["messages"][1]["quick_replies"][0]["text"])
    await say(resident, "100 N Garfield Ave")
    await say(resident, SCAM)
    summary = (await say(resident, "skip"))["text"]
    assert re.search(r"https?://", summary) is None, summary
    assert "https\\://evil.example/pay" in summary  # shown as typed, never as a link


async def test_a_phone_number_the_resident_typed_is_never_a_link_in_the_assistants_summary(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_client: Factory,
) -> None:
    """The widget and the pane make phone numbers in the assistant's messages tel: links
    (widget/src/shared/phone.js): a number in the resident's words is escaped so it never is."""
    city = await start_server(make_settings(**CITY), clock=lambda: MONDAY_TEN)
    resident = await resident_client(city.url)
    ack = await resident.start(question="There is graffiti on the wall of my building")
    await say(resident, ack["messages"][1]["quick_replies"][0]["text"])
    await say(resident, "100 N Garfield Ave")
    await say(resident, "Billing says call (626) 555-0100 or 1-800-555-0199 to pay")
    summary = (await say(resident, "skip"))["text"]
    # Every "-" between digits escaped: no number the clients would link is left whole.
    assert re.search(r"\d[-.]\d", summary) is None, summary
    assert "(626) 555\\-0100 or 1\\-800\\-555\\-0199" in summary
