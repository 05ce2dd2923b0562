"""The assistant's two dialogues: filing a service request, and looking one up.

A dialogue's state is a small JSON document kept on the conversation between messages. Every
function here is pure: it takes that state and the resident's words and returns what to say,
the next state, and what (if anything) the caller must do with the database: file the request,
or look one up. The caller does it and words the outcome with `filed` or `status_answer`.

States:
    {"kind": "offer", "topic": code}                     a request was offered after an answer
    {"kind": "file", "topic": code, "step": field name | "confirm" | "edit",
     "values": {field: value}, "photos": [ids], "editing": bool}
    {"kind": "status", "number": str | None}              waiting for the number or the email
Every state may carry "lookups": how many status lookups this chat made (to stop guessing).

A chat asks about the requests it filed itself (the caller lists them as `FiledHere`) without
giving their number or email: it was told the number when they were filed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from chatsvc.bot.text import normalize
from chatsvc.catalogue.fields import FieldInvalid, clean_value, describe_value
from chatsvc.catalogue.knowledge import FieldSpec, KnowledgeBase, Topic
from chatsvc.contact import clean_email
from chatsvc.hours import end_sentence

FILE_A_REQUEST = "File a request"
CONFIRM, EDIT, CANCEL, SKIP, BACK = "Confirm", "Edit", "Cancel", "Skip", "Back to summary"
PHOTO_LABEL = "Add a photo"
MAX_LOOKUPS = 5
MAX_PHOTOS = 5  # as many as a request keeps (service_requests.photos.MAX_PHOTOS_PER_REQUEST)
NUMBER = re.compile(r"\b(\d{2})\s*-?\s*(\d{5,9})\b")
EMAIL = re.compile(r"[^\s@<>()\[\],;:\"]+@[^\s@<>()\[\],;:\"]+")

CANCEL_WORDS = {
    "cancel", "stop", "quit", "never mind", "nevermind", "forget it", "cancel request",
    "cancel it", "dont file it", "do not file it", "no thanks", "no thank you", "abort",
}  # fmt: skip
YES_WORDS = {
    "yes", "y", "yeah", "yep", "sure", "ok", "okay", "please", "yes please", "go ahead",
    "do it", "file it", "confirm", "submit", "send", "send it", "correct", "looks good",
    "thats right", "that is right", "right", "yes file it", "file a request", "file request",
}  # fmt: skip
SKIP_WORDS = {"skip", "no", "none", "no photo", "no thanks", "nope", "n a", "na", "not now"}
EDIT_WORDS = {"edit", "change", "change something", "fix", "modify", "no change it"}


@dataclass(frozen=True)
class Filing:
    """A request the resident confirmed: the caller files it and words the outcome."""

    topic: str
    values: dict[str, str]
    photo_ids: tuple[int, ...]


@dataclass(frozen=True)
class Lookup:
    """A status lookup to make: the number and email the resident gave.

    No email (None) for a request this chat filed: it was told the number then, and needs no
    proof that the request is its own.
    """

    number: str
    email: str | None
    maybe_other: bool = False  # their words named another topic: say how to ask about that


@dataclass(frozen=True)
class FiledHere:
    """A request filed in this chat (by the assistant or an agent), newest first in lists."""

    number: str
    topic: str  # its topic's code
    name: str  # its topic's name, to tell several apart


@dataclass(frozen=True)
class Turn:
    """What the assistant says in a dialogue, and what follows from it."""

    text: str
    state: dict[str, Any] | None  # the dialogue's next state (None: no dialogue)
    quick_replies: tuple[tuple[str, str], ...] = ()
    offers_photo: bool = False
    filing: Filing | None = None
    lookup: Lookup | None = None
    topic: str | None = None
    decision: dict[str, Any] = field(default_factory=dict)


def offer_text(topic: Topic) -> str:
    """The line added under an answer about a request topic."""
    return f"Would you like me to file a **{topic.name}** request for you now?"


def offer_replies(topic: Topic) -> tuple[tuple[str, str], ...]:
    return ((FILE_A_REQUEST, f"{FILE_A_REQUEST}: {topic.name}"),)


def offer_state(topic: Topic, previous: dict[str, Any] | None) -> dict[str, Any]:
    return _keep_lookups({"kind": "offer", "topic": topic.code}, previous)


def wants_to_file(text: str, kb: KnowledgeBase, current: str | None = None) -> Topic | None:
    """Tell which request topic "File a request: <topic name>" asks for, if it does.

    A bare "file a request" means the chat's current topic, when that is a request topic.
    """
    words = normalize(text)
    prefix = normalize(FILE_A_REQUEST)
    if not words.startswith(prefix):
        return None
    rest = words[len(prefix) :].strip()
    if not rest:
        topic = kb.topics.get(current or "")
        return topic if topic is not None and topic.is_request else None
    for topic in kb.topics.values():
        if topic.is_request and normalize(topic.name) == rest:
            return topic
    return None


def start_filing(topic: Topic, kb: KnowledgeBase, previous: dict[str, Any] | None = None) -> Turn:
    """Begin filing a request for `topic`: say what is needed and ask the first detail."""
    state = _keep_lookups(
        {"kind": "file", "topic": topic.code, "values": {}, "photos": [], "editing": False},
        previous,
    )
    intro = (
        f"Let's file a **{topic.name}** request. I'll ask for a few details; you can say "
        "**cancel** at any time."
    )
    return _ask_next(state, kb, intro)


def continue_dialogue(
    state: dict[str, Any] | None,
    text: str,
    kb: KnowledgeBase,
    *,
    resident_email: str,
    filed_here: Sequence[FiledHere] = (),
) -> Turn | None:
    """Answer the resident inside a dialogue; None when there is none or they left it."""
    if not state or state.get("kind") not in ("offer", "file", "status"):
        return None
    words = normalize(text)
    kind = state["kind"]
    if kind == "offer":
        topic = kb.topics.get(state.get("topic", ""))
        chosen = wants_to_file(text, kb)
        if topic is not None and (words in YES_WORDS or chosen == topic):
            return start_filing(topic, kb, state)
        return None  # anything else is a new question: the assistant answers it as usual
    if kind == "status":
        return _continue_status(state, text, words, resident_email, filed_here)
    return _continue_filing(state, text, words, kb)


def after_photo(state: dict[str, Any] | None, photo_id: int, kb: KnowledgeBase) -> Turn | None:
    """Take a photo the resident uploaded into the request being filed; None if none is."""
    if not state or state.get("kind") != "file":
        return None
    topic = kb.topics.get(state.get("topic", ""))
    if topic is None or "photo" not in topic.field_names:
        return None
    state = _copy(state)
    state["photos"] = [*state.get("photos", []), photo_id]
    if state.get("step") == "photo":
        state["values"]["photo"] = "yes"
    return _ask_next(state, kb, "Thank you, I have the photo.")


def wants_photo(state: dict[str, Any] | None, kb: KnowledgeBase) -> bool:
    """Tell whether the request being filed takes a photo now (its photo step or its summary)."""
    if not state or state.get("kind") != "file":
        return False
    topic = kb.topics.get(state.get("topic", ""))
    return (
        topic is not None
        and "photo" in topic.field_names
        and state.get("step") in ("photo", "confirm")
        and len(state.get("photos", [])) < MAX_PHOTOS
    )


def end_dialogue(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """Leave any dialogue (the resident asked something else), keeping the lookup count."""
    return _clear(state) if state else None


def summary_replies() -> tuple[tuple[str, str], ...]:
    return ((CONFIRM, CONFIRM), (EDIT, EDIT), (CANCEL, CANCEL))


def filed(number: str, topic: Topic, expected: str, email: str | None) -> str:
    """Tell the resident their request is filed, with its number and expected date."""
    mail = f" I've emailed a confirmation to {_md(email)}." if email else ""
    return (
        f"Your **{topic.name}** request is filed. Its number is **{number}**.\n\n"
        f"{end_sentence(f'We expect it to be done by **{expected}**')}{mail} To check on it "
        f'later, ask me for the "status of {number}".'
    )


def filing_refused(phone: str, wait: str) -> str:
    """Tell the resident no more requests are filed in the chat from their address today."""
    return (
        "I can't file more requests from your internet connection today: several were filed "
        f"from it in the last 24 hours. Please call us at {phone} and we'll take it by phone, "
        f"or try again {wait}. You can also ask to talk to a person."
    )


def lookups_refused(phone: str, wait: str) -> str:
    """Tell the resident no more status lookups are made from their address today."""
    return (
        "I can't look up more requests from your internet connection today: several numbers "
        f"and emails that didn't match were tried from it. Please call us at {phone}, or try "
        f"again {wait}. You can also ask to talk to a person."
    )


def status_answer(
    number: str,
    found: dict[str, Any] | None,
    *,
    phone: str,
    others: bool = False,
) -> str:
    """Word a lookup's outcome; the same neutral words for a wrong email and an unknown number.

    With `others`, the resident may have meant a request this chat did not file: say how to ask
    about that one.
    """
    if found is None:
        return (
            "I couldn't find a request with that number and email address. Please check both: "
            "the number looks like 26-000123 and is in your confirmation email. You can also "
            f"ask to talk to a person, or call us at {phone}."
        )
    lines = [f"Request **{number}** ({found['service_name']}) is **{found['status_label']}**."]
    if found["status"] == "referred":
        lines.append(f"It was referred to **{_md(found['referred_to'] or '')}**.")
        if found.get("next_steps"):
            lines.append(f"Next steps: {_md(found['next_steps'])}")
    elif found["status"] in ("open", "in_progress"):
        lines.append(end_sentence(f"We expect it to be done by {found['expected']}"))
    if found.get("note"):
        lines.append(f"Latest update: {_md(found['note'])}")
    if others:
        lines.append("If you meant another request, tell me its number.")
    return "\n\n".join(lines)


def start_status(
    number: str | None,
    previous: dict[str, Any] | None,
    *,
    resident_email: str,
    phone: str,
    filed_here: Sequence[FiledHere] = (),
    about: Sequence[str] = (),
) -> Turn:
    """Begin a status lookup: ask for what is missing of the number and the email.

    A chat that filed requests asks about its own without either: the one it names by number
    or by topic (`about`: the topics the matcher found in the question, best first), the only
    one, or, of several, the one the resident picks from a list naming them.
    """
    state = _keep_lookups({"kind": "status", "number": _canonical(number)}, previous)
    own = _own_request(state, filed_here, about)
    if own is not None:
        return own
    if state.get("lookups", 0) >= MAX_LOOKUPS:
        return Turn(
            "I can't look up more requests in this chat. Please ask to talk to a person, or call "
            f"us at {phone}.",
            _keep_lookups({}, previous),
        )
    if state["number"] is None:
        return Turn(
            "I can look that up. What is the request number? It looks like **26-000123** and "
            "is in the confirmation email we sent.",
            state,
            ((CANCEL, CANCEL),),
        )
    return _ask_email(state, resident_email)


# -- filing


def _continue_filing(state: dict[str, Any], text: str, words: str, kb: KnowledgeBase) -> Turn:
    topic = kb.topics.get(state.get("topic", ""))
    if topic is None:  # the topic left the catalogue while the resident was filing
        return Turn("Sorry, that kind of request can't be filed here anymore.", _clear(state))
    if words in CANCEL_WORDS:
        return Turn(
            "OK, I've cancelled it: nothing was filed. Is there anything else I can help with?",
            _clear(state),
        )
    step = state.get("step")
    if step == "confirm":
        if words in YES_WORDS:
            photos = tuple(int(p) for p in state.get("photos", []))
            values = {k: v for k, v in state["values"].items() if k != "photo"}
            return Turn("", _clear(state), filing=Filing(topic.code, values, photos))
        if words in EDIT_WORDS or words.startswith("change"):
            chosen = _field_named(words.removeprefix("change").strip(), topic, kb)
            if chosen:
                return _ask_field(_with(state, step=chosen, editing=True), kb, chosen, "")
            return _ask_what_to_edit(state, topic, kb)
        return Turn(
            "Please choose **Confirm** to file it, **Edit** to change a detail, or **Cancel**.",
            state,
            summary_replies(),
        )
    if step == "edit":
        if normalize(BACK) == words:
            return _summary(_with(state, step="confirm"), topic, kb)
        chosen = _field_named(words.removeprefix("change").strip(), topic, kb)
        if chosen is None:
            return _ask_what_to_edit(state, topic, kb, "Which detail? Choose one below.")
        return _ask_field(_with(state, step=chosen, editing=True), kb, chosen, "")
    if step is None or step not in kb.fields:
        return _ask_next(state, kb, "")
    spec = kb.fields[step]
    optional = not topic.is_required(step)
    if spec.datatype == "photo":
        if words in SKIP_WORDS or normalize(SKIP) == words:
            return _ask_next(_skip(state, step), kb, "OK, no photo.")
        return Turn(
            "Please use the **Add a photo** button to choose a picture, or say **skip**.",
            state,
            _field_replies(spec, optional=True),
            offers_photo=True,
        )
    if optional and (words in SKIP_WORDS or normalize(SKIP) == words):
        return _ask_next(_skip(state, step), kb, "OK, skipped.")
    try:
        value = clean_value(spec, text)
    except FieldInvalid as exc:
        retry = _ask_field(state, kb, step, f"{exc.message} {spec.question}")
        return Turn(retry.text, retry.state, retry.quick_replies, retry.offers_photo)
    state = _copy(state)
    state["values"][step] = value
    return _ask_next(state, kb, "")


def _ask_next(state: dict[str, Any], kb: KnowledgeBase, before: str) -> Turn:
    topic = kb.topics[state["topic"]]
    if state.get("editing"):
        return _summary(_with(state, step="confirm", editing=False), topic, kb, before)
    for name in topic.field_names:
        if name not in state["values"]:
            return _ask_field(_with(state, step=name), kb, name, before)
    return _summary(_with(state, step="confirm"), topic, kb, before)


def _ask_field(state: dict[str, Any], kb: KnowledgeBase, name: str, before: str) -> Turn:
    spec = kb.fields[name]
    topic = kb.topics[state["topic"]]
    optional = not topic.is_required(name)
    question = before if spec.question in before else _join(before, spec.question)
    if optional and spec.datatype != "photo":
        question += " (optional: say **skip** to leave it out)"
    return Turn(
        question,
        state,
        _field_replies(spec, optional=optional),
        offers_photo=spec.datatype == "photo",
        topic=topic.code,
    )


def _field_replies(spec: FieldSpec, *, optional: bool) -> tuple[tuple[str, str], ...]:
    replies = [(v.name, v.name) for v in spec.values]
    if optional:
        replies.append((SKIP, SKIP))
    replies.append((CANCEL, CANCEL))
    return tuple(replies)


def _summary(state: dict[str, Any], topic: Topic, kb: KnowledgeBase, before: str = "") -> Turn:
    lines = [f"Here is your **{topic.name}** request:", ""]
    for name in topic.field_names:
        spec = kb.fields[name]
        if spec.datatype == "photo":
            count = len(state.get("photos", []))
            shown = f"{count} photo{'s' if count != 1 else ''}" if count else "none"
        else:
            value = state["values"].get(name)
            shown = _md(describe_value(spec, value)) if value else "(skipped)"
        lines.append(f"- {spec.label}: {shown}")
    lines += ["", "Shall I file it?"]
    return Turn(_join(before, "\n".join(lines)), state, summary_replies(), topic=topic.code)


def _ask_what_to_edit(
    state: dict[str, Any], topic: Topic, kb: KnowledgeBase, text: str = ""
) -> Turn:
    replies = tuple(
        (f"Change {kb.fields[n].label.lower()}", f"Change {kb.fields[n].label.lower()}")
        for n in topic.field_names
        if kb.fields[n].datatype != "photo"
    )
    return Turn(
        text or "Which detail would you like to change?",
        _with(state, step="edit"),
        (*replies, (BACK, BACK)),
    )


def _field_named(words: str, topic: Topic, kb: KnowledgeBase) -> str | None:
    for name in topic.field_names:
        spec = kb.fields[name]
        if spec.datatype != "photo" and words in (name, normalize(spec.label)):
            return name
    return None


def _skip(state: dict[str, Any], name: str) -> dict[str, Any]:
    state = _copy(state)
    state["values"][name] = ""
    return state


# -- status


def _own_request(
    state: dict[str, Any], filed_here: Sequence[FiledHere], about: Sequence[str]
) -> Turn | None:
    """Look up a request this chat filed, or ask which of them; None if it filed none."""
    number = state.get("number")
    if number is not None:
        if any(r.number == number for r in filed_here):
            return Turn("", _clear(state), lookup=Lookup(number, None))
        return None  # another request: the usual lookup, with its email
    if not filed_here:
        return None
    # The topics only narrow the list: a wrong guess must not hide the chat's requests.
    named = next(
        (same for topic in about if (same := [r for r in filed_here if r.topic == topic])),
        None,
    )
    other = named is None and bool(about)
    named = named or list(filed_here)
    if len(named) == 1:
        return Turn("", _clear(state), lookup=Lookup(named[0].number, None, maybe_other=other))
    return Turn(
        "This chat filed more than one request. Which one do you mean? (For another request, "
        "tell me its number.)",
        state,
        (*((f"{r.name} ({r.number})", f"status of {r.number}") for r in named), (CANCEL, CANCEL)),
    )


def _continue_status(
    state: dict[str, Any],
    text: str,
    words: str,
    resident_email: str,
    filed_here: Sequence[FiledHere] = (),
) -> Turn | None:
    if words in CANCEL_WORDS or normalize(CANCEL) == words:
        return Turn("OK. Is there anything else I can help with?", _clear(state))
    if state.get("number") is None:
        number = _canonical(text)
        if number is not None and any(r.number == number for r in filed_here):
            return Turn("", _clear(state), lookup=Lookup(number, None))
        if number is None:
            return Turn(
                "That doesn't look like a request number. It looks like **26-000123**; or say "
                "**cancel**.",
                state,
                ((CANCEL, CANCEL),),
            )
        return _ask_email(_with(state, number=number), resident_email)
    found = EMAIL.search(text)
    email = None
    if found:
        try:
            email = clean_email(found.group(0).rstrip("."))
        except ValueError:
            email = None
    if email is None:
        return Turn(
            "Please give the email address you used when you made the request (or say **cancel**).",
            state,
            _email_replies(resident_email),
        )
    after = _keep_lookups({}, state)
    after["lookups"] = after.get("lookups", 0) + 1
    return Turn("", after, lookup=Lookup(state["number"], email))


def _ask_email(state: dict[str, Any], resident_email: str) -> Turn:
    return Turn(
        f"To keep your request private, what email address did you use for request "
        f"**{state['number']}**?",
        state,
        _email_replies(resident_email),
    )


def _email_replies(resident_email: str) -> tuple[tuple[str, str], ...]:
    replies: list[tuple[str, str]] = []
    if resident_email:
        replies.append((resident_email, resident_email))
    replies.append((CANCEL, CANCEL))
    return tuple(replies)


def _canonical(text: str | None) -> str | None:
    match = NUMBER.search(text or "")
    return f"{match.group(1)}-{int(match.group(2)):06d}" if match else None


# -- state helpers


def _copy(state: dict[str, Any]) -> dict[str, Any]:
    copied = dict(state)
    copied["values"] = dict(state.get("values", {}))
    copied["photos"] = list(state.get("photos", []))
    return copied


def _with(state: dict[str, Any], **changes: Any) -> dict[str, Any]:
    copied = _copy(state)
    copied.update(changes)
    return copied


def _keep_lookups(state: dict[str, Any], previous: dict[str, Any] | None) -> dict[str, Any]:
    if previous and previous.get("lookups"):
        state["lookups"] = previous["lookups"]
    return state


def _clear(state: dict[str, Any] | None) -> dict[str, Any] | None:
    """End the dialogue, keeping only the lookup count (None if there is nothing to keep)."""
    kept = _keep_lookups({}, state)
    return kept or None


def _join(*parts: str) -> str:
    return "\n\n".join(p for p in parts if p)


def _md(text: str) -> str:
    """Show a resident's words as they wrote them, not as Markdown, and never as a link.

    The widget and the pane link bare https:// URLs and phone numbers in the assistant's
    messages (its own, from the knowledge base); an escaped colon ("https\\://") keeps a
    resident's URL plain text, and an escaped "-" or "." between digits ("744\\-7311") their
    phone number (widget/src/shared/phone.js), so nothing they typed becomes a link in the City
    Assistant's voice.
    """
    return _DIGITS_JOINED.sub(r"\\\1", re.sub(r"([\\`*_\[\]#<>|~:])", r"\\\1", text))


# What joins the groups of a phone number: every number the clients link has one.
_DIGITS_JOINED = re.compile(r"(?<=\d)([-.])(?=\d)")
