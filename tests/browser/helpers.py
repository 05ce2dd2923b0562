"""Browser fixtures shared by the widget and agent pane tests: Debian's Chromium via Playwright.

Imported by conftest.py, so every test module can ask for `browser`, `new_context`, `context`,
`page` and `page_errors`; `axe_violations` runs axe-core on a page.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Page,
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


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


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
