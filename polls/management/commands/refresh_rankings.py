"""Refresh the copies of vote figures that order the lists.

Votes never refresh them (polls.services): this does, on a timer in production (deploy/systemd/,
every 10 seconds) or as a loop (``--follow``: every RANKING_REFRESH_SECONDS, as ``make run`` and
the local stack run it). It also lets Trending fall back as votes stop.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser

from polls import rankings
from polls.management.repeating import RepeatingCommand


class Command(RepeatingCommand):
    help = "Refresh Trending and Most voted figures of questions whose votes moved."

    def add_arguments(self, parser: CommandParser) -> None:
        super().add_arguments(parser)
        parser.add_argument(
            "--follow",
            action="store_true",
            help="Keep running, once every RANKING_REFRESH_SECONDS.",
        )

    def handle(self, *args: Any, follow: bool = False, **options: Any) -> None:
        if follow:
            options["every"] = settings.RANKING_REFRESH_SECONDS
        super().handle(*args, **options)

    def run_once(self, **options: Any) -> str:
        return f"refresh_rankings: {rankings.refresh()} questions changed"
