"""The "stop these emails" link of every mail (List-Unsubscribe, RFC 8058).

A GET only shows a page with a button: mail scanners follow links, so nothing changes on GET.
The POST (the button, or a mail provider's one-click unsubscribe) suppresses the address the
mail went to; a token that is not one of ours suppresses nothing.
"""

from __future__ import annotations

import logging

from aiohttp import web

from chatsvc.outbox.mail import is_unsubscribe_token, suppress_by_token
from chatsvc.transport.http import JINJA
from chatsvc.transport.state import ASSISTANT, CLOCK, DATABASE

log = logging.getLogger("chatsvc.mail")


def add_mail_link_routes(app: web.Application) -> None:
    """Wire the unsubscribe page and its one-click POST."""
    app.router.add_get("/mail/stop", stop_page)
    app.router.add_post("/mail/stop", stop_mail)


async def stop_page(request: web.Request) -> web.Response:
    """Show the button that stops mail to this mail's address (changing nothing)."""
    token = request.query.get("token", "")
    known = (
        bool(token)
        and len(token) <= 64
        and await request.app[DATABASE].run(is_unsubscribe_token, token)
    )
    return _page(request, token=token, known=known, stopped=False, status=200 if known else 404)


async def stop_mail(request: web.Request) -> web.Response:
    """Record that the address this mail went to gets no more mail."""
    token = request.query.get("token", "")
    stopped = await request.app[DATABASE].run(suppress_by_token, token, request.app[CLOCK]())
    if stopped:
        log.info("an address asked for no more mail")
    return _page(request, token="", known=stopped, stopped=stopped, status=200 if stopped else 404)


def _page(
    request: web.Request, *, token: str, known: bool, stopped: bool, status: int
) -> web.Response:
    template = request.app[JINJA].get_template("mail_stop.html")
    center = request.app[ASSISTANT].index.kb.center
    html = template.render(center=center, token=token, known=known, stopped=stopped)
    return web.Response(text=html, content_type="text/html", status=status)
