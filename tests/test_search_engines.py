"""sitemap.xml (an index that stays valid past 50,000 questions), robots.txt and /favicon.ico."""

from __future__ import annotations

import io
import math
from datetime import timedelta
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image

from polls import sitemaps
from polls.models import Question

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
# The protocol's limits (sitemaps.org): per sitemap and per index.
MAX_URLS = 50_000
MAX_BYTES = 50 * 1024 * 1024


def xml(client: Client, url: str) -> ElementTree.Element:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"].startswith("application/xml")
    assert len(response.content) <= MAX_BYTES
    return ElementTree.fromstring(response.content)  # noqa: S314  (our own output)


def index_locations(client: Client) -> list[str]:
    index = xml(client, "/sitemap.xml")
    assert index.tag == f"{SITEMAP}sitemapindex"
    return [entry.findtext(f"{SITEMAP}loc") for entry in index.findall(f"{SITEMAP}sitemap")]


def urls_of(client: Client, location: str) -> list[str]:
    parts = urlsplit(location)
    assert parts.scheme == "http" and parts.netloc == "testserver", location
    found = xml(client, f"{parts.path}?{parts.query}" if parts.query else parts.path)
    assert found.tag == f"{SITEMAP}urlset"
    urls = [entry.findtext(f"{SITEMAP}loc") for entry in found.findall(f"{SITEMAP}url")]
    assert len(urls) <= MAX_URLS
    return urls


def test_the_sitemap_lists_public_questions_tags_and_pages_only(client, make_question):
    tea = make_question("Tea or coffee?", ("Tea", "Coffee"), tags=("Drinks",))
    make_question("Hidden?", ("A", "B"), tags=("Secret",), status=Question.Status.HIDDEN)
    make_question("Pending?", ("A", "B"), status=Question.Status.PENDING)
    closed = make_question("Closed?", ("A", "B"), status=Question.Status.CLOSED)
    listed = [url for location in index_locations(client) for url in urls_of(client, location)]
    assert f"http://testserver{tea.get_absolute_url()}" in listed
    assert f"http://testserver{closed.get_absolute_url()}" in listed
    assert "http://testserver/tags/drinks/" in listed
    for page in ("/", "/tags/", "/data/", "/about/", "/privacy/"):
        assert f"http://testserver{page}" in listed
    assert not [url for url in listed if "hidden" in url or "pending" in url or "secret" in url]
    assert len(listed) == len(set(listed)) == 2 + 1 + 5


@pytest.mark.django_db(transaction=False)
def test_the_index_stays_within_the_limits_at_100000_questions(client, figure):
    now = timezone.now()
    total = 100_000
    Question.objects.bulk_create(
        (
            Question(
                title=f"Question {n}?",
                slug=f"question-{n}",
                status=Question.Status.PUBLISHED,
                published_at=now - timedelta(seconds=n),
            )
            for n in range(total)
        ),
        batch_size=5000,
    )
    # The log of queries keeps 9,000: make room, or a full log would count nothing.
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as queries:
        locations = index_locations(client)
    # One COUNT per section of the database (tags and questions), whatever their number.
    index_queries = len(queries)
    assert index_queries == 2
    pages = math.ceil(total / sitemaps.PAGE_SIZE)
    question_pages = [loc for loc in locations if "sitemap-questions.xml" in loc]
    assert len(question_pages) == pages and len(locations) == pages + 2 <= MAX_URLS
    assert question_pages[-1].endswith(f"?p={pages}")
    first, last = urls_of(client, question_pages[0]), urls_of(client, question_pages[-1])
    assert len(first) == sitemaps.PAGE_SIZE
    assert len(last) == total - (pages - 1) * sitemaps.PAGE_SIZE
    assert first[0] == "http://testserver/q/question-0/"
    assert last[-1] == f"http://testserver/q/question-{total - 1}/"
    assert client.get(f"/sitemap-questions.xml?p={pages + 1}").status_code == 404
    figure(
        f"Sitemap at {total:,} questions: an index of {len(locations)} sitemaps "
        f"({sitemaps.PAGE_SIZE:,} questions each), {index_queries} queries for the index"
    )


def test_addresses_are_on_the_public_origin_when_it_is_set(client, make_question, settings):
    settings.PUBLIC_ORIGIN = "https://beebeta.example"
    question = make_question()
    urls = urls_of(client, "http://testserver/sitemap-questions.xml")
    assert urls == [f"https://beebeta.example{question.get_absolute_url()}"]
    locations = index_locations(client)
    assert locations and all(
        location.startswith("https://beebeta.example/sitemap-") for location in locations
    ), locations
    robots = client.get("/robots.txt").content.decode()
    assert "Sitemap: https://beebeta.example/sitemap.xml" in robots
    data = client.get(f"/q/{question.slug}.json").json()
    assert data["url"] == f"https://beebeta.example{question.get_absolute_url()}"


def test_sitemaps_are_kept_whole(client, make_question, django_assert_num_queries):
    make_question()
    first = client.get("/sitemap-questions.xml").content
    with django_assert_num_queries(0):
        assert client.get("/sitemap-questions.xml").content == first
        assert client.get("/sitemap-questions.xml?x=1").content == first
    response = client.get("/sitemap-questions.xml")
    assert response["X-Robots-Tag"] == "noindex, noodp, noarchive"


def test_robots_txt_points_at_the_sitemap_and_keeps_crawlers_off_forms(client, db):
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    lines = response.content.decode().splitlines()
    assert lines[0] == "User-agent: *"
    assert "Sitemap: http://testserver/sitemap.xml" in lines
    for path in ("/admin/", "/accounts/", "/ask/", "/search/", "/insights/"):
        assert f"Disallow: {path}" in lines
    # Questions, tags and the data are for everyone; a list's later pages too, so that their
    # "noindex" can be read.
    assert not [line for line in lines if line in ("Disallow: /", "Disallow: /q/")]
    assert not [line for line in lines if "after" in line or "before" in line]


def test_favicon_ico_is_an_icon(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/x-icon"
    assert "max-age=86400" in response["Cache-Control"]
    icon = Image.open(io.BytesIO(response.content))
    assert icon.format == "ICO"
    assert {(16, 16), (32, 32), (48, 48)} <= set(icon.info["sizes"])
    # The mark's navy, as in static/img/beebeta.svg.
    assert icon.convert("RGB").getpixel((16, 2)) == (0x1D, 0x35, 0x57)
