"""Whether to trust a result: signals of a push, from the vote rows and the accounts alone.

``manage.py refresh_insights`` (on a timer every five minutes) checks every published question
whose counts moved since its last check and keeps, per question (``IntegrityCheck``):

- the share of its voters whose account was younger than YOUNG_ACCOUNT_AGE when they voted;
- its busiest five minutes (UTC-aligned windows of first votes) against its typical rate: the
  question's first votes in the 24 hours before that window, per five minutes, and never less
  than TYPICAL_FLOOR (a question nobody voted on the day before is judged against one vote an
  hour);
- two flags. *Burst*: a window with at least BURST_MIN_VOTES votes and at least BURST_FACTOR
  times the typical rate. *New accounts*: an hour in which at least NEW_ACCOUNTS_MIN voters had
  accounts younger than YOUNG_ACCOUNT_AGE and made at least half of that hour's voters.

Released like the group splits (polls.groups): the number of young voters is shown only when it
is 0 or at least k, and the figures move only once at least k people have voted, changed or
withdrawn since the last release, so no two views differ by one person. How the result moves
without new accounts is the account split itself (polls.groups), shown beside these figures.

Nothing here knows where a vote came from (no address is stored per vote): a flag says votes
arrived unusually fast or from unusually young accounts, never that they are fake.
"""

from __future__ import annotations

import secrets
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.core.cache import cache
from django.db.models import F
from django.utils import timezone

from accounts.user_groups import joined_recently_column
from polls import cache_keys, groups
from polls.history import read_figures
from polls.models import Ballot, IntegrityCheck, Question

YOUNG_ACCOUNT_AGE = timedelta(days=7)
WINDOW = timedelta(minutes=5)
BASELINE = timedelta(hours=24)
BURST_FACTOR = 10
BURST_MIN_VOTES = 20
# One vote an hour, per five minutes.
TYPICAL_FLOOR = WINDOW / timedelta(hours=1)
NEW_ACCOUNTS_MIN = 25
NEW_ACCOUNTS_WINDOW = timedelta(hours=1)
# Staff insights list a question as being pushed now while its latest flag is this recent.
RECENT = timedelta(hours=24)
_BATCH = 200


def _window_start(moment: datetime, width: timedelta) -> datetime:
    seconds = int(width.total_seconds())
    stamp = int(moment.timestamp())
    return datetime.fromtimestamp(stamp - stamp % seconds, tz=UTC)


@dataclass(frozen=True)
class _Vote:
    created_at: datetime
    updated_at: datetime
    young: bool


def _ballots(question_id: int) -> list[_Vote]:
    """Every ballot of the question, oldest first, with whether its account was young then."""
    rows = (
        Ballot.objects.filter(question_id=question_id)
        .annotate(
            young=joined_recently_column(
                joined="user__date_joined", at=F("created_at"), age=YOUNG_ACCOUNT_AGE
            )
        )
        .order_by("created_at")
        .values_list("created_at", "updated_at", "young")
    )
    return [_Vote(created, updated, bool(young)) for created, updated, young in rows]


def _peak(ballots: Sequence[_Vote]) -> tuple[dict | None, datetime | None]:
    """The busiest window with its typical rate, and the start of the latest flagged window."""
    per_window = Counter(_window_start(ballot.created_at, WINDOW) for ballot in ballots)
    times = [ballot.created_at for ballot in ballots]
    peak: dict | None = None
    flagged_at: datetime | None = None
    for start, votes in sorted(per_window.items()):
        # The ballots come oldest first: the day before the window is a slice of them.
        before = bisect_left(times, start) - bisect_left(times, start - BASELINE)
        typical = max(before * (WINDOW / BASELINE), TYPICAL_FLOOR)
        if votes >= BURST_MIN_VOTES and votes >= BURST_FACTOR * typical:
            flagged_at = start
        if peak is None or votes > peak["votes"]:
            peak = {"start": start.isoformat(), "votes": votes, "typical": round(typical, 2)}
    return peak, flagged_at


def _young_hours(ballots: Sequence[_Vote]) -> datetime | None:
    """The start of the latest hour in which many young accounts made half the voters or more."""
    voters: Counter[datetime] = Counter()
    young: Counter[datetime] = Counter()
    for ballot in ballots:
        hour = _window_start(ballot.created_at, NEW_ACCOUNTS_WINDOW)
        voters[hour] += 1
        young[hour] += ballot.young
    flagged = [hour for hour, n in young.items() if n >= NEW_ACCOUNTS_MIN and 2 * n >= voters[hour]]
    return max(flagged, default=None)


@dataclass(frozen=True)
class Signals:
    voters: int
    young: int
    peak: dict | None
    burst_at: datetime | None
    young_at: datetime | None

    def figures(self) -> dict:
        k = groups.minimum()
        return {
            "voters": self.voters,
            # Fewer than k young voters: not shown (None), so it never narrows to a person.
            "young": self.young if self.young == 0 or self.young >= k else None,
            "peak": self.peak,
            "burst": self.burst_at is not None,
            "new_accounts": self.young_at is not None,
        }


def signals_of(ballots: Sequence[_Vote]) -> Signals:
    ballots = sorted(ballots, key=lambda ballot: ballot.created_at)
    peak, burst_at = _peak(ballots)
    return Signals(
        voters=len(ballots),
        young=sum(ballot.young for ballot in ballots),
        peak=peak,
        burst_at=burst_at,
        young_at=_young_hours(ballots),
    )


def check(question_id: int, counts: tuple, *, now: datetime | None = None) -> bool:
    """Check one question; whether new figures were released. ``now`` is for tests, which
    replay moments gone by."""
    ballots = _ballots(question_id)
    # After the read: a ballot cast while it ran, and not in it, is then never counted as a
    # change, so a miscount can only hold a release back.
    read_at = now or timezone.now()
    found = signals_of(ballots)
    figures = found.figures()
    previous = IntegrityCheck.objects.filter(question_id=question_id).first()
    seen = {"voters": counts[0], "votes": counts[1]}
    if previous is not None and previous.released_at is not None:
        since = previous.released_at
        changed = max(
            groups.people_changed(
                touched=sum(ballot.updated_at > since for ballot in ballots),
                joined=sum(ballot.created_at > since for ballot in ballots),
                voters_then=previous.voters_then,
                voters_now=len(ballots),
            ),
            # At least as many people as the voters grew or shrank by, whenever they voted.
            abs(len(ballots) - previous.voters_then),
        )
        # The figures come from the ballots alone: with no change they are the same.
        if changed < groups.minimum():
            IntegrityCheck.objects.filter(pk=previous.pk).update(
                checked_at=read_at, figures={**previous.figures, "seen": seen}
            )
            return False
    flags = [moment for moment in (found.burst_at, found.young_at) if moment is not None]
    IntegrityCheck.objects.update_or_create(
        question_id=question_id,
        defaults={
            "released_at": read_at,
            "figures": {**figures, "seen": seen},
            "voters_then": found.voters,
            "burst_flag": found.burst_at is not None,
            "new_accounts_flag": found.young_at is not None,
            "flagged_at": max(flags, default=None),
            "checked_at": read_at,
        },
    )
    return True


@dataclass(frozen=True)
class RefreshOutcome:
    questions: int
    checked: int
    released: int


def refresh(*, now: datetime | None = None) -> RefreshOutcome:
    """Check every published question whose counts moved since its last check. ``now`` is for
    tests, which replay moments gone by."""
    ids = list(
        Question.objects.filter(published_at__isnull=False, published_at__lte=now or timezone.now())
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    checked = released = 0
    released_ids: list[int] = []
    for start in range(0, len(ids), _BATCH):
        batch = ids[start : start + _BATCH]
        counts = read_figures(batch)
        seen = dict(
            IntegrityCheck.objects.filter(question_id__in=batch).values_list(
                "question_id", "figures"
            )
        )
        for question_id in batch:
            voters, votes = counts[question_id]
            last = (seen.get(question_id) or {}).get("seen")
            if last == {"voters": voters, "votes": votes}:
                continue
            checked += 1
            if check(question_id, (voters, votes), now=now):
                released += 1
                released_ids.append(question_id)
    forget_insight(released_ids)
    return RefreshOutcome(questions=len(ids), checked=checked, released=released)


def forget_insight(question_ids: Iterable[int]) -> None:
    """Drop the cached insight of these questions: their pages read the new release."""
    question_ids = list(question_ids)
    if not question_ids:
        return
    slugs = Question.objects.filter(pk__in=question_ids).values_list("slug", flat=True)
    cache.delete_many([cache_keys.insight(slug) for slug in slugs])


# --- What the page reads ---------------------------------------------------------------------


@dataclass(frozen=True)
class Integrity:
    """A question's released integrity figures, as its page shows them."""

    released_at: datetime
    voters: int
    # None when 1 to k-1: shown as "fewer than k".
    young: int | None
    peak_start: datetime | None
    peak_votes: int
    typical: float
    burst: bool
    new_accounts: bool

    @property
    def young_percent(self) -> float | None:
        if self.young is None or not self.voters:
            return None
        return 100 * self.young / self.voters

    @property
    def peak_end(self) -> datetime | None:
        return self.peak_start + WINDOW if self.peak_start else None

    @property
    def peak_times(self) -> float:
        return self.peak_votes / self.typical if self.typical else 0.0

    @property
    def flagged(self) -> bool:
        return self.burst or self.new_accounts


def integrity_of(check: IntegrityCheck | None) -> Integrity | None:
    if check is None or check.released_at is None:
        return None
    figures = check.figures
    peak = figures.get("peak") or {}
    return Integrity(
        released_at=check.released_at,
        voters=figures.get("voters", 0),
        young=figures.get("young"),
        peak_start=datetime.fromisoformat(peak["start"]) if peak else None,
        peak_votes=peak.get("votes", 0),
        typical=peak.get("typical", TYPICAL_FLOOR),
        burst=figures.get("burst", False),
        new_accounts=figures.get("new_accounts", False),
    )


@dataclass(frozen=True)
class QuestionInsight:
    """What the question page shows beside its result: its integrity figures and what its
    voters chose elsewhere; cached with the question, rebuilt when a release changes it."""

    integrity: Integrity | None = None
    co_voting: tuple = ()
    stamp: str = field(default_factory=lambda: secrets.token_hex(8), compare=False)


def build_insight(question_id: int) -> QuestionInsight:
    """Two queries, whatever the number of votes, questions and pairs."""
    from polls.covoting import shown_for  # polls.covoting releases through this module

    check = IntegrityCheck.objects.filter(question_id=question_id).first()
    return QuestionInsight(integrity=integrity_of(check), co_voting=shown_for(question_id))


@dataclass(frozen=True)
class Moved:
    """How the released result moves without the accounts of the account split's "new" group."""

    # new: shown apart; nobody: no new accounts voted; fewer, withheld: not shown (the k rule)
    state: str
    released_at: datetime | None = None
    # The choice whose share moves most, by how many points, and from and to which share.
    choice_id: int | None = None
    points: float = 0.0
    with_them: float = 0.0
    without_them: float = 0.0
    voters: int = 0
    votes: dict[int, int] = field(default_factory=dict)


def without_new_accounts(split: groups.SplitView | None) -> Moved | None:
    """From the released account split: the result without new accounts, and how it moved."""
    if split is None:
        return None
    by_key = {group.key: group for group in split.groups}
    new, rest = by_key["new"], by_key["established"]
    if not split.shown or new.state in ("fewer", "withheld") or rest.state != "shown":
        # Not released (the k rule), or nobody with an established account voted.
        known = new.state in ("fewer", "withheld", "nobody")
        return Moved(state=new.state if known else "withheld")
    if new.state == "nobody":
        return Moved(
            state="nobody",
            released_at=split.released_at,
            voters=rest.voters,
            votes=dict(rest.votes or {}),
        )
    all_votes = Counter(rest.votes or {})
    all_votes.update(new.votes or {})
    voters = rest.voters + new.voters
    # Rounded before comparing: on a two-choice question both shares move by the same points.
    moves = [
        (
            round(
                abs(100 * all_votes[c] / voters - 100 * (rest.votes or {}).get(c, 0) / rest.voters),
                6,
            ),
            c,
        )
        for c in sorted(all_votes)
    ]
    points, choice_id = max(moves, key=lambda move: (move[0], -move[1]))
    return Moved(
        state="new",
        released_at=split.released_at,
        choice_id=choice_id,
        points=points,
        with_them=100 * all_votes[choice_id] / voters,
        without_them=100 * (rest.votes or {}).get(choice_id, 0) / rest.voters,
        voters=rest.voters,
        votes=dict(rest.votes or {}),
    )


_CHECK_FIELDS = (
    "released_at",
    "figures",
    "burst_flag",
    "new_accounts_flag",
    "flagged_at",
    "question_id",
)


def recently_flagged(*, now: datetime, limit: int = 50) -> list[IntegrityCheck]:
    """The questions flagged in the last RECENT, latest first: one query."""
    return list(
        IntegrityCheck.objects.filter(flagged_at__gte=now - RECENT, released_at__isnull=False)
        .select_related("question")
        .only("question__title", "question__slug", "question__status", *_CHECK_FIELDS)
        .order_by("-flagged_at")[:limit]
    )
