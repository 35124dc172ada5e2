"""The management commands: demo data, the vote-counter repair, and the ranking sweep."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from polls import services
from polls.models import (
    Ballot,
    ChoiceTally,
    Question,
    QuestionTally,
    Tag,
    Vote,
    VoteActivity,
)
from polls.tallies import read_counts


def run(command: str) -> str:
    out = StringIO()
    call_command(command, stdout=out)
    return out.getvalue()


def assert_counters_equal_rows(question: Question) -> None:
    counts = read_counts(question.pk)
    ballots = Ballot.objects.filter(question=question).count()
    assert counts.voters == ballots, question.title
    rows = Counter(Vote.objects.filter(question=question).values_list("choice_id", flat=True))
    assert {c: n for c, n in counts.by_choice.items() if n} == dict(rows), question.title
    first_votes = VoteActivity.objects.filter(question=question).aggregate(n=Sum("votes"))["n"]
    assert (first_votes or 0) == ballots, question.title
    question.refresh_from_db()
    assert question.voter_count == ballots, question.title


def population() -> dict[str, int]:
    User = get_user_model()
    models = (Question, User, Ballot, Vote, Tag, QuestionTally, ChoiceTally, VoteActivity)
    return {model.__name__: model.objects.count() for model in models}


def test_seed_demo_twice_creates_the_same_demo_once(db):
    first_output = run("seed_demo")
    first = population()
    assert first["Question"] >= 30 and first["Tag"] >= 8
    assert first["User"] >= 60 and first["Ballot"] >= 500
    assert f"{first['Question']} questions ({first['Question']} new)" in first_output

    second_output = run("seed_demo")
    assert population() == first
    assert "(0 new)" in second_output
    for question in Question.objects.all():
        assert_counters_equal_rows(question)
    statuses = set(Question.objects.values_list("status", flat=True))
    assert {"published", "pending", "hidden"} <= statuses


def test_the_demo_shows_a_flagged_push_and_co_voting(client, db):
    from polls.models import CoVoting, IntegrityCheck

    run("seed_demo")
    pushed = Question.objects.get(title="Should the city build a new football stadium?")
    check = IntegrityCheck.objects.get(question=pushed)
    assert check.burst_flag and check.new_accounts_flag
    page = client.get(pushed.get_absolute_url()).content.decode()
    assert "A burst of votes, and many new accounts" in page
    scooters = Question.objects.get(title="Should electric scooters be allowed on pavements?")
    pair = CoVoting.objects.get(question=scooters, other__title__startswith="Should remote work")
    assert pair.lift >= 1.5 and pair.common >= 50
    page = client.get(scooters.get_absolute_url()).content.decode()
    assert "What its voters chose elsewhere" in page
    calm = Question.objects.filter(title__startswith="Which restaurant serves").get()
    assert not IntegrityCheck.objects.get(question=calm).burst_flag


def test_recount_votes_repairs_counters_and_the_cached_counts(client, alice, bob, question):
    first, second, third = question.choices.values_list("pk", flat=True)
    services.cast_vote(user=alice, question=question, choice_ids=[first])
    services.cast_vote(user=bob, question=question, choice_ids=[second])
    ChoiceTally.objects.filter(question=question).update(votes=999)
    QuestionTally.objects.filter(question=question).delete()
    stale = client.get(question.get_absolute_url()).content.decode()
    assert '<td class="num">999</td>' in stale
    assert "<strong>0</strong> people have voted" in stale

    assert "1 questions, 2 corrected" in run("recount_votes")

    assert_counters_equal_rows(question)
    assert read_counts(question.pk).for_choice(third) == 0
    html = client.get(question.get_absolute_url()).content.decode()
    assert '<td class="num">999</td>' not in html
    assert (
        "<strong>2</strong> people have voted" in html
        and html.count('<td class="num share">50%') == 2
    )
    # Nothing left to correct: it doubles as an audit.
    assert "1 questions, 0 corrected" in run("recount_votes")


def test_recount_votes_keeps_trending_figures(alice, bob, question):
    first = question.choices.first().pk
    services.cast_vote(user=alice, question=question, choice_ids=[first])
    three_days_ago = timezone.now() - timedelta(days=3)
    services.cast_vote(user=bob, question=question, choice_ids=[first], now=three_days_ago)
    VoteActivity.objects.filter(question=question).delete()
    run("recount_votes")
    question.refresh_from_db()
    assert (question.voter_count, question.votes_24h, question.votes_7d) == (2, 1, 2)


@pytest.mark.parametrize(
    ("days_ago", "figures"),
    [(0, (2, 2, 2)), (2, (2, 0, 2)), (8, (2, 0, 0))],
    ids=["today", "two-days-ago", "eight-days-ago"],
)
def test_refresh_rankings_lets_votes_age_out_of_trending(alice, bob, question, days_ago, figures):
    moment = timezone.now() - timedelta(days=days_ago)
    first = question.choices.first()
    for user in (alice, bob):
        services.cast_vote(user=user, question=question, choice_ids=[first.pk], now=moment)
    # The figures as a refresh at voting time left them.
    Question.objects.filter(pk=question.pk).update(
        voter_count=2, votes_24h=2, votes_7d=2, leading_choice=first, leading_votes=2
    )
    output = run("refresh_rankings")
    question.refresh_from_db()
    assert (question.voter_count, question.votes_24h, question.votes_7d) == figures
    changed = 0 if figures == (2, 2, 2) else 1
    assert f"refresh_rankings: {changed} questions changed" in output
