"""Every page has exactly one <h1> and a plain-text <title>, for every role that may open it.

The pages come from the route table (tests/routes.py), not from a list kept here: a route added
to the site is checked as soon as it is classified there, which the route guard requires.
"""

from __future__ import annotations

import html
import re

import pytest
from django.test import Client

from tests.routes import ANONYMOUS, ROLES, ROUTES, page_visits
from tests.site_data import build_site

pytestmark = pytest.mark.django_db

H1 = re.compile(r"<h1[\s>]", re.I)
TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


def structure_problems(text: str) -> list[str]:
    """What is wrong with a page's <h1> and <title>, if anything."""
    problems = []
    if (count := len(H1.findall(text))) != 1:
        problems.append(f"{count} <h1> elements")
    # The document's title: charts have <title> elements of their own in the body.
    titles = TITLE.findall(text.partition("</head>")[0])
    if len(titles) != 1:
        problems.append(f"{len(titles)} <title> elements")
    elif "<" in titles[0] or not html.unescape(titles[0]).strip():
        problems.append(f"a <title> that is not plain text: {titles[0][:80]!r}")
    return problems


def test_the_check_finds_what_it_guards_against():
    good = "<head><title>Tags · Beebeta</title></head><h1>Tags</h1><svg><title>A</title></svg>"
    assert structure_problems(good) == []
    assert structure_problems(good + "<h1 class='x'>Again</h1>") == ["2 <h1> elements"]
    assert structure_problems("<head><title>A<h2>by hour</h2></title></head><h1>A</h1>")
    assert structure_problems("<head><title> </title></head><h1>A</h1>")


@pytest.fixture
def site(staff):
    return build_site(member_password="correct horse", staff_user=staff)


def clients(site) -> dict[str, Client]:
    signed_in = {ANONYMOUS: Client()}
    for role, user in (("member", site.member), ("staff", site.staff)):
        signed_in[role] = Client()
        signed_in[role].force_login(user)
    return signed_in


def test_every_page_of_the_route_table_has_one_h1_and_a_plain_title(site):
    visitors = clients(site)
    visits = list(
        page_visits(
            question_slugs=site.question_slugs, tag_slug=site.tag.slug, queries=site.queries
        )
    )
    problems, shown = [], set()
    for visit in visits:
        response = visitors[visit.role].get(visit.url)
        # A signed-in visitor is sent on from the log-in and sign-up pages; nothing to check.
        if response.status_code in (301, 302):
            continue
        assert response["Content-Type"].startswith("text/html"), visit
        if response.status_code == 200:
            shown.add(visit.route)
        problems += [(visit, problem) for problem in structure_problems(response.text)]
    assert problems == []
    pages = {name for name, route in ROUTES.items() if route.html and route.kind != "action"}
    assert shown == pages, "every page answered 200 to some role"
    assert {visit.role for visit in visits} == set(ROLES)


@pytest.mark.parametrize("role", ROLES)
def test_error_pages_have_one_h1_and_a_plain_title(site, role):
    response = clients(site)[role].get("/no-such-page/")
    assert response.status_code == 404
    assert structure_problems(response.text) == []
