from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import OperationalError
from django.urls import reverse
from django.utils import timezone

from polls import services
from polls.models import Ballot, Question, Vote
from polls.tallies import read_counts


def vote_url(question: Question) -> str:
    return reverse("polls:vote", args=[question.slug])


def refused(client, question: Question, data: dict):
    """Post a vote that is refused: it comes back on the question's own page."""
    response = client.post(vote_url(question), data)
    assert response.status_code == 303
    assert response["Location"] == f"{question.get_absolute_url()}#vote"
    shown = client.get(question.get_absolute_url())
    assert shown.status_code == 200
    return shown


def choice_ids(question: Question) -> list[int]:
    return list(question.choices.values_list("pk", flat=True))


def stored_votes(user, question) -> list[int]:
    return sorted(
        Vote.objects.filter(ballot__user=user, question=question).values_list(
            "choice_id", flat=True
        )
    )


def test_first_vote_is_counted_and_redirects_with_confirmation(client, alice, question):
    ichiran = choice_ids(question)[0]
    client.force_login(alice)
    response = client.post(vote_url(question), {"choice": ichiran})
    assert response.status_code == 302
    assert response["Location"] == question.get_absolute_url()
    page = client.get(response["Location"])
    assert "your vote is counted" in page.content.decode()
    assert stored_votes(alice, question) == [ichiran]
    counts = read_counts(question.pk)
    assert counts.voters == 1
    assert counts.for_choice(ichiran) == 1


def test_second_vote_replaces_first(client, alice, question):
    first, second, _ = choice_ids(question)
    client.force_login(alice)
    client.post(vote_url(question), {"choice": first})
    response = client.post(vote_url(question), {"choice": second}, follow=True)
    assert "Your vote is changed" in response.content.decode()
    assert stored_votes(alice, question) == [second]
    assert Ballot.objects.filter(user=alice, question=question).count() == 1
    counts = read_counts(question.pk)
    assert (counts.voters, counts.for_choice(first), counts.for_choice(second)) == (1, 0, 1)


def test_same_vote_twice_changes_nothing(client, alice, question):
    first = choice_ids(question)[0]
    client.force_login(alice)
    client.post(vote_url(question), {"choice": first})
    response = client.post(vote_url(question), {"choice": first}, follow=True)
    assert "Your vote is unchanged" in response.content.decode()
    assert read_counts(question.pk).for_choice(first) == 1


def test_page_shows_results_with_my_choice_highlighted(client, alice, bob, question):
    first, second, _ = choice_ids(question)
    services.cast_vote(user=alice, question=question, choice_ids=[first])
    services.cast_vote(user=bob, question=question, choice_ids=[second])
    client.force_login(alice)
    html = client.get(question.get_absolute_url()).content.decode()
    assert "<strong>2</strong> people have voted" in html
    assert html.count('class="mine"') == 1
    assert '<td class="num share">50%' in html
    # The 95% Wilson interval of 1 of 2, where a symmetric margin would say ± 69.3 points.
    assert "9–91%" in html and "±" not in html
    assert "Change my vote" in html


def test_single_choice_question_refuses_two_choices(client, alice, question):
    client.force_login(alice)
    response = refused(client, question, {"choice": choice_ids(question)[:2]})
    assert "This question takes a single choice." in response.content.decode()
    assert not Ballot.objects.exists()


def test_multiple_choice_up_to_its_maximum(client, alice, make_question):
    question = make_question(
        "Which languages do you enjoy?", ("Python", "Rust", "Go", "C"), max_choices=2
    )
    python, rust, go, _ = choice_ids(question)
    client.force_login(alice)
    response = client.post(vote_url(question), {"choice": [python, rust]})
    assert response.status_code == 302
    assert stored_votes(alice, question) == sorted([python, rust])
    counts = read_counts(question.pk)
    assert counts.voters == 1 and counts.for_choice(python) == 1 and counts.for_choice(rust) == 1

    response = refused(client, question, {"choice": [python, rust, go]})
    html = response.content.decode()
    assert "You can pick at most 2 choices." in html
    # What was typed stays ticked.
    assert html.count("checked") == 3
    assert stored_votes(alice, question) == sorted([python, rust])

    client.post(vote_url(question), {"choice": [go]})
    assert stored_votes(alice, question) == [go]
    counts = read_counts(question.pk)
    assert (counts.voters, counts.for_choice(python), counts.for_choice(go)) == (1, 0, 1)


def test_no_choice_is_a_clear_error(client, alice, question):
    client.force_login(alice)
    response = refused(client, question, {})
    assert "Pick a choice before voting." in response.content.decode()


def test_choice_of_another_question_is_refused(client, alice, question, make_question):
    other = make_question("Tea or coffee?", ("Tea", "Coffee"))
    client.force_login(alice)
    response = refused(client, question, {"choice": choice_ids(other)[0]})
    assert "That choice is not part of this question." in response.content.decode()
    response = refused(client, question, {"choice": "not-a-number"})
    assert "That choice is not part of this question." in response.content.decode()


def test_closed_question_takes_no_votes(client, alice, closed_question):
    client.force_login(alice)
    html = client.get(closed_question.get_absolute_url()).content.decode()
    assert "badge-closed" in html and "Voting has ended" in html
    response = refused(client, closed_question, {"choice": choice_ids(closed_question)[0]})
    html = response.content.decode()
    closed = "This question is closed; it no longer takes votes."
    assert f'<div class="notice notice-error" id="vote" role="alert"><p>{closed}</p>' in html
    assert not Ballot.objects.exists()


def test_question_closed_by_moderator_takes_no_votes(client, alice, question):
    services.set_status(questions=[question], status=Question.Status.CLOSED)
    client.force_login(alice)
    response = refused(client, question, {"choice": choice_ids(question)[0]})
    assert "This question is closed; it no longer takes votes." in response.content.decode()
    assert not Ballot.objects.exists()


def test_a_refused_vote_is_shown_at_the_questions_own_address(client, alice, make_question):
    question = make_question("Which languages?", ("Python", "Rust", "Go"), max_choices=2)
    python, rust, go = choice_ids(question)
    client.force_login(alice)
    # Post, redirect, get: the browser ends on the question's address, not on /vote/.
    response = client.post(vote_url(question), {"choice": [python, rust, go]}, follow=True)
    assert response.redirect_chain == [(f"{question.get_absolute_url()}#vote", 303)]
    assert response.request["PATH_INFO"] == question.get_absolute_url()
    html = response.content.decode()
    errors = '<div id="choice-errors" role="alert"><ul class="errorlist"><li>'
    assert f"{errors}You can pick at most 2" in html
    for pk in (python, rust, go):
        assert re.search(rf'<input[^>]* value="{pk}"[^>]* checked', html), "what was ticked stays"
    # Reloading the page shows it afresh: nothing is posted again.
    again = client.get(question.get_absolute_url()).content.decode()
    assert "choice-errors" not in again and "checked" not in again
    assert not Ballot.objects.exists()


@pytest.mark.parametrize("status", ["draft", "pending", "hidden"])
def test_hidden_questions_are_not_found(client, alice, question, status):
    client.force_login(alice)
    assert client.get(question.get_absolute_url()).status_code == 200
    services.set_status(questions=[question], status=status)
    assert client.get(question.get_absolute_url()).status_code == 404
    response = client.post(vote_url(question), {"choice": choice_ids(question)[0]})
    assert response.status_code == 404
    assert not Ballot.objects.exists()


def test_anonymous_voter_is_sent_to_log_in_and_back(client, question):
    response = client.post(vote_url(question), {"choice": choice_ids(question)[0]})
    assert response.status_code == 302
    login = reverse("accounts:login")
    assert response["Location"] == f"{login}?next={question.get_absolute_url()}"
    assert not Ballot.objects.exists()


def test_login_brings_the_voter_back_to_the_question(client, alice, question):
    login = reverse("accounts:login")
    response = client.post(
        f"{login}?next={question.get_absolute_url()}",
        {"username": "alice", "password": "correct horse", "next": question.get_absolute_url()},
    )
    assert response.status_code == 302
    assert response["Location"] == question.get_absolute_url()


def test_vote_address_refuses_get(client, alice, question):
    client.force_login(alice)
    assert client.get(vote_url(question)).status_code == 405


def test_inactive_user_cannot_vote(alice, question):
    alice.is_active = False
    alice.save()
    with pytest.raises(services.VoteRejected):
        services.cast_vote(user=alice, question=question, choice_ids=choice_ids(question)[:1])


class TestResultsVisibility:
    def results_shown(self, client, question) -> bool:
        return "results-table" in client.get(question.get_absolute_url()).content.decode()

    def test_always(self, client, question):
        assert self.results_shown(client, question)

    def test_after_vote(self, client, alice, make_question):
        question = make_question(results_visibility=Question.Results.AFTER_VOTE)
        assert not self.results_shown(client, question)
        client.force_login(alice)
        assert not self.results_shown(client, question)
        assert (
            "shown to people who have voted"
            in client.get(question.get_absolute_url()).content.decode()
        )
        client.post(vote_url(question), {"choice": choice_ids(question)[0]})
        assert self.results_shown(client, question)

    def test_after_vote_once_closed_shows_everyone(self, client, make_question):
        question = make_question(
            results_visibility=Question.Results.AFTER_VOTE,
            closes_at=timezone.now() - timedelta(minutes=1),
        )
        assert self.results_shown(client, question)

    def test_after_close(self, client, alice, make_question):
        question = make_question(
            results_visibility=Question.Results.AFTER_CLOSE,
            closes_at=timezone.now() + timedelta(days=1),
        )
        client.force_login(alice)
        client.post(vote_url(question), {"choice": choice_ids(question)[0]})
        assert not self.results_shown(client, question)
        Question.objects.filter(pk=question.pk).update(
            closes_at=timezone.now() - timedelta(seconds=1)
        )
        services.set_status(questions=[question], status=Question.Status.CLOSED)
        assert self.results_shown(client, question)


def test_deleting_an_account_withdraws_its_votes(
    alice, bob, question, django_capture_on_commit_callbacks
):
    first, second, _ = choice_ids(question)
    services.cast_vote(user=alice, question=question, choice_ids=[first])
    services.cast_vote(user=bob, question=question, choice_ids=[second])
    # The lists' copy of the figures is refreshed once the deletion has committed.
    with django_capture_on_commit_callbacks(execute=True):
        alice.delete()
    counts = read_counts(question.pk)
    assert (counts.voters, counts.for_choice(first), counts.for_choice(second)) == (1, 0, 1)
    question.refresh_from_db()
    assert question.voter_count == 1


@pytest.mark.django_db(transaction=True)
def test_a_deadlock_over_the_rankings_after_a_vote_never_fails_it(
    make_question, alice, monkeypatch
):
    # The vote has committed; the lists' copy of its figures is left to refresh_rankings' sweep.
    question = make_question("Tea or coffee?", ("Tea", "Coffee"))
    tea = question.choices.get(text="Tea")

    def deadlock(**kwargs):
        raise OperationalError(1213, "Deadlock found when trying to get lock")

    monkeypatch.setattr(services.rankings, "refresh", deadlock)
    services.cast_vote(user=alice, question=question, choice_ids=[tea.pk])
    assert read_counts(question.pk).for_choice(tea.pk) == 1
    # An account's deletion refreshes the lists once it has committed, outside its transaction:
    # a deadlock there fails nothing either, and the votes are gone.
    alice.delete()
    assert not Vote.objects.filter(question=question).exists()
    assert read_counts(question.pk).for_choice(tea.pk) == 0
