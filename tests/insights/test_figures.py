"""The insights figures equal what the raw data says, on a seeded data set."""

from __future__ import annotations

import random
import re
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from accounts.user_groups import NEW_ACCOUNT_AGE, user_group
from polls import services
from polls.insights import counting, figures
from polls.models import Ballot, Question, Report
from polls.tallies import hour_of

DAY = timedelta(days=1)


@pytest.fixture
def seeded(make_question):
    """Twelve questions; views and first votes at random moments over 35 days.

    Views go through the real counter and a flush at the moment they happen
    (as the minutely timer would); votes through cast_vote, then the
    command's backfill copies them. Returns what the raw events say.
    """
    now = timezone.now()
    rng = random.Random(2024)
    questions = [make_question(f"Question {i:02d}", ("Yes", "No")) for i in range(12)]
    User = get_user_model()
    users = User.objects.bulk_create(
        User(username=f"voter{i}", date_joined=now - timedelta(days=rng.randrange(90)))
        for i in range(30)
    )
    viewers = [AnonymousUser(), *users[:5]]
    events = sorted(
        (
            (now - timedelta(minutes=rng.randrange(35 * 24 * 60)), rng.choice(questions).pk, n)
            for n in rng.choices(range(len(viewers)), k=160)
        ),
    )
    views = []
    for at, question_id, n in events:
        counting.count_view(question_id=question_id, user=viewers[n], now=at)
        counting.flush_views(now=at)
        views.append((at, question_id, user_group(viewers[n], at)))
    for user in users:
        for question in rng.sample(questions, rng.randrange(1, 5)):
            at = now - timedelta(minutes=rng.randrange(35 * 24 * 60))
            choice = question.choices.first().pk
            services.cast_vote(user=user, question=question, choice_ids=[choice], now=at)
    counting.flush(now=now, recount_hours=36 * 24)
    return now, questions, views


def raw_votes() -> list[tuple[datetime, int, str]]:
    rows = Ballot.objects.values_list("created_at", "question_id", "user__date_joined")
    return [
        (at, question_id, "new" if at - joined < NEW_ACCOUNT_AGE else "established")
        for at, question_id, joined in rows
    ]


def ranked(events, start: datetime) -> list[tuple[int, int]]:
    totals = Counter(question_id for at, question_id, _ in events if hour_of(at) >= start)
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


def test_popular_questions_equal_the_raw_views_and_votes(seeded):
    now, questions, views = seeded
    votes = raw_votes()
    assert len(votes) > 50
    rankings = figures.popular_questions(now=now, limit=len(questions))
    assert [ranking.key for ranking in rankings] == ["24h", "7d", "30d"]
    for ranking, days in zip(rankings, (1, 7, 30), strict=True):
        start = hour_of(now) + timedelta(hours=1) - days * DAY
        assert ranking.start == start
        shown_views = [(row.question_id, row.total) for row in ranking.views]
        shown_votes = [(row.question_id, row.total) for row in ranking.votes]
        assert shown_views == ranked(views, start), ranking.key
        assert shown_votes == ranked(votes, start), ranking.key
    # Something fell outside each window, so the windows were really tested.
    assert len(views) > sum(total for _, total in ranked(views, rankings[2].start))


def test_popular_page_shows_the_top_question_with_its_count(seeded, staff_client):
    now, questions, views = seeded
    html = staff_client.get("/insights/").content.decode()
    top_id, top_views = ranked(views, hour_of(now) + timedelta(hours=1) - 30 * DAY)[0]
    table = html.partition('id="top-30d-views"')[2].partition("</table>")[0]
    first_row = table.partition("<tbody>")[2].partition("</tr>")[0]
    title = Question.objects.get(pk=top_id).title
    assert f">{title}</a>" in first_row
    assert f'<td class="num">{top_views}</td>' in first_row


def test_activity_by_group_equals_the_raw_views_and_votes(seeded):
    now, questions, views = seeded
    heatmap = figures.activity_heatmap(now=now, zone=ZoneInfo("UTC"))
    start = hour_of(now) + timedelta(hours=1) - figures.HEATMAP_DAYS * DAY
    expected: dict[str, Counter] = defaultdict(Counter)
    for kind, events in (("views", views), ("votes", raw_votes())):
        for at, _, group in events:
            if hour_of(at) >= start:
                expected[group][at.weekday(), at.hour, kind] += 1
    for grid in heatmap.grids:
        shown = Counter()
        for cell in grid.cells:
            shown[cell.weekday, cell.hour, "views"] = cell.views
            shown[cell.weekday, cell.hour, "votes"] = cell.votes
        assert +shown == +expected[grid.group], grid.group
    assert sum(grid.votes for grid in heatmap.grids if grid.group == "anonymous") == 0
    assert all(grid.views for grid in heatmap.grids)


def test_heatmap_shows_an_event_in_the_chosen_time_zone(question):
    monday_late = datetime(2025, 1, 13, 23, 30, tzinfo=UTC)  # a Monday, winter time
    counting.count_view(question_id=question.pk, user=AnonymousUser(), now=monday_late)
    counting.flush_views(now=monday_late)
    now = datetime(2025, 1, 20, 12, tzinfo=UTC)

    def busy_cells(zone: str) -> list[tuple[str, int, int]]:
        heatmap = figures.activity_heatmap(now=now, zone=ZoneInfo(zone))
        (grid,) = [grid for grid in heatmap.grids if grid.group == "anonymous"]
        return [(c.weekday_name, c.hour, c.views) for c in grid.cells if c.activity]

    assert busy_cells("UTC") == [("Monday", 23, 1)]
    assert busy_cells("Europe/Helsinki") == [("Tuesday", 1, 1)]
    assert busy_cells("America/New_York") == [("Monday", 18, 1)]
    assert busy_cells("Asia/Tokyo") == [("Tuesday", 8, 1)]


def test_activity_page_uses_the_time_zone_from_the_form(question, staff_client):
    now = timezone.now()
    # 23:30 UTC on the last Monday at least a day ago.
    days_back = (now.weekday() - 0) % 7 or 7
    monday = (now - timedelta(days=days_back)).replace(hour=23, minute=30, second=0, microsecond=0)
    counting.count_view(question_id=question.pk, user=AnonymousUser(), now=monday)
    counting.flush_views(now=monday)
    local = monday.astimezone(ZoneInfo("Europe/Helsinki"))
    assert local.strftime("%A") == "Tuesday"

    html = staff_client.get("/insights/activity/?tz=Europe/Helsinki").content.decode()
    assert '<option value="Europe/Helsinki" selected>' in html
    assert f"<title>Tuesday {local.hour:02d}:00: 1 (1 view, 0 votes)</title>" in html
    html = staff_client.get("/insights/activity/").content.decode()
    assert '<option value="UTC" selected>' in html
    assert "<title>Monday 23:00: 1 (1 view, 0 votes)</title>" in html
    # An unknown zone falls back to UTC rather than failing.
    html = staff_client.get("/insights/activity/?tz=Mars/Olympus_Mons").content.decode()
    assert '<option value="UTC" selected>' in html
    # A real zone outside the short list is kept and offered.
    html = staff_client.get("/insights/activity/?tz=Asia/Kathmandu").content.decode()
    assert '<option value="Asia/Kathmandu" selected>' in html


def test_hour_table_names_the_most_active_group(question, alice):
    now = timezone.now()
    counting.count_view(question_id=question.pk, user=alice, now=now)
    counting.count_view(question_id=question.pk, user=alice, now=now)
    counting.count_view(question_id=question.pk, user=AnonymousUser(), now=now)
    counting.flush_views(now=now)
    heatmap = figures.activity_heatmap(now=now, zone=ZoneInfo("UTC"))
    row = heatmap.hours[now.hour]
    assert row.values == [1, 2, 0]
    assert row.leader.group == "new"
    assert heatmap.hours[(now.hour + 1) % 24].leader is None


# --- Sign-up funnel -----------------------------------------------------------------------------


def test_signup_funnel_counts_each_step_of_the_window(make_question):
    now = timezone.now()
    User = get_user_model()

    def account(name: str, days_ago: float, **fields):
        return User.objects.create_user(
            username=name, date_joined=now - timedelta(days=days_ago), **fields
        )

    account("registered-only", 2, is_active=False)
    account("logged-in-then-banned", 3, is_active=False, last_login=now - DAY)
    voter = account("voter", 5)
    asker = account("asker", 20)
    veteran = account("veteran", 60)
    account("ancient", 200)
    question = make_question("Best tea?", ("Green", "Black"), author=veteran)
    make_question("Best coffee?", ("Espresso", "Filter"), author=asker)
    choice = question.choices.first().pk
    for user in (voter, asker, veteran):
        services.cast_vote(user=user, question=question, choice_ids=[choice])

    def counts(days: int) -> list[int]:
        return [step.count for step in figures.signup_funnel(now=now, days=days)]

    assert counts(7) == [3, 2, 1, 0]
    assert counts(30) == [4, 3, 2, 1]
    assert counts(90) == [5, 4, 3, 2]
    steps = figures.signup_funnel(now=now, days=30)
    assert [round(step.of_registered) for step in steps] == [100, 75, 50, 25]
    assert figures.signup_funnel(now=now - 365 * DAY, days=7)[1].of_registered == 0


def test_signups_page_shows_the_chosen_window(staff_client, db):
    User = get_user_model()
    now = timezone.now()
    User.objects.create_user(username="new", date_joined=now - 10 * DAY, is_active=False)
    html = staff_client.get("/insights/signups/?days=7").content.decode()
    # The staff member signed up today and is active.
    assert re.search(r'Registered</th><td class="num">1</td>', html)
    html = staff_client.get("/insights/signups/?days=30").content.decode()
    assert re.search(r'Registered</th><td class="num">2</td>', html)
    assert re.search(r'Activated \(or logged in\)</th><td class="num">1</td>', html)
    assert 'class="current" aria-current="page">30 days' in html
    # Anything else is the default window.
    html = staff_client.get("/insights/signups/?days=365").content.decode()
    assert 'class="current" aria-current="page">30 days' in html


# --- Moderation load --------------------------------------------------------------------------


def test_moderation_load_equals_the_questions_and_reports(make_question, alice, bob):
    now = timezone.now()
    status = Question.Status

    def asked(
        title: str, days_ago: float, question_status: str, published_days_ago=None, held=True
    ):
        created = now - timedelta(days=days_ago)
        published = None if published_days_ago is None else now - timedelta(days=published_days_ago)
        return Question.objects.create(
            title=title, status=question_status, created_at=created, published_at=published,
            held_for_review_at=created if held else None,
        )  # fmt: skip

    asked("Still pending", 2, status.PENDING)
    approved = asked("Approved later", 5, status.PUBLISHED, published_days_ago=4)
    asked("Rejected", 1, status.HIDDEN)
    at_once = asked("Published at once", 3, status.PUBLISHED, published_days_ago=3, held=False)
    old_pending = asked("Pending for long", 40, status.PENDING)
    asked("A draft", 1, status.DRAFT, held=False)
    # Published by someone else hours after it was written (the demo data, an editor in the
    # admin) without the queue ever holding it: not held for review.
    asked("Published later", 6, status.PUBLISHED, published_days_ago=5.9, held=False)

    def report(question, reporter, days_ago: float, resolved_days_ago=None):
        resolved = None if resolved_days_ago is None else now - timedelta(days=resolved_days_ago)
        Report.objects.create(
            question=question, reporter=reporter, reason="spam",
            created_at=now - timedelta(days=days_ago), resolved_at=resolved,
        )  # fmt: skip

    report(at_once, alice, 3)
    report(at_once, bob, 10, resolved_days_ago=2)
    report(approved, alice, 40, resolved_days_ago=1)
    report(old_pending, bob, 50)

    load = figures.moderation_load(now=now)
    assert len(load.days) == 30 and load.days[-1].day == now.date()

    def on(days_ago: int) -> date:
        return (now - timedelta(days=days_ago)).date()

    series = {
        day.day: (day.held, day.reports, day.resolved)
        for day in load.days
        if (day.held, day.reports, day.resolved) != (0, 0, 0)
    }
    assert series == {
        on(5): (1, 0, 0),
        on(3): (0, 1, 0),
        on(2): (1, 0, 1),
        on(1): (1, 0, 1),
        on(10): (0, 1, 0),
    }
    assert (load.pending_now, load.reported_now) == (2, 2)


def test_moderation_page_shows_the_queue_and_the_days(staff_client, make_question, alice):
    question = make_question("Is this spam?")
    services.report_question(question=question, reporter=alice, reason="spam")
    make_question("Waiting", status=Question.Status.PENDING, held_for_review_at=timezone.now())
    html = staff_client.get("/insights/moderation/").content.decode()
    assert '<strong id="pending-now">1</strong>' in html
    assert '<strong id="reported-now">1</strong>' in html
    today = timezone.now().date().isoformat()
    # Today: one question held for review, one report filed, none resolved.
    assert html.count(f"<title>{today}: 1</title>") == 2
    assert html.count(f"<title>{today}: 0</title>") == 1
    assert html.count('<tr><th scope="row"><time') == 30


def test_asking_marks_only_the_questions_the_queue_holds(alice, bob, settings):
    settings.MODERATE_FIRST_QUESTIONS = 1
    fields = {
        "description": "", "choices": [("Yes", None), ("No", None)], "tags": [],
        "max_choices": 1, "closes_at": None, "results_visibility": "always", "image": None,
    }  # fmt: skip
    held = services.ask_question(author=alice, title="A new member's first question?", **fields)
    assert held.status == Question.Status.PENDING and held.held_for_review_at is not None
    Question.objects.create(title="Bob's approved one", author=bob, status="published")
    trusted = services.ask_question(author=bob, title="A trusted member's question?", **fields)
    assert trusted.status == Question.Status.PUBLISHED and trusted.held_for_review_at is None
    load = figures.moderation_load(now=timezone.now())
    assert load.days[-1].held == 1


def test_each_heatmap_has_a_legend_of_its_shades(staff_client):
    from polls.insights.charts import HEAT_LEVELS

    html = staff_client.get("/insights/activity/").content.decode()
    legend = re.findall(
        r'<span class="swatch heat-(\d)" aria-hidden="true"></span> ([^<]+)</li>', html
    )
    assert legend[: HEAT_LEVELS + 1] == [
        ("0", "none"), ("1", "up to 20%"), ("2", "up to 40%"), ("3", "up to 60%"),
        ("4", "up to 80%"), ("5", "up to 100%"),
    ]  # fmt: skip
    assert "against this group's busiest hour" in html
