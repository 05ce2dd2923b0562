"""Canned responses in Spanish: the starter set's translations loaded once, kept with each
response; supervisors change or remove them. Actions on a real database."""

from __future__ import annotations

from chatsvc.actions.canned import (
    CannedText,
    canned_responses,
    load_starter_canned,
    load_starter_translations,
    save_canned,
)
from chatsvc.clock import utc_now
from chatsvc.db.database import Database
from tests.actions.test_canned import STARTERS, supervisor

SPANISH = [
    CannedText("hours", "Horario", "Atendemos de lunes a viernes, de 8 a. m. a 5 p. m."),
    CannedText("phone", "Teléfono", "Llámenos al (626) 744-7311."),
    CannedText("gone", "Sin inglés", "No hay respuesta en inglés con este atajo."),
]


async def translations(db: Database) -> dict[str, dict[str, dict[str, str]]]:
    return {
        c.shortcut: {k: dict(v) for k, v in c.translations.items()}
        for c in await db.run(canned_responses)
    }


async def test_the_spanish_starters_are_given_once_to_the_same_shortcuts(db: Database) -> None:
    await db.run(load_starter_canned, starters=STARTERS, now=utc_now())
    given = await db.run(load_starter_translations, language="es", starters=SPANISH, now=utc_now())
    assert given == ["hours", "phone"]  # /gone has no English response: nothing to translate
    found = await translations(db)
    assert found["hours"] == {"es": {"title": "Horario", "text": SPANISH[0].text}}
    assert found["bye"] == {}
    listed = {c.shortcut: c.as_dict() for c in await db.run(canned_responses)}
    assert listed["phone"]["translations"] == {
        "es": {"title": "Teléfono", "text": "Llámenos al (626) 744-7311."}
    }

    # A supervisor's change stays: a later start gives nothing again.
    sam = await supervisor(db)
    hours = next(c for c in await db.run(canned_responses) if c.shortcut == "hours")
    await db.run(
        save_canned,
        by=sam,
        canned_id=hours.id,
        shortcut="hours",
        title="Opening hours",
        text="Open 9 to 4.",
        translations={"es": ("Horario", "Abierto de 9 a 4.")},
        now=utc_now(),
    )
    assert (
        await db.run(load_starter_translations, language="es", starters=SPANISH, now=utc_now())
        == []
    )
    assert (await translations(db))["hours"]["es"]["text"] == "Abierto de 9 a 4."

    # Saving without translations keeps them; an empty set removes them.
    await db.run(
        save_canned,
        by=sam,
        canned_id=hours.id,
        shortcut="hours",
        title="Opening hours",
        text="Open 9 to 5.",
        now=utc_now(),
    )
    assert (await translations(db))["hours"]["es"]["text"] == "Abierto de 9 a 4."
    await db.run(
        save_canned,
        by=sam,
        canned_id=hours.id,
        shortcut="hours",
        title="Opening hours",
        text="Open 9 to 5.",
        translations={},
        now=utc_now(),
    )
    assert (await translations(db))["hours"] == {}
