"""A whole chat in Spanish with real socket clients: question, answer, a request filed and its
status, a hand-over and the agent's join; and a chat that changes language on its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from chatsvc.db.models import Conversation, ServiceRequest
from tests.conftest import AgentClient, LiveServer, ResidentClient
from tests.realtime.test_assistant_chat import say
from tests.realtime.test_request_chat import city, labels, rows

__all__ = ["city"]  # the fixture, used by name

Factory = Callable[..., Awaitable[ResidentClient]]


async def test_a_whole_chat_in_spanish(
    city: LiveServer, resident_client: Factory, agent_client: Callable[..., Awaitable[AgentClient]]
) -> None:
    maria = await agent_client("maria", server=city, display_name="María López")
    resident = await resident_client(city.url)
    ack = await resident.start(question="hay grafiti en la pared de mi edificio", language="es")
    assert ack["conversation"]["language"] == "es"
    answer = ack["messages"][1]
    assert answer["author_kind"] == "assistant"
    assert (
        "¿Quiere que presente ahora mismo una solicitud de **Eliminación de grafiti**"
        in (answer["text"])
    )
    assert labels(answer) == ["Presentar una solicitud", "Hablar con una persona"]

    asked = await say(resident, answer["quick_replies"][0]["text"])
    assert "Vamos a presentar una solicitud de **Eliminación de grafiti**" in asked["text"]
    assert "¿Cuál es la **dirección**" in asked["text"]
    refused = await say(resident, "cerca del parque")
    assert refused["text"].startswith("Escriba una dirección con número")
    described = await say(resident, "100 N Garfield Ave")
    assert described["text"].startswith("Por favor, **describa** lo que ve")
    photo = await say(resident, "Pintaron letras negras en toda la pared del lado este.")
    assert "¿Quiere agregar una **foto**?" in photo["text"]
    assert {"label": "Agregar una foto", "text": "", "action": "photo"} in photo["quick_replies"]
    summary = await say(resident, "Omitir")
    assert summary["text"].startswith("Muy bien, sin foto.")
    assert "- Dirección: 100 N Garfield Ave" in summary["text"]
    assert "- Foto: ninguna" in summary["text"]
    assert labels(summary) == ["Confirmar", "Editar", "Cancelar"]

    done = await say(resident, "Confirmar")
    (request,) = await rows(city, ServiceRequest)
    assert request.service_code == "graffiti" and request.address == "100 N Garfield Ave"
    assert done["text"].startswith(
        "Su solicitud de **Eliminación de grafiti** quedó presentada. Su número es "
        f"**{request.number}**."
    )
    # One business day after Monday 10 a.m.: Tuesday at 5 p.m., the Spanish way.
    assert "a más tardar el **martes 24 de noviembre a las 5 p. m.**" in done["text"]

    status = await say(resident, "¿cómo va mi solicitud?")
    assert status["text"].startswith(
        f"La solicitud **{request.number}** (Eliminación de grafiti) está: **Abierta**."
    )
    assert "martes 24 de noviembre a las 5 p. m." in status["text"]

    handed = await say(resident, "quiero hablar con una persona")
    assert handed["text"].startswith("Con gusto. Voy a llamar a una persona del equipo")
    chat = (await maria.next("assigned"))["conversation"]
    assert chat["language"] == "es"
    joined = await resident.next_where("message", lambda m: m["author_kind"] == "system")
    assert (joined["text"], joined["notice"]) == ("María se unió al chat.", "joined")
    (conversation,) = await rows(city, Conversation)
    assert conversation.language == "es"


async def test_an_english_chat_changes_to_spanish_on_a_clear_spanish_message_only(
    city: LiveServer, resident_client: Factory
) -> None:
    resident = await resident_client(city.url)
    ack = await resident.start(question="when is my trash picked up")
    assert ack["conversation"]["language"] == "en"
    # One word says little of the language: no change.
    hello = await say(resident, "hola")
    assert hello["text"].startswith("Hello!")
    answer = await say(resident, "no recogieron mi bote de reciclaje")
    changed = await resident.next_where("conversation", lambda c: c["language"] == "es")
    assert changed["id"] == ack["conversation"]["id"]
    assert "¿Quiere que presente" in answer["text"]
    # From then on, Spanish, even for a short English word.
    thanks = await say(resident, "thanks")
    assert thanks["text"].startswith("¡Con mucho gusto!")
    stored = await rows(city, Conversation)
    assert [c.language for c in stored] == ["es"]
    # A clearly English message brings it back.
    await say(resident, "my trash was not picked up this week")
    await resident.next_where("conversation", lambda c: c["language"] == "en")
    assert [c.language for c in await rows(city, Conversation)] == ["en"]
