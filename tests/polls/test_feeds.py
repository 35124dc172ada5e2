"""Atom feeds: new questions, per tag, and closed questions with their final result."""

from __future__ import annotations

from datetime import timedelta
from xml.etree import ElementTree

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from polls import services
from polls.models import Question
from polls.results import results
from tests.conftest import empty_cache

ATOM = "{http://www.w3.org/2005/Atom}"
User = get_user_model()


def entries(client: Client, url: str) -> list[ElementTree.Element]:
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(response.content)  # noqa: S314  (our own output)
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}title")
    return feed.findall(f"{ATOM}entry")


def titles(client: Client, url: str) -> list[str]:
    return [entry.findtext(f"{ATOM}title") for entry in entries(client, url)]


@pytest.fixture
def questions(make_question):
    now = timezone.now()
    made = {
        "tea": make_question("Tea <or> coffee?", ("Tea", "Coffee"), tags=("Drinks",)),
        "cats": make_question("Cats or dogs?", ("Cats", "Dogs"), tags=("Pets",)),
        "ended": make_question(
            "Best film of the year?", ("One", "Two"), closes_at=now - timedelta(hours=1)
        ),
        "closed": make_question(
            "Best band?", ("A", "B"), tags=("Drinks",), status=Question.Status.CLOSED
        ),
        "hidden": make_question(
            "Hidden question?", ("Yes", "No"), tags=("Drinks",), status=Question.Status.HIDDEN
        ),
        "pending": make_question(
            "Pending question?", ("Yes", "No"), tags=("Drinks",), status=Question.Status.PENDING
        ),
    }
    people = [User.objects.create_user(f"fan-{i}", f"fan-{i}@example.org", "pw") for i in range(12)]
    ended = made["ended"]
    choices = list(ended.choices.all())
    # Voted while it was open: closing it is what the test is about.
    ended.closes_at = None
    ended.save()
    for n, person in enumerate(people):
        services.cast_vote(user=person, question=ended, choice_ids=[choices[n < 11].pk])
    ended.closes_at = now - timedelta(hours=1)
    ended.save()
    return made


def test_the_new_questions_feed_parses_and_holds_only_public_questions(client, questions):
    found = entries(client, "/feeds/new/")
    names = [entry.findtext(f"{ATOM}title") for entry in found]
    assert set(names) == {
        "Tea <or> coffee?",
        "Cats or dogs?",
        "Best film of the year?",
        "Best band?",
    }
    links = {entry.find(f"{ATOM}link").get("href") for entry in found}
    assert f"http://testserver{questions['tea'].get_absolute_url()}" in links
    tea = next(e for e in found if e.findtext(f"{ATOM}title") == "Tea <or> coffee?")
    assert [c.get("term") for c in tea.findall(f"{ATOM}category")] == ["Drinks"]


def test_a_tags_feed_holds_its_public_questions(client, questions):
    assert set(titles(client, "/feeds/tags/drinks/")) == {"Tea <or> coffee?", "Best band?"}
    assert client.get("/feeds/tags/no-such-tag/").status_code == 404


def test_the_closed_feed_gives_each_final_result(client, questions):
    found = entries(client, "/feeds/closed/")
    # Most recently ended first; one closed by a moderator ended when it was published, for all
    # anyone can tell.
    assert [e.findtext(f"{ATOM}title") for e in found] == ["Best band?", "Best film of the year?"]
    ended = questions["ended"]
    said = results(
        list(ended.choices.all()),
        {choice.pk: choice.votes.count() for choice in ended.choices.all()},
        ended.ballots.count(),
        closed=True,
        multiple=False,
    ).headline
    assert said.lead == "Most said “Two”"
    summary = found[1].findtext(f"{ATOM}summary")
    assert summary == f"<p>{said.lead}: {said.figures}</p>"
    assert found[0].findtext(f"{ATOM}summary") == "<p>Nobody voted.</p>"


def test_a_question_hidden_after_it_was_in_a_feed_leaves_it(client, questions, settings):
    assert "Cats or dogs?" in titles(client, "/feeds/new/")
    cats = questions["cats"]
    cats.status = Question.Status.HIDDEN
    cats.save()
    # Feeds are kept whole for LIST_CACHE_SECONDS, like the lists' rows.
    empty_cache(settings)
    assert "Cats or dogs?" not in titles(client, "/feeds/new/")
    assert "Cats or dogs?" not in titles(client, "/feeds/tags/pets/")


def test_pages_link_their_feeds(client, questions):
    home = client.get("/").content.decode()
    alternate = 'rel="alternate" type="application/atom+xml" title="Beebeta: new questions"'
    assert f'{alternate} href="/feeds/new/"' in home
    assert 'href="/feeds/closed/"' in home
    tag = client.get("/tags/drinks/").content.decode()
    assert 'href="/feeds/tags/drinks/"' in tag and 'href="/feeds/new/"' in tag
    page = client.get(questions["tea"].get_absolute_url()).content.decode()
    assert 'href="/feeds/new/"' in page


def test_feeds_are_kept_whole_and_cost_no_query_when_warm(
    client, questions, django_assert_num_queries
):
    first = client.get("/feeds/new/").content
    with django_assert_num_queries(0):
        assert client.get("/feeds/new/").content == first
        assert client.get("/feeds/new/?skip=1").content == first
