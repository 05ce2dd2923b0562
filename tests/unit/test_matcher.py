"""The matcher on the real knowledge base: intents, typos, synonyms, bands, odd input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chatsvc.bot.assistant import compose_reply
from chatsvc.bot.matcher import Index, build_index, decide
from chatsvc.bot.search import suggest_articles
from chatsvc.catalogue.knowledge import load_knowledge_base
from chatsvc.settings import DEFAULT_KNOWLEDGE_BASE
from tests.conftest import run_chatsvc
from tests.missing import missing

DEV_SET = Path(__file__).resolve().parents[3] / "shared" / "eval" / "dev.jsonl"


@pytest.fixture(scope="module")
def index() -> Index:
    return build_index(load_knowledge_base(DEFAULT_KNOWLEDGE_BASE))


@pytest.mark.parametrize(
    "text",
    [
        "my neighbors garage is on fire",
        "there is smoke pouring out of the apartment next door",
        "a man collapsed and he is not breathing",
        "someone is breaking into my car right now",
        "i smell gas in my kitchen",
        "a power line is down across the road and sparking",
        "car crash on Colorado Blvd, people are hurt",
        "HELP my kid swallowed something and can't breathe",
        "theres a fier in the park",
        "Someone is threatening people with a knife outside",
    ],
)
def test_emergencies_are_always_caught(index: Index, text: str) -> None:
    decision = decide(text, index)
    assert decision.intent == "emergency", decision


@pytest.mark.parametrize(
    "text",
    [
        "the fire hydrant on my street is leaking",
        "illegal fireworks every night near my house",
    ],
)
def test_words_near_emergencies_are_not_emergencies(index: Index, text: str) -> None:
    assert decide(text, index).intent != "emergency"


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("can someone come take away my old sofa", "bulky-item-pickup"),
        ("my neighbour's wall got tagged last night", "graffiti"),
        ("the stoplight at lake and del mar is stuck on red", "traffic-signal"),
        ("huge pothle on my street", "pothole"),
        ("the streetlight in front of my house is out", "street-light"),
        ("my garbage wasnt picked up this week", "missed-trash"),
        (
            "sprinklers running in the middle of the day and water flowing down the gutter",
            "water-waste",
        ),
    ],
)
def test_everyday_words_and_typos_find_the_topic(index: Index, text: str, expect: str) -> None:
    decision = decide(text, index)
    assert decision.intent == expect, decision
    assert decision.article_id is not None


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("I want to speak with a real person", "human"),
        ("what's the status of request 24-001234", "status"),
        ("good morning", "greeting"),
        ("thank you so much, bye", "thanks"),
        ("buy cheap ivermectin online now", "none"),
        ("asdkjh qwpoeiru zxmcnv", "none"),
        ("who won the world series in 1988", "none"),
    ],
)
def test_special_intents(index: Index, text: str, expect: str) -> None:
    assert decide(text, index).intent == expect


def test_asking_for_a_person_keeps_a_guess_at_the_subject(index: Index) -> None:
    # The handover is what the resident asked for; the rest says where to route it.
    decision = decide("There is a pothole on Colorado Blvd, can I talk to a person?", index)
    assert (decision.intent, decision.topic_guess) == ("human", "pothole")
    assert decision.suggestions[0].article_id == "pothole-report"
    assert decide("I want to talk to a person", index).topic_guess is None
    # An emergency's words mislead topics ("burning" is not a street light): no guess.
    fire = decide("there's a fire, my neighbor's house is burning", index)
    assert (fire.intent, fire.topic_guess) == ("emergency", None)


def test_when_the_center_is_closed_nobody_is_promised(index: Index) -> None:
    person = compose_reply(
        decide("talk to a person", index), index.kb, misses=0, text="", staffed=False
    )
    assert (person.handoff, person.wanted) == (None, "asked")
    assert "nobody can join" in person.text and "join this chat shortly" not in person.text
    # The widget's button under the answer is the one offer to leave a message.
    assert "message" not in person.text
    fire = decide("my kitchen is on fire", index)
    closed = compose_reply(fire, index.kb, misses=0, text="", staffed=False)
    assert "call 911" in closed.text and "will also join" not in closed.text
    assert closed.handoff is None


def test_a_greeting_with_a_question_is_the_question(index: Index) -> None:
    assert decide("hi there, my trash was not picked up today", index).intent == "missed-trash"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "x" * 4000,
        "pothole " * 500,
        "🙂🙂🙂",
        "¿Dónde puedo pagar mi factura de agua?",
        "<script>alert(1)</script><img src=x onerror=alert(1)>",
        "\u0000\u202e weird control characters",
    ],
)
def test_odd_input_gets_a_sensible_reply(index: Index, text: str) -> None:
    decision = decide(text, index)
    reply = compose_reply(decision, index.kb, misses=0, text=text)
    assert reply.text.strip()
    assert "<script>" not in reply.text


def test_replies_to_an_unsure_match_offer_three_choices_and_a_person(index: Index) -> None:
    decision = decide("trash", index)
    reply = compose_reply(decision, index.kb, misses=0, text="trash")
    # "trash" alone could be a missed pickup, the collection day, a container…
    assert decision.band == "unsure"
    labels = [label for label, _ in reply.quick_replies]
    assert labels[:3] == [s.title for s in decision.suggestions] and len(set(labels[:3])) == 3
    assert labels[3:] == ["Talk to a person"]
    assert reply.handoff is None and reply.misses == 0


def test_two_no_matches_in_a_row_hand_over(index: Index) -> None:
    decision = decide("qwerty zxcvb", index)
    first = compose_reply(decision, index.kb, misses=0, text="qwerty zxcvb")
    assert first.handoff is None and first.misses == 1
    second = compose_reply(decision, index.kb, misses=first.misses, text="qwerty zxcvb")
    assert second.handoff == "no_match"


def test_ask_prints_the_decision_as_json() -> None:
    result = run_chatsvc("ask", "my old couch needs to be picked up", "--json")
    assert result.returncode == 0, result.stderr
    decision = json.loads(result.stdout)
    assert decision["intent"] == "bulky-item-pickup"
    assert decision["article_id"] and decision["band"] == "confident"
    assert set(decision) >= {"intent", "article_id", "score", "suggestions"}


def test_eval_reports_accuracy_and_honours_min_accuracy(tmp_path: Path) -> None:
    examples = tmp_path / "tiny.jsonl"
    examples.write_text(
        json.dumps({"text": "my couch needs to go", "expect": "bulky-item-pickup"})
        + "\n"
        + json.dumps({"text": "my couch needs to go", "expect": "graffiti"})
        + "\n"
    )
    result = run_chatsvc("eval", str(examples))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "accuracy: 0.500"
    assert "graffiti -> bulky-item-pickup" in result.stdout
    strict = run_chatsvc("eval", str(examples), "--min-accuracy", "0.9")
    assert strict.returncode == 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "expect": "no-such-topic"}\n')
    refused = run_chatsvc("eval", str(bad))
    assert refused.returncode == 2 and "bad.jsonl:1" in refused.stderr


def test_dev_set_accuracy_and_every_emergency() -> None:
    if not DEV_SET.exists():
        missing("../shared/eval/dev.jsonl is not beside the repo")
    result = run_chatsvc("eval", str(DEV_SET), "--min-accuracy", "0.95")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "emergency ->" not in result.stdout, "an emergency was missed"


def test_self_harm_adds_the_crisis_line(index: Index) -> None:
    decision = decide("i want to end my life", index)
    assert decision.intent == "emergency" and decision.crisis
    reply = compose_reply(decision, index.kb, misses=0, text="i want to end my life")
    assert "988" in reply.text and "911" in reply.text
    fire = compose_reply(decide("my kitchen is on fire", index), index.kb, misses=0, text="")
    assert "988" not in fire.text and "911" in fire.text


# -- the subject wins over what surrounds it: issue 16's misses, and other phrasings of them


@pytest.mark.parametrize(
    ("text", "article"),
    [
        ("what day is my trash collected", "trash-collection-day"),
        ("what day is my garbage collected", "trash-collection-day"),
        ("which day does my garbage get collected", "trash-collection-day"),
        ("is trash collected on christmas", "trash-holiday-schedule"),
        ("will my trash be picked up on labor day", "trash-holiday-schedule"),
    ],
)
def test_the_article_is_the_one_that_says_the_words_most(
    index: Index, text: str, article: str
) -> None:
    decision = decide(text, index)
    assert (decision.band, decision.article_id) == ("confident", article), decision


def test_a_misspelt_question_is_offered_the_article_it_asks_for(index: Index) -> None:
    for text in ("wen is my trash pikup day", "wat day is trash pikup"):
        decision = decide(text, index)
        assert decision.suggestions, decision
        assert decision.suggestions[0].article_id == "trash-collection-day", decision


@pytest.mark.parametrize(
    "text",
    [
        "my neighbor's tree fell on the sidewalk",
        "my neighbor's tree just fell on the sidewalk",
        "my neighbors oak tree just fell into the street",
        "the big tree has just fell across the road",
    ],
)
def test_a_word_in_between_does_not_break_a_phrase(index: Index, text: str) -> None:
    decision = decide(text, index)
    assert decision.intent == "street-tree", decision
    assert decision.suggestions[0].article_id == "street-tree-fallen"
    assert suggest_articles(text, index)[0].id == "street-tree-fallen"


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        (
            "The street light on my block has been out for a week, 1200 N Fair Oaks Ave",
            "street-light",
        ),
        ("streetlight out on our block 900 N Fair Oaks Ave", "street-light"),
        (
            "the street light in front of 2140 E Orange Grove Blvd has been out for a week",
            "street-light",
        ),
        ("the streetlight by 4521 Maplewood is out", "street-light"),
        ("huge pothole in front of 1340 E Washington Blvd", "pothole"),
    ],
)
def test_an_address_does_not_outweigh_the_subject(index: Index, text: str, expect: str) -> None:
    decision = decide(text, index)
    assert (decision.intent, decision.band) == (expect, "confident"), decision


def test_an_address_does_not_make_a_topic_of_its_own(index: Index) -> None:
    # "Ave" left over from "Los Robles Ave" once counted as a word of Construction.
    decision = decide("sidewalk is cracked at 77 S Los Robles Ave", index)
    assert decision.intent == "sidewalk-repair", decision


@pytest.mark.parametrize(
    "text",
    [
        "Thanks Maria, one more question about my water bill",
        "thanks, my bill",
        "hello, about my recycling",
    ],
)
def test_a_courtesy_with_a_subject_that_is_not_clear_yet_is_not_only_a_courtesy(
    index: Index, text: str
) -> None:
    # The subject is there but fits several articles: offer them, do not just say "you're welcome".
    decision = decide(text, index)
    assert decision.intent not in ("thanks", "greeting"), decision
    assert decision.band in ("confident", "unsure"), decision


@pytest.mark.parametrize("text", ["thanks so much", "thank you for your help", "hi there"])
def test_a_courtesy_alone_is_a_courtesy(index: Index, text: str) -> None:
    assert decide(text, index).intent in ("thanks", "greeting")


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        # "fell" and "tree" are said once in passing in a wildlife article; a fallen tree is
        # what the street tree topic is about.
        ("the tree outside just fell down", "street-tree"),
        ("my neighbor's tree fell on the sidewalk", "street-tree"),
    ],
)
def test_words_said_in_passing_do_not_outweigh_a_topic_that_owns_them(
    index: Index, text: str, expect: str
) -> None:
    assert decide(text, index).suggestions[0].topic == expect


def test_one_word_said_once_in_passing_is_not_a_confident_answer(index: Index) -> None:
    decision = decide("talk", index)
    assert decision.band != "confident", decision


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("Thanks Maria, the pothole on Lake Ave is still there", "pothole"),
        ("Thanks Sam! One more thing, the graffiti on my garage is back", "graffiti"),
        ("hi Maria, thanks, the sidewalk is still broken in front of my house", "sidewalk-repair"),
        ("hi, thanks — the streetlight at 300 E Colorado Blvd is flickering", "street-light"),
        ("thanks! the street light at 1200 N Fair Oaks Ave is out again", "street-light"),
        ("good morning, the stoplight at Lake and Colorado is out", "traffic-signal"),
    ],
)
def test_a_greeting_or_thanks_in_front_does_not_hide_the_subject(
    index: Index, text: str, expect: str
) -> None:
    decision = decide(text, index)
    assert decision.intent == expect, decision
    # And the agent pane has the subject's articles to offer.
    assert suggest_articles(text, index)[0].topic == expect


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("thanks maria", "thanks"),
        ("Thank you! Have a great weekend", "thanks"),
        ("thanks so much for your help Maria, have a good one", "thanks"),
        ("thank you, that answers my question", "thanks"),
        ("thanks! I will check the website later", "thanks"),
        ("hi there, quick question", "greeting"),
        ("hello, is anyone there?", "greeting"),
    ],
)
def test_a_message_that_is_mostly_courtesy_is_courtesy(
    index: Index, text: str, expect: str
) -> None:
    assert decide(text, index).intent == expect


@pytest.mark.parametrize(
    "text",
    [
        "let me talk to an actual person",
        "let me speak with somebody",
        "I would like to chat with a person",
        "put me through to somebody please",
        "I want an actual person",
        "can I speak with a real live human?",
        "could you connect me with a staff member",
        "transfer me to a representative please",
    ],
)
def test_asking_for_a_person_in_other_words(index: Index, text: str) -> None:
    assert decide(text, index).intent == "human"


@pytest.mark.parametrize(
    "text",
    [
        "a person parked in my driveway",
        "someone dumped a couch in the alley",
        "the person who dumped trash was a real jerk",
        "I need a new recycling bin",
        "I need a roll-off dumpster for my business",
    ],
)
def test_a_person_in_the_story_is_not_a_request_for_one(index: Index, text: str) -> None:
    assert decide(text, index).intent != "human"


@pytest.mark.parametrize(
    ("text", "about"),
    [
        ("did anyone clean up the graffiti I reported yet?", "graffiti"),
        ("has the graffiti been cleaned up yet?", "graffiti"),
        ("when will the graffiti I just reported be removed", "graffiti"),
        ("has the recycling I reported been picked up yet?", "missed-trash"),
        ("any update?", None),
    ],
)
def test_a_status_question_says_what_it_is_about(
    index: Index, text: str, about: str | None
) -> None:
    # The topics tell apart the requests the chat filed (assistant_turns, filing.start_status).
    decision = decide(text, index)
    assert decision.intent == "status", decision
    assert (about in decision.topics) if about else decision.topics == (), decision
