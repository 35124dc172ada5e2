"""Links that travel, through `make stack`'s topology: a question's share card comes from the
CDN stand-in (as from CloudFront) as an immutable 1200×630 PNG, and the embed passes HAProxy and
nginx with its own framing policy and without a cookie.
"""

from __future__ import annotations

import html
import http.client
import io
import re
from urllib.parse import urlsplit

from PIL import Image

from deploy.stack.processes import HOST
from tests.security.test_headers import directives
from tests.stack.clients import request, through_balancer

QUESTION_LINK = re.compile(rb'href="(/q/[^/"]+/)"')
OG_IMAGE = re.compile(rb'<meta property="og:image" content="([^"]+)"')


def _question_with_its_own_card(stack) -> tuple[str, str]:
    """The path of a demo question whose page links a card of its own, and that card's URL."""
    site = through_balancer(stack)
    home = request(site, "GET", "/")
    assert home.status == 200
    for path in dict.fromkeys(match.decode() for match in QUESTION_LINK.findall(home.body)):
        page = request(site, "GET", path)
        assert page.status == 200, path
        card = html.unescape(OG_IMAGE.search(page.body).group(1).decode())
        if "/cards/" in card:
            return path, card
    raise AssertionError("no demo question on the home page has a card of its own")


def test_a_question_s_card_comes_from_the_cdn_as_an_immutable_png(stack):
    _, card = _question_with_its_own_card(stack)
    parts = urlsplit(card)
    assert (parts.scheme, parts.netloc) == ("https", stack.cdn_host), card
    cdn = http.client.HTTPSConnection(
        HOST, stack.ports["cdn"], context=stack.ssl_context(), timeout=30
    )
    answer = request(cdn, "GET", parts.path)
    assert answer.status == 200, answer.body[:200]
    assert answer.header_values("Content-Type") == ["image/png"]
    assert answer.header_values("Cache-Control") == ["public, max-age=31536000, immutable"]
    image = Image.open(io.BytesIO(answer.body))
    assert (image.format, image.size) == ("PNG", (1200, 630))


def test_the_embed_may_be_framed_through_the_stack_and_sets_no_cookie(stack):
    path, _ = _question_with_its_own_card(stack)
    site = through_balancer(stack)
    embed = request(site, "GET", f"{path}embed/")
    assert embed.status == 200
    assert embed.header_values("X-Frame-Options") == []
    (policy,) = embed.header_values("Content-Security-Policy")
    assert directives(policy)["frame-ancestors"] == ["*"]
    assert embed.header_values("Set-Cookie") == []
    page = request(site, "GET", path)
    assert page.header_values("X-Frame-Options") == ["DENY"]
