"""Co-voting: a planted association is found with its lift, nothing shows at k-1 common voters,
one person never moves a published figure, and a page never computes any of it."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from polls import covoting, services
from polls.models import CoVoting

User = get_user_model()
_made = iter(range(100_000))


@pytest.fixture(autouse=True)
def k(settings) -> int:
    settings.CO_VOTING_MIN_VOTERS = 50
    return 50


@pytest.fixture
def pair(make_question):
    here = make_question("Tea or coffee?", ("Tea", "Coffee"))
    there = make_question("Early or late?", ("Early", "Late"))
    return here, there


def plant(here, there, *, tea_early: int, tea_late: int, coffee_early: int, coffee_late: int):
    """People who vote on both questions, in the four combinations given."""
    tea, coffee = (here.choices.get(text=t).pk for t in ("Tea", "Coffee"))
    early, late = (there.choices.get(text=t).pk for t in ("Early", "Late"))
    cells = [
        (tea, early, tea_early),
        (tea, late, tea_late),
        (coffee, early, coffee_early),
        (coffee, late, coffee_late),
    ]
    for first, second, n in cells:
        users = User.objects.bulk_create(User(username=f"c{next(_made)}") for _ in range(n))
        for user in users:
            services.cast_vote(user=user, question=here, choice_ids=[first])
            services.cast_vote(user=user, question=there, choice_ids=[second])


def test_a_planted_association_is_found_with_its_lift(client, pair):
    here, there = pair
    # Tea drinkers: 40 of 50 rise early; coffee drinkers: 10 of 50. Lift 0.8 / 0.2 = 4.
    plant(here, there, tea_early=40, tea_late=10, coffee_early=10, coffee_late=40)
    outcome = covoting.refresh()
    assert outcome.pairs == 1
    row = CoVoting.objects.get(question=here, other=there)
    assert (row.choice.text, row.other_choice.text, row.lift, row.common) == (
        "Tea",
        "Early",
        4.0,
        100,
    )
    back = CoVoting.objects.get(question=there, other=here)
    assert (back.choice.text, back.other_choice.text, back.lift) == ("Early", "Tea", 4.0)
    html = client.get(here.get_absolute_url()).content.decode()
    assert "People who chose “Tea” here were <strong>4.0 times</strong> as likely" in html
    assert 'to choose “Early” on <a href="' + there.get_absolute_url() in html
    assert "about 100 people voted on both" in html


def test_nothing_is_shown_at_k_minus_one_common_voters(client, pair, k):
    here, there = pair
    plant(here, there, tea_early=20, tea_late=5, coffee_early=10, coffee_late=k - 1 - 35)
    assert covoting.common_pairs() == {}
    assert covoting.refresh().released == 0
    assert not CoVoting.objects.exists()
    assert (
        "What its voters chose elsewhere"
        not in client.get(here.get_absolute_url()).content.decode()
    )
    plant(here, there, tea_early=0, tea_late=0, coffee_early=0, coffee_late=1)
    assert covoting.refresh().released == 2
    assert CoVoting.objects.filter(question=here).exists()


def test_published_counts_are_rounded_and_one_person_moves_nothing(pair):
    """A differencing attack: the figures before and after one more common voter are the same."""
    here, there = pair
    plant(here, there, tea_early=43, tea_late=11, coffee_early=12, coffee_late=38)
    covoting.refresh()
    before = CoVoting.objects.get(question=here, other=there)
    assert before.common == 100  # 104 people, rounded to tens
    assert all(value % covoting.ROUND == 0 for value in before.figures.values())
    plant(here, there, tea_early=1, tea_late=0, coffee_early=0, coffee_late=0)
    covoting.refresh()
    after = CoVoting.objects.get(question=here, other=there)
    assert (after.released_at, after.figures, after.lift, after.common) == (
        before.released_at,
        before.figures,
        before.lift,
        before.common,
    )


def test_weak_associations_are_not_shown(pair):
    here, there = pair
    plant(here, there, tea_early=25, tea_late=25, coffee_early=25, coffee_late=25)
    covoting.refresh()
    assert not CoVoting.objects.exists()


def test_the_question_page_never_computes_co_voting(client, pair, monkeypatch):
    here, there = pair
    plant(here, there, tea_early=40, tea_late=10, coffee_early=10, coffee_late=40)
    covoting.refresh()

    def refuse(*args, **kwargs):
        raise AssertionError("co-voting computed on a request")

    for name in ("refresh", "strongest", "common_pairs", "_voters"):
        monkeypatch.setattr(covoting, name, refuse)
    assert client.get(here.get_absolute_url()).status_code == 200


def test_a_cold_question_page_costs_the_same_with_pairs_and_flags(client, pair, make_question):
    from django.core.cache import cache
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from polls import cache_keys, integrity

    here, there = pair

    def cold_queries() -> int:
        slug = there.slug
        cache.delete_many(
            [f(slug) for f in (cache_keys.question, cache_keys.counts, cache_keys.history)]
            + [cache_keys.insight(slug)]
        )
        with CaptureQueriesContext(connection) as captured:
            assert client.get(there.get_absolute_url()).status_code == 200
        return len(captured)

    alone = cold_queries()
    plant(here, there, tea_early=40, tea_late=10, coffee_early=10, coffee_late=40)
    for n in range(3):
        other = make_question(f"Another {n}?", ("Tea", "Coffee"))
        plant(other, there, tea_early=40, tea_late=10, coffee_early=10, coffee_late=40)
    covoting.refresh()
    integrity.refresh()
    assert CoVoting.objects.filter(question=there).count() == 4
    assert cold_queries() == alone
