"""The widget's Spanish catalogue is a gettext file Babel reads as the server's catalogues are
read (the widget's own build reads it with gettext-parser: widget/test/i18n.test.js)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

WIDGET_PO = Path(__file__).parents[2] / "chatsvc" / "locale" / "es" / "LC_MESSAGES" / "widget.po"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def test_babel_reads_the_widget_catalogue_whole() -> None:
    pofile = pytest.importorskip("babel.messages.pofile", reason="Babel comes with es-matcher")
    with WIDGET_PO.open("rb") as handle:
        catalog = pofile.read_po(handle, locale="es")
    assert catalog.num_plurals == 2
    messages = [m for m in catalog if m.id]
    assert len(messages) > 150
    for message in messages:
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"untranslated: {ids[0]!r}"
        wanted = {p for p in PLACEHOLDER.findall(ids[-1]) if p != "count"}
        for text in strings:
            assert {p for p in PLACEHOLDER.findall(text) if p != "count"} == wanted, ids[0]
