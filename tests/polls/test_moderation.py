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
from polls.models import Image, Question, Report

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
    # Every report counts toward hiding here; tests/polls/test_report_weighting.py weighs them.
    settings.REPORTER_MIN_DAYS = settings.REPORTER_MIN_VOTES = 0
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


# --- What moderators see, and deciding one question at a time --------------------------------


def decide_url(question: Question) -> str:
    return reverse("admin:polls_moderationqueue_decide", args=[question.pk])


def picture(name: str) -> Image:
    return Image.objects.create(
        original=f"originals/{name}.jpg", display=f"display/{name}.jpg", display_width=800,
        display_height=600, thumbnail=f"thumbs/{name}.jpg", thumbnail_width=192,
        thumbnail_height=144, alt_text=f"A photo of {name}",
    )  # fmt: skip


def row_of(html: str, question: Question) -> str:
    """The queue's table row that shows ``question``."""
    rows = html.split("<tr")
    return next(row for row in rows if f">{escape(question.title)}</a>" in row)


def test_queue_shows_the_reports_first_then_the_question_whole(moderator, board):
    hidden = board["hidden"]
    hidden.description = "Genuine watches at a tenth of the price."
    hidden.image = picture("watch")
    hidden.save()
    choice = hidden.choices.first()
    choice.image = picture("strap")
    choice.save()
    Report.objects.filter(question=hidden).update(details="An advert, posted twice today.")
    row = row_of(page(moderator, QUEUE), hidden)
    reasons = row.index("Spam or advertising ×2")
    title = row.index(f">{escape(hidden.title)}</a>")
    assert reasons < title
    assert "An advert, posted twice today." in row and "carol" in row and "dave" in row
    assert escape(hidden.description) in row
    for text in hidden.choices.values_list("text", flat=True):
        assert f"{escape(text)}</li>" in row
    for image in (hidden.image, choice.image):
        assert f'src="{image.thumbnail.url}"' in row and f'alt="{image.alt_text}"' in row
    assert "not public" in row and f'href="{hidden.get_absolute_url()}"' in row
    for decision in ("approve", "hide", "ban"):
        assert (
            f'form="moderation-decisions" formaction="{decide_url(hidden)}" name="decision" '
            f'value="{decision}"'
        ) in row


@pytest.mark.parametrize(
    ("decision", "key", "status", "message"),
    [
        ("approve", "hidden", Question.Status.PUBLISHED, "1 question approved"),
        ("approve", "pending", Question.Status.PUBLISHED, "1 question approved"),
        ("hide", "reported", Question.Status.HIDDEN, "1 question hidden"),
        ("ban", "reported", Question.Status.HIDDEN, "Banned bob"),
    ],
)
def test_a_row_button_decides_that_question_alone(moderator, board, decision, key, status, message):
    others = {k: q.status for k, q in board.items() if k != key}
    response = moderator.post(
        decide_url(board[key]), {"decision": decision, "next": QUEUE + "?status__exact=hidden"}
    )
    assert response.status_code == 302 and response["Location"] == QUEUE + "?status__exact=hidden"
    assert message in page(moderator, QUEUE)
    board[key].refresh_from_db()
    assert board[key].status == status
    assert not Report.objects.filter(question=board[key], resolved_at__isnull=True).exists()
    for other, was in others.items():
        board[other].refresh_from_db()
        assert board[other].status == was, other
    assert get_user_model().objects.get(username="bob").is_active == (decision != "ban")


def test_a_decision_needs_a_post_from_staff_and_a_known_choice(client, alice, moderator, board):
    question = board["pending"]
    assert moderator.get(decide_url(question)).status_code == 405
    client.force_login(alice)
    refused = client.post(decide_url(question), {"decision": "approve"})
    assert refused.status_code == 302 and refused["Location"].startswith(reverse("admin:login"))
    unknown = moderator.post(
        decide_url(question), {"decision": "publish", "next": "https://x.example/"}
    )
    assert unknown["Location"] == QUEUE  # never to another site
    assert "Pick Approve, Hide or Ban the author." in page(moderator, QUEUE)
    question.refresh_from_db()
    assert question.status == Question.Status.PENDING


def test_the_question_page_puts_reports_and_the_three_buttons_first(moderator, board):
    hidden = board["hidden"]
    change = reverse("admin:polls_question_change", args=[hidden.pk])
    html = page(moderator, change)
    assert html.index("Reports, open ones first") < html.index('name="title"')
    assert html.index("carol") < html.index('name="title"')
    assert f'<form id="moderation-decisions" method="post" action="{decide_url(hidden)}">' in html
    for decision, label in (("approve", "Approve"), ("hide", "Hide"), ("ban", "Ban the author")):
        assert f'form="moderation-decisions" name="decision" value="{decision}"' in html
        assert f">{label}</button>" in html
    # Each button works from here, and comes back to the queue.
    response = moderator.post(decide_url(hidden), {"decision": "approve", "next": QUEUE})
    assert response["Location"] == QUEUE
    hidden.refresh_from_db()
    assert hidden.status == Question.Status.PUBLISHED


def test_the_question_page_never_offers_to_ban_staff(moderator, staff, make_question):
    theirs = make_question("A staff member's own question?", author=staff, status="pending")
    html = page(moderator, reverse("admin:polls_question_change", args=[theirs.pk]))
    assert 'value="ban" class="button" disabled' in html and "staff are never banned" in html


def test_pictures_show_as_pictures_on_the_question_page(moderator, make_question):
    question = make_question("Which strap?", ("Leather", "Steel"), image=picture("watch"))
    choice = question.choices.first()
    choice.image = picture("strap")
    choice.save()
    html = page(moderator, reverse("admin:polls_question_change", args=[question.pk]))
    for image in (question.image, choice.image):
        assert f'src="{image.thumbnail.url}"' in html and image.alt_text in html


# --- Staff open questions the public cannot see ---------------------------------------------


@pytest.mark.parametrize("key", ["pending", "hidden"])
def test_staff_open_a_question_the_public_cannot_see_marked_not_public(
    client, moderator, alice, board, key
):
    question = board[key]
    url = question.get_absolute_url()
    response = moderator.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert '<span class="badge badge-private">not public</span>' in html
    assert f'href="{reverse("admin:polls_question_change", args=[question.pk])}"' in html
    assert '<meta name="robots" content="noindex">' in html
    assert 'class="vote-form" id="vote"' not in html and "Report this question" not in html
    # Never kept by a cache, and nothing of it in memcached for the public to be served.
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    for visitor in (None, alice):
        client.logout()
        if visitor is not None:
            client.force_login(visitor)
        assert client.get(url).status_code == 404
    # The admin's "View on site" leads there.
    change = page(moderator, reverse("admin:polls_question_change", args=[question.pk]))
    assert "View on site" in change


def test_a_public_question_is_never_marked_not_public(moderator, board):
    html = page(moderator, board["quiet"].get_absolute_url())
    assert "badge-private" not in html and 'class="vote-form" id="vote"' in html


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
