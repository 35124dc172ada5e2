"""Reporting a question: the form, one report per person, and hiding at the threshold."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from polls import services
from polls.models import Question, Report


def report_url(question: Question) -> str:
    return reverse("polls:report", args=[question.slug])


@pytest.fixture
def carol(db):
    return get_user_model().objects.create_user(username="carol", password="correct horse")


@pytest.fixture
def every_report_counts(settings) -> None:
    """Reports of brand-new accounts count toward hiding (tests/polls/test_report_weighting.py
    weighs them by the reporter's age and votes)."""
    settings.REPORTER_MIN_DAYS = settings.REPORTER_MIN_VOTES = 0


@pytest.fixture
def reported(make_question, alice) -> Question:
    """A question of Alice's, for the others to report."""
    return make_question("Buy cheap watches here, best prices?", ("Yes", "Of course"), author=alice)


def test_form_offers_every_reason(client, bob, reported):
    client.force_login(bob)
    response = client.get(report_url(reported))
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count("<h1") == 1
    for value, label in Report.Reason.choices:
        assert f'value="{value}"' in html and label in html
    assert 'name="details"' in html


def test_question_page_links_to_the_report_form_for_others_only(client, alice, bob, reported):
    link = f'href="{report_url(reported)}"'
    assert link not in client.get(reported.get_absolute_url()).content.decode()
    client.force_login(alice)
    assert link not in client.get(reported.get_absolute_url()).content.decode()
    client.force_login(bob)
    html = client.get(reported.get_absolute_url()).content.decode()
    assert link in html and "Report this question" in html


def test_report_is_recorded_and_thanked(client, bob, reported):
    client.force_login(bob)
    data = {"reason": "spam", "details": "Links to a watch shop."}
    response = client.post(report_url(reported), data)
    assert response.status_code == 302
    assert response["Location"] == reported.get_absolute_url()
    assert "Thank you for the report" in client.get(response["Location"]).content.decode()
    report = Report.objects.get()
    assert (report.question, report.reporter, report.reason) == (reported, bob, "spam")
    assert report.details == "Links to a watch shop." and report.resolved_at is None


def test_second_report_by_the_same_person_changes_nothing(client, bob, reported):
    client.force_login(bob)
    client.post(report_url(reported), {"reason": "spam"})
    response = client.post(report_url(reported), {"reason": "offensive", "details": "Again"})
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert "You have already reported this question" in html
    report = Report.objects.get()
    assert (report.reason, report.details) == ("spam", "")
    page = client.get(report_url(reported)).content.decode()
    assert "You have already reported this question" in page and 'name="reason"' not in page


def test_missing_reason_is_shown_beside_it_and_details_kept(client, bob, reported):
    client.force_login(bob)
    response = client.post(report_url(reported), {"details": "Something is off here."})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="id_reason_error"><li>Pick the reason that fits best.</li>' in html
    assert "Something is off here." in html
    response = client.post(report_url(reported), {"reason": "other", "details": "x" * 1001})
    assert response.status_code == 400
    assert "Keep the details to 1000 characters" in response.content.decode()
    response = client.post(report_url(reported), {"reason": "nonsense"})
    assert response.status_code == 400
    assert client.post(report_url(reported), {}).status_code == 400
    assert not Report.objects.exists()


def test_enough_reports_hide_the_question(
    client, settings, alice, bob, carol, staff, reported, every_report_counts
):
    settings.REPORTS_TO_HIDE = 2
    visitor = client
    assert visitor.get(reported.get_absolute_url()).status_code == 200  # cached now
    for reporter in (bob, carol):
        services.report_question(question=reported, reporter=reporter, reason="spam")
        if reporter == bob:
            assert visitor.get(reported.get_absolute_url()).status_code == 200
    reported.refresh_from_db()
    assert reported.status == Question.Status.HIDDEN
    assert visitor.get(reported.get_absolute_url()).status_code == 404
    assert visitor.get("/search/", {"q": "watches"}).content.decode().count("row-title") == 0


def test_the_report_that_hides_it_sends_the_reporter_home(
    client, settings, bob, reported, every_report_counts
):
    settings.REPORTS_TO_HIDE = 1
    client.force_login(bob)
    response = client.post(report_url(reported), {"reason": "spam"})
    assert response["Location"] == reverse("polls:home")
    assert client.get(reported.get_absolute_url()).status_code == 404
    # Hidden questions take no more reports.
    assert client.get(report_url(reported)).status_code == 404


def test_resolved_reports_no_longer_count(
    settings, bob, carol, staff, make_question, reported, every_report_counts
):
    settings.REPORTS_TO_HIDE = 2
    services.report_question(question=reported, reporter=bob, reason="spam")
    services.report_question(question=reported, reporter=carol, reason="spam")
    services.approve_questions(questions=Question.objects.filter(pk=reported.pk), moderator=staff)
    reported.refresh_from_db()
    assert reported.status == Question.Status.PUBLISHED
    assert not Report.objects.filter(resolved_at__isnull=True).exists()
    assert (
        services.report_question(question=reported, reporter=staff, reason="spam").hidden is False
    )
    reported.refresh_from_db()
    assert reported.status == Question.Status.PUBLISHED


def test_author_cannot_report_their_own_question(client, alice, reported):
    client.force_login(alice)
    for response in (
        client.get(report_url(reported)),
        client.post(report_url(reported), {"reason": "spam"}),
    ):
        assert response.status_code == 302
        assert response["Location"] == reported.get_absolute_url()
    html = client.get(reported.get_absolute_url()).content.decode()
    assert "You cannot report your own question." in html
    assert not Report.objects.exists()
    with pytest.raises(services.ReportRejected):
        services.report_question(question=reported, reporter=alice, reason="spam")


def test_anonymous_visitor_is_sent_to_log_in(client, reported):
    url = report_url(reported)
    for response in (client.get(url), client.post(url, {"reason": "spam"})):
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('accounts:login')}?next={url}"
    assert not Report.objects.exists()


@pytest.mark.parametrize("status", ["draft", "pending", "hidden"])
def test_only_public_questions_can_be_reported(client, bob, reported, status):
    services.set_status(questions=[reported], status=status)
    client.force_login(bob)
    assert client.get(report_url(reported)).status_code == 404
    assert client.post(report_url(reported), {"reason": "spam"}).status_code == 404
    assert not Report.objects.exists()


def test_closed_questions_can_be_reported(client, bob, closed_question):
    client.force_login(bob)
    assert client.post(report_url(closed_question), {"reason": "other"}).status_code == 302
    assert Report.objects.filter(question=closed_question).exists()
