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

Every line is said in the conversation's `language` through the catalogue (chatsvc/locale), the
fields as the knowledge base words them in that language (knowledge_base/es/fields.toml), and the
resident's short answers ("sí", "cancelar") are understood in every language the knowledge base
has (knowledge_base/es/answers.toml), as are the buttons' words.

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
from chatsvc.i18n import translate

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


def offer_text(topic: Topic, kb: KnowledgeBase, language: str = "en") -> str:
    """The line added under an answer about a request topic."""
    return translate(
        language,
        "Would you like me to file a **{topic}** request for you now?",
        topic=kb.topic_name(topic.code, language),
    )


def offer_replies(
    topic: Topic, kb: KnowledgeBase, language: str = "en"
) -> tuple[tuple[str, str], ...]:
    label = translate(language, FILE_A_REQUEST)
    return ((label, f"{label}: {kb.topic_name(topic.code, language)}"),)


def offer_state(topic: Topic, previous: dict[str, Any] | None) -> dict[str, Any]:
    return _keep_lookups({"kind": "offer", "topic": topic.code}, previous)


def wants_to_file(text: str, kb: KnowledgeBase, current: str | None = None) -> Topic | None:
    """Tell which request topic "File a request: <topic name>" asks for, if it does.

    A bare "file a request" means the chat's current topic, when that is a request topic.
    """
    words = normalize(text)
    prefix = next(
        (p for p in _said_as(FILE_A_REQUEST, kb) if words == p or words.startswith(f"{p} ")),
        None,
    )
    if prefix is None:
        return None
    rest = words[len(prefix) :].strip()
    if not rest:
        topic = kb.topics.get(current or "")
        return topic if topic is not None and topic.is_request else None
    for topic in kb.topics.values():
        names = {normalize(kb.topic_name(topic.code, code)) for code in _languages(kb)}
        if topic.is_request and rest in names:
            return topic
    return None


def start_filing(
    topic: Topic,
    kb: KnowledgeBase,
    previous: dict[str, Any] | None = None,
    language: str = "en",
) -> Turn:
    """Begin filing a request for `topic`: say what is needed and ask the first detail."""
    state = _keep_lookups(
        {"kind": "file", "topic": topic.code, "values": {}, "photos": [], "editing": False},
        previous,
    )
    intro = translate(
        language,
        "Let's file a **{topic}** request. I'll ask for a few details; you can say **{cancel}** "
        "at any time.",
        topic=kb.topic_name(topic.code, language),
        cancel=translate(language, CANCEL).lower(),
    )
    return _ask_next(state, kb, intro, language)


def continue_dialogue(
    state: dict[str, Any] | None,
    text: str,
    kb: KnowledgeBase,
    *,
    resident_email: str,
    filed_here: Sequence[FiledHere] = (),
    language: str = "en",
) -> Turn | None:
    """Answer the resident inside a dialogue; None when there is none or they left it."""
    if not state or state.get("kind") not in ("offer", "file", "status"):
        return None
    words = normalize(text)
    kind = state["kind"]
    if kind == "offer":
        topic = kb.topics.get(state.get("topic", ""))
        chosen = wants_to_file(text, kb)
        if topic is not None and (_answer(words, "yes", kb) or chosen == topic):
            return start_filing(topic, kb, state, language)
        return None  # anything else is a new question: the assistant answers it as usual
    if kind == "status":
        return _continue_status(state, text, words, resident_email, filed_here, kb, language)
    return _continue_filing(state, text, words, kb, language)


def after_photo(
    state: dict[str, Any] | None, photo_id: int, kb: KnowledgeBase, language: str = "en"
) -> Turn | None:
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
    return _ask_next(state, kb, translate(language, "Thank you, I have the photo."), language)


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


def summary_replies(language: str = "en") -> tuple[tuple[str, str], ...]:
    return tuple(_button(language, msgid) for msgid in (CONFIRM, EDIT, CANCEL))


def filed(
    number: str,
    topic: Topic,
    expected: str,
    email: str | None,
    *,
    kb: KnowledgeBase | None = None,
    language: str = "en",
) -> str:
    """Tell the resident their request is filed, with its number and expected date (worded in
    `language` by the caller: BusinessCalendar.describe_local)."""

    def _(msgid: str, **values: object) -> str:
        return translate(language, msgid, **values)

    mail = " " + _("I've emailed a confirmation to {email}.", email=_md(email)) if email else ""
    expect = _("We expect it to be done by **{expected}**", expected=expected)
    return (
        _(
            "Your **{topic}** request is filed. Its number is **{number}**.",
            topic=kb.topic_name(topic.code, language) if kb else topic.name,
            number=number,
        )
        + f"\n\n{end_sentence(expect)}{mail} "
        + _('To check on it later, ask me for the "status of {number}".', number=number)
    )


def filing_refused(phone: str, wait: str, language: str = "en") -> str:
    """Tell the resident no more requests are filed in the chat from their address today."""
    return translate(
        language,
        "I can't file more requests from your internet connection today: several were filed "
        "from it in the last 24 hours. Please call us at {phone} and we'll take it by phone, "
        "or try again {wait}. You can also ask to talk to a person.",
        phone=phone,
        wait=wait,
    )


def lookups_refused(phone: str, wait: str, language: str = "en") -> str:
    """Tell the resident no more status lookups are made from their address today."""
    return translate(
        language,
        "I can't look up more requests from your internet connection today: several numbers "
        "and emails that didn't match were tried from it. Please call us at {phone}, or try "
        "again {wait}. You can also ask to talk to a person.",
        phone=phone,
        wait=wait,
    )


def status_answer(
    number: str,
    found: dict[str, Any] | None,
    *,
    phone: str,
    others: bool = False,
    language: str = "en",
) -> str:
    """Word a lookup's outcome; the same neutral words for a wrong email and an unknown number.

    With `others`, the resident may have meant a request this chat did not file: say how to ask
    about that one.
    """

    def _(msgid: str, **values: object) -> str:
        return translate(language, msgid, **values)

    if found is None:
        return _(
            "I couldn't find a request with that number and email address. Please check both: "
            "the number looks like 26-000123 and is in your confirmation email. You can also "
            "ask to talk to a person, or call us at {phone}.",
            phone=phone,
        )
    # The status's label and the service's name are the caller's, in `language`.
    lines = [
        _(
            "Request **{number}** ({service}) is **{status}**.",
            number=number,
            service=found["service_name"],
            status=found["status_label"],
        )
    ]
    if found["status"] == "referred":
        lines.append(_("It was referred to **{to}**.", to=_md(found["referred_to"] or "")))
        if found.get("next_steps"):
            lines.append(_("Next steps: {steps}", steps=_md(found["next_steps"])))
    elif found["status"] in ("open", "in_progress"):
        lines.append(
            end_sentence(_("We expect it to be done by {expected}", expected=found["expected"]))
        )
    if found.get("note"):
        lines.append(_("Latest update: {note}", note=_md(found["note"])))
    if others:
        lines.append(_("If you meant another request, tell me its number."))
    return "\n\n".join(lines)


def start_status(
    number: str | None,
    previous: dict[str, Any] | None,
    *,
    resident_email: str,
    phone: str,
    filed_here: Sequence[FiledHere] = (),
    about: Sequence[str] = (),
    language: str = "en",
) -> Turn:
    """Begin a status lookup: ask for what is missing of the number and the email.

    A chat that filed requests asks about its own without either: the one it names by number
    or by topic (`about`: the topics the matcher found in the question, best first), the only
    one, or, of several, the one the resident picks from a list naming them.
    """
    state = _keep_lookups({"kind": "status", "number": _canonical(number)}, previous)
    own = _own_request(state, filed_here, about, language)
    if own is not None:
        return own
    if state.get("lookups", 0) >= MAX_LOOKUPS:
        return Turn(
            translate(
                language,
                "I can't look up more requests in this chat. Please ask to talk to a person, or "
                "call us at {phone}.",
                phone=phone,
            ),
            _keep_lookups({}, previous),
        )
    if state["number"] is None:
        return Turn(
            translate(
                language,
                "I can look that up. What is the request number? It looks like **26-000123** and "
                "is in the confirmation email we sent.",
            ),
            state,
            (_button(language, CANCEL),),
        )
    return _ask_email(state, resident_email, language)


# -- filing


def _continue_filing(
    state: dict[str, Any], text: str, words: str, kb: KnowledgeBase, language: str
) -> Turn:
    def _(msgid: str, **values: object) -> str:
        return translate(language, msgid, **values)

    topic = kb.topics.get(state.get("topic", ""))
    if topic is None:  # the topic left the catalogue while the resident was filing
        return Turn(_("Sorry, that kind of request can't be filed here anymore."), _clear(state))
    if _answer(words, "cancel", kb) or words in _said_as(CANCEL, kb):
        return Turn(
            _("OK, I've cancelled it: nothing was filed. Is there anything else I can help with?"),
            _clear(state),
        )
    step = state.get("step")
    if step == "confirm":
        if _answer(words, "yes", kb) or words in _said_as(CONFIRM, kb):
            photos = tuple(int(p) for p in state.get("photos", []))
            values = {k: v for k, v in state["values"].items() if k != "photo"}
            return Turn("", _clear(state), filing=Filing(topic.code, values, photos))
        change = _change_prefix(words, kb)
        if _answer(words, "edit", kb) or words in _said_as(EDIT, kb) or change is not None:
            chosen = _field_named(words.removeprefix(change or "").strip(), topic, kb)
            if chosen:
                return _ask_field(_with(state, step=chosen, editing=True), kb, chosen, "", language)
            return _ask_what_to_edit(state, topic, kb, language)
        return Turn(
            _(
                "Please choose **{confirm}** to file it, **{edit}** to change a detail, or "
                "**{cancel}**.",
                confirm=_(CONFIRM),
                edit=_(EDIT),
                cancel=_(CANCEL),
            ),
            state,
            summary_replies(language),
        )
    if step == "edit":
        if words in _said_as(BACK, kb):
            return _summary(_with(state, step="confirm"), topic, kb, language)
        chosen = _field_named(
            words.removeprefix(_change_prefix(words, kb) or "").strip(), topic, kb
        )
        if chosen is None:
            return _ask_what_to_edit(
                state, topic, kb, language, _("Which detail? Choose one below.")
            )
        return _ask_field(_with(state, step=chosen, editing=True), kb, chosen, "", language)
    if step is None or step not in kb.fields:
        return _ask_next(state, kb, "", language)
    spec = kb.localized_field(step, language)
    optional = not topic.is_required(step)
    skipped = _answer(words, "skip", kb) or words in _said_as(SKIP, kb)
    if spec.datatype == "photo":
        if skipped:
            return _ask_next(_skip(state, step), kb, _("OK, no photo."), language)
        return Turn(
            _(
                "Please use the **{button}** button to choose a picture, or say **{skip}**.",
                button=_(PHOTO_LABEL),
                skip=_(SKIP).lower(),
            ),
            state,
            _field_replies(spec, optional=True, language=language),
            offers_photo=True,
        )
    if optional and skipped:
        return _ask_next(_skip(state, step), kb, _("OK, skipped."), language)
    try:
        value = clean_value(spec, text, language)
    except FieldInvalid as exc:
        retry = _ask_field(state, kb, step, f"{exc.message} {spec.question}", language)
        return Turn(retry.text, retry.state, retry.quick_replies, retry.offers_photo)
    state = _copy(state)
    state["values"][step] = value
    return _ask_next(state, kb, "", language)


def _ask_next(state: dict[str, Any], kb: KnowledgeBase, before: str, language: str) -> Turn:
    topic = kb.topics[state["topic"]]
    if state.get("editing"):
        return _summary(_with(state, step="confirm", editing=False), topic, kb, language, before)
    for name in topic.field_names:
        if name not in state["values"]:
            return _ask_field(_with(state, step=name), kb, name, before, language)
    return _summary(_with(state, step="confirm"), topic, kb, language, before)


def _ask_field(
    state: dict[str, Any], kb: KnowledgeBase, name: str, before: str, language: str
) -> Turn:
    spec = kb.localized_field(name, language)
    topic = kb.topics[state["topic"]]
    optional = not topic.is_required(name)
    question = before if spec.question in before else _join(before, spec.question)
    if optional and spec.datatype != "photo":
        question += " " + translate(
            language,
            "(optional: say **{skip}** to leave it out)",
            skip=translate(language, SKIP).lower(),
        )
    return Turn(
        question,
        state,
        _field_replies(spec, optional=optional, language=language),
        offers_photo=spec.datatype == "photo",
        topic=topic.code,
    )


def _field_replies(
    spec: FieldSpec, *, optional: bool, language: str
) -> tuple[tuple[str, str], ...]:
    replies = [(v.name, v.name) for v in spec.values]
    if optional:
        replies.append(_button(language, SKIP))
    replies.append(_button(language, CANCEL))
    return tuple(replies)


def _summary(
    state: dict[str, Any], topic: Topic, kb: KnowledgeBase, language: str, before: str = ""
) -> Turn:
    def _(msgid: str, **values: object) -> str:
        return translate(language, msgid, **values)

    lines = [
        _("Here is your **{topic}** request:", topic=kb.topic_name(topic.code, language)),
        "",
    ]
    for name in topic.field_names:
        spec = kb.localized_field(name, language)
        if spec.datatype == "photo":
            count = len(state.get("photos", []))
            shown = (
                _("{count} photo", count=count)
                if count == 1
                else _("{count} photos", count=count)
                if count
                else _("none")
            )
        else:
            value = state["values"].get(name)
            shown = _md(describe_value(spec, value)) if value else _("(skipped)")
        lines.append(f"- {spec.label}: {shown}")
    lines += ["", _("Shall I file it?")]
    return Turn(_join(before, "\n".join(lines)), state, summary_replies(language), topic=topic.code)


def _ask_what_to_edit(
    state: dict[str, Any], topic: Topic, kb: KnowledgeBase, language: str, text: str = ""
) -> Turn:
    change = translate(language, "Change")
    replies = tuple(
        (f"{change} {spec.label.lower()}", f"{change} {spec.label.lower()}")
        for n in topic.field_names
        if (spec := kb.localized_field(n, language)).datatype != "photo"
    )
    return Turn(
        text or translate(language, "Which detail would you like to change?"),
        _with(state, step="edit"),
        (*replies, _button(language, BACK)),
    )


def _change_prefix(words: str, kb: KnowledgeBase) -> str | None:
    """The word "change" (in any language) that `words` begin with, if they do."""
    return next((p for p in _said_as("Change", kb) if words.startswith(p)), None)


def _field_named(words: str, topic: Topic, kb: KnowledgeBase) -> str | None:
    for name in topic.field_names:
        if kb.fields[name].datatype == "photo":
            continue
        labels = {normalize(kb.localized_field(name, code).label) for code in _languages(kb)}
        if words == name or words in labels:
            return name
    return None


def _skip(state: dict[str, Any], name: str) -> dict[str, Any]:
    state = _copy(state)
    state["values"][name] = ""
    return state


# -- status


def _own_request(
    state: dict[str, Any], filed_here: Sequence[FiledHere], about: Sequence[str], language: str
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
        translate(
            language,
            "This chat filed more than one request. Which one do you mean? (For another "
            "request, tell me its number.)",
        ),
        state,
        (
            *(
                (
                    f"{r.name} ({r.number})",
                    translate(language, "status of {number}", number=r.number),
                )
                for r in named
            ),
            _button(language, CANCEL),
        ),
    )


def _continue_status(
    state: dict[str, Any],
    text: str,
    words: str,
    resident_email: str,
    filed_here: Sequence[FiledHere],
    kb: KnowledgeBase,
    language: str,
) -> Turn | None:
    def _(msgid: str, **values: object) -> str:
        return translate(language, msgid, **values)

    if _answer(words, "cancel", kb) or words in _said_as(CANCEL, kb):
        return Turn(_("OK. Is there anything else I can help with?"), _clear(state))
    if state.get("number") is None:
        number = _canonical(text)
        if number is not None and any(r.number == number for r in filed_here):
            return Turn("", _clear(state), lookup=Lookup(number, None))
        if number is None:
            return Turn(
                _(
                    "That doesn't look like a request number. It looks like **26-000123**; or "
                    "say **{cancel}**.",
                    cancel=_(CANCEL).lower(),
                ),
                state,
                (_button(language, CANCEL),),
            )
        return _ask_email(_with(state, number=number), resident_email, language)
    found = EMAIL.search(text)
    email = None
    if found:
        try:
            email = clean_email(found.group(0).rstrip("."))
        except ValueError:
            email = None
    if email is None:
        return Turn(
            _(
                "Please give the email address you used when you made the request (or say "
                "**{cancel}**).",
                cancel=_(CANCEL).lower(),
            ),
            state,
            _email_replies(resident_email, language),
        )
    after = _keep_lookups({}, state)
    after["lookups"] = after.get("lookups", 0) + 1
    return Turn("", after, lookup=Lookup(state["number"], email))


def _ask_email(state: dict[str, Any], resident_email: str, language: str) -> Turn:
    return Turn(
        translate(
            language,
            "To keep your request private, what email address did you use for request "
            "**{number}**?",
            number=state["number"],
        ),
        state,
        _email_replies(resident_email, language),
    )


def _email_replies(resident_email: str, language: str) -> tuple[tuple[str, str], ...]:
    replies: list[tuple[str, str]] = []
    if resident_email:
        replies.append((resident_email, resident_email))
    replies.append(_button(language, CANCEL))
    return tuple(replies)


# -- words in every language


def _languages(kb: KnowledgeBase) -> tuple[str, ...]:
    return ("en", *kb.languages)


def _button(language: str, msgid: str) -> tuple[str, str]:
    """A quick reply whose label is also what it sends, in `language`."""
    label = translate(language, msgid)
    return (label, label)


def _said_as(msgid: str, kb: KnowledgeBase) -> set[str]:
    """A button's words as any language of the knowledge base says them, normalized: a
    resident may press a button sent before the chat changed language."""
    return {normalize(translate(code, msgid)) for code in _languages(kb)}


_ENGLISH_ANSWERS = {
    "yes": YES_WORDS,
    "cancel": CANCEL_WORDS,
    "skip": SKIP_WORDS,
    "edit": EDIT_WORDS,
}


def _answer(words: str, kind: str, kb: KnowledgeBase) -> bool:
    """Whether `words` are a short answer of `kind` ("yes", "cancel"…) in any language."""
    if words in _ENGLISH_ANSWERS[kind]:
        return True
    return any(
        words == normalize(said)
        for pack in kb.languages.values()
        for said in pack.answers.get(kind, ())
    )


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
