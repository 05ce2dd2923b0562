"""The browser fixtures (Chromium via Playwright), for the widget and agent pane tests."""

from tests.browser.helpers import (
    _function_scoped_runner,
    browser,
    cancel_leftover_tasks,
    chromium,
    context,
    new_context,
    page,
    page_errors,
)

__all__ = [
    "_function_scoped_runner",
    "browser",
    "cancel_leftover_tasks",
    "chromium",
    "context",
    "new_context",
    "page",
    "page_errors",
]
