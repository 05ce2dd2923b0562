"""The real widget and agent pane in Chromium (Playwright, Debian's /usr/bin/chromium)."""
