"""The moderation queue in /admin/: what it lists, and approving, hiding and banning."""

from __future__ import annotations

from html import escape

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.test import Client
from django.urls import reverse

from accounts.models import Ban
from polls import cache_keys, reads, services
from polls.models import Question, Report

QUEUE = reverse("admin:polls_moderationqueue_changelist")
QUESTIONS = reverse("admin:polls_question_changelist")
REPORTS = reverse("admin:polls_report_changelist")


@pytest.fixture
def moderator(staff) -> Client:
    moderator = Client()
    moderator.force_login(staff)
    return moderator


def member(username: str):
    return get_user_model().objects.create_user(username=username, password="correct horse")


@pytest.fixture
def board(make_question, alice, bob, settings):
    """One question in each state the queue cares about."""
    settings.REPORTS_TO_HIDE = 2
    carol, dave = member("carol"), member("dave")
    questions = {
        "quiet": make_question("A quiet question nobody minds?", author=alice),
        "pending": make_question(
            "A brand new member's first question?", author=alice, status=Question.Status.PENDING
        ),
        "reported": make_question("Somewhat rude question?", author=bob),
        "hidden": make_question("Cheap watches, buy now?", author=bob),
        "settled": make_question("Reported once, then approved?", author=alice),
    }
    services.report_question(question=questions["reported"], reporter=carol, reason="offensive")
    for reporter, reason in ((carol, "spam"), (dave, "spam")):
        services.report_question(question=questions["hidden"], reporter=reporter, reason=reason)
    services.report_question(question=questions["settled"], reporter=dave, reason="other")
    Report.objects.filter(question=questions["settled"]).update(resolved_at="2026-01-01T00:00Z")
    for question in questions.values():
        question.refresh_from_db()
    assert questions["hidden"].status == Question.Status.HIDDEN
    return questions


def listed(html: str, board: dict) -> set[str]:
    return {key for key, question in board.items() if f">{escape(question.title)}</a>" in html}


def page(client: Client, url: str, params: dict | None = None) -> str:
    response = client.get(url, params or {})
    assert response.status_code == 200, url
    return response.content.decode()


def run(client: Client, action: str, *questions: Question, url: str = QUEUE) -> str:
    data = {"action": action, "_selected_action": [q.pk for q in questions]}
    response = client.post(url, data, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_queue_lists_pending_and_reported_questions(moderator, board):
    html = page(moderator, QUEUE)
    assert listed(html, board) == {"pending", "reported", "hidden"}
    # Most reported first, with the count and the reasons.
    assert html.index(board["hidden"].title) < html.index(board["reported"].title)
    assert "Spam or advertising ×2" in html and "Offensive or hateful" in html
    assert "Moderation queue" in page(moderator, reverse("admin:index"))


def test_needs_review_filter_on_the_questions_list(moderator, board):
    html = page(moderator, QUESTIONS, {"review": "needed"})
    assert listed(html, board) == {"pending", "reported", "hidden"}
    assert listed(page(moderator, QUESTIONS), board) == set(board)


def test_queue_rows_open_the_question_change_page(moderator, board):
    pk = board["hidden"].pk
    response = moderator.get(reverse("admin:polls_moderationqueue_change", args=[pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:polls_question_change", args=[pk])
    assert "delete_selected" not in page(moderator, QUEUE)


def test_reports_show_read_only_on_the_question_page(moderator, board):
    change = reverse("admin:polls_question_change", args=[board["hidden"].pk])
    html = page(moderator, change)
    assert "Spam or advertising" in html and "carol" in html and "dave" in html
    assert 'name="reports-0-reason"' not in html


def test_approve_publishes_and_resolves_reports(client, moderator, staff, board):
    html = run(moderator, "approve", board["pending"], board["hidden"])
    assert "2 questions approved" in html
    for key in ("pending", "hidden"):
        question = board[key]
        question.refresh_from_db()
        assert question.status == Question.Status.PUBLISHED
        assert client.get(question.get_absolute_url()).status_code == 200
    reports = Report.objects.filter(question=board["hidden"])
    assert reports.count() == 2
    assert all(r.resolved_by == staff and r.resolved_at is not None for r in reports)
    assert listed(page(moderator, QUEUE), board) == {"reported"}


def test_hide_takes_it_down_and_out_of_the_queue(client, moderator, board):
    client.get(board["reported"].get_absolute_url())  # cached
    run(moderator, "hide_for_good", board["reported"])
    board["reported"].refresh_from_db()
    assert board["reported"].status == Question.Status.HIDDEN
    assert client.get(board["reported"].get_absolute_url()).status_code == 404
    assert listed(page(moderator, QUEUE), board) == {"pending", "hidden"}


def test_ban_the_author_deactivates_and_hides(client, moderator, staff, bob, board):
    client.force_login(bob)
    html = run(moderator, "ban_author", board["reported"])
    assert "Banned bob" in html
    bob.refresh_from_db()
    assert not bob.is_active
    assert Ban.objects.get(user=bob).banned_by == staff
    board["reported"].refresh_from_db()
    assert board["reported"].status == Question.Status.HIDDEN
    # Bob's session ended with the ban.
    assert client.get(reverse("polls:ask")).status_code == 302


def test_staff_are_never_banned(moderator, staff, make_question):
    theirs = make_question("A staff member's pending question?", author=staff, status="pending")
    html = run(moderator, "ban_author", theirs)
    assert "Staff are never banned" in html
    staff.refresh_from_db()
    assert staff.is_active and not Ban.objects.exists()
    theirs.refresh_from_db()
    assert theirs.status == Question.Status.PENDING


def test_first_question_through_the_queue(client, moderator, alice, settings):
    settings.MODERATE_FIRST_QUESTIONS = 1
    client.force_login(alice)
    data = {
        "title": "Which season do you like best?", "description": "", "tags": "", "kind": "single",
        "max_choices": "", "closes_at": "", "results_visibility": "always",
        "choices-TOTAL_FORMS": "2", "choices-INITIAL_FORMS": "2",
        "choices-0-text": "Summer", "choices-1-text": "Winter",
    }  # fmt: skip
    client.post(reverse("polls:ask"), data)
    question = Question.objects.get()
    assert f">{escape(question.title)}</a>" in page(moderator, QUEUE)
    run(moderator, "approve", question)
    question.refresh_from_db()
    assert question.status == Question.Status.PUBLISHED
    assert client.get(question.get_absolute_url()).status_code == 200


def test_report_list_and_resolving_there(moderator, staff, board):
    html = page(moderator, REPORTS, {"resolved_at__isempty": "1"})
    assert html.count("Spam or advertising") >= 2 and "Somewhat rude question?" in html
    report = Report.objects.get(question=board["reported"])
    response = moderator.post(REPORTS, {"action": "resolve", "_selected_action": [report.pk]})
    assert response.status_code == 302
    assert "1 report resolved." in page(moderator, response["Location"])
    report.refresh_from_db()
    assert report.resolved_by == staff
    assert moderator.get(reverse("admin:polls_report_add")).status_code == 403


@pytest.mark.parametrize("who", ["anonymous", "alice"])
def test_only_staff_see_the_queue(client, alice, who):
    if who == "alice":
        client.force_login(alice)
    response = client.get(QUEUE)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# --- One transaction each, caches dropped after the commit ---------------------------------


def test_a_copy_cached_while_hiding_is_dropped_when_it_commits(
    client, question, django_capture_on_commit_callbacks
):
    url = question.get_absolute_url()
    assert client.get(url).status_code == 200
    published = reads.question_page(question.slug, results=False)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            services.set_status(questions=[question], status=Question.Status.HIDDEN)
            # A reader on another connection still sees it published and caches it again.
            cached = reads.CachedQuestion(question=published.question)
            cache.set(cache_keys.question(question.slug), cached, 300)
            assert client.get(url).status_code == 200
    assert client.get(url).status_code == 404


def test_bans_and_hiding_commit_together_or_not_at_all(staff, bob, make_question, monkeypatch):
    question = make_question("Cheap watches, buy now?", author=bob)

    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "set_status", broken)
    with pytest.raises(RuntimeError):
        services.ban_authors(questions=[question], moderator=staff)
    bob.refresh_from_db()
    assert bob.is_active and not Ban.objects.filter(user=bob).exists()
