"""Refresh the copies of vote figures that order the lists.

Run on a timer in production (deploy/): it lets Trending fall back as votes
stop, and catches any refresh the vote path skipped while throttled.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandParser

from polls import rankings


class Command(BaseCommand):
    help = "Refresh Trending and Most voted figures of questions whose votes moved."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every",
            type=int,
            default=0,
            metavar="SECONDS",
            help="Keep running, refreshing every SECONDS (for a local run with no timer).",
        )

    def handle(self, *args, every: int = 0, **options) -> None:
        while True:
            changed = rankings.refresh()
            if options["verbosity"] > 1 or (options["verbosity"] and not every):
                self.stdout.write(f"refresh_rankings: {changed} questions changed")
            if not every:
                return
            time.sleep(every)
