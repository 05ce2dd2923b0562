"""Staff and a Spanish chat: the chat's language in staff payloads, knowledge-base suggestions
and searches in Spanish for Spanish words, English left English. Real server, real clients."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.conftest import AgentClient, ResidentClient

Agents = Callable[..., Awaitable[AgentClient]]
Residents = Callable[..., Awaitable[ResidentClient]]

SPANISH_POTHOLE = "Reportar un bache o una calle dañada"


async def test_a_spanish_chat_reaches_staff_with_its_language_and_spanish_articles(
    agent_client: Agents, resident_client: Residents
) -> None:
    maria = await agent_client("maria")
    resident = await resident_client()
    started = await resident.start(question="Quiero hablar con una persona", language="es")
    cid = started["conversation"]["id"]
    assigned = await maria.next_where("assigned", lambda a: a["conversation"]["id"] == cid)
    assert assigned["conversation"]["language"] == "es"
    opened = await maria.ok("open", {"conversation_id": cid})
    assert opened["conversation"]["language"] == "es"

    sent = await resident.call(
        "message", {"client_id": "message-1", "text": "hay un bache en mi calle"}
    )
    assert sent["ok"], sent
    await maria.next_where("message", lambda m: m["conversation_id"] == cid and m["seq"] > 1)
    suggested = await maria.ok("suggest", {"conversation_id": cid})
    titles = [a["title"] for a in suggested["suggestions"]]
    assert titles and titles[0] == SPANISH_POTHOLE, titles
    assert "bache" in suggested["suggestions"][0]["text"].lower()

    # The search box: Spanish words find the Spanish articles, English ones the English.
    spanish = await maria.ok("search", {"query": "bache"})
    found = {a["id"]: a["title"] for a in spanish["articles"]}
    assert found["pothole-report"] == SPANISH_POTHOLE, found
    assert found["pothole-vehicle-damage-claim"] == "Un bache dañó mi carro"
    english = await maria.ok("search", {"query": "pothole"})
    assert english["articles"][0]["id"] == "pothole-report"
    assert english["articles"][0]["title"] != SPANISH_POTHOLE


async def test_an_english_chat_says_english(
    agent_client: Agents, resident_client: Residents
) -> None:
    maria = await agent_client("maria")
    resident = await resident_client()
    started = await resident.start()
    cid = started["conversation"]["id"]
    assigned = await maria.next_where("assigned", lambda a: a["conversation"]["id"] == cid)
    assert assigned["conversation"]["language"] == "en"
    sent = await resident.call(
        "message", {"client_id": "message-1", "text": "there is a pothole on my street"}
    )
    assert sent["ok"], sent
    await maria.next_where("message", lambda m: m["conversation_id"] == cid and m["seq"] > 1)
    suggested = await maria.ok("suggest", {"conversation_id": cid})
    assert suggested["suggestions"][0]["id"] == "pothole-report"
    assert suggested["suggestions"][0]["title"] != SPANISH_POTHOLE
