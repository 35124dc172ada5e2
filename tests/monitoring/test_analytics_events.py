"""The Mixpanel events of both campaigns, as the real mixpanel client posts them.

Campaign 1, site traffic: Page Viewed, Signed Up, Account Activated, Logged In.
Campaign 2, question and choice interactions: Question Viewed, Vote Cast, Vote
Changed, Choices Picked, Question Asked, Question Reported, Share Link Copied.
"""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from beebeta import analytics
from polls.models import Question
from tests.accounts.helpers import (
    STRONG_PASSWORD,
    activation_key_of,
    link_in,
    post_activation,
    user_named,
)
from tests.monitoring.receivers import mixpanel_posts
from tests.polls.test_ask import ask_data


def vote(client, question, *choices):
    url = reverse("polls:vote", args=[question.slug])
    return client.post(url, {"choice": [c.pk for c in choices]})


@pytest.fixture
def tagged_question(make_question):
    return make_question(tags=("Food", "Japan"))


# --- Site traffic -------------------------------------------------------------------------


def test_page_view_names_the_route_never_the_path(client, mixpanel, db):
    response = client.get("/?order=newest&utm_source=newsletter&token=s3cret-value")
    assert response.status_code == 200
    page_view = mixpanel.one("Page Viewed")
    assert page_view["route"] == "polls:home"
    assert page_view["user_group"] == "anonymous"
    assert page_view["utm_source"] == "newsletter"
    assert "s3cret" not in json.dumps(page_view) and "newest" not in json.dumps(page_view)


def test_site_traffic_carries_the_referring_domain_and_the_campaign(client, mixpanel, db):
    client.get(
        "/tags/?utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_content="
        + "x" * 300,
        HTTP_REFERER="https://news.example.org/issues/12?reader=ursula",
    )
    client.get("/", HTTP_REFERER="http://testserver/tags/")  # a page of this site
    client.get("/search/?utm_source=ursula%40example.com")  # typed, no referrer
    from_newsletter, inside, typed = (e["properties"] for e in mixpanel.events("Page Viewed"))
    assert from_newsletter["$referring_domain"] == "news.example.org"
    assert (from_newsletter["utm_source"], from_newsletter["utm_medium"]) == ("newsletter", "email")
    assert from_newsletter["utm_campaign"] == "spring"
    assert from_newsletter["utm_content"] == "x" * analytics.UTM_MAX_LENGTH
    assert "reader" not in json.dumps(from_newsletter)
    assert "$referring_domain" not in inside and "utm_source" not in inside
    assert typed["$referring_domain"] == "$direct"
    assert "utm_source" not in typed  # an address is nobody's campaign


def test_anonymous_visitor_keeps_one_id_in_a_first_party_cookie(client, mixpanel, db):
    first = client.get(reverse("polls:tags"))
    cookie = first.cookies[analytics.COOKIE_NAME]
    assert re.fullmatch(r"[0-9a-f]{32}", cookie.value)
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["max-age"] == 365 * 24 * 3600
    assert not cookie["secure"]
    second = client.get(reverse("polls:home"))
    assert analytics.COOKIE_NAME not in second.cookies  # set once, not on every page
    ids = {e["properties"]["distinct_id"] for e in mixpanel.events("Page Viewed")}
    assert ids == {cookie.value}


def test_the_cookie_is_secure_behind_https(client, mixpanel, settings, db):
    settings.SESSION_COOKIE_SECURE = True
    response = client.get(reverse("polls:tags"))
    assert response.cookies[analytics.COOKIE_NAME]["secure"] is True


def test_a_forged_cookie_is_replaced(client, mixpanel, db):
    client.cookies[analytics.COOKIE_NAME] = "alice@example.com"
    response = client.get(reverse("polls:tags"))
    new_id = response.cookies[analytics.COOKIE_NAME].value
    assert re.fullmatch(r"[0-9a-f]{32}", new_id)
    assert mixpanel.one("Page Viewed")["distinct_id"] == new_id


def test_members_are_counted_by_id_and_group(client, mixpanel, established, bob):
    client.force_login(established)
    client.get(reverse("polls:home"))
    client.force_login(bob)  # joined today
    client.get(reverse("polls:home"))
    views = [e["properties"] for e in mixpanel.events("Page Viewed")]
    assert [(v["distinct_id"], v["user_group"]) for v in views] == [
        (str(established.pk), "established"),
        (str(bob.pk), "new"),
    ]
    assert analytics.COOKIE_NAME not in client.cookies


def test_only_pages_are_page_views(client, mixpanel, staff, question):
    client.get("/no/such/page/")  # 404
    client.post(reverse("accounts:login"), {"username": "x", "password": "y"})  # a POST
    client.force_login(staff)
    client.get(reverse("admin:index"))  # the admin is not the site
    client.get(reverse("accounts:profile_data"))  # JSON, not a page
    assert not mixpanel.events("Page Viewed")


def test_sign_up_activation_and_login(client, mixpanel, db, mailoutbox):
    client.post(
        reverse("django_registration_register"),
        {
            "username": "quentin",
            "email": "quentin@example.com",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
    )
    post_activation(client, activation_key_of(link_in(mailoutbox[-1])))
    client.post(reverse("accounts:login"), {"username": "quentin", "password": STRONG_PASSWORD})
    quentin = user_named("quentin")
    for name in ("Signed Up", "Account Activated", "Logged In"):
        event = mixpanel.one(name)
        assert event["distinct_id"] == str(quentin.pk)
        assert event["user_group"] == "new"


# --- Question and choice interactions ----------------------------------------------------------


def test_question_viewed(client, mixpanel, tagged_question):
    client.get(tagged_question.get_absolute_url())
    viewed = mixpanel.one("Question Viewed")
    assert viewed["question_id"] == tagged_question.pk
    assert viewed["tags"] == ["food", "japan"]
    assert viewed["user_group"] == "anonymous"
    assert mixpanel.one("Page Viewed")["route"] == "polls:question"


def test_vote_cast_then_changed(client, mixpanel, established, tagged_question):
    first, second, _ = tagged_question.choices.order_by("position")
    client.force_login(established)
    vote(client, tagged_question, first)
    vote(client, tagged_question, second)
    vote(client, tagged_question, second)  # unchanged: no event
    cast, changed = mixpanel.one("Vote Cast"), mixpanel.one("Vote Changed")
    assert cast["question_id"] == changed["question_id"] == tagged_question.pk
    assert cast["tags"] == changed["tags"] == ["food", "japan"]
    assert cast["distinct_id"] == changed["distinct_id"] == str(established.pk)
    assert cast["user_group"] == "established"
    # What was picked is in events of their own, under ids used once, at the hour only.
    picked = [e["properties"] for e in mixpanel.events("Choices Picked")]
    assert [(p["action"], p["choice_ids"], p["previous_choice_ids"]) for p in picked] == [
        ("Vote Cast", [first.pk], []),
        ("Vote Changed", [second.pk], [first.pk]),
    ]
    assert {p["question_id"] for p in picked} == {tagged_question.pk}
    assert all(p["user_group"] == "established" and p["tags"] == ["food", "japan"] for p in picked)
    one_off = {p["distinct_id"] for p in picked}
    assert len(one_off) == 2 and str(established.pk) not in one_off
    assert all(p["time"] % 3600 == 0 for p in picked)


def test_no_choice_ever_travels_with_a_persons_id(client, mixpanel, established, tagged_question):
    client.get(tagged_question.get_absolute_url())
    client.force_login(established)
    for choice in tagged_question.choices.order_by("position"):
        vote(client, tagged_question, choice)
    known = {str(established.pk), client.cookies[analytics.COOKIE_NAME].value}
    events = mixpanel.events()
    assert len(mixpanel.events("Choices Picked")) == 3
    for event in events:
        properties = event["properties"]
        carries_choices = {"choice_ids", "previous_choice_ids"} & properties.keys()
        assert bool(carries_choices) == (event["event"] == "Choices Picked")
        if carries_choices:
            assert properties["distinct_id"] not in known
            assert "$device_id" not in properties and "$user_id" not in properties


def test_a_refused_vote_is_no_event(client, mixpanel, alice, closed_question):
    client.force_login(alice)
    refused = vote(client, closed_question, closed_question.choices.first())
    assert refused.status_code == 303
    assert refused["Location"] == f"{closed_question.get_absolute_url()}#vote"
    assert not mixpanel.events("Vote Cast")


def test_question_asked(client, mixpanel, settings, bob):
    settings.MODERATE_FIRST_QUESTIONS = 0
    client.force_login(bob)
    client.post(reverse("polls:ask"), ask_data(tags="Mornings, Drinks"))
    question = Question.objects.get()
    asked = mixpanel.one("Question Asked")
    assert asked["question_id"] == question.pk
    assert sorted(asked["choice_ids"]) == sorted(question.choices.values_list("pk", flat=True))
    assert asked["tags"] == ["drinks", "mornings"]
    assert asked["status"] == "published"
    assert asked["user_group"] == "new"


def test_question_reported_once(client, mixpanel, bob, tagged_question):
    client.force_login(bob)
    url = reverse("polls:report", args=[tagged_question.slug])
    client.post(url, {"reason": "spam", "details": "Written by bob@example.com"})
    client.post(url, {"reason": "spam"})  # already reported: no second event
    reported = mixpanel.one("Question Reported")
    assert reported["question_id"] == tagged_question.pk
    assert reported["reason"] == "spam"
    assert "details" not in reported


class TestShareLink:
    def test_the_beacon_is_counted(self, mixpanel, tagged_question):
        strict = Client(enforce_csrf_checks=True)
        html = strict.get(tagged_question.get_absolute_url()).content.decode()
        # The page is the same for every visitor: no token in it. static/js/share.js sends the
        # csrftoken cookie's value, making the cookie (a random secret) when there is none.
        assert "csrfmiddlewaretoken" not in html
        secret = "k" * 16 + "Q7" * 8
        strict.cookies["csrftoken"] = secret
        beacon = reverse("polls:link_copied", args=[tagged_question.slug])
        assert f'data-beacon="{beacon}"' in html
        response = strict.post(beacon, HTTP_X_CSRFTOKEN=secret)
        assert response.status_code == 204
        shared = mixpanel.one("Share Link Copied")
        assert shared["question_id"] == tagged_question.pk
        assert shared["tags"] == ["food", "japan"]

    def test_the_beacon_needs_the_csrf_token_and_a_post(self, mixpanel, tagged_question):
        strict = Client(enforce_csrf_checks=True)
        strict.get(tagged_question.get_absolute_url())
        beacon = reverse("polls:link_copied", args=[tagged_question.slug])
        assert strict.post(beacon).status_code == 403
        assert strict.get(beacon).status_code == 405
        assert not mixpanel.events("Share Link Copied")

    def test_no_beacon_for_a_question_that_is_not_public(self, client, mixpanel, make_question):
        hidden = make_question(status=Question.Status.HIDDEN)
        beacon = reverse("polls:link_copied", args=[hidden.slug])
        assert client.post(beacon).status_code == 404

    def test_the_button_is_hidden_until_javascript_shows_it(self, client, tagged_question):
        html = client.get(tagged_question.get_absolute_url()).content.decode()
        assert re.search(r"<p [^>]*data-share-path=\"/q/[^\"]+/\"[^>]* hidden>", html)
        assert '<script src="/static/js/share.js" defer></script>' in html
        assert "<script>" not in html  # no inline JavaScript


# --- What never leaves --------------------------------------------------------------------------


def test_no_event_carries_personal_data(client, mixpanel, settings, db, mailoutbox, make_question):
    settings.MODERATE_FIRST_QUESTIONS = 0
    question = make_question(tags=("Food",))
    query = "?utm_campaign=spring&contact=ursula.private%40example.com"
    client.get(question.get_absolute_url() + query, REMOTE_ADDR="198.51.100.23")
    client.post(
        reverse("django_registration_register"),
        {
            "username": "ursula-private",
            "email": "ursula.private@example.com",
            "first_name": "Ursula",
            "password1": STRONG_PASSWORD,
            "password2": STRONG_PASSWORD,
        },
        REMOTE_ADDR="198.51.100.23",
    )
    post_activation(client, activation_key_of(link_in(mailoutbox[-1])))
    client.post(
        reverse("accounts:login"),
        {"username": "ursula-private", "password": STRONG_PASSWORD},
        REMOTE_ADDR="198.51.100.23",
    )
    client.get(question.get_absolute_url() + query, REMOTE_ADDR="198.51.100.23")
    vote(client, question, question.choices.first())
    client.post(reverse("polls:ask"), ask_data(confirm="1"))
    client.post(reverse("polls:report", args=[question.slug]), {"reason": "spam"})
    client.post(reverse("polls:link_copied", args=[question.slug]))

    names = {e["event"] for e in mixpanel.events()}
    assert names == {
        "Page Viewed",
        "Signed Up",
        "Account Activated",
        "Logged In",
        "Question Viewed",
        "Vote Cast",
        "Choices Picked",
        "Question Asked",
        "Question Reported",
        "Share Link Copied",
    }
    for form in mixpanel_posts(mixpanel.receiver):
        # The mixpanel client asks Mixpanel not to geolocate the sender's address.
        assert form["ip"] == ["0"]
        raw = form["data"][0]
        for private in ("ursula", "Ursula", "example.com", "198.51.100.23", "127.0.0.1"):
            assert private not in raw
        for leak in ("contact=", "?", "http"):
            assert leak not in raw
    for event in mixpanel.events():
        assert not {"ip", "$ip", "email", "$email", "username", "url"} & event["properties"].keys()
        assert event["properties"]["campaign"] == analytics.CAMPAIGNS[event["event"]]


def test_tracking_adds_no_query_to_a_warm_question_page(
    client, mixpanel_receiver, settings, established, tagged_question
):
    client.force_login(established)
    url = tagged_question.get_absolute_url()
    client.get(url)  # warm the cache
    with CaptureQueriesContext(connection) as untracked:
        client.get(url)
    mixpanel = mixpanel_receiver()
    with CaptureQueriesContext(connection) as tracked:
        client.get(url)
    assert len(tracked) == len(untracked)
    assert mixpanel.one("Question Viewed")["tags"] == ["food", "japan"]
