"""Open311 GeoReport v2 on the real server, checked field by field against the spec."""

from __future__ import annotations

import asyncio
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select

from chatsvc.actions import open311_clients
from chatsvc.actions.service_requests.filing import NewRequest, create_service_request
from chatsvc.actions.service_requests.status import change_status
from chatsvc.actions.service_requests.views import Contact, RequestView
from chatsvc.catalogue.knowledge import default_path, load_knowledge_base
from chatsvc.db.models import Open311Client, OutboxMail, ServiceRequest, ServiceRequestUpdate
from chatsvc.errors import NotFound
from chatsvc.settings import Settings
from chatsvc.tokens import hash_token
from chatsvc.transport.state import DATABASE, REQUEST_POLICY
from tests.conftest import TIMEOUT, AgentClient, LiveServer, run_chatsvc
from tests.databases import opened_database

KB = load_knowledge_base(default_path())
NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)  # a Monday, 10:00 in Pasadena
SERVICE_KEYS = [
    "service_code",
    "service_name",
    "description",
    "metadata",
    "type",
    "keywords",
    "group",
]
ATTRIBUTE_KEYS = [
    "variable",
    "code",
    "datatype",
    "required",
    "datatype_description",
    "order",
    "description",
    "values",
]
REQUEST_KEYS = [
    "service_request_id",
    "status",
    "status_notes",
    "service_name",
    "service_code",
    "description",
    "agency_responsible",
    "service_notice",
    "requested_datetime",
    "updated_datetime",
    "expected_datetime",
    "address",
    "address_id",
    "zipcode",
    "lat",
    "long",
    "media_url",
]
W3C = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")
NUMBER = re.compile(r"^26-\d{6}$")
# A resident's personal details: none of them may appear in anything a GET answers.
PERSONAL = {
    "email": "ana.ruiz@example.com",
    "first_name": "Anastasia",
    "last_name": "Ruizova",
    "phone": "(626) 555-0199",
}


@dataclass
class Api:
    """The Open311 API of a live server, with an API key, spoken to over real HTTP."""

    server: LiveServer
    http: aiohttp.ClientSession
    key: str
    client_id: int

    @property
    def base(self) -> str:
        return f"{self.server.url}/open311/v2"

    async def get(self, path: str, **params: str) -> tuple[int, Any, str, Any]:
        """GET a resource; return status, parsed body (JSON or XML root), text and headers."""
        async with self.http.get(f"{self.base}/{path}", params=params) as response:
            text = await response.text()
            return response.status, _parse(response.content_type, text), text, response.headers

    async def post(self, form: dict[str, str] | None = None, **fields: str) -> tuple[int, Any]:
        """POST requests.json with this key and a valid missed-trash request, changed by fields."""
        data = form if form is not None else {**valid_form(self.key), **fields}
        async with self.http.post(f"{self.base}/requests.json", data=data) as response:
            assert response.content_type == "application/json"
            return response.status, await response.json()

    async def run(self, action: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        return await self.server.app[DATABASE].run(action, *args, **kwargs)

    async def count(self, model: Any) -> int:
        async def read(session: Any) -> int:
            return int(await session.scalar(select(func.count()).select_from(model)))

        counted: int = await self.run(read)
        return counted


def _parse(content_type: str, text: str) -> Any:
    if content_type == "application/json":
        return json.loads(text)
    assert content_type == "text/xml", content_type
    assert text.startswith('<?xml version="1.0" encoding="utf-8"?>\n')
    return ET.fromstring(text)


def valid_form(key: str) -> dict[str, str]:
    return {
        "api_key": key,
        "service_code": "missed-trash",
        "address_string": "100 N Garfield Ave",
        "attribute[container]": "recycling",
        "description": "The blue bin was skipped this morning.",
        **PERSONAL,
    }


@pytest.fixture
async def make_api(
    make_settings: Callable[..., Settings], start_server: Callable[..., Awaitable[LiveServer]]
) -> AsyncIterator[Callable[..., Awaitable[Api]]]:
    """Factory: a live server at a fixed time, with an API key issued to "Test app"."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as http:

        async def make(**settings: Any) -> Api:
            # The center's real hours, so service levels count business days as residents are
            # told.
            server = await start_server(
                make_settings(business_hours="mon-fri 08:00-17:00", holidays="US-CA", **settings),
                clock=lambda: NOW,
            )
            issued = await server.app[DATABASE].run(open311_clients.issue_key, "Test app", NOW)
            return Api(server, http, issued.key, issued.client.id)

        yield make


@pytest.fixture
async def api(make_api: Callable[..., Awaitable[Api]]) -> Api:
    return await make_api()


async def file_request(
    api: Api, code: str = "graffiti", *, at: datetime = NOW, **values: Any
) -> RequestView:
    """File a request as the chat would, at a given time."""
    new = NewRequest(
        service_code=code,
        values=values or {"address": "100 N Garfield Ave", "description": "Tags on the east wall"},
        contact=Contact("Anastasia Ruizova", PERSONAL["email"], PERSONAL["phone"]),
    )
    policy = api.server.app[REQUEST_POLICY]()
    view: RequestView = await api.run(create_service_request, new, policy=policy, now=at)
    return view


async def change(api: Api, number: str, status: str, note: str, **kw: Any) -> None:
    policy = api.server.app[REQUEST_POLICY]()
    await api.run(
        change_status,
        number=number,
        status=status,
        note=note,
        staff_id=None,
        actor="Maria",
        policy=policy,
        now=NOW,
        **kw,
    )


def assert_no_personal_data(text: str) -> None:
    for value in PERSONAL.values():
        assert value not in text
    assert "Test app" not in text  # nor which app filed it


# --- discovery, services, service definitions -----------------------------------------------


async def test_discovery_says_where_and_what(api: Api) -> None:
    status, body, _, headers = await api.get("discovery.json")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    assert list(body) == ["changeset", "contact", "key_service", "endpoints"]
    assert W3C.match(body["changeset"])
    assert "(626) 744-7311" in body["contact"] and "API key" in body["key_service"]
    assert body["endpoints"] == [
        {
            "specification": "http://wiki.open311.org/GeoReport_v2",
            "url": api.base,
            "changeset": body["changeset"],
            "type": "production",
            "formats": ["application/json", "text/xml"],
        }
    ]
    status, root, _, _ = await api.get("discovery.xml")
    assert status == 200 and root.tag == "discovery"
    endpoint = root.find("endpoints/endpoint")
    assert endpoint is not None and endpoint.findtext("url") == api.base
    assert [f.text for f in endpoint.findall("formats/format")] == [
        "application/json",
        "text/xml",
    ]


async def test_services_are_the_request_topics_field_by_field(api: Api) -> None:
    status, body, _, headers = await api.get("services.json")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    request_topics = [t for t in KB.topics.values() if t.is_request]
    assert [s["service_code"] for s in body] == [t.code for t in request_topics]
    assert "trash-schedule" not in {s["service_code"] for s in body}  # an info topic
    for service, topic in zip(body, request_topics, strict=True):
        assert list(service) == SERVICE_KEYS
        assert service["service_name"] == topic.name
        assert service["group"] == topic.department
        assert service["type"] == "realtime"
        assert isinstance(service["description"], str) and service["description"]
        assert isinstance(service["keywords"], str)
        has_attributes = any(KB.fields[f].is_attribute for f in topic.field_names)
        assert service["metadata"] is has_attributes
    by_code = {s["service_code"]: s for s in body}
    assert by_code["missed-trash"]["metadata"] is True
    assert by_code["graffiti"]["metadata"] is False
    assert "graffiti" in by_code["graffiti"]["keywords"]

    status, root, _, _ = await api.get("services.xml")
    assert status == 200 and root.tag == "services"
    services = root.findall("service")
    assert len(services) == len(body)
    for element, service in zip(services, body, strict=True):
        assert [child.tag for child in element] == SERVICE_KEYS
        for key in SERVICE_KEYS:
            expected = service[key]
            if isinstance(expected, bool):
                expected = "true" if expected else "false"
            assert (element.findtext(key) or "") == expected


async def test_a_service_definition_lists_its_attributes(api: Api) -> None:
    status, body, _, _ = await api.get("services/missed-trash.json")
    assert status == 200
    assert body == {
        "service_code": "missed-trash",
        "attributes": [
            {
                "variable": True,
                "code": "container",
                "datatype": "singlevaluelist",
                "required": True,
                "datatype_description": "Choose one of the values.",
                "order": 1,
                "description": "The collection container concerned",
                "values": [
                    {"key": "trash", "name": "Trash (black)"},
                    {"key": "recycling", "name": "Recycling (blue)"},
                    {"key": "green-waste", "name": "Green waste (green)"},
                ],
            }
        ],
    }
    _, bulky, _, _ = await api.get("services/bulky-item-pickup.json")
    [items] = bulky["attributes"]
    assert list(items) == ATTRIBUTE_KEYS
    assert (items["code"], items["datatype"], items["required"], items["values"]) == (
        "items",
        "text",
        True,
        [],
    )
    assert items["datatype_description"] == "3 to 500 characters."
    # Address, description and photo are standard request fields, never attributes.
    _, graffiti, _, _ = await api.get("services/graffiti.json")
    assert graffiti == {"service_code": "graffiti", "attributes": []}

    status, root, _, _ = await api.get("services/missed-trash.xml")
    assert status == 200 and root.tag == "service_definition"
    assert root.findtext("service_code") == "missed-trash"
    [attribute] = root.findall("attributes/attribute")
    assert [child.tag for child in attribute] == ATTRIBUTE_KEYS
    assert attribute.findtext("variable") == "true" and attribute.findtext("order") == "1"
    assert [(v.findtext("key"), v.findtext("name")) for v in attribute.findall("values/value")] == [
        ("trash", "Trash (black)"),
        ("recycling", "Recycling (blue)"),
        ("green-waste", "Green waste (green)"),
    ]


# --- filing and reading requests ---------------------------------------------------------------


async def test_a_request_filed_then_read_back_in_both_formats(api: Api) -> None:
    status, body = await api.post(media_url="https://example.org/photo.jpg")
    assert status == 200
    [created] = body
    assert list(created) == ["service_request_id", "service_notice", "account_id"]
    number = created["service_request_id"]
    assert isinstance(number, str) and NUMBER.match(number)
    assert created["account_id"] is None
    # Missed collection is a one-business-day service: Monday's request is due Tuesday 5 p.m.
    assert created["service_notice"] == "We expect it to be done by Tuesday, November 24 at 5 p.m."

    status, body, text, headers = await api.get(f"requests/{number}.json")
    assert status == 200 and headers["Access-Control-Allow-Origin"] == "*"
    [item] = body
    assert list(item) == REQUEST_KEYS
    assert item == {
        "service_request_id": number,
        "status": "open",
        "status_notes": "Request received.",
        "service_name": "Missed Trash / Recycling / Green Waste Collection",
        "service_code": "missed-trash",
        "description": "The blue bin was skipped this morning.",
        "agency_responsible": "Public Works",
        "service_notice": None,
        "requested_datetime": "2026-11-23T18:00:00Z",
        "updated_datetime": "2026-11-23T18:00:00Z",
        "expected_datetime": "2026-11-25T01:00:00Z",
        "address": "100 N Garfield Ave",
        "address_id": None,
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": "https://example.org/photo.jpg",
    }
    assert_no_personal_data(text)

    status, root, xml_text, _ = await api.get(f"requests/{number}.xml")
    assert status == 200 and root.tag == "service_requests"
    [request] = root.findall("request")
    assert [child.tag for child in request] == REQUEST_KEYS
    for key in REQUEST_KEYS:
        assert (request.findtext(key) or "") == (item[key] or ""), key
    assert_no_personal_data(xml_text)
    for path in ("requests.json", "requests.xml"):
        status, _, listed, _ = await api.get(path)
        assert status == 200 and number in listed
        assert_no_personal_data(listed)

    # Stored with its contact (for the mail and the staff), its source and the app that filed it.
    async def stored(session: Any) -> tuple[ServiceRequest, list[ServiceRequestUpdate]]:
        row = await session.scalar(select(ServiceRequest).where(ServiceRequest.number == number))
        updates = list(await session.scalars(select(ServiceRequestUpdate)))
        return row, updates

    row, updates = await api.run(stored)
    assert (row.contact_name, row.contact_email, row.contact_phone) == (
        "Anastasia Ruizova",
        PERSONAL["email"],
        PERSONAL["phone"],
    )
    assert (row.source, row.open311_client_id, row.attributes) == (
        "open311",
        api.client_id,
        {"container": "recycling"},
    )
    assert [u.actor for u in updates] == ["Test app"]


async def test_lat_and_long_locate_a_request_without_an_address(api: Api) -> None:
    form = valid_form(api.key)
    del form["address_string"]
    status, body = await api.post({**form, "lat": "34.1478", "long": "-118.1445"})
    assert status == 200
    _, [item], _, _ = await api.get(f"requests/{body[0]['service_request_id']}.json")
    assert (item["lat"], item["long"], item["address"]) == (34.1478, -118.1445, None)


async def test_a_filed_request_reaches_staff_live_and_its_mail_is_queued(
    api: Api, agent_client: Callable[..., Awaitable[AgentClient]]
) -> None:
    agent = await agent_client("maria", server=api.server)
    status, body = await api.post()
    assert status == 200
    number = body[0]["service_request_id"]
    shown = await agent.next_where("request", lambda r: r["number"] == number)
    assert (shown["source"], shown["service_code"], shown["status"]) == (
        "open311",
        "missed-trash",
        "open",
    )
    assert shown["contact"]["email"] == PERSONAL["email"]  # staff see who to answer

    async def mails(session: Any) -> list[OutboxMail]:
        return list(await session.scalars(select(OutboxMail)))

    [mail] = await api.run(mails)
    assert (mail.kind, mail.to_address) == ("request_created", PERSONAL["email"])
    assert number in mail.subject and mail.body.startswith("Hello,\n")
    assert "Anastasia" not in mail.body  # a name the filer chose never greets


async def test_markup_is_kept_as_text_and_escaped_in_xml(api: Api) -> None:
    description = '<script>alert("x")</script> & <b>bold</b>\x01 "quoted"'
    status, body = await api.post(description=description)
    assert status == 200
    number = body[0]["service_request_id"]
    _, [item], _, _ = await api.get(f"requests/{number}.json")
    assert item["description"] == description
    status, root, text, _ = await api.get(f"requests/{number}.xml")
    assert status == 200
    assert "<script>" not in text and "&lt;script&gt;" in text
    # XML cannot carry the control character at all: it is dropped, the rest is intact.
    assert root.findtext("request/description") == description.replace("\x01", "")


async def test_open311_statuses_and_filters(api: Api) -> None:
    old = await file_request(api, at=NOW - timedelta(days=100))
    opened = await file_request(api, at=NOW - timedelta(days=30))
    working = await file_request(api, "pothole", at=NOW - timedelta(days=20))
    closed = await file_request(api, at=NOW - timedelta(days=10))
    referred = await file_request(api, "storm-drain", at=NOW - timedelta(days=1))
    await change(api, working.number, "in_progress", "Crew scheduled")
    await change(api, closed.number, "closed", "Painted over")
    await change(api, closed.number, "closed", "Crew 7, overtime", public=False)
    await change(
        api,
        referred.number,
        "referred",
        "Sent to the county",
        referred_to="LA County Flood Control",
        next_steps="The county will call you within two days.",
    )

    async def numbers(**params: str) -> list[str]:
        status, body, text, _ = await api.get("requests.json", **params)
        assert status == 200, body
        assert "overtime" not in text  # an internal note
        assert_no_personal_data(text)
        return [item["service_request_id"] for item in body]

    in_window = [referred.number, closed.number, working.number, opened.number]
    assert await numbers() == in_window  # the last 90 days, newest first
    assert await numbers(status="open") == [working.number, opened.number]
    assert await numbers(status="closed") == [referred.number, closed.number]
    assert await numbers(status="open,closed") == in_window
    assert await numbers(service_code="pothole") == [working.number]
    assert await numbers(service_code="pothole,storm-drain") == [referred.number, working.number]
    old_window = {
        "start_date": (NOW - timedelta(days=120)).isoformat(),
        "end_date": (NOW - timedelta(days=60)).isoformat(),
    }
    assert await numbers(**old_window) == [old.number]
    # A start alone reads 90 days on; an end alone 90 days back; both ends are included.
    assert await numbers(start_date="2026-11-13T18:00:00Z") == [referred.number, closed.number]
    assert await numbers(end_date="2026-11-03T18:00:00Z") == [
        working.number,
        opened.number,
        old.number,
    ]
    assert await numbers(start_date="2026-11-22T10:00:00-08:00") == [referred.number]
    # Asking by number overrides every other filter (the spec), the old one included.
    assert await numbers(service_request_id=f"{old.number},{opened.number}", status="closed") == [
        opened.number,
        old.number,
    ]
    assert await numbers(page_size="3") == in_window[:3]
    assert await numbers(page_size="3", page="2") == in_window[3:]
    assert await numbers(page_size="3", page="3") == []

    _, _, _, headers = await api.get("requests.json", page_size="1")
    assert headers["X-Total-Count"] == "4"
    _, [item], _, _ = await api.get(f"requests/{referred.number}.json")
    assert (item["status"], item["agency_responsible"], item["service_notice"]) == (
        "closed",
        "LA County Flood Control",
        "The county will call you within two days.",
    )
    assert item["status_notes"] == "Sent to the county"
    _, [item], _, _ = await api.get(f"requests/{closed.number}.json")
    assert (item["status"], item["status_notes"]) == ("closed", "Painted over")
    _, [item], _, _ = await api.get(f"requests/{working.number}.json")
    assert (item["status"], item["status_notes"]) == ("open", "Crew scheduled")


async def test_filing_and_filtering_on_postgresql(
    postgres_url: str, make_api: Callable[..., Awaitable[Api]]
) -> None:
    # postgres_url first: set up before the server, so it is dropped only after the server
    # (its sweep and senders) has stopped.
    api = await make_api(database_url=postgres_url, auto_migrate=True)
    status, body = await api.post()
    assert status == 200
    number = body[0]["service_request_id"]
    earlier = await file_request(api, at=NOW - timedelta(days=5))
    await change(
        api, earlier.number, "referred", "Not ours", referred_to="Caltrans", next_steps="x"
    )

    async def numbers(**params: str) -> list[str]:
        status, body, text, _ = await api.get("requests.json", **params)
        assert status == 200, body
        assert_no_personal_data(text)
        return [item["service_request_id"] for item in body]

    assert await numbers() == [number, earlier.number]
    assert await numbers(status="closed", service_code="graffiti") == [earlier.number]
    assert await numbers(end_date="2026-11-20T00:00:00-08:00") == [earlier.number]
    _, [item], _, _ = await api.get(f"requests/{number}.json")
    assert (item["service_code"], item["requested_datetime"]) == (
        "missed-trash",
        "2026-11-23T18:00:00Z",
    )


async def test_no_answer_holds_more_than_a_thousand_requests(api: Api) -> None:
    async def fill(session: Any) -> None:
        session.add_all(
            ServiceRequest(
                number=f"26-{n:06d}",
                service_code="graffiti",
                department="Public Works",
                workgroup="Street Maintenance",
                status="open",
                address="100 N Garfield Ave",
                description="Tags",
                attributes={},
                source="assistant",
                requested_at=NOW - timedelta(minutes=n),
                updated_at=NOW,
                expected_at=NOW,
            )
            for n in range(1, 1002)
        )

    await api.run(fill)
    status, body, _, headers = await api.get("requests.json")
    assert status == 200 and len(body) == 1000 and headers["X-Total-Count"] == "1001"
    assert body[0]["service_request_id"] == "26-000001"
    _, rest, _, _ = await api.get("requests.json", page="2")
    assert [item["service_request_id"] for item in rest] == ["26-001001"]
    status, body, _, _ = await api.get("requests.json", page_size="1001")
    assert status == 400 and "page_size" in body[0]["description"]


# --- bad input: a clear error, in the spec's shape, and nothing stored ------------------------

NO_LOCATION = {"address_string": "", "lat": "", "long": ""}

BAD_POSTS = [
    # (case, changes to a valid form (None removes a field), status, words in the description)
    ("no service_code", {"service_code": None}, 400, "service_code"),
    ("unknown service_code", {"service_code": "flying-saucer"}, 404, "flying-saucer"),
    ("an info topic", {"service_code": "trash-schedule"}, 404, "trash-schedule"),
    ("no api_key", {"api_key": None}, 403, "api_key"),
    ("a wrong api_key", {"api_key": "not-a-key"}, 403, "api_key"),
    ("a revoked api_key", {"api_key": "REVOKED"}, 403, "api_key"),
    ("no location", NO_LOCATION, 400, "address_string"),
    ("lat without long", {"address_string": None, "lat": "34.1"}, 400, "lat"),
    ("lat not a number", {"lat": "north", "long": "-118.1"}, 400, "lat"),
    ("lat out of range", {"lat": "91", "long": "-118.1"}, 400, "lat"),
    ("lat not finite", {"lat": "nan", "long": "-118.1"}, 400, "lat"),
    ("a vague address", {"address_string": "xx"}, 400, "address_string"),
    ("a bad attribute value", {"attribute[container]": "plutonium"}, 400, "attribute[container]"),
    ("a required attribute missing", {"attribute[container]": None}, 400, "attribute[container]"),
    ("an unknown attribute", {"attribute[color]": "red"}, 400, "attribute[color]"),
    ("a standard field as attribute", {"attribute[address]": "1 Main St"}, 400, "attribute"),
    ("a malformed attribute", {"attribute[container][]": "trash"}, 400, "attribute"),
    ("a description too long", {"description": "x" * 4001}, 400, "description"),
    (
        "a description field too long",
        {"service_code": "graffiti", "attribute[container]": None, "description": "y" * 4001},
        400,
        "description",
    ),
    (
        "a description too short",
        {"service_code": "graffiti", "attribute[container]": None, "description": "Tags"},
        400,
        "description",
    ),
    ("a bad email", {"email": "not-an-email"}, 400, "email"),
    ("a bad phone", {"phone": "call me"}, 400, "phone"),
    ("a media_url that is no web address", {"media_url": "javascript:alert(1)"}, 400, "media_url"),
    (
        "an address for a service located by lat and long",
        {"service_code": "park-maintenance", "attribute[container]": None},
        400,
        "address_string",
    ),
]


@pytest.mark.parametrize(
    ("changes", "status", "words"),
    [pytest.param(c, s, w, id=case) for case, c, s, w in BAD_POSTS],
)
async def test_a_bad_request_is_refused_and_nothing_is_stored(
    api: Api, changes: dict[str, str | None], status: int, words: str
) -> None:
    form = valid_form(api.key)
    if changes.get("api_key") == "REVOKED":
        issued = await api.run(open311_clients.issue_key, "Old app", NOW)
        await api.run(open311_clients.revoke, "Old app", NOW)
        changes = {"api_key": issued.key}
    for name, value in changes.items():
        if value is None:
            form.pop(name, None)
        else:
            form[name] = value
    answered, body = await api.post(form)
    assert answered == status
    assert isinstance(body, list) and len(body) == 1 and list(body[0]) == ["code", "description"]
    assert body[0]["code"] == status and words in body[0]["description"]
    assert await api.count(ServiceRequest) == 0
    assert await api.count(OutboxMail) == 0


async def test_bodies_that_are_not_a_form_are_refused(api: Api) -> None:
    url = f"{api.base}/requests.json"
    async with api.http.post(url, json=valid_form(api.key)) as response:
        assert response.status == 400
        assert "form-encoded" in (await response.json())[0]["description"]
    doubled = [*valid_form(api.key).items(), ("api_key", api.key)]
    async with api.http.post(url, data=doubled) as response:
        assert response.status == 400
        assert "api_key is given more than once" in (await response.json())[0]["description"]
    with_file = aiohttp.FormData(valid_form(api.key))
    with_file.add_field("attachment", b"binary", filename="x.bin")
    async with api.http.post(url, data=with_file) as response:
        assert response.status == 400
        assert "attachment must be text" in (await response.json())[0]["description"]
    for content_type, raw in [
        ("multipart/form-data", b"no boundary"),
        ("multipart/form-data; boundary=b", b"--b\r\ngarbage\r\n\r\nx\r\n--b--\r\n"),
        ("application/x-www-form-urlencoded; charset=nonsense", b"api_key=x"),
        ("application/x-www-form-urlencoded", b"api_key=\xff\xfe"),
    ]:
        async with api.http.post(url, data=raw, headers={"Content-Type": content_type}) as response:
            assert response.status == 400, content_type
            assert "could not be read" in (await response.json())[0]["description"]
    huge = {**valid_form(api.key), "description": "z" * (2 * 1024**2)}
    async with api.http.post(url, data=huge) as response:
        assert response.status == 413
        assert (await response.json())[0]["code"] == 413
    async with api.http.post(f"{api.base}/requests.xml", data={"api_key": "wrong"}) as response:
        assert response.status == 403 and response.content_type == "text/xml"
        root = ET.fromstring(await response.text())
        assert root.tag == "errors" and root.findtext("error/code") == "403"
    assert await api.count(ServiceRequest) == 0
    status, _, _, _ = await api.get("services.json")
    assert status == 200  # still serving


BAD_GETS = [
    ("requests.json", {"start_date": "2026-11-01"}, 400, "start_date"),
    ("requests.json", {"start_date": "yesterday"}, 400, "start_date"),
    ("requests.json", {"end_date": "2026-11-01T10:00:00"}, 400, "end_date"),  # no offset
    ("requests.json", {"end_date": "2026-13-01T10:00:00Z"}, 400, "end_date"),
    (
        "requests.json",
        {"start_date": "2026-11-20T00:00:00Z", "end_date": "2026-11-10T00:00:00Z"},
        400,
        "before",
    ),
    (
        "requests.json",
        {"start_date": "2026-08-01T00:00:00Z", "end_date": "2026-10-30T00:00:01Z"},
        400,
        "90 days",
    ),
    ("requests.json", {"status": "pending"}, 400, "status"),
    ("requests.json", {"page": "0"}, 400, "page"),
    ("requests.json", {"page": "two"}, 400, "page"),
    ("requests.json", {"page_size": "-5"}, 400, "page_size"),
    (
        "requests.json",
        {"service_request_id": ",".join(f"26-{n}" for n in range(1, 1002))},
        400,
        "service_request_id",
    ),
    ("requests/26-999999.json", {}, 404, "26-999999"),
    ("requests/nothing.xml", {}, 404, "nothing"),
    ("requests.html", {}, 404, "format"),
    ("services/flying-saucer.json", {}, 404, "flying-saucer"),
    ("services/trash-schedule.xml", {}, 404, "trash-schedule"),
    ("services.yaml", {}, 404, "format"),
    ("services", {}, 404, "discovery"),
    ("nothing/here.json", {}, 404, "discovery"),
]


@pytest.mark.parametrize(("path", "params", "status", "words"), BAD_GETS)
async def test_a_bad_query_gets_the_spec_error(
    api: Api, path: str, params: dict[str, str], status: int, words: str
) -> None:
    answered, body, _, headers = await api.get(path, **params)
    assert answered == status
    if path.endswith(".xml"):
        assert body.tag == "errors"
        assert body.findtext("error/code") == str(status)
        assert words in (body.findtext("error/description") or "")
    else:
        assert body == [{"code": status, "description": body[0]["description"]}]
        assert words in body[0]["description"]
    assert headers["Access-Control-Allow-Origin"] == "*"


async def test_a_method_the_resource_does_not_take(api: Api) -> None:
    async with api.http.delete(f"{api.base}/requests.json") as response:
        assert response.status == 405
        assert response.headers["Allow"] == "GET, HEAD, POST"
        body = await response.json()
        assert body[0]["code"] == 405 and "DELETE" in body[0]["description"]
    async with api.http.post(f"{api.base}/requests.json", data=valid_form(api.key)) as response:
        assert "Access-Control-Allow-Origin" not in response.headers  # filing is not for pages


# --- API keys and the admin commands ----------------------------------------------------------


async def test_keys_are_stored_hashed_and_refused_once_revoked(database_url: str) -> None:
    async with opened_database(database_url) as db:
        issued = await db.run(open311_clients.issue_key, "  City   app ", NOW)
        assert issued.client.name == "City app" and len(issued.key) >= 40
        found = await db.run(open311_clients.authenticate, issued.key)
        assert found is not None and found.id == issued.client.id
        for wrong in ("", "x" * 5000, issued.key[:-1], issued.key.upper()):
            assert await db.run(open311_clients.authenticate, wrong) is None
        with pytest.raises(open311_clients.Open311ClientError):
            await db.run(open311_clients.issue_key, "City app", NOW)
        for bad_name in ("", "   ", "a\x00b", "n" * 101):
            with pytest.raises(open311_clients.Open311ClientError):
                await db.run(open311_clients.issue_key, bad_name, NOW)
        revoked = await db.run(open311_clients.revoke, "City app", NOW)
        assert revoked.revoked and await db.run(open311_clients.authenticate, issued.key) is None
        again = await db.run(open311_clients.revoke, "City app", NOW + timedelta(days=1))
        assert again.revoked_at == NOW  # the first date stays
        with pytest.raises(NotFound):
            await db.run(open311_clients.revoke, "Nobody", NOW)
        [listed] = await db.run(open311_clients.list_clients)
        assert listed.name == "City app" and listed.revoked

        async def stored_hashes(session: Any) -> list[str]:
            return list(await session.scalars(select(Open311Client.key_hash)))

        assert await db.run(stored_hashes) == [hash_token(issued.key)]  # never the key


async def test_admin_commands_issue_list_and_revoke_keys(api: Api) -> None:
    env = {"DATABASE_URL": api.server.settings.database_url}

    async def chatsvc(*args: str) -> Any:
        return await asyncio.to_thread(run_chatsvc, "open311", *args, env=env)

    added = await chatsvc("add", "PasadenaCSC app")
    assert added.returncode == 0, added.stderr
    match = re.search(r"^api_key: (\S{40,})$", added.stdout, re.M)
    assert match is not None
    key = match.group(1)
    status, body = await api.post(valid_form(key))
    assert status == 200, body

    revoked = await chatsvc("revoke", "PasadenaCSC app")
    assert revoked.returncode == 0 and "revoked PasadenaCSC app" in revoked.stdout
    status, body = await api.post(valid_form(key))
    assert status == 403
    listed = await chatsvc("list")
    assert re.search(r"^PasadenaCSC app\s+revoked 2\d{3}-", listed.stdout, re.M)
    assert re.search(r"^Test app\s+active", listed.stdout, re.M)
    assert key not in listed.stdout  # shown once, when issued, never again
    unknown = await chatsvc("revoke", "Nobody")
    assert unknown.returncode == 1 and "no client named" in unknown.stderr


async def test_requests_of_topics_that_are_not_public_are_nobody_elses_business(
    api: Api,
) -> None:
    """A neighbour's code-enforcement complaint or a resident's high bill is no map pin."""
    public = await file_request(api)
    complaint = await file_request(
        api,
        "code-enforcement",
        address="12 Orange Grove Blvd",
        description="My neighbour converted the garage without a permit",
    )
    bill = await file_request(api, "high-bill", account="1234567", description="Bill doubled")
    status, listed, text, headers = await api.get("requests.json")
    assert status == 200 and [item["service_request_id"] for item in listed] == [public.number]
    assert headers["X-Total-Count"] == "1"
    assert "Orange Grove" not in text and "neighbour" not in text
    numbers = ",".join([public.number, complaint.number, bill.number])
    status, listed, _, _ = await api.get("requests.json", service_request_id=numbers)
    assert [item["service_request_id"] for item in listed] == [public.number]
    status, _, _, _ = await api.get("requests.json", service_code="code-enforcement")
    for number in (complaint.number, bill.number):
        status, body, text, _ = await api.get(f"requests/{number}.json")
        assert status == 404 and "Orange Grove" not in text, body  # as if it did not exist
    status, _, _, _ = await api.get(f"requests/{public.number}.json")
    assert status == 200


async def test_one_api_key_files_at_most_its_share_then_gets_429(
    make_api: Callable[..., Awaitable[Api]],
) -> None:
    """100 filings in a second were all accepted: now a burst of the per-minute share."""
    api = await make_api(open311_filings_per_minute=5)
    answers = await asyncio.gather(*(api.post() for _ in range(12)))
    assert sorted(status for status, _ in answers) == [200] * 5 + [429] * 7
    status, body = next(answer for answer in answers if answer[0] == 429)
    assert body == [{"code": 429, "description": body[0]["description"]}]
    assert "api_key" in body[0]["description"]
    assert await api.count(ServiceRequest) == 5
    async with api.http.post(f"{api.base}/requests.json", data=valid_form(api.key)) as response:
        assert response.status == 429 and int(response.headers["Retry-After"]) >= 1
    # Another app's key has its own share.
    other = await api.run(open311_clients.issue_key, "Other app", NOW)
    status, _ = await api.post(valid_form(other.key))
    assert status == 200


async def test_line_breaks_in_a_name_are_folded(api: Api) -> None:
    status, body = await api.post(first_name="Ana\r\nCity of Pasadena Billing", last_name="R\nuiz")
    assert status == 200, body
    [request] = await api.run(lambda session: session.scalars(select(ServiceRequest)))
    assert request.contact_name == "Ana City of Pasadena Billing R uiz"
