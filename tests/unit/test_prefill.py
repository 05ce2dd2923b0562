"""Suggesting a service request's fields from a resident's words (pure functions, no server)."""

from __future__ import annotations

import pytest

from chatsvc.bot.prefill import choose_option, describe_problem, find_address, prefill
from chatsvc.catalogue.fields import looks_like_address
from chatsvc.catalogue.knowledge import default_path, load_knowledge_base

KB = load_knowledge_base(default_path())


@pytest.mark.parametrize(
    ("texts", "address"),
    [
        (["there's graffiti on the wall at 100 N Garfield Ave"], "100 N Garfield Ave"),
        (["Tags at 100 N. Garfield Avenue."], "100 N. Garfield Avenue"),
        (["pothole in front of 1234 E Washington Blvd, really deep"], "1234 E Washington Blvd"),
        (["The light at 450 Orange Grove is out"], "450 Orange Grove"),  # a known street
        (["a leak at 77 West 2nd Street"], "77 West 2nd Street"),
        (["Somebody dumped a couch near Lake Ave and Colorado Blvd"], "Lake Ave and Colorado Blvd"),
        (["at the corner of lake and colorado there is a big pothole"], "lake and colorado"),
        (["Graffiti on Lake Ave & Colorado Blvd, tags everywhere"], "Lake Ave & Colorado Blvd"),
        (["graffiti on Lake/Colorado"], "Lake/Colorado"),
        # The newest message that gives one wins: residents correct themselves.
        (["It's at 100 N Garfield Ave", "sorry, 120 N Garfield Ave"], "120 N Garfield Ave"),
        (["It's at 100 N Garfield Ave", "thanks!"], "100 N Garfield Ave"),
    ],
)
def test_an_address_or_a_crossing_is_found(texts: list[str], address: str) -> None:
    found = find_address(KB, texts)
    assert found == address
    assert found is not None and looks_like_address(
        found
    )  # what the form suggests, the form accepts


@pytest.mark.parametrize(
    "texts",
    [
        ["the street light is out on my block"],
        ["I'd like to talk to a person, please."],
        ["my 2 cans on Lake Ave were missed"],  # a count, not a house number
        ["there are 3 potholes and 2 cracks"],
        ["I called 5 times about the noise"],
        [],
    ],
)
def test_no_address_is_made_up(texts: list[str]) -> None:
    assert find_address(KB, texts) is None


def test_the_description_keeps_what_is_said_about_the_problem() -> None:
    texts = [
        "Hi",
        "I'd like to talk to a person, please.",
        "There is a big pothole.",
        "It's at 450 Orange Grove.",
        "It's about a foot wide and cars swerve around it.",
        "Thanks!",
        "ok",
    ]
    assert describe_problem(KB, texts) == (
        "There is a big pothole.\nIt's about a foot wide and cars swerve around it."
    )


def test_a_message_sent_twice_is_described_once() -> None:
    twice = ["Tags on the east wall", "Tags on the east wall"]
    assert describe_problem(KB, twice) == "Tags on the east wall"


def test_a_topic_gets_its_own_fields_and_always_a_description() -> None:
    graffiti = prefill(
        KB, KB.topics["graffiti"], ["there's graffiti on the wall at 100 N Garfield Ave"]
    )
    assert graffiti == {
        "address": "100 N Garfield Ave",
        "description": "there's graffiti on the wall at 100 N Garfield Ave",
    }
    bulky = prefill(KB, KB.topics["bulky-item-pickup"], ["a couch to pick up at 5 Lake Ave"])
    # Other fields are left to the agent; the resident's words go with any request.
    assert bulky == {
        "address": "5 Lake Ave",
        "items": "",
        "description": "a couch to pick up at 5 Lake Ave",
    }
    park = prefill(KB, KB.topics["park-maintenance"], ["the swings in Victory Park are broken"])
    assert park == {"park": "", "description": "the swings in Victory Park are broken"}


def test_without_a_topic_the_address_and_description_are_suggested() -> None:
    assert prefill(KB, None, ["Hello", "I want a person"]) == {"address": "", "description": ""}
    assert prefill(KB, None, ["Broken sidewalk at 12 Holly St"]) == {
        "address": "12 Holly St",
        "description": "Broken sidewalk at 12 Holly St",
    }


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("the blue bin was not emptied", "recycling"),
        ("My recyle cart got skipped", "recycling"),  # a typo
        ("my garbage wasn't picked up", "trash"),  # a synonym
        ("the black one", "trash"),
        ("green one", "green-waste"),
        ("Recycling (blue)", "recycling"),
        ("it wasn't picked up", None),  # nothing says which
        ("the blue and the green ones", None),  # two, equally: the agent chooses
    ],
)
def test_a_list_value_is_matched_by_its_words(text: str, key: str | None) -> None:
    spec = KB.fields["container"]
    assert choose_option(KB, spec, [text]) == key
    assert prefill(KB, KB.topics["missed-trash"], [text])["container"] == (key or "")


def test_the_newest_mention_of_a_list_value_wins() -> None:
    spec = KB.fields["container"]
    assert choose_option(KB, spec, ["the blue bin", "no wait, the green one"]) == "green-waste"
    assert choose_option(KB, spec, ["the blue bin", "at 12 Holly St"]) == "recycling"


def test_a_long_description_is_cut_to_the_field() -> None:
    words = "The hydrant on our corner has been leaking for days and days. " * 100
    value = prefill(KB, KB.topics["water-outage"], [words])["description"]
    limit = KB.fields["description"].max_length
    assert len(value) <= limit and value.endswith("…")
    assert len(value) > limit - 80  # cut at a word near the limit, not far before it
