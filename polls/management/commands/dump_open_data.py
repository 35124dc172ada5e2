"""Write every public question as open data (gzip JSON and CSV) to the media storage.

Run nightly on a timer in production (deploy/systemd/), and by `make run` in the background.
Each run writes a new folder under open-data/ and keeps the newest few (polls/open_data.py).
"""

from __future__ import annotations

from polls import open_data
from polls.management.repeating import RepeatingCommand


class Command(RepeatingCommand):
    help = "Write the open data dumps of every public question to the media storage."

    def run_once(self, **options) -> str:
        manifest = open_data.write_dump()
        files = ", ".join(entry["key"] for entry in manifest["files"].values())
        return f"dump_open_data: {manifest['questions']} questions in {files}"
