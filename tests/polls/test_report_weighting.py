"""Weighted reports: only accounts past REPORTER_MIN_DAYS that voted on REPORTER_MIN_VOTES
questions (or staff) count toward REPORTS_TO_HIDE; anyone's report puts the question in the
moderation queue."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from polls import services
from polls.models import Question

pytestmark = pytest.mark.django_db

User = get_user_model()
QUEUE = reverse("admin:polls_moderationqueue_changelist")


@pytest.fixture(autouse=True)
def _rule(settings) -> None:
    settings.REPORTS_TO_HIDE = 3
    settings.REPORTER_MIN_DAYS = 7
    settings.REPORTER_MIN_VOTES = 3


@pytest.fixture
def target(make_question, alice) -> Question:
    return make_question("Is this question fine for everyone?", ("Yes", "No"), author=alice)


@pytest.fixture
def polls(make_question) -> list[Question]:
    """Questions a reporter can build a record of votes on."""
    return [make_question(f"Everyday question number {n}?", ("Yes", "No")) for n in range(4)]


_names = iter(range(10_000))


def account(*, days: float, votes: int, polls: list[Question]):
    user = User.objects.create_user(username=f"reporter{next(_names)}", password="x")
    for question in polls[:votes]:
        choice = question.choices.first()
        services.cast_vote(user=user, question=question, choice_ids=[choice.pk])
    User.objects.filter(pk=user.pk).update(date_joined=timezone.now() - timedelta(days=days))
    user.refresh_from_db()
    return user


def report(question: Question, reporter) -> services.ReportOutcome:
    return services.report_question(question=question, reporter=reporter, reason="spam")


def status(question: Question) -> str:
    question.refresh_from_db()
    return question.status


def test_a_handful_of_fresh_accounts_cannot_hide_a_question(target, polls, staff):
    # New today, each with a record of votes made for the purpose: five times the threshold.
    fresh = [account(days=0, votes=4, polls=polls) for _ in range(5)]
    client = Client()
    for reporter in fresh:
        client.force_login(reporter)
        response = client.post(reverse("polls:report", args=[target.slug]), {"reason": "spam"})
        assert response.status_code == 302
    assert status(target) == Question.Status.PUBLISHED
    assert Client().get(target.get_absolute_url()).status_code == 200
    # Queued for review all the same, with their reports.
    assert Question.objects.needs_review().filter(pk=target.pk).exists()
    moderator = Client()
    moderator.force_login(staff)
    assert target.title in moderator.get(QUEUE).content.decode()


def test_old_accounts_without_votes_do_not_count(target, polls):
    for _ in range(4):
        assert not report(target, account(days=400, votes=0, polls=polls)).hidden
    assert status(target) == Question.Status.PUBLISHED


def test_established_voters_hide_it_and_fresh_reports_add_nothing(target, polls):
    established = [account(days=7, votes=3, polls=polls) for _ in range(3)]
    report(target, established[0])
    report(target, established[1])
    for _ in range(3):
        assert not report(target, account(days=6.9, votes=4, polls=polls)).hidden
    assert status(target) == Question.Status.PUBLISHED
    assert report(target, established[2]).hidden
    assert status(target) == Question.Status.HIDDEN


def test_one_vote_short_does_not_count(target, polls):
    for _ in range(3):
        assert not report(target, account(days=30, votes=2, polls=polls)).hidden
    assert status(target) == Question.Status.PUBLISHED


def test_staff_reports_count(target, polls, staff, settings):
    settings.REPORTS_TO_HIDE = 2
    report(target, account(days=30, votes=3, polls=polls))
    assert report(target, staff).hidden


def test_votes_alone_or_age_alone_when_the_other_is_zero(target, polls, settings):
    settings.REPORTS_TO_HIDE = 1
    settings.REPORTER_MIN_DAYS = 0
    assert report(target, account(days=0, votes=3, polls=polls)).hidden
    target.refresh_from_db()
    services.approve_questions(questions=[target], moderator=None)
    assert status(target) == Question.Status.PUBLISHED
    settings.REPORTER_MIN_DAYS, settings.REPORTER_MIN_VOTES = 7, 0
    assert not report(target, account(days=1, votes=0, polls=polls)).hidden
    assert report(target, account(days=8, votes=0, polls=polls)).hidden


def test_the_queue_says_which_reports_do_not_count(target, polls, staff):
    fresh = account(days=0, votes=4, polls=polls)
    silent = account(days=400, votes=0, polls=polls)
    established = account(days=30, votes=3, polls=polls)
    for reporter in (fresh, silent, established):
        report(target, reporter)
    moderator = Client()
    moderator.force_login(staff)
    html = moderator.get(QUEUE).content.decode()
    marker = " <em>(does not count toward hiding: a new account, or one with few votes)</em>"
    for reporter, counted in ((fresh, False), (silent, False), (established, True)):
        line = re.search(rf"Spam or advertising by {reporter.username}, [^<]*ago(.*?)</li>", html)
        assert line, reporter.username
        assert (line[1] == "") is counted and (line[1] in ("", marker))
