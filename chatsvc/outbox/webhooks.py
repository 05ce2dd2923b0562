"""The webhook outbox: request events for a department's system, queued with the change.

An event is written in the transaction that made the change, and POSTed later by the sender
(`chatsvc.transport.webhooks`), signed with the workgroup's secret, with the retries of every
outbox (`chatsvc.outbox`): at least once, so receivers dedupe on the delivery id.

Which workgroups have a webhook, where it is and its secret come from the webhooks file
(`CHATSVC_WEBHOOKS_FILE`, see webhooks.example.toml), read and checked once at start.
"""

from __future__ import annotations

import difflib
import hashlib
import hmac
import json
import re
import tomllib
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from chatsvc import notices
from chatsvc.db.models import OutboxWebhook
from chatsvc.outbox.base import LEASE, Outbox

WEBHOOK_OUTBOX = Outbox(OutboxWebhook)
MIN_SECRET = 16
_KEYS = ("workgroup", "url", "secret", "secret_env")


@dataclass(frozen=True)
class Webhook:
    """Where a workgroup's events go, and the secret they are signed with."""

    workgroup: str
    url: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class DueWebhook:
    """A claimed event, as the sender needs it."""

    id: int
    delivery_id: str
    workgroup: str
    event: str
    body: str  # the JSON document, sent and signed exactly as stored

    @classmethod
    def of(cls, row: OutboxWebhook) -> DueWebhook:
        return cls(row.id, row.delivery_id, row.workgroup, row.event, row.body)


class WebhooksError(ValueError):
    """The webhooks file cannot be used; `problems` lists each as `file:line: message`."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


async def queue_webhook(
    session: AsyncSession, *, workgroup: str, event: str, payload: dict[str, Any], now: datetime
) -> str:
    """Add an event for `workgroup`'s webhook to the outbox; return its delivery id."""
    delivery_id = uuid.uuid4().hex
    body = {"delivery_id": delivery_id, "event": event, "sent_for": workgroup, **payload}
    session.add(
        OutboxWebhook(
            delivery_id=delivery_id,
            workgroup=workgroup,
            event=event,
            body=json.dumps(body, separators=(",", ":"), sort_keys=True),
            created_at=now,
            next_attempt_at=now,
            attempts=0,
        )
    )
    await session.flush()
    notices.record(session, notices.WebhookQueued())  # the sender wakes once this commits
    return delivery_id


async def due_webhooks(
    session: AsyncSession,
    *,
    now: datetime,
    limit: int,
    workgroups: Collection[str],
    lease: timedelta = LEASE,
) -> list[DueWebhook]:
    """Claim due events of `workgroups` (those with a webhook); others' events wait, unsent."""
    rows = await WEBHOOK_OUTBOX.claim(
        session,
        now=now,
        limit=limit,
        lease=lease,
        where=[OutboxWebhook.workgroup.in_(list(workgroups))],
    )
    return [DueWebhook.of(row) for row in rows]


async def unsent_elsewhere(session: AsyncSession, workgroups: Collection[str]) -> dict[str, int]:
    """Count unsent events by workgroup, for the workgroups not in `workgroups`."""
    counted = await session.execute(
        select(OutboxWebhook.workgroup, func.count(OutboxWebhook.id))
        .where(OutboxWebhook.sent_at.is_(None), OutboxWebhook.workgroup.not_in(list(workgroups)))
        .group_by(OutboxWebhook.workgroup)
    )
    return {workgroup: count for workgroup, count in counted}


def signature(secret: str, timestamp: int, body: str) -> str:
    """Sign an event: sha256= and the hex HMAC-SHA256 of "{timestamp}.{body}" with the secret."""
    signed = f"{timestamp}.{body}".encode()
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


# ----------------------------------------------------------------------------- webhooks file


def load_webhooks(
    path: Path, *, workgroups: Collection[str], environ: Mapping[str, str]
) -> dict[str, Webhook]:
    """Read and check the webhooks file; raise WebhooksError listing every problem.

    `workgroups` are the topic catalogue's; `environ` is where `secret_env` names are looked up.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc.strerror
        raise WebhooksError([f"{path}:1: cannot read the webhooks file: {reason}"]) from None
    places = _Places(text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        line = match.group(1) if match else 1
        raise WebhooksError([f"{path}:{line}: broken TOML: {exc}"]) from None
    problems: list[str] = []
    for key in data:
        if key != "webhook":
            line = places.key_line(-1, key)
            problems.append(
                f"{path}:{line}: unknown entry {key!r}; the file holds [[webhook]] tables"
            )
    tables = data.get("webhook", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        problems.append(
            f"{path}:{places.key_line(-1, 'webhook')}: write each webhook as [[webhook]]"
        )
        tables = []
    found: dict[str, tuple[Webhook, int]] = {}
    for index, table in enumerate(tables):
        checked = _Table(path, places, index, table, problems)
        hook = checked.webhook(workgroups, environ)
        if hook is None:
            continue
        first = found.get(hook.workgroup)
        if first is not None:
            checked.problem(
                "workgroup",
                f"a second webhook for {hook.workgroup!r} (the first is on line {first[1]}); "
                "one webhook per workgroup",
            )
        else:
            found[hook.workgroup] = (hook, places.header_line(index))
    if problems:
        raise WebhooksError(problems)
    return {workgroup: hook for workgroup, (hook, _) in found.items()}


_HEADER = re.compile(r"^\s*\[\[\s*webhook\s*\]\]")
_OTHER_HEADER = re.compile(r"^\s*\[")
_KEY = re.compile(r"^\s*[\"']?([A-Za-z0-9_-]+)[\"']?\s*=")


class _Places:
    """Where each [[webhook]] table starts and where each of its keys is, by line number."""

    def __init__(self, text: str):
        self.headers: list[int] = []
        self.keys: dict[tuple[int, str], int] = {}
        table: int | None = -1  # -1: the top of the file; None: some other table
        for number, line in enumerate(text.splitlines(), 1):
            if _HEADER.match(line):
                self.headers.append(number)
                table = len(self.headers) - 1
            elif _OTHER_HEADER.match(line):
                table = None
                self.keys.setdefault((-1, line.strip(" []")), number)
            elif table is not None and (match := _KEY.match(line)):
                self.keys.setdefault((table, match.group(1)), number)

    def header_line(self, table: int) -> int:
        return self.headers[table] if table < len(self.headers) else 1

    def key_line(self, table: int, key: str) -> int:
        """Return the line of `key` in a table (-1: the top level), else the table's header."""
        found = self.keys.get((table, key))
        if found is not None:
            return found
        return self.header_line(table) if table >= 0 else 1


@dataclass
class _Table:
    """One [[webhook]] table, checked key by key; problems name the file and line."""

    path: Path
    places: _Places
    index: int
    values: dict[str, Any]
    problems: list[str]

    def problem(self, key: str, message: str) -> None:
        self.problems.append(f"{self.path}:{self.places.key_line(self.index, key)}: {message}")

    def webhook(self, workgroups: Collection[str], environ: Mapping[str, str]) -> Webhook | None:
        for key in self.values:
            if key not in _KEYS:
                self.problem(
                    key, f"[[webhook]] has unknown key {key!r} (known: {', '.join(_KEYS)})"
                )
        workgroup, url, secret = self._workgroup(workgroups), self._url(), self._secret(environ)
        if workgroup is None or url is None or secret is None:
            return None
        return Webhook(workgroup, url, secret)

    def _workgroup(self, workgroups: Collection[str]) -> str | None:
        value = self.values.get("workgroup")
        if not isinstance(value, str) or not value.strip():
            self.problem("workgroup", '[[webhook]] needs a workgroup, like "Street Maintenance"')
            return None
        if value in workgroups:
            return value
        close = difflib.get_close_matches(value, list(workgroups), n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else " (see knowledge_base/topics.toml)"
        self.problem("workgroup", f"{value!r} is not a workgroup of the topic catalogue{hint}")
        return None

    def _url(self) -> str | None:
        value = self.values.get("url")
        parts = urlsplit(value) if isinstance(value, str) else None
        if (
            parts is None
            or parts.scheme not in ("http", "https")
            or not parts.hostname
            or any(ch.isspace() for ch in str(value))
        ):
            self.problem("url", f"url must be an http:// or https:// address, not {value!r}")
            return None
        return str(value)

    def _secret(self, environ: Mapping[str, str]) -> str | None:
        secret, name = self.values.get("secret"), self.values.get("secret_env")
        if (secret is None) == (name is None):
            self.problem(
                "secret",
                "[[webhook]] needs a secret, or secret_env naming an environment variable that "
                "holds it (one of the two)",
            )
            return None
        where = "secret"
        if name is not None:
            if not isinstance(name, str) or not name.strip():
                self.problem("secret_env", "secret_env must name an environment variable")
                return None
            secret, where = environ.get(name), f"the environment variable {name}"
            if not secret:
                self.problem("secret_env", f"secret_env names {name}, which is not set")
                return None
        if not isinstance(secret, str) or len(secret) < MIN_SECRET:
            # Never the secret itself: logs and terminals are not the place for it.
            self.problem(
                "secret_env" if name is not None else "secret",
                f"{where} must be at least {MIN_SECRET} characters of text",
            )
            return None
        return secret
