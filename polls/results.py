"""Turning counts into what the results block shows."""

from __future__ import annotations

import math
from dataclasses import dataclass

from polls.models import Choice
from polls.tallies import Counts

_Z95 = 1.96


@dataclass(frozen=True)
class ChoiceResult:
    choice: Choice
    votes: int
    percent: float
    # Half-width of the 95% confidence interval, in percentage points.
    margin: float
    mine: bool


def margin_of_error(share: float, voters: int) -> float:
    """95% margin of error of a sample proportion (normal approximation), in points."""
    if voters <= 0:
        return 0.0
    return 100 * _Z95 * math.sqrt(share * (1 - share) / voters)


def choice_results(choices: list[Choice], counts: Counts, mine: set[int]) -> list[ChoiceResult]:
    """One row per choice. Percentages are of voters, so on a multiple-choice
    question they can add up to more than 100."""
    voters = counts.voters
    rows = []
    for choice in choices:
        votes = max(counts.for_choice(choice.pk), 0)
        share = min(votes / voters, 1.0) if voters else 0.0
        rows.append(
            ChoiceResult(
                choice=choice,
                votes=votes,
                percent=100 * share,
                margin=margin_of_error(share, voters),
                mine=choice.pk in mine,
            )
        )
    return rows


# Fewer voters than this and a result says so rather than naming a winner.
TOO_FEW_TO_TELL = 10


def headline(rows: list[ChoiceResult], *, voters: int, closed: bool) -> str:
    """The result in one plain sentence: who leads, or why that cannot be said."""
    if voters <= 0 or not any(row.votes for row in rows):
        return "Nobody voted." if closed else "No votes yet: be the first."
    ranked = sorted(rows, key=lambda row: -row.votes)
    first, second = ranked[0], ranked[1] if len(ranked) > 1 else None
    if second is not None and second.votes == first.votes:
        return f"A tie between “{first.choice.text}” and “{second.choice.text}”."
    if voters < TOO_FEW_TO_TELL:
        return "Too few votes to tell yet." if not closed else "Too few votes to tell."
    # Within the margin of error, the order could be chance.
    if second is not None and first.percent - second.percent < first.margin + second.margin:
        return f"Too close to call between “{first.choice.text}” and “{second.choice.text}”."
    if first.percent > 50:
        return f"Most {'said' if closed else 'say'} “{first.choice.text}”."
    return f"“{first.choice.text}” {'came' if closed else 'is'} first."
