"""What a test does when an outside part it needs is not on this machine.

A developer without PostgreSQL, Redis, nginx or `../shared` gets a skip that says what to
install; CI (where `CI` is set) must have them all, so there the same absence fails loudly
instead of passing silently.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() not in ("", "0", "false")


def missing(reason: str) -> NoReturn:
    """Skip the test for `reason`; under CI fail it."""
    if in_ci():
        pytest.fail(f"{reason} (CI must have it)", pytrace=False)
    pytest.skip(reason)
