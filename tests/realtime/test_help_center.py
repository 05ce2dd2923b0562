"""The help center over real HTTP: pages, search, "Was this helpful?", the status lookup, the
sitemap, limits and bad input (clear pages, nothing stored, no traceback)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import ClientSession, CookieJar

from chatsvc.actions.service_requests.filing import NewRequest, create_service_request
from chatsvc.actions.service_requests.views import Contact
from chatsvc.db.models import ArticleVote, StatusLookupMiss
from chatsvc.reports.assistant import assistant_report
from chatsvc.reports.period import Period
from chatsvc.settings import Rate, Settings
from chatsvc.transport.reports import assistant_rows
from chatsvc.transport.state import ASSISTANT, DATABASE, REQUEST_POLICY
from tests.conftest import LiveServer, stored_rows
from tests.realtime.test_request_chat import CITY, MONDAY_TEN

ARTICLE = "/help/bulky-item-pickup/schedule"
KNOWLEDGE_BASE = Path(__file__).resolve().parents[2] / "knowledge_base"


def session() -> ClientSession:
    # The test server is on 127.0.0.1: aiohttp keeps cookies of IP hosts only when told.
    return ClientSession(cookie_jar=CookieJar(unsafe=True))


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([0-9a-f]+)"', page)
    assert match, "no form token on the page"
    return match.group(1)


async def get(http: ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as response:
        return response.status, await response.text()


async def post(http: ClientSession, url: str, data: dict[str, str]) -> tuple[int, str]:
    async with http.post(url, data=data) as response:
        return response.status, await response.text()


async def test_the_front_page_lists_every_topic_with_articles_and_a_search_box(
    live_server: LiveServer,
) -> None:
    async with session() as http, http.get(live_server.url + "/help") as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-cache"
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        page = await response.text()
    assert "<title>Help center | Citizen Service Center | City of Pasadena</title>" in page
    assert f'rel="canonical" href="{live_server.url}/help"' in page
    assert 'action="/help" method="get"' in page
    assert 'href="/help/bulky-item-pickup"' in page
    assert f'href="{ARTICLE}"' in page
    assert page.count('src="/widget.js"') == 1
    assert len(page.encode()) < 100_000


async def test_the_demo_page_links_to_the_help_center_and_the_lookup(
    live_server: LiveServer,
) -> None:
    async with session() as http:
        status, page = await get(http, live_server.url + "/")
    assert status == 200
    assert 'href="/help"' in page and 'href="/requests/lookup"' in page


async def test_an_article_has_its_own_page_with_related_articles_and_the_chat(
    live_server: LiveServer,
) -> None:
    async with session() as http:
        status, page = await get(http, live_server.url + ARTICLE)
    assert status == 200
    assert '<h1 id="article-title">Schedule a bulky item pickup</h1>' in page
    assert "<strong>by appointment only</strong>" in page
    assert '<a href="tel:+16267447311">(626) 744-7311</a>' in page
    assert "Was this helpful?" in page
    assert 'href="/help/bulky-item-pickup/accepted-items"' in page  # related, same topic
    assert 'data-chatsvc-ask="Schedule a bulky item pickup: I still have a question."' in page
    assert f'rel="canonical" href="{live_server.url}{ARTICLE}"' in page


async def test_a_topic_page_carries_its_questions_as_faq_structured_data(
    live_server: LiveServer,
) -> None:
    async with session() as http:
        status, page = await get(http, live_server.url + "/help/bulky-item-pickup")
    assert status == 200
    match = re.search(r'<script type="application/ld\+json">(.*?)</script>', page, re.S)
    assert match
    data = json.loads(match.group(1))
    assert data["@type"] == "FAQPage"
    names = [q["name"] for q in data["mainEntity"]]
    assert "Schedule a bulky item pickup" in names
    assert all(q["acceptedAnswer"]["text"] for q in data["mainEntity"])


async def test_search_finds_articles_with_typos_and_everyday_words(
    live_server: LiveServer,
) -> None:
    async with session() as http:
        status, page = await get(http, live_server.url + "/help?q=scedule+couch+pikup")
        assert status == 200
        first = re.search(r'<ol class="article-list results">\s*<li><h2><a href="([^"]+)"', page)
        assert first and first.group(1) == ARTICLE, page[:3000]
        assert 'name="robots" content="noindex"' in page
        status, page = await get(http, live_server.url + "/help?q=zzqqxx+vvww")
    assert status == 200
    assert "No articles found" in page
    assert "(626) 744-7311" in page and 'data-chatsvc-ask="zzqqxx vvww"' in page


async def test_bad_searches_get_a_clear_page_and_are_never_echoed_as_markup(
    live_server: LiveServer,
) -> None:
    async with session() as http:
        status, page = await get(http, live_server.url + "/help?q=" + "a" * 201)
        assert status == 400 and "at most 200 characters" in page
        status, page = await get(http, live_server.url + "/help?q=%FF%FE")
        assert status == 400 and "ordinary words" in page
        status, page = await get(http, live_server.url + "/help?q=%00x")
        assert status == 400
        status, page = await get(
            http, live_server.url + "/help?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E"
        )
    assert status == 200
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)" in page


async def test_unknown_topics_and_articles_get_the_not_found_page(
    live_server: LiveServer,
) -> None:
    async with session() as http:
        for path in (
            "/help/no-such-topic",
            "/help/bulky-item-pickup/no-such-article",
            "/help/bulky-item-pickup/schedule/more",
            "/help/%3Cscript%3E",
        ):
            status, page = await get(http, live_server.url + path)
            assert status == 404, path
            assert "Page not found" in page and "<script>" not in page.split("</head>")[1]
        status, _ = await get(http, live_server.url + "/help/")
        assert status == 200  # redirected to /help


async def test_was_this_helpful_counts_one_answer_and_reports_it(
    live_server: LiveServer,
) -> None:
    async with session() as http:
        _, page = await get(http, live_server.url + ARTICLE)
        status, page = await post(
            http,
            live_server.url + ARTICLE + "/helpful",
            {"csrf_token": csrf_of(page), "helpful": "yes"},
        )
    assert status == 200 and "Thank you for your answer" in page
    votes = await stored_rows(live_server, ArticleVote)
    assert [(v.article_id, v.helpful) for v in votes] == [("bulky-item-pickup-schedule", True)]
    report = await live_server.app[DATABASE].run(
        assistant_report,
        period=Period.day(votes[0].at, ZoneInfo("UTC")),
        topic_names={},
        article_titles={"bulky-item-pickup-schedule": "Schedule a bulky item pickup"},
    )
    assert report.as_dict()["helpful"] == {
        "yes": 1,
        "no": 0,
        "articles": [
            {
                "id": "bulky-item-pickup-schedule",
                "title": "Schedule a bulky item pickup",
                "yes": 1,
                "no": 0,
            }
        ],
    }
    rows = assistant_rows(report)
    assert ("helpful", "Schedule a bulky item pickup", "yes", 1) in rows
    assert ("helpful", "Schedule a bulky item pickup", "no", 0) in rows


async def test_helpful_votes_without_a_good_token_or_answer_store_nothing(
    live_server: LiveServer,
) -> None:
    async with session() as http:
        _, page = await get(http, live_server.url + ARTICLE)
        token = csrf_of(page)
        url = live_server.url + ARTICLE + "/helpful"
        status, page = await post(http, url, {"csrf_token": "0" * 64, "helpful": "yes"})
        assert status == 403 and "open too long" in page
        status, page = await post(http, url, {"helpful": "yes"})
        assert status == 403
        status, page = await post(http, url, {"csrf_token": token, "helpful": "maybe"})
        assert status == 400 and "Please choose Yes or No." in page
        status, page = await post(http, url, {"csrf_token": token, "helpful": "y" * 5000})
        assert status == 400
        status, page = await post(
            http, live_server.url + "/help/bulky-item-pickup/nope/helpful", {"csrf_token": token}
        )
        assert status == 404
    # Another browser's token is not this one's.
    async with session() as other:
        status, _ = await post(other, url, {"csrf_token": token, "helpful": "yes"})
        assert status == 403
    assert await stored_rows(live_server, ArticleVote) == []


async def test_pages_past_an_address_limit_get_the_rate_limited_page(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
) -> None:
    server = await start_server(make_settings(rate_help_page=Rate(3, 1)))
    async with session() as http:
        for _ in range(3):
            status, _ = await get(http, server.url + "/help")
            assert status == 200
        async with http.get(server.url + "/help?q=pothole") as response:
            assert response.status == 429
            assert int(response.headers["Retry-After"]) >= 1
            page = await response.text()
    assert 'data-code="rate_limited"' in page and "Please wait a moment" in page
    async with session() as http:
        status, again = await get(http, server.url + "/es/ayuda")  # the same address
    assert status == 429 and "Espere un momento" in again


async def test_no_page_is_over_100_kb_with_its_styles(live_server: LiveServer) -> None:
    async with session() as http:
        _, css = await get(http, live_server.url + "/help/help.css")
        assert ":root { --accent: #00558c; }" in css and "@media print" in css
        for path in (
            "/help",
            "/es/ayuda",
            "/help/water-and-power-outage",
            "/help/bulky-item-pickup",
            ARTICLE,
            "/help?q=water",
            "/requests/lookup",
        ):
            status, page = await get(http, live_server.url + path)
            assert status in (200, 404), path
            assert len(page.encode()) + len(css.encode()) < 100_000, path


def test_every_article_slug_is_unique_in_its_topic() -> None:
    from chatsvc.catalogue.knowledge import load_knowledge_base
    from chatsvc.transport.help_center import article_path

    paths = [article_path(a) for a in load_knowledge_base(KNOWLEDGE_BASE).articles]
    assert len(paths) == len(set(paths))


async def test_the_sitemap_lists_every_article_and_robots_points_at_it(
    live_server: LiveServer,
) -> None:
    async with session() as http:
        status, body = await get(http, live_server.url + "/sitemap.xml")
        assert status == 200
        kb = live_server.app[ASSISTANT].index.kb
        locs = re.findall(r"<loc>([^<]+)</loc>", body)
        assert f"{live_server.url}{ARTICLE}" in locs
        english = [u for u in locs if re.fullmatch(r".*/help/[^/]+/[^/]+", u)]
        spanish = [u for u in locs if re.fullmatch(r".*/es/ayuda/[^/]+/[^/]+", u)]
        assert len(english) == len(spanish) == len(kb.articles)
        assert f"{live_server.url}/es/ayuda/bulky-item-pickup/schedule" in locs
        status, robots = await get(http, live_server.url + "/robots.txt")
    assert status == 200 and f"Sitemap: {live_server.url}/sitemap.xml" in robots
    assert "Disallow: /agent" in robots


async def test_a_knowledge_base_edit_shows_without_a_restart(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    tmp_path: Path,
) -> None:
    root = tmp_path / "kb"
    shutil.copytree(KNOWLEDGE_BASE, root)
    server = await start_server(make_settings(knowledge_base=root))
    source = root / "articles" / "bulky-item-pickup-schedule.md"
    async with session() as http:
        _, page = await get(http, server.url + ARTICLE)
        assert "Schedule a bulky item pickup" in page
        source.write_text(
            source.read_text().replace(
                'title = "Schedule a bulky item pickup"', 'title = "Book a bulky item pickup"'
            )
        )
        assert server.app[ASSISTANT].reload_if_changed()
        status, page = await get(http, server.url + ARTICLE)  # the same URL: the id's
    assert status == 200 and "Book a bulky item pickup" in page


# --- the status lookup -----------------------------------------------------------------------


async def _filed(server: LiveServer) -> str:
    view = await server.app[DATABASE].run(
        create_service_request,
        NewRequest(
            "pothole",
            {"address": "300 N Lake Ave", "description": "Deep pothole in the right lane"},
            Contact("Bo", "bo@example.com"),
        ),
        policy=server.app[REQUEST_POLICY](),
        now=MONDAY_TEN,
    )
    return view.number


async def test_a_resident_looks_up_a_request_by_number_and_email(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
) -> None:
    server = await start_server(make_settings(**CITY), clock=lambda: MONDAY_TEN)
    number = await _filed(server)
    async with session() as http:
        _, page = await get(http, server.url + "/requests/lookup")
        status, page = await post(
            http,
            server.url + "/requests/lookup",
            {"csrf_token": csrf_of(page), "number": number, "email": " BO@example.com "},
        )
    assert status == 200, page
    assert f"Request {number}" in page and "Potholes / Street Repair" in page
    assert "Expected done by" in page


async def test_a_wrong_email_reads_as_an_unknown_number_and_counts_as_a_miss(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
) -> None:
    server = await start_server(make_settings(**CITY), clock=lambda: MONDAY_TEN)
    number = await _filed(server)
    async with session() as http:
        _, page = await get(http, server.url + "/requests/lookup")
        token = csrf_of(page)
        url = server.url + "/requests/lookup"
        _, wrong = await post(
            http, url, {"csrf_token": token, "number": number, "email": "eve@example.com"}
        )
        _, unknown = await post(
            http, url, {"csrf_token": token, "number": "26-999999", "email": "bo@example.com"}
        )
    strip = re.compile(r'value="[^"]*"')
    assert "find a request with that number" in wrong and "Pothole" not in wrong
    assert strip.sub("", wrong) == strip.sub("", unknown)  # nothing tells them apart
    assert len(await stored_rows(server, StatusLookupMiss)) == 2


async def test_lookups_share_the_chats_miss_limit_per_address(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
) -> None:
    server = await start_server(
        make_settings(**CITY, status_misses_per_address_per_day=2), clock=lambda: MONDAY_TEN
    )
    number = await _filed(server)
    async with session() as http:
        _, page = await get(http, server.url + "/requests/lookup")
        token = csrf_of(page)
        url = server.url + "/requests/lookup"
        for guess in ("a@example.com", "b@example.com"):
            status, _ = await post(
                http, url, {"csrf_token": token, "number": number, "email": guess}
            )
            assert status == 404
        status, page = await post(
            http, url, {"csrf_token": token, "number": number, "email": "bo@example.com"}
        )
    assert status == 429
    assert "look up more requests" in page and "(626) 744-7311" in page
    assert "Pothole" not in page


async def test_lookup_bad_input_gets_errors_next_to_the_fields_and_stores_nothing(
    live_server: LiveServer,
) -> None:
    async with session() as http:
        _, page = await get(http, live_server.url + "/requests/lookup")
        token = csrf_of(page)
        url = live_server.url + "/requests/lookup"
        status, page = await post(http, url, {"csrf_token": token})
        assert status == 400
        assert 'id="lookup-number-error"' in page and 'id="lookup-email-error"' in page
        status, page = await post(
            http,
            url,
            {"csrf_token": token, "number": "<script>x</script>", "email": "not an email"},
        )
        assert status == 400 and "<script>x" not in page
        status, page = await post(http, url, {"csrf_token": token, "number": "1" * 5000})
        assert status == 400 and "too long" in page
        status, page = await post(
            http, url, {"csrf_token": "f" * 64, "number": "26-000001", "email": "a@b.co"}
        )
        assert status == 403 and "open too long" in page
    assert await stored_rows(live_server, StatusLookupMiss) == []


# --- Spanish -----------------------------------------------------------------------------------


async def test_the_spanish_pages_serve_the_spanish_articles_with_alternates(
    live_server: LiveServer,
) -> None:
    async with session() as http:
        status, page = await get(http, live_server.url + "/es/ayuda/bulky-item-pickup/schedule")
        assert status == 200
        assert '<html lang="es">' in page
        assert "¿Le fue útil?" in page and "Artículos relacionados" in page
        spanish = live_server.app[ASSISTANT].index.kb.localized_article(
            "bulky-item-pickup-schedule", "es"
        )
        assert spanish is not None and f">{spanish.title}</h1>" in page
        base = live_server.url
        assert f'hreflang="en" href="{base}{ARTICLE}"' in page
        assert f'hreflang="es" href="{base}/es/ayuda/bulky-item-pickup/schedule"' in page
        assert f'hreflang="x-default" href="{base}{ARTICLE}"' in page
        # The English page offers the Spanish one in the language switch.
        _, english = await get(http, live_server.url + ARTICLE)
        assert 'href="/es/ayuda/bulky-item-pickup/schedule" hreflang="es" lang="es"' in english
        # A vote on the Spanish page counts for the article, in Spanish.
        status, page = await post(
            http,
            base + "/es/ayuda/bulky-item-pickup/schedule/helpful",
            {"csrf_token": csrf_of(page), "helpful": "no"},
        )
        assert status == 200 and "Gracias por su respuesta" in page
        # Spanish search, with a typo, finds the Spanish article.
        status, page = await get(http, base + "/es/ayuda?q=recojer+un+sofa+viejo")
        assert status == 200
        first = re.search(r'<ol class="article-list results">\s*<li><h2><a href="([^"]+)"', page)
        assert first and first.group(1).startswith("/es/ayuda/bulky-item-pickup/")
        status, page = await get(http, base + "/es/ayuda/nada/nada")
        assert status == 404 and "Página no encontrada" in page
    votes = await stored_rows(live_server, ArticleVote)
    assert [(v.article_id, v.language, v.helpful) for v in votes] == [
        ("bulky-item-pickup-schedule", "es", False)
    ]


def test_every_line_of_the_help_center_has_a_spanish_translation() -> None:
    from chatsvc.i18n import catalogue

    root = Path(__file__).resolve().parents[2] / "chatsvc"
    said: set[str] = set()
    for template in (root / "templates" / "help").glob("*.html"):
        said |= {m[1] for m in re.findall(r"""_\(\s*(["'])(.*?)\1""", template.read_text())}
    code = (root / "transport" / "help_center.py").read_text()
    said |= set(re.findall(r'_t\(\s*request,\s*"([^"]+)"', code))
    said |= set(re.findall(r'"(\{n\} seconds?)"', code))
    spanish = catalogue("es", "help")
    assert len(said) > 40
    assert not said - set(spanish), sorted(said - set(spanish))
