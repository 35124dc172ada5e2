"""What the results block says: Wilson intervals, the headline, rows by votes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from polls import services
from polls.models import Choice, Question
from polls.results import Share, headline, results, wilson_interval


@given(
    st.integers(min_value=1, max_value=100_000).flatmap(
        lambda trials: st.tuples(st.integers(min_value=0, max_value=trials), st.just(trials))
    )
)
def test_the_interval_stays_within_0_and_100_and_contains_the_share(case):
    successes, trials = case
    low, high = wilson_interval(successes, trials)
    assert 0.0 <= low <= successes / trials <= high <= 1.0
    share = Share.of(successes, trials)
    assert 0.0 <= share.low <= share.percent <= share.high <= 100.0


def test_known_intervals_at_the_edges():
    low, high = wilson_interval(1, 1)
    assert high == 1.0 and low == pytest.approx(0.2065, abs=5e-4)
    low, high = wilson_interval(0, 50)
    assert low == 0.0 and high == pytest.approx(0.0713, abs=5e-4)
    # Symmetric around a half, and a known value in the middle.
    low, high = wilson_interval(25, 45)
    assert (round(100 * low), round(100 * high)) == (41, 69)


def _choices(*texts: str) -> list[Choice]:
    return [Choice(pk=n + 1, text=text, position=n) for n, text in enumerate(texts)]


def said(votes: dict[str, int], voters: int, *, closed=False, multiple=False):
    choices = _choices(*votes)
    by_id = {choice.pk: votes[choice.text] for choice in choices}
    found = results(choices, by_id, voters, closed=closed, multiple=multiple)
    return found.headline, found.rows


def test_a_clear_majority_is_named_with_its_interval_and_voters():
    words, rows = said({"Yes": 10, "No": 25, "Not sure": 10}, 45)
    assert words.kind == "ahead"
    assert (words.lead, words.figures) == ("Most say “No”", "56% (41–69%) of 45 voters")
    assert [row.choice.text for row in rows] == ["No", "Yes", "Not sure"] and rows[0].leader


def test_a_clear_leader_without_a_majority_leads():
    words, rows = said({"A": 35, "B": 12, "C": 12, "D": 11}, 70)
    assert words.lead == "“A” leads" and words.figures.endswith("of 70 voters")
    assert rows[0].leader and not any(row.leader for row in rows[1:])


def test_overlapping_intervals_are_too_close_to_call():
    words, rows = said({"Yes": 22, "No": 23}, 45)
    assert words.kind == "too_close" and words.lead == "Too close to call"
    assert "“No” 51%" in words.figures and "“Yes” 49%" in words.figures
    assert not any(row.leader for row in rows)


def test_a_tie_is_too_close_to_call():
    words, _ = said({"Tea": 30, "Coffee": 30}, 60)
    assert words.lead == "Too close to call: a tie"
    assert words.figures.startswith("“Tea” and “Coffee” tie at 50%")


def test_too_few_voters_to_tell_still_says_how_many():
    words, rows = said({"Yes": 9, "No": 0}, 9)
    assert words.kind == "too_few" and words.lead == "Too few votes to tell yet"
    assert words.figures == "9 voters so far; a leader is named from 10"
    assert not rows[0].leader and rows[0].votes == 9


def test_no_votes_yet():
    words, _ = said({"Yes": 0, "No": 0}, 0)
    assert words.lead == "No votes yet: be the first."
    assert said({"Yes": 0}, 0, closed=True)[0].lead == "Nobody voted."


def test_multiple_choice_shares_are_of_voters_and_say_picked():
    words, _ = said({"Python": 31, "Go": 12, "Rust": 12}, 40, multiple=True)
    assert words.lead == "Most picked “Python”"
    assert words.figures.startswith("picked by 78% (") and words.figures.endswith("of 40 voters")
    words, _ = said({"Python": 19, "Go": 5, "Rust": 4}, 40, multiple=True)
    assert words.lead == "“Python” is picked most"


def test_a_closed_question_speaks_in_the_past():
    assert said({"Yes": 10, "No": 25, "Not sure": 10}, 45, closed=True)[0].lead == "Most said “No”"
    assert said({"A": 35, "B": 12, "C": 12, "D": 11}, 70, closed=True)[0].lead == "“A” came first"
    assert said({"Yes": 3}, 3, closed=True)[0].lead == "Too few votes to tell"


def test_headline_needs_rows_most_voted_first():
    words = headline([], voters=0, closed=False)
    assert words.kind == "none"


# --- On the page -----------------------------------------------------------------------------


def voters(n: int, prefix: str = "v"):
    User = get_user_model()
    return User.objects.bulk_create(User(username=f"{prefix}{i}") for i in range(n))


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_the_page_orders_rows_by_votes_marks_the_leader_and_your_choice(client, bob, make_question):
    question = make_question("Best noodle?", ("Udon", "Ramen", "Soba"))
    udon, ramen, soba = question.choices.all()
    for n, user in enumerate(voters(30)):
        services.cast_vote(
            user=user, question=question, choice_ids=[(ramen if n < 22 else soba).pk]
        )
    services.cast_vote(user=bob, question=question, choice_ids=[udon.pk])
    client.force_login(bob)
    html = client.get(question.get_absolute_url()).content.decode()
    assert "Most say “Ramen”" in html and "71% (53–84%) of 31 voters" in html
    rows = re.findall(r'<tr(?: class="([^"]*)")?>\s*<th scope="row">([^<]+)', html)
    assert [(classes.strip(), name.strip()) for classes, name in rows] == [
        ("leader", "Ramen"),
        ("", "Soba"),
        ("mine", "Udon"),
    ]
    assert "your choice" in html and ">leads</span>" in html
    # The interval replaces the symmetric margin.
    assert "±" not in html and "53–84%" in html


def test_a_closed_question_shows_its_final_result_with_the_closing_date(client, make_question):
    closing = timezone.now() - timedelta(days=2)
    question = make_question("Old?", ("Yes", "No"), closes_at=closing)
    for n, user in enumerate(voters(20)):
        services.cast_vote(
            user=user,
            question=question,
            choice_ids=[question.choices.all()[n < 3].pk],
            now=closing - timedelta(hours=1),
        )
    html = text(client.get(question.get_absolute_url()).content.decode())
    assert "Most said “Yes”" in html
    assert f"Final result. Voting closed on {closing:%-d %B %Y, %H:%M} UTC" in html


def test_one_vote_of_one_is_too_few_and_never_100_plus_minus_0(client, alice, make_question):
    question = make_question("Lonely?", ("Yes", "No"))
    services.cast_vote(user=alice, question=question, choice_ids=[question.choices.first().pk])
    html = text(client.get(question.get_absolute_url()).content.decode())
    assert "Too few votes to tell yet 1 voter so far" in html
    assert "100% 21–100%" in html


def test_the_reader_time_zone_cookie_shows_times_in_it(client, make_question):
    closing = timezone.now() + timedelta(days=3)
    question = make_question("Zoned?", ("Yes", "No"), closes_at=closing)
    html = client.get(question.get_absolute_url()).content.decode()
    assert f"{closing:%-d %B %Y, %H:%M} UTC" in html
    client.cookies["tz"] = "Asia/Tokyo"
    html = client.get(question.get_absolute_url()).content.decode()
    tokyo = closing + timedelta(hours=9)
    assert f"{tokyo:%-d %B %Y, %H:%M} JST" in html
    assert "Times are shown in <span data-zone-name>Asia/Tokyo</span>" in html
    # A name that is no zone is ignored: UTC.
    client.cookies["tz"] = "../../etc/passwd"
    assert (
        f"{closing:%-d %B %Y, %H:%M} UTC"
        in client.get(question.get_absolute_url()).content.decode()
    )


def test_the_time_zone_form_sets_the_cookie_and_returns(client, make_question):
    question = make_question()
    form = client.get("/time-zone/", {"next": question.get_absolute_url()})
    assert form.status_code == 200 and 'value="Europe/Paris"' in form.content.decode()
    response = client.post(
        "/time-zone/", {"zone": "Europe/Paris", "next": question.get_absolute_url()}
    )
    assert response.status_code == 302 and response["Location"] == question.get_absolute_url()
    assert response.cookies["tz"].value == "Europe/Paris"
    refused = client.post("/time-zone/", {"zone": "Mars/Olympus", "next": "https://evil.example/"})
    assert (
        refused.status_code == 400 and "Pick a time zone from the list." in refused.content.decode()
    )
    assert (
        client.post("/time-zone/", {"zone": "UTC", "next": "https://evil.example/"})["Location"]
        == "/"
    )


def test_the_ask_form_reads_the_closing_time_in_the_askers_zone(client, alice):
    alice.questions.create(title="An earlier approved question", status=Question.Status.PUBLISHED)
    client.force_login(alice)
    client.cookies["tz"] = "America/New_York"
    page = client.get("/ask/").content.decode()
    assert "Date and time in America/New_York." in page
    assert 'name="time_zone" value="America/New_York"' in page
    later = (timezone.now() + timedelta(days=30)).astimezone().replace(tzinfo=None)
    typed = later.strftime("%Y-%m-%dT%H:%M")
    response = client.post(
        "/ask/",
        {
            "title": "Which park is the best for a picnic?",
            "kind": "single",
            "results_visibility": "always",
            "closes_at": typed,
            # The zone the form was shown in wins over a cookie changed meanwhile.
            "time_zone": "America/New_York",
            "choices-TOTAL_FORMS": "2",
            "choices-INITIAL_FORMS": "0",
            "choices-0-text": "Central",
            "choices-1-text": "Prospect",
            "confirm": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    asked = Question.objects.get(title="Which park is the best for a picnic?")
    from zoneinfo import ZoneInfo

    expected = later.replace(second=0, microsecond=0, tzinfo=ZoneInfo("America/New_York"))
    assert asked.closes_at == expected
