"""What a shared cache in front of Django may keep (beebeta/edge.py): the anonymous tag and
question pages, which carry nothing per visitor; never a signed-in visitor's page."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.fixture
def pages(make_question) -> dict[str, str]:
    question = make_question("Edge cached?", tags=("Food",))
    return {"home": "/", "tag": "/tags/food/", "question": question.get_absolute_url()}


@pytest.mark.parametrize("kind", ["tag", "question"])
def test_an_anonymous_page_is_public_for_a_few_seconds_and_carries_nothing_per_visitor(
    pages, kind, settings
):
    settings.EDGE_CACHE_SECONDS = 5
    response = Client().get(pages[kind])
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=0, s-maxage=5"
    assert response["X-Accel-Expires"] == "5"
    assert not response.cookies
    html = response.content.decode()
    assert "csrfmiddlewaretoken" not in html
    assert "sessionid" not in html


@pytest.mark.parametrize("kind", ["home", "tag", "question"])
def test_a_signed_in_visitors_page_is_private(pages, kind, alice):
    client = Client()
    client.force_login(alice)
    response = client.get(pages[kind])
    assert response.status_code == 200
    assert response["Cache-Control"] == "private"
    assert "X-Accel-Expires" not in response


def test_pages_with_a_csrf_token_are_private_and_others_keep_their_own_policy(pages):
    login = Client().get("/accounts/login/")
    assert "csrfmiddlewaretoken" in login.content.decode()
    assert "private" in login["Cache-Control"]
    assert "X-Accel-Expires" not in login
    # A page that is not marked as the same for everyone is never made public.
    for address in ("/tags/", pages["home"]):
        assert "X-Accel-Expires" not in Client().get(address)


def test_no_edge_caching_when_turned_off(pages, settings):
    settings.EDGE_CACHE_SECONDS = 0
    response = Client().get(pages["question"])
    assert "X-Accel-Expires" not in response
    assert "public" not in response.get("Cache-Control", "")
