"""Deciding what a resident asked: a special intent, a topic (with its article), or nothing.

`build_index(kb)` turns the knowledge base into an immutable index once; `decide(text, index)` is a
pure, synchronous function of the two. Special intents are checked first (an emergency always wins),
then topics are scored two ways and the scores combined:

- coverage: how much of what the resident wrote (weighted by how rare each term is across topics)
  the topic's titles, phrasings and keywords contain;
- resemblance: rapidfuzz's token-sort similarity to the closest phrasing of the topic.

The combined score falls in one of three bands: confident (answer), unsure (offer the top three),
or none (say so, offer a person).

Languages: the knowledge base's other languages (`knowledge_base/es/`…) each get an index of their
own, built the same way with that language's reading rules (stems, stopwords, informal spellings)
and holding the English articles' terms as well, prefixed "en:", for the English words people mix
in. `decide` first tells the message's language (`detect_language`), looks for an emergency in
every language, then decides in the message's language; the Decision says which.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from typing import Any

from rapidfuzz import fuzz, process

from chatsvc.bot.text import (
    ENGLISH,
    STOPWORDS,
    Reader,
    Synonyms,
    Vocabulary,
    normalize,
    terms,
)
from chatsvc.catalogue.knowledge import Article, IntentPhrases, KnowledgeBase

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
EN_PREFIX = "en:"  # an English term in another language's index
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
    # How clearly the message is in `language` (detect_language's score: about one per small
    # word only that language has); a conversation changes language only on clear evidence.
    language_evidence: float = 0.0
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
        self,
        phrases: tuple[str, ...],
        exclude: tuple[str, ...],
        fillers: tuple[str, ...] = (),
        reader: Reader = ENGLISH,
    ):
        def words(text: str) -> tuple[str, ...]:
            return tuple(reader.spell(normalize(text).split()))

        self.fillers = frozenset(w for f in fillers for w in words(f))
        written = {words(p) for p in phrases} - {()}
        self.phrases: set[tuple[str, ...]] = set()
        # Phrases without their fillers, matched on the words without theirs.
        self.loose: set[tuple[str, ...]] = set()
        for phrase in written:
            core = tuple(w for w in phrase if w not in self.fillers)
            if len(core) >= 2 and self.fillers:
                self.loose.add(core)
            else:
                self.phrases.add(phrase)
        self.exclude = {words(p) for p in exclude} - {()}
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
    """The knowledge base prepared for matching; built once, never changed.

    The root index is English's; `languages` holds one index per other language of the
    knowledge base, built the same way from that language's articles, synonyms and intents,
    with the English articles' terms as well (prefixed "en:") for the English words people mix
    in ("el trash no lo recogieron").
    """

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
    reader: Reader = ENGLISH
    # The articles in this index's language, in the English order (English where untranslated).
    articles: tuple[Article, ...] = ()
    languages: dict[str, Index] = field(default_factory=dict)

    @property
    def language(self) -> str:
        return self.reader.language


@dataclass(frozen=True)
class _Texts:
    """One language's side of the knowledge base, as the index is built from it."""

    reader: Reader
    articles: tuple[Article, ...]
    topic_names: dict[str, str]
    synonyms: dict[str, tuple[str, ...]]
    intents: dict[str, IntentPhrases]
    street_suffixes: tuple[str, ...]
    nearby: tuple[str, ...]


def build_index(kb: KnowledgeBase) -> Index:
    """Prepare the knowledge base for `decide`, in every language it has."""
    english = _Texts(
        ENGLISH,
        kb.articles,
        {code: topic.name for code, topic in kb.topics.items()},
        kb.synonyms,
        kb.intents,
        kb.street_suffixes,
        kb.nearby,
    )
    root = _build(kb, english)
    languages: dict[str, Index] = {}
    for code, pack in kb.languages.items():
        reading = pack.reading
        reader = Reader(
            code, reading.stopwords, reading.stemmer, dict(reading.spellings), reading.marks
        )
        translated = {a.id: a for a in pack.articles}
        texts = _Texts(
            reader,
            tuple(translated.get(a.id, a) for a in kb.articles),
            {c: pack.topic_names.get(c, t.name) for c, t in kb.topics.items()},
            pack.synonyms,
            pack.intents,
            (*kb.street_suffixes, *pack.street_suffixes),
            pack.nearby,
        )
        languages[code] = _build(kb, texts, english=root, translated=set(translated))
    return replace(root, languages=languages)


def _build(
    kb: KnowledgeBase,
    texts: _Texts,
    english: Index | None = None,
    translated: set[str] | None = None,
) -> Index:
    reader = texts.reader
    synonyms = Synonyms(texts.synonyms, reader.stopwords)
    intents = {
        name: _Phrases(p.phrases, p.exclude, p.fillers, reader) for name, p in texts.intents.items()
    }
    emergency = texts.intents.get("emergency")
    if emergency is not None and emergency.crisis:
        intents["crisis"] = _Phrases(emergency.crisis, emergency.exclude, (), reader)

    def own(article: Article) -> bool:
        """Whether the article is written in this language (not an English stand-in)."""
        return translated is None or article.id in translated

    def spelled(text: str) -> list[str]:
        return reader.spell(normalize(text).split())

    words: set[str] = set(reader.stopwords) | synonyms.words
    for article in texts.articles:
        if own(article):
            for text in (article.title, *article.phrasings, *article.keywords):
                words.update(spelled(text))
    for name in texts.topic_names.values():
        words.update(spelled(name))
    for p in texts.intents.values():
        for text in (*p.phrases, *p.fillers):
            words.update(spelled(text))
    alarm_words = {w for p in emergency.phrases for w in spelled(p)} if emergency else set()
    vocabulary = Vocabulary(words, alarm_words - reader.stopwords, reader.stopwords)

    def prepare(text: str) -> list[str]:
        return reader.terms(synonyms.apply(spelled(text)))

    topic_counts: dict[str, Counter[str]] = defaultdict(Counter)
    article_terms: list[dict[str, float]] = []
    phrasing_texts: list[str] = []
    phrasing_topics: list[str] = []
    phrasing_articles: list[int] = []
    for number, article in enumerate(texts.articles):
        bag: Counter[str] = Counter()
        sources: list[list[str]] = []
        if own(article):
            sources += [prepare(t) for t in (article.title, *article.phrasings, *article.keywords)]
        if english is not None:
            # The English words residents mix in: "en:" terms from the English article.
            original = kb.articles[number]
            for text in (original.title, *original.phrasings, *original.keywords):
                sources.append(_english_terms(normalize(text).split(), english))
        for said in sources:
            found = set(said)
            bag.update(found)
            topic_counts[article.topic].update(found)
        article_terms.append({t: n / (n + 0.5) for t, n in bag.items()})
        if own(article):
            for text in (article.title, *article.phrasings):
                phrasing_texts.append(" ".join(prepare(text)))
                phrasing_topics.append(article.topic)
                phrasing_articles.append(number)
    for code, name in texts.topic_names.items():
        topic_counts[code].update({t: TOPIC_NAME_COUNT for t in set(prepare(name))})
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
        places=_places_pattern(kb.places, texts.street_suffixes, texts.nearby),
        postings=_postings(topic_terms),
        topic_phrasings=_group(phrasing_topics),
        topic_articles=_group([a.topic for a in texts.articles]),
        reader=reader,
        articles=texts.articles,
    )


def _english_terms(words: list[str], english: Index) -> list[str]:
    """English words' terms as another language's index holds them: "en:trash"."""
    return [EN_PREFIX + t for t in terms(english.synonyms.apply(words))]


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


def _places_pattern(
    places: tuple[str, ...], street_suffixes: tuple[str, ...], nearby_words: tuple[str, ...]
) -> re.Pattern[str] | None:
    """Street addresses, place names and where-words: "1234 N Lake Ave", "Del Mar", "my block"."""
    names = sorted({normalize(n) for n in places if normalize(n)}, key=len, reverse=True)
    nearby = sorted({normalize(n) for n in nearby_words if normalize(n)}, key=len, reverse=True)
    suffixes = sorted({normalize(s) for s in street_suffixes if normalize(s)})
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


def detect_language(text: str, index: Index) -> str:
    """The language a message is most likely written in (English unless another wins)."""
    return language_evidence(text, index)[0]


def language_evidence(text: str, index: Index) -> tuple[str, float]:
    """The language a message is most likely written in, and how clearly.

    The evidence for another language is its score below; for English, how far the best other
    language falls below zero ("the", "my" count against Spanish). A single word weighs one at
    most: "ok", "no" or "hola" say little of the language a resident wants.

    Each language's own small words ("el", "que", "para" against "the", "my", "please") count
    one each, the words only its knowledge base uses half, and a letter only it writes ("ñ",
    "¿", an accent) one: enough for a short "¿dónde pago?" and for Spanglish ("el trash no lo
    recogieron"), whose English nouns weigh less than the Spanish words around them.
    """
    plain = " ".join(normalize(text).split()[:MAX_QUERY_WORDS])
    # Place names say nothing of the language: "Del Mar", "Los Robles" and "El Molino" are
    # streets English speakers name too.
    words = (index.places.sub(" ", plain) if index.places else plain).split()
    best, best_score, against = index.language, 0.0, None
    lowered = text.lower()
    for code, other in index.languages.items():
        spelled = other.reader.spell(words)
        score = min(2.0, float(sum(1 for c in lowered if c in other.reader.marks)))
        for word in spelled:
            mine, theirs = word in other.reader.stopwords, word in STOPWORDS
            if mine != theirs:
                score += 1.0 if mine else -1.0
                continue
            mine, theirs = word in other.vocabulary.words, word in index.vocabulary.words
            if mine != theirs:
                score += 0.5 if mine else -0.5
        if score > best_score:
            best, best_score = code, score
        against = score if against is None else max(against, score)
    if best == index.language:
        return best, max(0.0, -(against or 0.0))
    return best, best_score


def _emergency(words: list[str], index: Index, language: str) -> tuple[bool, bool]:
    """Whether `words` report an emergency in any language, and whether it is a crisis.

    Another language than the message's fixes only typos no language knows as a word: English
    would read the Spanish "aire" as a misspelt "fire", but "fier" is nobody's word.
    """
    found = crisis = False
    every = (index, *index.languages.values())
    for each in every:
        spelled = each.reader.spell(words)
        if each.language == language:
            corrected = [each.vocabulary.correct(w) for w in spelled]
        else:
            corrected = [
                w
                if any(w in other.vocabulary.words for other in every)
                else each.vocabulary.correct(w)
                for w in spelled
            ]
        texts = [spelled, corrected]
        phrases = each.intents.get("emergency")
        if phrases is not None and any(phrases.found_in(t) for t in texts):
            found = True
            self_harm = each.intents.get("crisis")
            if self_harm is not None and any(self_harm.found_in(t) for t in texts):
                crisis = True
    return found, crisis


def mentions_emergency(text: str, index: Index) -> bool:
    """Tell whether `text` reports an emergency, as `decide` would, without scoring topics."""
    words = normalize(text).split()[:MAX_QUERY_WORDS]
    return _emergency(words, index, detect_language(text, index))[0]


def decide(text: str, index: Index) -> Decision:
    """Decide what `text` asks for, in the language it is written in."""
    raw_words = normalize(text).split()[:MAX_QUERY_WORDS]
    language, evidence = language_evidence(text, index)
    if not raw_words:
        return Decision("none", "none", 0.0)
    # An emergency wins over everything, whatever else the message says, in any language.
    emergency, crisis = _emergency(raw_words, index, language)
    if emergency:
        # No topic guess here: the words of an emergency ("burning", "down") mislead topics.
        return Decision(
            "emergency",
            "confident",
            1.0,
            crisis=crisis,
            language=language,
            language_evidence=evidence,
        )
    local = index.languages.get(language, index)
    decision = _decide(text, local.reader.spell(raw_words), local, index)
    return replace(decision, language=language, language_evidence=evidence)


def _decide(text: str, raw_words: list[str], index: Index, root: Index) -> Decision:
    """Decide in the language of `index` (`root`, the English one, for mixed-in words)."""
    corrected = [_correct(w, index, root) for w in raw_words]
    corrected_text = " ".join(corrected)
    plain = " ".join(raw_words)

    def says(intent: str) -> bool:
        phrases = index.intents.get(intent)
        return phrases is not None and (phrases.found_in(raw_words) or phrases.found_in(corrected))

    # Where it happens does not say what happened: street and place names are left out.
    about = index.places.sub(" ", corrected_text).split() if index.places else corrected

    def score(words: list[str]) -> Decision:
        return _score_topics(_query_terms(words, index, root), index)

    def besides(intent: str) -> dict[str, Any]:
        """What the message says apart from `intent`'s phrases: a topic guess, suggestions."""
        rest = index.intents[intent].remove_from(about)
        topical = score(rest)
        guess = topical.intent if topical.band == "confident" else None
        return {
            "topic_guess": guess,
            "suggestions": topical.suggestions if guess else (),
            "topics": tuple(s.topic for s in topical.suggestions) if topical.is_topic else (),
        }

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
    topical = score(subject)

    # Greetings and thanks count only when the message is mostly that: "hi, my trash was missed"
    # is about trash, and "Thanks Maria, the pothole on Lake Ave is still there" about the
    # pothole. Once the courtesies and the places are taken out, what is left must be a word or
    # two at most and not clearly a topic. Words no topic knows are left out of that: next to a
    # courtesy they are mostly names ("Maria"), which would otherwise hide the subject as any
    # unknown word does.
    if courtesies:
        left = [t for t in _query_terms(subject, index, root) if t in index.idf]
        if len(left) <= COURTESY_REST and _score_topics(left, index).band == "none":
            return Decision(courtesies[0], "confident", 1.0)
    if says("none") and topical.band != "confident":
        return Decision("none", "none", topical.score)
    known = sum(1 for w in corrected if _known(w, index, root) or w.isdigit())
    if known / len(corrected) < 0.5 and topical.band != "confident":
        return Decision("none", "none", topical.score)  # mostly words nobody here uses: gibberish
    return topical


def _known(word: str, index: Index, root: Index) -> bool:
    return word in index.vocabulary.words or word in root.vocabulary.words


def _correct(word: str, index: Index, root: Index) -> str:
    """A typo fixed: by the language's own words first, then, if it is not one, by English's."""
    if index is root or word in index.vocabulary.words or word in root.vocabulary.words:
        return index.vocabulary.correct(word)
    fixed = index.vocabulary.correct(word)
    return fixed if fixed != word else root.vocabulary.correct(word)


def _query_terms(words: list[str], index: Index, root: Index | None = None) -> list[str]:
    """The terms topics are scored on; a number no topic uses (a house number) says nothing.

    In another language than English, a run of words only English knows ("bulky pick up") is
    read as English, into the index's "en:" terms.
    """
    if root is None or index is root:
        found = terms(index.synonyms.apply(words))
    else:
        found = []
        english: list[str] = []
        for word in [*index.synonyms.apply(words), ""]:
            if word and _english_word(word, index, root):
                english.append(word)
                continue
            if english:
                found += _english_terms(english, root)
                english = []
            if word:
                found += index.reader.terms([word])
    return [t for t in found if t in index.idf or not t.isdigit()]


def _english_word(word: str, index: Index, root: Index) -> bool:
    return (
        word not in index.vocabulary.words
        and "_" not in word
        and (word in root.vocabulary.words or word in STOPWORDS)
    )


# Words that make a number a request's number ("request 24-001234"), in every language.
REQUEST_WORDS = frozenset(
    """request case ticket report number status
    solicitud caso reporte numero folio estado estatus queja""".split()  # noqa: SIM905
)


def _mentions_request(text: str) -> bool:
    return any(w in REQUEST_WORDS for w in text.split())


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
    candidates = [(number, index.articles[number]) for number in index.topic_articles[code]]
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
