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


async def test_the_starter_canned_responses_come_in_spanish_and_bad_ones_are_refused(
    agent_client: Agents,
) -> None:
    sam = await agent_client("sam", role="supervisor")
    hello = await sam.ok("hello", {})
    hours = next(c for c in hello["canned"] if c["shortcut"] == "hours")
    spanish = hours["translations"]["es"]
    assert spanish["title"] == "Horario de atención"
    # The placeholders filled in Spanish: the center's Spanish name, the hours the Spanish way.
    assert spanish["text"].startswith("El Centro de Servicio al Ciudadano atiende ")
    assert "{" not in spanish["text"] and "Monday" not in spanish["text"]
    bye = next(c for c in hello["canned"] if c["shortcut"] == "bye")
    assert "de la Ciudad de Pasadena" in bye["translations"]["es"]["text"]

    base = {"id": hours["id"], "shortcut": "hours", "title": "Hours", "text": "8 to 5"}
    for bad, field in [
        ({"fr": {"title": "Heures", "text": "8 à 17"}}, "translations"),
        ({"es": {"title": "Horario"}}, "translations.es.text"),
        ({"es": {"title": "Horario", "text": 5}}, "translations.es.text"),
        ({"es": {"title": "Horario", "text": "x" * 5000}}, "translations.es.text"),
        ({"es": "Horario"}, "translations.es"),
        (["es"], "translations"),
    ]:
        ack = await sam.call("canned_save", {**base, "translations": bad})
        assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload", (bad, ack)
        assert ack["error"].get("field", "").startswith(field), (bad, ack)
    again = await sam.ok("hello", {})
    assert next(c for c in again["canned"] if c["shortcut"] == "hours") == hours

    saved = await sam.ok(
        "canned_save",
        {**base, "translations": {"es": {"title": "Horario", "text": "De 8 a 5."}}},
    )
    assert saved["canned"]["translations"] == {"es": {"title": "Horario", "text": "De 8 a 5."}}
