"""Error pages look like the site, and the ones for outages never need the database."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from beebeta import views as site_views
from polls.models import Ballot
from tests.conftest import unreachable_database


def assert_site_page(html: str, heading: str) -> None:
    """A complete page in the site's look, with exactly one top heading."""
    assert html.lstrip().lower().startswith("<!doctype html>")
    assert html.rstrip().endswith("</html>")
    assert 'class="site-header"' in html
    assert 'class="brand"' in html and "Beebeta" in html
    assert html.count("<h1") == 1
    assert f"<h1>{heading}</h1>" in html


@pytest.fixture
def failing_client(client, settings) -> Client:
    """A client that gets the error page back instead of the view's exception."""
    settings.ROOT_URLCONF = "tests.error_urls"
    client.raise_request_exception = False
    return client


class TestNotFound:
    def test_unknown_address(self, client, db):
        response = client.get("/no/such/page/")
        assert response.status_code == 404
        assert_site_page(response.content.decode(), "This page is not here")

    def test_unknown_question(self, client, db):
        response = client.get(reverse("polls:question", args=["no-such-question"]))
        assert response.status_code == 404
        assert_site_page(response.content.decode(), "This page is not here")

    def test_unknown_question_for_a_member(self, client, alice):
        client.force_login(alice)
        response = client.get(reverse("polls:question", args=["no-such-question"]))
        assert response.status_code == 404
        html = response.content.decode()
        assert_site_page(html, "This page is not here")
        assert 'class="who" href="/accounts/profile/">alice</a>' in html


def test_expired_form_gets_the_csrf_page(alice, question):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    choice = question.choices.first()
    response = strict.post(reverse("polls:vote", args=[question.slug]), {"choice": choice.pk})
    assert response.status_code == 403
    assert_site_page(response.content.decode(), "That form has expired")
    assert not Ballot.objects.exists()


def test_permission_denied_gets_the_403_page(failing_client, db):
    response = failing_client.get("/forbidden/")
    assert response.status_code == 403
    html = response.content.decode()
    assert_site_page(html, "You cannot open this page")
    assert "log in</a> first" in html


class TestServerError:
    def test_unexpected_exception_gets_the_500_page(self, failing_client, db):
        response = failing_client.get("/broken/")
        assert response.status_code == 500
        html = response.content.decode()
        assert_site_page(html, "Something went wrong on our side")
        assert "Retry-After" not in response

    def test_500_page_for_a_member(self, failing_client, alice):
        failing_client.force_login(alice)
        response = failing_client.get("/broken/")
        assert response.status_code == 500
        assert_site_page(response.content.decode(), "Something went wrong on our side")

    def test_500_page_renders_without_the_database(self, db, django_assert_num_queries):
        with django_assert_num_queries(0):
            html = render_to_string("500.html")
        assert_site_page(html, "Something went wrong on our side")


class TestDatabaseDown:
    pytestmark = pytest.mark.django_db(transaction=True)

    def assert_unavailable(self, response) -> None:
        assert response.status_code == 503, response.content.decode()[:500]
        assert int(response["Retry-After"]) > 0
        assert_site_page(response.content.decode(), "Beebeta is back in a moment")

    def test_pages_answer_503_not_500(self, client, make_question):
        question = make_question(tags=("Food",))
        client.raise_request_exception = False
        with unreachable_database():
            for url in ("/", question.get_absolute_url(), "/tags/food/", "/tags/"):
                self.assert_unavailable(client.get(url))
        # The same process serves again once the database is back.
        assert client.get("/").status_code == 200

    def test_member_and_vote_answer_503_not_500(self, client, alice, question):
        client.force_login(alice)
        # Warm the cache, so the vote reaches the database write.
        assert client.get(question.get_absolute_url()).status_code == 200
        client.raise_request_exception = False
        choice = question.choices.first().pk
        with unreachable_database():
            self.assert_unavailable(client.get("/"))
            self.assert_unavailable(
                client.post(reverse("polls:vote", args=[question.slug]), {"choice": choice})
            )
        assert not Ballot.objects.exists()

    def test_503_page_renders_without_the_database(self, django_assert_num_queries):
        with django_assert_num_queries(0):
            response = site_views.service_unavailable(None)
        self.assert_unavailable(response)
