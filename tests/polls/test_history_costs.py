"""The question page and ?as_of= cost the same with 2 days of history as with 400."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.utils import timezone

from polls import history, services
from polls.models import GroupRelease, ResultDay, SnapshotRun
from tests.polls.test_page_costs import COLD_QUERIES, HISTORY_QUERIES, memcached_round_trips


def snapshot_days(question, first: date, days: int) -> None:
    """``days`` days of snapshots from ``first``: one more voter for the first choice each day,
    and a run on every day."""
    yes = question.choices.first()
    ResultDay.objects.bulk_create(
        ResultDay(
            question=question,
            day=first + timedelta(days=n),
            voters=n + 1,
            votes={str(yes.pk): n + 1},
            counted_at=datetime.combine(first + timedelta(days=n), time(23, 55), tzinfo=UTC),
        )
        for n in range(days)
    )
    SnapshotRun.objects.bulk_create(
        SnapshotRun(
            day=first + timedelta(days=n),
            started_at=datetime.combine(first + timedelta(days=n), time(23, 55), tzinfo=UTC),
            finished_at=datetime.combine(first + timedelta(days=n), time(23, 56), tzinfo=UTC),
        )
        for n in range(days)
        if not SnapshotRun.objects.filter(day=first + timedelta(days=n)).exists()
    )


def with_history(make_question, alice, days: int):
    question = make_question(f"{days} days?", ("Yes", "No", "Maybe"))
    yes = question.choices.first()
    today = timezone.now().date()
    first = today - timedelta(days=days)
    question.published_at = datetime.combine(first, time(1), tzinfo=UTC)
    question.save(update_fields=["published_at"])
    services.cast_vote(user=alice, question=question, choice_ids=[yes.pk])
    snapshot_days(question, first, days)
    GroupRelease.objects.create(
        question=question, split="account", checked_at=timezone.now(), below_minimum=["new"]
    )
    assert len(history.build_history(question.pk).days) == days
    return question, first


def costs(client, url: str, params: dict, django_assert_max_num_queries, monkeypatch):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as cold:
        assert client.get(url, params).status_code == 200
    with CaptureQueriesContext(connection) as warm:
        with memcached_round_trips(monkeypatch) as sent:
            html = client.get(url, params).content.decode()
    return len(cold), len(warm), sorted(sent), html


@pytest.mark.parametrize("as_of", [False, True], ids=["now", "as_of"])
def test_page_and_as_of_cost_the_same_at_2_and_400_days(
    client, alice, make_question, django_assert_max_num_queries, monkeypatch, as_of
):
    measured = {}
    for days in (2, 400):
        question, first = with_history(make_question, alice, days)
        params = {"as_of": (first + timedelta(days=1)).isoformat()} if as_of else {}
        cold, warm, sent, html = costs(
            client, question.get_absolute_url(), params, django_assert_max_num_queries, monkeypatch
        )
        assert "trend-table" in html and html.count('href="?as_of=') == days
        if as_of:
            assert "Results at the end of" in html
        measured[days] = (cold, warm, sent)
    assert measured[2] == measured[400], measured
    cold, warm, sent = measured[400]
    assert cold <= COLD_QUERIES + HISTORY_QUERIES and warm == 0
    # One get_many (question, counts, history) and the view counter, as without history.
    assert sent == ["_fetch_cmd", "_misc_cmd"], sent
