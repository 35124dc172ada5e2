"""A management command that runs once, or keeps running with ``--every SECONDS``.

Production runs these commands on timers (deploy/systemd/); a local run has none, so they can
keep themselves going (``make run`` starts ``refresh_rankings --every 300`` and
``snapshot_results --every 300``). Run once, a command prints its one line; repeating, only with
``-v 2``, so a background loop stays quiet.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class RepeatingCommand(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--every",
            type=int,
            default=0,
            metavar="SECONDS",
            help="Keep running, once every SECONDS (for a local run with no timer).",
        )

    def handle(self, *args: Any, every: int = 0, **options: Any) -> None:
        while True:
            report = self.run_once(**options)
            if options["verbosity"] > 1 or (options["verbosity"] and not every):
                self.stdout.write(report)
            if not every:
                return
            time.sleep(every)

    def run_once(self, **options: Any) -> str:
        """Do the work once; the line that says what was done."""
        raise NotImplementedError
