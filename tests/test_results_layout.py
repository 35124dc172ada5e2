"""The results of a question with weeks of history and group splits, in Chromium at 360 and
1280 px: no sideways scrolling (the day-by-day table open too), 0 serious axe-core violations.
Screenshots: test-output/screenshots/results-*.png."""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from polls import history, services
from tests.routes import Visit
from tests.test_sweep import SHOTS, WIDTHS, Sweep, axe_source

pytestmark = pytest.mark.django_db(transaction=True)


def question_with_history(make_question):
    rng = random.Random(360)  # noqa: S311  (repeatable data)
    question = make_question(
        "Should remote work be the default for office jobs, or is the office the place?",
        (
            "Yes, remote by default for every job that can be done from a laptop",
            "A fixed mix",
            "No",
            "Undecidedbutwithaveryveryverylongunbrokenwordthatmustwrapanywhere",
        ),
    )
    choices = list(question.choices.values_list("pk", flat=True))
    first = timezone.now().date() - timedelta(days=20)
    question.published_at = datetime.combine(first, time(1), tzinfo=UTC)
    question.save(update_fields=["published_at"])
    User = get_user_model()
    for offset in range(20):
        day = first + timedelta(days=offset)
        for n in range(6):
            moment = datetime.combine(day, time(2 + n), tzinfo=UTC)
            user = User.objects.create(
                username=f"r{offset}-{n}",
                date_joined=moment - timedelta(days=5 if n % 2 else 500),
            )
            pick = choices[min(int(rng.random() ** (1 + offset / 10) * 4), 3)]
            services.cast_vote(user=user, question=question, choice_ids=[pick], now=moment)
        history.take_snapshot(now=datetime.combine(day, time(23, 55), tzinfo=UTC))
    history.take_snapshot()
    return question


def test_results_fit_a_phone_and_a_desktop(live_server, make_question, browser, s3_bucket):
    question = question_with_history(make_question)
    sweep = Sweep(browser, live_server.url, axe_source())
    sweep.resize(WIDTHS[0])
    url = question.get_absolute_url()
    day = (timezone.now().date() - timedelta(days=5)).isoformat()
    for address, name in ((url, "results"), (f"{url}?as_of={day}", "results-as-of")):
        sweep.visit(Visit("anonymous", "polls:question", address), shot=name)
    # The numbers, day by day, opened on a phone.
    sweep.resize(WIDTHS[0])
    browser.get(live_server.url + url)
    browser.execute_script("document.querySelector('.trend-numbers').open = true")
    sweep.check(Visit("anonymous", "polls:question", url + " (numbers open)"), WIDTHS[0])
    sweep.photograph("results-numbers-360")
    assert sweep.problems == [], sweep.problems
    assert (SHOTS / "results-360.png").exists() and (SHOTS / "results-1280.png").exists()
    text = browser.find_element("id", "results").text
    assert "Over time" in text and "How groups answered" in text
