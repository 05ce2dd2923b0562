"""Deciding what a resident asked: a special intent, a topic (with its article), or nothing.

`build_index(kb)` turns the knowledge base into an immutable index once; `decide(text, index)` is a
pure, synchronous function of the two. Special intents are checked first (an emergency always wins),
then topics are scored two ways and the scores combined:

- coverage: how much of what the resident wrote (weighted by how rare each term is across topics)
  the topic's titles, phrasings and keywords contain;
- resemblance: rapidfuzz's token-sort similarity to the closest phrasing of the topic.

The combined score falls in one of three bands: confident (answer), unsure (offer the top three),
or none (say so, offer a person).
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process

from chatsvc.bot.text import STOPWORDS, Synonyms, Vocabulary, looks_spanish, normalize, terms
from chatsvc.catalogue.knowledge import Article, KnowledgeBase

CONFIDENT = 0.52  # at or above, and MARGIN ahead of the next topic: answer
UNSURE = 0.38  # at or above: "did you mean…" with the top three
MARGIN = 0.10
PASSING = 1 / 1.5  # a term's strength in a topic when one phrasing says it (n / (n + 1/2))
PASSING_ONLY = 0.85  # a topic's score when the message shares only such terms with it
# A word no topic uses counts against coverage like a rare word: it probably says what the
# message is about, and that is something we know nothing of.
CANDIDATE_TOPICS = 25  # topics whose phrasings are compared with the message
TOPIC_NAME_COUNT = 3  # a word of the topic's own name counts as if said in three phrasings
MAX_QUERY_WORDS = 60  # a long message is judged by its start: residents lead with the point
COURTESY_REST = 2  # known words a greeting or a thank-you may come with and still be one
STATUS_NUMBER = re.compile(r"\b\d{2}-\d{5,6}\b|\b\d{7,8}\b")  # 24-001234


@dataclass(frozen=True)
class Suggestion:
    topic: str
    article_id: str
    title: str
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "topic": self.topic,
            "article_id": self.article_id,
            "title": self.title,
            "score": round(self.score, 3),
        }


@dataclass(frozen=True)
class Decision:
    """What the assistant made of a message."""

    intent: str  # a topic code, one of the special intents, or "none"
    band: str  # "confident", "unsure" or "none"
    score: float
    article_id: str | None = None
    suggestions: tuple[Suggestion, ...] = ()
    request_number: str | None = None
    crisis: bool = False  # an emergency about suicide or self-harm: 988 as well as 911
    language: str = "en"  # "es" when the message is in Spanish
    # When the resident asks for a person: what the rest of the message is about, when that is
    # clear, so the conversation goes to the right workgroup.
    topic_guess: str | None = None
    # When they ask about a request: the topics the rest points to, best first, even unsure
    # ("the recycling I reported"), to tell apart the requests their chat filed.
    topics: tuple[str, ...] = ()

    @property
    def is_topic(self) -> bool:
        return self.band in ("confident", "unsure")

    def as_dict(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "band": self.band,
            "score": round(self.score, 3),
            "article_id": self.article_id,
            "suggestions": [s.as_dict() for s in self.suggestions],
            "request_number": self.request_number,
            "crisis": self.crisis,
            "language": self.language,
            "topic_guess": self.topic_guess,
        }


class _Phrases:
    """Phrases matched as whole words: sets of word tuples, looked up n-gram by n-gram.

    Fillers ("a", "an", "actual", "real") may be there or not in a phrase that has two other
    words or more: "talk to a person" is also "talk to an actual person" and "talk to person".
    A phrase that is one word besides its fillers ("real person") is matched as written, since
    its one word alone ("person") says much less.
    """

    def __init__(
        self, phrases: tuple[str, ...], exclude: tuple[str, ...], fillers: tuple[str, ...] = ()
    ):
        self.fillers = frozenset(w for f in fillers for w in normalize(f).split())
        written = {tuple(normalize(p).split()) for p in phrases} - {()}
        self.phrases: set[tuple[str, ...]] = set()
        # Phrases without their fillers, matched on the words without theirs.
        self.loose: set[tuple[str, ...]] = set()
        for phrase in written:
            core = tuple(w for w in phrase if w not in self.fillers)
            if len(core) >= 2 and self.fillers:
                self.loose.add(core)
            else:
                self.phrases.add(phrase)
        self.exclude = {tuple(normalize(p).split()) for p in exclude} - {()}
        self._starts = _longest_by_first_word(self.phrases)
        self._loose_starts = _longest_by_first_word(self.loose)
        self._excluded_starts = _longest_by_first_word(self.exclude)

    def _spans(
        self, words: list[str], table: set[tuple[str, ...]], starts: dict[str, int]
    ) -> list[range]:
        spans = []
        i = 0
        while i < len(words):
            longest = starts.get(words[i], 0)  # most words start no phrase: one lookup each
            for size in range(min(longest, len(words) - i), 0, -1):
                if tuple(words[i : i + size]) in table:
                    spans.append(range(i, i + size))
                    i += size
                    break
            else:
                i += 1
        return spans

    def found_in(self, words: list[str]) -> bool:
        """Tell whether a phrase occurs in `words`, outside every excluded phrase."""
        if not self.phrases and not self.loose:
            return False
        excluded = self._spans(words, self.exclude, self._excluded_starts)
        if excluded:
            blocked = {i for span in excluded for i in span}
            words = [w if i not in blocked else "\0" for i, w in enumerate(words)]
        return bool(self._found(words))

    def remove_from(self, words: list[str]) -> list[str]:
        """`words` without the phrases found in them."""
        taken = self._found(words)
        return [w for i, w in enumerate(words) if i not in taken]

    def _found(self, words: list[str]) -> set[int]:
        """The positions of the phrases found in `words` (with the fillers inside them)."""
        taken = {i for span in self._spans(words, self.phrases, self._starts) for i in span}
        if self.loose:
            kept = [i for i, w in enumerate(words) if w not in self.fillers]
            core = [words[i] for i in kept]
            for span in self._spans(core, self.loose, self._loose_starts):
                taken.update(range(kept[span.start], kept[span.stop - 1] + 1))
        return taken


def _longest_by_first_word(phrases: set[tuple[str, ...]]) -> dict[str, int]:
    longest: dict[str, int] = {}
    for phrase in phrases:
        longest[phrase[0]] = max(longest.get(phrase[0], 0), len(phrase))
    return longest


@dataclass(frozen=True)
class Index:
    """The knowledge base prepared for matching; built once, never changed."""

    kb: KnowledgeBase
    vocabulary: Vocabulary
    synonyms: Synonyms
    intents: dict[str, _Phrases]
    idf: dict[str, float]
    topic_terms: dict[str, dict[str, float]]  # term -> how strongly it belongs to the topic
    phrasing_texts: tuple[str, ...]
    phrasing_topics: tuple[str, ...]
    phrasing_articles: tuple[int, ...]
    article_terms: tuple[dict[str, float], ...]  # as topic_terms, for each article
    unknown_weight: float = 1.0
    places: re.Pattern[str] | None = None
    # term -> {topic: strength}: only topics sharing a term with the message are scored
    postings: dict[str, dict[str, float]] = field(default_factory=dict)
    topic_phrasings: dict[str, tuple[int, ...]] = field(default_factory=dict)
    topic_articles: dict[str, tuple[int, ...]] = field(default_factory=dict)


def build_index(kb: KnowledgeBase) -> Index:
    """Prepare the knowledge base for `decide`."""
    synonyms = Synonyms(kb.synonyms)
    intents = {name: _Phrases(p.phrases, p.exclude, p.fillers) for name, p in kb.intents.items()}
    emergency = kb.intents.get("emergency")
    if emergency is not None and emergency.crisis:
        intents["crisis"] = _Phrases(emergency.crisis, emergency.exclude)

    words: set[str] = set(STOPWORDS) | synonyms.words
    for article in kb.articles:
        for text in (article.title, *article.phrasings, *article.keywords):
            words.update(normalize(text).split())
    for topic in kb.topics.values():
        words.update(normalize(topic.name).split())
    for p in kb.intents.values():
        for text in (*p.phrases, *p.fillers):
            words.update(normalize(text).split())
    alarm = kb.intents.get("emergency")
    alarm_words = {w for p in alarm.phrases for w in normalize(p).split()} if alarm else set()
    vocabulary = Vocabulary(words, alarm_words - STOPWORDS)

    def prepare(text: str) -> list[str]:
        return terms(synonyms.apply(normalize(text).split()))

    topic_counts: dict[str, Counter[str]] = defaultdict(Counter)
    article_terms: list[dict[str, float]] = []
    phrasing_texts: list[str] = []
    phrasing_topics: list[str] = []
    phrasing_articles: list[int] = []
    for number, article in enumerate(kb.articles):
        bag: Counter[str] = Counter()
        for text in (article.title, *article.phrasings, *article.keywords):
            found = set(prepare(text))
            bag.update(found)
            topic_counts[article.topic].update(found)
        article_terms.append({t: n / (n + 0.5) for t, n in bag.items()})
        for text in (article.title, *article.phrasings):
            phrasing_texts.append(" ".join(prepare(text)))
            phrasing_topics.append(article.topic)
            phrasing_articles.append(number)
    for code, topic in kb.topics.items():
        topic_counts[code].update({t: TOPIC_NAME_COUNT for t in set(prepare(topic.name))})
    # A term said in many of a topic's phrasings belongs to it more than one said once in
    # passing ("refrigerator" in a rebate article): strength = n / (n + 1/2), saturating.
    topic_terms = {
        code: {t: n / (n + 0.5) for t, n in counts.items()} for code, counts in topic_counts.items()
    }

    count = len(topic_terms) or 1
    frequency: dict[str, int] = defaultdict(int)
    for strengths in topic_terms.values():
        for term in strengths:
            frequency[term] += 1
    idf = {term: math.log(1 + count / n) for term, n in frequency.items()}
    return Index(
        kb=kb,
        vocabulary=vocabulary,
        synonyms=synonyms,
        intents=intents,
        idf=idf,
        topic_terms=topic_terms,
        phrasing_texts=tuple(phrasing_texts),
        phrasing_topics=tuple(phrasing_topics),
        phrasing_articles=tuple(phrasing_articles),
        article_terms=tuple(article_terms),
        unknown_weight=max(idf.values(), default=1.0),
        places=_places_pattern(kb),
        postings=_postings(topic_terms),
        topic_phrasings=_group(phrasing_topics),
        topic_articles=_group([a.topic for a in kb.articles]),
    )


def _postings(topic_terms: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    postings: dict[str, dict[str, float]] = defaultdict(dict)
    for code, strengths in topic_terms.items():
        for term, strength in strengths.items():
            postings[term][code] = strength
    return dict(postings)


def _group(keys: list[str]) -> dict[str, tuple[int, ...]]:
    groups: dict[str, list[int]] = defaultdict(list)
    for position, key in enumerate(keys):
        groups[key].append(position)
    return {key: tuple(positions) for key, positions in groups.items()}


def _places_pattern(kb: KnowledgeBase) -> re.Pattern[str] | None:
    """Street addresses, place names and where-words: "1234 N Lake Ave", "Del Mar", "my block"."""
    names = sorted({normalize(n) for n in kb.places if normalize(n)}, key=len, reverse=True)
    nearby = sorted({normalize(n) for n in kb.nearby if normalize(n)}, key=len, reverse=True)
    suffixes = sorted({normalize(s) for s in kb.street_suffixes if normalize(s)})
    suffix = "(?:" + "|".join(map(re.escape, suffixes)) + ")" if suffixes else None
    parts = []
    if suffix:
        parts.append(r"(?:\d+ )?(?:[nsew] )?[a-z]+ " + suffix)
    if names:
        # A known name may be written with its suffix: "1200 N Fair Oaks Ave" goes whole.
        named = r"(?:\d+ )?(?:[nsew] )?(?:" + "|".join(map(re.escape, names)) + r")"
        parts.append(named + (f"(?: {suffix})?" if suffix else ""))
    if nearby:
        parts.append("(?:" + "|".join(map(re.escape, nearby)) + ")")
    return re.compile(r"\b(?:" + "|".join(parts) + r")\b") if parts else None


def mentions_emergency(text: str, index: Index) -> bool:
    """Tell whether `text` reports an emergency, as `decide` would, without scoring topics."""
    raw_words = normalize(text).split()[:MAX_QUERY_WORDS]
    phrases = index.intents.get("emergency")
    if phrases is None:
        return False
    corrected = [index.vocabulary.correct(w) for w in raw_words]
    return phrases.found_in(raw_words) or phrases.found_in(corrected)


def decide(text: str, index: Index) -> Decision:
    """Decide what `text` asks for."""
    plain = normalize(text)
    raw_words = plain.split()[:MAX_QUERY_WORDS]
    if not raw_words:
        return Decision("none", "none", 0.0)
    corrected = [index.vocabulary.correct(w) for w in raw_words]
    corrected_text = " ".join(corrected)
    plain = " ".join(raw_words)

    def says(intent: str) -> bool:
        phrases = index.intents.get(intent)
        return phrases is not None and (phrases.found_in(raw_words) or phrases.found_in(corrected))

    # Where it happens does not say what happened: street and place names are left out.
    about = index.places.sub(" ", corrected_text).split() if index.places else corrected

    def besides(intent: str) -> dict[str, Any]:
        """What the message says apart from `intent`'s phrases: a topic guess, suggestions."""
        rest = index.intents[intent].remove_from(about)
        topical = _score_topics(_query_terms(rest, index), index)
        guess = topical.intent if topical.band == "confident" else None
        return {
            "topic_guess": guess,
            "suggestions": topical.suggestions if guess else (),
            "topics": tuple(s.topic for s in topical.suggestions) if topical.is_topic else (),
        }

    # An emergency wins over everything, whatever else the message says.
    if says("emergency"):
        # No topic guess here: the words of an emergency ("burning", "down") mislead topics.
        return Decision("emergency", "confident", 1.0, crisis=says("crisis"))
    if says("human"):
        person = besides("human")
        return Decision(
            "human",
            "confident",
            1.0,
            topic_guess=person["topic_guess"],
            suggestions=person["suggestions"],
        )
    number = STATUS_NUMBER.search(text)
    if says("status") or (number and _mentions_request(plain)):
        # What it is about ("the graffiti I reported") tells a chat's own requests apart.
        about_it = besides("status")
        return Decision(
            "status",
            "confident",
            1.0,
            request_number=number.group(0) if number else None,
            topic_guess=about_it["topic_guess"],
            topics=about_it["topics"],
        )

    # Nor do greetings and thanks say what a message is about ("good morning, the stoplight…").
    courtesies = [c for c in ("greeting", "thanks") if says(c)]
    subject = about
    for courtesy in courtesies:
        subject = index.intents[courtesy].remove_from(subject)
    topical = _score_topics(_query_terms(subject, index), index)
    if looks_spanish(raw_words) and topical.band != "confident":
        return Decision("none", "none", topical.score, language="es")

    # Greetings and thanks count only when the message is mostly that: "hi, my trash was missed"
    # is about trash, and "Thanks Maria, the pothole on Lake Ave is still there" about the
    # pothole. Once the courtesies and the places are taken out, what is left must be a word or
    # two at most and not clearly a topic. Words no topic knows are left out of that: next to a
    # courtesy they are mostly names ("Maria"), which would otherwise hide the subject as any
    # unknown word does.
    if courtesies:
        left = [t for t in _query_terms(subject, index) if t in index.idf]
        if len(left) <= COURTESY_REST and _score_topics(left, index).band == "none":
            return Decision(courtesies[0], "confident", 1.0)
    if says("none") and topical.band != "confident":
        return Decision("none", "none", topical.score)
    known = sum(1 for w in corrected if w in index.vocabulary.words or w.isdigit())
    if known / len(corrected) < 0.5 and topical.band != "confident":
        return Decision("none", "none", topical.score)  # mostly words nobody here uses: gibberish
    return topical


def _query_terms(words: list[str], index: Index) -> list[str]:
    """The terms topics are scored on; a number no topic uses (a house number) says nothing."""
    found = terms(index.synonyms.apply(words))
    return [t for t in found if t in index.idf or not t.isdigit()]


def _mentions_request(text: str) -> bool:
    return any(
        w in text.split() for w in ("request", "case", "ticket", "report", "number", "status")
    )


def _score_topics(query_terms: list[str], index: Index) -> Decision:
    if not query_terms:
        return Decision("none", "none", 0.0)
    weights = [index.idf.get(t, index.unknown_weight) for t in query_terms]
    total = sum(weights)
    coverage: dict[str, float] = defaultdict(float)
    for term, weight in zip(query_terms, weights, strict=True):
        for code, strength in index.postings.get(term, {}).items():
            coverage[code] += weight * strength / total
    # Resemblance is measured only for the topics that share most with the message: without a
    # shared term a topic cannot reach the unsure band, and this keeps a large knowledge base
    # fast (a hundred times this one is a few thousand topics).
    candidates = heapq.nlargest(CANDIDATE_TOPICS, coverage.items(), key=lambda item: item[1])
    positions = [p for code, _ in candidates for p in index.topic_phrasings.get(code, ())]
    query = " ".join(query_terms)
    similarity = process.extract(
        query,
        [index.phrasing_texts[p] for p in positions],
        scorer=fuzz.token_sort_ratio,
        limit=None,
        score_cutoff=30,
    )
    resemblance: dict[str, tuple[float, int]] = {}
    for _, score, offset in similarity:
        position = positions[offset]
        code = index.phrasing_topics[position]
        if score / 100 > resemblance.get(code, (0.0, -1))[0]:
            resemblance[code] = (score / 100, index.phrasing_articles[position])

    # A topic the message names only by words said once in passing in its articles ("talk",
    # "fell" in a wildlife article) is a weaker guess than one it names by words the topic owns
    # (in its name, or said in several of its phrasings).
    owned = {
        code: any(index.postings.get(t, {}).get(code, 0.0) > PASSING for t in query_terms)
        for code, _ in candidates
    }
    scored = sorted(
        (
            (
                (0.65 * cover + 0.35 * resemblance.get(code, (0.0, -1))[0])
                * (1.0 if owned[code] else PASSING_ONLY),
                code,
            )
            for code, cover in candidates
        ),
        reverse=True,
    )
    suggestions = tuple(
        _suggest(code, score, query_terms, resemblance, index)
        for score, code in scored[:3]
        if score > 0
    )
    if not suggestions:
        return Decision("none", "none", 0.0)
    top = suggestions[0]
    runner_up = suggestions[1].score if len(suggestions) > 1 else 0.0
    if top.score >= CONFIDENT and top.score - runner_up >= MARGIN:
        band = "confident"
    elif top.score >= UNSURE:
        band = "unsure"
    else:
        return Decision("none", "none", top.score, suggestions=suggestions)
    return Decision(top.topic, band, top.score, top.article_id, suggestions)


def _suggest(
    code: str,
    score: float,
    query_terms: list[str],
    resemblance: dict[str, tuple[float, int]],
    index: Index,
) -> Suggestion:
    article = _best_article(code, query_terms, resemblance, index)
    return Suggestion(code, article.id, article.title, score)


def _best_article(
    code: str, query_terms: list[str], resemblance: dict[str, tuple[float, int]], index: Index
) -> Article:
    """Among a topic's articles, the one sharing the most rare terms with the query.

    A term counts by how strongly the article has it, as for topics: "what day is my trash
    collected" shares "day" with the holiday article ("Labor Day"), but the collection-day
    article says it in nearly every phrasing.
    """
    candidates = [(number, index.kb.articles[number]) for number in index.topic_articles[code]]
    if len(candidates) == 1:
        return candidates[0][1]
    closest = resemblance.get(code, (0.0, -1))[1]

    def weight(item: tuple[int, Article]) -> tuple[float, bool]:
        number, _ = item
        bag = index.article_terms[number]
        shared = sum(index.idf.get(t, 0.0) * bag.get(t, 0.0) for t in set(query_terms))
        return shared, number == closest

    return max(candidates, key=weight)[1]


__all__ = ["Decision", "Index", "Suggestion", "build_index", "decide", "mentions_emergency"]
