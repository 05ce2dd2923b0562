"""What a request's input must be: its topic, its fields, where it is and who to tell.

Pure checks on plain values; they raise InvalidRequest (naming the field to blame) or NotFound.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from chatsvc.actions.service_requests.views import Contact
from chatsvc.catalogue.fields import FieldInvalid, clean_value
from chatsvc.catalogue.knowledge import KnowledgeBase, Topic
from chatsvc.contact import clean_email
from chatsvc.errors import ChatError, NotFound


class InvalidRequest(ChatError):
    """A request (or a change to one) that cannot be made as given; `field` says which part."""

    code = "invalid_request"


@dataclass
class Checked:
    """A request's values, checked: where it is, what it is, and the topic's other fields."""

    address: str | None = None
    description: str = ""
    attributes: dict[str, str] = field(default_factory=dict)


def request_topic(kb: KnowledgeBase, code: object) -> Topic:
    """Return the request topic with this service code, or raise NotFound."""
    topic = kb.topics.get(code) if isinstance(code, str) else None
    if topic is None or not topic.is_request:
        raise NotFound(f"There is no service with the code {code!r}.")
    return topic


def check_values(
    kb: KnowledgeBase, topic: Topic, values: Mapping[str, object], *, has_location: bool = False
) -> Checked:
    """Check every field the topic asks for; raise InvalidRequest naming the first bad one.

    `has_location` (a latitude and longitude were given) makes the address optional.
    """
    checked = Checked()
    known = set(topic.field_names)
    for name in values:
        # Any request may carry a description, even where the topic does not ask for one
        # (Open311 always has the field): create_service_request keeps it.
        if name not in known and name != "description":
            raise InvalidRequest(
                f"{topic.name} requests have no field {name!r}.", field=name, code="unknown_field"
            )
    for name in topic.field_names:
        spec = kb.fields[name]
        raw = values.get(name)
        if spec.datatype == "photo":
            continue  # photos come as uploads or a media_url, not as values
        required = topic.is_required(name) and not (
            spec.open311 == "address_string" and has_location
        )
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if required:
                raise InvalidRequest(f"{spec.label} is required.", field=name, code="missing_field")
            continue
        try:
            value = clean_value(spec, raw)
        except FieldInvalid as exc:
            raise InvalidRequest(exc.message, field=name) from None
        if spec.open311 == "address_string":
            checked.address = value
        elif spec.open311 == "description":
            checked.description = value
        else:
            checked.attributes[name] = value
    return checked


def clean_location(lat: float | None, long: float | None) -> tuple[float | None, float | None]:
    if lat is None and long is None:
        return None, None
    if lat is None or long is None:
        raise InvalidRequest("Give both lat and long, or neither.", field="lat")
    if not (-90 <= lat <= 90 and -180 <= long <= 180):
        raise InvalidRequest("lat must be within ±90 and long within ±180.", field="lat")
    return lat, long


def clean_contact(contact: Contact) -> Contact:
    name = clean_text(contact.name, "name", 100)
    phone = clean_text(contact.phone, "phone", 40)
    email = None
    if contact.email is not None and contact.email.strip():
        try:
            email = clean_email(contact.email)
        except ValueError as exc:
            raise InvalidRequest(f"email: {exc}", field="email") from None
    if phone is not None and not re.fullmatch(r"[0-9+()\-. x]{7,40}", phone):
        raise InvalidRequest("phone must be a phone number like (555) 555-0100.", field="phone")
    return Contact(name, email, phone)


def clean_media_url(url: str | None) -> str | None:
    url = clean_text(url, "media_url", 1000)
    if url is not None and not re.match(r"^https?://[^\s<>\"]+$", url):
        raise InvalidRequest("media_url must be an http or https address.", field="media_url")
    return url


def clean_text(value: str | None, name: str, limit: int) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be text.", field=name)
    value = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", value).strip()
    if len(value) > limit:
        raise InvalidRequest(f"{name} must be at most {limit:,} characters.", field=name)
    return value or None
