"""Errors: one list of codes, each with its HTTP status, and the field to blame."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import chatsvc
from chatsvc.actions.service_requests import InvalidRequest
from chatsvc.errors import STATUS, ChatError, ErrorCode, InvalidPayload
from chatsvc.transport.payloads import RequestCreatePayload, StartPayload, parse_payload

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path(chatsvc.__file__).parent

# --- one list of codes -------------------------------------------------------------------------


def test_every_code_has_its_http_status() -> None:
    assert set(STATUS) == set(ErrorCode)
    assert all(400 <= status <= 599 for status in STATUS.values())


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
    text = (ROOT / "docs" / "protocol.md").read_text()
    section = text.split("\n## Error codes\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([a-z0-9_]+)` \| (\d{3}) \|", section, re.MULTILINE)
    return {code: int(status) for code, status in rows}


def test_the_protocol_documents_every_code_and_only_those() -> None:
    documented = _documented_codes()
    assert documented == {str(code): code.status for code in ErrorCode}
    assert "`field`" in (ROOT / "docs" / "protocol.md").read_text()


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
