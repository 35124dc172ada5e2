"""What a link to any public page shows where it is shared: every page of the route table that a
visitor can open has a title, a description, a canonical URL, and Open Graph and Twitter card
tags, with absolute URLs on PUBLIC_ORIGIN (https in production), and a share card image.

Lists name their first page as canonical (with their order); later pages and searches are
followed by search engines but not indexed.
"""

from __future__ import annotations

import html
from html.parser import HTMLParser

import pytest
from django.test import Client

from tests.routes import ANONYMOUS, ROUTES, page_visits
from tests.site_data import build_site

pytestmark = pytest.mark.django_db

ORIGIN = "https://beebeta.example"


class Head(HTMLParser):
    """The <head>'s title, meta tags (by name or property) and links (by rel)."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, list[str]] = {}
        self.links: dict[str, list[str]] = {}
        self.title = ""
        self._in_title = self._done = False

    def handle_starttag(self, tag, attrs):
        if self._done:
            return
        found = dict(attrs)
        if tag == "meta" and "content" in found:
            name = found.get("property") or found.get("name")
            if name:
                self.meta.setdefault(name, []).append(found["content"])
        elif tag == "link" and found.get("rel"):
            self.links.setdefault(found["rel"], []).append(found.get("href", ""))
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        self._in_title = False
        self._done = self._done or tag == "head"

    def handle_data(self, data):
        if self._in_title and not self._done:
            self.title += data


def head_of(text: str) -> Head:
    parsed = Head()
    parsed.feed(text)
    return parsed


def share_problems(head: Head) -> list[str]:
    """What a page's head lacks for a link to it to travel well."""
    problems = []
    one = {key: values[0] for key, values in head.meta.items() if len(values) == 1}
    for key in (
        "description",
        "og:title",
        "og:description",
        "og:url",
        "og:type",
        "og:image",
        "og:image:alt",
        "twitter:card",
        "twitter:image",
    ):
        if not one.get(key, "").strip():
            problems.append(f"no single, non-empty {key}")
    canonical = head.links.get("canonical", [])
    if len(canonical) != 1 or not canonical[0].startswith(f"{ORIGIN}/"):
        problems.append(f"canonical {canonical}")
    elif one.get("og:url") != canonical[0]:
        problems.append("og:url is not the canonical URL")
    for key in ("og:image", "twitter:image"):
        if not one.get(key, "").startswith(("https://", "http://")):
            problems.append(f"{key} not absolute: {one.get(key)!r}")
    if one.get("twitter:card") != "summary_large_image":
        problems.append("twitter:card is not summary_large_image")
    if one.get("og:image:width") != "1200" or one.get("og:image:height") != "630":
        problems.append("og:image is not 1200x630")
    title = html.unescape(head.title).strip()
    if html.unescape(one.get("og:title", "")) + " · Beebeta" != title:
        problems.append(f"og:title {one.get('og:title')!r} is not the page's title {title!r}")
    return problems


def test_the_check_finds_what_it_guards_against():
    assert share_problems(head_of("<head><title>A · Beebeta</title></head>"))
    relative = (
        f'<head><title>A · Beebeta</title><link rel="canonical" href="{ORIGIN}/a/">'
        '<meta property="og:image" content="/share-card.png"></head>'
    )
    assert "og:image not absolute: '/share-card.png'" in share_problems(head_of(relative))


@pytest.fixture
def site(staff, settings):
    settings.PUBLIC_ORIGIN = ORIGIN
    return build_site(member_password="correct horse", staff_user=staff)


def test_every_public_page_has_share_tags_with_absolute_urls(site, local_media):
    client = Client()
    visits = [
        visit
        for visit in page_visits(
            question_slugs=site.question_slugs, tag_slug=site.tag.slug, queries=site.queries
        )
        if visit.role == ANONYMOUS
    ]
    problems, seen = [], set()
    for visit in visits:
        response = client.get(visit.url)
        assert response.status_code in (200, 400), visit
        seen.add(visit.route)
        problems += [(visit.url, problem) for problem in share_problems(head_of(response.text))]
    assert problems == []
    public_pages = {
        name
        for name, route in ROUTES.items()
        if route.access == "public" and route.html and route.kind != "action"
    }
    assert seen == public_pages


def test_a_question_shares_its_own_card_and_the_rest_share_beebetas(client, site, local_media):
    slug = site.question_slugs[ANONYMOUS][0]
    question = head_of(client.get(f"/q/{slug}/").text)
    assert question.meta["og:type"] == ["article"]
    (card,) = question.meta["og:image"]
    assert card.startswith(f"{ORIGIN}/media/cards/") and card.endswith(".png")
    home = head_of(client.get("/").text)
    assert home.meta["og:image"] == [f"{ORIGIN}/share-card.png"]


def test_a_list_names_its_first_page_in_its_order_and_later_pages_are_not_indexed(
    client, settings, make_question
):
    settings.PUBLIC_ORIGIN = ORIGIN
    for n in range(25):
        make_question(f"Question number {n}?")
    first = client.get("/?order=newest")
    assert head_of(first.text).links["canonical"] == [f"{ORIGIN}/?order=newest"]
    assert "robots" not in head_of(first.text).meta
    later = [link for link in _links(first.text) if "after=" in link]
    assert later, "the first page links the next"
    second = head_of(client.get(html.unescape(later[0])).text)
    assert second.links["canonical"] == [f"{ORIGIN}/?order=newest"]
    assert second.meta["robots"] == ["noindex, follow"]
    assert head_of(client.get("/?order=trending").text).links["canonical"] == [f"{ORIGIN}/"]


def test_a_question_seen_as_of_a_day_names_the_question_itself(client, settings, make_question):
    settings.PUBLIC_ORIGIN = ORIGIN
    question = make_question()
    page = head_of(client.get(f"{question.get_absolute_url()}?as_of=2026-01-01").text)
    assert page.links["canonical"] == [f"{ORIGIN}{question.get_absolute_url()}"]


def test_search_results_are_not_indexed(client, make_question):
    make_question("Best ramen in town?")
    assert head_of(client.get("/search/?q=ramen").text).meta["robots"] == ["noindex, follow"]
    assert "robots" not in head_of(client.get("/search/").text).meta


def test_without_a_public_origin_links_use_the_request_s_own(client, settings):
    settings.PUBLIC_ORIGIN = ""
    page = head_of(client.get("/tags/", HTTP_HOST="localhost").text)
    assert page.links["canonical"] == ["http://localhost/tags/"]


def _links(text: str) -> list[str]:
    import re

    return re.findall(r'href="([^"]+)"', text)
