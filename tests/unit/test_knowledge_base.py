"""The knowledge base: every shipped file parses, and broken ones are refused with file and line."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from chatsvc.catalogue.canned import placeholder_values
from chatsvc.catalogue.knowledge import KnowledgeBaseError, load_knowledge_base
from chatsvc.settings import DEFAULT_KNOWLEDGE_BASE
from tests.conftest import run_chatsvc
from tests.missing import missing

CATALOGUE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "topics.csv"


def test_the_shipped_knowledge_base_matches_the_shared_catalogue() -> None:
    if not CATALOGUE.exists():
        missing("../shared/reference/topics.csv is not beside the repo")
    kb = load_knowledge_base(DEFAULT_KNOWLEDGE_BASE)
    with CATALOGUE.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert set(kb.topics) == {row["code"] for row in rows}
    for row in rows:
        topic = kb.topics[row["code"]]
        assert (topic.name, topic.department, topic.workgroup, topic.kind) == (
            row["name"],
            row["department"],
            row["workgroup"],
            row["kind"],
        )
        assert list(topic.fields) == [f for f in row["fields"].split(";") if f]


def test_the_shipped_knowledge_base_loads_with_an_article_per_topic() -> None:
    kb = load_knowledge_base(DEFAULT_KNOWLEDGE_BASE)
    for code in kb.topics:
        assert kb.articles_of(code), f"{code} has no article"
    assert len(kb.articles_of("bulky-item-pickup")) >= 3
    assert len(kb.articles_of("water-waste")) >= 2
    assert "emergency" in kb.intents


def test_every_answer_uses_only_the_markdown_subset() -> None:
    kb = load_knowledge_base(DEFAULT_KNOWLEDGE_BASE)
    for article in kb.articles:
        assert "<" not in article.answer, f"{article.path}: raw HTML in the answer"
        assert not article.answer.lstrip().startswith("#"), f"{article.path}: headings"


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge_base"
    shutil.copytree(DEFAULT_KNOWLEDGE_BASE, root)
    return root


def first_article(root: Path) -> Path:
    return sorted((root / "articles").glob("*.md"))[0]


def problems_of(root: Path) -> list[str]:
    with pytest.raises(KnowledgeBaseError) as caught:
        load_knowledge_base(root)
    return caught.value.problems


def test_duplicate_ids_are_named_with_both_files(kb_copy: Path) -> None:
    original = first_article(kb_copy)
    shutil.copy(original, kb_copy / "articles" / "zz-copy.md")
    (problem,) = problems_of(kb_copy)
    assert problem.startswith("knowledge_base/articles/zz-copy.md:")
    assert "duplicate article id" in problem and original.name in problem


def test_unknown_topic_is_named_with_its_line(kb_copy: Path) -> None:
    path = first_article(kb_copy)
    lines = path.read_text().splitlines()
    number = next(i for i, line in enumerate(lines) if line.startswith("topic"))
    lines[number] = 'topic = "no-such-topic"'
    path.write_text("\n".join(lines) + "\n")
    problems = problems_of(kb_copy)
    assert f"knowledge_base/articles/{path.name}:{number + 1}: unknown topic 'no-such-topic'" in (
        problems
    )


def test_empty_answer_and_broken_front_matter(kb_copy: Path) -> None:
    first, second, third = sorted((kb_copy / "articles").glob("*.md"))[:3]
    text = first.read_text()
    first.write_text(text[: text.index("+++", 3) + 3] + "\n\n   \n")
    lines = second.read_text().splitlines()
    lines[2] = 'title = "unterminated'
    second.write_text("\n".join(lines) + "\n")
    third.write_text(third.read_text().replace("+++", "", 1))
    problems = "\n".join(problems_of(kb_copy))
    assert f"articles/{first.name}:" in problems and "answer" in problems
    assert f"articles/{second.name}:3: broken TOML" in problems
    assert f"articles/{third.name}:1: front matter must start" in problems


def test_a_synonym_may_not_mean_two_things(kb_copy: Path) -> None:
    path = kb_copy / "synonyms.toml"
    path.write_text('[synonyms]\n"graffiti" = ["tagging"]\n"pothole" = ["tagging"]\n')
    (problem,) = problems_of(kb_copy)
    assert "synonyms.toml:3:" in problem and "'tagging'" in problem


def test_combined_phrases_and_fillers_are_checked_and_used(kb_copy: Path) -> None:
    path = kb_copy / "intents.toml"
    text = path.read_text()
    path.write_text(text.replace("[greeting]\n", '[greeting]\ncombine = ["good", "day"]\n'))
    (problem,) = problems_of(kb_copy)
    assert "intents.toml:" in problem and "combine a list of such lists" in problem
    path.write_text(
        text.replace("[greeting]\n", '[greeting]\ncombine = [["hi", "hello"], ["folks"]]\n')
    )
    intents = load_knowledge_base(kb_copy).intents
    assert {"hi folks", "hello folks"} <= set(intents["greeting"].phrases)
    assert "talk to person" in intents["human"].phrases  # the shipped [human] combines too
    assert "actual" in intents["human"].fillers


def test_nearby_words_must_be_a_list_of_strings(kb_copy: Path) -> None:
    path = kb_copy / "places.toml"
    path.write_text(path.read_text().replace("nearby = [", "nearby = [1, ", 1))
    (problem,) = problems_of(kb_copy)
    assert "places.toml" in problem and "nearby" in problem


def run_cli(*args: str, kb: Path) -> subprocess.CompletedProcess[str]:
    return run_chatsvc(*args, env={"CHATSVC_KNOWLEDGE_BASE": str(kb)})


def test_kb_check_passes_and_fails_with_reasons(kb_copy: Path) -> None:
    ok = run_cli("kb", "check", kb=kb_copy)
    assert ok.returncode == 0, ok.stderr
    assert "knowledge base OK" in ok.stdout
    shutil.copy(first_article(kb_copy), kb_copy / "articles" / "zz-copy.md")
    broken = run_cli("kb", "check", kb=kb_copy)
    assert broken.returncode == 1
    assert "zz-copy.md:" in broken.stderr and "duplicate article id" in broken.stderr


def test_the_server_refuses_to_start_on_a_broken_knowledge_base(kb_copy: Path) -> None:
    (kb_copy / "topics.toml").write_text("[[topic]]\ncode = \n")
    result = run_chatsvc(
        "serve",
        env={
            "CHATSVC_KNOWLEDGE_BASE": str(kb_copy),
            "CHATSVC_PORT": "0",
            "DATABASE_URL": f"sqlite+aiosqlite:///{kb_copy.parent}/refused.db",
        },
    )
    assert result.returncode != 0
    assert "knowledge base" in result.stderr and "topics.toml:2" in result.stderr
    assert "listening" not in result.stderr


def test_center_problems_are_named_with_their_lines(kb_copy: Path) -> None:
    path = kb_copy / "center.toml"
    lines = path.read_text().splitlines()
    phone_tel = next(i for i, line in enumerate(lines) if line.startswith("phone_tel"))
    lines[phone_tel] = 'phone_tel = "744-7311"'
    lines = [line for line in lines if not line.startswith("chat_name")]
    path.write_text("\n".join([*lines, 'mascot = "a heron"']) + "\n")
    problems = problems_of(kb_copy)
    assert problems == [
        f"knowledge_base/center.toml:{len(lines) + 1}: unknown key 'mascot' (known: accent, "
        "address, app_name, assistant_name, chat_name, city, email, logo, name, phone, "
        "phone_tel, region, signature, website)",
        "knowledge_base/center.toml:1: chat_name must be a non-empty string",
        f"knowledge_base/center.toml:{phone_tel + 1}: phone_tel must be E.164: +, country code, "
        "number",
    ]


def test_the_city_look_is_checked(kb_copy: Path) -> None:
    path = kb_copy / "center.toml"
    text = path.read_text()
    text = text.replace('accent = "#00558c"', 'accent = "blue"')
    text = text.replace('logo = ""', 'logo = "javascript:alert(1)"')
    path.write_text(text)
    lines = text.splitlines()
    accent = next(i for i, line in enumerate(lines) if line.startswith("accent")) + 1
    logo = next(i for i, line in enumerate(lines) if line.startswith("logo")) + 1
    assert problems_of(kb_copy) == [
        f'knowledge_base/center.toml:{accent}: accent must be a colour like "#00558c"',
        f"knowledge_base/center.toml:{logo}: logo must be an https:// address or a /path",
    ]


def test_a_missing_center_file_is_a_problem(kb_copy: Path) -> None:
    (kb_copy / "center.toml").unlink()
    assert problems_of(kb_copy) == ["knowledge_base/center.toml:1: file missing"]


def test_which_topics_open311_publishes_is_checked(kb_copy: Path) -> None:
    kb = load_knowledge_base(DEFAULT_KNOWLEDGE_BASE)
    assert kb.topics["graffiti"].public and not kb.topics["code-enforcement"].public
    topics = kb_copy / "topics.toml"
    topics.write_text(topics.read_text().replace("public = false", 'public = "no"', 1))
    problems = problems_of(kb_copy)  # its articles' topic is then unknown too
    assert any("topic 'water-waste': public must be true or false" in p for p in problems), problems


def test_the_starter_canned_responses_fill_in_the_centers_facts() -> None:
    kb = load_knowledge_base(DEFAULT_KNOWLEDGE_BASE)
    starters = {c.shortcut: c for c in kb.canned}
    assert {"hours", "phone", "bulky", "bye"} <= set(starters)
    hours = "Monday to Friday, 8 a.m. to 5 p.m. Pacific time, closed on city holidays"
    values = placeholder_values(kb.center, hours)
    assert (
        starters["hours"].filled(values).startswith(f"The Citizen Service Center is open {hours}.")
    )
    assert "(626) 744-7311" in starters["phone"].filled(values)
    assert "(626) 744-7311" in starters["bye"].filled(values)
    for canned in kb.canned:
        assert "{" not in canned.filled(values), canned.shortcut
        assert ".." not in canned.filled(values), canned.shortcut


def test_canned_problems_are_named_with_their_lines(kb_copy: Path) -> None:
    (kb_copy / "canned.toml").write_text(
        "[[canned]]\n"
        'shortcut = "Hours!"\n'
        'title = "Hours"\n'
        'text = "Open {hours}."\n'
        "\n"
        "[[canned]]\n"
        'shortcut = "fax"\n'
        'title = "Fax"\n'
        'text = "Fax us at {fax}."\n'
        "\n"
        "[[canned]]\n"
        'shortcut = "bye"\n'
        'title = "Bye"\n'
        'text = "Bye."\n'
        'tone = "warm"\n'
        "\n"
        "[[canned]]\n"
        'shortcut = "bye"\n'
        'title = "Bye again"\n'
        'text = "Bye again."\n'
    )
    assert problems_of(kb_copy) == [
        "knowledge_base/canned.toml:2: canned /Hours!: shortcut must be 1 to 32 of a-z, 0-9, - "
        'and _, e.g. "hours"',
        "knowledge_base/canned.toml:7: canned /fax: unknown placeholder {fax} ({city}, {center}, "
        "{phone}, {email}, {website}, {app_name}, {hours})",
        "knowledge_base/canned.toml:12: canned /bye: unknown key 'tone' (known: shortcut, title, "
        "text)",
        "knowledge_base/canned.toml:12: canned /bye: the shortcut is used twice",
    ]


def test_the_canned_file_is_optional(kb_copy: Path) -> None:
    (kb_copy / "canned.toml").unlink()
    assert load_knowledge_base(kb_copy).canned == ()


def test_spanish_canned_responses_follow_the_english_shortcuts(kb_copy: Path) -> None:
    spanish = kb_copy / "es" / "canned.toml"
    text = spanish.read_text(encoding="utf-8")
    bye = text.index('[[canned]]\nshortcut = "bye"')
    spanish.write_text(
        text[:bye] + '[[canned]]\nshortcut = "fax"\ntitle = "Fax"\ntext = "Envíe un fax."\n',
        encoding="utf-8",
    )
    kb = load_knowledge_base(kb_copy)
    assert [c.shortcut for c in kb.languages["es"].canned] == [
        "hours",
        "phone",
        "bulky",
        "wait",
        "anything",
    ]  # /fax has no English response: left out
    warned = [w for w in kb.warnings if "canned" in w]
    assert any("canned /bye has no translation" in w for w in warned), warned
    assert any("canned /fax is not in ../canned.toml" in w for w in warned), warned
    # The shipped one translates every shortcut.
    shipped = load_knowledge_base(DEFAULT_KNOWLEDGE_BASE)
    assert {c.shortcut for c in shipped.languages["es"].canned} == {
        c.shortcut for c in shipped.canned
    }
    assert not [w for w in shipped.warnings if "canned" in w]
