"""Client addresses behind reverse proxies: ``X-Forwarded-For`` honoured only from the proxies
named in ``WARDPLAN_PROXY_TRUSTED``.

A request whose direct peer is a trusted proxy gets as its client address the right-most
address of ``X-Forwarded-For`` that is not itself a trusted proxy (each proxy appends the
address it received the request from, so addresses further left were written by the client and
prove nothing). A request from any other peer keeps its peer address, whatever it sends: a
client cannot choose the address it is counted under (the rate limit) by sending the header.
Run uvicorn with ``--no-proxy-headers`` so this is the only place the header is read.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


class TrustedProxies:
    """ASGI middleware: ``scope["client"]`` as above (the port is kept only for a direct peer)."""

    def __init__(self, app: ASGIApp, trusted: Sequence[Network]) -> None:
        self.app = app
        self.trusted = tuple(trusted)

    def is_trusted(self, text: str) -> bool:
        address = _address(text)
        return address is not None and any(address in network for network in self.trusted)

    def client_address(self, peer: str, forwarded: list[bytes]) -> str:
        """The client's address given the direct ``peer`` and the ``X-Forwarded-For`` headers."""
        if not self.is_trusted(peer):
            return peer
        hops = [h for value in forwarded for h in value.decode("latin-1").split(",")]
        for hop in reversed(hops):
            if self.is_trusted(hop):
                continue
            address = _address(hop)
            return str(address) if address is not None else peer  # junk: not a proxy's word
        return peer  # only proxies (or no header): the nearest is the client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or not self.trusted:
            await self.app(scope, receive, send)
            return
        peer = scope.get("client")
        if peer:
            forwarded = [v for k, v in scope["headers"] if k.lower() == b"x-forwarded-for"]
            address = self.client_address(peer[0], forwarded)
            if address != peer[0]:
                scope = {**scope, "client": (address, 0)}
        await self.app(scope, receive, send)
