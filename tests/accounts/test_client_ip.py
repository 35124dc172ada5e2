"""beebeta.client_ip: the forwarding header counts only when it came
through a trusted proxy, and then only from the right."""

from __future__ import annotations

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from beebeta.client_ip import TrustedProxyMiddleware, client_ip, resolve

NGINX = ("127.0.0.1",)
TWO_HOPS = ("127.0.0.1", "10.0.0.0/8")


@pytest.mark.parametrize(
    ("remote_addr", "forwarded_for", "trusted", "expected"),
    [
        # No proxy trusted: the header is ignored whatever it says.
        ("203.0.113.5", "198.51.100.1", (), "203.0.113.5"),
        # A peer that is not a trusted proxy cannot speak for someone else.
        ("203.0.113.5", "198.51.100.1", NGINX, "203.0.113.5"),
        # Through nginx: the address nginx saw.
        ("127.0.0.1", "198.51.100.1", NGINX, "198.51.100.1"),
        # What the client wrote is to the left of what nginx appended.
        ("127.0.0.1", "6.6.6.6, 198.51.100.1", NGINX, "198.51.100.1"),
        ("127.0.0.1", "6.6.6.6,198.51.100.1", NGINX, "198.51.100.1"),
        # Load balancer then nginx: walk past every trusted hop.
        ("127.0.0.1", "6.6.6.6, 198.51.100.1, 10.0.0.2", TWO_HOPS, "198.51.100.1"),
        # Only trusted hops: the farthest one.
        ("127.0.0.1", "10.0.0.3, 10.0.0.2", TWO_HOPS, "10.0.0.3"),
        # No header through the proxy: the proxy itself.
        ("127.0.0.1", "", NGINX, "127.0.0.1"),
        # Empty items and spaces are ignored.
        ("127.0.0.1", " , 198.51.100.1 , ", NGINX, "198.51.100.1"),
        # Garbage where nginx's entry should be: keep the last address trusted.
        ("127.0.0.1", "198.51.100.1, not-an-address", NGINX, "127.0.0.1"),
        ("127.0.0.1", "garbage, 198.51.100.1, 10.0.0.2", TWO_HOPS, "198.51.100.1"),
        # IPv6, and the address comes back in its normal form.
        ("::1", "2001:DB8:0::1", ("::1",), "2001:db8::1"),
        # Networks as well as single addresses.
        ("10.1.2.3", "198.51.100.1", ("10.0.0.0/8",), "198.51.100.1"),
        # A REMOTE_ADDR that is not an address is returned as it is.
        ("unix-socket", "198.51.100.1", NGINX, "unix-socket"),
    ],
)
def test_resolve(remote_addr, forwarded_for, trusted, expected):
    assert resolve(remote_addr, forwarded_for, trusted) == expected


def _seen_by_view(settings, **meta) -> str:
    seen = {}

    def view(request):
        seen["ip"] = client_ip(request)
        return HttpResponse()

    TrustedProxyMiddleware(view)(RequestFactory().get("/", **meta))
    return seen["ip"]


def test_middleware_rewrites_remote_addr_behind_a_trusted_proxy(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]
    meta = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 198.51.100.1"}
    assert _seen_by_view(settings, **meta) == "198.51.100.1"


def test_middleware_leaves_remote_addr_alone_without_trusted_proxies(settings):
    settings.TRUSTED_PROXIES = []
    meta = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.1"}
    assert _seen_by_view(settings, **meta) == "127.0.0.1"
