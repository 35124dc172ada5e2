"""Results over time: the snapshot command, ?as_of= pages and the trend table against a model."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from polls import history, services
from polls.models import ResultDay, SnapshotRun, Vote

User = get_user_model()


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def results_table(html: str) -> tuple[int, dict[str, int]]:
    """The voters and the votes per choice that a page's results block shows."""
    voters = re.search(r"<strong>([\d,]+)</strong> (?:person|people)", html)
    table = html[html.index('<table class="results-table"') :]
    table = table[: table.index("</table>")]
    rows = re.findall(
        r'<th scope="row">(?:<img[^>]*> )?([^<]+?)\s*(?:<span[^>]*>[^<]*</span>\s*)*</th>.*?'
        r'<td class="num">([\d,]+)</td>',
        table,
        re.S,
    )
    return int(voters[1].replace(",", "")), {name: int(n.replace(",", "")) for name, n in rows}


def trend_table(html: str) -> dict[str, tuple[int, dict[str, int], str]]:
    """{day: (voters, votes per choice, "counted" or "reconstructed")} from the trend table."""
    table = html[html.index('<table class="trend-table"') :]
    table = table[: table.index("</table>")]
    found = {}
    for day, voters, cells in re.findall(
        r'<a href="\?as_of=([\d-]+)#results">.*?</a></th>\s*'
        r'<td class="num" data-label="Voters">([\d,]+)</td>(.*?)</tr>',
        table,
        re.S,
    ):
        votes = {
            label: int(n) for label, n in re.findall(r'data-label="([^"]+)">[^(]*\((\d+)\)', cells)
        }
        source = re.search(r'data-label="Count">(\w+)</td>', cells)[1]
        found[day] = (int(voters.replace(",", "")), votes, source)
    return found


def published(question, moment: datetime) -> None:
    question.published_at = moment
    question.save(update_fields=["published_at"])


def snapshot(now: datetime) -> history.SnapshotOutcome:
    return history.take_snapshot(now=now)


def test_a_simulated_month_of_votes_changes_and_withdrawals_equals_the_model(client, make_question):
    rng = random.Random(13)  # noqa: S311  (a repeatable simulation)
    first = timezone.now().date() - timedelta(days=40)
    question = make_question("A month of opinion?", ("Apples", "Pears", "Plums"))
    published(question, at(first, 0, 30))
    choices = {choice.text: choice.pk for choice in question.choices.all()}
    names = {pk: text for text, pk in choices.items()}
    people = User.objects.bulk_create(
        User(username=f"m{n}", date_joined=at(first, 0) - timedelta(days=400)) for n in range(90)
    )
    model: dict[int, int] = {}  # user id -> the choice id of their ballot now
    standing: dict[date, tuple[int, dict[str, int]]] = {}

    def act(moment: datetime) -> None:
        roll = rng.random()
        voted = list(model)
        if roll < 0.6 or not voted:
            user = rng.choice([p for p in people if p.pk not in model])
            pick = rng.choice(list(choices.values()))
        elif roll < 0.9:
            chosen = rng.choice(voted)
            user = next(p for p in people if p.pk == chosen)
            pick = rng.choice([pk for pk in choices.values() if pk != model[user.pk]])
        else:
            chosen = rng.choice(voted)
            user = next(p for p in people if p.pk == chosen)
            services.withdraw_vote(user=user, question=question, now=moment)
            people.remove(user)  # withdrawn: does not come back in this simulation
            del model[user.pk]
            return
        services.cast_vote(user=user, question=question, choice_ids=[pick], now=moment)
        model[user.pk] = pick

    for offset in range(30):
        day = first + timedelta(days=offset)
        for minute in sorted(rng.sample(range(60, 12 * 60), rng.randint(1, 3))):
            act(at(day, 0) + timedelta(minutes=minute))
        if offset % 3 == 0:
            snapshot(at(day, 12))  # a run in the middle of the day, rewritten by later ones
        for minute in sorted(rng.sample(range(13 * 60, 23 * 60), rng.randint(0, 3))):
            act(at(day, 0) + timedelta(minutes=minute))
        snapshot(at(day, 23, 55))
        if offset % 7 == 0:
            snapshot(at(day, 23, 58))  # run again the same day: safe
        standing[day] = (len(model), {names[c]: n for c, n in Counter(model.values()).items()})

    # The truth agrees with the model, and a later run changes no completed day.
    assert Counter(Vote.objects.filter(question=question).values_list("choice_id", flat=True)) == (
        Counter(model.values())
    )
    rows_before = list(ResultDay.objects.filter(question=question).values())
    snapshot(at(first + timedelta(days=31), 9))
    assert (
        list(
            ResultDay.objects.filter(question=question, day__lt=first + timedelta(days=31)).values()
        )
        == rows_before
    )

    trend = trend_table(client.get(question.get_absolute_url()).content.decode())
    for day, (voters, votes) in standing.items():
        html = client.get(question.get_absolute_url(), {"as_of": day.isoformat()}).content.decode()
        assert f"Results at the end of {day.day} {day:%B %Y}" in html
        assert "As it stood at the end of" in html and "Counted at" in html
        shown_voters, shown_votes = results_table(html)
        assert shown_voters == voters, day
        assert {k: v for k, v in shown_votes.items() if v} == votes, day
        assert trend[day.isoformat()] == (voters, {n: votes.get(n, 0) for n in choices}, "counted")
    # The month and the later run's day; the day between had no run and is left out.
    assert len(trend) == 31 and (first + timedelta(days=30)).isoformat() not in trend


def test_a_change_today_moves_today_not_yesterday(client, make_question, alice, bob):
    question = make_question("Today?", ("Yes", "No"))
    yes, no = question.choices.all()
    yesterday = timezone.now().date() - timedelta(days=1)
    published(question, at(yesterday, 0))
    services.cast_vote(user=alice, question=question, choice_ids=[yes.pk], now=at(yesterday, 8))
    snapshot(at(yesterday, 23, 55))
    services.cast_vote(user=alice, question=question, choice_ids=[no.pk])
    services.cast_vote(user=bob, question=question, choice_ids=[no.pk])
    call_command("snapshot_results", stdout=StringIO())
    html = client.get(
        question.get_absolute_url(), {"as_of": yesterday.isoformat()}
    ).content.decode()
    assert results_table(html) == (1, {"Yes": 1, "No": 0})
    assert results_table(client.get(question.get_absolute_url()).content.decode()) == (
        2,
        {"No": 2, "Yes": 0},
    )


def test_days_before_snapshots_began_are_reconstructed_and_say_so(
    client, make_question, alice, bob
):
    question = make_question("Before?", ("Yes", "No"))
    yes, no = question.choices.all()
    start = timezone.now().date() - timedelta(days=5)
    published(question, at(start, 1))
    services.cast_vote(user=alice, question=question, choice_ids=[yes.pk], now=at(start, 2))
    services.cast_vote(
        user=bob, question=question, choice_ids=[no.pk], now=at(start + timedelta(days=2), 2)
    )
    outcome = snapshot(timezone.now())
    assert outcome.reconstructed == 2  # the first day and the day it moved
    trend = trend_table(client.get(question.get_absolute_url()).content.decode())
    assert [value[2] for value in trend.values()] == ["reconstructed"] * 5
    assert trend[(start + timedelta(days=1)).isoformat()][:2] == (1, {"Yes": 1, "No": 0})
    html = client.get(question.get_absolute_url(), {"as_of": start.isoformat()}).content.decode()
    assert "Reconstructed afterwards from the votes as they are now" in html
    assert "reconstructed</text>" in client.get(question.get_absolute_url()).content.decode()


def test_a_day_without_a_snapshot_is_left_out_not_guessed(client, make_question, alice):
    question = make_question("Gap?", ("Yes", "No"))
    start = timezone.now().date() - timedelta(days=4)
    published(question, at(start, 1))
    services.cast_vote(
        user=alice, question=question, choice_ids=[question.choices.first().pk], now=at(start, 2)
    )
    snapshot(at(start, 23))
    snapshot(at(start + timedelta(days=2), 23))
    html = client.get(
        question.get_absolute_url(), {"as_of": (start + timedelta(days=1)).isoformat()}
    )
    assert "No count of that day was kept" in html.content.decode()
    assert set(trend_table(client.get(question.get_absolute_url()).content.decode())) == {
        start.isoformat(),
        (start + timedelta(days=2)).isoformat(),
    }
    assert SnapshotRun.objects.count() == 2


@pytest.mark.parametrize(
    ("value", "status", "says"),
    [
        ("yesterday", 400, "is not a day: give one as YYYY-MM-DD"),
        ("2001-01-01", 200, "The question had not been asked by the end of that day"),
        ("2999-01-01", 200, "That day is not over yet"),
    ],
)
def test_as_of_that_cannot_be_shown_says_why_and_shows_now(client, question, value, status, says):
    response = client.get(question.get_absolute_url(), {"as_of": value})
    assert response.status_code == status
    assert says in response.content.decode()


def test_as_of_hides_what_the_results_hide(client, make_question, alice):
    question = make_question("Secret?", ("Yes", "No"), results_visibility="after_vote")
    yesterday = timezone.now().date() - timedelta(days=1)
    published(question, at(yesterday, 0))
    services.cast_vote(
        user=alice,
        question=question,
        choice_ids=[question.choices.first().pk],
        now=at(yesterday, 3),
    )
    snapshot(at(yesterday, 23))
    html = client.get(
        question.get_absolute_url(), {"as_of": yesterday.isoformat()}
    ).content.decode()
    assert "Results are shown to people who have voted" in html
    assert 'class="results-table"' not in html and "trend-table" not in html


def test_recount_leaves_history_alone_and_the_next_snapshot_follows_the_truth(make_question, alice):
    question = make_question("Recount?", ("Yes", "No"))
    services.cast_vote(user=alice, question=question, choice_ids=[question.choices.first().pk])
    snapshot(timezone.now())
    from polls.models import ChoiceTally

    ChoiceTally.objects.filter(question=question).update(votes=7)
    call_command("recount_votes", stdout=StringIO())
    snapshot(timezone.now())
    row = ResultDay.objects.get(question=question)
    assert (row.voters, row.votes) == (1, {str(question.choices.first().pk): 1})
