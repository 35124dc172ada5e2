"""What else a question's voters chose: "people who chose X here were N times as likely as others
to choose Y there".

``manage.py refresh_insights`` (on a timer) finds every pair of public questions with at least
``CO_VOTING_MIN_VOTERS`` (k, at least 50) people who voted on both, and for each direction
(this question, then that one) keeps the choice X here and Y there with the highest lift: the
share of X's voters who chose Y there, divided by the share of the other common voters who did.

Privacy: every count is rounded to a multiple of ROUND before anything is computed or kept, so
published figures (the common voters and the lift) come from rounded counts only; each of the
four counts must be at least GROUP_MIN_VOTERS before rounding; and a pair's released figures
move only once at least GROUP_MIN_VOTERS of its common voters have voted, changed or withdrawn
since (polls.groups.people_changed), so no two views differ by one person. Nothing here is ever
computed on a request: a page reads the kept rows.

Limits: these are people who chose to vote on both questions, not a sample of anyone; a lift
says the answers go together, never why.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Count, F
from django.utils import timezone

from polls import groups
from polls.integrity import forget_insight
from polls.models import PUBLIC_STATUSES, Ballot, Choice, CoVoting, Vote

ROUND = 10
# Weaker associations than this are not worth a sentence.
MIN_LIFT = 1.5
# Pairs shown on a question page, strongest first.
SHOWN = 3


def minimum() -> int:
    return settings.CO_VOTING_MIN_VOTERS


def rounded(count: int) -> int:
    return ROUND * round(count / ROUND)


@dataclass(frozen=True)
class _Voter:
    choices: frozenset[int]
    created_at: datetime
    updated_at: datetime


def common_pairs() -> dict[tuple[int, int], int]:
    """Pairs of public questions (lower id first) with at least k common voters: one query."""
    rows = (
        Ballot.objects.filter(
            question__status__in=PUBLIC_STATUSES,
            user__ballots__question__status__in=PUBLIC_STATUSES,
            user__ballots__question_id__gt=F("question_id"),
        )
        .values("question_id", other=F("user__ballots__question_id"))
        .annotate(common=Count("user_id"))
        .filter(common__gte=minimum())
        .order_by()
    )
    return {(row["question_id"], row["other"]): row["common"] for row in rows}


def _voters(question_id: int) -> dict[int, _Voter]:
    """Each voter of the question (by user id) with their choices: one query."""
    found: dict[int, tuple[set[int], datetime, datetime]] = {}
    for user_id, choice_id, created, updated in Vote.objects.filter(
        question_id=question_id
    ).values_list("ballot__user_id", "choice_id", "ballot__created_at", "ballot__updated_at"):
        found.setdefault(user_id, (set(), created, updated))[0].add(choice_id)
    return {
        user: _Voter(frozenset(chosen), created, updated)
        for user, (chosen, created, updated) in found.items()
    }


@dataclass(frozen=True)
class Association:
    choice_id: int
    other_choice_id: int
    common: int
    # Rounded counts: chose X here; chose X here and Y there; did not choose X; did not but Y.
    cells: tuple[int, int, int, int]

    @property
    def lift(self) -> float:
        chose, both, others, others_y = self.cells
        return (both / chose) / (others_y / others)

    def figures(self) -> dict:
        chose, both, others, others_y = self.cells
        return {"chose": chose, "both": both, "others": others, "others_chose": others_y}


def strongest(
    here: dict[int, _Voter], there: dict[int, _Voter], choices: list[int], other_choices: list[int]
) -> Association | None:
    """The choice here and the choice there with the highest lift among the common voters,
    or None when no pair of choices has enough people in every count or a lift of MIN_LIFT."""
    common = here.keys() & there.keys()
    k = groups.minimum()
    best: Association | None = None
    for x in choices:
        chose = {user for user in common if x in here[user].choices}
        others = common - chose
        if len(chose) < k or len(others) < k:
            continue
        for y in other_choices:
            both = sum(y in there[user].choices for user in chose)
            others_y = sum(y in there[user].choices for user in others)
            if both < k or others_y < k:
                continue
            found = Association(
                choice_id=x,
                other_choice_id=y,
                common=rounded(len(common)),
                cells=(rounded(len(chose)), rounded(both), rounded(len(others)), rounded(others_y)),
            )
            if found.lift >= MIN_LIFT and (best is None or found.lift > best.lift):
                best = found
    return best


def _changed_since(here: dict[int, _Voter], there: dict[int, _Voter], row: CoVoting) -> int:
    """At least how many common voters voted, changed or withdrew since the pair's release."""
    common = here.keys() & there.keys()
    since = row.released_at
    counted = groups.people_changed(
        touched=sum(
            here[user].updated_at > since or there[user].updated_at > since for user in common
        ),
        joined=sum(
            here[user].created_at > since or there[user].created_at > since for user in common
        ),
        voters_then=row.common_then,
        voters_now=len(common),
    )
    # At least as many people as the common voters grew or shrank by, whenever they voted.
    return max(counted, abs(len(common) - row.common_then))


@dataclass(frozen=True)
class RefreshOutcome:
    pairs: int
    released: int


def refresh(*, now: datetime | None = None) -> RefreshOutcome:
    """Find the associations of every pair with k common voters; keep the released ones.
    ``now`` is for tests, which replay moments gone by."""
    pairs = common_pairs()
    ids = sorted({question_id for pair in pairs for question_id in pair})
    choices: dict[int, list[int]] = defaultdict(list)
    for question_id, choice_id in Choice.objects.filter(question_id__in=ids).values_list(
        "question_id", "pk"
    ):
        choices[question_id].append(choice_id)
    previous = {(row.question_id, row.other_id): row for row in CoVoting.objects.all()}
    voters: dict[int, dict[int, _Voter]] = {}
    keep: set[tuple[int, int]] = set()
    released: list[int] = []
    for first, second in sorted(pairs):
        for here_id, there_id in ((first, second), (second, first)):
            for question_id in (here_id, there_id):
                if question_id not in voters:
                    voters[question_id] = _voters(question_id)
            here, there = voters[here_id], voters[there_id]
            row = previous.get((here_id, there_id))
            # A kept pair moves only after k of its common voters changed something: its
            # figures come from their ballots alone, so with no change they are the same.
            if row is not None and _changed_since(here, there, row) < groups.minimum():
                keep.add((here_id, there_id))
                continue
            found = strongest(here, there, sorted(choices[here_id]), sorted(choices[there_id]))
            if found is None:
                continue
            keep.add((here_id, there_id))
            # After the read: a vote cast while it ran, and not in it, is never counted as a
            # change, so a miscount can only hold a release back.
            if _release(here_id, there_id, found, here, there, row, now or timezone.now()):
                released.append(here_id)
    # Pairs with too few common voters now, or no strong enough association, show nothing.
    gone = [row for pair, row in previous.items() if pair not in keep]
    CoVoting.objects.filter(pk__in=[row.pk for row in gone]).delete()
    forget_insight({*released, *(row.question_id for row in gone)})
    return RefreshOutcome(pairs=len(pairs), released=len(released))


def _release(
    here_id: int,
    there_id: int,
    found: Association,
    here: dict[int, _Voter],
    there: dict[int, _Voter],
    row: CoVoting | None,
    now: datetime,
) -> bool:
    values = {
        "choice_id": found.choice_id,
        "other_choice_id": found.other_choice_id,
        "common": found.common,
        "figures": found.figures(),
        "lift": round(found.lift, 1),
    }
    if row is not None and all(getattr(row, name) == value for name, value in values.items()):
        return False
    CoVoting.objects.update_or_create(
        question_id=here_id,
        other_id=there_id,
        defaults={
            **values,
            "common_then": len(here.keys() & there.keys()),
            "released_at": now,
            "checked_at": now,
        },
    )
    return True


# --- What the page reads ---------------------------------------------------------------------


@dataclass(frozen=True)
class Shown:
    choice: str
    other_title: str
    other_url: str
    other_choice: str
    lift: float
    common: int
    released_at: datetime


def shown_for(question_id: int) -> tuple[Shown, ...]:
    """The strongest released associations of the question with other public ones: one query."""
    rows = (
        CoVoting.objects.filter(question_id=question_id, other__status__in=PUBLIC_STATUSES)
        .select_related("other", "choice", "other_choice")
        .only(
            "lift",
            "common",
            "released_at",
            "other__title",
            "other__slug",
            "choice__text",
            "other_choice__text",
        )
        .order_by("-lift", "other_id")[:SHOWN]
    )
    return tuple(_shown(row) for row in rows)


def _shown(row: CoVoting) -> Shown:
    return Shown(
        choice=row.choice.text,
        other_title=row.other.title,
        other_url=row.other.get_absolute_url(),
        other_choice=row.other_choice.text,
        lift=row.lift,
        common=row.common,
        released_at=row.released_at,
    )


def strongest_pairs(limit: int = 50) -> Iterable[CoVoting]:
    """Every released association, strongest first, for staff insights: one query."""
    return (
        CoVoting.objects.select_related("question", "other", "choice", "other_choice")
        .only(
            "lift",
            "common",
            "released_at",
            "question__title",
            "question__slug",
            "other__title",
            "other__slug",
            "choice__text",
            "other_choice__text",
        )
        .order_by("-lift", "question_id", "other_id")[:limit]
    )
