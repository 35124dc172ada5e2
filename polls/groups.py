"""How groups of voters answered, released so that no figure narrows down to fewer than k people.

Two splits of a question's voters, each fixed by the ballot when it was first cast, so nobody
moves between groups as time passes:

- by account age: accounts under 30 days old when they voted against established ones (the
  rule is accounts.user_groups');
- by when they voted: in the question's first week against later (shown once that week is over).

k is ``GROUP_MIN_VOTERS`` (at least 10). A split is released, by the snapshot
(polls.history), only when:

1. each of its groups has no voter or at least k: a group of 1 to k-1 is shown as "fewer than
   k", and the other group is withheld too, since the total minus it would give the small one;
2. each of its groups has had no change or changes from at least k people since the split's
   previous release (votes cast, changed or withdrawn): two releases never differ by one person.
   Otherwise the previous release stays, with its date.

Changes are counted from below, so that a release can only be held back by a miscount, never
let through: ballots cast or changed since the release (one each, whatever they did), or, if
more, ballots gone since (the group's voters then, plus those who joined it since, minus its
voters now); someone who withdrew and voted again counts once.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from accounts.user_groups import NEW_ACCOUNT_AGE, joined_recently_column
from polls.models import GroupRelease, Question, Vote
from polls.tallies import upsert_counters

Split = GroupRelease.Split
FIRST_WEEK = timedelta(days=7)
GROUPS: dict[str, tuple[tuple[str, str], ...]] = {
    Split.ACCOUNT: (
        ("new", f"Accounts under {NEW_ACCOUNT_AGE.days} days"),
        ("established", "Established accounts"),
    ),
    Split.PERIOD: (("first_week", "In the first week"), ("later", "Later")),
}
TITLES: dict[str, str] = {
    Split.ACCOUNT: "New and established accounts",
    Split.PERIOD: "Early and later voters",
}


def minimum() -> int:
    return settings.GROUP_MIN_VOTERS


@dataclass(frozen=True)
class _Ballot:
    created_at: datetime
    updated_at: datetime
    new_account: bool
    choices: tuple[int, ...]


def _ballots(question_id: int) -> list[_Ballot]:
    """Every ballot of the question with its choices: one query over its vote rows."""
    rows = (
        Vote.objects.filter(question_id=question_id)
        .annotate(
            new_account=joined_recently_column(
                joined="ballot__user__date_joined", at=F("ballot__created_at")
            )
        )
        .values_list(
            "ballot_id", "choice_id", "ballot__created_at", "ballot__updated_at", "new_account"
        )
    )
    found: dict[int, tuple[datetime, datetime, bool, list[int]]] = {}
    for ballot_id, choice_id, created_at, updated_at, new_account in rows:
        found.setdefault(ballot_id, (created_at, updated_at, bool(new_account), []))[3].append(
            choice_id
        )
    return [
        _Ballot(created, updated, new, tuple(choices))
        for created, updated, new, choices in found.values()
    ]


def _group_of(split: str, ballot: _Ballot, question: Question) -> str:
    if split == Split.ACCOUNT:
        return "new" if ballot.new_account else "established"
    assert question.published_at is not None  # noqa: S101  (only published questions are read)
    return "first_week" if ballot.created_at < question.published_at + FIRST_WEEK else "later"


def _figures(members: Sequence[_Ballot]) -> dict:
    votes = Counter(str(choice) for ballot in members for choice in ballot.choices)
    return {"voters": len(members), "votes": dict(sorted(votes.items()))}


def _changed(members: Sequence[_Ballot], voters_then: int, since: datetime) -> int:
    """At least how many people's ballots in the group were cast, changed or withdrawn since."""
    return people_changed(
        touched=sum(ballot.updated_at > since for ballot in members),
        joined=sum(ballot.created_at > since for ballot in members),
        voters_then=voters_then,
        voters_now=len(members),
    )


def people_changed(*, touched: int, joined: int, voters_then: int, voters_now: int) -> int:
    """At least how many people voted, changed or withdrew since a release, counted from below:
    the ballots cast or changed since (``touched``), or, if more, those gone since (the voters
    then, plus those who ``joined`` since, minus the voters now)."""
    gone = max(0, voters_then + joined - voters_now)
    return max(touched, gone)


def _may_release(
    members: dict[str, list[_Ballot]], figures: dict[str, dict], release: GroupRelease | None
) -> bool:
    k = minimum()
    sizes = [len(group) for group in members.values()]
    if not any(sizes) or any(0 < size < k for size in sizes):
        return False
    if release is None or release.released_at is None:
        return True
    if release.figures == figures:
        return False
    for group, group_members in members.items():
        then = release.figures.get(group, {}).get("voters", 0)
        changed = _changed(group_members, then, release.released_at)
        if 0 < changed < k:
            return False
    return True


def check(question: Question, *, now: datetime | None = None) -> int:
    """Release the question's splits that may be released now; how many were."""
    ballots = _ballots(question.pk)
    # After the read, unless replaying: a ballot cast while it ran counts as a change next time.
    read_at = now or timezone.now()
    previous = {
        release.split: release for release in GroupRelease.objects.filter(question=question)
    }
    assert question.published_at is not None  # noqa: S101  (only published questions are read)
    # (question, split, released_at, figures, below_minimum, checked_at)
    rows: list[tuple[int, str, datetime | None, dict, list[str], datetime]] = []
    released = 0
    for split, named in GROUPS.items():
        if split == Split.PERIOD and read_at < question.published_at + FIRST_WEEK:
            continue
        members: dict[str, list[_Ballot]] = {group: [] for group, _ in named}
        for ballot in ballots:
            members[_group_of(split, ballot, question)].append(ballot)
        figures = {group: _figures(group_members) for group, group_members in members.items()}
        below = [
            group for group, group_members in members.items() if 0 < len(group_members) < minimum()
        ]
        release = previous.get(split)
        if _may_release(members, figures, release):
            rows.append((question.pk, split, read_at, figures, below, read_at))
            released += 1
        elif release is not None and release.released_at is not None:
            rows.append((question.pk, split, release.released_at, release.figures, below, read_at))
        else:
            rows.append((question.pk, split, None, {}, below, read_at))
    upsert_counters(
        GroupRelease,
        ("question", "split"),
        rows,
        replace=("released_at", "figures", "below_minimum", "checked_at"),
    )
    return released


# --- What the page shows -----------------------------------------------------------------------


@dataclass(frozen=True)
class GroupView:
    key: str
    label: str
    # shown, nobody (no voter in the group), fewer (1 to k-1 voters), withheld (its complement
    # is fewer than k)
    state: str
    voters: int = 0
    votes: dict[int, int] | None = None


@dataclass(frozen=True)
class SplitView:
    split: str
    title: str
    released_at: datetime | None
    groups: tuple[GroupView, ...]

    @property
    def shown(self) -> bool:
        return self.released_at is not None


def view(release: GroupRelease) -> SplitView:
    named = GROUPS[release.split]
    if release.released_at is None:
        groups = tuple(
            GroupView(key, label, _unreleased_state(key, release.below_minimum))
            for key, label in named
        )
    else:
        groups = tuple(
            _released_group(key, label, release.figures.get(key, {})) for key, label in named
        )
    return SplitView(
        split=release.split,
        title=TITLES[release.split],
        released_at=release.released_at,
        groups=groups,
    )


def _unreleased_state(key: str, below: list[str]) -> str:
    if key in below:
        return "fewer"
    # Never released with no group under k: nobody has voted.
    return "withheld" if below else "nobody"


def _released_group(key: str, label: str, figures: dict) -> GroupView:
    voters = figures.get("voters", 0)
    if not voters:
        return GroupView(key, label, "nobody")
    votes = {int(choice): n for choice, n in figures.get("votes", {}).items()}
    return GroupView(key, label, "shown", voters=voters, votes=votes)
