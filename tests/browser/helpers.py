"""Browser fixtures shared by the widget and agent pane tests: Debian's Chromium via Playwright.

Imported by conftest.py, so every test module can ask for `browser`, `new_context`, `context`,
`page` and `page_errors`; `axe_violations` runs axe-core on a page.
"""

from __future__ import annotations

import asyncio
import os
import re
from asyncio import Runner
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import pytest_asyncio
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
    Playwright,
    async_playwright,
)

if TYPE_CHECKING:
    from tests.conftest import LiveServer

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
AXE = ROOT / "widget" / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 10_000


class Chromium:
    """One Chromium per test process (xdist worker), relaunched if it went away.

    Launching it (and Playwright's driver) cost about a second a test; a test gets a fresh
    context of its own (cookies, storage, pages), which is all the isolation the tests need.
    """

    def __init__(self) -> None:
        self.playwright: Playwright | None = None
        self.browser: Browser | None = None

    async def get(self) -> Browser:
        if self.browser is None or not self.browser.is_connected():
            if self.playwright is None:
                self.playwright = await async_playwright().start()
            self.browser = await self.playwright.chromium.launch(
                executable_path=CHROMIUM, args=CHROMIUM_ARGS
            )
        return self.browser

    async def close(self) -> None:
        if self.browser is not None:
            await self.browser.close()
        if self.playwright is not None:
            await self.playwright.stop()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def chromium() -> AsyncIterator[Chromium]:
    shared = Chromium()
    try:
        yield shared
    finally:
        await shared.close()


@pytest.fixture
def _function_scoped_runner(_session_scoped_runner: Runner) -> Runner:
    """The browser tier's tests and their fixtures run on the worker's one loop, Chromium's.

    Playwright's objects belong to the loop that started it, so a browser shared by tests needs
    a loop shared by them. pytest-asyncio picks each async fixture's loop by requesting this
    fixture (its own name for a test's loop): overriding it here, for tests/browser only, puts
    the live server, the clients and the test on the session's loop. Whatever a test leaves
    running is cancelled at its end by `cancel_leftover_tasks`, as closing its own loop did.
    """
    return _session_scoped_runner


@pytest.fixture(autouse=True)
async def cancel_leftover_tasks() -> AsyncIterator[None]:
    """After a browser test (set up first, so torn down last): cancel the tasks it left."""
    before = asyncio.all_tasks()
    yield
    this = asyncio.current_task()
    left = [
        task for task in asyncio.all_tasks() - before if task is not this and not playwrights(task)
    ]
    for task in left:
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)


def playwrights(task: asyncio.Task[Any]) -> bool:
    """Whether the task is Playwright's own (its connection's), which outlives the test."""
    code = getattr(task.get_coro(), "cr_code", None)
    return code is not None and f"{os.sep}playwright{os.sep}" in code.co_filename


@pytest.fixture
async def browser(chromium: Chromium) -> Browser:
    return await chromium.get()


@dataclass
class PageErrors:
    """Console errors and uncaught exceptions of the pages a test opened."""

    seen: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        self.allowed.append(re.compile(pattern))

    def watch(self, page: Page) -> None:
        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error":
                self.seen.append(f"console: {message.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda error: self.seen.append(f"pageerror: {error}"))

    def unexpected(self) -> list[str]:
        return [e for e in self.seen if not any(p.search(e) for p in self.allowed)]


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
async def new_context(
    browser: Browser, page_errors: PageErrors, live_server: LiveServer
) -> AsyncIterator[Callable[..., Awaitable[BrowserContext]]]:
    """Factory: a fresh browser context (its own cookies and storage), watched for page errors.

    Depends on live_server so the server outlives the pages talking to it. Keyword arguments
    go to Playwright's new_context (viewport, reduced_motion…).
    """
    contexts: list[BrowserContext] = []

    async def make(**options: Any) -> BrowserContext:
        settings: dict[str, Any] = {"locale": "en-US", "timezone_id": "America/Los_Angeles"}
        settings.update(options)
        context = await browser.new_context(**settings)
        context.set_default_timeout(WAIT_MS)
        context.on("page", page_errors.watch)
        contexts.append(context)
        return context

    try:
        yield make
    finally:
        for context in contexts:
            await context.close()
    unexpected = page_errors.unexpected()
    assert not unexpected, f"the page logged errors: {unexpected}"


@pytest.fixture
async def context(new_context: Callable[..., Awaitable[BrowserContext]]) -> BrowserContext:
    return await new_context()


@pytest.fixture
async def page(context: BrowserContext, live_server: LiveServer) -> Page:
    """A tab on the demo city page (where the widget is)."""
    page = await context.new_page()
    await page.goto(live_server.url + "/")
    return page


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """Run axe-core on the whole document (shadow roots included) for WCAG 2.1 A and AA."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated by the browser's DevTools protocol, not as a page script: staff pages'
        # Content-Security-Policy (no inline scripts) does not block it.
        await page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    violations: list[dict[str, Any]] = await page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${n.failureSummary}`),
            }));
        }""",
        WCAG_TAGS,
    )
    return violations
