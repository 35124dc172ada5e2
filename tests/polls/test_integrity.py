"""The integrity panel: a storm raises its flags and a trickle does not, the result without new
accounts is what MariaDB says, one person never moves a figure, and the page's cost is fixed."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, F
from django.utils import timezone

from polls import history, integrity, services
from polls.models import IntegrityCheck, Vote

User = get_user_model()
K = 10
_made = iter(range(100_000))


@pytest.fixture
def poll(make_question):
    """A question asked 20 days ago."""
    question = make_question("Trust?", ("Yes", "No"))
    question.published_at = timezone.now() - timedelta(days=20)
    question.save(update_fields=["published_at"])
    return question


def vote(question, choice: str, *, when: datetime, account_age: timedelta, n: int = 1) -> None:
    """``n`` people with accounts ``account_age`` old at ``when`` vote ``choice`` then."""
    pick = question.choices.get(text=choice).pk
    users = User.objects.bulk_create(
        User(username=f"i{next(_made)}", date_joined=when - account_age) for _ in range(n)
    )
    for user in users:
        services.cast_vote(user=user, question=question, choice_ids=[pick], now=when)


def trickle(question, *, days: int = 3, every: timedelta = timedelta(hours=2)) -> datetime:
    """Established accounts voting one at a time, every ``every`` for ``days`` days."""
    now = timezone.now()
    moment = now - timedelta(days=days)
    n = 0
    while moment < now - timedelta(hours=1):
        vote(question, "Yes" if n % 3 else "No", when=moment, account_age=timedelta(days=400))
        moment += every
        n += 1
    return now


def storm(question, *, at: datetime, people: int = 200) -> None:
    """``people`` accounts made minutes before they vote, all within ten minutes."""
    for n in range(people):
        when = at + timedelta(seconds=n * 600 // people)
        vote(question, "No", when=when, account_age=timedelta(minutes=5))


def panel(client, question, query: str = "") -> str:
    html = client.get(question.get_absolute_url() + query).content.decode()
    start = html.index('<section class="integrity"')
    return html[start : html.index("</section>", start)]


def test_a_storm_of_new_accounts_raises_both_flags(client, poll):
    now = trickle(poll)
    storm(poll, at=now - timedelta(minutes=30))
    call_command("refresh_insights", verbosity=0)
    check = IntegrityCheck.objects.get(question=poll)
    assert check.burst_flag and check.new_accounts_flag
    assert check.figures["peak"]["votes"] >= 60
    assert now - timedelta(hours=1) <= check.flagged_at <= now - timedelta(minutes=20)
    text = panel(client, poll)
    assert "A burst of votes, and many new accounts" in text
    assert "a link shared widely, or an organised push" in text
    assert "not that they are fake" in text


def test_a_steady_trickle_raises_no_flag(client, poll):
    trickle(poll, every=timedelta(minutes=20))
    call_command("refresh_insights", verbosity=0)
    check = IntegrityCheck.objects.get(question=poll)
    assert not check.burst_flag and not check.new_accounts_flag
    assert check.flagged_at is None
    text = panel(client, poll)
    assert "No sign of a push" in text
    assert "burst of votes." not in text


def test_a_trickle_of_new_accounts_is_their_share_not_a_flag(client, poll):
    now = timezone.now()
    for hour in range(40):
        when = now - timedelta(hours=hour + 1)
        vote(poll, "Yes", when=when, account_age=timedelta(days=2))
        vote(poll, "No", when=when, account_age=timedelta(days=400))
    integrity.refresh()
    check = IntegrityCheck.objects.get(question=poll)
    assert not check.new_accounts_flag and not check.burst_flag
    assert "50% (40 of 80)" in panel(client, poll)


def test_the_same_storm_on_a_busy_question_is_within_its_usual_rate():
    """Judged against the question's own rate: 60 votes in five minutes is usual for a question
    that had 28,800 the day before (100 per five minutes). Only the first hours of that busy day,
    out of nothing, were a burst."""
    now = timezone.now()
    signals = integrity.signals_of(
        [
            integrity._Vote(now - timedelta(hours=h, seconds=s), now, False)
            for h in range(1, 25)
            for s in range(0, 3600, 3)
        ]
        + [integrity._Vote(now + timedelta(seconds=s), now, False) for s in range(0, 300, 5)]
    )
    assert signals.burst_at is not None and signals.burst_at < now - timedelta(hours=20)
    assert signals.peak["votes"] == 100


def without_new_from_mariadb(question) -> dict[str, int]:
    """Votes per choice of the voters whose accounts were at least 30 days old when they voted,
    filtered in SQL."""
    rows = (
        Vote.objects.filter(question=question)
        .filter(ballot__user__date_joined__lte=F("ballot__created_at") - timedelta(days=30))
        .values("choice__text")
        .annotate(n=Count("pk"))
    )
    return {row["choice__text"]: row["n"] for row in rows}


def results_votes(html: str) -> dict[str, int]:
    table = html[html.index('<table class="results-table">') : html.index("</table>")]
    rows = re.findall(
        r'<th scope="row">([^<]+?)(?:\s*<span[^>]*>[^<]*</span>)*</th>.*?'
        r'<td class="num">([\d,]+)</td>',
        table,
        re.S,
    )
    return {text.strip(): int(n.replace(",", "")) for text, n in rows}


def test_the_result_without_new_accounts_is_the_rows_filtered_the_same_way(client, poll):
    now = timezone.now()
    vote(poll, "Yes", when=now - timedelta(days=2), account_age=timedelta(days=3), n=15)
    vote(poll, "No", when=now - timedelta(days=2), account_age=timedelta(days=29), n=12)
    vote(poll, "No", when=now - timedelta(days=2), account_age=timedelta(days=31), n=20)
    vote(poll, "Yes", when=now - timedelta(days=2), account_age=timedelta(days=400), n=11)
    history.take_snapshot()
    integrity.refresh()
    html = client.get(poll.get_absolute_url() + "?without=new").content.decode()
    assert "Without accounts under 30 days old when they voted" in html
    expected = without_new_from_mariadb(poll)
    assert expected == {"No": 20, "Yes": 11}
    assert results_votes(html) == expected
    assert "<strong>31</strong> people have voted" in html
    # The panel says how far the result moved and links back to everyone's votes.
    text = panel(client, poll, "?without=new")
    assert "“Yes” would have 35% instead of 45%" in text
    assert "Show everyone&#x27;s votes" in text or "Show everyone's votes" in text
    assert "?without=new" in panel(client, poll)


def test_one_more_young_voter_moves_no_figure(client, poll):
    """A differencing attack: today's panel against yesterday's, one young voter apart."""
    now = timezone.now()
    vote(poll, "Yes", when=now - timedelta(days=2), account_age=timedelta(days=400), n=30)
    vote(poll, "No", when=now - timedelta(days=1), account_age=timedelta(days=1), n=K)
    integrity.refresh(now=now - timedelta(minutes=1))
    before = panel(client, poll)
    assert "25% (10 of 40)" in before
    vote(poll, "No", when=now, account_age=timedelta(days=1))
    integrity.refresh(now=now + timedelta(minutes=1))
    assert panel(client, poll) == before
    vote(poll, "No", when=now, account_age=timedelta(days=1), n=K - 1)
    integrity.refresh(now=now + timedelta(minutes=2))
    assert "40% (20 of 50)" in panel(client, poll)


def test_fewer_than_k_young_voters_are_not_counted_out(client, poll):
    now = timezone.now()
    vote(poll, "Yes", when=now - timedelta(days=2), account_age=timedelta(days=400), n=30)
    vote(poll, "No", when=now - timedelta(days=1), account_age=timedelta(days=1), n=K - 1)
    integrity.refresh()
    text = panel(client, poll)
    assert "fewer than 10 of 39" in text
    assert "9 of" not in text


def test_a_question_not_checked_yet_says_so(client, poll):
    assert "Not worked out yet" in panel(client, poll)


def test_a_question_whose_counts_did_not_move_is_not_read_again(poll):
    now = timezone.now()
    vote(poll, "Yes", when=now - timedelta(days=1), account_age=timedelta(days=400), n=3)
    assert integrity.refresh().checked == 1
    outcome = integrity.refresh()
    assert (outcome.checked, outcome.released) == (0, 0)


def test_fewer_than_k_new_accounts_are_never_left_out_of_a_result(client, poll):
    """A differencing attack: the result with and without new accounts, when they are fewer
    than k, would give away how those few voted. Neither the link nor ?without=new shows it."""
    now = timezone.now()
    vote(poll, "Yes", when=now - timedelta(days=2), account_age=timedelta(days=400), n=30)
    vote(poll, "No", when=now - timedelta(days=2), account_age=timedelta(days=3), n=K - 1)
    history.take_snapshot()
    integrity.refresh()
    text = panel(client, poll)
    assert "Not shown: fewer than 10 voters had accounts that new." in text
    assert "?without=new" not in text
    html = client.get(poll.get_absolute_url() + "?without=new").content.decode()
    assert "Without accounts under 30 days old when they voted" not in html
    assert "<strong>39</strong> people have voted" in html
