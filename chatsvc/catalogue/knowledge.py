"""The knowledge base: the topic catalogue, articles, synonyms and intent phrases, from text files.

Layout (all hand-edited):

    knowledge_base/topics.toml      [[topic]] code, name, department, workgroup, kind, fields,
                                    service_days
    knowledge_base/fields.toml      [field] label, question, description, datatype, ...
    knowledge_base/articles/*.md    +++ TOML front matter +++ then the answer in Markdown
    knowledge_base/synonyms.toml    [synonyms] canonical = [variants]
    knowledge_base/intents.toml     [emergency] phrases = [...], exclude = [...]; same for others
    knowledge_base/center.toml      the city and its center: names, phone, email, signature
    knowledge_base/canned.toml      [[canned]] shortcut, title, text: the starter canned responses
                                    (optional; loaded into a new installation's database once)

English is the root language. Each other language is a folder named by its code, with the same
files for what residents read and type (adding a language is adding a folder, not code):

    knowledge_base/es/topics.toml   [names] topic code = the topic's name in that language
    knowledge_base/es/articles/*.md +++ id, title, phrasings, keywords +++ then the answer; the id
                                    is the English article's (which gives the topic)
    knowledge_base/es/synonyms.toml [synonyms], as the English one
    knowledge_base/es/intents.toml  the special intents' phrases in that language
    knowledge_base/es/places.toml   optional: street suffixes and "nearby" words in that language
    knowledge_base/es/language.toml how to read the language: Snowball stemmer, stopwords,
                                    informal spellings (word = standard word), its own letters
    knowledge_base/es/fields.toml   [field] label, question, pattern_hint, value names and the
                                    words residents use for each value, in that language
    knowledge_base/es/answers.toml  short answers in a dialogue: yes, cancel, skip, edit = [words]

`load_knowledge_base` reads and validates everything at once and raises one
`KnowledgeBaseError` listing every problem as `file:line: message`.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import snowballstemmer

from chatsvc.catalogue.canned import StarterCanned, parse_canned
from chatsvc.catalogue.center import Center, parse_center

TOPIC_KINDS = ("request", "info")
FIELD_DATATYPES = ("string", "text", "number", "singlevaluelist", "photo")
OPEN311_STANDARD_FIELDS = ("address_string", "description", "media_url")
SPECIAL_INTENTS = ("emergency", "human", "status", "greeting", "thanks", "none")
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LANGUAGE_PATTERN = re.compile(r"^[a-z]{2}$")  # a folder of the knowledge base named "es" is Spanish
FRONT_MATTER = "+++"


@dataclass(frozen=True)
class Topic:
    """A subject residents ask about; its code is also the Open311 service code."""

    code: str
    name: str
    department: str
    workgroup: str
    kind: str
    fields: tuple[str, ...]
    service_days: int = 0  # request topics: business days until the work is expected done
    # Whether Open311 lists its requests for anyone to read (false: about a person, a
    # neighbour's property or a resident's own account, never a public map pin).
    public: bool = True

    @property
    def is_request(self) -> bool:
        return self.kind == "request"

    @property
    def required_fields(self) -> tuple[str, ...]:
        return tuple(f for f in self.fields if not f.endswith("?"))

    @property
    def optional_fields(self) -> tuple[str, ...]:
        return tuple(f.removesuffix("?") for f in self.fields if f.endswith("?"))

    @property
    def field_names(self) -> tuple[str, ...]:
        """Every field's name, in the catalogue's order, without the optional mark."""
        return tuple(f.removesuffix("?") for f in self.fields)

    def is_required(self, name: str) -> bool:
        return name in self.fields


@dataclass(frozen=True)
class FieldValue:
    """One allowed value of a list field: the key stored and sent, the name people read."""

    key: str
    name: str
    # Other words residents use for it ("azul", "el de reciclar"): any of them alone picks it.
    words: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldSpec:
    """A detail a service request asks for: how to ask, how to check, how Open311 names it."""

    name: str
    label: str
    question: str
    description: str
    datatype: str
    min_length: int = 0
    max_length: int = 4000
    pattern: str | None = None
    pattern_hint: str | None = None
    values: tuple[FieldValue, ...] = ()
    open311: str | None = None  # the standard request field it fills, instead of an attribute

    @property
    def is_attribute(self) -> bool:
        """Tell whether Open311 carries it as an attribute[...] (not a standard field)."""
        return self.open311 is None


@dataclass(frozen=True)
class Article:
    """One answer, with the ways residents ask for it."""

    id: str
    title: str
    topic: str
    phrasings: tuple[str, ...]
    keywords: tuple[str, ...]
    answer: str
    path: str


@dataclass(frozen=True)
class IntentPhrases:
    phrases: tuple[str, ...] = ()  # with those made from `combine` in intents.toml
    exclude: tuple[str, ...] = ()
    crisis: tuple[str, ...] = ()  # emergency only: suicide and self-harm, answered with 988 too
    fillers: tuple[str, ...] = ()  # words a phrase of two words or more may have or not


@dataclass(frozen=True)
class LanguagePack:
    """What residents read and type in one language besides English; the topics are English's."""

    code: str  # "es"
    topic_names: dict[str, str]
    articles: tuple[Article, ...]  # same ids (and topics) as the English articles they translate
    synonyms: dict[str, tuple[str, ...]]
    intents: dict[str, IntentPhrases]
    street_suffixes: tuple[str, ...] = ()
    nearby: tuple[str, ...] = ()
    reading: Reading = field(default_factory=lambda: Reading())
    fields: dict[str, FieldSpec] = field(default_factory=dict)  # English's, reworded (fields.toml)
    # Short answers inside a dialogue (answers.toml): "yes", "cancel", "skip", "edit" -> words.
    answers: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # canned.toml: the starter canned responses in this language, by the English shortcuts.
    canned: tuple[StarterCanned, ...] = ()

    def article(self, article_id: str) -> Article | None:
        return next((a for a in self.articles if a.id == article_id), None)


@dataclass(frozen=True)
class Reading:
    """How to read a language's messages (language.toml): stems, stopwords, informal spellings."""

    stemmer: str | None = None  # a snowballstemmer algorithm ("spanish"); none: words stay whole
    stopwords: frozenset[str] = frozenset()
    spellings: dict[str, str] = field(default_factory=dict)  # "nesecito" -> "necesito"
    marks: str = ""  # letters and signs only this language writes ("ñ¿¡"): a sign of it


@dataclass(frozen=True)
class KnowledgeBase:
    """Everything the assistant knows, immutable once loaded."""

    topics: dict[str, Topic]
    articles: tuple[Article, ...]
    synonyms: dict[str, tuple[str, ...]]
    intents: dict[str, IntentPhrases]
    center: Center
    source: str = ""
    places: tuple[str, ...] = ()
    street_suffixes: tuple[str, ...] = ()
    nearby: tuple[str, ...] = ()  # "my block": says where without naming the place
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    canned: tuple[StarterCanned, ...] = ()
    languages: dict[str, LanguagePack] = field(default_factory=dict)  # besides English, by code
    # Incomplete translations ("es/articles/x.md: ..."): the English text is used meanwhile, so
    # the service starts; `chatsvc kb check` lists them and fails.
    warnings: tuple[str, ...] = ()

    def articles_of(self, topic: str) -> list[Article]:
        return [a for a in self.articles if a.topic == topic]

    def article(self, article_id: str) -> Article | None:
        return next((a for a in self.articles if a.id == article_id), None)

    def localized_article(self, article_id: str, language: str) -> Article | None:
        """The article in `language`, or in English when it has no translation (yet)."""
        pack = self.languages.get(language)
        found = pack.article(article_id) if pack else None
        return found or self.article(article_id)

    def localized_field(self, name: str, language: str) -> FieldSpec:
        """The field as asked in `language` (English's wording where it has none)."""
        pack = self.languages.get(language)
        found = pack.fields.get(name) if pack else None
        return found or self.fields[name]

    def topic_name(self, code: str, language: str) -> str:
        pack = self.languages.get(language)
        name = pack.topic_names.get(code) if pack else None
        return name or self.topics[code].name


class KnowledgeBaseError(Exception):
    """The knowledge base cannot be used; `problems` says where and why."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass
class _Problems:
    root: Path
    items: list[str] = field(default_factory=list)

    def add(self, path: Path, line: int | None, message: str) -> None:
        where = path.relative_to(self.root) if path.is_relative_to(self.root) else path
        self.items.append(f"{where}:{line or 1}: {message}")


def default_path() -> Path:
    """The knowledge base shipped with the service (the repository's knowledge_base/)."""
    return Path(__file__).resolve().parents[2] / "knowledge_base"


def touch_for_reload(root: Path) -> None:
    """Mark the knowledge base as changed, so running servers reload it."""
    (root / "topics.toml").touch()


def fingerprint(root: Path) -> tuple[tuple[str, int, int], ...]:
    """Name, size and modification time of every file: changes when anything is edited."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return tuple((str(p), (st := p.stat()).st_size, st.st_mtime_ns) for p in files)


def load_knowledge_base(root: Path) -> KnowledgeBase:
    """Read and validate the knowledge base under `root`; raise KnowledgeBaseError if broken."""
    problems = _Problems(root.parent)
    if not root.is_dir():
        raise KnowledgeBaseError([f"{root}: no knowledge base directory here"])
    topics = _load_topics(root / "topics.toml", problems)
    articles = _load_articles(root / "articles", topics, problems)
    synonyms = _load_synonyms(root / "synonyms.toml", problems)
    intents = _load_intents(root / "intents.toml", problems)
    places, suffixes, nearby = _load_places(root / "places.toml", problems)
    fields = _load_fields(root / "fields.toml", problems)
    center = _load_center(root / "center.toml", problems)
    canned = _load_canned(root / "canned.toml", problems)
    for topic in topics.values():
        for name in topic.field_names:
            if fields and name not in fields:
                problems.add(
                    root / "topics.toml",
                    _line_of(root / "topics.toml", f'"{topic.code}"'),
                    f"topic {topic.code!r}: field {name!r} is not defined in fields.toml",
                )
    covered = {a.topic for a in articles}
    for code in topics:
        if code not in covered:
            problems.add(
                root / "topics.toml",
                _line_of(root / "topics.toml", code),
                f"topic {code!r} has no article",
            )
    warnings = _Problems(root.parent)
    languages = {
        folder.name: _load_language(folder, topics, articles, fields, canned, problems, warnings)
        for folder in sorted(root.iterdir())
        if folder.is_dir() and LANGUAGE_PATTERN.match(folder.name)
    }
    if problems.items or center is None:
        raise KnowledgeBaseError(problems.items)
    return KnowledgeBase(
        topics,
        tuple(articles),
        synonyms,
        intents,
        center,
        source=str(root),
        places=places,
        street_suffixes=suffixes,
        nearby=nearby,
        fields=fields,
        canned=canned,
        languages=languages,
        warnings=tuple(warnings.items),
    )


def _load_language(
    folder: Path,
    topics: dict[str, Topic],
    english: list[Article],
    english_fields: dict[str, FieldSpec],
    english_canned: tuple[StarterCanned, ...],
    problems: _Problems,
    warnings: _Problems,
) -> LanguagePack:
    """One language's folder; a missing or orphan translation is a warning, not an error."""
    names_path = folder / "topics.toml"
    data = _read_toml(names_path, problems) if names_path.exists() else {}
    names: dict[str, str] = {}
    table = data.get("names", {}) if data is not None else {}
    if not isinstance(table, dict):
        problems.add(names_path, None, "expected a [names] table")
        table = {}
    for code, name in table.items():
        line = _line_of(names_path, f'"{code}"') or _line_of(names_path, code)
        if code not in topics:
            problems.add(names_path, line, f"unknown topic {code!r}")
        elif not isinstance(name, str) or not name.strip():
            problems.add(names_path, line, f"topic {code!r}: the name must be a non-empty string")
        else:
            names[code] = name.strip()
    if data is not None:
        for code in topics:
            if code not in names:
                warnings.add(names_path, None, f"topic {code!r} has no {folder.name} name")

    topic_of = {a.id: a.topic for a in english}
    articles: list[Article] = []
    directory = folder / "articles"
    translated: set[str] = set()
    for path in sorted(directory.glob("*.md")) if directory.is_dir() else ():
        article = _load_article(path, topics, problems, topic_of=topic_of)
        if article is None:
            continue
        if article.id not in topic_of:
            warnings.add(
                path, 1, f"translation of article {article.id!r}, which has no English article"
            )
            continue
        if article.id in translated:
            problems.add(path, 1, f"duplicate article id {article.id!r}")
            continue
        translated.add(article.id)
        articles.append(article)
    for article in english:
        if article.id not in translated:
            warnings.add(
                directory / Path(article.path).name,
                None,
                f"article {article.id!r} has no {folder.name} translation (English is used)",
            )
    synonyms_path = folder / "synonyms.toml"
    synonyms = _load_synonyms(synonyms_path, problems) if synonyms_path.exists() else {}
    intents_path = folder / "intents.toml"
    intents = _load_intents(intents_path, problems) if intents_path.exists() else {}
    _, suffixes, nearby = _load_places(folder / "places.toml", problems)
    reading = _load_reading(folder / "language.toml", problems)
    fields = _load_field_wording(folder / "fields.toml", english_fields, problems, warnings)
    answers = _load_answers(folder / "answers.toml", problems)
    canned = _load_canned_translations(folder / "canned.toml", english_canned, problems, warnings)
    return LanguagePack(
        folder.name,
        names,
        tuple(articles),
        synonyms,
        intents,
        suffixes,
        nearby,
        reading,
        fields,
        answers,
        canned,
    )


ANSWER_KINDS = ("yes", "cancel", "skip", "edit")


def _load_answers(path: Path, problems: _Problems) -> dict[str, tuple[str, ...]]:
    """A language's short answers in a dialogue: [kind] = words, for kinds in ANSWER_KINDS."""
    if not path.exists():
        return {}
    data = _read_toml(path, problems) or {}
    answers: dict[str, tuple[str, ...]] = {}
    for kind, words in data.items():
        listed = _strings(words)
        if kind not in ANSWER_KINDS or listed is None:
            problems.add(
                path, _key_line(path, kind), f"{kind}: expected one of {ANSWER_KINDS} = [words]"
            )
            continue
        answers[kind] = listed
    return answers


def _load_field_wording(
    path: Path, english: dict[str, FieldSpec], problems: _Problems, warnings: _Problems
) -> dict[str, FieldSpec]:
    """A language's wording of the fields: the checks (datatype, lengths, pattern, the list's
    keys) stay English's; a field or value it does not word is said in English (a warning)."""
    if not path.exists():
        return {}
    data = _read_toml(path, problems)
    if data is None:
        return {}
    worded: dict[str, FieldSpec] = {}
    for name, table in data.items():
        line = _line_of(path, f"[{name}]")
        spec = english.get(name)
        if spec is None or not isinstance(table, dict):
            problems.add(path, line, f"[{name}]: no such field in fields.toml")
            continue
        texts = {k: table.get(k) for k in ("label", "question")}
        if not all(isinstance(v, str) and v.strip() for v in texts.values()):
            problems.add(path, line, f"[{name}]: label and question must be non-empty strings")
            continue
        names, words = table.get("values", {}), table.get("words", {})
        keys = {v.key for v in spec.values}
        if not isinstance(names, dict) or not isinstance(words, dict):
            problems.add(path, line, f"[{name}]: values and words are tables by value key")
            continue
        unknown = sorted((set(names) | set(words)) - keys)
        if unknown:
            problems.add(path, line, f"[{name}]: unknown value keys {', '.join(unknown)}")
            continue
        if any(not isinstance(n, str) or not n.strip() for n in names.values()) or any(
            _strings(w) is None for w in words.values()
        ):
            problems.add(path, line, f"[{name}]: a value's name is a string, its words a list")
            continue
        for key in sorted(keys - set(names)):
            warnings.add(path, line, f"[{name}]: value {key!r} has no name here (English is used)")
        hint = table.get("pattern_hint", spec.pattern_hint)
        worded[name] = replace(
            spec,
            label=str(texts["label"]).strip(),
            question=str(texts["question"]).strip(),
            pattern_hint=hint if isinstance(hint, str) else spec.pattern_hint,
            values=tuple(
                FieldValue(
                    v.key,
                    str(names.get(v.key, v.name)).strip(),
                    _strings(words.get(v.key, [])) or (),
                )
                for v in spec.values
            ),
        )
    for name in english:
        if name not in worded and name not in data:
            warnings.add(path, None, f"field {name!r} has no {path.parent.name} wording")
    return worded


def _load_canned_translations(
    path: Path,
    english: tuple[StarterCanned, ...],
    problems: _Problems,
    warnings: _Problems,
) -> tuple[StarterCanned, ...]:
    """A language's canned.toml: the English shortcuts, their title and text translated."""
    if not path.exists():
        return ()
    canned = _load_canned(path, problems)
    shortcuts = {c.shortcut for c in english}
    for response in canned:
        if response.shortcut not in shortcuts:
            warnings.add(
                path,
                _line_of(path, f'"{response.shortcut}"'),
                f"canned /{response.shortcut} is not in ../canned.toml (left out: use its "
                "shortcuts)",
            )
    canned = tuple(c for c in canned if c.shortcut in shortcuts)
    translated = {c.shortcut for c in canned}
    for response in english:
        if response.shortcut not in translated:
            warnings.add(
                path, None, f"canned /{response.shortcut} has no translation (English is offered)"
            )
    return canned


def _load_reading(path: Path, problems: _Problems) -> Reading:
    if not path.exists():
        return Reading()
    data = _read_toml(path, problems)
    if data is None:
        return Reading()
    stemmer = data.get("stemmer")
    if stemmer is not None and (
        not isinstance(stemmer, str) or stemmer not in snowballstemmer.algorithms()
    ):
        problems.add(path, _key_line(path, "stemmer"), f"unknown Snowball stemmer {stemmer!r}")
        stemmer = None
    stopwords = _strings(data.get("stopwords", []))
    if stopwords is None:
        problems.add(path, _key_line(path, "stopwords"), "stopwords must be a list of strings")
    spellings = data.get("spellings", {})
    if not isinstance(spellings, dict) or not all(
        isinstance(v, str) and v.strip() for v in spellings.values()
    ):
        problems.add(path, _line_of(path, "[spellings]"), "[spellings] maps words to words")
        spellings = {}
    marks = data.get("marks", "")
    if not isinstance(marks, str):
        problems.add(path, _key_line(path, "marks"), "marks must be a string")
        marks = ""
    return Reading(
        stemmer,
        frozenset(w for s in stopwords or () for w in _plain(s).split()),
        {_plain(k): _plain(v) for k, v in spellings.items() if _plain(k)},
        marks,
    )


def _key_line(path: Path, key: str) -> int | None:
    """The line that sets `key` (not a comment that names it)."""
    assignment = re.compile(rf"^\s*{re.escape(key)}\s*=")
    return next(
        (
            n
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
            if assignment.match(line)
        ),
        None,
    )


def _plain(text: str) -> str:
    """Lowercase without accents, as the matcher reads words."""
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).lower().strip()


def _read_toml(path: Path, problems: _Problems, text: str | None = None) -> dict[str, Any] | None:
    try:
        raw = path.read_text(encoding="utf-8") if text is None else text
        return tomllib.loads(raw)
    except FileNotFoundError:
        problems.add(path, None, "file missing")
    except UnicodeDecodeError:
        problems.add(path, None, "not UTF-8 text")
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        problems.add(path, int(match.group(1)) if match else None, f"broken TOML: {exc}")
    return None


def _line_of(path: Path, needle: str) -> int | None:
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if needle in line:
                return number
    except OSError:
        pass
    return None


def _strings(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value if v.strip())
    return None


def _load_topics(path: Path, problems: _Problems) -> dict[str, Topic]:
    data = _read_toml(path, problems)
    topics: dict[str, Topic] = {}
    if data is None:
        return topics
    entries = data.get("topic")
    if not isinstance(entries, list) or not entries:
        problems.add(path, None, "expected [[topic]] tables")
        return topics
    for entry in entries:
        code = entry.get("code") if isinstance(entry, dict) else None
        line = _line_of(path, f'"{code}"') if isinstance(code, str) else None
        if not isinstance(code, str) or not ID_PATTERN.match(code):
            problems.add(path, line, f"topic code {code!r} is not a kebab-case code")
            continue
        if code in topics:
            problems.add(path, line, f"duplicate topic code {code!r}")
            continue
        texts = {k: entry.get(k) for k in ("name", "department", "workgroup", "kind")}
        missing = [k for k, v in texts.items() if not isinstance(v, str) or not v.strip()]
        fields = _strings(entry.get("fields", []))
        if missing:
            problems.add(path, line, f"topic {code!r}: missing {', '.join(missing)}")
            continue
        if texts["kind"] not in TOPIC_KINDS:
            problems.add(path, line, f"topic {code!r}: kind must be request or info")
            continue
        if fields is None:
            problems.add(path, line, f"topic {code!r}: fields must be a list of names")
            continue
        name, department, workgroup, kind = (
            str(texts[k]) for k in ("name", "department", "workgroup", "kind")
        )
        days = entry.get("service_days", 0)
        if kind == "request" and (
            not isinstance(days, int) or isinstance(days, bool) or not 0 < days <= 365
        ):
            problems.add(
                path, line, f"topic {code!r}: a request topic needs service_days from 1 to 365"
            )
            continue
        public = entry.get("public", True)
        if not isinstance(public, bool):
            problems.add(path, line, f"topic {code!r}: public must be true or false")
            continue
        topics[code] = Topic(code, name, department, workgroup, kind, fields, days or 0, public)
    return topics


def _load_articles(directory: Path, topics: dict[str, Topic], problems: _Problems) -> list[Article]:
    articles: list[Article] = []
    seen: dict[str, Path] = {}
    if not directory.is_dir():
        problems.add(directory, None, "articles directory missing")
        return articles
    for path in sorted(directory.glob("*.md")):
        article = _load_article(path, topics, problems)
        if article is None:
            continue
        if article.id in seen:
            problems.add(
                path,
                _line_of(path, "id"),
                f"duplicate article id {article.id!r} (also in {seen[article.id].name})",
            )
            continue
        seen[article.id] = path
        articles.append(article)
    return articles


def _load_article(
    path: Path,
    topics: dict[str, Topic],
    problems: _Problems,
    topic_of: dict[str, str] | None = None,
) -> Article | None:
    """An article file; a translation (`topic_of` given) takes its topic from the English one."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        problems.add(path, None, "not UTF-8 text")
        return None
    lines = text.splitlines()
    if not lines or lines[0].strip() != FRONT_MATTER:
        problems.add(path, 1, f"front matter must start with a {FRONT_MATTER} line")
        return None
    try:
        end = next(i for i in range(1, len(lines)) if lines[i].strip() == FRONT_MATTER)
    except StopIteration:
        problems.add(path, len(lines), f"front matter is not closed with a {FRONT_MATTER} line")
        return None
    before = len(problems.items)
    front = _read_toml(path, problems, "\n".join(lines[1:end]))
    if front is None:
        # TOML counts lines from the front matter's first line: shift to the file's.
        last = problems.items[before:]
        del problems.items[before:]
        for item in last:
            match = re.match(r"^(.*?):(\d+): (.*)$", item)
            if match:
                problems.items.append(
                    f"{match.group(1)}:{int(match.group(2)) + 1}: {match.group(3)}"
                )
        return None

    def line_of(key: str) -> int:
        return next(
            (i + 1 for i, ln in enumerate(lines[: end + 1]) if ln.strip().startswith(key)), 1
        )

    ok = True
    if topic_of is not None:
        article_id = front.get("id")
        if isinstance(article_id, str):
            front["topic"] = topic_of.get(article_id.strip(), "-")
    for key in ("id", "title", "topic"):
        if not isinstance(front.get(key), str) or not front[key].strip():
            problems.add(
                path, line_of(key) if key in front else 1, f"front matter needs a non-empty {key}"
            )
            ok = False
    phrasings = _strings(front.get("phrasings", []))
    keywords = _strings(front.get("keywords", []))
    if phrasings is None:
        problems.add(path, line_of("phrasings"), "phrasings must be a list of strings")
        ok = False
    if keywords is None:
        problems.add(path, line_of("keywords"), "keywords must be a list of strings")
        ok = False
    answer = "\n".join(lines[end + 1 :]).strip()
    if not answer:
        problems.add(path, end + 1, "the answer (after the front matter) is empty")
        ok = False
    if not ok:
        return None
    article_id, topic = front["id"].strip(), front["topic"].strip()
    if not ID_PATTERN.match(article_id):
        problems.add(path, line_of("id"), f"article id {article_id!r} is not kebab-case")
        return None
    if topic not in topics and topic_of is None:
        problems.add(path, line_of("topic"), f"unknown topic {topic!r}")
        return None
    return Article(
        id=article_id,
        title=front["title"].strip(),
        topic=topic,
        phrasings=phrasings or (),
        keywords=keywords or (),
        answer=answer,
        path=str(path),
    )


def _load_synonyms(path: Path, problems: _Problems) -> dict[str, tuple[str, ...]]:
    data = _read_toml(path, problems)
    if data is None:
        return {}
    table = data.get("synonyms")
    if not isinstance(table, dict):
        problems.add(path, None, "expected a [synonyms] table")
        return {}
    synonyms: dict[str, tuple[str, ...]] = {}
    owner: dict[str, str] = {}
    for canonical, variants in table.items():
        values = _strings(variants)
        if values is None:
            problems.add(
                path,
                _line_of(path, canonical),
                f"{canonical!r}: variants must be a list of strings",
            )
            continue
        for variant in values:
            key = variant.lower()
            if key in owner and owner[key] != canonical:
                problems.add(
                    path,
                    _line_of(path, f'"{canonical}"'),
                    f"{variant!r} is a variant of both {owner[key]!r} and {canonical!r}",
                )
            owner[key] = canonical
        synonyms[canonical] = values
    return synonyms


def _load_fields(path: Path, problems: _Problems) -> dict[str, FieldSpec]:
    data = _read_toml(path, problems)
    fields: dict[str, FieldSpec] = {}
    if data is None:
        return fields
    for name, table in data.items():
        line = _line_of(path, f"[{name}]")
        if not ID_PATTERN.match(name) or not isinstance(table, dict):
            problems.add(path, line, f"[{name}] must be a table named in kebab-case")
            continue
        texts = {k: table.get(k) for k in ("label", "question", "description", "datatype")}
        missing = [k for k, v in texts.items() if not isinstance(v, str) or not v.strip()]
        if missing:
            problems.add(path, line, f"[{name}]: missing {', '.join(missing)}")
            continue
        datatype = str(texts["datatype"])
        if datatype not in FIELD_DATATYPES:
            problems.add(path, line, f"[{name}]: datatype must be one of {FIELD_DATATYPES}")
            continue
        values: list[FieldValue] = []
        for value in table.get("values", []):
            if not isinstance(value, dict) or not all(
                isinstance(value.get(k), str) and value[k].strip() for k in ("key", "name")
            ):
                problems.add(path, line, f"[{name}]: each value needs a key and a name")
                break
            values.append(FieldValue(value["key"].strip(), value["name"].strip()))
        if (datatype == "singlevaluelist") != bool(values):
            problems.add(path, line, f"[{name}]: values go with datatype singlevaluelist only")
            continue
        open311 = table.get("open311")
        if open311 is not None and open311 not in OPEN311_STANDARD_FIELDS:
            problems.add(path, line, f"[{name}]: open311 must be one of {OPEN311_STANDARD_FIELDS}")
            continue
        pattern = table.get("pattern")
        if pattern is not None:
            try:
                re.compile(pattern)
            except (re.error, TypeError):
                problems.add(path, line, f"[{name}]: pattern is not a regular expression")
                continue
        lengths = (table.get("min_length", 0), table.get("max_length", 4000))
        if not all(isinstance(n, int) and 0 <= n <= 4000 for n in lengths):
            problems.add(path, line, f"[{name}]: min_length and max_length go from 0 to 4000")
            continue
        fields[name] = FieldSpec(
            name=name,
            label=str(texts["label"]).strip(),
            question=str(texts["question"]).strip(),
            description=str(texts["description"]).strip(),
            datatype=datatype,
            min_length=lengths[0],
            max_length=lengths[1],
            pattern=pattern,
            pattern_hint=table.get("pattern_hint"),
            values=tuple(values),
            open311=open311,
        )
    return fields


def _load_center(path: Path, problems: _Problems) -> Center | None:
    data = _read_toml(path, problems)
    if data is None:
        return None
    center, found = parse_center(data, lambda key: _key_line(path, key))
    for line, message in found:
        problems.add(path, line, message)
    return center


def _load_canned(path: Path, problems: _Problems) -> tuple[StarterCanned, ...]:
    if not path.exists():
        return ()  # optional: an installation then starts with no canned responses
    data = _read_toml(path, problems)
    if data is None:
        return ()
    canned, found = parse_canned(data, lambda needle: _line_of(path, needle))
    for line, message in found:
        problems.add(path, line, message)
    return canned


def _load_places(
    path: Path, problems: _Problems
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    if not path.exists():
        return (), (), ()  # optional
    data = _read_toml(path, problems)
    if data is None:
        return (), (), ()
    names = _strings(data.get("names", []))
    suffixes = _strings(data.get("street_suffixes", []))
    nearby = _strings(data.get("nearby", []))
    if names is None or suffixes is None or nearby is None:
        problems.add(path, None, "names, street_suffixes and nearby must be lists of strings")
        return (), (), ()
    return names, suffixes, nearby


def _combined(value: Any) -> tuple[str, ...] | None:
    """Every phrase made of one item of each list in turn: [["talk to"], ["a person"]]."""
    if not isinstance(value, list) or not all(_strings(part) for part in value):
        return None
    phrases = [""]
    for part in value:
        phrases = [f"{start} {item}".strip() for start in phrases for item in part]
    return tuple(phrases) if value else ()


def _load_intents(path: Path, problems: _Problems) -> dict[str, IntentPhrases]:
    data = _read_toml(path, problems)
    if data is None:
        return {}
    intents: dict[str, IntentPhrases] = {}
    for name, table in data.items():
        if name not in SPECIAL_INTENTS:
            problems.add(
                path,
                _line_of(path, f"[{name}]"),
                f"unknown intent [{name}] (known: {', '.join(SPECIAL_INTENTS)})",
            )
            continue
        if not isinstance(table, dict):
            problems.add(path, _line_of(path, name), f"[{name}] must be a table")
            continue
        phrases = _strings(table.get("phrases", []))
        exclude = _strings(table.get("exclude", []))
        crisis = _strings(table.get("crisis", []))
        fillers = _strings(table.get("fillers", []))
        combine = _combined(table.get("combine", []))
        if (
            phrases is None
            or exclude is None
            or crisis is None
            or fillers is None
            or combine is None
        ):
            problems.add(
                path,
                _line_of(path, f"[{name}]"),
                f"[{name}]: phrases, exclude, crisis and fillers must be lists of strings, and "
                "combine a list of such lists",
            )
            continue
        intents[name] = IntentPhrases((*phrases, *combine), exclude, crisis, fillers)
    if "emergency" not in intents:
        problems.add(path, None, "the [emergency] phrases are required")
    return intents
