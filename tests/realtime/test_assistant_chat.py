"""The assistant in the conversation: real server, real Socket.IO clients, real knowledge base."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select

from chatsvc.db.models import Conversation, Message
from chatsvc.settings import DEFAULT_KNOWLEDGE_BASE, Settings
from chatsvc.transport.state import ASSISTANT, DATABASE
from tests.conftest import LiveServer, LogErrors, ResidentClient

Factory = Callable[..., Awaitable[ResidentClient]]


def cid() -> str:
    return uuid.uuid4().hex


async def say(resident: ResidentClient, text: str) -> dict[str, Any]:
    """Send a message and return the assistant's answer to it."""
    ack = await resident.call("message", {"client_id": cid(), "text": text})
    assert ack["ok"], ack
    while True:
        message = await resident.next("message")
        if message["author_kind"] == "assistant" and message["seq"] > ack["message"]["seq"]:
            return message  # type: ignore[no-any-return]


async def stored(server: LiveServer, conversation_id: int) -> tuple[Conversation, list[Message]]:
    async with server.app[DATABASE].engine.connect() as conn:
        conversation = (
            await conn.execute(select(Conversation).where(Conversation.id == conversation_id))
        ).one()
        messages = (
            await conn.execute(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.seq)
            )
        ).all()
    return conversation, messages  # type: ignore[return-value]


async def test_the_question_is_answered_in_the_start_ack(
    live_server: LiveServer, resident_client: Factory
) -> None:
    resident = await resident_client()
    ack = await resident.start(question="How do I get rid of an old mattress?")
    question, answer = ack["messages"]
    assert question["author_kind"] == "resident"
    assert answer["author_kind"] == "assistant" and answer["author_name"] == "City Assistant"
    assert answer["format"] == "markdown" and len(answer["text"]) > 40
    labels = [q["label"] for q in answer["quick_replies"]]
    assert labels == ["File a request", "Talk to a person"]
    assert ack["conversation"]["stage"] == "assistant"
    assert ack["conversation"]["topic"] == "bulky-item-pickup"

    _, messages = await stored(live_server, ack["conversation"]["id"])
    decision = messages[1].decision
    assert decision is not None
    assert decision["intent"] == "bulky-item-pickup" and decision["article_id"]
    assert messages[0].decision is None


async def test_quick_replies_lead_somewhere(resident_client: Factory) -> None:
    resident = await resident_client()
    ack = await resident.start(question="How do I get rid of an old mattress?")
    file_request = ack["messages"][1]["quick_replies"][0]["text"]
    answer = await say(resident, file_request)
    assert "Bulky Item Pick Up** request" in answer["text"] and "address" in answer["text"]
    person = await say(resident, ack["messages"][1]["quick_replies"][1]["text"])
    assert "team" in person["text"]
    update = await resident.next("conversation")
    assert update["stage"] == "waiting" and update["topic"] == "bulky-item-pickup"


async def test_an_emergency_is_told_to_call_911_and_handed_over(resident_client: Factory) -> None:
    resident = await resident_client()
    await resident.start(question="Hello")
    answer = await say(resident, "I can smell gas everywhere in my building")
    assert "911" in answer["text"]
    update = await resident.next("conversation")
    assert update["stage"] == "waiting"
    # Waiting for a person the assistant is quiet, but not about emergencies.
    ack = await resident.call("message", {"client_id": cid(), "text": "the trash was missed"})
    assert ack["ok"]
    again = await say(resident, "now there is smoke and fire")
    assert "911" in again["text"] and again["seq"] == ack["message"]["seq"] + 2


async def test_two_misses_in_a_row_bring_a_person(
    live_server: LiveServer, resident_client: Factory
) -> None:
    resident = await resident_client()
    ack = await resident.start(question="Hello")
    first = await say(resident, "zxqv plonk wibble")
    assert "not sure" in first["text"]
    second = await say(resident, "frobnicate the quux")
    assert "bringing in" in second["text"]
    update = await resident.next("conversation")
    assert update["stage"] == "waiting"
    conversation, _ = await stored(live_server, ack["conversation"]["id"])
    assert conversation.handoff_reason == "no_match"


async def test_asking_for_a_person_hands_over(resident_client: Factory) -> None:
    resident = await resident_client()
    ack = await resident.start(question="Can I talk to a real person?")
    assert ack["conversation"]["stage"] == "waiting"
    assert "team" in ack["messages"][1]["text"]


async def test_edits_to_the_knowledge_base_are_picked_up_without_a_restart(
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    resident_client: Factory,
    log_errors: LogErrors,
) -> None:
    log_errors.allow("knowledge base edit refused")
    root = tmp_path / "kb"
    shutil.copytree(DEFAULT_KNOWLEDGE_BASE, root)
    server = await start_server(make_settings(knowledge_base=root))
    resident = await resident_client(server.url)
    await resident.start(question="Hello")
    article = root / "articles" / "zz-library-cards.md"
    article.write_text(
        "+++\n"
        'id = "zz-library-cards"\n'
        'title = "Get a library card"\n'
        'topic = "csc-contact"\n'
        'phrasings = ["how do I get a library card", "library card application"]\n'
        'keywords = ["library", "librarian", "borrow books"]\n'
        "+++\n"
        "Library cards are free at any **Pasadena Public Library** branch.\n"
    )
    assert server.app[ASSISTANT].reload_if_changed()
    answer = await say(resident, "how do i get a library card")
    assert "Pasadena Public Library" in answer["text"]

    # A broken edit is refused and the previous knowledge base keeps answering.
    article.write_text("+++\nid = \n")
    assert not server.app[ASSISTANT].reload_if_changed()
    answer = await say(resident, "how do i get a library card")
    assert "Pasadena Public Library" in answer["text"]


async def test_odd_messages_get_a_sensible_answer_and_break_nothing(
    resident_client: Factory,
) -> None:
    resident = await resident_client()
    await resident.start(question="Hello")
    for text in ["🙂🙂🙂", "<script>alert(1)</script><b>hi</b>", "¿Dónde pago mi factura de agua?"]:
        answer = await say(resident, text)
        assert answer["text"].strip() and "<script>" not in answer["text"]
    long = await say(resident, "pothole " + "x" * 3990)
    assert long["text"].strip()
    for empty in ["", "   \n  "]:
        ack = await resident.call("message", {"client_id": cid(), "text": empty})
        assert ack["ok"] is False and ack["error"]["code"] == "invalid_payload"
    assert (await say(resident, "is the city hall open on saturday"))["text"].strip()


async def test_a_suggestion_button_leads_to_its_answer(resident_client: Factory) -> None:
    resident = await resident_client()
    await resident.start(question="Hello")
    answer = await say(resident, "trash")
    suggestions = [q for q in answer["quick_replies"] if q["label"] != "Talk to a person"]
    assert len(suggestions) == 3, answer  # "trash" alone is ambiguous: three to choose from
    chosen = await say(resident, suggestions[0]["text"])
    assert "Did you mean" not in chosen["text"] and len(chosen["text"]) > 40
