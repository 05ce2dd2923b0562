"""The reports over HTTP on the real server: who may read them, the CSV, and bad input."""

from __future__ import annotations

import csv
import io
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc.db.models import Staff, StaffingHour
from chatsvc.settings import Settings
from chatsvc.transport.state import DATABASE
from tests.actions.test_reports import a_day
from tests.actions.test_reports_requests import a_day_of_requests_and_messages
from tests.conftest import LiveServer, ResidentClient, add_staff_member, stored_rows
from tests.realtime.test_assistant_chat import say
from tests.waiting import eventually

GRAFFITI = "Graffiti Removal"  # its name in knowledge_base/topics.toml
ROUTES = (
    "requests",
    "requests.csv",
    "after-hours",
    "after-hours.csv",
    "assistant",
    "assistant.csv",
)
MONDAY = "from=2026-11-23&to=2026-11-23"
# Tuesday 24 November, 10 a.m. in Pasadena: "today" when no dates are given.
TUESDAY = datetime(2026, 11, 24, 18, 0, tzinfo=UTC)


@pytest.fixture
async def server(
    start_server: Callable[..., Awaitable[LiveServer]], make_settings: Callable[..., Settings]
) -> LiveServer:
    # Monday's chat still with the assistant stays open on Tuesday: no idle close in between.
    live = await start_server(make_settings(idle_close=timedelta(days=365)), clock=lambda: TUESDAY)
    await a_day(live.app[DATABASE])
    return live


async def cookie_of(server: LiveServer, role: str) -> dict[str, str]:
    _, cookie = await add_staff_member(server.app[DATABASE], f"a-{role}", role=role)
    return {"Cookie": f"chatsvc_staff={cookie}"}


async def test_supervisors_and_admins_read_the_figures_and_the_previous_period(
    server: LiveServer,
) -> None:
    async with aiohttp.ClientSession() as http:
        for role in ("supervisor", "admin"):
            headers = await cookie_of(server, role)
            url = f"{server.url}/agent/reports/chats?{MONDAY}"
            async with http.get(url, headers=headers) as r:
                assert r.status == 200
                assert r.headers["Cache-Control"] == "no-store"
                body = await r.json()
            assert set(body) == {"current", "previous"}
            assert set(body["current"]) == {"chats", "by_hour", "by_agent", "by_day"}
            current, previous = body["current"]["chats"], body["previous"]["chats"]
            assert current["period"]["from"] == "2026-11-23"
            assert (current["offered"], current["answered_by_agent"]) == (7, 3)
            assert current["service_level"] == {
                "threshold_seconds": 30,
                "answered_within": 2,
                "share": 0.6667,
                "target": 0.8,
            }
            assert previous["period"]["from"] == previous["period"]["to"] == "2026-11-22"
            assert previous["offered"] == 1
            names = [a["name"] for a in body["current"]["by_agent"]["agents"]]
            assert names == ["Ann Able", "Bob Baker"]
        # No dates: today (Tuesday in Pasadena), against Monday.
        async with http.get(f"{server.url}/agent/reports/chats", headers=headers) as r:
            body = await r.json()
        assert body["current"]["chats"]["period"]["from"] == "2026-11-24"
        assert body["current"]["chats"]["offered"] == 0
        assert body["previous"]["chats"]["offered"] == 7


async def test_the_service_level_threshold_is_a_setting(
    start_server: Callable[..., Awaitable[LiveServer]], make_settings: Callable[..., Settings]
) -> None:
    live = await start_server(
        make_settings(service_level_seconds=90, service_level_target_percent=95)
    )
    await a_day(live.app[DATABASE])
    headers = await cookie_of(live, "supervisor")
    url = f"{live.url}/agent/reports/chats?{MONDAY}"
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as r:
        chats = (await r.json())["current"]["chats"]
    assert chats["service_level"] == {
        "threshold_seconds": 90,
        "answered_within": 3,
        "share": 1.0,
        "target": 0.95,
    }


async def test_agents_and_strangers_are_refused(server: LiveServer) -> None:
    agent = await cookie_of(server, "agent")
    async with aiohttp.ClientSession() as http:
        for path in ("chats", "chats.csv", *ROUTES):
            url = f"{server.url}/agent/reports/{path}?{MONDAY}"
            async with http.get(url, headers=agent) as r:
                assert r.status == 403
                assert (await r.json())["error"]["code"] == "forbidden"
            async with http.get(url) as r:
                assert r.status == 401
                assert (await r.json())["error"]["code"] == "not_signed_in"
            async with http.get(url, headers={"Cookie": "chatsvc_staff=forged"}) as r:
                assert r.status == 401


async def test_the_csv_is_a_safe_download(server: LiveServer) -> None:
    # An agent whose name a spreadsheet would run as a formula.
    async def rename(session: AsyncSession) -> None:
        await session.execute(
            update(Staff)
            .where(Staff.username == "ann")
            .values(display_name='=HYPERLINK("http://evil.example","x")')
        )

    await server.app[DATABASE].run(rename)
    headers = await cookie_of(server, "supervisor")
    async with aiohttp.ClientSession() as http:
        url = f"{server.url}/agent/reports/chats.csv?{MONDAY}"
        async with http.get(url, headers=headers) as r:
            assert r.status == 200
            assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
            assert r.headers["Content-Disposition"] == (
                'attachment; filename="chats-2026-11-23-to-2026-11-23.csv"'
            )
            text = await r.text()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["period", "from", "to", "table", "row", "measure", "value"]
    table = {(r[0], r[3], r[4], r[5]): r[6] for r in rows[1:]}
    assert table["current", "chats", "", "offered"] == "7"
    assert table["current", "chats", "", "answer_delay.distribution.1m_to_2m"] == "1"
    assert table["current", "chats", "", "service_level.share"] == "0.6667"
    assert table["current", "dispositions", "resolved", "chats"] == "2"
    assert table["current", "by_hour", "Mon 09:00", "offered"] == "2"
    assert table["current", "by_day", "2026-11-23", "abandoned_waiting"] == "1"
    assert table["previous", "chats", "", "offered"] == "1"
    evil = '\'=HYPERLINK("http://evil.example","x")'
    assert table["current", "by_agent", evil, "chats"] == "1"
    assert not any(cell.startswith("=") for row in rows for cell in row)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-11-23", "Give to once, as YYYY-MM-DD."),
        ("from=2026-11-23&to=2026-11-23&to=2026-11-24", "Give to once, as YYYY-MM-DD."),
        ("from=2026-11-31&to=2026-12-01", "from is not a date: give YYYY-MM-DD."),
        ("from=23/11/2026&to=2026-12-01", "from is not a date: give YYYY-MM-DD."),
        ("from=2026-11-23&to=<script>", "to is not a date: give YYYY-MM-DD."),
        ("from=2026-11-23&to=2026-11-22", "The period ends before it starts."),
        ("from=2024-01-01&to=2026-11-22", "A report covers at most 400 days."),
        ("from=2026-11-23&to=2026-11-23&agent=1", "Unknown parameter 'agent'"),
    ],
)
async def test_bad_periods_are_refused_clearly(
    server: LiveServer, query: str, message: str
) -> None:
    headers = await cookie_of(server, "supervisor")
    async with aiohttp.ClientSession() as http:
        for path in ("chats", "chats.csv", *ROUTES):
            async with http.get(f"{server.url}/agent/reports/{path}?{query}", headers=headers) as r:
                assert r.status == 400
                error = (await r.json())["error"]
            assert error["code"] == "invalid_payload"
            assert error["message"].startswith(message)


async def test_requests_and_after_hours_as_json_and_csv(server: LiveServer) -> None:
    # Read on Tuesday 10:00 in Pasadena, as the hand-computed set is.
    await a_day_of_requests_and_messages(server.app[DATABASE])
    headers = await cookie_of(server, "supervisor")
    async with aiohttp.ClientSession() as http:
        url = f"{server.url}/agent/reports/requests?{MONDAY}"
        async with http.get(url, headers=headers) as r:
            assert r.status == 200
            assert r.headers["Cache-Control"] == "no-store"
            body = await r.json()
        assert set(body) == {"current", "previous"}
        current = body["current"]
        assert set(current) == {
            "period",
            "opened",
            "open_now",
            "overdue_now",
            "resolved",
            "service_level",
            "resolve_time_average_seconds",
            "by_department",
            "by_topic",
            "by_channel",
            "by_day",
        }
        assert (current["opened"], current["open_now"], current["overdue_now"]) == (5, 2, 1)
        assert current["resolved"] == {"count": 3, "closed": 2, "referred": 1}
        assert current["service_level"] == {"resolved_within": 1, "share": 0.3333}
        assert current["by_topic"][0] == {
            "service_code": "graffiti",
            "name": GRAFFITI,
            "opened": 2,
            "open_now": 1,
            "overdue_now": 1,
        }
        assert body["previous"]["period"]["from"] == "2026-11-22"
        assert body["previous"]["opened"] == 1

        async with http.get(
            f"{server.url}/agent/reports/after-hours?{MONDAY}", headers=headers
        ) as r:
            assert r.status == 200
            body = await r.json()
        assert body["current"]["left"] == 5
        assert body["current"]["overdue_now"] == 1
        assert body["current"]["spam"] == 1
        assert body["previous"]["left"] == 1

        for name, table in (("requests", "requests"), ("after-hours", "after_hours")):
            async with http.get(
                f"{server.url}/agent/reports/{name}.csv?{MONDAY}", headers=headers
            ) as r:
                assert r.status == 200
                assert r.headers["Content-Type"] == "text/csv; charset=utf-8"
                assert r.headers["Content-Disposition"] == (
                    f'attachment; filename="{name}-2026-11-23-to-2026-11-23.csv"'
                )
                rows = list(csv.reader(io.StringIO(await r.text())))
            assert rows[0] == ["period", "from", "to", "table", "row", "measure", "value"]
            cells = {(r[0], r[3], r[4], r[5]): r[6] for r in rows[1:]}
            if table == "requests":
                assert cells["current", "requests", "", "resolved.count"] == "3"
                assert cells["current", "requests", "", "service_level.share"] == "0.3333"
                assert cells["current", "by_department", "Public Works", "opened"] == "3"
                assert cells["current", "by_topic", "parking", "opened"] == "2"
                assert cells["current", "by_topic", "graffiti", "name"] == GRAFFITI
                assert cells["current", "by_topic", "parking", "name"] == ""
                assert cells["current", "by_channel", "open311", "opened"] == "1"
                assert cells["previous", "by_department", "Parks", "overdue_now"] == "1"
            else:
                assert cells["current", "after_hours", "", "answered_late"] == "1"
                assert cells["current", "after_hours", "", "reply_time_average_seconds"] == (
                    "44100.0"
                )
                assert cells["previous", "after_hours", "", "answered_on_time"] == "1"


async def test_the_questions_the_assistant_could_not_answer_link_to_their_chat(
    server: LiveServer, resident_client: Callable[..., Awaitable[ResidentClient]]
) -> None:
    """Real chats on the real server: two misses in a row hand over, and the supervisor's
    report lists both questions as one group, linked to the chat, in JSON and in the CSV."""
    resident = await resident_client(server.url)
    ack = await resident.start(question="=1+2 my flibbertigibbet is wonky")
    chat_id = ack["conversation"]["id"]
    assert ack["messages"][-1]["author_kind"] == "assistant"
    await say(resident, "the flibbertigibbet is still wonky")
    headers = await cookie_of(server, "supervisor")
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/agent/reports/assistant", headers=headers) as r:
            assert r.status == 200
            body = await r.json()
        async with http.get(f"{server.url}/agent/reports/assistant.csv", headers=headers) as r:
            assert r.status == 200
            rows = list(csv.reader(io.StringIO(await r.text())))
    today = body["current"]
    assert today["handovers"] == {"no_match": 1}
    assert today["unanswered"] == {"no_match": 1, "unsure": 0, "handed_over": 1, "total": 2}
    (group,) = today["groups"]
    assert group["count"] == 2
    assert [(q["kind"], q["conversation_id"]) for q in group["questions"]] == [
        ("handed_over", chat_id),
        ("no_match", chat_id),
    ]
    assert group["questions"][1]["text"] == "=1+2 my flibbertigibbet is wonky"
    # The period compared with carries its counts, not its questions.
    assert body["previous"]["groups"] == [] and body["previous"]["answers"] == 0
    questions = [r for r in rows if r[3] == "unanswered_questions"]
    assert [r[6] for r in questions] == [
        "the flibbertigibbet is still wonky",
        "'=1+2 my flibbertigibbet is wonky",
    ]
    assert all(f"chat {chat_id}" in r[4] for r in questions)


async def test_the_service_samples_the_agents_on_duty_once_a_minute(
    start_server: Callable[..., Awaitable[LiveServer]],
    make_settings: Callable[..., Settings],
    agent_client: Callable[..., Awaitable[Any]],
) -> None:
    now = [TUESDAY]
    live = await start_server(make_settings(sweep_seconds=0.1), clock=lambda: now[0])

    async def tuesday() -> list[tuple[int, int]]:
        # (The agent fixture's own server, on the real clock, samples other hours.)
        rows = await stored_rows(live, StaffingHour)
        return [(r.minutes, r.on_duty_sum) for r in rows if r.hour_start == TUESDAY]

    await eventually(tuesday, lambda rows: rows == [(1, 0)], what="a minute, nobody on duty")
    await agent_client("ann", server=live)
    now[0] = TUESDAY + timedelta(minutes=1, seconds=30)
    await eventually(tuesday, lambda rows: rows == [(2, 1)], what="the next, Ann on duty")
    (row,) = [r for r in await stored_rows(live, StaffingHour) if r.hour_start == TUESDAY]
    # Tuesday 10:00 in Pasadena.
    assert (row.weekday, row.hour, row.last_minute) == (1, 10, TUESDAY + timedelta(minutes=1))
