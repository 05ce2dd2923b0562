"""docs/protocol/ describes every event the server sends, with every field of its schema.

The schemas (`chatsvc/transport/wire.py`) are held to real traffic by the realtime tests; these
tests hold the documents to the schemas. Each namespace's document has a "Server → client
events" section with one "### `name`" heading per event, and an "Objects" section with one
"### Name" heading per named object (a model's `object_name`). A field is described when its
name appears quoted (`name` or "name") in the section of the model that holds it: its event's,
its named object's, or for an unnamed nested object, the section of the model that holds it.
"""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

import pytest
from pydantic import BaseModel

from chatsvc.transport.wire import AGENT, EVENTS, RESIDENT, Namespace, Typing, Wire

DOCS = Path(__file__).resolve().parents[2] / "docs" / "protocol"
DOCUMENTS: dict[Namespace, Path] = {RESIDENT: DOCS / "resident.md", AGENT: DOCS / "agent.md"}
SERVER_EVENTS = "Server → client events"
OBJECTS = "Objects"
EVENT_HEADING = re.compile(r"`(\w+)`")


def sections(text: str, level: int) -> dict[str, str]:
    """Split Markdown into {heading: body} at headings of exactly `level` (outside code)."""
    marker = "#" * level + " "
    found: dict[str, str] = {}
    heading: str | None = None
    body: list[str] = []
    fenced = False
    for line in [*text.splitlines(), marker + "(end)"]:
        if line.startswith("```"):
            fenced = not fenced
        hashes = re.match(r"(#+) ", line)
        if not fenced and hashes and len(hashes.group(1)) <= level:
            if heading is not None:
                assert heading not in found, f"two sections named {heading!r}"
                found[heading] = "\n".join(body)
            # A heading of a higher level ends the section without starting one.
            heading = line[len(marker) :].strip() if line.startswith(marker) else None
            body = []
        elif heading is not None:
            body.append(line)
    return found


def documented_events(text: str) -> dict[str, str]:
    """The server → client events a document describes: {event name: its section}."""
    events: dict[str, str] = {}
    for heading, body in sections(sections(text, 2).get(SERVER_EVENTS, ""), 3).items():
        match = EVENT_HEADING.fullmatch(heading)
        assert match, f"{heading!r}: an event's heading is its name in backquotes"
        events[match.group(1)] = body
    return events


def documented_objects(text: str) -> dict[str, str]:
    return sections(sections(text, 2).get(OBJECTS, ""), 3)


def mentions(section: str, name: str) -> bool:
    return re.search(rf"[`\"]{re.escape(name)}[`\"]", section) is not None


def nested_models(annotation: object) -> list[type[BaseModel]]:
    """The models inside a field's type (`Chat | None`, `list[Agent]`, `dict[str, Topic]`)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        return [m for arg in typing.get_args(annotation) for m in nested_models(arg)]
    return []


def named_bases(model: type[BaseModel]) -> list[type[Wire]]:
    """The named objects a model extends (a Queue entry is a Chat plus two fields)."""
    return [
        base
        for base in model.__mro__[1:]
        if isinstance(base, type) and issubclass(base, Wire) and base.object_name
    ]


def undescribed(
    model: type[BaseModel], where: str, section: str, objects: dict[str, str], seen: set[type]
) -> list[str]:
    """What of `model` (and the models it holds) its document does not describe."""
    problems: list[str] = []
    name = model.object_name if issubclass(model, Wire) else None
    if name:
        if model in seen:
            return []
        seen.add(model)
        if name not in objects:
            return [f"{where}: the object {name!r} has no '### {name}' under '## {OBJECTS}'"]
        where, section = f"object {name!r}", objects[name]
    inherited = {f for base in named_bases(model) for f in base.model_fields}
    for base in named_bases(model):
        problems += undescribed(base, where, section, objects, seen)
    for field, info in model.model_fields.items():
        if field in inherited:
            continue
        if not mentions(section, field):
            problems.append(
                f"{where}: the field `{field}` of wire.{model.__name__} is not described"
            )
        for inner in nested_models(info.annotation):
            problems += undescribed(inner, where, section, objects, seen)
    return problems


def problems_of(
    namespace: Namespace, text: str, events: dict[tuple[Namespace, str], type[Wire]]
) -> list[str]:
    """Everything a namespace's document and the event registry disagree on."""
    sent = {event: model for (ns, event), model in events.items() if ns == namespace}
    described = documented_events(text)
    objects = documented_objects(text)
    problems = [f"`{e}` is documented but not in wire.EVENTS" for e in described.keys() - sent]
    seen: set[type] = set()
    for event, model in sorted(sent.items()):
        if event not in described:
            problems.append(f"`{event}` has no '### `{event}`' under '## {SERVER_EVENTS}'")
            continue
        if model.object_name and model.object_name not in described[event]:
            problems.append(f"`{event}` does not say its payload is a {model.object_name}")
        problems += undescribed(model, f"event `{event}`", described[event], objects, seen)
    return problems


@pytest.mark.parametrize("namespace", [RESIDENT, AGENT])
def test_every_event_and_field_is_documented(namespace: Namespace) -> None:
    text = DOCUMENTS[namespace].read_text(encoding="utf-8")
    assert problems_of(namespace, text, EVENTS) == []


def test_a_field_added_without_its_description_fails() -> None:
    class LouderTyping(Typing):
        volume: int

    text = DOCUMENTS[RESIDENT].read_text(encoding="utf-8")
    events = {**EVENTS, (RESIDENT, "typing"): LouderTyping}
    assert problems_of(RESIDENT, text, events) == [
        "event `typing`: the field `volume` of wire.LouderTyping is not described"
    ]


def test_an_event_documented_but_never_sent_fails() -> None:
    text = DOCUMENTS[RESIDENT].read_text(encoding="utf-8")
    events = {key: model for key, model in EVENTS.items() if key != (RESIDENT, "hours")}
    assert problems_of(RESIDENT, text, events) == ["`hours` is documented but not in wire.EVENTS"]


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    found: set[str] = set()
    fenced = False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"#+ (.*)", line)):
            base = slug(match.group(1))
            name, n = base, 0
            while name in found:
                n += 1
                name = f"{base}-{n}"
            found.add(name)
    return found


@pytest.mark.parametrize("document", sorted(DOCS.glob("*.md")), ids=lambda p: p.name)
def test_links_between_the_documents_lead_somewhere(document: Path) -> None:
    text = document.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://", "mailto:", "tel:")) or "…" in target:
            continue
        path, _, anchor = target.partition("#")
        linked = (document.parent / path) if path else document
        assert linked.is_file(), f"{document.name}: {target} leads nowhere"
        if anchor:
            assert anchor in anchors(linked.read_text(encoding="utf-8")), (
                f"{document.name}: {target} has no such heading"
            )
