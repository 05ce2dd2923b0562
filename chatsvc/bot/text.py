"""Turning what residents type into comparable terms: normalise, fix typos, synonyms, stems."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping

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


def normalize(text: str) -> str:
    """Lowercase, strip accents and punctuation, expand contractions, collapse spaces."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = text.replace("\u2019", "'").replace("`", "'")
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return _NON_WORD.sub(" ", text).strip()


_STEMMER = snowballstemmer.stemmer("english")


@functools.lru_cache(maxsize=65_536)
def stem(word: str) -> str:
    """Reduce a word to its Porter2 (Snowball) stem, so "moving" meets "move"."""
    if word.isdigit() or "_" in word:
        return word  # numbers, and multi-word terms from the synonym table, stay whole
    return str(_STEMMER.stemWord(word))


class Vocabulary:
    """The words the knowledge base knows, to correct residents' typos against."""

    def __init__(self, words: Iterable[str], alarm_words: Iterable[str] = ()):
        self.words = frozenset(w for w in words if w)
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
        if word in self.words or len(word) < 4 or word.isdigit() or word in STOPWORDS:
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

    def __init__(self, table: Mapping[str, Iterable[str]]):
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
            if len(key) > 1 and not any(w in STOPWORDS for w in key)
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
        if not self._loose or words[start] in STOPWORDS:
            return None
        kept = [start]  # positions of the words that are not stopwords, from `start` on
        position = start + 1
        while len(kept) < self._loose_longest and position < len(words):
            gap = 0
            while position < len(words) and words[position] in STOPWORDS:
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


# Common Spanish words that are not also English ones: enough of them means the message is in
# Spanish, which the knowledge base is not (yet).
_SPANISH = frozenset(
    """el la los las del de que en por para con una unos unas es esta estan hay mi mis
    su sus como donde cuando quien necesito quiero puedo tengo ayuda gracias hola buenos
    buenas dias tardes noches favor basura calle agua luz casa vecino perro pagar factura
    recoger cerca frente esquina tambien pero porque muy""".split()  # noqa: SIM905
)


def looks_spanish(words: list[str]) -> bool:
    """Tell whether a message (normalised words) is most likely written in Spanish."""
    hits = sum(1 for w in words if w in _SPANISH)
    return hits >= 2 and hits / len(words) >= 0.25


def terms(words: Iterable[str]) -> list[str]:
    """Stemmed content words (stopwords dropped, before and after stemming: "needs")."""
    stems = (stem(w) for w in words if w not in STOPWORDS)
    return [s for s in stems if s not in STOPWORDS]
