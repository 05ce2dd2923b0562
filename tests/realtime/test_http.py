"""HTTP: the demo page, the widget bundle, health and the error body."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import ClientConnectionResetError, ClientSession, ServerDisconnectedError, web
from aiohttp.test_utils import TestServer

from chatsvc.transport.http import error_middleware
from tests.conftest import LiveServer, LogErrors


async def test_demo_page_embeds_the_widget_with_one_script_tag(live_server: LiveServer) -> None:
    async with ClientSession() as http, http.get(live_server.url + "/") as response:
        assert response.status == 200
        assert response.content_type == "text/html"
        page = await response.text()
    assert "City of Pasadena" in page
    assert page.count('src="/widget.js"') == 1
    assert response.headers["X-Content-Type-Options"] == "nosniff"


async def test_widget_bundle_is_served_as_javascript(live_server: LiveServer) -> None:
    async with ClientSession() as http, http.get(live_server.url + "/widget.js") as response:
        assert response.status == 200
        assert response.content_type == "application/javascript"
        assert "max-age" in response.headers["Cache-Control"]
        body = await response.text()
    assert len(body) > 10_000  # socket.io-client is bundled in


async def test_health_reports_the_database(live_server: LiveServer) -> None:
    async with ClientSession() as http, http.get(live_server.url + "/healthz") as response:
        assert response.status == 200
        assert await response.json() == {"ok": True, "database": "ok"}


async def test_unknown_paths_get_the_json_error_body(live_server: LiveServer) -> None:
    async with ClientSession() as http, http.get(live_server.url + "/nope") as response:
        assert response.status == 404
        body = await response.json()
    assert body == {"ok": False, "error": {"code": "not_found", "message": "Not Found"}}


async def test_wrong_method_is_refused_cleanly(live_server: LiveServer) -> None:
    async with ClientSession() as http, http.post(live_server.url + "/healthz") as response:
        assert response.status == 405
        assert (await response.json())["error"]["code"] == "method_not_allowed"


async def test_startup_refuses_an_unmigrated_database_when_not_auto_migrating(
    start_server: Callable[..., Awaitable[LiveServer]],
    make_settings: Callable[..., object],
    empty_database_url: str,
) -> None:
    from chatsvc.db.engine import SchemaOutOfDate

    settings = make_settings(database_url=empty_database_url, auto_migrate=False)
    try:
        await start_server(settings)
    except SchemaOutOfDate as exc:
        assert "chatsvc db upgrade" in str(exc)
    else:
        raise AssertionError("the server started on an empty database")


async def test_a_client_that_goes_away_mid_answer_is_not_a_server_error(
    caplog: pytest.LogCaptureFixture, log_errors: LogErrors
) -> None:
    """A page reload during a WebSocket upgrade: the client's connection is gone before the
    answer is written. One INFO line, no error from aiohttp (log_errors fails the test)."""

    async def gone(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        request.transport.close()  # the browser went
        raise ClientConnectionResetError("Cannot write to closing transport")

    async def reset_elsewhere(request: web.Request) -> web.StreamResponse:
        raise ConnectionResetError("our SMTP server hung up")  # the client is still there

    app = web.Application(middlewares=[error_middleware])
    app.router.add_get("/gone", gone)
    app.router.add_get("/elsewhere", reset_elsewhere)
    async with TestServer(app) as server, ClientSession() as http:
        with caplog.at_level(logging.INFO):
            with pytest.raises(ServerDisconnectedError):
                await http.get(server.make_url("/gone"))
            assert "the client went away" in caplog.text
            assert not log_errors.records
            # Not the client's: answered, and logged. Like any OSError it reads as the database
            # out of reach (DATABASE_DOWN), as it always did on Socket.IO: 503, one WARNING.
            async with http.get(server.make_url("/elsewhere")) as response:
                assert response.status == 503
                assert (await response.json())["error"]["code"] == "unavailable"
            assert "GET /elsewhere: database unavailable: our SMTP server hung up" in caplog.text
