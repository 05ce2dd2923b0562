"""The browser fixtures (Chromium via Playwright), for the widget and agent pane tests."""

from tests.browser.helpers import browser, context, new_context, page, page_errors

__all__ = ["browser", "context", "new_context", "page", "page_errors"]
