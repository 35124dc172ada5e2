"""Release each question's integrity signals and its co-voting (polls/integrity.py,
polls/covoting.py).

Run on a timer every five minutes in production (deploy/systemd/), and by `make run` in the
background. Nothing of either is computed on a request: the question page reads what this keeps.
"""

from __future__ import annotations

from polls import covoting, integrity
from polls.management.repeating import RepeatingCommand


class Command(RepeatingCommand):
    help = "Release the integrity signals and the co-voting of every published question."

    def run_once(self, **options) -> str:
        checked = integrity.refresh()
        paired = covoting.refresh()
        return (
            f"refresh_insights: {checked.checked} of {checked.questions} questions checked, "
            f"{checked.released} integrity releases; {paired.pairs} pairs of questions with "
            f"enough common voters, {paired.released} co-voting releases"
        )
