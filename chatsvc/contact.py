"""A resident's contact details, checked the same way wherever they come from."""

from __future__ import annotations

import re

MAX_EMAIL_CHARS = 254

_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"]+@[^@\s<>()\[\],;:\"]+\.[^@\s<>()\[\],;:\".]{2,}$")


def clean_email(value: str) -> str:
    """Check an email address and return it without surrounding spaces; ValueError if not one."""
    value = value.strip()
    if len(value) > MAX_EMAIL_CHARS:
        raise ValueError(f"must be at most {MAX_EMAIL_CHARS} characters")
    if not _EMAIL.match(value):
        raise ValueError("enter an email address like name@example.com")
    return value
