"""The webhook sender: POSTs request events to departments' systems, signed, with retries.

The loop, the claims and the retries are the outbox sender's (`chatsvc.transport.outbox`); this
module says how an event goes out. Each is POSTed as stored, with headers naming the delivery
(the same on every retry, so receivers can dedupe), the event and the time, and a signature:
`sha256=` and the hex HMAC-SHA256 of "{timestamp}.{body}" with the workgroup's secret. A 2xx
answer delivers it; anything else (another status, a redirect, a timeout, a refused
connection) is a failed attempt, retried with the outbox's backoff, forever.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Collection, Mapping, Sequence

import aiohttp
from aiohttp import web

from chatsvc.clock import Clock
from chatsvc.db.database import Database
from chatsvc.outbox.webhooks import (
    WEBHOOK_OUTBOX,
    DueWebhook,
    Webhook,
    due_webhooks,
    load_webhooks,
    signature,
    unsent_elsewhere,
)
from chatsvc.settings import Settings
from chatsvc.workers.sender import BATCH_SIZE, POLL_SECONDS, OutboxSender

log = logging.getLogger("chatsvc.webhooks")

TIMEOUT_SECONDS = 10.0  # for one POST, from connecting to the end of the answer
USER_AGENT = "chatsvc"


class NotAccepted(Exception):
    """The receiver answered, but not with a 2xx status."""


POST_ERRORS = (NotAccepted, aiohttp.ClientError, TimeoutError, OSError)


class WebhookSender(OutboxSender[DueWebhook]):
    """Sends due request events to the workgroups' webhooks, for one server process."""

    noun = "webhook"

    def __init__(
        self,
        database: Database,
        settings: Settings,
        clock: Clock,
        *,
        poll_seconds: float = POLL_SECONDS,
        batch_size: int = BATCH_SIZE,
        timeout_seconds: float = TIMEOUT_SECONDS,
    ):
        super().__init__(
            database, clock, WEBHOOK_OUTBOX, log, poll_seconds=poll_seconds, batch_size=batch_size
        )
        self.settings = settings
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self.webhooks: Mapping[str, Webhook] = {}
        self._warned: set[str] = set()  # workgroups whose waiting events were logged

    def configure(
        self, catalogue_workgroups: Collection[str], environ: Mapping[str, str] = os.environ
    ) -> None:
        """Read the webhooks file, checking it against the topic catalogue's workgroups.

        Raises WebhooksError naming the file and line of every problem.
        """
        path = self.settings.webhooks_file
        if path is None:
            self.webhooks = {}
            return
        self.webhooks = load_webhooks(path, workgroups=catalogue_workgroups, environ=environ)

    @property
    def workgroups(self) -> frozenset[str]:
        """The workgroups that have a webhook (their requests' events are queued)."""
        return frozenset(self.webhooks)

    def describe(self) -> str:
        """Say which workgroups have a webhook (never where it is or its secret)."""
        if not self.webhooks:
            return "none configured; workgroups take requests from their queue in the requests page"
        return "sending events for " + ", ".join(sorted(self.webhooks))

    def label(self, item: DueWebhook) -> str:
        """Name an event by what it is and whose it is."""
        return f"{item.event} for {item.workgroup}"

    async def send_due(self) -> int:
        """Send every event that is due now; say once of each workgroup whose events wait."""
        await self._warn_of_waiting()
        return await super().send_due()

    async def claim(self, limit: int) -> Sequence[DueWebhook]:
        """Claim due events of the workgroups that have a webhook."""
        if not self.webhooks:
            return []
        return await self.database.run(
            due_webhooks, now=self.clock(), limit=limit, workgroups=self.workgroups
        )

    async def send_batch(self, batch: Sequence[DueWebhook], deadline: float) -> tuple[int, bool]:
        """POST each event of a batch, over one pool of connections."""
        async with aiohttp.ClientSession(timeout=self.timeout) as http:
            post = functools.partial(self._post, http)
            return await self.send_each(batch, deadline, post, POST_ERRORS)

    async def _post(self, http: aiohttp.ClientSession, delivery: DueWebhook) -> None:
        hook = self.webhooks[delivery.workgroup]  # claimed only for configured workgroups
        timestamp = int(self.clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Chatsvc-Delivery": delivery.delivery_id,
            "X-Chatsvc-Event": delivery.event,
            "X-Chatsvc-Timestamp": str(timestamp),
            "X-Chatsvc-Signature": signature(hook.secret, timestamp, delivery.body),
        }
        # The body goes as stored, byte for byte, since the signature covers it; a redirect is
        # not followed (a POST that turns into a GET elsewhere would deliver nothing).
        async with http.post(
            hook.url, data=delivery.body.encode(), headers=headers, allow_redirects=False
        ) as response:
            if not 200 <= response.status < 300:
                raise NotAccepted(f"HTTP {response.status} {response.reason or ''}".strip())

    async def _warn_of_waiting(self) -> None:
        # Events of a workgroup whose webhook left the file stay in the outbox, unsent, until
        # it comes back: say so once a process, rather than drop them or fail each pass.
        waiting = await self.database.run(unsent_elsewhere, self.workgroups)
        for workgroup, count in sorted(waiting.items()):
            if workgroup not in self._warned:
                self._warned.add(workgroup)
                log.warning(
                    "webhook: %d events for %s wait unsent: the webhooks file has no webhook "
                    "for that workgroup",
                    count,
                    workgroup,
                )


WEBHOOK_SENDER = web.AppKey("webhook_sender", WebhookSender)
