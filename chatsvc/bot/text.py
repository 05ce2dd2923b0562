"""Turning what residents type into comparable terms: normalise, fix typos, synonyms, stems."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import snowballstemmer
from rapidfuzz import process
from rapidfuzz.distance import OSA

# Words that carry no topic on their own. Kept short on purpose: "not", "no" and the like
# matter ("not working", "no water") and stay.
STOPWORDS = frozenset(
    """a an the and or but if of to in on at by for from with about as into onto over under is
    are was were be been being am do does did doing have has had having i me my mine we us
    our you your he she it its they them their this that these those there here what which
    who whom whose why can could would should will shall may might must
    please just so very really also too get got gets getting any some up out off again then
    than im ive id ill youre dont doesnt didnt cant cannot wont isnt arent wasnt hi hello
    hey thanks thank help need want like know tell let one someone something anyone anything
    still yet today now ok okay yes go going went""".split()  # noqa: SIM905
)

MAX_FILLERS = 2  # stopwords that may come between the words of a phrase ("tree just fell")

_CONTRACTIONS = (
    # Negation decides meaning ("wasn't emptied"), written with or without the apostrophe.
    (
        re.compile(r"\b(was|is|did|does|do|were|are|has|have|had|could|should|would)n'?t\b"),
        r"\1 not",
    ),
    (re.compile(r"\bcan'?t\b|\bcannot\b"), "can not"),
    (re.compile(r"\bwon'?t\b"), "will not"),
    (re.compile(r"n't\b"), " not"),
    (re.compile(r"'(s|re|ve|ll|d|m)\b"), ""),
)
_NON_WORD = re.compile(r"[^a-z0-9]+")
_DRAWN_OUT = re.compile(r"([a-z])\1{2,}")  # "holaaa", "pleeease": no word has a letter 3 times


def normalize(text: str) -> str:
    """Lowercase, strip accents and punctuation, expand contractions, collapse spaces.

    A letter drawn out for emphasis ("holaaa", "hiii") is written once.
    """
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("\u2019", "'").replace("`", "'")
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return _DRAWN_OUT.sub(r"\1", _NON_WORD.sub(" ", text)).strip()


_STEMMER = snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """Reduce a word to its Porter2 (Snowball) stem, so "moving" meets "move"."""
    if word.isdigit() or "_" in word:
        return word  # numbers, and multi-word terms from the synonym table, stay whole
    return str(_STEMMER.stemWord(word))


class Vocabulary:
    """The words the knowledge base knows, to correct residents' typos against."""

    def __init__(
        self,
        words: Iterable[str],
        alarm_words: Iterable[str] = (),
        stopwords: frozenset[str] = STOPWORDS,
    ):
        self.words = frozenset(w for w in words if w)
        self._stopwords = stopwords
        self._choices = sorted(w for w in self.words if len(w) >= 4)
        # Words of emergencies are corrected more eagerly: reading "fier" as "fire" by mistake
        # costs a needless 911 reminder; missing it could cost much more.
        self._alarm = sorted(w for w in alarm_words if len(w) >= 4)
        self._corrected: dict[str, str] = {}

    def correct(self, word: str) -> str:
        """Return the known word closest to `word` (remembered: residents repeat words)."""
        found = self._corrected.get(word)
        if found is None:
            found = self._correct(word)
            if len(self._corrected) >= 50_000:
                self._corrected.clear()
            self._corrected[word] = found
        return found

    def _correct(self, word: str) -> str:
        """Return the known word closest to `word`, or `word` if none is close enough.

        One slip (a wrong, missing, extra or swapped letter) is allowed in words of six letters
        or more, two from nine: shorter words are too often other real words ("best" is not a
        misspelt "beds", nor "mount" a misspelt "count").
        """
        if word in self.words or len(word) < 4 or word.isdigit() or word in self._stopwords:
            return word
        if len(word) < 6:
            alarm = process.extractOne(word, self._alarm, scorer=OSA.distance, score_cutoff=1)
            return alarm[0] if alarm else word
        allowed = 2 if len(word) >= 9 else 1
        match = process.extractOne(word, self._choices, scorer=OSA.distance, score_cutoff=allowed)
        return match[0] if match else word


class Synonyms:
    """Replace everyday words and phrases with the knowledge base's canonical terms.

    A canonical term of several words becomes one token ("street light" -> "street_light"), so
    that it counts as the specific thing it names and not as "street" plus "light".

    A phrase of several words none of which is a stopword ("tree fell") is also found with a
    stopword or two between its words ("tree just fell", "tree has fell"): people put fillers in
    their sentences. Phrases with a stopword of their own ("water off") are matched as written,
    since without it they would say something else.
    """

    def __init__(self, table: Mapping[str, Iterable[str]], stopwords: frozenset[str] = STOPWORDS):
        self._stopwords = stopwords
        self._map: dict[tuple[str, ...], tuple[str, ...]] = {}
        for canonical, variants in table.items():
            words = tuple(normalize(canonical).split())
            if not words:
                continue
            target = ("_".join(words),)
            self._map[words] = target
            for variant in variants:
                key = tuple(normalize(variant).split())
                if key:
                    self._map.setdefault(key, target)
        self._longest = max((len(k) for k in self._map), default=0)
        self._loose = {
            key: target
            for key, target in self._map.items()
            if len(key) > 1 and not any(w in stopwords for w in key)
        }
        self._loose_longest = max((len(k) for k in self._loose), default=0)

    @property
    def words(self) -> set[str]:
        return {w for key in self._map for w in key}

    def apply(self, words: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(words):
            for size in range(min(self._longest, len(words) - i), 0, -1):
                replacement = self._map.get(tuple(words[i : i + size]))
                if replacement is not None:
                    out.extend(replacement)
                    i += size
                    break
            else:
                loose = self._loose_match(words, i)
                if loose is not None:
                    replacement, i = loose
                    out.extend(replacement)
                else:
                    out.append(words[i])
                    i += 1
        return out

    def _loose_match(self, words: list[str], start: int) -> tuple[tuple[str, ...], int] | None:
        """The longest stopword-free phrase at `start`, stopwords between its words skipped."""
        if not self._loose or words[start] in self._stopwords:
            return None
        kept = [start]  # positions of the words that are not stopwords, from `start` on
        position = start + 1
        while len(kept) < self._loose_longest and position < len(words):
            gap = 0
            while position < len(words) and words[position] in self._stopwords:
                position += 1
                gap += 1
            if gap > MAX_FILLERS or position >= len(words):
                break
            kept.append(position)
            position += 1
        for size in range(len(kept), 1, -1):
            replacement = self._loose.get(tuple(words[p] for p in kept[:size]))
            if replacement is not None:
                return replacement, kept[size - 1] + 1
        return None


def terms(words: Iterable[str]) -> list[str]:
    """Stemmed content words (stopwords dropped, before and after stemming: "needs")."""
    stems = (stem(w) for w in words if w not in STOPWORDS)
    return [s for s in stems if s not in STOPWORDS]


@dataclass(frozen=True)
class Reader:
    """How one language's words become terms: informal spellings, stopwords, stems."""

    language: str = "en"
    stopwords: frozenset[str] = STOPWORDS
    stemmer: str | None = "english"
    spellings: Mapping[str, str] = field(default_factory=dict)  # "q" -> "que", "ai" -> "hay"
    marks: str = ""  # letters only this language writes, a sign a message is in it
    _stems: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def spell(self, words: list[str]) -> list[str]:
        """The words with informal spellings written out ("ai un bache" -> "hay un bache")."""
        if not self.spellings:
            return words
        out: list[str] = []
        for word in words:
            out.extend(self.spellings.get(word, word).split())
        return out

    def stem(self, word: str) -> str:
        if self.stemmer == "english":
            return stem(word)
        found = self._stems.get(word)
        if found is None:
            found = word
            if self.stemmer and not word.isdigit() and "_" not in word:
                found = str(_stemmer(self.stemmer).stemWord(word))
            if len(self._stems) >= 65_536:
                self._stems.clear()
            self._stems[word] = found
        return found

    def terms(self, words: Iterable[str]) -> list[str]:
        """Stemmed content words (stopwords dropped, before and after stemming)."""
        if self.stemmer == "english" and self.stopwords is STOPWORDS:
            return terms(words)
        stems = (self.stem(w) for w in words if w not in self.stopwords)
        return [s for s in stems if s not in self.stopwords]


ENGLISH = Reader()


@functools.lru_cache(maxsize=16)
def _stemmer(name: str) -> Any:
    return snowballstemmer.stemmer(name)
