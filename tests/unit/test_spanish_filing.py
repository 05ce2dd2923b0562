"""Filing a request and asking its status in Spanish; the conversation's language rule."""

from __future__ import annotations

import ast
import string
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from chatsvc.actions import conversations, presence
from chatsvc.bot import filing
from chatsvc.bot.assistant import compose_reply, conversation_language
from chatsvc.bot.matcher import Index, build_index, decide
from chatsvc.catalogue.fields import FieldInvalid, clean_value
from chatsvc.catalogue.knowledge import KnowledgeBase, load_knowledge_base
from chatsvc.hours import BusinessCalendar, Closures, parse_business_hours
from chatsvc.i18n import catalogue
from chatsvc.settings import DEFAULT_KNOWLEDGE_BASE

SOURCES = Path(__file__).resolve().parents[2] / "chatsvc"
CALENDAR = BusinessCalendar(
    parse_business_hours("mon-fri 08:00-17:00"),
    ZoneInfo("America/Los_Angeles"),
    Closures(),
    holiday_country="US",
)


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge_base(DEFAULT_KNOWLEDGE_BASE)


@pytest.fixture(scope="module")
def index(kb: KnowledgeBase) -> Index:
    return build_index(kb)


def say(state: dict[str, Any] | None, text: str, kb: KnowledgeBase) -> filing.Turn:
    turn = filing.continue_dialogue(state, text, kb, resident_email="", language="es")
    assert turn is not None, text
    return turn


def labels(turn: filing.Turn) -> list[str]:
    return [label for label, _ in turn.quick_replies]


# -- the dialogue ---------------------------------------------------------------------------


def test_the_offer_and_its_button_are_in_spanish_and_the_button_starts_filing(
    kb: KnowledgeBase, index: Index
) -> None:
    reply = compose_reply(
        decide("no recogieron mi bote de reciclaje", index), kb, misses=0, text=""
    )
    assert reply.offer == "missed-trash"
    assert "¿Quiere que presente ahora mismo una solicitud de **Recolección de basura" in reply.text
    button, sends = reply.quick_replies[0]
    assert button == "Presentar una solicitud"
    assert sends.startswith("Presentar una solicitud: Recolección de basura")
    # The button's words (and the English ones) name the topic.
    assert filing.wants_to_file(sends, kb) == kb.topics["missed-trash"]
    assert filing.wants_to_file("File a request: Graffiti removal", kb) == kb.topics["graffiti"]
    # "sí" under the offer starts filing, in Spanish.
    offer = filing.offer_state(kb.topics["missed-trash"], None)
    started = say(offer, "Sí", kb)
    assert started.text.startswith("Vamos a presentar una solicitud de **Recolección de basura")
    assert "**cancelar**" in started.text
    assert "¿Cuál es la **dirección**" in started.text
    assert labels(started) == ["Cancelar"]


def test_each_question_a_value_check_the_summary_and_the_confirmation(
    kb: KnowledgeBase,
) -> None:
    turn = filing.start_filing(kb.topics["missed-trash"], kb, language="es")
    # An address that names no place is refused in Spanish, and asked again.
    refused = say(turn.state, "mi casa", kb)
    assert refused.text.startswith("Escriba una dirección con número")
    assert "¿Cuál es la **dirección**" in refused.text
    assert refused.state == turn.state
    # A crossing said in Spanish is a place.
    container = say(turn.state, "Lake Ave y Colorado Blvd", kb)
    assert container.text == "¿De qué **bote** se trata?"
    assert labels(container) == [
        "Basura (negro)",
        "Reciclaje (azul)",
        "Desechos de jardín (verde)",
        "Cancelar",
    ]
    # "el bote azul" is recycling; a word naming no bin is refused with the Spanish choices.
    unclear = say(container.state, "el de la esquina", kb)
    assert unclear.text.startswith(
        "Bote: elija una de estas opciones: Basura (negro), Reciclaje (azul), Desechos de "
        "jardín (verde)."
    )
    summary = say(container.state, "el bote azul", kb)
    assert summary.state is not None and summary.state["values"]["container"] == "recycling"
    assert summary.text.splitlines() == [
        "Esta es su solicitud de **Recolección de basura, reciclaje o desechos de jardín que "
        "no se hizo**:",
        "",
        "- Dirección: Lake Ave y Colorado Blvd",
        "- Bote: Reciclaje (azul)",
        "",
        "¿La presento?",
    ]
    assert labels(summary) == ["Confirmar", "Editar", "Cancelar"]
    # Editing: the field's Spanish label is the button, and the question comes back.
    edit = say(summary.state, "Editar", kb)
    assert labels(edit) == ["Cambiar dirección", "Cambiar bote", "Volver al resumen"]
    again = say(edit.state, "Cambiar bote", kb)
    assert again.text.startswith("¿De qué **bote** se trata?")
    back = say(again.state, "verde", kb)
    assert "- Bote: Desechos de jardín (verde)" in back.text
    # "sí, por favor" confirms: the caller files it and words the confirmation.
    confirmed = say(back.state, "sí, por favor", kb)
    assert confirmed.filing == filing.Filing(
        "missed-trash", {"address": "Lake Ave y Colorado Blvd", "container": "green-waste"}, ()
    )
    due = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)  # Monday, December 7, 5 p.m. in Pasadena
    said = filing.filed(
        "26-000123",
        kb.topics["missed-trash"],
        CALENDAR.describe_local(due, "es"),
        "ana@example.com",
        kb=kb,
        language="es",
    )
    assert said == (
        "Su solicitud de **Recolección de basura, reciclaje o desechos de jardín que no se "
        "hizo** quedó presentada. Su número es **26-000123**.\n\n"
        "Esperamos tenerla resuelta a más tardar el **lunes 7 de diciembre a las 5 p. m.** "
        "Le envié una confirmación por correo electrónico a ana@example.com. "
        'Para saber cómo va, pregúnteme por el "estado de 26-000123".'
    )


def test_optional_fields_photos_and_cancelling_in_spanish(kb: KnowledgeBase) -> None:
    turn = filing.start_filing(kb.topics["graffiti"], kb, language="es")
    described = say(say(turn.state, "100 N Garfield Ave", kb).state, "muy corto", kb)
    assert described.text.startswith(
        "Descripción: es muy corto; escriba por lo menos 10 caracteres."
    )
    photo = say(say(turn.state, "100 N Garfield Ave", kb).state, "Pintaron grafiti en la pared", kb)
    assert photo.offers_photo and "¿Quiere agregar una **foto**?" in photo.text
    assert labels(photo) == ["Omitir", "Cancelar"]
    assert say(photo.state, "hola", kb).text == (
        "Use el botón **Agregar una foto** para elegir una imagen, o diga **omitir**."
    )
    with_photo = filing.after_photo(photo.state, 7, kb, "es")
    assert with_photo is not None and with_photo.text.startswith("Gracias, ya tengo la foto.")
    assert "- Foto: 1 foto" in with_photo.text
    skipped = say(photo.state, "no", kb)
    assert skipped.text.startswith("Muy bien, sin foto.") and "- Foto: ninguna" in skipped.text
    cancelled = say(photo.state, "cancelar", kb)
    assert cancelled.text.startswith("Muy bien, la cancelé: no se presentó nada.")
    assert cancelled.state is None
    # English words and buttons still work in a Spanish chat (a button sent before a switch).
    assert say(photo.state, "Skip", kb).text.startswith("Muy bien, sin foto.")


def test_the_field_checks_speak_the_language_and_english_stays_english(
    kb: KnowledgeBase,
) -> None:
    account = kb.localized_field("account", "es")
    with pytest.raises(FieldInvalid) as refused:
        clean_value(account, "12", "es")
    assert refused.value.message == (
        "Eso no parece correcto: el número de cuenta tiene de 6 a 20 dígitos, como aparece en "
        "su factura."
    )
    with pytest.raises(FieldInvalid) as english:
        clean_value(kb.fields["account"], "12")
    assert english.value.message.startswith("That doesn't look right: an account number")
    # The English bins do not take the Spanish words (English has none of its own).
    assert clean_value(kb.fields["container"], "recycle bin") == "recycling"
    with pytest.raises(FieldInvalid):
        clean_value(kb.fields["container"], "el bote azul")


# -- status ---------------------------------------------------------------------------------


def test_status_in_spanish(kb: KnowledgeBase, index: Index) -> None:
    asked = decide("¿cuál es el estado de mi solicitud?", index)
    assert asked.intent == "status" and asked.language == "es"
    start = filing.start_status(None, None, resident_email="ana@example.com", phone="311",
                                language="es")  # fmt: skip
    assert start.text.startswith("Con gusto lo busco. ¿Cuál es el número de la solicitud?")
    not_a_number = say(start.state, "no sé", kb)
    assert not_a_number.text.startswith("Eso no parece un número de solicitud.")
    email = say(start.state, "es el 26-000123", kb)
    assert email.text == (
        "Para proteger su privacidad, ¿qué correo electrónico usó para la solicitud **26-000123**?"
    )
    lookup = filing.continue_dialogue(
        email.state, "es ana@example.com", kb, resident_email="", language="es"
    )
    assert lookup is not None and lookup.lookup == filing.Lookup("26-000123", "ana@example.com")
    found = {
        "status": "in_progress",
        "status_label": "En proceso",
        "service_name": "Eliminación de grafiti",
        "expected": CALENDAR.describe_local(datetime(2026, 12, 9, 20, 30, tzinfo=UTC), "es"),
        "note": "Un equipo va en camino.",
    }
    assert filing.status_answer("26-000123", found, phone="311", language="es") == (
        "La solicitud **26-000123** (Eliminación de grafiti) está: **En proceso**.\n\n"
        "Esperamos tenerla resuelta a más tardar el miércoles 9 de diciembre a las 12:30 p. m.\n\n"
        "Última novedad: Un equipo va en camino."
    )
    assert filing.status_answer("26-000123", None, phone="311", language="es").startswith(
        "No encontré ninguna solicitud con ese número y ese correo electrónico."
    )
    several = filing.start_status(
        None,
        None,
        resident_email="",
        phone="311",
        filed_here=[
            filing.FiledHere("26-000002", "graffiti", "Eliminación de grafiti"),
            filing.FiledHere("26-000001", "pothole", "Baches / Reparación de calles"),
        ],
        language="es",
    )
    assert several.text.startswith("En este chat se presentó más de una solicitud.")
    assert several.quick_replies[0] == (
        "Eliminación de grafiti (26-000002)",
        "estado de 26-000002",
    )


def test_spanish_dates_and_times() -> None:
    def at(hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 12, 7, hour, minute, tzinfo=ZoneInfo("America/Los_Angeles"))

    assert CALENDAR.describe_local(at(17), "es") == "lunes 7 de diciembre a las 5 p. m."
    assert CALENDAR.describe_local(at(13, 30), "es") == "lunes 7 de diciembre a la 1:30 p. m."
    assert CALENDAR.describe_local(at(12), "es") == "lunes 7 de diciembre al mediodía"
    assert CALENDAR.describe_local(at(0), "es") == "lunes 7 de diciembre a la medianoche"
    assert CALENDAR.describe_local(at(8, 5), "es") == "lunes 7 de diciembre a las 8:05 a. m."
    assert CALENDAR.describe_day(at(9), "es") == "lunes 7 de diciembre"
    assert CALENDAR.describe_time(at(9), "es") == "9 a. m."
    assert CALENDAR.describe_local(at(17)) == "Monday, December 7 at 5 p.m."


# -- the conversation's language ------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "text", "after"),
    [
        ("en", "hay un bache en mi calle", "es"),
        ("en", "necesito ayuda", "es"),
        ("en", "el trash no lo recogieron", "es"),
        ("en", "hola", "en"),  # one word: not enough to change
        ("en", "sí", "en"),
        ("en", "gracias", "en"),
        ("es", "ok", "es"),
        ("es", "no", "es"),
        ("es", "100 N Garfield Ave", "es"),
        ("es", "26-000123", "es"),
        ("es", "Lake Ave y Colorado Blvd", "es"),
        ("es", "pothole on my street", "es"),  # Spanglish-ish, not clearly English
        ("es", "when is my trash picked up", "en"),
        ("es", "my trash was not picked up", "en"),
        ("en", "when is my trash picked up", "en"),
    ],
)
def test_the_conversation_changes_language_on_a_clear_message_only(
    current: str, text: str, after: str, index: Index
) -> None:
    assert conversation_language(current, decide(text, index), text) == after


def test_a_spanish_conversation_is_answered_in_spanish_whatever_the_message(
    kb: KnowledgeBase, index: Index
) -> None:
    english = decide("pothole", index)
    assert english.language == "en"
    reply = compose_reply(english, kb, misses=0, text="pothole", language="es")
    assert "¿Quiere que presente" in reply.text
    assert reply.decision["language"] == "en"  # what the matcher read, kept for the reports


# -- every line has its Spanish -------------------------------------------------------------

NAMED = {
    "FILE_A_REQUEST": filing.FILE_A_REQUEST,
    "CONFIRM": filing.CONFIRM,
    "EDIT": filing.EDIT,
    "CANCEL": filing.CANCEL,
    "SKIP": filing.SKIP,
    "BACK": filing.BACK,
    "PHOTO_LABEL": filing.PHOTO_LABEL,
}


@pytest.mark.parametrize(
    "source",
    [
        "bot/filing.py",
        "catalogue/fields.py",
        "actions/assistant_turns.py",
        "actions/queue.py",
        "actions/handling.py",
        "actions/after_hours.py",
        "actions/abandoned.py",
        "actions/service_requests/from_chat.py",
    ],
)
def test_every_line_of_the_dialogues_has_a_spanish_translation(source: str) -> None:
    tree = ast.parse((SOURCES / source).read_text(encoding="utf-8"))
    said: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        position = {"_": 0, "refuse": 0, "translate": 1, "_button": 1}.get(node.func.id)
        if position is None or len(node.args) <= position:
            continue
        argument = node.args[position]
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            said.add(argument.value)
        elif isinstance(argument, ast.Name) and argument.id in NAMED:
            said.add(NAMED[argument.id])
    if source == "actions/handling.py":  # the notices passed to end_conversation and presence
        said |= {*conversations.ENDED_BY.values(), presence.LOST_NOTICE, presence.LEFT_NOTICE}
    assert said
    spanish = catalogue("es")
    assert not said - set(spanish), "untranslated lines"
    for msgid in said:
        fields = sorted(n for _, n, _, _ in string.Formatter().parse(msgid) if n)
        assert sorted(n for _, n, _, _ in string.Formatter().parse(spanish[msgid]) if n) == fields
