"""Knowledge-base search for the agent pane: a search box, and articles for the latest message.

Both are pure, synchronous functions of (text, index). Search normalises the query as the matcher
does (typos, synonyms, stems), finds candidate articles through an inverted index of their terms,
scores them by how much of the query they cover (a word in the title counts most, then in the
phrasings and keywords, the article's and topic's names, and last the body), and compares the
titles of the best few with the query using rapidfuzz. The inverted index, which also covers
article bodies (the matcher's `Index` does not), is derived from an `Index` once, by
`prepare_search` or else on first use, and kept beside it while the `Index` lives.
"""

from __future__ import annotations

import bisect
import heapq
import math
import threading
import weakref
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from chatsvc.bot.matcher import MAX_QUERY_WORDS, Index, decide
from chatsvc.bot.text import STOPWORDS, normalize, terms

# How strongly a term belongs to an article, by where the article says it.
# Said in several places, they add up as chances do: 1 - (1 - a)(1 - b)...
TITLE_WEIGHT = 0.9
TAGS_WEIGHT = 0.6  # phrasings and keywords
NAMES_WEIGHT = 0.5  # the article's id, the topic's code and name
BODY_WEIGHT = 0.3
COVERAGE_SHARE = 0.8  # of the score; the rest is the title's resemblance to the query
RESEMBLANCE_CANDIDATES = 50  # articles whose titles rapidfuzz compares with the query
MIN_SCORE = 0.12  # below this an article shares too little with the query to be shown
MIN_SHARE_OF_BEST = 0.3  # nor when it scores under this share of the best hit
MAX_QUERY_CHARS = 4_000  # more than MAX_QUERY_WORDS words in any real query
MAX_WORD_LENGTH = 30  # longer "words" are pasted noise: never corrected or completed
PREFIX_SCAN = 500  # known words looked at to complete a partly typed last word
COMPLETIONS = 10  # the commonest of their terms it may stand for
CORRECTED = 0.85  # a typo corrected by the search's own, wider, vocabulary counts for less
COMPLETED = 0.9  # as does a word completed from its first letters
SIBLING_CAP = 0.95  # another article of a suggested topic never outranks the matcher's choice


@dataclass(frozen=True)
class ArticleHit:
    """An article found for the agent, with how well it matched (0 to 1)."""

    id: str
    title: str
    topic: str
    text: str  # the article's answer, in Markdown
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "topic": self.topic,
            "text": self.text,
            "score": round(self.score, 3),
        }


def search_articles(query: str, index: Index, limit: int = 10) -> list[ArticleHit]:
    """Find the articles an agent's search box query is about, best first."""
    if limit <= 0 or not query.strip():
        return []
    found = _search_index(index)
    wanted = _parse(query, index, found, complete_last=True)
    pinned = _pinned(query, index, found)
    coverage = _coverage(wanted.groups, found)
    for number in pinned:
        coverage.setdefault(number, 0.0)
    if not coverage:
        return []

    # rapidfuzz only for the articles the terms already put near the top.
    candidates = heapq.nlargest(
        max(RESEMBLANCE_CANDIDATES, limit + len(pinned)),
        coverage.items(),
        key=lambda item: (item[0] in pinned, item[1]),
    )
    scores: dict[int, float] = {}
    for number, cover in candidates:
        resemblance = fuzz.token_set_ratio(wanted.words, found.titles[number]) / 100
        scores[number] = COVERAGE_SHARE * cover + (1 - COVERAGE_SHARE) * resemblance
    ranked = sorted(
        scores.items(),
        key=lambda item: (item[0] not in pinned, -item[1], index.kb.articles[item[0]].title),
    )
    best = max((s for n, s in ranked if n not in pinned), default=0.0)
    floor = max(MIN_SCORE, MIN_SHARE_OF_BEST * best)
    hits = [
        _hit(index, number, 1.0 if number in pinned else score)
        for number, score in ranked
        if number in pinned or score >= floor
    ]
    return hits[:limit]


def suggest_articles(text: str, index: Index, limit: int = 3) -> list[ArticleHit]:
    """Pick the articles an agent could insert in a reply to a resident's latest message."""
    if limit <= 0 or not text.strip():
        return []
    decision = decide(text, index)
    if not decision.suggestions:
        # "A person please", an emergency, a greeting: no article fits, and a loose search
        # would only put noise in front of the agent. A status question has its article.
        searchable = decision.intent in ("none", "status")
        return search_articles(text, index, limit) if searchable else []
    found = _search_index(index)
    groups = _parse(text, index, found, complete_last=False).groups
    scores: dict[int, float] = {}
    for suggestion in decision.suggestions:
        chosen = found.by_id.get(suggestion.article_id)
        if chosen is None:
            continue
        scores[chosen] = max(scores.get(chosen, 0.0), suggestion.score)
        # The topic's other articles, by how much of the message they cover, below its best.
        siblings = [n for n in index.topic_articles.get(suggestion.topic, ()) if n != chosen]
        if not siblings:
            continue
        coverage = _coverage(groups, found, among={chosen, *siblings})
        reference = coverage.get(chosen, 0.0)
        for number in siblings:
            cover = coverage.get(number, 0.0)
            if cover <= 0:
                continue  # says nothing the resident said
            share = min(SIBLING_CAP, cover / max(reference, cover))
            scores[number] = max(scores.get(number, 0.0), suggestion.score * share)
    ranked = sorted(scores.items(), key=lambda item: -item[1])  # stable: the matcher's order
    return [_hit(index, number, score) for number, score in ranked[:limit]]


def prepare_search(index: Index) -> None:
    """Build the search's own index of `index` now, rather than on the first search."""
    _search_index(index)


def _hit(index: Index, number: int, score: float) -> ArticleHit:
    article = index.kb.articles[number]
    return ArticleHit(article.id, article.title, article.topic, article.answer, score)


# --- the search index, derived once from the matcher's ----------------------------------------


@dataclass(frozen=True)
class _SearchIndex:
    owner: weakref.ref[Index]
    postings: dict[str, dict[int, float]]  # term -> {article number: how strongly it has it}
    idf: dict[str, float]
    words: frozenset[str]  # every normalised word the articles and the matcher know
    sorted_words: tuple[str, ...]  # the same, to complete a partly typed word by bisection
    typo_choices: tuple[str, ...]  # the words a typo may be corrected to
    titles: tuple[str, ...]  # each article's title, normalised, for rapidfuzz
    by_id: dict[str, int]


_PREPARED: dict[int, _SearchIndex] = {}
_PREPARING = threading.Lock()


def _search_index(index: Index) -> _SearchIndex:
    """The search index of `index`, built on first use and dropped with it."""
    found = _PREPARED.get(id(index))
    if found is not None and found.owner() is index:
        return found
    with _PREPARING:
        found = _PREPARED.get(id(index))
        if found is None or found.owner() is not index:
            found = _build(index)
            _PREPARED[id(index)] = found
            weakref.finalize(index, _PREPARED.pop, id(index), None)
    return found


def _build(index: Index) -> _SearchIndex:
    synonyms = index.synonyms
    words: set[str] = set(index.vocabulary.words)

    def prepare(text: str) -> tuple[list[str], set[str]]:
        """Terms of `text` both as written and with synonyms applied, and its words."""
        plain = normalize(text).split()
        written = terms(plain)
        canonical = terms(synonyms.apply(plain))
        seen = set(written)
        return written + [t for t in canonical if t not in seen], set(plain)

    postings: dict[str, dict[int, float]] = defaultdict(dict)
    titles: list[str] = []
    for number, article in enumerate(index.kb.articles):
        topic = index.kb.topics.get(article.topic)
        fields: list[tuple[float, Iterable[str]]] = [
            (TITLE_WEIGHT, (article.title,)),
            (TAGS_WEIGHT, (*article.phrasings, *article.keywords)),
            (NAMES_WEIGHT, (article.id, article.topic, topic.name if topic else "")),
            (BODY_WEIGHT, (article.answer,)),
        ]
        missing: dict[str, float] = {}  # term -> the chance that no field says it
        count: Counter[str] = Counter()
        for field_weight, texts in fields:
            in_field: set[str] = set()
            for text in texts:
                said, plain = prepare(text)
                words.update(plain)
                count.update(said)
                in_field.update(said)
            for term in in_field:
                missing[term] = missing.get(term, 1.0) * (1 - field_weight)
        # Saying a term often makes an article a little more about it.
        for term, chance in missing.items():
            repeated = count[term] / (count[term] + 1.5)
            postings[term][number] = (1 - chance) * (0.85 + 0.15 * repeated)
        titles.append(_title_words(normalize(article.title).split()))

    articles = len(index.kb.articles) or 1
    idf = {term: math.log(1 + articles / len(having)) for term, having in postings.items()}
    words = {w for w in words if len(w) <= MAX_WORD_LENGTH}
    return _SearchIndex(
        owner=weakref.ref(index),
        postings=dict(postings),
        idf=idf,
        words=frozenset(words),
        sorted_words=tuple(sorted(words)),
        typo_choices=tuple(sorted(w for w in words if len(w) >= 4 and not w.isdigit())),
        titles=tuple(titles),
        by_id={article.id: number for number, article in enumerate(index.kb.articles)},
    )


# --- queries -----------------------------------------------------------------------------------

_Group = list[tuple[str, float]]  # a term of the query and what it may stand for, with weights


@dataclass(frozen=True)
class _Query:
    groups: list[_Group]  # the terms the articles know; none for a hopeless query
    words: str  # the words said, typos fixed, to compare with titles


def _parse(text: str, index: Index, found: _SearchIndex, complete_last: bool) -> _Query:
    """Read a query as the matcher reads a message, keeping only the terms articles have."""
    typed = normalize(text[:MAX_QUERY_CHARS]).split()[:MAX_QUERY_WORDS]
    corrected: list[str] = []
    unknown: list[str] = []
    for word in typed:
        if word in found.words or len(word) > MAX_WORD_LENGTH:
            corrected.append(word)
            continue
        fixed = index.vocabulary.correct(word)
        corrected.append(fixed)
        if fixed not in found.words:
            unknown.append(word)

    groups: list[_Group] = []
    seen: set[str] = set()
    for term in terms(index.synonyms.apply(corrected)):
        # One letter or digit ("<b>1</b>") is in too many articles to say anything.
        if len(term) > 1 and term in found.postings and term not in seen:
            seen.add(term)
            groups.append([(term, 1.0)])
    for word in unknown:
        group = _alternatives(word, found, complete=complete_last and word == typed[-1])
        group = [(t, w) for t, w in group if t not in seen]
        if group:
            seen.update(t for t, _ in group)
            groups.append(group)
    return _Query(groups, _title_words(w for w in corrected if len(w) <= MAX_WORD_LENGTH))


def _title_words(words: Iterable[str]) -> str:
    """Words to compare a query with titles: whole (so "park" is not "parking"), but singular."""
    return " ".join(_singular(w) for w in words if w not in STOPWORDS)


def _singular(word: str) -> str:
    if len(word) <= 3 or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    return word.removesuffix("s")


def _alternatives(word: str, found: _SearchIndex, complete: bool) -> _Group:
    """Known terms an unknown word may be: a typo the matcher leaves, or a word still typed."""
    options: dict[str, float] = {}
    if 5 <= len(word) <= MAX_WORD_LENGTH and not word.isdigit():
        allowed = 2 if len(word) >= 9 else 1
        for close, distance, _ in process.extract(
            word, found.typo_choices, scorer=OSA.distance, score_cutoff=allowed, limit=3
        ):
            for term in terms([close]):
                options.setdefault(term, CORRECTED ** (1 + distance))
    if complete and 3 <= len(word) <= MAX_WORD_LENGTH:
        start = bisect.bisect_left(found.sorted_words, word)
        completed: set[str] = set()
        for known in found.sorted_words[start : start + PREFIX_SCAN]:
            if not known.startswith(word):
                break
            completed.update(t for t in terms([known]) if t in found.postings)
        # As in any search box, the commonest words come first: "tra" is "trash" before
        # "trailer", however rarer (and so weightier) "trailer" is.
        common = sorted(completed, key=lambda t: (-len(found.postings[t]), t))[:COMPLETIONS]
        for term in common:
            share = len(found.postings[term]) / len(found.postings[common[0]])
            options.setdefault(term, COMPLETED * share)
    return sorted(
        ((t, w) for t, w in options.items() if t in found.postings), key=lambda item: -item[1]
    )


def _pinned(query: str, index: Index, found: _SearchIndex) -> set[int]:
    """Articles the query names exactly, by article id or topic code."""
    code = query.strip().lower()
    if code in found.by_id:
        return {found.by_id[code]}
    return set(index.topic_articles.get(code, ()))


def _coverage(
    groups: list[_Group], found: _SearchIndex, among: set[int] | None = None
) -> dict[int, float]:
    """How much of the query (by rarity of its terms) each article that shares a term covers."""
    total = sum(max(found.idf[t] * w for t, w in group) for group in groups)
    if not total:
        return {}
    covered: dict[int, float] = defaultdict(float)
    for group in groups:
        best: dict[int, float] = {}
        for term, weight in group:
            rarity = found.idf[term] * weight
            having = found.postings[term]
            pairs = having.items() if among is None else ((n, having.get(n, 0.0)) for n in among)
            for number, strength in pairs:
                if strength:
                    best[number] = max(best.get(number, 0.0), rarity * strength)
        for number, value in best.items():
            covered[number] += value / total
    return dict(covered)


__all__ = ["ArticleHit", "prepare_search", "search_articles", "suggest_articles"]
