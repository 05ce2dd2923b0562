"""Suggestions for a service request's fields from what a resident wrote in a chat.

Only suggestions: the agent sees them in the request form and edits them before filing. Pure
functions of the knowledge base and the resident's messages, so a unit test calls them directly.

- the address: a number and a street ("100 N Garfield Ave", "450 Orange Grove"), or two streets
  that cross ("Lake Ave and Colorado Blvd", "the corner of Lake and Colorado"); the newest
  message that names one wins;
- the description: the resident's sentences about the problem (not greetings, thanks, asking
  for a person or a bare address), joined and cut to the field's length;
- a list field (a container...): the option whose words the resident used ("the blue bin" is
  recycling), when one is clearly best;
- every other field is left empty.

A description is suggested for every topic, even one whose form has no such field: staff may
add the resident's words to any request.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence

from rapidfuzz import fuzz

from chatsvc.bot.text import STOPWORDS, normalize, stem
from chatsvc.catalogue.knowledge import FieldSpec, KnowledgeBase, Topic

# Full forms residents write besides the knowledge base's abbreviations ("Garfield Avenue").
STREET_WORDS = (
    "street",
    "road",
    "drive",
    "lane",
    "place",
    "way",
    "court",
    "parkway",
    "highway",
    "terrace",
    "circle",
)
DIRECTIONS = r"(?:north|south|east|west|[nsew])\.?"
# Words that never belong to a street's name: where a sentence says "at", "near", "on"...
NOT_STREET = frozenset(STOPWORDS | {"near", "next", "corner", "across", "behind", "front", "block"})
# A sentence of nothing but these says nothing about the problem.
SMALL_TALK = frozenset(
    """yes yeah yep yup no nope nah ok okay sure right correct fine great good perfect cool
    skip none na n a thanks thank thx bye sorry please hi hello hey""".split()  # noqa: SIM905
)
QUICK_REPLY = re.compile(r"^\s*(file a request|talk to a person)\b", re.IGNORECASE)
SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
LIST_WORD_MIN = 85  # how close a word must be to an option's word (typos: "recyle")


def prefill(
    kb: KnowledgeBase, topic: Topic | None, resident_texts: Sequence[str]
) -> dict[str, str]:
    """Suggest a value for each field of `topic` (address and description when None).

    A description is always suggested: a topic without one (a missed collection) still files
    the resident's words with the request ("missed two weeks in a row" tells the crew it is a
    repeat), as every request may carry one (Open311's `description`)."""
    names = topic.field_names if topic is not None else ("address", "description")
    if "description" not in names:
        names = (*names, "description")
    specs = [kb.fields[n] for n in names if n in kb.fields]
    texts = [t for t in resident_texts if isinstance(t, str) and t.strip()]
    values: dict[str, str] = {}
    for spec in specs:
        if spec.datatype == "photo":
            continue
        if spec.open311 == "address_string":
            values[spec.name] = _fit(find_address(kb, texts) or "", spec)
        elif spec.open311 == "description":
            values[spec.name] = _fit(describe_problem(kb, texts), spec)
        elif spec.datatype == "singlevaluelist":
            values[spec.name] = choose_option(kb, spec, texts) or ""
        else:
            values[spec.name] = ""
    return values


def find_address(kb: KnowledgeBase, texts: Sequence[str]) -> str | None:
    """Find the newest address or crossing the resident gave, as they wrote it."""
    patterns = _patterns(kb.street_suffixes, kb.places)
    for text in reversed(texts):
        found = _address_in(text, patterns)
        if found:
            return found
    return None


def describe_problem(kb: KnowledgeBase, texts: Sequence[str]) -> str:
    """Join the resident's sentences that say something about the problem, oldest first."""
    patterns = _patterns(kb.street_suffixes, kb.places)
    chatter = [
        normalize(phrase)
        for intent in ("human", "greeting", "thanks")
        for phrase in (kb.intents[intent].phrases if intent in kb.intents else ())
    ]
    kept: list[str] = []
    for text in texts:
        sentences = [s.strip() for s in SENTENCE_END.split(text) if s.strip()]
        useful = [s for s in sentences if _says_something(s, chatter, patterns)]
        if useful:
            kept.append(" ".join(useful))
    return "\n".join(dict.fromkeys(kept))  # a message sent twice counts once


def choose_option(kb: KnowledgeBase, spec: FieldSpec, texts: Sequence[str]) -> str | None:
    """Pick the list option the resident named (newest message first), if one is clearly best."""
    keywords = {option.key: _option_words(kb, option.key, option.name) for option in spec.values}
    for text in reversed(texts):
        words = [w for w in normalize(text).split() if w not in STOPWORDS]
        if not words:
            continue
        scores = sorted(
            ((_score(words, option_words), key) for key, option_words in keywords.items()),
            reverse=True,
        )
        best, key = scores[0]
        runner_up = scores[1][0] if len(scores) > 1 else 0
        if best > 0 and best > runner_up:
            return key
    return None


# -- internals


@functools.lru_cache(maxsize=8)
def _patterns(suffixes: tuple[str, ...], places: tuple[str, ...]) -> tuple[re.Pattern[str], ...]:
    suffix_words = sorted({*suffixes, *STREET_WORDS}, key=len, reverse=True)
    suffix = r"(?:" + "|".join(re.escape(s) for s in suffix_words) + r")\.?"
    place_names = sorted(places, key=len, reverse=True)
    place = r"(?:" + "|".join(re.escape(p).replace(r"\ ", r"\s+") for p in place_names) + r")"
    ordinal = r"\d+(?:st|nd|rd|th)"
    not_street = "|".join(sorted(NOT_STREET, key=len, reverse=True))
    name = rf"(?!(?:{not_street})\b)(?:{ordinal}|[A-Za-z][A-Za-z'-]*)"
    # A street: a name of one to three words and a suffix, or a known street or place name.
    street = (
        rf"(?:{DIRECTIONS}\s+)?(?:(?:{name}\s+){{0,2}}{name}\s+{suffix}"
        + (rf"|{place}(?:\s+{suffix})?" if place_names else "")
        + ")"
    )
    numbered = re.compile(rf"\b\d{{1,6}}[A-Za-z]?\s+{street}(?![A-Za-z])", re.IGNORECASE)
    crossing = re.compile(
        rf"\b{street}\s+(?:and|&|/|@)\s+{street}(?![A-Za-z])|\b{street}\s*(?:&|/|@)\s*{street}"
        r"(?![A-Za-z])",
        re.IGNORECASE,
    )
    return numbered, crossing


def _address_in(text: str, patterns: tuple[re.Pattern[str], ...]) -> str | None:
    for pattern in patterns:
        for match in pattern.finditer(text):
            found = _trim_street_words(match.group(0))
            if found:
                return found
    return None


def _trim_street_words(found: str) -> str | None:
    """Drop words before a street's name that belong to the sentence ("the wall at Lake Ave")."""
    words = found.split()
    # A number starts a numbered address: keep it whole unless a word in it is not a street's.
    if words[0][0].isdigit():
        if any(w.lower().strip(".") in NOT_STREET for w in words[1:]):
            return None
        return " ".join(words).rstrip(".,;:")
    parts = re.split(r"(\s+(?:and|&|/|@)\s+|\s*[&/@]\s*)", found, maxsplit=1, flags=re.IGNORECASE)
    if len(parts) != 3:
        return None
    left, joiner, right = parts
    left_words = left.split()
    # "graffiti on Lake Ave": start the street after the last word that cannot be in one.
    for i in range(len(left_words) - 1, -1, -1):
        if left_words[i].lower().strip(".") in NOT_STREET:
            left_words = left_words[i + 1 :]
            break
    if any(w.lower().strip(".") in NOT_STREET for w in right.split()) or not left_words:
        return None
    capitalised = [w for w in left_words if w[0].isupper()]
    if capitalised and left_words[0][0].islower():
        left_words = left_words[left_words.index(capitalised[0]) :]
    return f"{' '.join(left_words)}{joiner}{right}".rstrip(".,;:")


def _says_something(
    sentence: str, chatter: Iterable[str], patterns: tuple[re.Pattern[str], ...]
) -> bool:
    if QUICK_REPLY.match(sentence):
        return False
    rest = sentence
    for pattern in patterns:
        rest = pattern.sub(" ", rest)
    words = f" {normalize(rest)} "
    for phrase in chatter:
        if phrase and f" {phrase} " in words:
            words = words.replace(f" {phrase} ", " ")
    content = [w for w in words.split() if w not in STOPWORDS and w not in SMALL_TALK]
    return bool(content)


def _option_words(kb: KnowledgeBase, key: str, name: str) -> frozenset[str]:
    words = {w for w in normalize(f"{key.replace('-', ' ')} {name}").split() if w not in STOPWORDS}
    # A synonym's single-word variants say it too ("garbage" for trash).
    for canonical, variants in kb.synonyms.items():
        if canonical in words:
            words |= {v for v in (normalize(x) for x in variants) if " " not in v}
    return frozenset(words)


def _score(words: Sequence[str], option_words: frozenset[str]) -> int:
    hits = set()
    for option_word in option_words:
        for word in words:
            same = word == option_word or stem(word) == stem(option_word)
            close = (
                min(len(word), len(option_word)) >= 5
                and fuzz.ratio(word, option_word) >= LIST_WORD_MIN
            )
            if same or close:
                hits.add(option_word)
                break
    return len(hits)


def _fit(value: str, spec: FieldSpec) -> str:
    """Cut a suggestion to the field's length, at a word when possible."""
    value = value.strip()
    if len(value) <= spec.max_length:
        return value
    cut = value[: spec.max_length - 1]
    space = cut.rfind(" ")
    if space > spec.max_length // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:") + "…"
