"""Embeds: /q/<slug>/embed/ shows a question and its result, read-only, to other sites' <iframe>s
(the only page any site may frame), sets no cookie and costs what the question page costs; the
question page offers the <iframe> code, and oEmbed answers for its plain address. A question
that is not public has neither.
"""

from __future__ import annotations

import html
import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from beebeta import analytics
from polls import services
from polls.models import Question
from tests.polls.test_page_costs import memcached_round_trips

ORIGIN = "https://beebeta.example"


@pytest.fixture
def question(make_question, settings, alice, bob) -> Question:
    settings.PUBLIC_ORIGIN = ORIGIN
    made = make_question("Tea or coffee?", ("Tea", "Coffee"))
    tea = made.choices.get(text="Tea")
    for voter in (alice, bob):
        services.cast_vote(user=voter, question=made, choice_ids=[tea.pk])
    return made


def embed_url(question: Question) -> str:
    return reverse("polls:embed", args=[question.slug])


def test_the_embed_shows_the_question_its_result_and_a_link_to_vote(client, question):
    response = client.get(embed_url(question))
    assert response.status_code == 200
    text = response.text
    assert '<h1 class="embed-title">Tea or coffee?</h1>' in text
    assert "results-table" in text and "<strong>2</strong> people have voted" in text
    vote = f'href="{ORIGIN}{question.get_absolute_url()}" target="_blank" rel="noopener"'
    assert f"{vote}>Vote on Beebeta</a>" in text
    assert "<form" not in text and "csrfmiddlewaretoken" not in text
    # Every link leaves the frame: none would open Beebeta inside the host page.
    assert all('target="_blank"' in tag for tag in re.findall(r"<a [^>]*>", text))
    assert "public" in response["Cache-Control"]


def test_results_that_are_not_public_yet_stay_out_of_the_embed(client, make_question):
    waiting = make_question(results_visibility=Question.Results.AFTER_CLOSE)
    text = client.get(embed_url(waiting)).text
    assert "results-table" not in text
    assert "The results show once voting ends." in text


@pytest.fixture
def analytics_on(settings):
    """Analytics as in production (events to a closed local port: nothing arrives)."""
    settings.MIXPANEL_TOKEN = "test-token"  # noqa: S105
    settings.MIXPANEL_EVENTS_URL = "http://127.0.0.1:9/track"
    analytics.reset()
    yield
    analytics.reset()


def test_the_embed_sets_no_cookie_for_visitors_or_members(question, alice, analytics_on):
    visitor = Client()
    # The question page gives a new visitor an analytics id; the embed gives nobody anything.
    assert "bb_aid" in visitor.get(question.get_absolute_url()).cookies
    for client in (Client(), visitor):
        response = client.get(embed_url(question))
        assert response.status_code == 200
        assert not response.cookies, response.cookies
        assert "Cookie" not in response.get("Vary", "")
    member = Client()
    member.force_login(alice)
    response = member.get(embed_url(question))
    assert not response.cookies
    assert "Cookie" not in response.get("Vary", "")


def test_a_warm_embed_runs_no_sql_and_one_memcached_round_trip(
    client, question, django_assert_num_queries, monkeypatch
):
    client.get(embed_url(question))
    with django_assert_num_queries(0):
        with memcached_round_trips(monkeypatch) as sent:
            assert client.get(embed_url(question)).status_code == 200
    assert sent == ["_fetch_cmd"]


def test_the_question_page_offers_the_iframe_code(client, question):
    text = client.get(question.get_absolute_url()).text
    box = re.search(r'<textarea id="embed-snippet"[^>]*>(.*?)</textarea>', text, re.S)
    assert box, "the embed box"
    code = html.unescape(box.group(1))
    assert code.startswith(f'<iframe src="{ORIGIN}{embed_url(question)}"')
    assert 'title="Tea or coffee? (a question on Beebeta)"' in code


def test_oembed_is_discovered_from_the_question_page_and_answers_json(client, question):
    text = client.get(question.get_absolute_url()).text
    found = re.search(r'<link rel="alternate" type="application/json\+oembed" href="([^"]+)"', text)
    assert found
    discovered = urlsplit(html.unescape(found.group(1)))
    assert f"{discovered.scheme}://{discovered.netloc}" == ORIGIN
    query = parse_qs(discovered.query)
    assert query["url"] == [f"{ORIGIN}{question.get_absolute_url()}"]
    response = client.get(discovered.path, {**query, "maxwidth": "400"})
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "*"
    answer = json.loads(response.content)
    assert answer["version"] == "1.0" and answer["type"] == "rich"
    assert answer["provider_name"] == "Beebeta" and answer["provider_url"] == f"{ORIGIN}/"
    assert answer["title"] == "Tea or coffee?"
    assert answer["width"] == 400 and answer["height"] == 460
    assert f'src="{ORIGIN}{embed_url(question)}"' in answer["html"]
    assert 'width="400"' in answer["html"]
    assert answer["thumbnail_url"].startswith(f"{ORIGIN}/") and answer["thumbnail_width"] == 1200


def test_oembed_refuses_what_it_cannot_answer(client, question):
    oembed = reverse("polls:oembed")
    address = f"{ORIGIN}{question.get_absolute_url()}"
    assert client.get(oembed, {"url": address, "format": "xml"}).status_code == 501
    elsewhere = client.get(oembed, {"url": "https://elsewhere.example/q/x/"})
    assert elsewhere.status_code == 400
    assert "address of a Beebeta question" in json.loads(elsewhere.content)["error"]
    assert client.get(oembed, {"url": f"{ORIGIN}/tags/"}).status_code == 400
    assert client.get(oembed).status_code == 400
    assert client.get(oembed, {"url": f"{ORIGIN}/q/no-such-question/"}).status_code == 404
    # The embed's own address works as well as the question's.
    assert client.get(oembed, {"url": f"{ORIGIN}{embed_url(question)}"}).status_code == 200


@pytest.mark.parametrize("status", [Question.Status.HIDDEN, Question.Status.PENDING])
def test_a_question_that_is_not_public_has_no_embed_and_no_oembed(client, question, staff, status):
    client.get(embed_url(question))  # cached while public
    question.status = status
    question.save()
    address = f"{ORIGIN}{question.get_absolute_url()}"
    for who in (Client(), client):
        assert who.get(embed_url(question)).status_code == 404
        assert who.get(reverse("polls:oembed"), {"url": address}).status_code == 404
        client.force_login(staff)  # not even for staff: an embed is public or nothing
