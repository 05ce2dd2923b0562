"""What the City Assistant says back: a pure function of the decision and the chat so far."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chatsvc.bot import filing
from chatsvc.bot.matcher import Decision
from chatsvc.bot.text import normalize
from chatsvc.catalogue.knowledge import KnowledgeBase
from chatsvc.i18n import translate

TALK_TO_A_PERSON = "Talk to a person"
MISSES_BEFORE_HANDOFF = 2
# A conversation changes language on a clear message only (Decision.language_evidence: about
# one per small word only that language has): into another language than English from two
# words and an evidence of 2 ("necesito ayuda", "el trash no lo recogieron"); back to English,
# which a resident who chose another language in the widget left on purpose, from three words
# and an evidence of 3 ("when is my trash picked up"). "ok", "no", "sí", "hola", an address or
# a request number never change it.
SWITCH_EVIDENCE = {"en": 3.0}
SWITCH_EVIDENCE_OTHERS = 2.0
SWITCH_MIN_WORDS = {"en": 3}
SWITCH_MIN_WORDS_OTHERS = 2


@dataclass(frozen=True)
class Reply:
    """The assistant's message, and what it does to the conversation."""

    text: str
    quick_replies: tuple[tuple[str, str], ...] = ()  # (label, text the button sends)
    handoff: str | None = None  # why a person should take over, if one should
    topic: str | None = None  # the assistant's best guess at the subject
    misses: int = 0  # no-matches in a row, this one included
    wanted: str | None = None  # the handover it would have made, had the center been open
    offer: str | None = None  # the request topic it offered to file
    decision: dict[str, Any] = field(default_factory=dict)

    def quick_reply_dicts(self) -> list[dict[str, str]]:
        return [{"label": label, "text": text} for label, text in self.quick_replies]


def conversation_language(current: str, decision: Decision, text: str) -> str:
    """The language to answer in: the conversation's, unless the message clearly changes it."""
    wanted = decision.language
    if wanted == current:
        return current
    words = len(normalize(text).split())
    if words < SWITCH_MIN_WORDS.get(wanted, SWITCH_MIN_WORDS_OTHERS):
        return current
    if decision.language_evidence < SWITCH_EVIDENCE.get(wanted, SWITCH_EVIDENCE_OTHERS):
        return current
    return wanted


def compose_reply(
    decision: Decision,
    kb: KnowledgeBase,
    *,
    misses: int,
    text: str,
    staffed: bool = True,
    language: str | None = None,
) -> Reply:
    """Answer a decision, given how many no-matches in a row came before it.

    The answer is in `language` (the conversation's; the decision's when not given): the
    article's translation (English while it has none) and the assistant's own lines from the
    language's catalogue (chatsvc/locale).

    When the center is closed (`staffed` false) nobody can join: instead of handing over, the
    answer says so and points to leaving a message (the widget shows the form).
    """
    language = language or decision.language
    reply = _compose(decision, kb, misses=misses, staffed=staffed, language=language)
    if staffed or reply.handoff is None:
        return reply
    if reply.handoff == "emergency":  # its text already says nobody can join (and call 911)
        return Reply(
            reply.text, topic=reply.topic, misses=0, decision=reply.decision, wanted="emergency"
        )
    # The widget offers the message form right under this answer, with its button: one
    # offer, which this text does not repeat.
    closed = translate(
        language,
        "Our team is away right now, so nobody can join this chat. I can still answer "
        "questions here, and you can call us at {phone} when we are open.",
        phone=kb.center.phone,
    )
    return Reply(closed, topic=reply.topic, misses=0, decision=reply.decision, wanted=reply.handoff)


def person_reply(language: str) -> tuple[str, str]:
    """The quick reply that asks for a person, in `language` (it is one of the human phrases)."""
    label = translate(language, TALK_TO_A_PERSON)
    return (label, label)


def _compose(
    decision: Decision, kb: KnowledgeBase, *, misses: int, staffed: bool, language: str
) -> Reply:
    record = decision.as_dict()
    person = person_reply(language)

    def _(msgid: str, **values: object) -> str:
        return translate(language, msgid, **values)

    if decision.intent == "emergency":
        crisis = (
            _(
                "If you are thinking about hurting yourself, call or text **988** (Suicide and "
                "Crisis Lifeline, 24 hours, free). You are not alone."
            )
            + "\n\n"
            if decision.crisis
            else ""
        )
        join = (
            _("A member of our team will also join this chat.")
            if staffed
            else _(
                "Our team is away right now: please call 911, or leave us a message for "
                "anything that can wait."
            )
        )
        return Reply(
            _(
                "**If anyone is in danger, call 911 now.** That includes a fire, someone hurt or "
                "not breathing, a crime happening now, a smell of gas, or a power line that is "
                "down."
            )
            + "\n\n"
            + crisis
            + _("This chat is not watched by emergency services.")
            + " "
            + join,
            handoff="emergency",
            decision=record,
        )
    if decision.intent == "human":
        return Reply(
            _(
                "Of course. I'm bringing in a member of the {center} team; they will join this "
                "chat shortly. You can also call us at {phone}.",
                center=kb.center.name,
                phone=kb.center.phone,
            ),
            handoff="asked",
            topic=decision.topic_guess,
            decision=record,
        )
    if decision.intent == "greeting":
        return Reply(
            _(
                "Hello! I'm the {assistant}. Ask me about City services (trash and bulky items, "
                "streets, water and power, parking, permits…) or report a problem, in your own "
                "words.",
                assistant=kb.center.assistant_name,
            ),
            quick_replies=(person,),
            decision=record,
        )
    if decision.intent == "thanks":
        return Reply(
            _("You're welcome! If there's anything else, just ask here. Have a good day."),
            decision=record,
        )
    if decision.band == "confident" and decision.article_id:
        article = kb.localized_article(decision.article_id, language)
        topic = kb.topics[decision.intent]
        assert article is not None
        if topic.is_request:
            return Reply(
                f"{article.answer}\n\n{filing.offer_text(topic, kb, language)}",
                (*filing.offer_replies(topic, kb, language), person),
                topic=topic.code,
                offer=topic.code,
                decision=record,
            )
        return Reply(article.answer, (person,), topic=topic.code, decision=record)
    if decision.band == "unsure":
        titles = [
            (kb.localized_article(s.article_id, language) or s).title
            for s in decision.suggestions[:3]
        ]
        return Reply(
            _("I want to be sure I understood. Did you mean one of these?"),
            (*((title, title) for title in titles), person),
            topic=decision.intent,
            decision=record,
        )
    misses += 1
    if misses >= MISSES_BEFORE_HANDOFF:
        return Reply(
            _(
                "I'm sorry, I still don't understand. I'm bringing in a member of our team, who "
                "will join this chat shortly."
            ),
            handoff="no_match",
            misses=misses,
            decision=record,
        )
    return Reply(
        _(
            "I'm not sure I understood. Could you say it another way, in a few words (for "
            'example "missed trash pickup" or "pothole on my street")? Or I can bring in a '
            "person."
        ),
        (person,),
        misses=misses,
        decision=record,
    )
