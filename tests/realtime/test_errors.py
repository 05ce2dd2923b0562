"""Errors: one list of codes, one renderer, the same answer on every transport."""

from __future__ import annotations

import ast
import importlib
import logging
import pkgutil
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

import chatsvc
from chatsvc.actions import accounts
from chatsvc.actions.service_requests.checks import InvalidRequest
from chatsvc.errors import STATUS, ChatError, ErrorCode, InvalidPayload, NotFound
from chatsvc.settings import Settings
from chatsvc.transport.errors import HTTP_CODES, render_error
from chatsvc.transport.payloads import RequestCreatePayload, StartPayload, parse_payload
from chatsvc.transport.state import CLOCK, DATABASE
from tests.conftest import LiveServer, LogErrors, ResidentClient
from tests.realtime.test_staff import PASSWORD, post_sign_in, sign_in_form
from tests.scale.test_scale_out import PostgresProxy

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = Path(chatsvc.__file__).parent

# --- one list of codes -------------------------------------------------------------------------


def test_every_code_has_its_http_status() -> None:
    assert set(STATUS) == set(ErrorCode)
    assert all(400 <= status <= 599 for status in STATUS.values())
    for status, code in HTTP_CODES.items():
        assert code.status == status, code


def _code_literals() -> Iterator[tuple[str, int, str]]:
    """Every `code="..."` argument and `code = "..."` class attribute in the service's code."""
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            values: list[ast.expr] = []
            if isinstance(node, ast.Call):
                values = [k.value for k in node.keywords if k.arg == "code"]
            elif isinstance(node, ast.ClassDef):
                values = [
                    statement.value
                    for statement in node.body
                    if isinstance(statement, ast.Assign)
                    and [getattr(t, "id", None) for t in statement.targets] == ["code"]
                ]
            for value in values:
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    yield str(path.relative_to(ROOT)), value.lineno, value.value


def test_every_code_written_in_the_code_is_in_the_list() -> None:
    found = list(_code_literals())
    assert any(code == "missing_field" for _, _, code in found)  # the walk finds them
    known = {code.value for code in ErrorCode}
    unknown = [f"{path}:{line}: {code}" for path, line, code in found if code not in known]
    assert not unknown, f"codes missing from ErrorCode: {unknown}"


def _error_classes() -> Iterator[type[ChatError]]:
    for module in pkgutil.walk_packages([str(PACKAGE)], "chatsvc."):
        if module.name != "chatsvc.__main__":
            importlib.import_module(module.name)
    todo = [ChatError]
    while todo:
        cls = todo.pop()
        yield cls
        todo.extend(cls.__subclasses__())


def test_every_error_class_takes_its_code_and_status_from_the_list() -> None:
    classes = [cls for cls in _error_classes() if cls.__module__.startswith("chatsvc.")]
    assert len(classes) > 20
    for cls in classes:
        assert isinstance(cls.code, ErrorCode), cls
        assert cls.status == cls.code.status, cls


def test_a_code_not_in_the_list_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        ChatError("Something.", code="no_such_code")
    with pytest.raises(ValueError):
        type("Misnamed", (ChatError,), {"code": "no_such_code"})
    with pytest.raises(TypeError, match="STATUS"):
        type("Misjudged", (ChatError,), {"code": "not_found", "status": 400})
    # A code given as a string is the enum's member, with the member's status.
    error = InvalidRequest("Address is required.", field="address", code="missing_field")
    assert (error.code, error.status, error.field) == (ErrorCode.MISSING_FIELD, 400, "address")


def _documented_codes() -> dict[str, int]:
    text = (ROOT / "docs" / "protocol" / "README.md").read_text()
    section = text.split("\n## Error codes\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z0-9_]+)` \| (\d{3}) \|", section, re.MULTILINE)
    return {code: int(status) for code, status in rows}


def test_the_protocol_documents_every_code_and_only_those() -> None:
    documented = _documented_codes()
    assert documented == {str(code): code.status for code in ErrorCode}
    assert "`field`" in (ROOT / "docs" / "protocol" / "README.md").read_text()


# --- one renderer ------------------------------------------------------------------------------


def test_a_client_error_renders_its_code_status_and_field(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log = logging.getLogger("chatsvc.test")
    with caplog.at_level(logging.INFO):
        status, body = render_error(
            InvalidRequest("Address is required.", field="address", code="missing_field"),
            log=log,
            where="/agent request_create",
        )
        assert (status, body) == (
            400,
            {
                "ok": False,
                "error": {
                    "code": "missing_field",
                    "message": "Address is required.",
                    "field": "address",
                },
            },
        )
        assert render_error(NotFound("No such request."))[1]["error"] == {
            "code": "not_found",
            "message": "No such request.",
        }
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (logging.INFO, "/agent request_create refused: missing_field")
    ]


def test_aiohttp_refusals_render_with_a_code_from_the_list() -> None:
    allowed = web.HTTPMethodNotAllowed("DELETE", ["GET"])
    assert render_error(allowed) == (
        405,
        {"ok": False, "error": {"code": "method_not_allowed", "message": "Method Not Allowed"}},
    )
    assert render_error(web.HTTPForbidden(reason="CSRF token missing or wrong"))[1]["error"] == {
        "code": "forbidden",
        "message": "CSRF token missing or wrong",
    }
    assert render_error(web.HTTPTooManyRequests())[0] == 429  # no code of its own: bad_request
    assert render_error(web.HTTPTooManyRequests())[1]["error"]["code"] == "bad_request"


def test_an_outage_is_unavailable_and_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    outage = OperationalError("SELECT 1", {}, ConnectionRefusedError(111, "refused"))
    with caplog.at_level(logging.INFO):
        status, body = render_error(outage, log=logging.getLogger("chatsvc.test"), where="x y")
    assert (status, body["error"]["code"]) == (503, "unavailable")
    [record] = caplog.records
    assert record.levelno == logging.WARNING and "x y: database unavailable" in record.message


def test_a_bug_is_internal_error_and_its_traceback_logged_once(
    caplog: pytest.LogCaptureFixture, log_errors: LogErrors
) -> None:
    log_errors.allow(r"x y failed")
    try:
        raise KeyError("conversation")
    except KeyError as exc:
        with caplog.at_level(logging.INFO):
            status, body = render_error(exc, log=logging.getLogger("chatsvc.test"), where="x y")
    assert (status, body) == (
        500,
        {
            "ok": False,
            "error": {"code": "internal_error", "message": "Something went wrong on our side."},
        },
    )
    [record] = caplog.records
    assert record.levelno == logging.ERROR and record.exc_info and record.message == "x y failed"


# --- payload errors name their field -----------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "data", "field", "message"),
    [
        (
            StartPayload,
            {"name": "Ana", "email": "ana", "question": "Hours?"},
            "email",
            "email: enter an email address like name@example.com",
        ),
        (StartPayload, {"name": "Ana", "question": "Hours?"}, "email", None),
        (
            RequestCreatePayload,
            {"conversation_id": 1, "service_code": "graffiti", "values": {"address": 100}},
            "values.address",
            "values.address: must be text",
        ),
        (StartPayload, ["not", "an", "object"], None, "the payload must be a JSON object"),
    ],
)
def test_a_bad_payload_names_its_field(
    model: type[StartPayload], data: object, field: str | None, message: str | None
) -> None:
    with pytest.raises(InvalidPayload) as refused:
        parse_payload(model, data)
    assert refused.value.field == field
    assert refused.value.message == (message or f"{field}: this field is required")
    assert refused.value.as_dict()["error"].get("field") == field


# --- a database outage, as the real server meets it --------------------------------------------


@dataclass
class Outage:
    """A live server whose database the test can make unreachable."""

    server: LiveServer
    cut: Callable[[], Awaitable[None]]


@pytest.fixture
async def outage(
    make_settings: Callable[..., Settings],
    start_server: Callable[..., Awaitable[LiveServer]],
    database_url: str,
) -> AsyncIterator[Outage]:
    """The real server on the database under test; `cut()` takes that database away.

    SQLite: the pool's connection is closed and a folder stands where the file was, so a new
    connection cannot open it. PostgreSQL: the server is reached through a proxy that is cut.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        server = await start_server(make_settings())

        async def cut() -> None:
            assert url.database
            await server.app[DATABASE].engine.dispose()
            _put_a_folder_in_place_of(Path(url.database))

        yield Outage(server, cut)
        return
    proxy = PostgresProxy(url.port or 5432)
    await proxy.open()
    through_proxy = re.sub(r"@[^/]+/", f"@127.0.0.1:{proxy.port}/", database_url)
    server = await start_server(make_settings(database_url=through_proxy))
    yield Outage(server, proxy.cut)
    await proxy.cut()


def _put_a_folder_in_place_of(path: Path) -> None:
    path.rename(path.with_name(path.name + ".away"))
    path.mkdir()


async def test_sign_in_during_a_database_outage_is_unavailable_not_a_bug(
    outage: Outage, caplog: pytest.LogCaptureFixture
) -> None:
    server = outage.server
    await server.app[DATABASE].run(
        accounts.add_staff,
        username="maria",
        display_name="Maria Lopez",
        role="agent",
        password=PASSWORD,
        workgroups=(),
        max_chats=3,
        now=server.app[CLOCK](),
    )
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        csrf = await sign_in_form(http, server)
        await outage.cut()
        with caplog.at_level(logging.WARNING):
            response = await post_sign_in(http, server, PASSWORD, csrf)
            async with response:
                page = await response.text()
    # The form again, saying so: not a server error page.
    assert response.status == 503, page
    assert 'name="csrf_token"' in page and "briefly unavailable" in page
    assert _one_warning(caplog, "POST /agent/sign-in: database unavailable")


async def test_a_photo_upload_during_a_database_outage_is_unavailable_not_a_bug(
    outage: Outage,
    resident_client: Callable[..., Awaitable[ResidentClient]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = outage.server
    resident = await resident_client(server.url)
    await resident.start(question="There is graffiti on the wall of my building")
    await outage.cut()
    headers = {"X-Chat-Token": resident.token or "", "Origin": server.url}
    with caplog.at_level(logging.WARNING):
        async with (
            aiohttp.ClientSession() as http,
            http.post(server.url + "/resident/photos", data=b"\xff\xd8\xff", headers=headers) as r,
        ):
            assert r.status == 503
            body = await r.json()
            # The page on another origin still reads the answer.
            assert r.headers.get("Access-Control-Allow-Origin") == server.url
    assert body["error"]["code"] == "unavailable", body
    assert _one_warning(caplog, "POST /resident/photos: database unavailable")


def _one_warning(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    found = [r for r in caplog.records if text in r.getMessage()]
    return len(found) == 1 and found[0].levelno == logging.WARNING and not found[0].exc_info
