"""Who may frame Beebeta: other sites may put an embed (/q/<slug>/embed/) in an <iframe>, and
nothing else. Every route of the route table is asked for by a role that may use it: the embed
answers with `frame-ancestors *` and no X-Frame-Options; every other route, error pages
included, with `frame-ancestors 'none'` and `X-Frame-Options: DENY`.
"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.routes import ACTION, MEMBER, PUBLIC, ROUTES, STAFF
from tests.routes import address as route_address
from tests.security.test_headers import directives

pytestmark = pytest.mark.django_db

FRAMEABLE = {"polls:embed"}


def framing(response) -> tuple[list[str], str | None]:
    policy = directives(response["Content-Security-Policy"])
    return policy["frame-ancestors"], response.get("X-Frame-Options")


@pytest.fixture
def visitors(alice, staff) -> dict[str, Client]:
    member, moderator = Client(), Client()
    member.force_login(alice)
    moderator.force_login(staff)
    return {PUBLIC: Client(), MEMBER: member, STAFF: moderator}


def test_only_the_embed_may_be_framed_on_every_route(visitors, make_question):
    question = make_question(tags=("Drinks",))
    answers = {}
    for name, route in ROUTES.items():
        url = route_address(name, question_slug=question.slug, tag_slug="drinks")
        client = visitors[route.access]
        response = client.post(url) if route.kind == ACTION else client.get(url)
        answers[name] = (response.status_code, *framing(response))
    wrong = {
        name: answer
        for name, answer in answers.items()
        if answer[1:] != ((["*"], None) if name in FRAMEABLE else (["'none'"], "DENY"))
    }
    assert wrong == {}
    assert answers["polls:embed"][0] == 200


def test_error_pages_may_not_be_framed(client):
    assert framing(client.get("/no-such-page/")) == (["'none'"], "DENY")
    assert framing(client.get("/q/no-such-question/embed/")) == (["'none'"], "DENY")
