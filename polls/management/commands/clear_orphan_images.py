"""Delete uploaded images that no question or choice uses: uploads from abandoned ask forms.

Run daily on a timer in production. The age limit leaves alone the images of a form that is
still being filled in.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser

from polls.images import delete_orphan_images


class Command(BaseCommand):
    help = "Delete images (rows and files) no question or choice uses, older than --hours."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--hours",
            type=int,
            default=24,
            help="Only images uploaded at least this many hours ago (default 24, at least 1).",
        )

    def handle(self, *args, hours: int = 24, **options) -> None:
        if hours < 1:
            # An ask form uploads its images before it saves the question that uses them.
            raise CommandError("--hours must be at least 1.")
        deleted = delete_orphan_images(older_than=timedelta(hours=hours))
        noun = "image" if deleted == 1 else "images"
        self.stdout.write(f"clear_orphan_images: {deleted} {noun} deleted")
