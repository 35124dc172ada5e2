"""How groups answered: the k rule, and the differencing attacks it must withstand."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from polls import history, services
from polls.models import GroupRelease

User = get_user_model()
K = 10


@pytest.fixture
def poll(make_question):
    """A question asked 20 days ago, so both splits apply."""
    question = make_question("Groups?", ("Yes", "No"))
    question.published_at = timezone.now() - timedelta(days=20)
    question.save(update_fields=["published_at"])
    return question


_made = iter(range(10_000))


def vote(question, choice: str, *, new: bool, n: int = 1, when: datetime | None = None):
    """``n`` people vote ``choice``: accounts a few days old (new) or a year old."""
    moment = when or timezone.now()
    age = timedelta(days=3 if new else 400)
    pick = question.choices.get(text=choice).pk
    users = []
    for _ in range(n):
        user = User.objects.create(username=f"g{next(_made)}", date_joined=moment - age)
        services.cast_vote(user=user, question=question, choice_ids=[pick], now=moment)
        users.append(user)
    return users


def groups_section(client, question) -> str:
    html = client.get(question.get_absolute_url()).content.decode()
    start = html.find('<section class="groups"')
    return html[start : html.index("</section>", start)] if start >= 0 else ""


def account_table(section: str) -> str:
    start = section.index("New and established accounts")
    return section[start : section.index("</ul>", start)]


def test_a_group_under_k_is_fewer_than_k_and_its_complement_is_withheld(client, poll):
    vote(poll, "Yes", new=True, n=K - 1)
    vote(poll, "No", new=False, n=30)
    history.take_snapshot()
    table = account_table(groups_section(client, poll))
    assert "fewer than 10 voters" in table and "withheld" in table
    # Totals minus a shown group would give the small one: no share of either is shown.
    assert "%" not in table
    release = GroupRelease.objects.get(question=poll, split="account")
    assert release.released_at is None and release.below_minimum == ["new"]


def test_groups_of_k_are_shown_with_intervals(client, poll):
    vote(poll, "Yes", new=True, n=K)
    vote(poll, "No", new=False, n=K + 2)
    history.take_snapshot()
    table = account_table(groups_section(client, poll))
    assert "10 voters" in table and "12 voters" in table
    assert re.search(r"100% <span class=\"range\">72–100%</span>", table)


def test_one_more_voter_never_changes_the_groups_today_against_yesterday(client, poll):
    """Differencing attack: the groups before and after one person votes, changes or withdraws
    are the same page, so comparing them reveals nothing about that person."""
    vote(poll, "Yes", new=True, n=K)
    vote(poll, "No", new=False, n=K)
    history.take_snapshot()
    before = groups_section(client, poll)
    assert "10 voters" in before

    vote(poll, "No", new=True)  # one newcomer
    history.take_snapshot()
    assert groups_section(client, poll) == before
    changer = vote(poll, "Yes", new=False)[0]
    history.take_snapshot()
    services.cast_vote(user=changer, question=poll, choice_ids=[poll.choices.get(text="No").pk])
    history.take_snapshot()
    services.withdraw_vote(user=changer, question=poll)
    history.take_snapshot()
    assert groups_section(client, poll) == before
    # The totals move with every vote (they are public live); the groups do not.
    assert "<strong>21</strong> people" in client.get(poll.get_absolute_url()).content.decode()

    # Once at least k people of each group changed since, a new release is made.
    vote(poll, "No", new=True, n=K - 1)
    vote(poll, "Yes", new=False, n=K - 1)
    history.take_snapshot()
    # Newcomers: 10 changed. Established: 9 since (the one who came and went is not seen).
    assert account_table(groups_section(client, poll)) == account_table(before)
    vote(poll, "Yes", new=False, n=1)
    history.take_snapshot()
    after = account_table(groups_section(client, poll))
    assert after != account_table(before) and "20 voters" in after


def test_withdrawals_alone_count_as_changes_from_below(client, poll):
    new = vote(poll, "Yes", new=True, n=K + 5)
    vote(poll, "No", new=False, n=K + 5)
    history.take_snapshot()
    before = groups_section(client, poll)
    for user in new[: K - 1]:
        services.withdraw_vote(user=user, question=poll)
    history.take_snapshot()
    assert groups_section(client, poll) == before


def test_early_and_later_voters_once_the_first_week_is_over(client, make_question):
    question = make_question("Early?", ("Yes", "No"))
    published = timezone.now() - timedelta(days=3)
    question.published_at = published
    question.save(update_fields=["published_at"])
    vote(question, "Yes", new=False, n=K, when=published + timedelta(hours=2))
    history.take_snapshot()
    assert "Early and later voters" not in groups_section(client, question)
    assert not GroupRelease.objects.filter(question=question, split="period").exists()

    later = published + timedelta(days=8)
    vote(question, "No", new=False, n=K, when=later)
    history.take_snapshot(now=later + timedelta(minutes=1))
    release = GroupRelease.objects.get(question=question, split="period")
    yes, no = (str(c.pk) for c in question.choices.all())
    assert release.figures == {
        "first_week": {"voters": K, "votes": {yes: K}},
        "later": {"voters": K, "votes": {no: K}},
    }


def test_k_cannot_be_set_below_ten(monkeypatch):
    from beebeta.env import env_int

    monkeypatch.setenv("GROUP_MIN_VOTERS", "5")
    with pytest.raises(Exception, match="GROUP_MIN_VOTERS"):
        env_int("GROUP_MIN_VOTERS", 10, minimum=10)


def test_no_page_names_who_voted_for_what(client, poll, alice):
    services.cast_vote(user=alice, question=poll, choice_ids=[poll.choices.first().pk])
    vote(poll, "No", new=False, n=K)
    history.take_snapshot()
    for params in ({}, {"as_of": (timezone.now() - timedelta(days=1)).date().isoformat()}):
        html = client.get(poll.get_absolute_url(), params).content.decode()
        assert "alice" not in html and not re.search(r"\bg\d+\b", html)


_ = (UTC, time)
