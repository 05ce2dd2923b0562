"""Typed keys for what the app holds."""

from __future__ import annotations

from collections.abc import Callable

import socketio
from aiohttp import web

from chatsvc.actions.service_requests.views import RequestPolicy
from chatsvc.bot.runtime import Assistant
from chatsvc.clock import Clock
from chatsvc.db.database import Database
from chatsvc.hours import BusinessCalendar
from chatsvc.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
ASSISTANT = web.AppKey("assistant", Assistant)
DATABASE = web.AppKey("database", Database)
SIO = web.AppKey("sio", socketio.AsyncServer)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
# The center's hours and holidays (CHATSVC_BUSINESS_HOURS and friends).
CALENDAR = web.AppKey("calendar", BusinessCalendar)
# What filing and changing service requests needs, with the knowledge base as it is now.
REQUEST_POLICY: web.AppKey[Callable[[], RequestPolicy]] = web.AppKey("request_policy")
