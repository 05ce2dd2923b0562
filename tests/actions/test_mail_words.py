"""The mails' words in Spanish: dates the Spanish way, the center's names, the reply's frame
(the staff member's text as written, the resident's quoted), English as it always was."""

from __future__ import annotations

from datetime import UTC, datetime

from chatsvc.actions.after_hours import reply_mail
from chatsvc.catalogue.knowledge import default_path, load_knowledge_base
from chatsvc.hours import BusinessCalendar
from chatsvc.outbox.mail_words import MailWords
from chatsvc.settings import Settings

CALENDAR = BusinessCalendar.from_settings(Settings(business_hours="mon-fri 08:00-17:00"))
CENTER = load_knowledge_base(default_path()).center
MONDAY_FIVE_PM = datetime(2026, 12, 8, 1, 0, tzinfo=UTC)  # 17:00 on Monday, Dec 7, Pasadena


def test_dates_are_written_the_spanish_way() -> None:
    spanish = MailWords("es", CENTER, CALENDAR)
    assert spanish.when(MONDAY_FIVE_PM) == "lunes 7 de diciembre a las 5 p. m."
    assert spanish.day(MONDAY_FIVE_PM) == "lunes 7 de diciembre"
    assert spanish.time(MONDAY_FIVE_PM) == "5 p. m."
    assert spanish.zone() == "hora del Pacífico"
    assert MailWords("en", CENTER, CALENDAR).when(MONDAY_FIVE_PM) == "Monday, December 7 at 5 p.m."
    # The chat's words (hours.py): one o'clock takes the singular; noon is "mediodía".
    monday_one_pm = datetime(2026, 12, 7, 21, 0, tzinfo=UTC)
    assert spanish.when(monday_one_pm) == "lunes 7 de diciembre a la 1 p. m."
    assert spanish.time(datetime(2026, 12, 7, 20, 0, tzinfo=UTC)) == "mediodía"
    assert spanish.hours() == (
        "de lunes a viernes, de 8 a. m. a 5 p. m. (hora del Pacífico), cerrado los días "
        "festivos de la ciudad"
    )


def test_the_center_signs_in_spanish_and_unknown_names_stay_as_written() -> None:
    spanish = MailWords("es", CENTER)
    assert spanish.signature == ["Centro de Servicio al Ciudadano", "Ciudad de Pasadena"]
    assert spanish.name("Some Other Office") == "Some Other Office"
    assert MailWords("en", CENTER).signature == list(CENTER.signature)
    # A language with no catalogue is written in English.
    assert MailWords("fr", CENTER)("Hello,") == "Hello,"


def test_the_reply_s_frame_is_spanish_the_staff_text_as_written_the_resident_quoted() -> None:
    left = "Nadie recogió mi sofá.\nwww.ejemplo.com"
    body = reply_mail("Lo recogeremos el martes.", "Maria", CENTER, left, language="es")
    assert body == (
        "Hola:\n\nLo recogeremos el martes.\n\nMaria\nCentro de Servicio al Ciudadano\n"
        "Ciudad de Pasadena\n\nLo que usted escribió:\n\n> Nadie recogió mi sofá.\n"
        "> www[.]ejemplo[.]com\n"
    )
    # Their own Spanish greeting is kept, not doubled; a signed text is not signed twice.
    greeted = reply_mail("Buenas tardes, Ana:\nYa está.\nMaria", "Maria", CENTER, "x", "es")
    assert greeted.startswith("Buenas tardes, Ana:\nYa está.\nMaria\n\nCentro de Servicio")
    english = reply_mail("It is done.", "Maria", CENTER, "x")
    assert english.startswith("Hello,\n\nIt is done.\n\nMaria\nCitizen Service Center\n")
    assert "What you wrote:\n\n> x\n" in english
