"""The help center: the knowledge base's articles as public pages, their search, "Was this
helpful?", and a resident's request status lookup, server-rendered (no JavaScript needed).

Every page reads the assistant's current index, so an edit of the knowledge base shows on the
next page as it does in the chat; nothing rendered is kept. Forms carry a token signed with the
server's key over a cookie of this browser's (as the staff sign-in form's), and every page and
form counts against its address's token bucket (CHATSVC_RATE_HELP_PAGE, CHATSVC_RATE_HELP_FORM):
past it, a 429 page says how long to wait.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from aiohttp import web

from chatsvc.actions import accounts, article_votes
from chatsvc.actions.address_caps import in_about
from chatsvc.actions.service_requests.numbering import parse_number
from chatsvc.actions.service_requests.queries import lookup_status
from chatsvc.bot.search import search_articles
from chatsvc.catalogue.center import Center
from chatsvc.catalogue.knowledge import Article, KnowledgeBase, Topic
from chatsvc.errors import RateLimited
from chatsvc.i18n import translate_in
from chatsvc.settings import Rate, Settings
from chatsvc.tokens import hash_token
from chatsvc.transport.addresses import is_https, request_address
from chatsvc.transport.form_tokens import FormTokens
from chatsvc.transport.help_markdown import plain_text, render_markdown
from chatsvc.transport.http import JINJA, STATIC
from chatsvc.transport.limits import Bucket
from chatsvc.transport.staff import versioned
from chatsvc.transport.state import ASSISTANT, CALENDAR, CLOCK, DATABASE, SETTINGS

log = logging.getLogger("chatsvc.help")

FORM_COOKIE = "chatsvc_help"
HOST_FORM_COOKIE = "__Host-chatsvc_help"
FORM_LIFETIME = 3600  # seconds a help center form stays good
FORM_SECRET_NAME = "help-form-csrf"
MAX_FORM_BYTES = 4 * 1024
MAX_QUERY_CHARS = 200  # a search longer than this is refused (the chat's messages are longer)
SEARCH_RESULTS = 20
RELATED = 5
MAX_EMAIL_CHARS = 254
# Where each language's pages are; a language of the knowledge base without one has none.
PREFIXES = {"en": "/help", "es": "/es/ayuda"}
LANGUAGE_NAMES = {"en": "English", "es": "Español"}
SWEEP_SECONDS = 60.0

# Public pages: cached by nobody (an edit shows at once), framed by nobody, no inline script.
# The widget's bundle comes from this service; JSON-LD blocks are data, never run.
PAGE_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self'; img-src 'self' https: data:; "
        "script-src 'self'; connect-src 'self' ws: wss:; frame-ancestors 'none'; "
        "form-action 'self'; base-uri 'none'"
    ),
}


class HelpLimits:
    """A token bucket per client address for each kind ("help_page", "help_form")."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.monotonic):
        self.rates: dict[str, Rate] = {
            "help_page": settings.rate_help_page,
            "help_form": settings.rate_help_form,
        }
        self.clock = clock
        self.form_key: bytes | None = None  # signs the forms' tokens, once read (_form_key)
        # The 429 pages by (language, wait, center), rendered once each (_limited).
        self.refusal_pages: dict[tuple[str, int, Center], bytes] = {}
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._swept = clock()

    def check(self, kind: str, address: str) -> None:
        """Count one of `kind` from `address`, or raise RateLimited."""
        rate = self.rates[kind]
        now = self.clock()
        if now - self._swept > SWEEP_SECONDS:
            self._swept = now
            for key, bucket in list(self._buckets.items()):
                if bucket.full(self.rates[key[0]], now):
                    del self._buckets[key]
        bucket = self._buckets.setdefault((kind, address), Bucket(rate.burst, now))
        wait = bucket.take(rate, now)
        if wait:
            raise RateLimited("Too many pages asked for.", retry_after=math.ceil(wait))


HELP_LIMITS = web.AppKey("help_limits", HelpLimits)


def add_help_routes(app: web.Application) -> None:
    app[HELP_LIMITS] = HelpLimits(app[SETTINGS])
    app.router.add_get("/help", help_home)
    app.router.add_get("/help/", help_slash)
    app.router.add_get("/help/help.css", help_stylesheet)
    app.router.add_get("/help/{topic}", topic_page)
    app.router.add_get("/help/{topic}/{slug}", article_page)
    app.router.add_post("/help/{topic}/{slug}/helpful", helpful_vote)
    app.router.add_get("/help/{rest:.*}", not_found_page)
    # The Spanish side: the same pages from knowledge_base/es/ (English where untranslated).
    app.router.add_get("/es/ayuda", help_home)
    app.router.add_get("/es/ayuda/{topic}", topic_page)
    app.router.add_get("/es/ayuda/{topic}/{slug}", article_page)
    app.router.add_post("/es/ayuda/{topic}/{slug}/helpful", helpful_vote)
    app.router.add_get("/es/ayuda/{rest:.*}", not_found_page)
    app.router.add_get("/requests/lookup", lookup_page)
    app.router.add_post("/requests/lookup", lookup_submit)
    app.router.add_get("/sitemap.xml", sitemap)
    app.router.add_get("/robots.txt", robots)


# --- the knowledge base as pages ---------------------------------------------------------------


def article_slug(article: Article) -> str:
    """The article's part of its URL: its id without the words it starts with that its topic's
    code starts with too ("bulky-item-pickup-schedule" under "bulky-item-pickup": "schedule";
    "bulky-item-free-pickups": "free-pickups"). From the id, so stable across title edits."""
    words = article.id.split("-")
    shared = 0
    for mine, topics in zip(words, article.topic.split("-"), strict=False):
        if mine != topics:
            break
        shared += 1
    return "-".join(words[shared:]) or article.id


def article_path(article: Article, language: str = "en") -> str:
    return f"{PREFIXES[language]}/{article.topic}/{article_slug(article)}"


@dataclass(frozen=True)
class Section:
    topic: Topic
    name: str  # the topic's name in the page's language
    articles: tuple[Article, ...]  # in the page's language
    language: str

    @property
    def path(self) -> str:
        return f"{PREFIXES[self.language]}/{self.topic.code}"

    @property
    def links(self) -> list[tuple[str, str]]:
        """(path, title) of each of its articles."""
        return [(article_path(a, self.language), a.title) for a in self.articles]


def sections(kb: KnowledgeBase, language: str) -> list[Section]:
    """The topics that have articles, in the catalogue's order, each with its articles."""
    found = []
    for topic in kb.topics.values():
        articles = _articles_of(kb, topic.code, language)
        if articles:
            found.append(Section(topic, kb.topic_name(topic.code, language), articles, language))
    return found


def _articles_of(kb: KnowledgeBase, topic: str, language: str) -> tuple[Article, ...]:
    """The topic's articles in `language` (English where untranslated), by title."""
    articles = (kb.localized_article(a.id, language) or a for a in kb.articles_of(topic))
    return tuple(sorted(articles, key=lambda a: a.title.lower()))


def _find_article(kb: KnowledgeBase, topic: str, slug: str, language: str) -> Article | None:
    """The topic's article at `slug`, or at its full id (an address that also works)."""
    articles = kb.articles_of(topic)
    found = next((a for a in articles if article_slug(a) == slug), None)
    found = found or next((a for a in articles if a.id == slug), None)
    return None if found is None else kb.localized_article(found.id, language)


# --- pages -----------------------------------------------------------------------------------

Page = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _language(request: web.Request) -> str:
    """The page's language, from its address: /es/ayuda/... is Spanish."""
    return "es" if request.path.startswith(PREFIXES["es"]) else "en"


def _offered(request: web.Request) -> tuple[str, ...]:
    """The languages the help center is in: English and each language of the knowledge base
    that has an address (PREFIXES)."""
    return ("en", *[code for code in _kb(request).languages if code in PREFIXES])


def _kb(request: web.Request) -> KnowledgeBase:
    return request.app[ASSISTANT].index.kb


def _base_url(request: web.Request) -> str:
    settings = request.app[SETTINGS]
    if settings.public_url:
        return settings.public_url
    return f"{request.scheme}://{request.host}"


def render(
    request: web.Request,
    template: str,
    status: int = 200,
    *,
    alternates: dict[str, str] | None = None,
    **values: object,
) -> web.Response:
    """The page in its language; `alternates` (language -> path) are the same page in every
    language, linked as hreflang alternates and offered in the language switch."""
    html = _html(request, template, alternates or {}, values)
    response = web.Response(text=html, content_type="text/html", status=status)
    response.headers.update(PAGE_HEADERS)
    return response


def _html(
    request: web.Request, template: str, alternates: dict[str, str], values: dict[str, object]
) -> str:
    kb = _kb(request)
    language = _language(request)
    return (
        request.app[JINJA]
        .get_template(f"help/{template}")
        .render(
            center=kb.center,
            css_url=versioned("/help/help.css", STATIC / "help.css")
            + f"&accent={kb.center.accent.lstrip('#')}",
            base_url=_base_url(request),
            hours=request.app[CALENDAR].describe_hours(),
            path=request.path,
            lang=language,
            prefix=PREFIXES[language],
            _=functools.partial(translate_in, "help", language),
            alternates=[(code, LANGUAGE_NAMES[code], path) for code, path in alternates.items()],
            **values,
        )
    )


def _t(request: web.Request, msgid: str, **values: object) -> str:
    """A fixed line of the help center in the page's language (chatsvc/locale/*/help.po)."""
    return translate_in("help", _language(request), msgid, **values)


def _not_found(request: web.Request) -> web.Response:
    return render(
        request, "not_found.html", 404, title=_t(request, "Page not found"), canonical=None
    )


def _limited(request: web.Request, exc: RateLimited) -> web.Response:
    """429 with Retry-After: a small page, rendered once per wait and language and reused (a
    flood asks for it thousands of times a second)."""
    wait = max(1, int(exc.retry_after or 1))
    center = _kb(request).center
    key = (_language(request), wait, center)
    cache = request.app[HELP_LIMITS].refusal_pages
    page = cache.get(key)
    if page is None:
        if len(cache) > 256:
            cache.clear()
        values: dict[str, object] = {
            "title": _t(request, "Please wait a moment"),
            "canonical": None,
            "wait": _t(request, "{n} seconds" if wait != 1 else "{n} second", n=wait),
            "code": "rate_limited",
        }
        page = cache[key] = _html(request, "rate_limited.html", {}, values).encode()
    response = web.Response(body=page, content_type="text/html", charset="utf-8", status=429)
    response.headers.update(PAGE_HEADERS)
    response.headers["Retry-After"] = str(wait)
    return response


def _counted(kind: str) -> Callable[[Page], Page]:
    """Count the request against its address's `kind` bucket; answer 429 past it."""

    def wrap(handler: Page) -> Page:
        async def counted(request: web.Request) -> web.StreamResponse:
            address = request_address(request, request.app[SETTINGS])
            try:
                request.app[HELP_LIMITS].check("help_page", address)
                if kind == "help_form":
                    request.app[HELP_LIMITS].check("help_form", address)
            except RateLimited as exc:
                return _limited(request, exc)
            return await handler(request)

        counted.__doc__ = handler.__doc__
        return counted

    return wrap


def _clean_text(value: str, limit: int) -> str | None:
    """`value` with its whitespace runs made one space, or None when it cannot be a real
    entry (over `limit` characters, control characters, an encoding that did not decode)."""
    if len(value) > limit or "\ufffd" in value:
        return None
    if any(ord(c) < 32 and c not in "\t\n\r" for c in value):
        return None
    return re.sub(r"\s+", " ", value).strip()


def _home_alternates(request: web.Request) -> dict[str, str]:
    return {code: PREFIXES[code] for code in _offered(request)}


@_counted("help_page")
async def help_home(request: web.Request) -> web.StreamResponse:
    """The help center's front page: the search box and every topic; with ?q=, the results."""
    kb = _kb(request)
    language = _language(request)
    if language not in _offered(request):
        return _not_found(request)
    if "q" not in request.query:
        return render(
            request,
            "index.html",
            title=_t(request, "Help center"),
            canonical=PREFIXES[language],
            alternates=_home_alternates(request),
            sections=sections(kb, language),
        )
    query = _clean_text(request.query.get("q", ""), MAX_QUERY_CHARS)
    results: list[dict[str, str]] = []
    if query:
        index = request.app[ASSISTANT].index
        hits = search_articles(query, index.languages.get(language, index), limit=SEARCH_RESULTS)
        for hit in hits:
            article = kb.localized_article(hit.id, language)
            if article is not None and article.topic in kb.topics:
                results.append(
                    {
                        "path": article_path(article, language),
                        "title": article.title,
                        "topic": kb.topic_name(article.topic, language),
                        "summary": _summary(article),
                    }
                )
    return render(
        request,
        "search.html",
        400 if query is None else 200,
        title=_t(request, "Search results") if query else _t(request, "Search the help center"),
        canonical=None,
        query=query or "",
        error=""
        if query is not None
        else _t(
            request,
            "Please search with ordinary words, at most {limit} characters.",
            limit=MAX_QUERY_CHARS,
        ),
        results=results,
        sections=sections(kb, language),
    )


async def help_slash(request: web.Request) -> web.StreamResponse:
    raise web.HTTPMovedPermanently(
        "/help" + (f"?{request.query_string}" if request.query_string else "")
    )


@_counted("help_page")
async def topic_page(request: web.Request) -> web.StreamResponse:
    """A topic's articles, each with its answer, and the topic's questions as FAQPage data."""
    kb = _kb(request)
    language = _language(request)
    topic = kb.topics.get(request.match_info["topic"])
    articles = _articles_of(kb, topic.code, language) if topic else ()
    if topic is None or not articles or language not in _offered(request):
        return _not_found(request)
    faq = {
        "@context": "https://schema.org",
        "@type": "FAQPage",
        "inLanguage": language,
        "mainEntity": [
            {
                "@type": "Question",
                "name": a.title,
                "acceptedAnswer": {"@type": "Answer", "text": plain_text(a.answer)},
            }
            for a in articles
        ],
    }
    return render(
        request,
        "topic.html",
        title=kb.topic_name(topic.code, language),
        canonical=f"{PREFIXES[language]}/{topic.code}",
        alternates={code: f"{PREFIXES[code]}/{topic.code}" for code in _offered(request)},
        topic=topic,
        topic_name=kb.topic_name(topic.code, language),
        articles=[
            {"path": article_path(a, language), "title": a.title, "summary": _summary(a)}
            for a in articles
        ],
        structured_data=_json_ld(faq),
    )


@_counted("help_page")
async def article_page(request: web.Request) -> web.StreamResponse:
    """One article, "Was this helpful?", related articles and the chat."""
    return await _article(request)


def _article_of(request: web.Request) -> tuple[Topic, Article] | None:
    """The topic and article the address names, in the page's language; None if none."""
    kb = _kb(request)
    language = _language(request)
    topic = kb.topics.get(request.match_info["topic"])
    if topic is None or language not in _offered(request):
        return None
    article = _find_article(kb, topic.code, request.match_info["slug"], language)
    return None if article is None else (topic, article)


async def _article(
    request: web.Request, *, status: int = 200, voted: str = "", error: str = ""
) -> web.StreamResponse:
    found = _article_of(request)
    if found is None:
        return _not_found(request)
    topic, article = found
    kb = _kb(request)
    language = _language(request)
    topic_name = kb.topic_name(topic.code, language)
    related = [
        {"path": article_path(a, language), "title": a.title}
        for a in _articles_of(kb, topic.code, language)
        if a.id != article.id
    ][:RELATED]
    token, cookie = await _new_form(request)
    response = render(
        request,
        "article.html",
        status,
        title=article.title,
        canonical=article_path(article, language),
        alternates={code: article_path(article, code) for code in _offered(request)},
        topic=topic,
        topic_name=topic_name,
        article=article,
        body=render_markdown(article.answer),
        related=related,
        csrf_token=token,
        voted=voted,
        error=error,
        ask=_t(request, "{title}: I still have a question.", title=article.title),
        structured_data=_json_ld(
            {
                "@context": "https://schema.org",
                "@type": "Article",
                "headline": article.title,
                "inLanguage": language,
                "articleSection": topic_name,
                "publisher": {"@type": "GovernmentOrganization", "name": kb.center.city},
            }
        ),
    )
    _set_form_cookie(request, response, cookie)
    return response


@_counted("help_form")
async def helpful_vote(request: web.Request) -> web.StreamResponse:
    """Count a reader's yes or no on an article; thank them on the article's page."""
    found = _article_of(request)
    if found is None:
        return _not_found(request)
    _, article = found
    form = await _form(request)
    if form is None:
        return await _article(
            request, status=400, error=_t(request, "That answer was too long to read.")
        )
    if not await _form_token_valid(request, form.get("csrf_token", "")):
        return await _article(
            request,
            status=403,
            error=_t(request, "This page was open too long to send that. Please answer again."),
        )
    answer = form.get("helpful", "")
    if answer not in ("yes", "no"):
        return await _article(request, status=400, error=_t(request, "Please choose Yes or No."))
    await request.app[DATABASE].run(
        article_votes.record_vote,
        article_id=article.id,
        language=_language(request),
        helpful=answer == "yes",
        now=request.app[CLOCK](),
    )
    return await _article(request, voted=answer)


@_counted("help_page")
async def not_found_page(request: web.Request) -> web.StreamResponse:
    return _not_found(request)


async def help_stylesheet(request: web.Request) -> web.StreamResponse:
    """The help center's styles, for the screen and for print, in the city's colour."""
    accent = _kb(request).center.accent  # checked: #rrggbb
    css = f":root {{ --accent: {accent}; }}\n" + (STATIC / "help.css").read_text("utf-8")
    return web.Response(
        text=css, content_type="text/css", headers={"Cache-Control": "public, max-age=300"}
    )


# --- the status lookup -------------------------------------------------------------------------


@_counted("help_page")
async def lookup_page(request: web.Request) -> web.StreamResponse:
    """The form: a request's number and the email it was filed with."""
    return await _lookup_form(request)


async def _lookup_form(
    request: web.Request,
    *,
    status: int = 200,
    number: str = "",
    email: str = "",
    errors: dict[str, str] | None = None,
    message: str = "",
    answer: dict[str, Any] | None = None,
    refused: str = "",
) -> web.Response:
    token, cookie = await _new_form(request)
    response = render(
        request,
        "lookup.html",
        status,
        title="Check a request's status" if answer is None else f"Request {answer['number']}",
        canonical="/requests/lookup",
        csrf_token=token,
        number=number,
        email=email,
        errors=errors or {},
        message=message,
        answer=answer,
        refused=refused,
    )
    _set_form_cookie(request, response, cookie)
    return response


@_counted("help_form")
async def lookup_submit(request: web.Request) -> web.StreamResponse:
    """Look a request up by number and email, with the chat's answer and the chat's limits."""
    form = await _form(request)
    if form is None:
        return await _lookup_form(request, status=400, message="The form was too long to read.")
    number = _clean_text(form.get("number", ""), 40)
    email = _clean_text(form.get("email", ""), MAX_EMAIL_CHARS)
    shown_number = number or ""
    shown_email = email or ""
    if not await _form_token_valid(request, form.get("csrf_token", "")):
        return await _lookup_form(
            request,
            status=403,
            number=shown_number,
            email=shown_email,
            message="This page was open too long to send that. Please send it again.",
        )
    errors: dict[str, str] = {}
    if not number or parse_number(number) is None:
        errors["number"] = "Enter the request number from your confirmation email, like 26-000123."
    if not email or not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        errors["email"] = "Enter the email address the request was filed with."
    if errors:
        return await _lookup_form(
            request, status=400, number=shown_number, email=shown_email, errors=errors
        )
    assert number is not None and email is not None
    settings = request.app[SETTINGS]
    address = request_address(request, settings)
    calendar = request.app[CALENDAR]
    try:
        found = await request.app[DATABASE].run(
            lookup_status,
            number=number,
            email=email,
            kb=_kb(request),
            now=request.app[CLOCK](),
            misses_per_number_per_day=settings.status_misses_per_number_per_day,
            # The chat's key for this address: misses here and in the chat count together.
            sender_key=hash_token(f"sender:{address}"),
            misses_per_address_per_day=settings.status_misses_per_address_per_day,
        )
    except RateLimited as exc:
        return await _lookup_form(
            request,
            status=429,
            number=shown_number,
            email=shown_email,
            refused=in_about(exc.retry_after or 0),
        )
    if found is None:
        return await _lookup_form(
            request,
            status=404,
            number=shown_number,
            email=shown_email,
            message=(
                "We couldn't find a request with that number and email address. Please check "
                "both: the number looks like 26-000123 and is in your confirmation email."
            ),
        )
    answer = {
        "number": found.number,
        "service_name": found.service_name,
        "status": found.status,
        "status_label": found.status_label,
        "note": found.note,
        "referred_to": found.referred_to,
        "next_steps": found.next_steps,
        "expected": calendar.describe_local(found.expected_at) if found.expected_at else "",
        "updated": calendar.describe_local(found.updated_at) if found.updated_at else "",
    }
    return await _lookup_form(request, answer=answer)


# --- sitemap and robots ------------------------------------------------------------------------


@_counted("help_page")
async def sitemap(request: web.Request) -> web.StreamResponse:
    """Every help center page, for search engines."""
    base = _base_url(request)
    kb = _kb(request)
    paths = ["/requests/lookup"]
    for language in _offered(request):
        paths.append(PREFIXES[language])
        for section in sections(kb, language):
            paths.append(section.path)
            paths.extend(article_path(a, language) for a in section.articles)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + "".join(f"  <url><loc>{xml_escape(base + p)}</loc></url>\n" for p in paths)
        + "</urlset>\n"
    )
    return web.Response(
        text=body, content_type="application/xml", headers={"Cache-Control": "no-cache"}
    )


async def robots(request: web.Request) -> web.StreamResponse:
    """Search engines may read the help center; the staff's pages and the APIs are not for them."""
    body = (
        "User-agent: *\n"
        "Allow: /help\n"
        "Allow: /es/ayuda\n"
        "Disallow: /agent\n"
        "Disallow: /open311\n"
        f"Sitemap: {_base_url(request)}/sitemap.xml\n"
    )
    return web.Response(text=body, content_type="text/plain")


# --- forms -------------------------------------------------------------------------------------


def _summary(article: Article, limit: int = 160) -> str:
    text = plain_text(article.answer)
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def _json_ld(data: dict[str, Any]) -> str:
    # "</" never closes the script element early: "<" is written as \u003c.
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")


async def _form(request: web.Request) -> dict[str, str] | None:
    """The posted form's text fields, or None when it is too big to be ours."""
    if request.content_length is None or request.content_length > MAX_FORM_BYTES:
        return None
    try:
        data = await request.post()
    except ValueError:
        return None
    return {k: v for k, v in data.items() if isinstance(v, str)}


HELP_FORMS = FormTokens(b"help-form", FORM_COOKIE, HOST_FORM_COOKIE, FORM_LIFETIME)


async def _form_key(request: web.Request) -> bytes:
    configured = request.app[SETTINGS].secret_key
    if configured:
        return configured.encode()
    limits = request.app[HELP_LIMITS]
    if limits.form_key is None:
        secret = await request.app[DATABASE].run(accounts.server_secret, name=FORM_SECRET_NAME)
        limits.form_key = secret.encode()
    return limits.form_key


async def _new_form(request: web.Request) -> tuple[str, str]:
    """The token for this page's forms, and the cookie it is the signature of (the browser's
    own while it is fresh, so a second tab's form stays good)."""
    pre_session = HELP_FORMS.pre_session(request)
    if not HELP_FORMS.fresh(request, pre_session, margin=FORM_LIFETIME // 2):
        pre_session = HELP_FORMS.new_pre_session(request)
    return HELP_FORMS.token(await _form_key(request), pre_session), pre_session


def _set_form_cookie(request: web.Request, response: web.StreamResponse, value: str) -> None:
    response.set_cookie(
        HELP_FORMS.cookie_name(request),
        value,
        max_age=FORM_LIFETIME,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=is_https(request),
    )


async def _form_token_valid(request: web.Request, token: str) -> bool:
    return HELP_FORMS.valid(request, token, await _form_key(request))
