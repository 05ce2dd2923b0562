"""HTTP views: the demo city page, the widget and pane bundles, staff styles, health; errors
and the deadline of a request's body."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import jinja2
from aiohttp import web
from sqlalchemy import text

from chatsvc.db.database import DATABASE_DOWN
from chatsvc.errors import ChatError, ErrorCode, NotFound
from chatsvc.transport.errors import render_error
from chatsvc.transport.state import ASSISTANT, CALENDAR, DATABASE, SETTINGS

log = logging.getLogger("chatsvc.http")

STATIC = Path(__file__).resolve().parent.parent / "static"
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
JINJA = web.AppKey("jinja", jinja2.Environment)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Handlers that read their body themselves under a deadline of their own (the photo upload,
# CHATSVC_UPLOAD_SECONDS): body_deadline_middleware leaves their requests alone.
OWN_BODY_DEADLINE = web.AppKey("own_body_deadline", set[Handler])


def add_routes(app: web.Application) -> None:
    """Wire the HTTP routes and the Jinja2 environment into the app."""
    app[JINJA] = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
    )
    app[OWN_BODY_DEADLINE] = set()
    app.router.add_get("/", demo_page)
    app.router.add_get("/widget.js", widget_bundle)
    app.router.add_get("/widget.js.map", widget_source_map)
    app.router.add_get("/agent/pane.js", pane_bundle)
    app.router.add_get("/agent/pane.js.map", pane_source_map)
    app.router.add_get("/agent/staff.css", staff_stylesheet)
    app.router.add_get("/agent/pane.css", pane_stylesheet)
    app.router.add_get("/agent/report.css", report_stylesheet)
    app.router.add_get("/healthz", health)


async def demo_page(request: web.Request) -> web.Response:
    """Show a page of the city website with the widget embedded, as a resident would see it."""
    template = request.app[JINJA].get_template("demo.html")
    center = request.app[ASSISTANT].index.kb.center
    hours = request.app[CALENDAR].describe_hours()
    html = template.render(widget_url="/widget.js", center=center, hours=hours)
    return web.Response(text=html, content_type="text/html")


async def widget_bundle(request: web.Request) -> web.StreamResponse:
    """Serve the widget bundle that city pages load with one script tag."""
    return _static_file("widget.js", "application/javascript")


async def widget_source_map(request: web.Request) -> web.StreamResponse:
    return _static_file("widget.js.map", "application/json")


async def pane_bundle(request: web.Request) -> web.StreamResponse:
    """Serve the agent pane's script (the page itself is for staff; the code is not secret)."""
    return _static_file("pane.js", "application/javascript", make_target="pane", cross_origin=False)


async def pane_source_map(request: web.Request) -> web.StreamResponse:
    return _static_file("pane.js.map", "application/json", make_target="pane", cross_origin=False)


async def staff_stylesheet(request: web.Request) -> web.StreamResponse:
    """Serve the styles of every staff page (a file: their CSP allows no inline styles)."""
    return _static_file("staff.css", "text/css", cross_origin=False)


async def pane_stylesheet(request: web.Request) -> web.StreamResponse:
    """Serve the agent pane's own styles."""
    return _static_file("pane.css", "text/css", cross_origin=False)


async def report_stylesheet(request: web.Request) -> web.StreamResponse:
    """Serve the monthly report's styles, for the screen and for print."""
    return _static_file("report.css", "text/css", cross_origin=False)


def _static_file(
    name: str, content_type: str, *, make_target: str = "widget", cross_origin: bool = True
) -> web.StreamResponse:
    path = STATIC / name
    if not path.is_file():
        raise NotFound(f"{name} is not built: run `make {make_target}`")
    headers = {"Content-Type": content_type, "Cache-Control": "public, max-age=300"}
    if cross_origin:
        # City pages on other origins load the bundle with a plain script tag.
        headers["Access-Control-Allow-Origin"] = "*"
    return web.FileResponse(path, headers=headers)


async def health(request: web.Request) -> web.Response:
    """Answer whether this process can reach its database (for load balancers and monitors)."""
    try:
        async with request.app[DATABASE].engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except DATABASE_DOWN:
        return web.json_response({"ok": False, "database": "unreachable"}, status=503)
    return web.json_response({"ok": True, "database": "ok"})


def _client_gone(request: web.Request) -> bool:
    return request.transport is None or request.transport.is_closing()


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every error as the one JSON error body clients know."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        status, body = render_error(exc)
        return web.json_response(body, status=status)
    except Exception as exc:
        if isinstance(exc, ConnectionResetError) and _client_gone(request):
            # The client went away mid-answer (a page reload during a WebSocket upgrade):
            # nothing failed here. This answer is never sent; aiohttp drops the connection
            # quietly (it logs an error for an exception).
            log.info("%s %s: the client went away", request.method, request.path)
            return web.Response(status=499, reason="Client Closed Request")
        status, body = render_error(exc, log=log, where=f"{request.method} {request.path}")
        return web.json_response(body, status=status)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    return response


class BodyTooSlow(Exception):
    """The request's body did not arrive within CHATSVC_HTTP_BODY_SECONDS."""


@web.middleware
async def body_deadline_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answer 408 and close the connection when a request's body takes too long to arrive.

    aiohttp times the request line and headers (keepalive_timeout), not the body: a client
    sending one byte a minute held a handler (and a sign-in slot, a long-polling session...)
    for as long as it liked. The deadline runs from the handler's start; when it passes with
    the body incomplete, the next read of the body raises BodyTooSlow, wherever the handler
    reads it (`post()`, `read()`, a multipart reader). Failing the stream, rather than reading
    the body here first, leaves each handler to read as it does: a multipart form is not read
    through `read()`'s cache.
    """
    payload = request.content
    if (
        not request.body_exists
        or payload.is_eof()
        or request.match_info.handler in request.config_dict[OWN_BODY_DEADLINE]
    ):
        return await handler(request)
    seconds = request.config_dict[SETTINGS].http_body_seconds

    def expire() -> None:
        if not payload.is_eof():  # all of it arrived: the handler may simply not have read it
            payload.set_exception(BodyTooSlow())

    timer = asyncio.get_running_loop().call_later(seconds, expire)
    try:
        return await handler(request)
    except BodyTooSlow:
        log.info(
            "%s %s: the body did not arrive within %d s", request.method, request.path, seconds
        )
        error = ChatError(
            f"The request's body did not arrive within {seconds} seconds.",
            code=ErrorCode.REQUEST_TIMEOUT,
        )
        response = web.json_response(error.as_dict(), status=error.status)
        response.force_close()
        # Sent now, then the connection closed: aiohttp would otherwise go on reading the rest
        # of the body (its lingering close) from the failed stream, and log that as a crash.
        await response.prepare(request)
        await response.write_eof()
        request.protocol.force_close()
        return response
    finally:
        timer.cancel()
