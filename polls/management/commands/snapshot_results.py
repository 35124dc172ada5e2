"""Keep today's figures of every published question as its history (polls/history.py).

Run on a timer every five minutes in production (deploy/systemd/), and by `make run` in the
background. Safe to run again at any time: it rewrites only today's rows, never an earlier day's.
"""

from __future__ import annotations

from polls import history
from polls.management.repeating import RepeatingCommand


class Command(RepeatingCommand):
    help = "Record today's results of every published question (the daily history)."

    def run_once(self, **options) -> str:
        outcome = history.take_snapshot()
        return (
            f"snapshot_results: {outcome.day:%Y-%m-%d}, {outcome.questions} questions, "
            f"{outcome.written} rows written, {outcome.reconstructed} days reconstructed, "
            f"{outcome.released} group splits released"
        )
