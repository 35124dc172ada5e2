"""Share buttons on a question page: plain links to email and the major networks, carrying the
question's absolute address and title, which work with JavaScript off; the browser's share
sheet and "Copy link" are hidden until static/js/share.js shows them (tests/test_share_browser.py).
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from polls.models import Question

ORIGIN = "https://beebeta.example"
LINK = re.compile(
    r'<a href="([^"]+)" rel="noopener noreferrer nofollow" target="_blank">([^<]+)</a>'
)


def share_links(text: str) -> dict[str, str]:
    panel = text.partition('class="share-panel"')[2].partition("</section>")[0]
    return {name: html.unescape(href) for href, name in LINK.findall(panel)}


@pytest.fixture
def question(make_question, settings) -> Question:
    settings.PUBLIC_ORIGIN = ORIGIN
    return make_question("Tea & coffee: which one?", ("Tea", "Coffee"))


def test_share_links_carry_the_absolute_address_and_the_title(client, question):
    links = share_links(client.get(question.get_absolute_url()).text)
    address = f"{ORIGIN}{question.get_absolute_url()}"
    assert set(links) == {
        "Email",
        "WhatsApp",
        "Facebook",
        "X",
        "Bluesky",
        "LinkedIn",
        "Reddit",
        "Telegram",
    }
    email = urlsplit(links["Email"])
    assert email.scheme == "mailto"
    fields = parse_qs(email.query)
    assert fields["subject"] == [question.title]
    assert address in fields["body"][0]
    assert "+" not in email.query, "spaces are %20 in a mailto: link"
    for name, href in links.items():
        if name == "Email":
            continue
        parts = urlsplit(href)
        assert parts.scheme == "https", name
        values = " ".join(value for values in parse_qs(parts.query).values() for value in values)
        assert address in values, name
    assert question.title in parse_qs(urlsplit(links["X"]).query)["text"]


def test_without_javascript_the_links_are_all_there_is(client, question):
    text = client.get(question.get_absolute_url()).text
    assert re.search(r"<p [^>]*data-share-native[^>]* hidden>", text)
    assert re.search(r"<p [^>]*data-share-path=[^>]* hidden>", text)
    assert '<script src="/static/js/share.js" defer></script>' in text


def test_a_question_that_is_not_public_offers_no_sharing(client, make_question, staff):
    pending = make_question(status=Question.Status.PENDING)
    client.force_login(staff)
    text = client.get(pending.get_absolute_url()).text
    assert "share-panel" not in text
    assert "share.js" not in text
