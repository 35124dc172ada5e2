"""The question page's rendered parts (polls/fragments.py): reused while the data they show is
the same, never shown to someone they were not rendered for, never stale after a change."""

from __future__ import annotations

import re

import pytest

from polls import services

PARTS = {"polls/_question_head.html", "polls/_vote_options.html", "polls/_results.html"}


def rendered_parts(response) -> set[str]:
    return {template.name for template in response.templates} & PARTS


@pytest.fixture
def question(make_question):
    return make_question()


def test_a_warm_page_reuses_its_parts_and_looks_the_same(client, question):
    first = client.get(question.get_absolute_url())
    assert rendered_parts(first) == PARTS
    second = client.get(question.get_absolute_url())
    assert rendered_parts(second) == set()
    # Apart from the CSRF token, which is new on every page, the page is the same.
    token = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    assert token.sub("", second.content.decode()) == token.sub("", first.content.decode())


def test_a_voters_choice_is_shown_to_them_and_to_no_one_else(client, question, alice, bob):
    chosen = question.choices.get(text="Ippudo")
    services.cast_vote(user=alice, question=question, choice_ids=[chosen.pk])
    url = question.get_absolute_url()

    client.force_login(alice)
    mine = client.get(url).content.decode()
    assert "your choice" in mine
    assert re.search(rf'<input[^>]* value="{chosen.pk}"[^>]* checked', mine)

    for visitor in (bob, None):
        client.logout()
        if visitor is not None:
            client.force_login(visitor)
        page = client.get(url).content.decode()
        assert "your choice" not in page
        assert "checked" not in page


def test_a_vote_shows_at_once_where_results_were_reused(client, question, alice):
    url = question.get_absolute_url()
    client.get(url)
    before = client.get(url)
    assert rendered_parts(before) == set()
    assert "<strong>0</strong> people have voted" in before.content.decode()

    services.cast_vote(user=alice, question=question, choice_ids=[question.choices.first().pk])
    after = client.get(url)
    assert "<strong>1</strong> person has voted" in after.content.decode()
    # The counts are new, so the results are rendered again; the question is the same.
    assert rendered_parts(after) == {"polls/_results.html"}


def test_form_errors_are_never_reused(client, question, alice):
    client.force_login(alice)
    url = question.get_absolute_url()
    refused = client.post(f"{url}vote/", {}, follow=True)
    assert 'id="choice-errors"' in refused.content.decode()
    assert 'id="choice-errors"' not in client.get(url).content.decode()
