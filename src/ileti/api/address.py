"""The client's address: the peer, or ``X-Forwarded-For`` when the peer is a proxy
named in ``ILETI_TRUSTED_PROXIES`` (the rightmost address that is not a trusted
proxy; anything further left could have been written by the client)."""

from __future__ import annotations

from typing import Any

from ileti.networks import Network, contains


def client_address(scope: dict[str, Any], proxies: tuple[Network, ...]) -> str | None:
    client = scope.get("client")
    peer = client[0] if client else None
    if peer is None or not proxies or not contains(proxies, peer):
        return peer
    forwarded: list[str] = []
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            forwarded.extend(part.strip() for part in value.decode("latin-1").split(","))
    for hop in reversed([f for f in forwarded if f]):
        if not contains(proxies, hop):
            return hop
    return forwarded[0] if forwarded else peer
