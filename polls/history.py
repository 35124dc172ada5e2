"""Each question's results over time: the daily snapshot, and what its page reads of it.

``take_snapshot`` (``manage.py snapshot_results``, on a timer every few minutes) reads every
published question's tallies, which change in the same transaction as the vote rows, and keeps
them as the question's row for the current UTC day (``ResultDay``): rewritten by each run of
that day, never again once the day is over. A row is written only when the figures differ from
the question's row before, and each complete run records itself (``SnapshotRun``), so a day
with a run and no row was a day without change. A day's figures are therefore those of its last
run: votes in the minutes between that run and midnight count towards the next day.

A question first read when it already had votes on earlier days (it was published before
snapshots began, or the timer was stopped) gets those days reconstructed from its vote rows
as they are now, and marked as such: a vote changed or withdrawn since is not what it was then.

The page never reads these tables on a request: ``QuestionHistory`` (completed days, oldest
first, and the released group splits) is built in a constant number of queries whatever the
number of days, cached with the question, and rebuilt when a new day begins or a run changes it.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.core.cache import cache
from django.db import transaction
from django.db.models import OuterRef, Subquery, Sum
from django.utils import timezone

from polls import cache_keys, groups
from polls.models import (
    ChoiceTally,
    GroupRelease,
    Question,
    QuestionTally,
    ResultDay,
    SnapshotRun,
    Vote,
)
from polls.tallies import upsert_counters

_BATCH = 500


def utc_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def end_of(day: date) -> datetime:
    """The last moment of a UTC day."""
    return datetime.combine(day, time.max, tzinfo=UTC)


# --- Taking the snapshot -----------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotOutcome:
    day: date
    questions: int
    written: int
    reconstructed: int
    released: int


def take_snapshot(*, now: datetime | None = None) -> SnapshotOutcome:
    """Record every published question's figures as today's (the UTC day of ``now``).

    Safe to run again on the same day: it rewrites today's rows with what the tallies say now
    and never touches an earlier day's. ``now`` is for tests and the demo, which replay days
    gone by; otherwise it is the present.
    """
    started = now or timezone.now()
    today = utc_day(started)
    ids = list(
        Question.objects.filter(published_at__isnull=False, published_at__lte=started)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    written = reconstructed = released = 0
    for start in range(0, len(ids), _BATCH):
        batch = _snapshot_batch(ids[start : start + _BATCH], today=today, now=started, fixed=now)
        written += batch.written
        reconstructed += batch.reconstructed
        released += batch.released
    finished = max(timezone.now(), started)
    upsert_counters(
        SnapshotRun,
        ("day",),
        [(today, started, finished)],
        replace=("started_at", "finished_at"),
    )
    return SnapshotOutcome(
        day=today,
        questions=len(ids),
        written=written,
        reconstructed=reconstructed,
        released=released,
    )


@dataclass(frozen=True)
class _BatchOutcome:
    written: int = 0
    reconstructed: int = 0
    released: int = 0


def _snapshot_batch(
    ids: list[int], *, today: date, now: datetime, fixed: datetime | None
) -> _BatchOutcome:
    figures = read_figures(ids)
    latest = _latest_rows(ids, today)
    measured = set(
        ResultDay.objects.filter(question_id__in=ids, reconstructed=False)
        .values_list("question_id", flat=True)
        .distinct()
    )
    questions = {
        q.pk: q for q in Question.objects.filter(pk__in=ids).only("pk", "slug", "published_at")
    }
    today_rows: list[tuple] = []
    past_rows: list[tuple] = []
    changed: list[Question] = []
    for question_id in ids:
        voters, votes = figures.get(question_id, (0, {}))
        last = latest.get(question_id)
        question = questions[question_id]
        if question_id not in measured:
            if last is None:
                past_rows += _reconstructed_rows(question, today=today, now=now)
        elif last is not None and (last.voters, last.votes) == (voters, votes):
            continue
        today_rows.append((question_id, today, voters, votes, now, False))
        changed.append(question)
    with transaction.atomic():
        # Today's rows are rewritten; a reconstructed day is only ever inserted.
        upsert_counters(
            ResultDay,
            ("question", "day"),
            today_rows,
            replace=("voters", "votes", "counted_at", "reconstructed"),
        )
        _insert_missing(past_rows)
    released = sum(groups.check(question, now=fixed) for question in changed)
    # Outside any transaction: the cached history is dropped once the rows are in.
    cache.delete_many([cache_keys.history(question.slug) for question in changed])
    return _BatchOutcome(written=len(today_rows), reconstructed=len(past_rows), released=released)


def read_figures(ids: Sequence[int]) -> dict[int, tuple[int, dict[str, int]]]:
    """Voters and votes per choice (choices with none left out) of each question, from the
    tallies: two queries for a whole batch."""
    voters = {
        row["question_id"]: row["total"] or 0
        for row in QuestionTally.objects.filter(question_id__in=ids)
        .values("question_id")
        .annotate(total=Sum("voters"))
        .order_by()
    }
    votes: dict[int, dict[str, int]] = {}
    for row in (
        ChoiceTally.objects.filter(question_id__in=ids)
        .values("question_id", "choice_id")
        .annotate(total=Sum("votes"))
        .order_by()
    ):
        if (row["total"] or 0) > 0:
            votes.setdefault(row["question_id"], {})[str(row["choice_id"])] = row["total"]
    return {
        question_id: (
            max(voters.get(question_id, 0), 0),
            dict(sorted(votes.get(question_id, {}).items())),
        )
        for question_id in ids
    }


def _latest_rows(ids: Sequence[int], today: date) -> dict[int, ResultDay]:
    newest = (
        ResultDay.objects.filter(question_id=OuterRef("question_id"), day__lte=today)
        .order_by("-day")
        .values("day")[:1]
    )
    rows = ResultDay.objects.filter(question_id__in=ids, day=Subquery(newest))
    return {row.question_id: row for row in rows}


def _reconstructed_rows(question: Question, *, today: date, now: datetime) -> list[tuple]:
    """The question's days before today, from its vote rows as they are now: one row for its
    first day and one for each day its figures moved."""
    if question.published_at is None:  # never published: no day to rebuild
        return []
    first_day = utc_day(question.published_at)
    if first_day >= today:
        return []
    ballots: dict[int, tuple[date, list[int]]] = {}
    for ballot_id, choice_id, created_at in Vote.objects.filter(
        question_id=question.pk
    ).values_list("ballot_id", "choice_id", "ballot__created_at"):
        ballots.setdefault(ballot_id, (utc_day(created_at), []))[1].append(choice_id)
    voters_by_day: Counter[date] = Counter()
    votes_by_day: dict[date, Counter[str]] = {}
    for day, choice_ids in ballots.values():
        voters_by_day[max(day, first_day)] += 1
        votes_by_day.setdefault(max(day, first_day), Counter()).update(str(c) for c in choice_ids)
    rows = []
    voters, votes = 0, Counter[str]()
    for day in _days(first_day, today - timedelta(days=1)):
        if day in voters_by_day or day == first_day:
            voters += voters_by_day.get(day, 0)
            votes.update(votes_by_day.get(day, Counter()))
            rows.append((question.pk, day, voters, dict(sorted(votes.items())), now, True))
    return rows


def _insert_missing(rows: list[tuple]) -> None:
    """Insert rows for days that have none; a day that has one keeps it."""
    if not rows:
        return
    keys = {(row[0], row[1]) for row in rows}
    present = set(
        ResultDay.objects.filter(
            question_id__in={key[0] for key in keys}, day__in={key[1] for key in keys}
        ).values_list("question_id", "day")
    )
    ResultDay.objects.bulk_create(
        ResultDay(
            question_id=question_id,
            day=day,
            voters=voters,
            votes=votes,
            counted_at=counted_at,
            reconstructed=reconstructed,
        )
        for question_id, day, voters, votes, counted_at, reconstructed in rows
        if (question_id, day) not in present
    )


def _days(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


# --- What the page reads --------------------------------------------------------------------


@dataclass(frozen=True)
class DayResult:
    """A question's figures at the end of one UTC day."""

    day: date
    voters: int
    votes: dict[int, int]
    reconstructed: bool
    # When they were read from the tallies (the day's last snapshot); None when reconstructed.
    counted_at: datetime | None

    def votes_for(self, choice_id: int) -> int:
        return self.votes.get(choice_id, 0)


@dataclass(frozen=True)
class QuestionHistory:
    """The completed days of one question (oldest first; days without a snapshot left out),
    and its released group splits, as of ``built_on`` (a UTC day)."""

    built_on: date
    days: tuple[DayResult, ...] = ()
    splits: tuple[groups.SplitView, ...] = ()
    # Made each time it is built: the page's parts rendered from it are keyed by it.
    stamp: str = field(default_factory=lambda: secrets.token_hex(8), compare=False)

    def at(self, day: date) -> DayResult | None:
        """The figures at the end of ``day``, or None when no snapshot of it was kept."""
        for result in self.days:
            if result.day == day:
                return result
        return None

    def nearest_before(self, day: date) -> DayResult | None:
        earlier = [result for result in self.days if result.day < day]
        return earlier[-1] if earlier else None

    @property
    def reconstructed_days(self) -> int:
        return sum(result.reconstructed for result in self.days)


def build_history(question_id: int, *, now: datetime | None = None) -> QuestionHistory:
    """Read a question's history from MySQL: three queries, whatever the number of days."""
    today = utc_day(now or timezone.now())
    rows = list(
        ResultDay.objects.filter(question_id=question_id, day__lt=today)
        .order_by("day")
        .only("day", "voters", "votes", "counted_at", "reconstructed")
    )
    releases = list(GroupRelease.objects.filter(question_id=question_id))
    splits = tuple(groups.view(release) for release in releases)
    if not rows:
        return QuestionHistory(built_on=today, splits=splits)
    measured_from = next((row.day for row in rows if not row.reconstructed), today)
    runs = dict(
        SnapshotRun.objects.filter(day__gte=measured_from, day__lt=today).values_list(
            "day", "started_at"
        )
    )
    return QuestionHistory(
        built_on=today, days=tuple(_completed_days(rows, runs, measured_from, today)), splits=splits
    )


def build_histories(
    ids: Sequence[int], *, now: datetime | None = None
) -> dict[int, tuple[DayResult, ...]]:
    """The completed days of many questions at once (without their group splits), as
    ``build_history`` gives them for one: two queries whatever the number of questions and days.
    A question with no days is left out."""
    today = utc_day(now or timezone.now())
    rows: dict[int, list[ResultDay]] = {}
    for row in (
        ResultDay.objects.filter(question_id__in=ids, day__lt=today)
        .order_by("question_id", "day")
        .only("question_id", "day", "voters", "votes", "counted_at", "reconstructed")
    ):
        rows.setdefault(row.question_id, []).append(row)
    if not rows:
        return {}
    measured_from = {
        question_id: next((row.day for row in days if not row.reconstructed), today)
        for question_id, days in rows.items()
    }
    # The runs from the earliest day any of them was measured: a superset of each one's.
    runs = dict(
        SnapshotRun.objects.filter(day__gte=min(measured_from.values()), day__lt=today).values_list(
            "day", "started_at"
        )
    )
    return {
        question_id: tuple(_completed_days(days, runs, measured_from[question_id], today))
        for question_id, days in rows.items()
    }


def _completed_days(
    rows: list[ResultDay], runs: dict[date, datetime], measured_from: date, today: date
) -> Iterable[DayResult]:
    """Each day from the first row to yesterday that has figures: its own row, or the row
    before it on a day the snapshot ran (or was reconstructed) without change."""
    by_day = {row.day: row for row in rows}
    current: ResultDay | None = None
    for day in _days(rows[0].day, today - timedelta(days=1)):
        current = by_day.get(day, current)
        if current is None:
            continue
        reconstructed = day < measured_from
        if not reconstructed and day not in runs and day not in by_day:
            continue  # no snapshot that day: left out rather than guessed
        counted_at = None if reconstructed else runs.get(day, current.counted_at)
        yield DayResult(
            day=day,
            voters=current.voters,
            votes={int(choice): votes for choice, votes in current.votes.items()},
            reconstructed=reconstructed,
            counted_at=counted_at,
        )
