"""The service's fixed lines in the residents' languages, from gettext catalogues.

The code writes its lines in English (the msgids); a translator edits
`chatsvc/locale/<lang>/LC_MESSAGES/chatsvc.po` (the mails: `mail.po`), read with Babel once
per process (no compile step). A line missing from a catalogue, untranslated or marked fuzzy,
is said in English.
Placeholders are `{name}`, filled after translation: `translate("es", "Call {phone}.", phone=...)`.
"""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from babel.messages.pofile import read_po

log = logging.getLogger(__name__)

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "chatsvc"
SOURCE_LANGUAGE = "en"


@functools.cache
def catalogue(language: str, domain: str = DOMAIN) -> dict[str, str]:
    """msgid -> translation for `language` (empty for English or a language with no catalogue).

    `domain` names the catalogue file: "chatsvc" (the chat's lines), "mail" (the mails) or
    "help" (the help center's pages)."""
    path = LOCALE_DIR / language / "LC_MESSAGES" / f"{domain}.po"
    if language == SOURCE_LANGUAGE or not path.is_file():
        return {}
    with path.open("rb") as handle:
        read = read_po(handle, locale=language, domain=domain)
    return {
        str(message.id): str(message.string)
        for message in read
        if message.id and isinstance(message.id, str) and message.string and not message.fuzzy
    }


def languages() -> tuple[str, ...]:
    """The languages with a catalogue, English first."""
    found = sorted(p.name for p in LOCALE_DIR.iterdir() if (p / "LC_MESSAGES").is_dir())
    return (SOURCE_LANGUAGE, *[code for code in found if code != SOURCE_LANGUAGE])


def translate(language: str, msgid: str, **values: object) -> str:
    """`msgid` in `language` (English if it has no translation), placeholders filled."""
    return translate_in(DOMAIN, language, msgid, **values)


def translate_in(domain: str, language: str, msgid: str, **values: object) -> str:
    """`translate` from another catalogue (`domain`: "mail" for the mails, "help" for the help
    center). Not a `domain=` keyword of `translate`: that would take the name from its
    placeholders."""
    text = catalogue(language, domain).get(msgid, msgid)
    return text.format(**values) if values else text


__all__ = ["catalogue", "languages", "translate", "translate_in"]
