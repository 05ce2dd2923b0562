"""The Spanish knowledge base mirrors the English one: an article per English article, same id."""

import re
import tomllib
from pathlib import Path

import pytest

KNOWLEDGE_BASE = Path(__file__).resolve().parents[2] / "knowledge_base"
SPANISH = KNOWLEDGE_BASE / "es"


def _front_matter(path: Path) -> tuple[dict[str, object], str]:
    """Split an article into its parsed TOML front matter and its Markdown body."""
    text = path.read_text(encoding="utf-8")
    _, front, body = text.split("+++\n", 2)
    return tomllib.loads(front), body.strip()


FACT = re.compile(r"\(\d{3}\) \d{3}-\d{4}|1-800-\d{3}-\d{4}|https://[^)\s]+|\b(?:911|988|2-1-1)\b")
ENGLISH_ARTICLES = sorted((KNOWLEDGE_BASE / "articles").glob("*.md"))


@pytest.mark.parametrize("english", ENGLISH_ARTICLES, ids=lambda path: path.stem)
def test_every_english_article_has_a_spanish_version(english: Path) -> None:
    spanish = SPANISH / "articles" / english.name
    assert spanish.is_file(), f"{spanish} is missing"
    english_meta, _ = _front_matter(english)
    meta, body = _front_matter(spanish)
    assert meta["id"] == english_meta["id"]
    assert "topic" not in meta, "the topic comes from the English article with the same id"
    assert set(meta) == {"id", "title", "phrasings", "keywords"}
    assert isinstance(meta["title"], str) and meta["title"].strip()
    phrasings = meta["phrasings"]
    assert isinstance(phrasings, list) and 10 <= len(phrasings) <= 14
    assert all(isinstance(p, str) and p.strip() for p in phrasings)
    assert len(set(phrasings)) == len(phrasings), "a phrasing is repeated"
    keywords = meta["keywords"]
    assert isinstance(keywords, list) and keywords
    assert all(isinstance(k, str) and k.strip() for k in keywords)
    assert body
    # The facts residents act on (phone numbers, links, emergency lines) are the English ones.
    _, english_body = _front_matter(english)
    assert set(FACT.findall(english_body)) <= set(FACT.findall(body))


def test_no_spanish_article_without_an_english_one() -> None:
    english_names = {path.name for path in ENGLISH_ARTICLES}
    extra = {path.name for path in (SPANISH / "articles").glob("*.md")} - english_names
    assert not extra


def test_every_topic_has_a_spanish_name() -> None:
    topics = tomllib.loads((KNOWLEDGE_BASE / "topics.toml").read_text(encoding="utf-8"))
    names = tomllib.loads((SPANISH / "topics.toml").read_text(encoding="utf-8"))["names"]
    codes = {topic["code"] for topic in topics["topic"]}
    assert set(names) == codes
    assert all(isinstance(name, str) and name.strip() for name in names.values())
