"""Turning counts into what the results block shows: rows by votes, intervals, a headline.

Shares are of voters: on a multiple-choice question each choice's share is the part of the
voters who picked it, so they add up to more than 100%. Every share comes with its 95% Wilson
score interval, which stays within 0–100% and behaves at small counts (one vote of one is
21–100%, not "100% ± 0").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from polls.models import Choice

_Z95 = 1.96
# Fewer voters than this and a result says so rather than naming a winner.
TOO_FEW_TO_TELL = 10


def wilson_interval(successes: int, trials: int, z: float = _Z95) -> tuple[float, float]:
    """The Wilson score interval of ``successes`` out of ``trials``, as fractions (0 to 1).

    No trials: the whole range, since nothing is known.
    """
    if trials <= 0:
        return 0.0, 1.0
    successes = min(max(successes, 0), trials)
    share = successes / trials
    z2 = z * z
    centre = share + z2 / (2 * trials)
    spread = z * math.sqrt(share * (1 - share) / trials + z2 / (4 * trials * trials))
    scale = 1 + z2 / trials
    # Exactly 0 and 1 at the ends, where rounding could otherwise leave them a hair outside.
    low = 0.0 if successes == 0 else max(0.0, (centre - spread) / scale)
    high = 1.0 if successes == trials else min(1.0, (centre + spread) / scale)
    return low, high


@dataclass(frozen=True)
class Share:
    """A part of the voters, in percent, with its 95% interval."""

    votes: int
    voters: int
    percent: float
    low: float
    high: float

    @classmethod
    def of(cls, votes: int, voters: int) -> Share:
        votes = max(votes, 0)
        # Counters being repaired can briefly hold more votes than voters: never above 100%.
        counted = min(votes, max(voters, 0))
        low, high = wilson_interval(counted, voters)
        percent = 100 * counted / voters if voters > 0 else 0.0
        return cls(votes=votes, voters=voters, percent=percent, low=100 * low, high=100 * high)

    @property
    def spread(self) -> float:
        """The interval's width, in points."""
        return self.high - self.low

    def overlaps(self, other: Share) -> bool:
        return self.low <= other.high and other.low <= self.high


def percent_text(value: float) -> str:
    """A share as a page prints it: whole percents, "<1" for a few votes in very many."""
    if 0 < value < 0.5:
        return "<1"
    return f"{value:.0f}"


def share_text(share: Share) -> str:
    """'56% (41–69%)'."""
    return f"{percent_text(share.percent)}% ({interval_text(share)})"


def interval_text(share: Share) -> str:
    """'41–69%'."""
    return f"{share.low:.0f}–{share.high:.0f}%"


@dataclass(frozen=True)
class ChoiceResult:
    choice: Choice
    share: Share
    mine: bool = False
    # The choice the headline names as ahead; never set when it is too close or too few.
    leader: bool = False

    @property
    def votes(self) -> int:
        return self.share.votes

    @property
    def percent(self) -> float:
        return self.share.percent


def choice_results(
    choices: Sequence[Choice],
    votes: Mapping[int, int],
    voters: int,
    mine: set[int] | frozenset[int] = frozenset(),
) -> list[ChoiceResult]:
    """One row per choice, the most voted first (ties in the question's order)."""
    rows = [
        ChoiceResult(
            choice=choice,
            share=Share.of(max(votes.get(choice.pk, 0), 0), voters),
            mine=choice.pk in mine,
        )
        for choice in choices
    ]
    # sorted() is stable: equal votes keep the question's own order.
    return sorted(rows, key=lambda row: -row.votes)


@dataclass(frozen=True)
class Headline:
    """The result in plain words: ``lead`` ("Most say “No”") and ``figures`` ("56% (41–69%) of
    45 voters"), either of which may be empty."""

    kind: str  # none, too_few, too_close, ahead
    lead: str
    figures: str = ""


def _voters(n: int) -> str:
    return f"{n:,} voter{'' if n == 1 else 's'}"


def headline(
    rows: Sequence[ChoiceResult], *, voters: int, closed: bool, multiple: bool = False
) -> Headline:
    """Who leads and by how much, or why that cannot be said yet. ``rows`` most voted first."""
    if voters <= 0 or not rows or rows[0].votes <= 0:
        return Headline("none", "Nobody voted." if closed else "No votes yet: be the first.")
    if voters < TOO_FEW_TO_TELL:
        lead = "Too few votes to tell" if closed else "Too few votes to tell yet"
        so_far = "" if closed else " so far"
        figures = f"{_voters(voters)}{so_far}; a leader is named from {TOO_FEW_TO_TELL}"
        return Headline("too_few", lead, figures)
    first = rows[0]
    second = rows[1] if len(rows) > 1 else None
    if second is not None and first.share.overlaps(second.share):
        if first.votes == second.votes:
            figures = (
                f"“{first.choice.text}” and “{second.choice.text}” tie at "
                f"{share_text(first.share)} of {_voters(voters)}"
            )
            return Headline("too_close", "Too close to call: a tie", figures)
        figures = (
            f"“{first.choice.text}” {share_text(first.share)} and “{second.choice.text}” "
            f"{share_text(second.share)} of {_voters(voters)}"
        )
        return Headline("too_close", "Too close to call", figures)
    figures = f"{share_text(first.share)} of {_voters(voters)}"
    text = first.choice.text
    if multiple:
        figures = f"picked by {figures}"
        if first.percent > 50:
            return Headline("ahead", f"Most picked “{text}”", figures)
        return Headline("ahead", f"“{text}” {'was' if closed else 'is'} picked most", figures)
    if first.percent > 50:
        return Headline("ahead", f"Most {'said' if closed else 'say'} “{text}”", figures)
    return Headline("ahead", f"“{text}” {'came first' if closed else 'leads'}", figures)


@dataclass(frozen=True)
class Results:
    """What one results block shows."""

    rows: list[ChoiceResult]
    voters: int
    headline: Headline
    multiple: bool


def results(
    choices: Sequence[Choice],
    votes: Mapping[int, int],
    voters: int,
    *,
    closed: bool,
    multiple: bool,
    mine: set[int] | frozenset[int] = frozenset(),
) -> Results:
    rows = choice_results(choices, votes, voters, mine)
    said = headline(rows, voters=voters, closed=closed, multiple=multiple)
    if said.kind == "ahead":
        first = rows[0]
        rows[0] = ChoiceResult(choice=first.choice, share=first.share, mine=first.mine, leader=True)
    return Results(rows=rows, voters=voters, headline=said, multiple=multiple)
