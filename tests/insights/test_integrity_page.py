"""Staff insights list the questions being pushed now, with the way to the moderation queue,
and the strongest co-voting."""

from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from polls import covoting, integrity
from tests.polls.test_covoting import plant
from tests.polls.test_integrity import vote


def test_a_pushed_question_is_listed_with_links_to_moderate_it(
    staff_client, make_question, django_assert_max_num_queries
):
    pushed = make_question("Pushed?", ("Yes", "No"))
    calm = make_question("Calm?", ("Yes", "No"))
    now = timezone.now()
    vote(pushed, "Yes", when=now - timedelta(minutes=3), account_age=timedelta(hours=1), n=30)
    for hour in range(1, 20):
        vote(calm, "No", when=now - timedelta(hours=hour), account_age=timedelta(days=90))
    integrity.refresh()
    with django_assert_max_num_queries(5):
        html = staff_client.get(reverse("polls:insights_integrity")).content.decode()
    table = html[html.index('id="flagged"') : html.index("</table>")]
    assert "Pushed?" in table and "Calm?" not in table
    assert "burst, new accounts" in table
    assert reverse("admin:polls_question_change", args=[pushed.pk]) in table
    assert reverse("admin:polls_moderationqueue_changelist") in table
    assert "100%" in table


def test_a_flag_older_than_a_day_is_no_longer_listed(staff_client, make_question):
    old = make_question("Old push?", ("Yes", "No"))
    vote(old, "Yes", when=timezone.now() - timedelta(days=2), account_age=timedelta(hours=1), n=30)
    integrity.refresh()
    html = staff_client.get(reverse("polls:insights_integrity")).content.decode()
    assert "Old push?" not in html
    assert "No question flagged in the last 24 hours" in html


def test_the_strongest_co_voting_is_listed(staff_client, make_question, settings):
    settings.CO_VOTING_MIN_VOTERS = 50
    here = make_question("Tea or coffee?", ("Tea", "Coffee"))
    there = make_question("Early or late?", ("Early", "Late"))
    plant(here, there, tea_early=40, tea_late=10, coffee_early=10, coffee_late=40)
    covoting.refresh()
    html = staff_client.get(reverse("polls:insights_integrity")).content.decode()
    table = html[html.index('id="co-voting"') :]
    assert "“Tea”" in table and "“Early”" in table and ">4.0<" in table
    assert "about 100" in table
