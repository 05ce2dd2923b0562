"""Checking the details of a service request, the same way from chat, the pane and Open311."""

from __future__ import annotations

import re

from rapidfuzz import fuzz

from chatsvc.bot.text import normalize
from chatsvc.catalogue.knowledge import FieldSpec
from chatsvc.i18n import translate

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# "y" / "entre" / "esquina": a crossing said in Spanish ("Lake Ave y Colorado Blvd").
INTERSECTION = re.compile(r"\b(and|corner of|between|y|entre|esquina)\b|&|/|@")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
LIST_MATCH_MIN = 80


class FieldInvalid(ValueError):
    """An answer a field does not accept; the message says what would be accepted."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def clean_value(spec: FieldSpec, raw: object, language: str = "en") -> str:
    """Check one field's answer and return it as stored (a list value gives its key).

    `spec` is worded in `language` (KnowledgeBase.localized_field), and so are the messages.
    """

    def refuse(msgid: str, **values: object) -> FieldInvalid:
        return FieldInvalid(spec.name, translate(language, msgid, label=spec.label, **values))

    if not isinstance(raw, str):
        raise refuse("{label} must be text.")
    text = CONTROL.sub("", raw).strip()
    if spec.datatype != "text":
        text = " ".join(text.split())
    if not text:
        raise refuse("{label} is required.")
    if spec.datatype == "singlevaluelist":
        key = _list_value(spec, text)
        if key is None:
            choices = ", ".join(option.name for option in spec.values)
            raise refuse("{label} must be one of: {choices}.", choices=choices)
        return key
    if spec.datatype == "number":
        if not NUMBER.match(text):
            raise refuse("{label} must be a number.")
        return text
    if len(text) < spec.min_length:
        raise refuse(
            "{label} is too short: please give at least {count} characters.",
            count=spec.min_length,
        )
    if len(text) > spec.max_length:
        raise refuse(
            "{label} is too long: at most {count} characters, please.", count=spec.max_length
        )
    if spec.pattern and not re.fullmatch(spec.pattern, text):
        hint = spec.pattern_hint or translate(language, "it is not in the expected form")
        raise refuse("That doesn't look right: {hint}.", hint=hint)
    if spec.open311 == "address_string" and not looks_like_address(text):
        raise refuse(
            "Please give a street address with a number (100 N Garfield Ave) or two streets "
            "that cross (Lake Ave and Colorado Blvd)."
        )
    return text


def looks_like_address(text: str) -> bool:
    """Tell whether text names a place a crew can find: a number and a street, or a crossing.

    A street name alone ("Hill Ave") is refused: it can be miles long.
    """
    if not any(ch.isalpha() for ch in text):
        return False
    return any(ch.isdigit() for ch in text) or INTERSECTION.search(text.lower()) is not None


def describe_value(spec: FieldSpec, value: str) -> str:
    """Say a stored value as people read it (a list key gives its name)."""
    for option in spec.values:
        if option.key == value:
            return option.name
    return value


def _list_value(spec: FieldSpec, text: str) -> str | None:
    """The key of the option `text` names, or None when it names none clearly."""
    wanted = normalize(text)
    for option in spec.values:
        if wanted in (option.key, normalize(option.key.replace("-", " ")), normalize(option.name)):
            return option.key
    # "el bote azul": one option's own words, as whole words, and no other option's.
    padded = f" {wanted} "
    said = {
        option.key
        for option in spec.values
        if any(f" {normalize(word)} " in padded for word in option.words)
    }
    if len(said) == 1:
        return said.pop()
    # "the blue one", "recycle bin", "green": the best option by words, if clearly best.
    scores = sorted(
        (
            max(
                fuzz.partial_ratio(normalize(option.key.replace("-", " ")), wanted),
                fuzz.token_set_ratio(normalize(option.name), wanted),
            ),
            option.key,
        )
        for option in spec.values
    )
    best, key = scores[-1]
    runner_up = scores[-2][0] if len(scores) > 1 else 0
    return key if best >= LIST_MATCH_MIN and best > runner_up else None
