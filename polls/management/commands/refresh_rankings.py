"""Refresh the copies of vote figures that order the lists.

Run on a timer in production (deploy/): it lets Trending fall back as votes
stop, and catches any refresh the vote path skipped while throttled.
"""

from __future__ import annotations

from polls import rankings
from polls.management.repeating import RepeatingCommand


class Command(RepeatingCommand):
    help = "Refresh Trending and Most voted figures of questions whose votes moved."

    def run_once(self, **options) -> str:
        return f"refresh_rankings: {rankings.refresh()} questions changed"
