"""Knowledge-base search for the agent pane, on the real knowledge base."""

from __future__ import annotations

import gc

import pytest

from chatsvc.bot.matcher import Index, build_index, decide
from chatsvc.bot.search import ArticleHit, prepare_search, search_articles, suggest_articles
from chatsvc.catalogue.knowledge import load_knowledge_base
from chatsvc.settings import DEFAULT_KNOWLEDGE_BASE


@pytest.fixture(scope="module")
def index() -> Index:
    index = build_index(load_knowledge_base(DEFAULT_KNOWLEDGE_BASE))
    prepare_search(index)
    return index


def ids(hits: list[ArticleHit]) -> list[str]:
    return [hit.id for hit in hits]


@pytest.mark.parametrize(
    ("query", "expect"),
    [
        ("pothole", "pothole-report"),
        ("grafiti", "graffiti-removal"),  # typo
        ("pothle", "pothole-report"),  # typo
        ("potholes", "pothole-report"),  # plural of the title's word
        ("coyote", "animal-control-wildlife"),  # singular of the title's word
        ("recreation class", "recreation-classes-registration"),
        ("parkng permit", "parking-permit-district"),
        ("schedule bulky pickup", "bulky-item-pickup-schedule"),
        ("streetlight", "street-light-out"),
        ("graffi", "graffiti-removal"),  # still being typed
    ],
)
def test_agent_queries_find_the_right_article_first(index: Index, query: str, expect: str) -> None:
    assert ids(search_articles(query, index))[0] == expect


@pytest.mark.parametrize(
    ("query", "expect"),
    [
        ("turf", "rebates-water-turf"),
        ("coyotes", "animal-control-wildlife"),
        ("eviction", "housing-eviction-prevention"),
        ("meter re-read", "high-bill-meter-reread"),
        ("Rose Bowl", "ada-seating-rose-bowl"),
        ("abandoned vehicle", "abandoned-vehicle-report"),
    ],
)
def test_a_title_word_ranks_its_article_first(index: Index, query: str, expect: str) -> None:
    assert ids(search_articles(query, index))[0] == expect


def test_other_words_for_bulky_items_find_their_articles(index: Index) -> None:
    bulky = {a.id for a in index.kb.articles_of("bulky-item-pickup")}
    for query in ("bulky pickup", "sofa", "refrigerator", "bulk"):
        assert set(ids(search_articles(query, index))[:3]) == bulky, query


def test_titles_weigh_more_than_bodies(index: Index) -> None:
    # Articles that only mention potholes (in passing, in phrasings or the body) come after.
    hits = search_articles("pothole", index)
    body_only = [h for h in hits if "pothole" not in h.title.lower()]
    assert ids(hits)[:2] == ["pothole-report", "pothole-vehicle-damage-claim"]
    assert body_only and all(h.score < hits[1].score for h in body_only)


@pytest.mark.parametrize(
    ("query", "word", "expect"),
    [
        ("cisterns", "cistern", "rebates-water-turf"),
        ("fluorescent", "fluorescent", "trash-what-goes-in-which-bin"),
        ("flourescent", "fluorescent", "trash-what-goes-in-which-bin"),  # typo
    ],
)
def test_a_word_only_in_a_body_is_found(index: Index, query: str, word: str, expect: str) -> None:
    article = index.kb.article(expect)
    assert article is not None
    elsewhere = " ".join((article.title, *article.phrasings, *article.keywords)).lower()
    assert word not in elsewhere and word in article.answer.lower()
    assert ids(search_articles(query, index)) == [expect]


def test_a_word_being_typed_is_completed_with_the_commonest_word(index: Index) -> None:
    hits = search_articles("tra", index, limit=5)  # "trash", not the rarer "trailer"
    assert len(hits) == 5 and all("trash" in h.title.lower() for h in hits)


def test_a_topic_code_or_article_id_lists_its_articles_first(index: Index) -> None:
    hits = search_articles("bulky-item-pickup", index)
    bulky = {a.id for a in index.kb.articles_of("bulky-item-pickup")}
    assert len(bulky) > 1 and set(ids(hits)[: len(bulky)]) == bulky
    assert ids(search_articles("noise-construction-leaf-blowers", index))[0] == (
        "noise-construction-leaf-blowers"
    )
    graffiti = {"graffiti-private-property", "graffiti-removal"}
    assert set(ids(search_articles("  Graffiti ", index))[:2]) == graffiti


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   \n\t ",
        "the and of",
        "asdkjh qwpoeiru zxmcnv",
        "who won the world series in 1988",
        "!!! ??? ...",
        "🙂🙂🙂",
    ],
)
def test_empty_or_hopeless_queries_find_nothing(index: Index, query: str) -> None:
    assert search_articles(query, index) == []


def test_limit_is_respected_and_hits_are_best_first_without_duplicates(index: Index) -> None:
    assert len(search_articles("water", index)) == 10
    for limit in (0, 1, 3):
        assert len(search_articles("water", index, limit=limit)) == limit
    hits = search_articles("water", index, limit=50)
    assert len(hits) > 10 and len(set(ids(hits))) == len(hits)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True) and all(0 < s <= 1 for s in scores)


def test_a_hit_carries_the_article(index: Index) -> None:
    hit = search_articles("pothole", index)[0]
    article = index.kb.article(hit.id)
    assert article is not None
    assert (hit.title, hit.topic, hit.text) == (article.title, article.topic, article.answer)
    data = hit.as_dict()
    assert set(data) == {"id", "title", "topic", "text", "score"}
    assert data["score"] == round(hit.score, 3) and data["text"] == article.answer


def test_markup_in_the_query_is_only_text(index: Index) -> None:
    assert search_articles("<script>alert(1)</script>", index) == []
    hits = search_articles('<img src=x onerror="alert(1)"><b>pothole</b>', index)
    assert ids(hits)[0] == "pothole-report"
    assert not any("<script" in h.text or "onerror" in h.text for h in hits)


@pytest.mark.parametrize(
    "query",
    ["pothole " * 1250, "x" * 10_000, ("grafiti parking " * 700)[:10_000], "é" * 10_000],
)
def test_a_ten_thousand_character_query_is_answered(index: Index, query: str) -> None:
    hits = search_articles(query, index)
    assert len(hits) <= 10
    if "pothole" in query:
        assert ids(hits)[0] == "pothole-report"
    assert len(suggest_articles(query, index)) <= 3


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("my couch needs to go, when can you pick it up", "bulky-item-pickup-schedule"),
        ("there's graffiti all over the wall behind my house", "graffiti-removal"),
        ("huge pothle on my street, it wrecked my tire", "pothole-vehicle-damage-claim"),
        ("my guest needs to park overnight this weekend", "parking-permit-temporary-guest"),
        ("the streetlight in front of my house is out", "street-light-out"),
        ("my garbage wasnt picked up this week", "missed-trash-collection"),
    ],
)
def test_suggestions_for_a_resident_message(index: Index, text: str, expect: str) -> None:
    hits = suggest_articles(text, index)
    assert expect in ids(hits), ids(hits)
    assert 0 < len(hits) <= 3 and len(set(ids(hits))) == len(hits)
    decision = decide(text, index)
    assert hits[0].id == decision.article_id  # the matcher's own choice leads


def test_suggestions_include_a_topics_other_articles(index: Index) -> None:
    hits = suggest_articles("my couch needs to go, when can you pick it up", index)
    assert {h.topic for h in hits} == {"bulky-item-pickup"} and len(hits) == 3
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    one = suggest_articles("my couch needs to go, when can you pick it up", index, limit=1)
    assert ids(one) == ids(hits)[:1]


def test_unsure_suggestions_offer_several_topics(index: Index) -> None:
    decision = decide("trash", index)
    assert decision.band == "unsure"
    hits = suggest_articles("trash", index)
    assert ids(hits)[0] == decision.suggestions[0].article_id
    assert len({h.topic for h in hits}) > 1 and len(set(ids(hits))) == 3


def test_without_matcher_suggestions_it_searches(index: Index) -> None:
    text = "what's the status of request 24-001234"
    decision = decide(text, index)
    assert decision.intent == "status" and not decision.suggestions
    assert ids(suggest_articles(text, index))[:1] == ["csc-request-status"]
    assert suggest_articles("asdkjh qwpoeiru zxmcnv", index) == []
    assert suggest_articles("", index) == [] and suggest_articles("hi", index) == []
    # Asking for a person or reporting an emergency: nothing loose in front of the agent.
    assert suggest_articles("I want to speak with a real person", index) == []
    assert suggest_articles("my garage is on fire", index) == []


def test_the_search_index_goes_with_its_index() -> None:
    from chatsvc.bot import search

    fresh = build_index(load_knowledge_base(DEFAULT_KNOWLEDGE_BASE))
    assert ids(search_articles("pothole", fresh))[0] == "pothole-report"
    key = id(fresh)
    assert key in search._PREPARED
    del fresh
    gc.collect()
    assert key not in search._PREPARED
