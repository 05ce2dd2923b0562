"""Where a client comes from, one rule for every per-address limit (sockets, uploads, sign-in).

The TCP peer; behind a trusted proxy (CHATSVC_TRUST_PROXY_HEADERS) the right-most
X-Forwarded-For entry, the one the proxy added: the entries before it are whatever the client
sent and are never believed.
"""

from __future__ import annotations

from aiohttp import web

from chatsvc.settings import Settings
from chatsvc.transport.state import SETTINGS

MAX_ADDRESS_CHARS = 64  # an IPv6 address with a zone fits; anything longer is not an address


def client_address(settings: Settings, peer: str | None, forwarded_for: str = "") -> str:
    """The address to count: `peer`, or the proxy's word for it when the proxy is trusted."""
    if settings.trust_proxy_headers:
        last_hop = forwarded_for.split(",")[-1].strip()
        if last_hop:
            return last_hop[:MAX_ADDRESS_CHARS]
    return peer or ""


def request_address(request: web.Request, settings: Settings) -> str:
    """The address an HTTP request comes from (client_address)."""
    return client_address(settings, request.remote, request.headers.get("X-Forwarded-For", ""))


def is_https(request: web.Request) -> bool:
    """Tell whether the browser reached us over HTTPS (directly or through a trusted proxy)."""
    if request.scheme == "https":
        return True
    trusted = request.app[SETTINGS].trust_proxy_headers
    return trusted and request.headers.get("X-Forwarded-Proto", "").lower() == "https"
