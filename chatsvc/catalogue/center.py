"""The city and its service center, as residents and staff read them: knowledge_base/center.toml.

Every name, number and address the service writes about the city itself comes from here, so
another city runs the service by editing this file (and its articles), not the code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formataddr
from typing import Any

TEXT_KEYS = (
    "city",
    "region",
    "name",
    "phone",
    "phone_tel",
    "email",
    "website",
    "app_name",
    "chat_name",
    "assistant_name",
)
LIST_KEYS = ("address", "signature")
# The city's look on the help center's pages and the demo page (optional).
LOOK_KEYS = ("accent", "logo")
DEFAULT_ACCENT = "#00558c"
HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
PHONE_TEL = re.compile(r"^\+[1-9][0-9]{6,14}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True)
class Center:
    """Who runs the chat: the city, its service center and how to reach them."""

    city: str  # the city's full name, "City of ..."
    region: str  # the state or province
    name: str  # the center's name
    phone: str  # as people read it
    phone_tel: str  # E.164, for tel: links
    email: str
    website: str
    app_name: str  # the residents' mobile app
    chat_name: str  # signs the chat's system messages
    assistant_name: str  # signs the assistant's messages and the requests it files
    address: tuple[str, ...]
    signature: tuple[str, ...]  # the lines under a mail
    accent: str = DEFAULT_ACCENT  # the city's colour (#rrggbb): page headers, buttons, the widget
    logo: str = ""  # the city's logo (an https:// or /path URL); none: the city's initial

    @property
    def full_name(self) -> str:
        """The center with its city, as a mail or Open311 names it."""
        return f"{self.city} {self.name}"

    @property
    def place(self) -> str:
        """The city's own name, as in "Pasadena's streets": its name without "City of"."""
        for prefix in ("City of ", "Town of ", "Village of "):
            if self.city.startswith(prefix):
                return self.city.removeprefix(prefix)
        return self.city

    @property
    def tel_link(self) -> str:
        return f"tel:{self.phone_tel}"

    def mail_from(self, address: str = "no-reply@localhost") -> str:
        """A From header naming the center, for when CHATSVC_MAIL_FROM is not set."""
        return formataddr((self.name, address))

    def mail_reply_to(self) -> str:
        """A Reply-To header naming the center at its own email, for when
        CHATSVC_MAIL_REPLY_TO is not set."""
        return formataddr((self.name, self.email))

    def public(self) -> dict[str, str]:
        """What a resident's front end may show: names and how to reach the center."""
        return {
            "city": self.city,
            "name": self.name,
            "chat_name": self.chat_name,
            "assistant_name": self.assistant_name,
            "phone": self.phone,
            "phone_tel": self.phone_tel,
            "email": self.email,
            "website": self.website,
        }


def parse_center(
    data: dict[str, Any], line_of: Callable[[str], int | None]
) -> tuple[Center | None, list[tuple[int | None, str]]]:
    """Check center.toml's table; return the center, or None and (line, problem) pairs."""
    problems: list[tuple[int | None, str]] = []
    known = set(TEXT_KEYS) | set(LIST_KEYS) | set(LOOK_KEYS)
    for key in data:
        if key not in known:
            known_keys = ", ".join(sorted(known))
            problems.append((line_of(key), f"unknown key {key!r} (known: {known_keys})"))
    texts: dict[str, str] = {}
    for key in TEXT_KEYS:
        value = data.get(key)
        if not isinstance(value, str) or not value.strip():
            where = line_of(key) if key in data else None
            problems.append((where, f"{key} must be a non-empty string"))
        else:
            texts[key] = value.strip()
    lists: dict[str, tuple[str, ...]] = {}
    for key in LIST_KEYS:
        value = data.get(key)
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            where = line_of(key) if key in data else None
            problems.append((where, f"{key} must be a list of non-empty lines"))
        else:
            lists[key] = tuple(v.strip() for v in value)
    if "phone_tel" in texts and not PHONE_TEL.match(texts["phone_tel"]):
        problems.append((line_of("phone_tel"), "phone_tel must be E.164: +, country code, number"))
    if "email" in texts and not EMAIL.match(texts["email"]):
        problems.append((line_of("email"), "email must be an address"))
    if "website" in texts and not texts["website"].startswith(("https://", "http://")):
        problems.append((line_of("website"), "website must start with https://"))
    look: dict[str, str] = {}
    accent = data.get("accent", DEFAULT_ACCENT)
    if not isinstance(accent, str) or not HEX_COLOUR.match(accent):
        problems.append((line_of("accent"), 'accent must be a colour like "#00558c"'))
    else:
        look["accent"] = accent.lower()
    logo = data.get("logo", "")
    bad_logo = not isinstance(logo, str) or (
        bool(logo)
        and (not logo.startswith(("https://", "http://", "/")) or any(c in logo for c in "\"' <>"))
    )
    if bad_logo:
        problems.append((line_of("logo"), "logo must be an https:// address or a /path"))
    else:
        look["logo"] = logo
    if problems:
        return None, problems
    center = Center(**texts, address=lists["address"], signature=lists["signature"], **look)
    return center, []
