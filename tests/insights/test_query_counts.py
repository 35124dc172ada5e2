"""Every insights page costs the same number of queries at 10 and at 2,000 rows of everything."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from accounts.user_groups import UserGroup
from polls.models import (
    Ballot,
    GroupActivityHourly,
    Question,
    QuestionDaily,
    QuestionHourly,
    Report,
)
from polls.tallies import hour_of

# The page's own queries (the staff member's session and account come from memcached).
PAGES = {
    # Most viewed and most voted, for three windows.
    "/insights/": 6,
    "/insights/activity/?tz=Europe/Helsinki": 1,
    "/insights/signups/?days=90": 1,
    # Held per day, reports per day, resolved per day, pending now, reported now.
    "/insights/moderation/": 5,
}


def populate(size: int) -> None:
    """``size`` rows in each roll-up, and as many accounts, ballots and reports."""
    now = timezone.now()
    this_hour, today = hour_of(now), now.date()
    question_count = max(10, size // 20)
    statuses = ["published", "pending", "hidden", "closed"]
    questions = Question.objects.bulk_create(
        Question(
            title=f"Poll {i}",
            slug=f"poll-{i}",
            status=statuses[i % 4],
            created_at=now - timedelta(days=i % 40),
            published_at=None if statuses[i % 4] in ("pending", "hidden") else now,
        )
        for i in range(question_count)
    )
    QuestionHourly.objects.bulk_create(
        QuestionHourly(
            question=questions[i % question_count],
            hour=this_hour - timedelta(hours=i // question_count),
            views=i % 7,
            votes=i % 5,
        )
        for i in range(size)
    )
    QuestionDaily.objects.bulk_create(
        QuestionDaily(
            question=questions[i % question_count],
            day=today - timedelta(days=i // question_count),
            views=i % 11,
            votes=i % 3,
        )
        for i in range(size)
    )
    groups = list(UserGroup.values)
    GroupActivityHourly.objects.bulk_create(
        GroupActivityHourly(
            hour=this_hour - timedelta(hours=i // 3), group=groups[i % 3], views=i, votes=i % 4
        )
        for i in range(size)
    )
    User = get_user_model()
    users = User.objects.bulk_create(
        User(username=f"user{i}", date_joined=now - timedelta(days=i % 100), is_active=i % 3 > 0)
        for i in range(size)
    )
    Ballot.objects.bulk_create(
        Ballot(user=user, question=questions[i % question_count], created_at=now)
        for i, user in enumerate(users)
    )
    Report.objects.bulk_create(
        Report(
            question=questions[i % question_count],
            reporter=user,
            reason="spam",
            created_at=now - timedelta(days=i % 45),
            resolved_at=None if i % 2 else now - timedelta(days=i % 20),
        )
        for i, user in enumerate(users)
    )


@pytest.mark.parametrize("size", [0, 10, 2000])
def test_insights_pages_cost_the_same_whatever_the_data_size(
    staff_client, django_assert_num_queries, size
):
    if size:
        populate(size)
    assert staff_client.get("/").status_code == 200  # caches the account
    for url, queries in PAGES.items():
        with django_assert_num_queries(queries):
            response = staff_client.get(url)
        assert response.status_code == 200, url
