"""Rebuild every vote counter from the vote rows, then the cached counts.

The counters are kept in the same transaction as the votes, so this is a
repair and audit tool: it reports how many counters it had to correct.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from polls import services


class Command(BaseCommand):
    help = "Rebuild vote counters and cached counts from the vote rows (MySQL is the truth)."

    def handle(self, *args, **options) -> None:
        outcome = services.recount_votes()
        if options["verbosity"]:
            self.stdout.write(
                f"recount_votes: {outcome.questions} questions, {outcome.corrected} corrected"
            )
