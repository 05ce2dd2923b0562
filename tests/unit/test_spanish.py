"""Spanish: the language pack's loading, reading Spanish, its intents, answers and accuracy."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from chatsvc.bot.assistant import compose_reply
from chatsvc.bot.matcher import Index, build_index, decide, detect_language
from chatsvc.bot.runtime import Assistant
from chatsvc.catalogue.knowledge import KnowledgeBaseError, load_knowledge_base
from chatsvc.i18n import catalogue, translate
from chatsvc.settings import DEFAULT_KNOWLEDGE_BASE
from tests.conftest import run_chatsvc
from tests.missing import missing

DEV_SET = Path(__file__).resolve().parents[3] / "shared" / "eval" / "dev-es.jsonl"
HELD_OUT = Path(__file__).resolve().parent / "data" / "heldout-es.jsonl"
ASSISTANT_SOURCE = Path(__file__).resolve().parents[2] / "chatsvc" / "bot" / "assistant.py"


@pytest.fixture(scope="module")
def index() -> Index:
    return build_index(load_knowledge_base(DEFAULT_KNOWLEDGE_BASE))


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    root = tmp_path / "knowledge_base"
    shutil.copytree(DEFAULT_KNOWLEDGE_BASE, root)
    return root


# -- which language a message is in ---------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "hola",
        "gracias",
        "¿dónde pago?",
        "bache",
        "ai un bache enfrente de mi casa q me poncho la llanta",
        "el trash no lo recogieron",
        "quiero agendar el bulky pick up para un refri",
        "necesito hablar con alguien",
        "Se fue la luz en toda la cuadra",
        "MI BOTE ESTA ROTO",
    ],
)
def test_spanish_is_recognised_short_informal_or_mixed(text: str, index: Index) -> None:
    assert detect_language(text, index) == "es"
    assert decide(text, index).language == "es"


@pytest.mark.parametrize(
    "text",
    [
        "hi",
        "thanks",
        "my trash was not picked up",
        "pothole on Colorado Blvd",
        "Is there a fee for bulky item pickup?",
        "the street light on Del Mar is out",
        "talk to a person",
        # Spanish street names are streets English speakers name too
        "pothole at Los Robles and Del Mar",
        "street light out on El Molino near Del Mar",
    ],
)
def test_english_stays_english(text: str, index: Index) -> None:
    assert detect_language(text, index) == "en"
    assert decide(text, index).language == "en"


# -- reading Spanish: informal spellings, accents, stems, typos -----------------------------


def test_informal_spellings_are_written_out(index: Index) -> None:
    reader = index.languages["es"].reader
    assert reader.spell(["ai", "un", "bache", "q", "x", "favor", "nesecito"]) == [
        "hay",
        "un",
        "bache",
        "que",
        "por",
        "favor",
        "necesito",
    ]


def test_accents_and_inflections_meet_in_one_term(index: Index) -> None:
    reader = index.languages["es"].reader
    assert reader.terms(["recogieron"]) == reader.terms(["recoger"])
    assert reader.terms(["baches"]) == reader.terms(["bache"])
    assert (
        decide("¿Qué día pasa el camión de la basura?", index).intent
        == decide("que dia pasa el camion de la basura", index).intent
    )


@pytest.mark.parametrize(
    ("text", "topic"),
    [
        ("ai un baché enfrente de mi kasa", "pothole"),  # informal, an accent out of place
        ("hay un bahce grande en mi calle", "pothole"),  # letters swapped
        ("el trash no lo recogieron esta semana", "missed-trash"),  # Spanglish
        ("alguien hizo illegal dumping en el alley", "abandoned-items"),
        ("hay grafiti en la pared de mi casa", "graffiti"),
        ("quiero apelar mi parking citation", "parking-citation"),
        ("mi vecino tiene un rooster que canta a las 4am", "animal-control"),  # English words
    ],
)
def test_typos_spanglish_and_informal_spellings_find_the_topic(
    text: str, topic: str, index: Index
) -> None:
    decision = decide(text, index)
    assert (decision.intent, decision.language) == (topic, "es"), decision


# -- intents in Spanish: an emergency always wins ---------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "la casa de mi vecino se está quemando",  # fire
        "sale mucho humo del departamento de al lado",
        "hay fuego en el callejón",
        "mi abuelo se desmayó y no respira",  # medical
        "necesito una ambulancia ya",
        "le dio un infarto a mi esposo",
        "hay un cable caído en la calle echando chispas",  # power lines
        "se cayó el poste y los cables están en el piso",
        "huele mucho a gas en mi cocina",  # gas
        "hay un hombre con una pistola afuera",  # violence
        "se están metiendo a mi casa ahorita",
        "atropellaron a un señor en la esquina",  # crashes
        "mi hijo está atrapado en el elevador",
        "hay un fire en el garage",  # Spanglish: the English phrases count too
        "hay un fier en la cocina",  # and their typos that are no word of either language
    ],
)
def test_every_family_of_emergency_in_spanish_is_caught(text: str, index: Index) -> None:
    decision = decide(text, index)
    assert (decision.intent, decision.language) == ("emergency", "es")
    assert not decision.crisis


@pytest.mark.parametrize(
    "text",
    [
        "me quiero morir",
        "ya no quiero vivir",
        "estoy pensando en quitarme la vida",
        "mi hermano dice que se va a matar",
        "quiero hacerme daño",
    ],
)
def test_suicide_and_self_harm_in_spanish_add_988(text: str, index: Index) -> None:
    decision = decide(text, index)
    assert (decision.intent, decision.crisis) == ("emergency", True)
    reply = compose_reply(decision, index.kb, misses=0, text=text)
    assert "911" in reply.text and "988" in reply.text
    assert "llame" in reply.text and "call" not in reply.text


@pytest.mark.parametrize(
    "text",
    [
        "el hidrante de la esquina está goteando",
        "los vecinos tiran fuegos artificiales cada noche",
        "no es una emergencia, pero el semáforo está apagado",
        "me muero de calor, ¿hay centros de enfriamiento?",
        "¿cómo te llamas?",
        "atropellaron a mi perro enfrente de la casa",
        "¿dan detectores de humo gratis?",
        "se quemó el foco de la calle",
        "el aire acondicionado del vecino hace mucho ruido",  # not a misspelt "fire"
    ],
)
def test_emergency_words_in_other_senses_are_not_emergencies(text: str, index: Index) -> None:
    assert decide(text, index).intent != "emergency"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("quiero hablar con una persona", "human"),
        ("paseme con un agente por favor", "human"),
        ("¿cuál es el estado de mi solicitud 24-001234?", "status"),
        ("buenos días", "greeting"),
        ("muchas gracias, muy amable", "thanks"),
        ("gane dinero facil desde casa", "none"),
    ],
)
def test_the_other_special_intents_in_spanish(text: str, intent: str, index: Index) -> None:
    decision = decide(text, index)
    assert (decision.intent, decision.language) == (intent, "es")


def test_a_request_number_is_read_in_spanish(index: Index) -> None:
    decision = decide("mi folio es 24-001234", index)
    assert (decision.intent, decision.request_number) == ("status", "24-001234")


# -- the answer in Spanish ------------------------------------------------------------------


def test_a_spanish_question_gets_the_spanish_article(index: Index) -> None:
    text = "hay un bache enorme enfrente de mi casa"
    decision = decide(text, index)
    assert decision.language == "es" and decision.article_id
    reply = compose_reply(decision, index.kb, misses=0, text=text)
    spanish = index.kb.languages["es"].article(decision.article_id)
    english = index.kb.article(decision.article_id)
    assert spanish is not None and english is not None
    assert spanish.answer in reply.text and english.answer not in reply.text
    assert ("Hablar con una persona", "Hablar con una persona") in reply.quick_replies
    assert decide("Hablar con una persona", index).intent == "human"


def test_unsure_suggestions_carry_spanish_titles(index: Index) -> None:
    decision = next(
        d
        for text in ("basura", "agua", "luz", "permiso")
        if (d := decide(text, index)).band == "unsure"
    )
    reply = compose_reply(decision, index.kb, misses=0, text="")
    es = index.kb.languages["es"]
    titles = {a.title for a in es.articles}
    offered = [label for label, _ in reply.quick_replies[:-1]]
    assert offered and all(label in titles for label in offered)
    assert (
        reply.text
        == "Quiero asegurarme de haberle entendido bien. ¿Se refiere a alguno de estos temas?"
    )


def test_the_fixed_lines_are_in_spanish_and_say_the_center(index: Index) -> None:
    kb = index.kb
    hello = compose_reply(decide("hola", index), kb, misses=0, text="hola")
    assert hello.text.startswith("¡Hola!") and kb.center.assistant_name in hello.text
    human = compose_reply(decide("quiero hablar con alguien", index), kb, misses=0, text="")
    assert human.handoff == "asked" and kb.center.phone in human.text and "Con gusto" in human.text
    nothing = decide("blorf snarp gazunda", index)
    spanish_nothing = decide("no entiendo nada de esto, zorp blik", index)
    assert nothing.language == "en"
    if spanish_nothing.intent == "none" and spanish_nothing.language == "es":
        first = compose_reply(spanish_nothing, kb, misses=0, text="")
        assert first.text.startswith("No estoy seguro") and first.misses == 1
        second = compose_reply(spanish_nothing, kb, misses=1, text="")
        assert second.handoff == "no_match" and second.text.startswith("Disculpe")
    closed = compose_reply(decide("me quiero morir", index), kb, misses=0, text="", staffed=False)
    assert closed.handoff is None and closed.wanted == "emergency"
    assert "911" in closed.text and "988" in closed.text and "no está disponible" in closed.text


def test_every_line_of_the_assistant_has_a_spanish_translation() -> None:
    """Each English msgid the assistant says (`_("...")`, `translate(lang, "...")`) is in es."""
    tree = ast.parse(ASSISTANT_SOURCE.read_text(encoding="utf-8"))
    said: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
            continue
        position = {"_": 0, "translate": 1}.get(node.func.id)
        if position is not None and len(node.args) > position:
            argument = node.args[position]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                said.add(argument.value)
            elif isinstance(argument, ast.Name) and argument.id == "TALK_TO_A_PERSON":
                said.add("Talk to a person")
    assert len(said) >= 12
    spanish = catalogue("es")
    assert not said - set(spanish), "untranslated lines"
    for msgid in said:
        assert spanish[msgid] != msgid
        # Placeholders are kept: the Spanish line fills in the same values.
        assert sorted(_fields(spanish[msgid])) == sorted(_fields(msgid)), msgid
    assert translate("fr", "Talk to a person") == "Talk to a person"  # no catalogue: English


def _fields(text: str) -> list[str]:
    import string

    return [name for _, name, _, _ in string.Formatter().parse(text) if name]


# -- the knowledge base's Spanish side ------------------------------------------------------


def test_every_article_and_topic_has_its_spanish_version() -> None:
    kb = load_knowledge_base(DEFAULT_KNOWLEDGE_BASE)
    es = kb.languages["es"]
    assert kb.warnings == ()
    assert {a.id for a in es.articles} == {a.id for a in kb.articles}
    assert set(es.topic_names) == set(kb.topics)
    for article in es.articles:
        assert article.topic == kb.article(article.id).topic  # type: ignore[union-attr]


def test_kb_check_reports_missing_and_orphan_translations(kb_copy: Path) -> None:
    articles = kb_copy / "es" / "articles"
    missing_one = sorted(articles.glob("*.md"))[0]
    missing_one.unlink()
    orphan = articles / "zz-orphan.md"
    orphan.write_text(
        '+++\nid = "no-such-article"\ntitle = "Nada"\nphrasings = ["nada"]\n+++\nNada.\n',
        encoding="utf-8",
    )
    # The service still starts: English stands in for the missing translation.
    kb = load_knowledge_base(kb_copy)
    lost = missing_one.stem
    assert any(
        f"{missing_one.name}:1: article" in w and "no es translation" in w for w in kb.warnings
    )
    index = build_index(kb)
    assert index.kb.localized_article(_id_of(kb, lost), "es") == kb.article(_id_of(kb, lost))
    result = run_chatsvc("kb", "check", env={"CHATSVC_KNOWLEDGE_BASE": str(kb_copy)})
    assert result.returncode == 1
    assert "2 translation problems" in result.stderr
    assert f"es/articles/{missing_one.name}:1:" in result.stderr
    assert "zz-orphan.md:1: translation of article 'no-such-article'" in result.stderr


def _id_of(kb: object, stem: str) -> str:
    from chatsvc.catalogue.knowledge import KnowledgeBase

    assert isinstance(kb, KnowledgeBase)
    return next(a.id for a in kb.articles if Path(a.path).stem == stem)


def test_broken_spanish_files_are_named_with_their_lines(kb_copy: Path) -> None:
    (kb_copy / "es" / "intents.toml").write_text("[emergency]\nphrases = [\n", encoding="utf-8")
    names = kb_copy / "es" / "topics.toml"
    names.write_text('[names]\n"pothole" = "Bache"\n"no-such-topic" = "Nada"\n', encoding="utf-8")
    article = sorted((kb_copy / "es" / "articles").glob("*.md"))[0]
    text = article.read_text(encoding="utf-8").splitlines()
    title = next(i for i, line in enumerate(text) if line.startswith("title"))
    text[title] = "title = 3"
    article.write_text("\n".join(text), encoding="utf-8")
    reading = kb_copy / "es" / "language.toml"
    reading.write_text(
        reading.read_text(encoding="utf-8").replace('stemmer = "spanish"', 'stemmer = "klingon"'),
        encoding="utf-8",
    )
    stemmer_line = next(
        n
        for n, line in enumerate(reading.read_text(encoding="utf-8").splitlines(), 1)
        if line.startswith("stemmer")
    )
    with pytest.raises(KnowledgeBaseError) as caught:
        load_knowledge_base(kb_copy)
    problems = "\n".join(caught.value.problems)
    assert f"es/language.toml:{stemmer_line}: unknown Snowball stemmer 'klingon'" in problems
    assert "es/intents.toml:" in problems and "broken TOML" in problems
    assert "es/topics.toml:3: unknown topic 'no-such-topic'" in problems
    assert (
        f"es/articles/{article.name}:{title + 1}: front matter needs a non-empty title" in problems
    )


def test_an_edit_to_the_spanish_side_is_reloaded(kb_copy: Path) -> None:
    assistant = Assistant(kb_copy)
    assistant.open()
    assert "zumbador" not in assistant.index.languages["es"].vocabulary.words
    synonyms = kb_copy / "es" / "synonyms.toml"
    synonyms.write_text(
        synonyms.read_text(encoding="utf-8") + '"semaforo nuevo" = ["zumbador"]\n',
        encoding="utf-8",
    )
    assert assistant.reload_if_changed()
    assert "zumbador" in assistant.index.languages["es"].vocabulary.words


# -- accuracy ---------------------------------------------------------------------------------


def test_dev_set_accuracy_in_spanish_and_every_emergency() -> None:
    if not DEV_SET.exists():
        missing("../shared/eval/dev-es.jsonl is not beside the repo")
    result = run_chatsvc("eval", str(DEV_SET), "--min-accuracy", "0.95")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "emergency ->" not in result.stdout, "an emergency was missed"


def test_held_out_spanish_with_other_regional_words() -> None:
    """Phrasings written apart from the dev set, with Caribbean, Andean and Southern words."""
    result = run_chatsvc("eval", str(HELD_OUT), "--min-accuracy", "0.9")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "emergency ->" not in result.stdout, "an emergency was missed"
