"""Move the question-view counters from memcached into the insights roll-ups.

The deploy runs it every minute on a timer (which must not start a run while
the previous one is still going). Each run also copies the first votes of
the last few hours into the roll-ups; ``--recount-hours 720`` fills them for
30 days after the tables are first created or after a long outage.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError, CommandParser

from polls.insights import counting
from polls.management.repeating import RepeatingCommand


class Command(RepeatingCommand):
    help = "Write counted question views, and recent first votes, into the insights roll-ups."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--recount-hours",
            type=int,
            default=counting.VOTE_RECOUNT_HOURS,
            metavar="HOURS",
            help="Copy first votes of this many recent hours (default: %(default)s).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["recount_hours"] < 1:
            raise CommandError("--recount-hours must be at least 1.")
        super().handle(*args, **options)

    def run_once(self, **options: Any) -> str:
        recount_hours: int = options["recount_hours"]
        flushed = counting.flush(recount_hours=recount_hours)
        views = (
            "views skipped (another flush is running, or the cache is unreachable)"
            if flushed is None
            else f"{flushed} views"
        )
        return f"flush_view_counts: {views}; first votes of the last {recount_hours} hours"
