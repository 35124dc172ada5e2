"""Move the question-view counters from memcached into the insights roll-ups.

The deploy runs it every minute on a timer (which must not start a run while
the previous one is still going). Each run also copies the first votes of
the last few hours into the roll-ups; ``--recount-hours 720`` fills them for
30 days after the tables are first created or after a long outage.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from polls.insights import counting


class Command(BaseCommand):
    help = "Write counted question views, and recent first votes, into the insights roll-ups."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--recount-hours",
            type=int,
            default=counting.VOTE_RECOUNT_HOURS,
            metavar="HOURS",
            help="Copy first votes of this many recent hours (default: %(default)s).",
        )
        parser.add_argument(
            "--every",
            type=int,
            default=0,
            metavar="SECONDS",
            help="Keep running, flushing every SECONDS (for a local run with no timer).",
        )

    def handle(self, *args, recount_hours: int, every: int = 0, **options) -> None:
        if recount_hours < 1:
            raise CommandError("--recount-hours must be at least 1.")
        while True:
            flushed = counting.flush(recount_hours=recount_hours)
            if options["verbosity"] > 1 or (options["verbosity"] and not every):
                views = (
                    "views skipped (another flush is running, or the cache is unreachable)"
                    if flushed is None
                    else f"{flushed} views"
                )
                self.stdout.write(
                    f"flush_view_counts: {views}; first votes of the last {recount_hours} hours"
                )
            if not every:
                return
            time.sleep(every)
