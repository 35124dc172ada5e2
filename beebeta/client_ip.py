"""The client's address, taken from the forwarding header only when the
request came through a proxy Beebeta trusts.

Behind the load balancer and nginx, REMOTE_ADDR is nginx. nginx appends the
address it saw to X-Forwarded-For; anything to the left of that was written
by the client and may be forged, so the walk goes from the right and stops at
the first address that is not a trusted proxy. Throttling and rate limits key
on the result, so a spoofed header can neither hide a client nor frame one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from functools import lru_cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(trusted: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(item, strict=False) for item in trusted)


def _parse(address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(address.strip())
    except ValueError:
        return None


def resolve(remote_addr: str, forwarded_for: str, trusted: tuple[str, ...]) -> str:
    networks = _networks(trusted)

    def is_trusted(address) -> bool:
        return any(address in network for network in networks)

    peer = _parse(remote_addr)
    if peer is None or not is_trusted(peer):
        return remote_addr
    client = remote_addr
    for hop in reversed([part for part in forwarded_for.split(",") if part.strip()]):
        address = _parse(hop)
        if address is None:
            # Garbage in the header: keep the last address we could trust.
            break
        client = str(address)
        if not is_trusted(address):
            break
    return client


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


class TrustedProxyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        trusted = tuple(settings.TRUSTED_PROXIES)
        if trusted:
            request.META["REMOTE_ADDR"] = resolve(
                request.META.get("REMOTE_ADDR", ""),
                request.META.get("HTTP_X_FORWARDED_FOR", ""),
                trusted,
            )
        return self.get_response(request)
