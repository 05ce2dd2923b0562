"""Staff pages: sign-in, sign-out and the agent pane, with CSRF protection and session cookies."""

from __future__ import annotations

import hmac
import logging
from pathlib import Path

from aiohttp import web

from chatsvc.actions import accounts
from chatsvc.actions.service_requests.photos import PHOTO_TYPES, load_photo
from chatsvc.errors import ChatError, SignInRefused, SignInThrottled
from chatsvc.transport.addresses import is_https, request_address
from chatsvc.transport.dispatch import DISPATCHER
from chatsvc.transport.errors import client_error, render_error
from chatsvc.transport.form_tokens import FormTokens
from chatsvc.transport.http import JINJA, STATIC
from chatsvc.transport.sign_in_guard import (
    SIGN_IN_GUARD,
    SignInBusy,
    SignInGuard,
    sign_in_guard_ctx,
)
from chatsvc.transport.state import ASSISTANT, CLOCK, DATABASE, SETTINGS

log = logging.getLogger("chatsvc.staff")

SESSION_COOKIE = "chatsvc_staff"
# Before sign-in: a pre-session for the sign-in form, whose token is the pre-session signed with
# the server's key, so a cookie planted by someone else (a sibling subdomain, a network on plain
# HTTP) cannot come with a token that matches it. Over HTTPS the cookie is host-only (__Host-).
CSRF_COOKIE = "chatsvc_csrf"
HOST_CSRF_COOKIE = "__Host-chatsvc_csrf"
CSRF_LIFETIME = 3600  # seconds a sign-in form stays good
CSRF_SECRET_NAME = "sign-in-csrf"
MAX_FORM_BYTES = 8 * 1024


def add_staff_routes(app: web.Application) -> None:
    app[SIGN_IN_GUARD] = SignInGuard(app[SETTINGS])
    app.cleanup_ctx.append(sign_in_guard_ctx)
    app.router.add_get("/agent", pane)
    app.router.add_get("/agent/sign-in", sign_in_page)
    app.router.add_post("/agent/sign-in", sign_in)
    app.router.add_post("/agent/sign-out", sign_out)
    app.router.add_get(r"/agent/requests/photos/{photo_id:\d{1,15}}", request_photo)


async def forget_sign_in_attempts(app: web.Application) -> None:
    """Delete sign-in attempt counts a day old (each sweep)."""
    forgotten = await app[DATABASE].run(accounts.forget_sign_in_attempts, now=app[CLOCK]())
    if forgotten:
        log.info("forgot %d old sign-in attempt counts", forgotten)


def _set_cookie(
    request: web.Request, response: web.StreamResponse, name: str, value: str, max_age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=is_https(request),
    )


async def current_staff(request: web.Request) -> accounts.CurrentSession | None:
    """The signed-in staff member of this request, if any."""
    token = request.cookies.get(SESSION_COOKIE, "")
    if not token:
        return None
    return await request.app[DATABASE].run(
        accounts.session_of, token=token, now=request.app[CLOCK]()
    )


# Every staff page: never cached, never framed, no inline code.
_PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
    ),
}


def render_page(
    request: web.Request, template: str, status: int = 200, **values: object
) -> web.Response:
    html = (
        request.app[JINJA]
        .get_template(template)
        .render(
            staff_css_url=versioned("/agent/staff.css", STATIC / "staff.css"),
            center=request.app[ASSISTANT].index.kb.center,
            **values,
        )
    )
    response = web.Response(text=html, content_type="text/html", status=status)
    response.headers.update(_PAGE_HEADERS)
    return response


SIGN_IN_FORMS = FormTokens(b"sign-in-form", CSRF_COOKIE, HOST_CSRF_COOKIE, CSRF_LIFETIME)


async def _csrf_key(request: web.Request) -> bytes:
    """The key that signs sign-in forms: configured, or the one kept in the database."""
    configured = request.app[SETTINGS].secret_key
    if configured:
        return configured.encode()
    guard = request.app[SIGN_IN_GUARD]
    if guard.csrf_key is None:
        secret = await request.app[DATABASE].run(accounts.server_secret, name=CSRF_SECRET_NAME)
        guard.csrf_key = secret.encode()
    return guard.csrf_key


async def _form_token_valid(request: web.Request, token: str) -> bool:
    """Tell whether the form's token is the signature of this browser's recent pre-session."""
    return SIGN_IN_FORMS.valid(request, token, await _csrf_key(request))


async def _sign_in_form(
    request: web.Request, *, username: str = "", error: str = "", status: int = 200
) -> web.Response:
    pre_session = SIGN_IN_FORMS.new_pre_session(request)
    csrf = SIGN_IN_FORMS.token(await _csrf_key(request), pre_session)
    response = render_page(
        request, "agent/sign_in.html", status, csrf_token=csrf, username=username, error=error
    )
    _set_cookie(
        request, response, SIGN_IN_FORMS.cookie_name(request), pre_session, max_age=CSRF_LIFETIME
    )
    return response


async def sign_in_page(request: web.Request) -> web.Response:
    """Show the sign-in form (or go to the pane when already signed in)."""
    if await current_staff(request) is not None:
        raise web.HTTPSeeOther("/agent")
    return await _sign_in_form(request)


def _busy(request: web.Request, busy: SignInBusy) -> web.Response:
    """429 with Retry-After: a small page, rendered once per wait and reused (no form, no
    cookie), since a flood asks for it thousands of times a second."""
    request.app[SIGN_IN_GUARD].refusals.refused(f"sign-in refused: {busy.why}")
    center = request.app[ASSISTANT].index.kb.center
    key = (busy.retry_after, center.name)
    cache = request.app[SIGN_IN_GUARD].busy_pages
    page = cache.get(key)
    if page is None:
        if len(cache) > 256:
            cache.clear()
        seconds = busy.retry_after
        wait = f"{seconds} second{'s' if seconds != 1 else ''}"
        html = (
            request.app[JINJA]
            .get_template("agent/sign_in_busy.html")
            .render(
                staff_css_url=versioned("/agent/staff.css", STATIC / "staff.css"),
                center=center,
                wait=wait,
            )
        )
        page = cache[key] = html.encode()
    response = web.Response(body=page, content_type="text/html", charset="utf-8", status=429)
    response.headers.update(_PAGE_HEADERS)
    response.headers["Retry-After"] = str(busy.retry_after)
    return response


async def _form(request: web.Request) -> dict[str, str]:
    if request.content_length is not None and request.content_length > MAX_FORM_BYTES:
        raise web.HTTPRequestEntityTooLarge(MAX_FORM_BYTES, request.content_length)
    data = await request.post()
    return {k: v for k, v in data.items() if isinstance(v, str)}


def _same(a: str, b: str) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


async def sign_in(request: web.Request) -> web.Response:
    """Count the attempt against its address, check the form's CSRF token, then the username
    and password (in a worker thread, within the overall budget); start a session."""
    settings = request.app[SETTINGS]
    guard = request.app[SIGN_IN_GUARD]
    try:
        guard.admit_address(request_address(request, settings))
    except SignInBusy as busy:
        return _busy(request, busy)  # before the body is read: a flood costs next to nothing
    form = await _form(request)
    username = form.get("username", "")[:64]
    if not await _form_token_valid(request, form.get("csrf_token", "")):
        log.info("sign-in refused: CSRF token missing or wrong")
        return await _sign_in_form(
            request,
            username=username,
            error="Your sign-in form expired. Please try again.",
            status=403,
        )
    try:
        guard.admit_check()
    except SignInBusy as busy:
        return _busy(request, busy)
    try:
        outcome = await _check_sign_in(request, guard, username, form.get("password", "")[:1024])
    except Exception as exc:
        if client_error(exc) is None:
            raise  # a bug: the error middleware logs it and answers internal_error
        # The database is down: the form again, saying so, with the status an API would get.
        status, body = render_error(exc, log=log, where=f"{request.method} {request.path}")
        return await _sign_in_form(
            request, username=username, error=body["error"]["message"], status=status
        )
    finally:
        guard.release()
    if isinstance(outcome, SignInRefused):
        log.info("sign-in refused: %s", outcome.code)
        response = await _sign_in_form(
            request, username=username, error=outcome.message, status=outcome.status
        )
        if isinstance(outcome, SignInThrottled):
            response.headers["Retry-After"] = str(outcome.retry_after)
        return response
    log.info("staff %d signed in", outcome.staff.id)
    response = web.HTTPSeeOther("/agent")
    lifetime = int(accounts.SESSION_LIFETIME.total_seconds())
    _set_cookie(request, response, SESSION_COOKIE, outcome.token, max_age=lifetime)
    response.del_cookie(SIGN_IN_FORMS.cookie_name(request), path="/", secure=is_https(request))
    raise response


async def _check_sign_in(
    request: web.Request, guard: SignInGuard, username: str, password: str
) -> accounts.SignedIn | SignInRefused:
    """Count the attempt, check the password in a worker thread, then open the session."""
    database = request.app[DATABASE]
    attempt = await database.run(
        accounts.begin_sign_in,
        username=username,
        address=request_address(request, request.app[SETTINGS]),
        now=request.app[CLOCK](),
    )
    if isinstance(attempt, SignInRefused):
        return attempt
    if not await guard.check(attempt.password_hash, password) or attempt.password_hash is None:
        return SignInRefused("The username or password is not right.")
    new_hash = await guard.rehash(attempt.password_hash, password)
    return await database.run(
        accounts.finish_sign_in, attempt=attempt, new_hash=new_hash, now=request.app[CLOCK]()
    )


async def sign_out(request: web.Request) -> web.Response:
    """End the session (a POST with the session's CSRF token), then show the sign-in form."""
    current = await current_staff(request)
    form = await _form(request)
    if current is not None:
        if not _same(form.get("csrf_token", ""), current.csrf_token):
            raise web.HTTPForbidden(reason="CSRF token missing or wrong")
        token = request.cookies.get(SESSION_COOKIE, "")
        await request.app[DATABASE].run(accounts.sign_out, token=token)
        # The pane's live connections of this browser end with its session.
        await request.app[DISPATCHER].events.disconnect_session(token)
        log.info("staff %d signed out", current.staff.id)
    response = web.HTTPSeeOther("/agent/sign-in")
    response.del_cookie(SESSION_COOKIE, path="/")
    raise response


async def pane(request: web.Request) -> web.Response:
    """The agent pane, for signed-in staff only."""
    current = await current_staff(request)
    if current is None:
        raise web.HTTPSeeOther("/agent/sign-in")
    return render_page(
        request,
        "agent/pane.html",
        staff=current.staff,
        csrf_token=current.csrf_token,
        pane_url=versioned("/agent/pane.js", STATIC / "pane.js"),
        pane_css_url=versioned("/agent/pane.css", STATIC / "pane.css"),
    )


def versioned(url: str, path: Path) -> str:
    """The URL with the file's modification time, so a new build is never served from cache."""
    try:
        return f"{url}?v={int(path.stat().st_mtime)}"
    except OSError:
        return url


async def request_photo(request: web.Request) -> web.Response:
    """A photo filed with a service request, for signed-in staff only.

    Residents' uploads are served as the image type they were checked to be, never rendered
    as anything else (nosniff; a CSP that runs nothing), and kept out of shared caches.
    """
    if await current_staff(request) is None:
        raise ChatError("Sign in to see request photos.", code="not_signed_in", status=401)
    photo_id = int(request.match_info["photo_id"])
    content_type, data = await request.app[DATABASE].run(load_photo, photo_id)
    extension = PHOTO_TYPES.get(content_type, "bin")
    return web.Response(
        body=data,
        headers={
            "Content-Type": content_type,
            "Content-Disposition": f'inline; filename="request-photo-{photo_id}.{extension}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
            "Cross-Origin-Resource-Policy": "same-origin",
            "Cache-Control": "private, max-age=3600",
            "Vary": "Cookie",
        },
    )
