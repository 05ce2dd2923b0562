"""The starter canned responses: knowledge_base/canned.toml, loaded into a new installation once.

A text may name the center's facts in braces ({phone}, {hours}…): they are filled in from
center.toml and the business hours when the set is loaded, so another city's installation starts
with its own number and hours. From then on supervisors keep the responses in the pane.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chatsvc.catalogue.center import Center

SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")  # as the pane's canned_save accepts
TITLE_MAX = 100
# A response is a chat message (4,000 characters at most) once its placeholders are filled in.
TEXT_MAX = 3500
PLACEHOLDER = re.compile(r"\{([a-z_]*)\}")
PLACEHOLDERS = {
    "city": "the city's full name (center.toml's city)",
    "center": "the center's name (center.toml's name)",
    "phone": "the center's phone number (center.toml's phone)",
    "email": "the center's email address (center.toml's email)",
    "website": "the city's website (center.toml's website)",
    "app_name": "the residents' app (center.toml's app_name)",
    "hours": "the business hours in words (CHATSVC_BUSINESS_HOURS)",
}
KEYS = ("shortcut", "title", "text")


@dataclass(frozen=True)
class StarterCanned:
    """One starter response; `text` may hold {placeholders}."""

    shortcut: str
    title: str
    text: str

    def filled(self, values: Mapping[str, str]) -> str:
        """The text with its placeholders replaced by `values`."""
        return PLACEHOLDER.sub(lambda m: values[m.group(1)], self.text)


def placeholder_values(center: Center, hours: str) -> dict[str, str]:
    """What each placeholder stands for at this installation."""
    return {
        "city": center.city,
        "center": center.name,
        "phone": center.phone,
        "email": center.email,
        "website": center.website,
        "app_name": center.app_name,
        "hours": hours,
    }


def parse_canned(
    data: dict[str, Any], line_of: Callable[[str], int | None]
) -> tuple[tuple[StarterCanned, ...], list[tuple[int | None, str]]]:
    """Check canned.toml's [[canned]] tables; return the responses and (line, problem) pairs."""
    problems: list[tuple[int | None, str]] = []
    for key in data:
        if key != "canned":
            problems.append((line_of(key), f"unknown key {key!r} (write [[canned]] tables)"))
    tables = data.get("canned", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        problems.append((line_of("canned"), "canned must be [[canned]] tables"))
        return (), problems
    found: list[StarterCanned] = []
    seen: set[str] = set()
    for table in tables:
        shortcut = table.get("shortcut")
        where = line_of(f'"{shortcut}"') if isinstance(shortcut, str) else line_of("[[canned]]")
        label = f"canned /{shortcut}" if isinstance(shortcut, str) else "a [[canned]] table"
        before = len(problems)
        for key in table:
            if key not in KEYS:
                problems.append((where, f"{label}: unknown key {key!r} (known: {', '.join(KEYS)})"))
        if not isinstance(shortcut, str) or not SHORTCUT.match(shortcut):
            problems.append(
                (where, f'{label}: shortcut must be 1 to 32 of a-z, 0-9, - and _, e.g. "hours"')
            )
        elif shortcut in seen:
            problems.append((where, f"{label}: the shortcut is used twice"))
        else:
            seen.add(shortcut)
        title, text = table.get("title"), table.get("text")
        if not isinstance(title, str) or not title.strip() or "\n" in title:
            problems.append((where, f"{label}: title must be one line of text"))
        elif len(title.strip()) > TITLE_MAX:
            problems.append((where, f"{label}: title must be at most {TITLE_MAX} characters"))
        if not isinstance(text, str) or not text.strip():
            problems.append((where, f"{label}: text must be a non-empty string"))
        else:
            if len(text) > TEXT_MAX:
                problems.append((where, f"{label}: text must be at most {TEXT_MAX:,} characters"))
            for name in PLACEHOLDER.findall(text):
                if name not in PLACEHOLDERS:
                    known = ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
                    problems.append((where, f"{label}: unknown placeholder {{{name}}} ({known})"))
            if PLACEHOLDER.sub("", text).count("{") or PLACEHOLDER.sub("", text).count("}"):
                problems.append((where, f"{label}: a brace that is not a placeholder"))
        if len(problems) == before:
            assert isinstance(shortcut, str) and isinstance(title, str) and isinstance(text, str)
            found.append(StarterCanned(shortcut, title.strip(), text.strip()))
    return (tuple(found), problems) if not problems else ((), problems)
