"""The resident's presence as the agent sees it: online, away (tab hidden), left (last tab gone)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from chatsvc.clock import utc_now
from chatsvc.db.models import ResidentConnection
from chatsvc.transport.dispatch import DISPATCHER
from chatsvc.transport.state import DATABASE
from tests.conftest import AgentClient, LiveServer, ResidentClient, stored_rows

Residents = Callable[..., Awaitable[ResidentClient]]
Agents = Callable[..., Awaitable[AgentClient]]


def presence_of(cid: int, presence: str) -> Callable[[Any], bool]:
    return lambda p: p == {"conversation_id": cid, "presence": presence}


async def test_the_agent_sees_the_resident_online_away_and_gone_with_typing_cleared(
    resident_client: Residents, agent_client: Agents
) -> None:
    maria = await agent_client("maria", display_name="Maria Lopez")
    first_tab = await resident_client()
    started = await first_tab.start()
    cid = started["conversation"]["id"]
    chat = (await maria.next("assigned"))["conversation"]
    assert chat["resident_presence"] == "online"
    await maria.ok("open", {"conversation_id": cid})  # the resident's typing reaches viewers

    # The tab is hidden, then shown again.
    assert (await first_tab.call("visibility", {"visible": False}))["ok"]
    await maria.next_where("resident_presence", presence_of(cid, "away"))
    assert (await first_tab.call("visibility", {"visible": True}))["ok"]
    await maria.next_where("resident_presence", presence_of(cid, "online"))

    # A second tab, hidden; the first one is closed mid-word: typing stops, the resident stays.
    second_tab = await resident_client()
    resumed = await second_tab.call("resume", {"token": started["token"], "visible": False})
    assert resumed["ok"]
    await first_tab.call("typing", {"typing": True})
    typing = await maria.next("typing")
    assert (typing["author_kind"], typing["typing"]) == ("resident", True)
    await first_tab.disconnect()
    stopped = await maria.next("typing")
    assert stopped == {
        "conversation_id": cid,
        "author_kind": "resident",
        "author_name": "Ana Ruiz",
        "typing": False,
    }
    # Only the hidden tab is left: away, not gone.
    await maria.next_where("resident_presence", presence_of(cid, "away"))
    (listed,) = (await maria.ok("hello"))["chats"]
    assert listed["resident_presence"] == "away"

    # The last tab goes: the resident has left, in the event and in every later list.
    await second_tab.disconnect()
    await maria.next_where("resident_presence", presence_of(cid, "left"))
    (listed,) = (await maria.ok("hello"))["chats"]
    assert listed["resident_presence"] == "left"
    detail = await maria.ok("open", {"conversation_id": cid})
    assert detail["conversation"]["resident_presence"] == "left"
    assert "online" not in [
        p["presence"] for event, p in maria.received[-3:] if event == "resident_presence"
    ]

    # Coming back is seen too.
    again = await resident_client()
    assert (await again.call("resume", {"token": started["token"]}))["ok"]
    await maria.next_where("resident_presence", presence_of(cid, "online"))


async def test_the_tabs_of_a_process_that_stopped_count_as_gone(
    live_server: LiveServer, resident_client: Residents, agent_client: Agents
) -> None:
    maria = await agent_client("maria")
    resident = await resident_client()
    cid = (await resident.start())["conversation"]["id"]
    await maria.next("assigned")
    await maria.ok("open", {"conversation_id": cid})
    database = live_server.app[DATABASE]

    async def from_a_dead_process(session: Any) -> None:
        # A second tab, held by a process that stopped refreshing its connections long ago.
        long_ago = utc_now() - timedelta(hours=1)
        session.add(
            ResidentConnection(
                server_id="dead",
                sid="gone",
                conversation_id=cid,
                visible=True,
                connected_at=long_ago,
                seen_at=long_ago,
            )
        )

    await database.run(from_a_dead_process)
    await resident.disconnect()
    # The dead process's tab still counts until the sweep finds it stale.
    await maria.next_where("typing", lambda t: t["typing"] is False)
    (listed,) = (await maria.ok("hello"))["chats"]
    assert listed["resident_presence"] == "online"
    await live_server.app[DISPATCHER].sweep()
    await maria.next_where("resident_presence", presence_of(cid, "left"))
    assert await stored_rows(live_server, ResidentConnection) == []
