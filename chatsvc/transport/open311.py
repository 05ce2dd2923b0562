"""Open311 GeoReport v2 under /open311/v2/: services, their definitions, and service requests.

The spec is http://wiki.open311.org/GeoReport_v2. Services are the request topics of the
catalogue (their codes are the service codes); a service definition's attributes are the
topic's fields that are not standard request fields. Reading is public and anonymous; filing
a request needs an API key (`chatsvc open311 add NAME`). Nothing read here names a resident:
no email, name, phone, conversation or internal note ever appears in a response.

Every resource comes as .json and .xml. Errors are the spec's array of {code, description}
with the HTTP status (400, 403 or 404; 413 for a body over the app's limit), rendered by this
sub-application's own middleware rather than the app's {"ok": false} shape.
"""

from __future__ import annotations

import logging
import math
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from multidict import MultiMapping

from chatsvc.actions import open311_clients
from chatsvc.actions.service_requests.checks import InvalidRequest, request_topic
from chatsvc.actions.service_requests.filing import NewRequest, create_service_request
from chatsvc.actions.service_requests.queries import RequestFilter, get_request, list_requests
from chatsvc.actions.service_requests.views import Contact, RequestView
from chatsvc.catalogue.knowledge import KnowledgeBase, Topic
from chatsvc.errors import ChatError, ErrorCode, Forbidden, InvalidPayload, NotFound
from chatsvc.hours import end_sentence
from chatsvc.transport.errors import client_error, render_error
from chatsvc.transport.http import Handler
from chatsvc.transport.state import CLOCK, DATABASE, REQUEST_POLICY, SETTINGS

log = logging.getLogger("chatsvc.open311")

BASE = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CONTENT_TYPES = {"json": "application/json", "xml": "text/xml"}
MAX_REQUESTS = 1000  # the spec's cap on one GET requests answer
MAX_PAGE = 1_000_000
WINDOW = timedelta(days=90)  # the spec's default and longest date range
# Our four statuses as Open311's two: work still to do is open; done or handed on is closed.
OPEN311_STATUS = {"open": "open", "in_progress": "open", "closed": "closed", "referred": "closed"}
STATUSES_OF = {"open": ("open", "in_progress"), "closed": ("closed", "referred")}
# Our field datatypes as Open311's (a photo is never an attribute: it is media_url).
DATATYPES = {
    "string": "string",
    "text": "text",
    "number": "number",
    "singlevaluelist": "singlevaluelist",
}
# W3C's profile of ISO 8601, which the spec requires: a full date and time with its offset.
W3C_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+\- ]\d{2}:\d{2})$"
)
ATTRIBUTE = re.compile(r"^attribute\[([^\]]*)\]$")
# Characters XML 1.0 cannot carry at all, even escaped: dropped from what we write.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# The element of each item in a list, by the list's element (the spec's XML shapes).
XML_ITEMS = {
    "services": "service",
    "service_requests": "request",
    "attributes": "attribute",
    "values": "value",
    "endpoints": "endpoint",
    "formats": "format",
    "errors": "error",
}
MAX_KEYWORDS = 12
HOST = re.compile(r"^[A-Za-z0-9.\-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$")


class TooManyFilings(ChatError):
    """An API key filed more requests than its share: answered 429 with Retry-After."""

    code = ErrorCode.RATE_LIMITED

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many requests filed with this api_key: retry in {retry_after} s.")
        self.retry_after = retry_after


class FilingBuckets:
    """A token bucket per API key: `per_minute` filings a minute, as a burst or spread out.

    Per process (a city runs one or a few): an app that floods cannot stall the others.
    """

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens a second
        self.clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}  # client id -> (tokens, when)

    def take(self, client_id: int) -> None:
        """Spend one filing of this key's, or raise TooManyFilings."""
        now = self.clock()
        tokens, then = self._buckets.get(client_id, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - then) * self.rate)
        if tokens < 1:
            self._buckets[client_id] = (tokens, now)
            raise TooManyFilings(max(1, math.ceil((1 - tokens) / self.rate)))
        self._buckets[client_id] = (tokens - 1, now)


FILING_BUCKETS = web.AppKey("open311_filing_buckets", FilingBuckets)


def add_open311_routes(app: web.Application) -> None:
    """Mount the Open311 GeoReport v2 API on the app under /open311/v2."""
    api = web.Application(middlewares=[open311_middleware])
    api[FILING_BUCKETS] = FilingBuckets(app[SETTINGS].open311_filings_per_minute)
    api.router.add_get("/discovery.{format}", discovery)
    api.router.add_get("/services.{format}", services)
    api.router.add_get("/services/{service_code}.{format}", service_definition)
    api.router.add_post("/requests.{format}", post_request)
    api.router.add_get("/requests.{format}", requests_list)
    api.router.add_get("/requests/{service_request_id}.{format}", request_detail)
    app.add_subapp(BASE, api)


# --- handlers ------------------------------------------------------------------------------


async def discovery(request: web.Request) -> web.Response:
    """Say where this API is, what it speaks and whom to ask for a key."""
    fmt = _format(request)
    kb = _kb(request)
    center = kb.center
    changeset = _changeset(kb)
    body = {
        "changeset": changeset,
        "contact": (
            f"{center.full_name}: call {center.phone}, email {center.email}, or chat with us "
            f"on {center.website}."
        ),
        "key_service": (
            f"Reading is open to all. To file requests, ask the {center.full_name} for an API "
            f"key: call {center.phone} or email {center.email}."
        ),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": _base_url(request),
                "changeset": changeset,
                "type": "production",
                "formats": list(CONTENT_TYPES.values()),
            }
        ],
    }
    return _render(fmt, "discovery", body)


async def services(request: web.Request) -> web.Response:
    """List the services: the catalogue's request topics."""
    fmt = _format(request)
    kb = _kb(request)
    body = [_service(kb, topic) for topic in kb.topics.values() if topic.is_request]
    return _render(fmt, "services", body)


async def service_definition(request: web.Request) -> web.Response:
    """Describe one service's attributes: the topic's fields that are not standard ones."""
    fmt = _format(request)
    kb = _kb(request)
    topic = request_topic(kb, request.match_info["service_code"])
    body = {"service_code": topic.code, "attributes": _attributes(kb, topic)}
    return _render(fmt, "service_definition", body)


async def post_request(request: web.Request) -> web.Response:
    """File a service request for an app holding an API key; answer its number."""
    fmt = _format(request)
    form = await _form(request)
    database = request.config_dict[DATABASE]
    api_key = form.get("api_key", "")
    client = await database.run(open311_clients.authenticate, api_key) if api_key else None
    if client is None:
        raise Forbidden(
            "api_key is required: ask the City for one."
            if not api_key
            else "api_key is not valid (unknown or revoked)."
        )
    request.app[FILING_BUCKETS].take(client.id)
    policy = request.config_dict[REQUEST_POLICY]()
    new = _new_request(form, policy.kb, client)
    try:
        view = await database.run(
            create_service_request, new, policy=policy, now=request.config_dict[CLOCK]()
        )
    except InvalidRequest as exc:
        raise InvalidPayload(_describe(exc, policy.kb)) from None
    log.info("open311: %s filed %s (%s)", client.name, view.number, view.service_code)
    # Committed, and so published: staff see it in the pane now, and the mail goes out.
    expected = policy.calendar.describe_local(view.expected_at)
    notice = end_sentence(f"We expect it to be done by {expected}")
    body = [{"service_request_id": view.number, "service_notice": notice, "account_id": None}]
    return _render(fmt, "service_requests", body)


async def requests_list(request: web.Request) -> web.Response:
    """List requests by number, or by service, status and date (90 days at most), by page."""
    fmt = _format(request)
    filters = _filters(request.query, request.config_dict[CLOCK]())
    page = await request.config_dict[DATABASE].run(list_requests, filters, _kb(request))
    response = _render(fmt, "service_requests", [_request_item(view) for view in page.items])
    response.headers["X-Total-Count"] = str(page.total)
    response.headers["Access-Control-Expose-Headers"] = "X-Total-Count"
    return response


async def request_detail(request: web.Request) -> web.Response:
    """Show one request, as a list of one (the spec's shape)."""
    fmt = _format(request)
    view = await request.config_dict[DATABASE].run(
        get_request, request.match_info["service_request_id"], _kb(request), public_only=True
    )
    return _render(fmt, "service_requests", [_request_item(view)])


@web.middleware
async def open311_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Render every error the spec's way; let any site read the public (GET) answers."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        response = _error(request, exc, _http_description(request, exc))
        if isinstance(exc, web.HTTPMethodNotAllowed):
            response.headers["Allow"] = ", ".join(sorted(exc.allowed_methods))
    except Exception as exc:
        error = client_error(exc)
        if error is None:
            raise  # a bug: the app's error middleware logs it and answers internal_error
        response = _error(request, exc, error.message)
        if isinstance(exc, TooManyFilings):
            response.headers["Retry-After"] = str(exc.retry_after)
    if request.method in ("GET", "HEAD"):
        # Public data: a city's map or a civic app on any site may read it from the browser.
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response


# --- reading what clients send -----------------------------------------------------------------


def _format(request: web.Request) -> str:
    fmt = request.match_info.get("format", "")
    if fmt not in CONTENT_TYPES:
        raise NotFound(f"Unknown format {fmt!r}: use .json or .xml.")
    return fmt


async def _form(request: web.Request) -> dict[str, str]:
    if request.content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        raise InvalidPayload("Send the request form-encoded (application/x-www-form-urlencoded).")
    try:
        posted = await request.post()
    except web.HTTPException:
        raise  # a body over the size limit: 413
    except (ValueError, LookupError, HttpProcessingError) as exc:
        # A broken multipart body, bytes that are not in the charset, a charset nobody knows.
        reason = exc.message if isinstance(exc, HttpProcessingError) else str(exc)
        raise InvalidPayload(f"The form could not be read: {reason}") from None
    form: dict[str, str] = {}
    for name in dict.fromkeys(posted.keys()):
        values = posted.getall(name)
        if len(values) > 1:
            raise InvalidPayload(f"{name} is given more than once.")
        if not isinstance(values[0], str):
            raise InvalidPayload(f"{name} must be text, not a file.")
        form[name] = values[0]
    return form


def _new_request(
    form: Mapping[str, str], kb: KnowledgeBase, client: open311_clients.ClientView
) -> NewRequest:
    code = form.get("service_code", "").strip()
    if not code:
        raise InvalidPayload("service_code is required (see services.json).")
    topic = request_topic(kb, code)
    lat, long = _coordinate(form, "lat"), _coordinate(form, "long")
    address = form.get("address_string", "").strip()
    if not address and lat is None and long is None:
        raise InvalidPayload("Say where: lat and long, or address_string, are required.")
    values: dict[str, object] = {}
    if address:
        field = _standard_field(kb, topic, "address_string")
        if field is None:
            raise InvalidPayload(
                f"address_string: {topic.name} requests are located by lat and long only."
            )
        values[field] = address
    if "description" in form:
        values[_standard_field(kb, topic, "description") or "description"] = form["description"]
    for name, value in form.items():
        match = ATTRIBUTE.match(name)
        if match is None:
            if name.startswith("attribute"):
                raise InvalidPayload(f"{name}: attributes are sent as attribute[code].")
            continue  # other parameters (jurisdiction_id, device_id, account_id) are not used
        spec = kb.fields.get(match.group(1))
        if spec is None or not spec.is_attribute or spec.name not in topic.field_names:
            raise InvalidPayload(
                f"{name}: {topic.name} has no such attribute (see services/{topic.code}.json)."
            )
        values[spec.name] = value
    # One line: a line break in a name is folded to a space (it would start a new line of
    # whatever shows it, a mail or the pane).
    name = " ".join(
        " ".join(part.split()) for part in (form.get("first_name", ""), form.get("last_name", ""))
    ).strip()
    return NewRequest(
        service_code=topic.code,
        values=values,
        contact=Contact(
            name=name or None,
            email=form.get("email", "").strip() or None,
            phone=" ".join(form.get("phone", "").split()) or None,
        ),
        lat=lat,
        long=long,
        media_url=form.get("media_url", "").strip() or None,
        source="open311",
        actor=client.name,
        open311_client_id=client.id,
    )


def _standard_field(kb: KnowledgeBase, topic: Topic, open311: str) -> str | None:
    """The topic's field that fills this standard Open311 field, if it has one."""
    return next(
        (n for n in topic.field_names if n in kb.fields and kb.fields[n].open311 == open311), None
    )


def _coordinate(form: Mapping[str, str], name: str) -> float | None:
    raw = form.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InvalidPayload(f"{name} must be a number of decimal degrees (WGS84).")
    return value


def _describe(error: InvalidRequest, kb: KnowledgeBase) -> str:
    """Name the Open311 parameter a domain error is about, as the client sent it."""
    field = error.field
    spec = kb.fields.get(field) if field else None
    if spec is not None:
        parameter = spec.open311 or f"attribute[{spec.name}]"
    else:
        parameter = {"name": "first_name", "photo": "media_url"}.get(field or "", field or "")
    return f"{parameter}: {error.message}" if parameter else error.message


def _filters(query: MultiMapping[str], now: datetime) -> RequestFilter:
    ids = _list(query, "service_request_id")
    if ids:
        # The spec: asking by number overrides every other argument.
        if len(ids) > MAX_REQUESTS:
            raise InvalidPayload(f"service_request_id: at most {MAX_REQUESTS} at once.")
        return RequestFilter(numbers=tuple(ids), limit=MAX_REQUESTS, public_only=True)
    statuses: list[str] = []
    for status in _list(query, "status"):
        if status not in STATUSES_OF:
            raise InvalidPayload("status must be open or closed.")
        statuses.extend(STATUSES_OF[status])
    start, end = _datetime(query, "start_date"), _datetime(query, "end_date")
    if start is None and end is None:
        start, end = now - WINDOW, now
    elif start is None:
        assert end is not None
        start = end - WINDOW
    elif end is None:
        end = start + WINDOW
    if end < start:
        raise InvalidPayload("end_date is before start_date.")
    if end - start > WINDOW:
        raise InvalidPayload("start_date and end_date may be at most 90 days apart.")
    page = _whole_number(query, "page", 1, MAX_PAGE)
    page_size = _whole_number(query, "page_size", MAX_REQUESTS, MAX_REQUESTS)
    return RequestFilter(
        statuses=tuple(dict.fromkeys(statuses)),
        service_codes=tuple(_list(query, "service_code")),
        start=start,
        end=end + timedelta(microseconds=1),  # end_date is the last instant included
        limit=page_size,
        offset=(page - 1) * page_size,
        public_only=True,  # requests of topics that are not public are nobody else's business
    )


def _list(query: MultiMapping[str], name: str) -> list[str]:
    """A comma-separated argument (the spec's lists), also given more than once, as a list."""
    items = (item.strip() for value in query.getall(name, []) for item in value.split(","))
    return list(dict.fromkeys(item for item in items if item))


def _datetime(query: MultiMapping[str], name: str) -> datetime | None:
    raw = query.get(name, "").strip()
    if not raw:
        return None
    # An unescaped "+" of an offset arrives as a space: read it as the "+" it was.
    text = raw[:-6] + "+" + raw[-5:] if len(raw) > 6 and raw[-6] == " " else raw
    if W3C_DATETIME.match(text):
        try:
            return datetime.fromisoformat(text).astimezone(UTC)
        except ValueError:
            pass
    raise InvalidPayload(
        f"{name} must be a date and time with its offset, like 2026-11-23T10:00:00-08:00."
    )


def _whole_number(query: MultiMapping[str], name: str, default: int, highest: int) -> int:
    raw = query.get(name, "").strip()
    if not raw:
        return default
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= highest:
        raise InvalidPayload(f"{name} must be a whole number from 1 to {highest:,}.")
    return int(raw)


# --- what we answer ----------------------------------------------------------------------------


def _kb(request: web.Request) -> KnowledgeBase:
    return request.config_dict[REQUEST_POLICY]().kb


def _service(kb: KnowledgeBase, topic: Topic) -> dict[str, Any]:
    # The topic's articles' keywords, those most of them share first ("graffiti" before "my
    # garage"), so the few kept say what the service is about.
    found = [k.lower() for a in kb.articles_of(topic.code) for k in dict.fromkeys(a.keywords)]
    keywords = sorted(dict.fromkeys(found), key=lambda k: (-found.count(k), found.index(k)))
    days = "day" if topic.service_days == 1 else "days"
    return {
        "service_code": topic.code,
        "service_name": topic.name,
        "description": (
            f"{topic.name}: handled by {topic.workgroup} ({topic.department}), "
            f"usually within {topic.service_days} business {days}."
        ),
        "metadata": bool(_attributes(kb, topic)),
        "type": "realtime",
        "keywords": ", ".join(keywords[:MAX_KEYWORDS]),
        "group": topic.department,
    }


def _attributes(kb: KnowledgeBase, topic: Topic) -> list[dict[str, Any]]:
    attributes: list[dict[str, Any]] = []
    for name in topic.field_names:
        spec = kb.fields.get(name)
        if spec is None or not spec.is_attribute or spec.datatype not in DATATYPES:
            continue
        if spec.datatype == "singlevaluelist":
            hint = "Choose one of the values."
        elif spec.pattern_hint:
            hint = spec.pattern_hint[0].upper() + spec.pattern_hint[1:] + "."
        elif spec.datatype == "number":
            hint = "A number."
        else:
            hint = f"{spec.min_length or 1} to {spec.max_length:,} characters."
        attributes.append(
            {
                "variable": True,
                "code": spec.name,
                "datatype": DATATYPES[spec.datatype],
                "required": topic.is_required(name),
                "datatype_description": hint,
                "order": len(attributes) + 1,
                "description": spec.description,
                "values": [{"key": v.key, "name": v.name} for v in spec.values],
            }
        )
    return attributes


def _request_item(view: RequestView) -> dict[str, Any]:
    """A request as anyone may read it: never its contact, conversation or internal notes."""
    return {
        "service_request_id": view.number,
        "status": OPEN311_STATUS.get(view.status, "open"),
        "status_notes": view.last_public_note,
        "service_name": view.service_name,
        "service_code": view.service_code,
        "description": view.description or None,
        "agency_responsible": view.referred_to or view.department,
        "service_notice": view.next_steps if view.status == "referred" else None,
        "requested_datetime": _w3c(view.requested_at),
        "updated_datetime": _w3c(view.updated_at),
        "expected_datetime": _w3c(view.expected_at),
        "address": view.address,
        "address_id": None,
        "zipcode": None,
        "lat": view.lat,
        "long": view.long,
        "media_url": view.media_url,
    }


def _w3c(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _changeset(kb: KnowledgeBase) -> str:
    """When the catalogue last changed: clients that cache services know to fetch them again."""
    times = []
    for name in ("topics.toml", "fields.toml"):
        try:
            times.append((Path(kb.source) / name).stat().st_mtime)
        except OSError:
            continue
    moment = datetime.fromtimestamp(max(times), UTC) if times else datetime(2026, 1, 1, tzinfo=UTC)
    return _w3c(moment)


def _base_url(request: web.Request) -> str:
    scheme, host = request.scheme, request.host
    if request.config_dict[SETTINGS].trust_proxy_headers:
        forwarded_proto = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip()
        forwarded_host = request.headers.get("X-Forwarded-Host", "").split(",")[0].strip()
        scheme = forwarded_proto.lower() if forwarded_proto in ("http", "https") else scheme
        host = forwarded_host or host
    if not HOST.match(host):
        host = "localhost"  # a Host header no browser sends: do not echo it back
    return f"{scheme}://{host}{BASE}"


def _http_description(request: web.Request, exc: web.HTTPException) -> str:
    if isinstance(exc, web.HTTPNotFound):
        return f"There is no {request.path} in this API: see {BASE}/discovery.json."
    if isinstance(exc, web.HTTPMethodNotAllowed):
        allowed = " or ".join(sorted(exc.allowed_methods))
        return f"{request.method} is not allowed here: use {allowed}."
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return "The request is too large."
    return exc.reason


def _error(request: web.Request, exc: BaseException, description: str) -> web.Response:
    """The spec's error list, with the status every other transport answers `exc` with."""
    status, _ = render_error(exc, log=log, where=f"{request.method} {request.path}")
    fmt = request.match_info.get("format", "")
    if fmt not in CONTENT_TYPES:
        fmt = "xml" if request.path.endswith(".xml") else "json"
    return _render(fmt, "errors", [{"code": status, "description": description}], status=status)


def _render(fmt: str, root: str, body: Any, *, status: int = 200) -> web.Response:
    if fmt == "json":
        return web.json_response(body, status=status)
    document = ET.tostring(_element(root, body), encoding="unicode")
    return web.Response(
        text='<?xml version="1.0" encoding="utf-8"?>\n' + document,
        status=status,
        content_type=CONTENT_TYPES["xml"],
    )


def _element(tag: str, value: Any) -> ET.Element:
    """Build the spec's XML for a value: objects by key, lists by XML_ITEMS, text escaped."""
    element = ET.Element(tag)
    if isinstance(value, dict):
        for key, item in value.items():
            element.append(_element(key, item))
    elif isinstance(value, list):
        for item in value:
            element.append(_element(XML_ITEMS[tag], item))
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        # ElementTree escapes &, < and >; characters XML cannot hold at all are dropped.
        element.text = NOT_XML.sub("", str(value))
    return element
