"""Limits inside Django on asking, reporting and uploading: per account and per client address
(believed from X-Forwarded-For only through TRUSTED_PROXIES), and on the questions one account
may have waiting for review; each refused with a 429 that keeps what was typed on its form, and
nobody else held up."""

from __future__ import annotations

import html as html_lib
import re
import time
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from polls import services
from polls.models import Image, Question, Report
from tests.polls.at_once import statuses_at_once
from tests.polls.test_ask import ASK, ask_data, errors_of, jpeg, kept_token, value_of

pytestmark = pytest.mark.django_db

User = get_user_model()
WINDOW = 3600
HOME, AWAY = "203.0.113.7", "198.51.100.8"
SLOW_DOWN = "Slow down a little"


@pytest.fixture(autouse=True)
def _limits(settings) -> None:
    settings.MODERATE_FIRST_QUESTIONS = 0
    settings.QUESTIONS_PER_ACCOUNT = 3
    settings.QUESTIONS_PER_CLIENT = 100
    settings.QUESTION_WINDOW_SECONDS = WINDOW
    settings.REPORTS_PER_ACCOUNT = 2
    settings.REPORTS_PER_CLIENT = 100
    settings.REPORT_WINDOW_SECONDS = WINDOW
    settings.UPLOADS_PER_ACCOUNT = 2
    settings.UPLOADS_PER_CLIENT = 100
    settings.UPLOAD_WINDOW_SECONDS = WINDOW
    settings.TRUSTED_PROXIES = []
    # Windows are fixed: never start a burst in the last seconds of one.
    left = WINDOW - time.time() % WINDOW
    if left < 30:
        time.sleep(left + 1)


def signed_in(user, address: str = HOME) -> Client:
    client = Client(REMOTE_ADDR=address)
    client.force_login(user)
    return client


def member(name: str):
    return User.objects.create_user(username=name, password="correct horse")


def is_429_form(response, *, retry_after: bool = True) -> str:
    """The page of a refused form: a 429 with the reason and, when a window decides,
    Retry-After within it."""
    assert response.status_code == 429
    if retry_after:
        assert 0 < int(response["Retry-After"]) <= WINDOW
    else:
        assert "Retry-After" not in response
    html = response.content.decode()
    assert SLOW_DOWN in html
    return html


def asked(title: str, **fields) -> dict:
    # "confirm": past the similar questions, which a run of like titles would otherwise show.
    return ask_data(title=title, confirm="1", **fields)


# --- Asking -----------------------------------------------------------------------------------


def test_asking_past_the_account_limit_keeps_the_form(alice, bob):
    client = signed_in(alice)
    # Forms with mistakes cost nothing: only questions about to be posted count.
    for _ in range(4):
        assert client.post(ASK, asked("")).status_code == 400
    for n in range(3):
        assert client.post(ASK, asked(f"Question number {n} of the day?")).status_code == 302
    data = asked("One question too many today?", tags="food, Tokyo")
    data["choices-1-text"] = "Green tea"
    html = is_429_form(client.post(ASK, data))
    assert "Everything you typed is still here" in html
    assert value_of(html, "title") == "One question too many today?"
    assert value_of(html, "tags") == "food, Tokyo"
    assert value_of(html, "choices-1-text") == "Green tea"
    assert Question.objects.filter(author=alice).count() == 3
    # Someone else, from the same address even, is not held back.
    assert signed_in(bob).post(ASK, asked("Bob's own question today?")).status_code == 302


def test_a_picture_on_a_refused_question_is_kept(alice, local_media):
    client = signed_in(alice)
    for n in range(3):
        client.post(ASK, asked(f"Question number {n} of the day?"))
    html = is_429_form(client.post(ASK, asked("A fourth with a picture?") | {"image": jpeg()}))
    token = kept_token(html, "kept_image")
    assert Image.objects.count() == 1 and token


def test_asking_past_the_address_limit(settings, alice, bob, staff):
    settings.QUESTIONS_PER_CLIENT = 2
    settings.QUESTIONS_PER_ACCOUNT = 100
    assert signed_in(alice).post(ASK, asked("Alice asks from home?")).status_code == 302
    assert signed_in(bob).post(ASK, asked("Bob asks from the same home?")).status_code == 302
    # A forged forwarding header, from an address that is not a trusted proxy, changes nothing.
    forged = signed_in(alice).post(
        ASK, asked("Alice pretends to be elsewhere?"), HTTP_X_FORWARDED_FOR=AWAY
    )
    is_429_form(forged)
    assert signed_in(staff, AWAY).post(ASK, asked("Asked from another place?")).status_code == 302


def ask_at_once(user, count: int) -> Counter:
    """``count`` questions posted by ``user`` at the same moment; their answers' statuses."""
    return statuses_at_once(
        count,
        lambda _: signed_in(user),
        lambda client, n: client.post(ASK, asked(f"Parallel question number {n}?")),
    )


@pytest.mark.django_db(transaction=True)
def test_twenty_questions_at_once_post_exactly_the_limit(settings, alice):
    settings.QUESTIONS_PER_ACCOUNT = 5
    assert ask_at_once(alice, 20) == Counter({302: 5, 429: 15})
    assert Question.objects.filter(author=alice).count() == 5


@pytest.fixture
def reviewed_first(settings) -> None:
    """New accounts' questions wait for a moderator; at most two of them at once."""
    settings.MODERATE_FIRST_QUESTIONS = 1
    settings.PENDING_QUESTIONS_PER_ACCOUNT = 2
    settings.QUESTIONS_PER_ACCOUNT = 100


def test_questions_waiting_for_review_are_capped_per_account(reviewed_first, alice, bob, staff):
    client = signed_in(alice)
    for n in range(2):
        response = client.post(ASK, asked(f"A new member's question {n}?"))
        assert response["Location"] == reverse("polls:ask_pending")
    response = client.post(ASK, asked("A third one while two wait?", tags="patience"))
    html = is_429_form(response, retry_after=False)
    assert "You have 2 questions waiting for a moderator" in html
    assert value_of(html, "title") == "A third one while two wait?"
    assert value_of(html, "tags") == "patience"
    assert Question.objects.filter(author=alice).count() == 2
    # Bob's first question is not held back by Alice's.
    assert signed_in(bob).post(ASK, asked("Bob's very first question?")).status_code == 302
    # A moderator's decision frees a place.
    first = Question.objects.filter(author=alice).first()
    services.hide_questions(questions=[first], moderator=staff)
    assert client.post(ASK, asked("A third one while two wait?")).status_code == 302


@pytest.mark.django_db(transaction=True)
def test_questions_sent_at_once_cannot_pass_the_waiting_cap(reviewed_first, alice):
    assert ask_at_once(alice, 8) == Counter({302: 2, 429: 6})
    assert Question.objects.filter(author=alice, status=Question.Status.PENDING).count() == 2


# --- Reporting --------------------------------------------------------------------------------


@pytest.fixture
def reportable(make_question, alice) -> list[Question]:
    return [
        make_question(f"Reportable question {n}?", ("Yes", "No"), author=alice) for n in range(4)
    ]


def report(client: Client, question: Question, **data):
    return client.post(reverse("polls:report", args=[question.slug]), data)


def test_reporting_past_the_account_limit_keeps_the_form(bob, staff, reportable):
    client = signed_in(bob)
    assert report(client, reportable[0], reason="spam").status_code == 302
    assert report(client, reportable[1], reason="spam").status_code == 302
    html = is_429_form(report(client, reportable[2], reason="offensive", details="Rude words."))
    assert "What you wrote is still here" in html
    assert re.search(r'<input[^>]*value="offensive"[^>]*checked', html)
    assert html_lib.unescape(
        re.search(r"<textarea[^>]*>(.*?)</textarea>", html, re.S)[1]
    ).strip() == ("Rude words.")
    assert Report.objects.filter(reporter=bob).count() == 2
    # Someone else from the same address still can.
    assert report(signed_in(staff), reportable[2], reason="spam").status_code == 302


def test_reporting_past_the_address_limit(settings, bob, staff, reportable):
    settings.REPORTS_PER_CLIENT = 2
    settings.REPORTS_PER_ACCOUNT = 100
    carol, dave = member("carol"), member("dave")
    assert report(signed_in(bob), reportable[0], reason="spam").status_code == 302
    assert report(signed_in(carol), reportable[0], reason="spam").status_code == 302
    is_429_form(report(signed_in(dave), reportable[0], reason="spam"))
    assert report(signed_in(staff, AWAY), reportable[0], reason="spam").status_code == 302
    assert Report.objects.count() == 3


# --- Uploading --------------------------------------------------------------------------------


def test_uploads_past_the_account_limit_are_refused_beside_the_picture(alice, bob, local_media):
    client = signed_in(alice)
    data = asked("Which drink starts your morning?") | {
        "image": jpeg(),
        "choices-0-image": jpeg("tea.jpg"),
        "choices-1-image": jpeg("coffee.jpg"),
    }
    html = is_429_form(client.post(ASK, data))
    # Two pictures read and kept, the third refused beside its own field; the form is whole.
    assert errors_of(html, "id_choices-1-image")[0].startswith(
        "Too many pictures came from your account or your address"
    )
    assert errors_of(html, "id_image") == [] and errors_of(html, "id_choices-0-image") == []
    assert Image.objects.count() == 2
    assert value_of(html, "title") == "Which drink starts your morning?"
    assert value_of(html, "choices-1-text") == "Coffee"
    assert kept_token(html, "kept_image") and kept_token(html, "choices-0-kept_image")
    assert not Question.objects.exists()
    # The kept pictures need no new upload: the question goes through without the third.
    again = asked("Which drink starts your morning?") | {
        "kept_image": kept_token(html, "kept_image"),
        "choices-0-kept_image": kept_token(html, "choices-0-kept_image"),
    }
    assert client.post(ASK, again).status_code == 302
    # Bob, from the same address, uploads as usual.
    bobs = asked("Bob's question with a picture?") | {"image": jpeg()}
    assert signed_in(bob).post(ASK, bobs).status_code == 302
    assert Image.objects.count() == 3


def test_uploads_past_the_address_limit(settings, alice, bob, staff, local_media):
    settings.UPLOADS_PER_CLIENT = 1
    settings.UPLOADS_PER_ACCOUNT = 100
    first = asked("Alice's question with a picture?") | {"image": jpeg()}
    assert signed_in(alice).post(ASK, first).status_code == 302
    second = asked("Bob's question with a picture?") | {"image": jpeg()}
    html = is_429_form(signed_in(bob).post(ASK, second))
    assert errors_of(html, "id_image")[0].startswith("Too many pictures")
    third = asked("A question from elsewhere?") | {"image": jpeg()}
    assert signed_in(staff, AWAY).post(ASK, third).status_code == 302
    assert Image.objects.count() == 2
